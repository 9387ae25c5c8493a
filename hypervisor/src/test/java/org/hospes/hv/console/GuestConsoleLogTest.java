package org.hospes.hv.console;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Xen 4.17's guest_console_write line discipline for a domU, byte for byte. */
class GuestConsoleLogTest {
  private final ByteArrayOutputStream log = new ByteArrayOutputStream();
  private final GuestConsoleLog d3 = new GuestConsoleLog(3, log);

  private void write(String s) throws Exception {
    byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
    d3.write(b, 0, b.length);
  }

  private String log() {
    return log.toString(StandardCharsets.ISO_8859_1);
  }

  @Test
  void linesArePrefixedAndHeldUntilTheirNewline() throws Exception {
    write("hello ");
    assertThat(log()).isEmpty();
    write("world\nsecond\nthi");
    assertThat(log()).isEqualTo("(d3) hello world\n(d3) second\n");
    write("rd\n");
    assertThat(log()).endsWith("(d3) third\n");
  }

  @Test
  void controlCharactersOtherThanTabAreDroppedAndEmptyLinesKept() throws Exception {
    // Xen's ctype is Latin-1: 0xE9 prints, 0x85 (a C1 control) does not.
    write("a\tb\u0001c\r\n\n\u00e9\u0085z\u007f\n");
    assertThat(log()).isEqualTo("(d3) a\tbc\n(d3) \n(d3) \u00e9z\n");
  }

  @Test
  void aLineThatWouldOverflowTheBufferEndsWithTheChunkThatFillsIt() throws Exception {
    // 150 bytes come in as chunks of 127 and 23: both fit the 200-byte buffer (150 < 199).
    write("x".repeat(150));
    assertThat(log()).isEmpty();
    // One more chunk of 100 would make 250: Xen prints buffer and chunk as one line.
    write("y".repeat(100));
    assertThat(log()).isEqualTo("(d3) " + "x".repeat(150) + "y".repeat(100) + "\n");
    write("z\n");
    assertThat(log()).endsWith("(d3) z\n");
  }

  @Test
  void closePrintsAPartialLineOnce() throws Exception {
    write("no newline");
    d3.close();
    assertThat(log()).isEqualTo("(d3) no newline\n");
    d3.close();
    assertThat(log()).isEqualTo("(d3) no newline\n");
  }
}
