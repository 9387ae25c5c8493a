package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.hospes.dom0.cli.HospesCli;
import org.hospes.sdk.GuestBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The toolstack driven as a user drives it: a host started in the foreground on a thread, in a
 * temporary state directory, and xl's verbs run through the CLI against its socket. Two
 * domains from xl.cfg files: the SDK's echo guest (PVH, blocks on its PV console between lines)
 * and the spin kernel (HVM, never ends).
 *
 * <p>Waits poll the host's answers with a deadline (the host runs in wall-clock time); what is
 * asserted never depends on how long anything took.
 */
class ToolstackCliTest {
  private static Path echo;
  private static Path spin;

  @TempDir
  Path dir;

  private Path state;
  private Thread host;
  private final int[] hostStatus = {-1};
  private final ByteArrayOutputStream hostErr = new ByteArrayOutputStream();

  @BeforeAll
  static void build() throws Exception {
    Path root = TestKernels.root();
    echo = new GuestBuilder(root.resolve("guest-sdk/c"), root.resolve("samples/target/guests"))
        .build("echo", List.of(root.resolve("samples/guests/echo/echo.c")));
    spin = TestKernels.anyElf("spin");
  }

  /** One verb's result. */
  record Result(int status, String out, String err) {}

  private Result hospes(InputStream in, OutputStream out, String... args) {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    String[] all = new String[args.length + 2];
    System.arraycopy(args, 0, all, 0, args.length);
    all[args.length] = "--state-dir";
    all[args.length + 1] = state.toString();
    PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
    PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
    int status = in == null ? HospesCli.newCommandLine(o, e).execute(all)
        : HospesCli.newCommandLine(in, o, e).execute(all);
    return new Result(status, out.toString(), err.toString(StandardCharsets.UTF_8));
  }

  private Result hospes(String... args) {
    return hospes(null, new ByteArrayOutputStream(), args);
  }

  @BeforeEach
  void startHost() throws Exception {
    state = dir.resolve("state");
    host = new Thread(() -> hostStatus[0] = HospesCli.newCommandLine(
        new PrintStream(new ByteArrayOutputStream(), true),
        new PrintStream(hostErr, true, StandardCharsets.UTF_8))
        .execute("host", "start", "--foreground", "--memory", "96", "--state-dir",
            state.toString()), "test-host");
    host.start();
    await("the host answers", () -> hospes("host", "status").status() == 0);
    Files.writeString(dir.resolve("echo.cfg"), "# the SDK's echo guest\n"
        + "name = \"echo\"\ntype = \"pvh\"\nmemory = 16\nkernel = \"" + echo + "\"\n");
    Files.writeString(dir.resolve("spin.cfg"), "name = \"spin\"\ntype = \"hvm\"\nmemory = 4\n"
        + "kernel = \"" + spin + "\"\non_crash = \"preserve\"\n");
  }

