package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * top and console leave the terminal as they found it on every way out, in a pseudo-terminal
 * of script(1). The trial's {@code kill -INT} from another terminal left it raw (no echo, no
 * line editing, no CR on LF): JLine had set SIGINT to the system's default action, which ends
 * the process without its finally blocks or shutdown hooks.
 */
class TerminalRestoreTest {
  @RegisterExtension
  final TestHosts.Running host = new TestHosts.Running();

  /** A verb in a pty (its pid first; after it, its status and stty -a), and its output. */
  private record Pty(Process process, StringBuffer output) {

    /** Waits (30 s at most) until the output holds {@code marker}; the output so far. */
    String await(String marker) throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (output.indexOf(marker) < 0) {
        if (System.nanoTime() > deadline) {
          end();
          throw new AssertionError("no " + marker + " in " + output);
        }
        Thread.sleep(10);
      }
      return output.toString();
    }

    long pid() throws InterruptedException {
      Matcher m = Pattern.compile("pid=(\\d+)\r?\n").matcher(await("\n"));
      assertThat(m.find()).as(output.toString()).isTrue();
      return Long.parseLong(m.group(1));
    }

    /**
     * All the output once the verb and the shell after it ended (60 s at most). A verb that
     * does not end is killed, so that the test fails rather than hangs: the old top lived on
     * after a SIGHUP, its shutdown stuck in JLine's.
     */
    String rest() throws InterruptedException {
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        end();
        throw new AssertionError("still running: " + output);
      }
      Thread.sleep(100); // the pump's last read
      return output.toString();
    }

    void end() {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
    }
  }

  private Pty inAPty(String... verb) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String command = "sh -c 'echo pid=$$; exec " + java + " -cp "
        + System.getProperty("java.class.path") + " " + HospesCli.class.getName() + " "
        + String.join(" ", host.withStateDir(verb)) + "'; echo EXIT=$?; stty -a";
    Process p = new ProcessBuilder("script", "-qfec", command, "/dev/null")
        .redirectErrorStream(true).start();
    StringBuffer output = new StringBuffer();
    Thread pump = new Thread(() -> {
      try (InputStream in = p.getInputStream()) {
        byte[] b = new byte[4096];
        for (int n; (n = in.read(b)) > 0; ) {
          output.append(new String(b, 0, n, StandardCharsets.ISO_8859_1));
        }
      } catch (java.io.IOException e) {
        // the pty closed
      }
    }, "pty-output");
    pump.setDaemon(true);
    pump.start();
    return new Pty(p, output);
  }

  /** stty -a after the verb: cooked again, each flag on (no "-" before it). */
  private static void assertCooked(String out) {
    String after = out.substring(out.indexOf("EXIT="));
    for (String flag : new String[] {"icanon", "echo", "isig", "opost", "icrnl"}) {
      assertThat(after).as(out.replace("\r", "<CR>")).containsPattern("[ \n]" + flag + "[ \n]")
          .doesNotContain("-" + flag + " ");
    }
  }

  private static void kill(String signal, long pid) throws Exception {
    assertThat(new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).inheritIO().start()
        .waitFor()).isZero();
  }

  /**
   * A signal this process ignores is ignored in top and console too (inherited, and no JVM can
   * undo it): SIGINT in a background job of a non-interactive shell, SIGHUP under nohup. They
   * then rightly live on, so the case cannot be tried here. Its number is the status less 128.
   */
  private static void assumeDelivered(String signal, int status) throws Exception {
    assumeFalse(RunStopTest.signalIgnored(status - 128),
        "SIG" + signal + " is ignored in this process tree");
  }

  @ParameterizedTest
  @CsvSource({"INT, 130", "TERM, 143", "HUP, 129"})
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void topKilledFromOutsideRestoresTheTerminal(String signal, int status) throws Exception {
    assumeDelivered(signal, status);
    Pty p = inAPty("top", "-d", "0.2");
    p.await("'q' quits");
    kill(signal, p.pid());
    String out = p.rest();
    assertThat(out).contains("EXIT=" + status);
    if (!signal.equals("HUP")) {
      // Said in cooked mode, so on a line of its own that ends CR LF.
      assertThat(out).contains("hospes: top: stopped: interrupted (SIG" + signal + ")\r\n");
    }
    assertCooked(out);
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void topRestoresTheTerminalWhenTheHostGoes() throws Exception {
    Pty p = inAPty("top", "-d", "0.2");
    p.await("'q' quits");
    host.daemon().stop();
    String out = p.rest();
    assertThat(out).contains("EXIT=1");
    assertCooked(out);
  }

  @ParameterizedTest
  @CsvSource({"INT, 130", "TERM, 143", "HUP, 129"})
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void aConsoleKilledFromOutsideRestoresTheTerminal(String signal, int status)
      throws Exception {
    assumeDelivered(signal, status);
    // An HVM kernel that writes "A\n" on COM1, its console, and spins.
    Files.write(host.dir().resolve("com1.elf"), ElfImageBuilder.multibootKernel(new byte[] {
        0x66, (byte) 0xBA, (byte) 0xF8, 0x03, (byte) 0xB0, 'A', (byte) 0xEE, (byte) 0xB0, 10,
        (byte) 0xEE, (byte) 0xEB, (byte) 0xFE}));
    Files.writeString(host.dir().resolve("g.cfg"), "name = \"g\"\ntype = \"hvm\"\nmemory = 4\n"
        + "kernel = \"com1.elf\"\n");
    java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
    assertThat(HospesCli.newCommandLine(new java.io.PrintStream(
        new java.io.ByteArrayOutputStream()), new java.io.PrintStream(err))
        .execute(host.withStateDir("create", host.dir().resolve("g.cfg").toString())))
        .as(err.toString()).isZero();
    Pty p = inAPty("console", "g");
    p.await("A\r\n");
    kill(signal, p.pid());
    String out = p.rest();
    assertThat(out).contains("EXIT=" + status);
    assertCooked(out);
  }
}
