package org.hospes.dom0.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The sample kernels in the source tree: {@code samples/kernels}, built by its Makefile into
 * {@code samples/kernels/build/NAME.elf}, and the sample PVH guests in {@code samples/guests},
 * built with the guest SDK into {@code samples/guests/build/NAME.elf}.
 */
final class SampleKernels {

  static final String RELATIVE_DIR = "samples/kernels";

  private final Path dir;

  private SampleKernels(Path dir) {
    this.dir = dir;
  }

  /**
   * Finds the source tree: the {@code hospes.root} property (set by the launcher and by the
   * build for tests), then {@code HOSPES_ROOT}, then upwards from the jar and from the current
   * directory.
   */
  static Optional<SampleKernels> locate() {
    List<Path> candidates = new ArrayList<>();
    String property = System.getProperty("hospes.root");
    if (property != null && !property.isBlank()) {
      candidates.add(Path.of(property));
    }
    String env = System.getenv("HOSPES_ROOT");
    if (env != null && !env.isBlank()) {
      candidates.add(Path.of(env));
    }
    codeLocation().ifPresent(p -> addAncestors(candidates, p));
    addAncestors(candidates, Path.of("").toAbsolutePath());
    return candidates.stream()
        .map(root -> root.resolve(RELATIVE_DIR))
        .filter(Files::isDirectory)
        .findFirst()
        .map(SampleKernels::new);
  }

  Path dir() {
    return dir;
  }

  Path elf(String name) {
    return dir.resolve("build").resolve(name + ".elf");
  }

  /**
   * Runs {@code make -C samples/kernels}, copying its output to {@code log} so that it never
   * mixes with a kernel's stdout.
   *
   * @return make's exit status
   */
  int build(PrintStream log) throws IOException, InterruptedException {
    return make(log, "make", "-C", dir.toString());
  }

  /** The source tree's root (the parent of samples/). */
  Path root() {
    return dir.getParent().getParent();
  }

  /** Where {@link #buildPvhGuest} puts sample PVH guests. */
  Path guestElf(String name) {
    return root().resolve("samples/guests/build").resolve(name + ".elf");
  }

  /**
   * Builds the sample PVH guest {@code samples/guests/NAME/NAME.c} with the guest SDK's
   * Makefile into {@link #guestElf}; make rebuilds it only when a source changed.
   *
   * @return make's exit status
   */
  int buildPvhGuest(String name, PrintStream log) throws IOException, InterruptedException {
    Path source = root().resolve("samples/guests").resolve(name).resolve(name + ".c");
    return make(log, "make", "-C", root().resolve("guest-sdk/c").toString(), "GUEST=" + name,
        "SRCS=" + source, "BUILD=" + guestElf(name).getParent());
  }

  private static int make(PrintStream log, String... command)
      throws IOException, InterruptedException {
    Process make = org.hospes.dom0.bench.KernelSources.startBuild(new ProcessBuilder(command)
        .redirectErrorStream(true));
    try (InputStream in = make.getInputStream()) {
      in.transferTo(log);
      log.flush();
      return make.waitFor();
    } finally {
      org.hospes.dom0.bench.KernelSources.finished(make);
    }
  }

  private static Optional<Path> codeLocation() {
    try {
      return Optional.of(Path.of(SampleKernels.class.getProtectionDomain().getCodeSource()
          .getLocation().toURI()));
    } catch (URISyntaxException | RuntimeException e) {
      return Optional.empty();
    }
  }

  private static void addAncestors(List<Path> candidates, Path start) {
    for (Path p = start.toAbsolutePath(); p != null; p = p.getParent()) {
      candidates.add(p);
    }
  }
}