  @AfterEach
  void stopHost() throws Exception {
    if (host.isAlive()) {
      hospes("host", "stop");
      host.join(30_000);
    }
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void createListConsoleWeightDestroyAndStop() throws Exception {
    // create two domains from config files
    Result created = hospes("create", dir.resolve("echo.cfg").toString());
    assertThat(created.status()).as(created.err()).isZero();
    assertThat(created.err()).isEqualTo("hospes: created domain 1 (echo)\n");
    assertThat(hospes("create", dir.resolve("spin.cfg").toString()).err())
        .isEqualTo("hospes: created domain 2 (spin)\n");

    // a console: the banner the guest printed before we attached, then an echoed line
    PipedOutputStream keys = new PipedOutputStream();
    PipedInputStream stdin = new PipedInputStream(keys);
    ByteArrayOutputStream screen = new ByteArrayOutputStream();
    Result[] console = new Result[1];
    Thread attached = new Thread(() -> console[0] = hospes(stdin, syncOut(screen), "console",
        "echo"));
    attached.start();
    await("the echo guest's banner", () -> text(screen).contains("'bye' ends\n"));
    keys.write("typed into the console\n".getBytes(StandardCharsets.US_ASCII));
    keys.flush();
    await("the echoed line", () -> text(screen).contains("echo: typed into the console\n"));
    keys.write(0x1D); // Ctrl-] detaches; the domain runs on
    keys.flush();
    attached.join(10_000);
    assertThat(console[0].status()).isZero();
    assertThat(text(screen)).isEqualTo("echo: type lines; 'bye' ends\n"
        + "echo: typed into the console\n");

    // piped input that ends at once (printf ... | hospes console echo): what the guest wrote
    // before, then its answer to the input; the console detaches once echo blocks again
    ByteArrayOutputStream piped = new ByteArrayOutputStream();
    Result once = hospes(new java.io.ByteArrayInputStream(
        "piped line\n".getBytes(StandardCharsets.US_ASCII)), piped, "console", "echo");
    assertThat(once.status()).isZero();
    assertThat(text(piped)).isEqualTo("echo: type lines; 'bye' ends\n"
        + "echo: typed into the console\necho: piped line\n");

    // list: xl's columns; echo blocks waiting for input, spin never stops running
    Result list = hospes("list");
    assertThat(list.status()).isZero();
    List<String> rows = list.out().lines().toList();
    assertThat(rows.get(0)).matches("Name +ID +Mem +VCPUs +State +Time\\(s\\)");
    assertThat(rows.get(1)).startsWith("Domain-0 ").contains(" 0 ");
    assertThat(rows.get(2)).matches("echo +1 +16 +1 +-b---- +\\d+\\.\\d");
    assertThat(rows.get(3)).matches("spin +2 +4 +1 +r----- +\\d+\\.\\d");
    assertThat(rows).hasSize(4);

    // sched-credit: change spin's weight and see it listed
    assertThat(hospes("sched-credit", "-d", "spin", "-w", "512").status()).isZero();
    Result sched = hospes("sched-credit");
    assertThat(sched.out().lines()).containsExactly(
        "Name                                ID Weight  Cap",
        "Domain-0                             0    256    0",
        "echo                                 1    256    0",
        "spin                                 2    512    0");
    assertThat(hospes("sched-credit", "-d", "2", "-c", "30").status()).isZero();
    assertThat(hospes("sched-credit", "-d", "spin").out().lines()).containsExactly(
        "Name                                ID Weight  Cap",
        "spin                                 2    512   30");

    // xenstore: dom0 wrote the echo guest's entries; a write reads back
    assertThat(hospes("xenstore-read", "/local/domain/1/name").out()).isEqualTo("echo\n");
    assertThat(hospes("xenstore-ls", "/local/domain/1").out())
        .contains("name = \"echo\"\n", "console = \"\"\n", " type = \"ioemu\"\n");
    assertThat(hospes("xenstore-write", "/tool/test", "42").status()).isZero();
    assertThat(hospes("xenstore-read", "/tool/test").out()).isEqualTo("42\n");

    // block-attach: a disk served by driver domain "storage" (domid 3, after echo and spin);
    // echo has no blkfront, so the backend waits in InitWait and detach removes it at once.
    java.nio.file.Files.write(dir.resolve("data.img"), new byte[1 << 16]);
    assertThat(hospes("block-attach", "echo", "backend=storage,target=" + dir.resolve("data.img"))
        .err()).isEqualTo("hospes: attached xvda (devid 51712) to echo, backend in domain 3\n");
    assertThat(hospes("xenstore-read", "/local/domain/1/device/vbd/51712/backend").out())
        .isEqualTo("/local/domain/3/backend/vbd/1/51712\n");
    assertThat(hospes("xenstore-read", "/local/domain/3/backend/vbd/1/51712/state").out())
        .isEqualTo("2\n");
    // The driver domain has its name and domid, as dom0 has (xl, xen-init-dom0).
    assertThat(hospes("xenstore-read", "/local/domain/3/name").out()).isEqualTo("storage\n");
    assertThat(hospes("xenstore-read", "/local/domain/3/domid").out()).isEqualTo("3\n");
    assertThat(hospes("xenstore-read", "/local/domain/0/name").out()).isEqualTo("Domain-0\n");
    assertThat(hospes("xenstore-read", "/local/domain/0/domid").out()).isEqualTo("0\n");
    // The driver domain is a domain like any other in list (the last trial: it was missing).
    assertThat(hospes("list").out().lines())
        .anyMatch(l -> l.matches("storage +3 .*"));
    assertThat(hospes("block-attach", "echo", "vdev=xvda,target=" + dir.resolve("data.img")))
        .isEqualTo(new Result(2, "", "hospes: echo: domain 1 already has xvda\n"));
    assertThat(hospes("block-detach", "echo", "xvda").err())
        .isEqualTo("hospes: detached xvda from echo\n");
    assertThat(hospes("xenstore-read", "/local/domain/1/device/vbd/51712/backend").status())
        .isEqualTo(2);
    assertThat(hospes("block-detach", "echo", "xvda"))
        .isEqualTo(new Result(2, "", "hospes: echo: domain 1 has no disk xvda\n"));

    // destroy one; the other keeps running: its instruction count keeps growing
    assertThat(hospes("destroy", "echo").err()).isEqualTo("hospes: destroyed domain 1 (echo)\n");
    assertThat(hospes("list").out()).doesNotContain("echo");
    long before = spinInstructions();
    await("spin runs on", () -> {
      try {
        return spinInstructions() > before;
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    Result top = hospes("top", "--batch", "-n", "1", "-d", "0.2");
    assertThat(top.out()).contains("INSNS/s").doesNotContain("echo");
    Matcher rate = Pattern.compile("(?m)^spin +2 +r----- .* (\\d+) +\\d+ +\\d+ +\\d+$")
        .matcher(top.out());
    assertThat(rate.find()).as(top.out()).isTrue();
    assertThat(Long.parseLong(rate.group(1))).isPositive();

    // dmesg: the toolstack's own lines
    assertThat(hospes("dmesg").out()).contains("domain 1 (echo) created from",
        "domain 2 (spin): weight 512, cap 0", "domain 1 (echo) destroyed by the toolstack");

    // host stop: the host ends cleanly and leaves no socket or pid file
    assertThat(hospes("host", "stop").status()).isZero();
    host.join(30_000);
    assertThat(hostStatus[0]).isZero();
    assertThat(state.resolve("host.sock")).doesNotExist();
    assertThat(state.resolve("host.pid")).doesNotExist();
    assertThat(hospes("list")).isEqualTo(new Result(2, "", "hospes: no host is running in "
        + state + " (start one with ./hospes host start --state-dir " + state + ")\n"));
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void pipedInputShowsEveryReplyTheGuestWroteBeforeItEnded() throws Exception {
    // printf 'hi\nbye\n' | hospes console echo: the input ends at once, echo answers both lines
    // and powers off. Neither the end of the input nor the domain's death may cut the replies
    // off; the race showed in about one try of three, so it is tried many times.
    for (int round = 0; round < 15; round++) {
      Result created = hospes("create", dir.resolve("echo.cfg").toString());
      assertThat(created.status()).as(created.err()).isZero();
      ByteArrayOutputStream screen = new ByteArrayOutputStream();
      Result piped = hospes(new java.io.ByteArrayInputStream(
          "hi\nbye\n".getBytes(StandardCharsets.US_ASCII)), screen, "console", "echo");
      assertThat(piped.status()).as(piped.err()).isZero();
      assertThat(text(screen)).as("round " + round).isEqualTo(
          "echo: type lines; 'bye' ends\necho: hi\necho: bye\n");
      await("echo powered off", () -> !hospes("list").out().contains("echo "));
    }
  }

  /**
   * Input typed into the console of a paused domain is answered once it is unpaused, and the
   * console works on. The event sent while paused woke nothing (the hypervisor dropped the
   * wake-up), stayed pending, and echo never answered any input again.
   */
  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void inputGivenWhilePausedIsAnsweredAfterTheUnpause() throws Exception {
    assertThat(hospes("create", dir.resolve("echo.cfg").toString()).status()).isZero();
    assertThat(hospes("pause", "echo").status()).isZero();
    ByteArrayOutputStream paused = new ByteArrayOutputStream();
    Result typed = hospes(new java.io.ByteArrayInputStream(
        "while paused\n".getBytes(StandardCharsets.US_ASCII)), paused, "console", "echo");
    assertThat(typed.status()).as(typed.err()).isZero();
    assertThat(text(paused)).isEqualTo("echo: type lines; 'bye' ends\n");
    assertThat(hospes("unpause", "echo").status()).isZero();
    ByteArrayOutputStream screen = new ByteArrayOutputStream();
    Result after = hospes(new java.io.ByteArrayInputStream(
        "after\n".getBytes(StandardCharsets.US_ASCII)), screen, "console", "echo");
    assertThat(after.status()).as(after.err()).isZero();
    assertThat(text(screen)).isEqualTo(
        "echo: type lines; 'bye' ends\necho: while paused\necho: after\n");
  }

  /**
   * {@code hospes console echo | head -1} with input that has not ended: the console stayed
   * attached after head had gone. A write to the closed stdout failed inside the PrintStream,
   * unseen; and while the guest was quiet nothing was written at all. Here stdout fails from
   * the start (the guest's banner is replayed on attach): the console detaches and says why.
   */
  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void aConsoleWhoseStdoutFailsDetaches() throws Exception {
    assertThat(hospes("create", dir.resolve("echo.cfg").toString()).status()).isZero();
    PipedOutputStream keys = new PipedOutputStream();
    PipedInputStream stdin = new PipedInputStream(keys); // never ends: keys stays open
    OutputStream closed = new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        throw new IOException("Broken pipe");
      }
    };
    Result[] console = new Result[1];
    Thread attached = new Thread(() -> console[0] = hospes(stdin, closed, "console", "echo"));
    attached.start();
    attached.join(60_000);
    assertThat(attached.isAlive()).as("the console still attached").isFalse();
    assertThat(console[0].status()).isZero();
    assertThat(console[0].err()).isEqualTo("hospes: stdout was closed: detached from echo\n");
    assertThat(hospes("list").out()).as("echo runs on").contains("echo ");
    keys.close();
  }

  /**
   * The same in a process of its own, its stdout a pipe whose reader closes after the banner
   * while echo waits for input: nothing is written, so only the look in /proc for the pipe's
   * reader can end it.
   */
  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void aConsoleProcessDetachesWhenItsStdoutReaderGoesWhileTheGuestIsQuiet() throws Exception {
    assertThat(hospes("create", dir.resolve("echo.cfg").toString()).status()).isZero();
    Process p = new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), HospesCli.class.getName(),
        "console", "echo", "--state-dir", state.toString()).start();
    String err;
    try {
      // stdin is p's output stream, left open: the input does not end.
      byte[] banner = "echo: type lines; 'bye' ends\n".getBytes(StandardCharsets.US_ASCII);
      assertThat(p.getInputStream().readNBytes(banner.length)).isEqualTo(banner);
      p.getInputStream().close();
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("the console detached").isTrue();
      err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    } finally {
      p.destroyForcibly();
    }
    assertThat(p.exitValue()).as(err).isZero();
    assertThat(err).isEqualTo("hospes: stdout was closed: detached from echo\n");
    assertThat(hospes("list").out()).as("echo runs on").contains("echo ");
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void clearErrors() throws Exception {
    Result second = hospes("host", "start", "--foreground");
    assertThat(second.status()).isEqualTo(2);
    assertThat(second.err()).startsWith("hospes: a host is already running (pid ")
        .endsWith("stop it with ./hospes host stop\n");

    for (String verb : List.of("pause", "unpause", "destroy", "shutdown", "console")) {
      Result r = hospes(verb, "nosuch");
      assertThat(r.status()).as(verb).isEqualTo(2);
      assertThat(r.err()).as(verb).isEqualTo("hospes: no domain named or numbered 'nosuch'"
          + " (see ./hospes list)\n");
    }
    assertThat(hospes("sched-credit", "-d", "nosuch", "-w", "5").err())
        .isEqualTo("hospes: no domain named or numbered 'nosuch' (see ./hospes list)\n");

    Path bad = dir.resolve("bad.cfg");
    Files.writeString(bad, "name = \"x\"\nkernel = \"" + spin + "\"\nmemory = \"lots\"\n");
    assertThat(hospes("create", bad.toString())).isEqualTo(new Result(2, "", "hospes: " + bad
        + ":3: memory: expected a number, as in memory = 1\n"));

    assertThat(hospes("create", dir.resolve("spin.cfg").toString()).status()).isZero();
    Result twice = hospes("create", dir.resolve("spin.cfg").toString());
    assertThat(twice.status()).isEqualTo(2);
    assertThat(twice.err()).isEqualTo("hospes: " + dir.resolve("spin.cfg")
        + ": a domain named spin exists already\n");
    Result weight = hospes("sched-credit", "-d", "spin", "-w", "0");
    assertThat(weight.err()).isEqualTo("hospes: spin: weight must be 1..65535, got 0\n");
    Result shutdown = hospes("shutdown", "spin");
    assertThat(shutdown.err()).isEqualTo("hospes: spin has no PV control interface (a bare HVM"
        + " kernel without xenstore); use ./hospes destroy spin\n");
    assertThat(hospes("xenstore-read", "/no/such").err())
        .isEqualTo("hospes: xenstore: /no/such: no such node (ENOENT)\n");

    Result pause = hospes("pause", "spin");
    assertThat(pause.err()).isEqualTo("hospes: paused domain 1 (spin)\n");
    assertThat(hospes("list").out()).containsPattern("spin +1 +4 +1 +--p---");
    // Pauses are counted, as in Xen: two pauses, two unpauses; then a third is refused.
    assertThat(hospes("pause", "spin").status()).isZero();
    assertThat(hospes("unpause", "1").status()).isZero();
    assertThat(hospes("list").out()).containsPattern("spin +1 +4 +1 +--p---");
    hospes("unpause", "1");
    assertThat(hospes("list").out()).containsPattern("spin +1 +4 +1 +r-----");
    assertThat(hospes("unpause", "spin"))
        .isEqualTo(new Result(2, "", "hospes: spin is not paused (Xen: EINVAL)\n"));

    // Given by --state-dir, the directory is named, and the hint starts a host there: the old
    // one ('./hospes host start') started a host that this command would not find.
    Path elsewhere = dir.resolve("no-host");
    Result none = new Result(2, "", "hospes: no host is running in " + elsewhere + " (start one"
        + " with ./hospes host start --state-dir " + elsewhere + ")\n");
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true);
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = HospesCli.newCommandLine(quiet, new PrintStream(err, true,
        StandardCharsets.UTF_8)).execute("list", "--state-dir", elsewhere.toString());
    assertThat(new Result(status, "", err.toString(StandardCharsets.UTF_8))).isEqualTo(none);
  }

  /** spin's instructions retired so far, from list --long's JSON. */
  @Test
  @Timeout(value = 90, unit = TimeUnit.SECONDS)
  void onCrashPreserveKeepsTheCrashedDomainListedAndRestartDoesNotLoop() throws Exception {
    Path crasher = TestKernels.anyElf("triplefault");
    Files.writeString(dir.resolve("kept.cfg"), "name = \"kept\"\ntype = \"hvm\"\nmemory = 4\n"
        + "kernel = \"" + crasher + "\"\non_crash = \"preserve\"\n");
    Files.writeString(dir.resolve("again.cfg"), "name = \"again\"\ntype = \"hvm\"\n"
        + "memory = 4\nkernel = \"" + crasher + "\"\non_crash = \"restart\"\n");
    assertThat(hospes("create", dir.resolve("spin.cfg").toString()).status()).isZero();
    assertThat(hospes("create", dir.resolve("kept.cfg").toString()).status()).isZero();
    assertThat(hospes("create", dir.resolve("again.cfg").toString()).status()).isZero();

    await("kept listed as crashed", () -> hospes("list").out().contains("kept "));
    await("kept crashed", () -> Pattern.compile("kept +2 +4 +1 +----c-").matcher(
        hospes("list").out()).find());
    await("again gone", () -> !hospes("list").out().contains("again"));
    String dmesg = hospes("dmesg").out();
    assertThat(dmesg).contains("domain 2 (kept) crashed: triple fault",
        "domain again crashed less than 10 s after it was built: not restarting it");
    assertThat(hospes("list").out()).containsPattern("spin +1 +4 +1 +r-----");
    Result paused = hospes("pause", "kept");
    assertThat(paused.status()).isEqualTo(2);
    assertThat(paused.err()).startsWith("hospes: kept has ended (crashed: triple fault")
        .endsWith("it can only be destroyed now (asked: pause)\n");
    assertThat(hospes("destroy", "kept").status()).isZero();
    assertThat(hospes("list").out()).doesNotContain("kept");
  }

  private long spinInstructions() throws IOException {
    var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(hospes("list", "-l")
        .out());
    for (var d : json.path("domains")) {
      if (d.path("name").asText().equals("spin")) {
        return d.path("instructions").asLong();
      }
    }
    throw new AssertionError("spin is not listed: " + json);
  }

  private static OutputStream syncOut(ByteArrayOutputStream sink) {
    return new OutputStream() {
      @Override
      public void write(int b) {
        synchronized (sink) {
          sink.write(b);
        }
      }

      @Override
      public void write(byte[] b, int off, int len) {
        synchronized (sink) {
          sink.write(b, off, len);
        }
      }
    };
  }

  private static String text(ByteArrayOutputStream b) {
    synchronized (b) {
      return b.toString(StandardCharsets.US_ASCII);
    }
  }

  private static void await(String what, java.util.function.BooleanSupplier done)
      throws InterruptedException {
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(20);
    }
  }
}
