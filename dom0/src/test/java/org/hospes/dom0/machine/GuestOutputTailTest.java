package org.hospes.dom0.machine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class GuestOutputTailTest {
  private final ByteArrayOutputStream sink = new ByteArrayOutputStream();
  private final GuestOutputTail tail = new GuestOutputTail(sink);

  @Test
  void passesEverythingThroughAndKeepsTheLastLines() throws IOException {
    for (int i = 0; i < 30; i++) {
      tail.write(("line " + i + "\r\n").getBytes(StandardCharsets.US_ASCII));
    }
    tail.write('x');
    assertThat(sink.toString(StandardCharsets.US_ASCII)).startsWith("line 0\r\n").endsWith("x");
    assertThat(tail.lastLines(3)).containsExactly("line 28", "line 29", "x");
  }

  @Test
  void aWrappedRingDropsTheLineItCutAndShowsControlBytesAsDots() throws IOException {
    byte[] big = new byte[GuestOutputTail.CAPACITY + 100];
    java.util.Arrays.fill(big, (byte) 'a');
    tail.write(big);
    tail.write("\nlast\u0001\u001b[0m\n".getBytes(StandardCharsets.ISO_8859_1));
    assertThat(tail.lastLines(10)).containsExactly("last..[0m");
    assertThat(tail.written()).isEqualTo(big.length + 11);
  }

  @Test
  void sayingNothingIsReportedAsSuch() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    tail.report(new PrintStream(err, true, StandardCharsets.UTF_8));
    assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("hospes: the guest wrote nothing"
        + " (serial, console_io or PV console) before it stopped" + System.lineSeparator());
  }
}
