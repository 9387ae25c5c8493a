package org.hospes.samples;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.hospes.dom0.bench.KernelSources;

/**
 * The multiboot test kernels of {@code samples/kernels}: which ones have a golden output, where
 * they are built for the tests ({@code samples/target/kernels}), and their golden bytes.
 */
final class TestKernels {

  private static Path root;
  private static Path buildDir;

  private TestKernels() {}

  static synchronized Path root() {
    if (root == null) {
      root = KernelSources.findRoot();
    }
    return root;
  }

  static Path goldenDir() {
    return KernelSources.kernelsDir(root()).resolve("golden");
  }

  /** Every kernel with a {@code golden/NAME.out}, sorted by name. */
  static List<String> names() throws IOException {
    try (Stream<Path> files = Files.list(goldenDir())) {
      return files
          .map(p -> p.getFileName().toString())
          .filter(n -> n.endsWith(".out"))
          .map(n -> n.substring(0, n.length() - ".out".length()))
          .sorted()
          .collect(Collectors.toList());
    }
  }

  /**
   * Builds every kernel that has a golden file, once per test JVM, with
   * {@code make -C samples/kernels BUILD=samples/target/kernels NAME...}.
   */
  static synchronized Path buildDir() throws IOException, InterruptedException {
    if (buildDir == null) {
      Path dir = root().resolve("samples").resolve("target").resolve("kernels");
      KernelSources.make(root(), dir, Map.of(), names());
      buildDir = dir;
    }
    return buildDir;
  }

  static Path elf(String name) throws IOException, InterruptedException {
    return KernelSources.elf(buildDir(), name);
  }

  /**
   * A kernel with or without a golden (the ones whose behaviour depends on other domains, or
   * that never end, have none), built into the same directory.
   */
  static synchronized Path anyElf(String name) throws IOException, InterruptedException {
    Path dir = buildDir();
    KernelSources.make(root(), dir, Map.of(), List.of(name));
    return KernelSources.elf(dir, name);
  }

  static byte[] golden(String name) throws IOException {
    return Files.readAllBytes(goldenDir().resolve(name + ".out"));
  }
}
