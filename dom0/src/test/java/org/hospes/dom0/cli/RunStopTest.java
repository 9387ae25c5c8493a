package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run ended from outside, in a real {@code hospes} process: SIGINT (Ctrl-C) and SIGTERM stop
 * it at an instruction boundary with the stats printed and --stats-json written; a reader that
 * closes stdout (| head) stops it too. The kernel says it started before the signal is sent, so
 * nothing here depends on timing.
 */
class RunStopTest {

  /** Prints "R\n" on COM1, then spins: mov edx,0x3f8; mov al,'R'; out; mov al,10; out; jmp $. */
  private static final byte[] SPIN = ElfImageBuilder.multibootKernel(new byte[] {
      (byte) 0xBA, (byte) 0xF8, 0x03, 0x00, 0x00,
      (byte) 0xB0, 'R', (byte) 0xEE,
      (byte) 0xB0, 0x0A, (byte) 0xEE,
      (byte) 0xEB, (byte) 0xFE});

  /** Prints "y\n" forever: mov edx,0x3f8; L: mov al,'y'; out; mov al,10; out; jmp L. */
  private static final byte[] YES = ElfImageBuilder.multibootKernel(new byte[] {
      (byte) 0xBA, (byte) 0xF8, 0x03, 0x00, 0x00,
      (byte) 0xB0, 'y', (byte) 0xEE,
      (byte) 0xB0, 0x0A, (byte) 0xEE,
      (byte) 0xEB, (byte) 0xF8});

