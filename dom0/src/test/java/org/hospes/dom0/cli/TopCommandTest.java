package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;

/**
 * {@code hospes top} where there is no terminal: the trial found {@code hospes top < /dev/null}
 * (and top piped) printing tables until killed, its 'q' unreadable.
 */
class TopCommandTest {
  @RegisterExtension
  final TestHosts.Running host = new TestHosts.Running();

  private int top(OutputStream out, ByteArrayOutputStream err, String... args) {
    String[] all = host.withStateDir(java.util.stream.Stream.concat(
        java.util.stream.Stream.of("top"), java.util.Arrays.stream(args))
        .toArray(String[]::new));
    return HospesCli.newCommandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)).execute(all);
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void withoutATerminalTopPrintsOneTableAsBatchDoes() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    assertThat(top(out, err, "-d", "0.05")).as(err.toString()).isZero();
    String tables = out.toString(StandardCharsets.UTF_8);
    assertThat(tables.lines().filter(l -> l.startsWith("NAME "))).hasSize(1);
    assertThat(tables.lines().filter(l -> l.startsWith("Domain-0 "))).hasSize(1);

    out.reset();
    assertThat(top(out, err, "-d", "0.05", "-n", "3")).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("NAME ")))
        .hasSize(3);
  }

  /** hospes top -b -n 100000 | head -1 sampled on after head had gone, its tables lost. */
  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void topStopsWhenItsOutputCannotBeWritten() {
    int[] lines = {0};
    OutputStream gone = new OutputStream() {
      @Override
      public void write(int b) throws java.io.IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws java.io.IOException {
        for (int i = off; i < off + len; i++) {
          lines[0] += b[i] == '\n' ? 1 : 0;
        }
        throw new java.io.IOException("Broken pipe");
      }
    };
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    top(gone, err, "-b", "-d", "0.01", "-n", "1000000");
    // One table (its heading, Domain-0's row, the blank line after it) and no more.
    assertThat(lines[0]).isEqualTo(3);
  }
}
