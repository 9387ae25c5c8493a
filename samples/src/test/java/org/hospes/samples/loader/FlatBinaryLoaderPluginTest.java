package org.hospes.samples.loader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.hospes.dom0.cli.HospesCli;
import org.hospes.dom0.bench.KernelSources;
import org.hospes.dom0.plugin.HostPlugins;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The sample loader plugin is found through its service file and boots its own format. */
class FlatBinaryLoaderPluginTest {
  @TempDir
  static Path tmp;
  private static Path kernel;

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  @BeforeAll
  static void assemble() throws Exception {
    kernel = tmp.resolve("hello.flat");
    Process nasm = new ProcessBuilder("nasm", "-f", "bin", "-o", kernel.toString(),
        KernelSources.findRoot().resolve("samples/loaders/flat/hello.asm").toString())
        .redirectErrorStream(true).start();
    String log = new String(nasm.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (nasm.waitFor() != 0) {
      fail("nasm failed (apt-get install nasm; ./test does): " + log);
    }
  }

  private int hospes(String... args) {
    return HospesCli.newCommandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)).execute(args);
  }

  @Test
  void isDiscoveredOnTheClassPathBesideTheBuiltIns() {
    assertThat(HostPlugins.classPath().kernelLoaders().names())
        .containsExactly("elf", "flat", "linux", "multiboot", "pv", "pvh");
  }

  @ParameterizedTest
  @ValueSource(strings = {"native", "hvm", "hvm-shadow"})
  void bootsItsKernelWhenForcedByName(String mode) {
    int status = hospes("run", "--mode", mode, "--loader", "flat", "--cmdline", "hello flat",
        kernel.toString());
    assertThat(out.toString(StandardCharsets.US_ASCII)).as(err.toString(StandardCharsets.UTF_8))
        .isEqualTo("hello flat\n");
    assertThat(status).isEqualTo(67);
  }

  @Test
  void isChosenByItsHeaderWithoutLoaderOption() {
    assertThat(hospes("run", "--cmdline", "found by its magic", kernel.toString()))
        .isEqualTo(67);
    assertThat(out.toString(StandardCharsets.US_ASCII)).isEqualTo("found by its magic\n");
  }

  @Test
  void refusesAModeItCannotBootNamingBoth() {
    assertThat(hospes("run", "--mode", "pvh", "--loader", "flat", kernel.toString()))
        .isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("hospes: loader 'flat' cannot"
        + " boot mode pvh (it boots native, hvm, hvm-shadow)" + System.lineSeparator());
  }
}
