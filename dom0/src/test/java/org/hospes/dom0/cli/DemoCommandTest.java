package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code hospes demo} against a stand-in source tree whose samples/kernels Makefile "builds"
 * hello.elf by copying a hand-assembled kernel, so no cross toolchain is needed.
 */
class DemoCommandTest {

  private static final byte[] HELLO = ElfImageBuilder.multibootKernel(new byte[] {
      (byte) 0xBA, (byte) 0xF8, 0x03, 0x00, 0x00, // mov edx, 0x3f8
      (byte) 0xB0, 'h', (byte) 0xEE,              // mov al, 'h' ; out dx, al
      (byte) 0xB0, 'i', (byte) 0xEE,              // mov al, 'i' ; out dx, al
      (byte) 0xB0, 0x10, (byte) 0xE6, (byte) 0xF4 // mov al, 0x10 ; out 0xf4, al
  });

  @TempDir
  Path root;

  private String savedRoot;
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  @BeforeEach
  void pointAtTheStandInTree() {
    savedRoot = System.getProperty("hospes.root");
    System.setProperty("hospes.root", root.toString());
  }

  @AfterEach
  void restore() {
    if (savedRoot == null) {
      System.clearProperty("hospes.root");
    } else {
      System.setProperty("hospes.root", savedRoot);
    }
  }

  private int hospes(String... args) {
    return HospesCli.newCommandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)).execute(args);
  }

  private Path kernelsDir(String makefile) throws IOException {
    Path dir = Files.createDirectories(root.resolve("samples/kernels"));
    Files.write(dir.resolve("hello.bin"), HELLO);
    Files.writeString(dir.resolve("Makefile"), makefile);
    return dir;
  }

  @Test
  void buildsTheSamplesWhenHelloIsMissingThenRunsIt() throws IOException {
    assumeProcessorImplemented();
    Path dir = kernelsDir("all:\n\tmkdir -p build\n\tcp hello.bin build/hello.elf\n");
    assertThat(hospes("demo")).isEqualTo(33);
    assertThat(out.toString(StandardCharsets.US_ASCII)).isEqualTo("hi");
    assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("hospes: building sample")
        .hasLineCount(1);
    assertThat(dir.resolve("build/hello.elf")).exists();
  }

  @Test
  void aFailingBuildShowsMakesOutputAndOneHospesLine() throws IOException {
    assumeMake();
    kernelsDir("all:\n\t@echo compiler exploded; exit 1\n");
    assertThat(hospes("demo")).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .contains("compiler exploded")
        .contains("hospes: building the sample kernels failed");
    assertThat(out.size()).isZero();
  }

  @Test
  void aSampleTheMakefileDoesNotBuildIsOneLine() throws IOException {
    assumeMake();
    kernelsDir("all:\n\tmkdir -p build\n");
    assertThat(hospes("demo", "nosuch")).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).endsWith("was not built)"
        + System.lineSeparator());
  }

  private static void assumeMake() {
    if (!Files.isExecutable(Path.of("/usr/bin/make"))) {
      org.junit.jupiter.api.Assertions.fail("make not found: install the Debian package make");
    }
  }

  private static void assumeProcessorImplemented() {
    assumeMake();
  }
}