  @TempDir
  Path dir;

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void sigintStopsANativeRunWithTheStatsAndTheJson() throws Exception {
    // A shell that started our JVM in the background may have left SIGINT ignored; a child
    // inherits that and no JVM can undo it, so the SIGTERM cases below stand in then.
    assumeFalse(sigintIgnored(), "SIGINT is ignored in this process tree");
    Stopped s = runAndSignal("INT", "run", "--stats", "--stats-json", json(), kernel(SPIN));

    assertThat(s.status).isEqualTo(130); // 128 + SIGINT, as a shell reports it
    assertThat(s.stderr).contains(": stopped: interrupted (SIGINT), status 130, ");
    JsonNode doc = new ObjectMapper().readTree(dir.resolve("s.json").toFile());
    assertThat(doc.at("/run/mode").asText()).isEqualTo("native");
    assertThat(doc.at("/run/status").asInt()).isEqualTo(130);
    assertThat(doc.at("/run/outcome").asText()).startsWith("stopped: interrupted");
    assertThat(doc.at("/run/instructions").asLong()).isPositive();
    assertThat(doc.at("/virtualCycles").asLong()).isPositive();
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void sigtermStopsAnHvmRunWithEveryCounter() throws Exception {
    Stopped s = runAndSignal("TERM", "run", "--mode", "hvm", "--stats", "--stats-json", json(),
        kernel(SPIN));

    assertThat(s.status).isEqualTo(143);
    assertThat(s.stdout).isEqualTo("R\n");
    assertThat(s.stderr).contains("stopped: interrupted (SIGTERM)",
        "domain 1 guest (hvm): running", "IO_INSTRUCTION");
    // Once, in the --stats run line with the status, not also on a line of its own.
    assertThat(s.stderr.lines().filter(l -> l.contains("stopped: interrupted")))
        .singleElement().asString().contains(": stopped: interrupted (SIGTERM), status 143, ");
    JsonNode d = new ObjectMapper().readTree(dir.resolve("s.json").toFile()).at("/domains/1");
    assertThat(d.get("state").asText()).isEqualTo("running");
    assertThat(d.get("endReason").asText()).isEqualTo("stopped: interrupted (SIGTERM)");
    assertThat(d.get("status").asInt()).isEqualTo(143); // the process's own status
    assertThat(d.get("instructions").asLong()).isPositive();
    assertThat(d.at("/exits/IO_INSTRUCTION/count").asLong()).isEqualTo(2);
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void withoutStatsTheStopIsStillOneLine() throws Exception {
    for (String mode : new String[] {"native", "hvm"}) {
      Stopped s = runAndSignal("TERM", "run", "--mode", mode, kernel(SPIN));
      assertThat(s.status).isEqualTo(143);
      assertThat(s.stderr.lines().filter(l -> l.contains("stopped:"))).as(mode)
          .containsExactly("hospes: " + kernel(SPIN) + ": stopped: interrupted (SIGTERM)");
    }
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void sigtermStopsRunManyWithEveryDomainsOutcome() throws Exception {
    Stopped s = runAndSignal("TERM", "run-many", "--domain", "a=" + kernel(SPIN), "--stats",
        "--stats-json", json());

    assertThat(s.status).isEqualTo(143);
    assertThat(s.stdout).isEqualTo("[a] R\n");
    assertThat(s.stderr).contains("hospes: a: still running when the run was stopped"
        + " (interrupted (SIGTERM))", "hospes: run stopped: interrupted");
    JsonNode doc = new ObjectMapper().readTree(dir.resolve("s.json").toFile());
    assertThat(doc.at("/run/status").asInt()).isEqualTo(143);
    assertThat(doc.at("/domains/1/status").asInt()).isEqualTo(143);
    assertThat(doc.at("/domains/0/mode").asText()).isEqualTo("service");
    assertThat(doc.at("/domains/1/endReason").asText()).startsWith("still running when the run"
        + " was stopped");
    assertThat(doc.at("/domains/0/name").asText()).isEqualTo("Domain-0");
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void aSignalDeliveredTwiceAtOnceStillWritesTheStats() throws Exception {
    // `timeout` and `kill -- -PGID` signal the process and then its group: one request that
    // arrives twice, microseconds apart. It must not count as the user insisting (which halts).
    Stopped s = runAndSignal("TERM", 2, "run", "--mode", "hvm", "--stats", "--stats-json",
        json(), kernel(SPIN));

    assertThat(s.status).isEqualTo(143);
    assertThat(s.stderr).contains("stopped: interrupted (SIGTERM), status 143, ",
        "IO_INSTRUCTION");
    JsonNode doc = new ObjectMapper().readTree(dir.resolve("s.json").toFile());
    assertThat(doc.at("/run/status").asInt()).isEqualTo(143);
    assertThat(doc.at("/domains/1/instructions").asLong()).isPositive();
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void aReaderThatClosesStdoutEndsTheRun() throws Exception {
    for (String mode : new String[] {"native", "hvm"}) {
      Process p = start("run", "--mode", mode, kernel(YES));
      byte[] first = p.getInputStream().readNBytes(1000); // head -c 1000
      p.getInputStream().close();
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).as(mode + " ended").isTrue();
      String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(new String(first, StandardCharsets.US_ASCII)).startsWith("y\ny\ny\n");
      assertThat(p.exitValue()).as(err).isEqualTo(130);
      assertThat(err).contains("stopped: stdout was closed");
    }
  }

  /**
   * {@code hospes run K | head -1} where K goes quiet after its first line: nothing is written
   * to the closed pipe, so no write fails, and the run went on for ever. A thread that looks
   * for the pipe's reader in /proc ends it as a failed write does.
   */
  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void aReaderThatClosesStdoutWhileTheGuestIsQuietEndsTheRun() throws Exception {
    for (String mode : new String[] {"native", "hvm"}) {
      Process p = start("run", "--mode", mode, kernel(SPIN));
      String err;
      try {
        byte[] first = p.getInputStream().readNBytes(2); // head -c 2
        p.getInputStream().close();
        assertThat(new String(first, StandardCharsets.US_ASCII)).isEqualTo("R\n");
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as(mode + " ended").isTrue();
        err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
      } finally {
        p.destroyForcibly(); // a run that did not end must not outlive the test
      }
      assertThat(p.exitValue()).as(err).isEqualTo(130);
      assertThat(err).contains("stopped: stdout was closed");
    }
  }

  /**
   * Prints "h\n", then exits through isa-debug-exit with 0x10 (status 33): mov edx,0x3f8;
   * mov al,'h'; out; mov al,10; out; mov edx,0xf4; mov al,0x10; out; jmp $.
   */
  private static final byte[] SAY_AND_EXIT = ElfImageBuilder.multibootKernel(new byte[] {
      (byte) 0xBA, (byte) 0xF8, 0x03, 0x00, 0x00,
      (byte) 0xB0, 'h', (byte) 0xEE,
      (byte) 0xB0, 0x0A, (byte) 0xEE,
      (byte) 0xBA, (byte) 0xF4, 0x00, 0x00, 0x00,
      (byte) 0xB0, 0x10, (byte) 0xEE,
      (byte) 0xEB, (byte) 0xFE});

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void aGuestThatEndsWhileStdoutIsClosedKeepsItsStatusAndTheLossIsSaid() throws Exception {
    // `hospes run K >&-`: the guest's writes fail, and it exits before the run's next check of
    // stdout would stop it, so only the end of the run can say that its output went nowhere.
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p = new ProcessBuilder("bash", "-c", "exec \"$0\" -cp \"$1\" \"$2\" run \"$3\" >&-",
        java, System.getProperty("java.class.path"), HospesCli.class.getName(),
        kernel(SAY_AND_EXIT)).redirectInput(ProcessBuilder.Redirect.from(
            Path.of("/dev/null").toFile())).start();
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(err).isEqualTo(33);
    assertThat(err).contains("hospes: stdout was closed: the guest's output was lost");
  }

  /** Prints "h\n", then halts for good (status 0): mov edx,0x3f8; 'h'; out; 10; out; cli; hlt. */
  private static final byte[] SAY_AND_HALT = ElfImageBuilder.multibootKernel(new byte[] {
      (byte) 0xBA, (byte) 0xF8, 0x03, 0x00, 0x00,
      (byte) 0xB0, 'h', (byte) 0xEE,
      (byte) 0xB0, 0x0A, (byte) 0xEE,
      (byte) 0xFA, (byte) 0xF4});

  /**
   * {@code hospes run K > /dev/full}: every write fails with ENOSPC. It was reported as
   * "stdout was closed", as if a reader had gone away, and a guest that then halted cleanly
   * left status 0 although all it wrote was lost.
   */
  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void aFullDeviceOnStdoutIsSaidAsSuchAndFailsTheRun() throws Exception {
    Process writer = startInto("/dev/full", "run", kernel(YES));
    String err = new String(writer.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(writer.waitFor(60, TimeUnit.SECONDS)).isTrue();
    // Status 1, as for the guest below that halts before the output check can stop it: a
    // write error is the command's failure, not an end from outside (130 before, so the
    // halting guest's status depended on which came first on a loaded host).
    assertThat(writer.exitValue()).as(err).isEqualTo(1);
    assertThat(err).contains("stopped: write error on stdout: No space left on device")
        .doesNotContain("stdout was closed");

    Process halter = startInto("/dev/full", "run", kernel(SAY_AND_HALT));
    err = new String(halter.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(halter.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(halter.exitValue()).as(err).isEqualTo(1);
    assertThat(err).contains(
        "hospes: write error on stdout: No space left on device: the guest's output was lost");
  }

  /**
   * {@code hospes run --stats-json F K > /dev/full} for a guest that halts: the process ends
   * with 1 (its output was lost), and --stats-json said run.status 0, the guest's. The file
   * now records the process's status and why; run-many's too.
   */
  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void statsJsonRecordsTheStatusOfARunWhoseOutputWasLost() throws Exception {
    String k = kernel(SAY_AND_HALT);
    for (String[] args : new String[][] {{"run", "--stats-json", json(), k},
        {"run-many", "--stats-json", json(), "--domain", "a=" + k}}) {
      Process p = startInto("/dev/full", args);
      String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).as(args[0] + ": " + err).isEqualTo(1);
      com.fasterxml.jackson.databind.JsonNode run = new com.fasterxml.jackson.databind
          .ObjectMapper().readTree(Path.of(json()).toFile()).path("run");
      assertThat(run.path("status").asInt(-1)).as(args[0] + ": " + run).isEqualTo(1);
      assertThat(run.path("outcome").asText()).as(args[0])
          .contains("write error on stdout: No space left on device");
    }
  }

  /** {@code hospes --help > /dev/full} printed nothing anywhere and said 0. */
  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void anyCommandWhoseOutputCannotBeWrittenSaysSoAndFails() throws Exception {
    for (String[] args : new String[][] {{"--help"}, {"help", "run"}}) {
      Process p = startInto("/dev/full", args);
      String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).as(err).isEqualTo(1);
      assertThat(err).isEqualTo("hospes: write error on stdout: No space left on device\n");
    }
  }

  /** The CLI's main with stdout sent to {@code file} by a shell, stdin from /dev/null. */
  private Process startInto(String file, String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("bash", "-c",
        "out=$1; shift; exec \"$@\" > \"$out\"", "bash", file,
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), HospesCli.class.getName()));
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(
        Path.of("/dev/null").toFile())).start();
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void inATerminalTheEscapeKeyEndsTheRunAndTheTerminalIsRestored() throws Exception {
    // script(1) gives hospes a pseudo-terminal on stdin; Ctrl-] is typed at once: the terminal
    // holds it until hospes reads, so this does not depend on when it starts.
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String command = "stty -a | grep -o ' -\\?icanon '; " + java + " -cp "
        + System.getProperty("java.class.path") + " " + HospesCli.class.getName() + " run "
        + kernel(SPIN) + "; echo EXIT=$?; stty -a | grep -o ' -\\?icanon '";
    Process p = new ProcessBuilder("script", "-qfec", command, "/dev/null").start();
    p.getOutputStream().write(RunSession.ESCAPE);
    p.getOutputStream().flush();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();

    assertThat(out).contains("Ctrl-] or Ctrl-C ends the run", "R\r\n",
        "stopped: escape key (Ctrl-])", "EXIT=130");
    // Canonical mode before the run and again after it: raw mode was undone.
    // (The terminal may echo the early Ctrl-] as "^]" on the first line, so count words.)
    assertThat(out.split(" icanon ", -1)).as(out).hasSize(3);
    assertThat(out).doesNotContain("-icanon");
  }

  private record Stopped(int status, String stdout, String stderr) {}

  /** Starts hospes, waits for the kernel's first line, sends the signal, waits for the end. */
  private Stopped runAndSignal(String signal, String... args) throws Exception {
    return runAndSignal(signal, 1, args);
  }

  /** As above, with the signal sent {@code times} times by one shell, back to back. */
  private Stopped runAndSignal(String signal, int times, String... args) throws Exception {
    Process p = start(args);
    BufferedReader out = new BufferedReader(
        new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII));
    String first = out.readLine();
    assertThat(first).as("the kernel's first line").isNotNull().endsWith("R");
    String once = "kill -" + signal + " " + p.pid();
    Process kill = new ProcessBuilder("sh", "-c",
        String.join("; ", java.util.Collections.nCopies(times, once))).inheritIO().start();
    assertThat(kill.waitFor()).isZero();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("hospes ended after SIG" + signal).isTrue();
    String rest = out.lines().map(l -> l + "\n").reduce("", String::concat);
    return new Stopped(p.exitValue(), first + "\n" + rest,
        new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
  }

  /** The CLI's main in a JVM of its own, on this test's class path. */
  private Process start(String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), HospesCli.class.getName()));
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(
        Path.of("/dev/null").toFile())).start();
  }

  private String kernel(byte[] image) throws IOException {
    Path k = dir.resolve("k" + image.length + ".elf");
    Files.write(k, image);
    return k.toString();
  }

  private String json() {
    return dir.resolve("s.json").toString();
  }

  /**
   * Bit 2 of SigIgn in /proc/self/status: children start with SIGINT ignored too (a tree run
   * under nohup, or in the background of a non-interactive shell). Shared by the stop tests.
   */
  static boolean sigintIgnored() throws IOException {
    return signalIgnored(2);
  }

  /**
   * Whether signal {@code number} is ignored in this process, and so in every child it starts
   * (a disposition no JVM can undo): SIGINT in a background job of a non-interactive shell,
   * SIGHUP under nohup.
   */
  static boolean signalIgnored(int number) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("SigIgn:")) {
        long mask = Long.parseUnsignedLong(line.substring(7).strip(), 16);
        return (mask & (1L << (number - 1))) != 0;
      }
    }
    return false;
  }
}
