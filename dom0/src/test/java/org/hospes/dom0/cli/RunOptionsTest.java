package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.hospes.dom0.testing.CapturedCli;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.hospes.dom0.report.StatsDocument;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The defects a new user hit with options and messages: each message names the right file and
 * option, options that do nothing in a mode are refused up front, a stats file that cannot be
 * written is found before the run, and --stats-json says how a run ended.
 */
class RunOptionsTest {

  /** Writes 'k' to COM1, then isa-debug-exit 0x10. */
  private static final byte[] OK = ElfImageBuilder.multibootKernel(new byte[] {
      (byte) 0xBA, (byte) 0xF8, 0x03, 0x00, 0x00, (byte) 0xB0, 'k', (byte) 0xEE,
      (byte) 0xB0, 0x10, (byte) 0xE6, (byte) 0xF4});
  /** Spins: jmp $. */
  private static final byte[] SPIN = ElfImageBuilder.multibootKernel(new byte[] {
      (byte) 0xEB, (byte) 0xFE});

  @TempDir
  Path dir;

  private final CapturedCli cli = new CapturedCli();

  private int hospes(String... args) {
    return cli.run(args);
  }

  private String stderr() {
    return cli.stderr();
  }

  private String kernel(byte[] image) throws IOException {
    Path k = dir.resolve("k" + image.length + ".elf");
    Files.write(k, image);
    return k.toString();
  }

