package org.hospes.dom0.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.hospes.dom0.testing.CapturedCli;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.hospes.x86.jit.Engine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pieces of the wall-clock workloads: the translator's figures read back from a real
 * {@code --stats} line, the launcher chosen only for a JVM the launcher started, the median,
 * and the generated initramfs.
 */
class BenchPartsTest {
  @TempDir
  Path dir;

  private final String savedEngine = System.getProperty(Engine.PROPERTY);

  @AfterEach
  void restoreEngine() {
    // run --engine sets the engine of every processor this JVM creates afterwards.
    if (savedEngine == null) {
      System.clearProperty(Engine.PROPERTY);
    } else {
      System.setProperty(Engine.PROPERTY, savedEngine);
    }
  }

  @Test
  void jitFiguresAreReadFromTheStatsLineThatRunPrints() throws Exception {
    // mov ecx, 100000; 1: add edx, 0x7e57; dec ecx; jnz 1b; hlt: the loop is hot past the
    // threshold. Its constant is this test's alone: code that another test of this JVM
    // translated twice would run on their shared class, made in no time here.
    Path kernel = Files.write(dir.resolve("loop.elf"), ElfImageBuilder.multibootKernel(
        new byte[] {(byte) 0xB9, (byte) 0xA0, (byte) 0x86, 0x01, 0, (byte) 0x81, (byte) 0xC2,
            0x57, 0x7E, 0, 0, 0x49, 0x75, (byte) 0xF7, (byte) 0xF4}));
    CapturedCli cli = new CapturedCli();
    assertThat(cli.run("run", "--engine", "jit", "--stats", kernel.toString())).isZero();
    String line = cli.stderr().lines().filter(l -> l.startsWith("hospes: jit: ")).findFirst()
        .orElseThrow();

    assertThat(line).endsWith(", 1 classes defined, 0 translations on classes shared between"
        + " processors");
    JitFigures j = JitFigures.parse(line).orElseThrow();
    assertThat(j.blocks()).isEqualTo(1);
    assertThat(j.instructions()).isEqualTo(3);
    assertThat(j.cachedTranslations()).isEqualTo(1);
    assertThat(j.cacheBytes()).isPositive();
    assertThat(j.evictions()).isZero();
    assertThat(j.translateMillis()).isPositive();
    assertThat(j.summary(1.0)).startsWith("1 blocks (3 instructions) translated in ")
        .contains("% of the run), code cache 1 translations (");
  }

  @Test
  void jitFiguresWithThousandsSeparators() {
    JitFigures j = JitFigures.parse("hospes: jit: 1,721 blocks translated (23,456"
        + " instructions), 1234.5 ms translating, code cache 1,700 translations (2,345,678"
        + " bytes), 21 evicted, 9,999 chained entries").orElseThrow();
    assertThat(j).isEqualTo(new JitFigures(1721, 23456, 1234.5, 1700, 2345678, 21));
    assertThat(JitFigures.parse("hospes: something else")).isEmpty();
    assertThat(JitFigures.parse(null)).isEmpty();
  }

