package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.hospes.dom0.cli.HospesCli;
import org.hospes.sdk.GuestBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Console routing as on a debug build of Xen 4.17 (guest_loglvl=all): a guest that writes to
 * both consoles prints each line once. The PV console goes to stdout and --console-log, with
 * the SDK's exception report in order after what the guest printed; console_io goes to the
 * hypervisor's log (stderr, or --hv-log FILE) with Xen's "(dN) " prefix per line.
 */
class ConsoleRoutingTest {
  private static Path guest;

  @BeforeAll
  static void build() throws Exception {
    Path root = TestKernels.root();
    GuestBuilder builder = new GuestBuilder(root.resolve("guest-sdk/c"),
        root.resolve("samples/target/guests"));
    guest = builder.build("console-routing",
        List.of(root.resolve("samples/guests/console-routing/console.c")));
  }

  @Test
  void eachConsoleGetsItsOwnLinesOnceAndTheCrashReportReachesTheConsoleLog(@TempDir Path tmp)
      throws Exception {
    Path consoleLog = tmp.resolve("console.log");
    Path hvLog = tmp.resolve("hv.log");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = HospesCli.newCommandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)).execute("run", "--mode", "pvh",
        "--console-log", consoleLog.toString(), "--hv-log", hvLog.toString(), guest.toString());
    String stdout = out.toString(StandardCharsets.UTF_8);
    assertThat(status).as(err.toString(StandardCharsets.UTF_8)).isEqualTo(3);
    assertThat(stdout).startsWith("pv: first\npv: second\npv: last before the fault\n"
        + "guest: exception 6 (error 0x0) at eip=0x");
    assertThat(stdout.lines()).hasSize(4);
    assertThat(Files.readString(consoleLog)).isEqualTo(stdout);
    // One "(dN) " line per guest line; the two writes make one line, the control byte goes.
    assertThat(Files.readString(hvLog)).matches(
        "\\(d(\\d+)\\) hv: through console_io\n\\(d\\1\\) hv: a line in two writes\n");
    // stderr carries no console of its own here; only the crash report quotes the guest's last
    // lines (serial, console_io and PV console alike), each behind "  | ".
    assertThat(err.toString(StandardCharsets.UTF_8).lines()
        .filter(l -> l.contains("hv:") || l.contains("pv:")))
        .isNotEmpty().allSatisfy(l -> assertThat(l).startsWith("  | "));
  }

  @Test
  void withoutHvLogTheHypervisorsConsoleIsStderr() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    HospesCli.newCommandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)).execute("run", "--mode", "pvh",
        guest.toString());
    assertThat(out.toString(StandardCharsets.UTF_8)).doesNotContain("hv:");
    assertThat(err.toString(StandardCharsets.UTF_8))
        .containsPattern("\\(d\\d+\\) hv: through console_io\n\\(d\\d+\\) hv: a line in two");
  }

  @Test
  void anUnwritableHvLogIsAUsageErrorNamingTheOption(@TempDir Path tmp) {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = HospesCli.newCommandLine(new PrintStream(new ByteArrayOutputStream(), true,
        StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8))
        .execute("run", "--mode", "pvh", "--hv-log", tmp.resolve("no/such/dir/hv.log").toString(),
            guest.toString());
    assertThat(status).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .startsWith("hospes: --hv-log " + tmp.resolve("no/such/dir/hv.log") + ": no such directory");
  }
}