  @Test
  void aMissingModuleIsNamedNotTheKernel() throws IOException {
    String k = kernel(OK);
    assertThat(hospes("run", "--mode", "pvh", "--module", "/missing/initrd", k)).isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: --module /missing/initrd: no such file"
        + System.lineSeparator());
  }

  @Test
  void optionsThatDoNothingInNativeModeAreRefused() throws IOException {
    String k = kernel(OK);
    assertThat(hospes("run", "--sched", "rr", k)).isEqualTo(2);
    assertThat(stderr()).contains("--sched does nothing in native mode");
    cli.reset();
    // The cost model does something there: native mode charges its native costs.
    assertThat(hospes("run", "--cost-model", "nosuch", k)).isEqualTo(2);
    assertThat(stderr()).contains("unknown cost model 'nosuch'");
    cli.reset();
    assertThat(hospes("run", "--console-log", dir.resolve("c.log").toString(), k)).isEqualTo(2);
    assertThat(stderr()).contains("--console-log needs a Xen-aware kernel with a PV console");
    cli.reset();
    assertThat(hospes("run", "--mode", "hvm", "--module", k, k)).isEqualTo(2);
    assertThat(stderr()).contains("--module needs a Xen-aware kernel (loader pvh");
    cli.reset();
    // --initrd alone is named as given, not as --module.
    assertThat(hospes("run", "--mode", "hvm", "--initrd", k, k)).isEqualTo(2);
    assertThat(stderr()).startsWith("hospes: --initrd needs a Xen-aware kernel (loader pvh");
    assertThat(cli.stdout()).isEmpty();
  }

  @Test
  void statsJsonWorksInNativeMode() throws IOException {
    Path json = dir.resolve("n.json");
    assertThat(hospes("run", "--stats-json", json.toString(), kernel(OK))).isEqualTo(33);
    JsonNode doc = new ObjectMapper().readTree(json.toFile());
    assertThat(doc.at("/run/mode").asText()).isEqualTo("native");
    assertThat(doc.at("/run/status").asInt()).isEqualTo(33);
    assertThat(doc.at("/run/outcome").asText()).isEqualTo("debug-exit");
    assertThat(doc.at("/run/instructions").asLong()).isEqualTo(5);
  }

  @Test
  void anUnwritableStatsFileIsFoundBeforeTheRun() throws IOException {
    String json = dir.resolve("no/such/dir/s.json").toString();
    assertThat(hospes("run", "--mode", "hvm", "--stats-json", json, kernel(OK))).isEqualTo(2);
    assertThat(stderr()).startsWith("hospes: --stats-json " + json + ": no such directory");
    assertThat(cli.stdout()).as("the kernel never ran").isEmpty();
    cli.reset();
    assertThat(hospes("run-many", "--domain", "a=" + kernel(OK), "--stats-json",
        dir.toString())).isEqualTo(2);
    assertThat(stderr()).contains("--stats-json " + dir + ": is a directory");
  }

  @Test
  void aStatsFileThatCannotBeCreatedIsRefusedBeforeTheRun() throws IOException {
    // /proc is a directory whose permission bits (and root's access checks) say writable, but
    // it refuses new files: only opening the file finds that out.
    assumeTrue(Files.isDirectory(Path.of("/proc/self")), "no /proc");
    assertThat(hospes("run", "--stats-json", "/proc/foo.json", kernel(OK))).isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: --stats-json /proc/foo.json: cannot write: no such"
        + " file or directory" + System.lineSeparator());
    assertThat(cli.stdout()).as("the kernel never ran").isEmpty();
    cli.reset();
    assertThat(hospes("run-many", "--domain", "a=" + kernel(OK), "--stats-json",
        "/proc/foo.json")).isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: --stats-json /proc/foo.json: cannot write: no such"
        + " file or directory" + System.lineSeparator());
    assertThat(cli.stdout()).isEmpty();
  }

  @Test
  void theCheckLeavesNoFileBehindAndAnExistingOneIntactUntilTheEnd() throws IOException {
    Path fresh = dir.resolve("fresh.json");
    // Refused for another reason after the stats file was checked: nothing may be left.
    assertThat(hospes("run-many", "--domain", "a=" + kernel(OK), "--stats-json",
        fresh.toString(), "--destroy", "b@1M")).isEqualTo(2);
    assertThat(fresh).doesNotExist();
    Path old = Files.writeString(dir.resolve("old.json"), "keep");
    assertThat(hospes("run-many", "--domain", "a=" + kernel(OK), "--stats-json",
        old.toString(), "--destroy", "b@1M")).isEqualTo(2);
    assertThat(old).hasContent("keep");
  }

  @Test
  void aStatsFileThatFailsAtTheEndSaysWhy() {
    HostOptions host = new HostOptions();
    host.statsJson = dir.resolve("gone/s.json");
    java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
    host.writeStatsJson(org.hospes.dom0.report.StatsReport.nativeDocument(
            new StatsDocument.RunInfo("native", 0, "halted", 1), 1),
        new CliStreams(new java.io.PrintStream(System.out), new java.io.PrintStream(err, true,
            java.nio.charset.StandardCharsets.UTF_8)));
    assertThat(err.toString(java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("hospes:"
        + " --stats-json " + host.statsJson + ": cannot write: no such directory "
        + dir.resolve("gone") + System.lineSeparator());
  }

  @Test
  void optionsRefusedInNativeModeNameEveryModeThatTakesThem() throws IOException {
    String k = kernel(OK);
    String modes = "; use --mode hvm, hvm-shadow, pvhvm, pvh or pv";
    String[][] cases = {
        {"--sched", "rr"}, {"--pcpus", "2"}, {"--dom0-weight", "512"},
        {"--hv-log", dir.resolve("hv.log").toString()}, {"--vif", "net=nat"}};
    for (String[] c : cases) {
      cli.reset();
      assertThat(hospes("run", c[0], c[1], k)).as(c[0]).isEqualTo(2);
      assertThat(stderr()).as(c[0]).startsWith("hospes: " + c[0]
          + " does nothing in native mode (no hypervisor)" + modes);
    }
  }

  /**
   * rr has no weights or caps: a weight or cap given to it used to be taken, shown by --stats
   * and then do nothing (serialio under rr ran 0.165 s virtual with --dom0-cap 10 as without).
   */
  @Test
  void weightsAndCapsGivenToTheRrSchedulerAreRefusedNotIgnored() throws IOException {
    String k = kernel(OK);
    assertThat(hospes("run", "--mode", "hvm", "--sched", "rr", "--dom0-cap", "10", k))
        .isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: dom0: the rr scheduler ignores caps: cap 10% would"
        + " change nothing; caps need a scheduler that has them (credit)"
        + System.lineSeparator());
    assertThat(cli.stdout()).isEmpty();
    cli.reset();
    assertThat(hospes("run-many", "--sched", "rr", "--dom0-weight", "512", "--domain",
        "a=" + k)).isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: dom0: the rr scheduler ignores weights: weight 512"
        + " would change nothing; weights need a scheduler that has them (credit)"
        + System.lineSeparator());
    cli.reset();
    assertThat(hospes("run-many", "--sched", "rr", "--domain", "a=" + k + ",cap=20"))
        .isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: a: the rr scheduler ignores caps: cap 20% would"
        + " change nothing; caps need a scheduler that has them (credit)"
        + System.lineSeparator());
    cli.reset();
    // The defaults are no change, and the credit scheduler takes both.
    assertThat(hospes("run", "--mode", "hvm", "--sched", "rr", "--dom0-weight", "256", k))
        .isEqualTo(0x21);
    cli.reset();
    assertThat(hospes("run", "--mode", "hvm", "--dom0-cap", "10", k)).isEqualTo(0x21);
  }

  /**
   * The processor's -D settings (through HOSPES_JAVA_OPTS): one that is not a number ran the
   * default, and 0 or an unknown engine ended the run as "internal error:
   * java.lang.IllegalArgumentException: ...", status 1. Now each is named, status 2.
   */
  @Test
  void processorSettingsThatCannotBeUsedAreNamedWithTheUsageStatus() throws IOException {
    String k = kernel(OK);
    String[][] cases = {
        {"hospes.jit.threshold", "abc", "must be a whole number, at least 1"},
        {"hospes.jit.cache", "0", "must be a whole number, at least 1"},
        {"hospes.jit.loopThreshold", "-5", "must be a whole number, at least 1"},
        {"hospes.jit.sharedClasses", "lots", "must be a whole number, at least 1"},
        {"hospes.engine", "fast", "unknown engine (known: interp, jit, lockstep)"}};
    for (String[] c : cases) {
      String saved = System.getProperty(c[0]);
      System.setProperty(c[0], c[1]);
      try {
        cli.reset();
        assertThat(hospes("run", "--mode", "hvm", k)).as(c[0]).isEqualTo(2);
        assertThat(stderr()).as(c[0]).isEqualTo("hospes: -D" + c[0] + "=" + c[1] + ": " + c[2]
            + System.lineSeparator());
      } finally {
        if (saved == null) {
          System.clearProperty(c[0]);
        } else {
          System.setProperty(c[0], saved);
        }
      }
    }
    cli.reset();
    assertThat(hospes("run", "--mode", "hvm", k)).isEqualTo(0x21);
  }

  @Test
  void aCaptureFileInAMissingDirectorySaysSo() throws IOException {
    assertThat(hospes("run", "--mode", "hvm", "--vif", "pcap=" + dir.resolve("none/x.pcap"),
        kernel(OK))).isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: --vif pcap=" + dir.resolve("none/x.pcap")
        + ": no such directory " + dir.resolve("none") + System.lineSeparator());
    assertThat(cli.stdout()).isEmpty();
    cli.reset();
    // run-many opens it as it builds the domain: the reason, not the path again.
    assertThat(hospes("run-many", "--domain", "a=" + kernel(OK) + ",vif=[pcap="
        + dir.resolve("none/x.pcap") + "]")).isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: a: cannot write capture file "
        + dir.resolve("none/x.pcap") + ": no such directory " + dir.resolve("none")
        + System.lineSeparator());
  }

  @Test
  void anUnknownHostSettingIsNamedWithItsLine() throws IOException {
    Path cfg = Files.writeString(dir.resolve("h.cfg"), "a=" + kernel(OK) + "\nhost bogus=1\n");
    assertThat(hospes("run-many", "--config", cfg.toString())).isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: " + cfg + ":2: host: unknown setting 'bogus'"
        + " (valid: pcpus; expected host pcpus=N)" + System.lineSeparator());
  }

  @Test
  void aDomainSpecWhoseModeAndTypeDisagreeIsRefused() throws IOException {
    assertThat(hospes("run-many", "--domain", "a=" + kernel(OK) + ",type=hvm,mode=pvh"))
        .isEqualTo(2);
    assertThat(stderr()).isEqualTo("hospes: a: mode=pvh and type=hvm disagree; give one of them"
        + System.lineSeparator());
  }

  @Test
  void statsJsonOfARunStoppedByItsLimitSaysHowItEnded() throws IOException {
    Path json = dir.resolve("s.json");
    assertThat(hospes("run", "--mode", "hvm", "--max-insns", "100k", "--stats-json",
        json.toString(), kernel(SPIN))).isEqualTo(4);
    JsonNode doc = new ObjectMapper().readTree(json.toFile());
    assertThat(doc.at("/run/status").asInt()).isEqualTo(4);
    assertThat(doc.at("/run/outcome").asText()).startsWith("instruction limit of 100000 reached");
    JsonNode d = doc.at("/domains/1");
    assertThat(d.get("state").asText()).isEqualTo("running");
    assertThat(d.get("endReason").asText()).startsWith("instruction limit of 100000 reached");
    assertThat(d.get("status").asInt()).isEqualTo(4);
    assertThat(d.get("hypercallsByOp").isObject()).isTrue();
    assertThat(doc.at("/domains/0/name").asText()).isEqualTo("Domain-0");
    assertThat(doc.at("/domains/0/service").asBoolean()).isTrue();
    assertThat(doc.at("/scheduler").asText()).isEqualTo("credit");
  }

  @Test
  void maxCyclesZeroSpeaksOfCycles() throws IOException {
    assertThat(hospes("run-many", "--domain", "a=" + kernel(OK), "--max-cycles", "0"))
        .isEqualTo(2);
    assertThat(stderr()).contains("the cycle limit must be positive, got 0")
        .doesNotContain("instruction");
  }

  @Test
  void aBinaryConfigFileIsNamedAsNotText() throws IOException {
    Path cfg = Path.of(kernel(OK));
    assertThat(hospes("run-many", "--config", cfg.toString())).isEqualTo(2);
    assertThat(stderr()).startsWith("hospes: " + cfg + ": not a text file; --config takes")
        .doesNotContain("Input length");
  }

  @Test
  void ramLimitsAreStatedPerModeInHelpAndMessages() throws IOException {
    assertThat(hospes("run", "--help")).isZero();
    assertThat(cli.stdout().replaceAll("\\s+", " "))
        .contains("native 1 to 2047, hvm and hvm-shadow 1 to 1024, pvh and pvhvm 2 to 1024")
        .contains("hvm, hvm-shadow, pvhvm and pvh 1 to 64; native and pv have 1.");
    String k = kernel(OK);
    assertThat(hospes("run", "--mode", "pvhvm", "--ram", "1", k)).isEqualTo(2);
    assertThat(stderr()).contains("--ram must be between 2 and 1024 MiB in pvhvm mode, got 1");
    cli.reset();
    assertThat(hospes("run", "--mode", "pvh", "--ram", "1", k)).isEqualTo(2);
    assertThat(stderr()).contains("--ram must be between 2 and 1024 MiB in pvh mode, got 1");
    cli.reset();
    assertThat(hospes("run", "--mode", "hvm", "--ram", "1025", k)).isEqualTo(2);
    assertThat(stderr()).contains("--ram must be between 1 and 1024 MiB in hvm mode, got 1025");
  }
}