  @Test
  void theLauncherIsUsedOnlyForAJvmRunningTheTreesJar() throws Exception {
    Path root = dir.resolve("tree");
    Files.createDirectories(root.resolve("dom0/target"));
    Path launcher = Files.writeString(root.resolve("hospes"), "#!/bin/sh\n");
    assertThat(launcher.toFile().setExecutable(true)).isTrue();
    String jar = root.resolve("dom0/target/hospes-dom0-0.1.0-SNAPSHOT.jar").toString();

    HospesCommand viaLauncher = HospesCommand.of(root, jar + ":" + root + "/dom0/target/lib/a.jar");
    assertThat(viaLauncher.prefix()).containsExactly(launcher.toString());
    assertThat(viaLauncher.env()).isEqualTo(Map.of("HOSPES_NO_BUILD", "1"));
    assertThat(viaLauncher.with(List.of("run", "k.elf")))
        .containsExactly(launcher.toString(), "run", "k.elf");

    assertThat(viaLauncher.cdsArchive()).isEqualTo(root.resolve("dom0/target/hospes-cds.jsa"));
    assertThat(viaLauncher.cdsNote()).contains("no class-data-sharing archive yet");
    Files.write(root.resolve("dom0/target/hospes-cds.jsa"), new byte[] {1});
    // An archive that names no java (an older launcher's) is made again, as if missing.
    assertThat(viaLauncher.cdsNote()).contains("no class-data-sharing archive yet");
    // The launcher names the java that made the archive: another one cannot map it.
    Path jvm = root.resolve("dom0/target/hospes-cds.jvm");
    Files.writeString(jvm, "/elsewhere/jdk/bin/java\n");
    assertThat(viaLauncher.cdsNote()).contains("made by another java (/elsewhere/jdk/bin/java)");
    Files.writeString(jvm, Path.of(System.getProperty("java.home"), "bin", "java") + "\n");
    assertThat(viaLauncher.cdsNote()).isNull();

    HospesCommand elsewhere = HospesCommand.of(root, "/m2/surefire-booter.jar");
    assertThat(elsewhere.prefix()).endsWith("-cp", "/m2/surefire-booter.jar",
        "org.hospes.dom0.cli.HospesCli");
    assertThat(elsewhere.env()).isEmpty();
    assertThat(elsewhere.cdsNote()).isNull();
  }

  @Test
  void medianOfOddAndEvenCounts() {
    assertThat(StartupBench.median(List.of(5L, 1L, 3L))).isEqualTo(3.0);
    assertThat(StartupBench.median(List.of(4L, 1L, 3L, 10L))).isEqualTo(3.5);
    assertThat(StartupBench.median(List.of())).isNaN();
  }

  @Test
  void theGeneratedInitramfsHoldsBusyboxAndTheInitThatPrintsTheMarker() throws Exception {
    assumeThat(Files.isRegularFile(LinuxBootImages.BUSYBOX)).as("busybox-static:i386").isTrue();
    byte[] cpio = LinuxBootImages.busyboxInitramfs();
    String text = new String(cpio, StandardCharsets.ISO_8859_1);
    assertThat(text).startsWith("070701").contains("bin/busybox\0").contains("init\0")
        .contains("echo \"<2>" + LinuxBootImages.MARKER + "\" > /dev/kmsg")
        .contains("poweroff -f").endsWith("TRAILER!!!\0\0\0\0");
    assertThat(cpio.length).isGreaterThan((int) Files.size(LinuxBootImages.BUSYBOX));
  }

  /**
   * A loop measured in a forked JVM runs under the compiler options the launcher gives every
   * run: those the launcher's {@code compile=(...)} line names reach the bench's JVM, and the
   * fork takes them over, leaving out everything else (the class-data-sharing archive, logging,
   * system properties).
   */
  @Test
  void aForkedRunInheritsTheLaunchersCompilerOptionsAndNothingElse() throws Exception {
    String launcher = Files.readString(Path.of("..", "hospes"));
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^compile=\\(([^)]*)\\)")
        .matcher(launcher);
    assertThat(m.find()).as("the launcher's compile=(...) line").isTrue();
    List<String> launcherOptions = List.of(m.group(1).trim().split("\\s+"));
    assertThat(launcherOptions).contains("-XX:PerMethodTrapLimit=1",
        "-XX:Tier4InvocationThreshold=50000");
    List<String> jvm = new java.util.ArrayList<>(List.of("-XX:SharedArchiveFile=/t/a.jsa",
        "-Xlog:disable", "-Dguice_bytecode_gen_option=DISABLED"));
    jvm.addAll(launcherOptions);
    jvm.addAll(List.of("-XX:NewSize=128m", "-XX:+UseTransparentHugePages",
        "-XX:TieredStopAtLevel=1", "-Xmx2g", "-Dhospes.root=/r"));
    List<String> expected = new java.util.ArrayList<>(launcherOptions);
    expected.addAll(List.of("-XX:NewSize=128m", "-XX:+UseTransparentHugePages",
        "-XX:TieredStopAtLevel=1"));
    assertThat(HospesRunner.compileFlags(jvm)).containsExactlyElementsOf(expected);
  }
}
