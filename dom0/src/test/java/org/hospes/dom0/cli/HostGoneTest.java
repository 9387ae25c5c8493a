package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;

/**
 * Verbs that watch a host while it stops underneath them. The trial found top saying "no host
 * is running (start one ...)", status 2, as if started with no host, and console ending with
 * status 0 and nothing said, as when its domain ends.
 */
class HostGoneTest {
  @RegisterExtension
  final TestHosts.Running host = new TestHosts.Running();

  /** One verb's status, run on a thread of its own; out and err are the test's to read. */
  private Thread verb(int[] status, OutputStream out, ByteArrayOutputStream err,
      String... args) {
    String[] all = host.withStateDir(args);
    Thread t = new Thread(() -> status[0] = HospesCli.newCommandLine(
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)).execute(all), "test-verb");
    t.start();
    return t;
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void topSaysTheHostStoppedWhileItWatched() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int[] status = {-1};
    Thread top = verb(status, syncOut(out), err, "top", "-b", "-n", "1000000", "-d", "0.05");
    await("top's first table", () -> text(out).contains("Domain-0 "));
    host.daemon().stop();
    top.join();
    assertThat(err.toString(StandardCharsets.UTF_8))
        .matches("hospes: the host (stopped|went away) while top was watching.*\n");
    assertThat(status[0]).isEqualTo(1);
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void aConsoleSaysTheHostStoppedAndFails() throws Exception {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int[] status = {-1};
    Thread console = attachedConsole(status, err);
    host.daemon().stop();
    console.join();
    assertThat(err.toString(StandardCharsets.UTF_8))
        .isEqualTo("hospes: the host stopped; detached from g\n");
    assertThat(status[0]).isEqualTo(1);
  }

  /** The domain ending is what ends a console, status 0, as before: said by nobody. */
  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void aConsoleWhoseDomainIsDestroyedEndsQuietly() throws Exception {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int[] status = {-1};
    Thread console = attachedConsole(status, err);
    int[] done = {-1};
    ByteArrayOutputStream verbErr = new ByteArrayOutputStream();
    verb(done, new ByteArrayOutputStream(), verbErr, "destroy", "g").join();
    assertThat(done[0]).as(verbErr.toString()).isZero();
    console.join();
    assertThat(err.toString(StandardCharsets.UTF_8)).isEmpty();
    assertThat(status[0]).isZero();
  }

  /**
   * Creates domain g ({@link #writeLineKernel}) and attaches a console to it, once the guest's
   * line is shown; the console's status and stderr go to {@code status} and {@code err}.
   */
  private Thread attachedConsole(int[] status, ByteArrayOutputStream err) throws Exception {
    writeLineKernel();
    int[] created = {-1};
    ByteArrayOutputStream createErr = new ByteArrayOutputStream();
    verb(created, new ByteArrayOutputStream(), createErr, "create",
        host.dir().resolve("g.cfg").toString()).join();
    assertThat(created[0]).as(createErr.toString()).isZero();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Thread console = verb(status, syncOut(out), err, "console", "g");
    await("the guest's byte, shown once attached", () -> text(out).equals("A\n")
        || !console.isAlive());
    assertThat(text(out)).as(err.toString()).isEqualTo("A\n");
    return console;
  }

  /** Domain g's config: a bare HVM kernel that writes "A\n" on COM1, its console, and spins. */
  private void writeLineKernel() throws java.io.IOException {
    // mov dx, 0x3f8; mov al, 'A'; out dx, al; mov al, 10; out dx, al; jmp $
    Files.write(host.dir().resolve("com1.elf"), ElfImageBuilder.multibootKernel(new byte[] {
        0x66, (byte) 0xBA, (byte) 0xF8, 0x03, (byte) 0xB0, 'A', (byte) 0xEE, (byte) 0xB0, 10,
        (byte) 0xEE, (byte) 0xEB, (byte) 0xFE}));
    Files.writeString(host.dir().resolve("g.cfg"), "name = \"g\"\ntype = \"hvm\"\nmemory = 4\n"
        + "kernel = \"com1.elf\"\n");
  }

  private static OutputStream syncOut(ByteArrayOutputStream b) {
    return new OutputStream() {
      @Override
      public void write(int x) {
        synchronized (b) {
          b.write(x);
        }
      }

      @Override
      public void write(byte[] x, int off, int len) {
        synchronized (b) {
          b.write(x, off, len);
        }
      }
    };
  }

  private static String text(ByteArrayOutputStream b) {
    synchronized (b) {
      return b.toString(StandardCharsets.UTF_8);
    }
  }

  private static void await(String what, BooleanSupplier done) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!done.getAsBoolean()) {
      assertThat(System.nanoTime()).as("waiting for " + what).isLessThan(deadline);
      Thread.sleep(10);
    }
  }
}
