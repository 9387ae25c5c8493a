package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.jline.terminal.Attributes;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * top and console in a terminal: every line ends in exactly one CR LF on the screen. The last
 * trial saw CR CR LF, since JLine's raw mode leaves ONLCR on and both wrote their own CR too.
 */
class RawTerminalTest {

  /** Run under script(1): does what top's screen and console's output do, then restores. */
  public static void main(String[] args) throws Exception {
    try (Terminal t = TerminalBuilder.builder().system(true).build()) {
      try (RawTerminal.Mode raw = RawTerminal.enter(t)) {
        // top's table: LFs made CR LF by hand.
        t.writer().print("top line\nsecond\n".replace("\n", "\r\n"));
        t.flush();
        // console's guest output: one guest writes LF, another CR LF.
        OutputStream screen = new RawTerminal.CrLf(System.out);
        screen.write("guest lf\nguest crlf\r\n".getBytes(StandardCharsets.US_ASCII));
        screen.flush();
      }
    }
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void inAPtyEachLineEndsInOneCrLf() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String command = java + " -cp " + System.getProperty("java.class.path") + " "
        + RawTerminalTest.class.getName() + "; echo after";
    Process p = new ProcessBuilder("script", "-qfec", command, "/dev/null")
        .redirectErrorStream(true).start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(out).as(out.replace("\r", "<CR>"))
        .contains("top line\r\nsecond\r\nguest lf\r\nguest crlf\r\n")
        .doesNotContain("\r\r")
        // The terminal's own LF->CR LF is back on once restored.
        .contains("after\r\n");
  }

  /** Run under script(1): raw mode as top and console enter it, then reads one key. */
  static final class ReadsOneKey {
    public static void main(String[] args) throws Exception {
      try (Terminal t = TerminalBuilder.builder().system(true).build()) {
        try (RawTerminal.Mode raw = RawTerminal.enter(t)) {
          t.writer().print("ready\r\n");
          t.flush();
          int key = t.reader().read(30_000L);
          t.writer().print("key " + key + "\r\n");
          t.flush();
        }
      }
    }
  }

  /**
   * Ctrl-C in top's screen or an attached console: JLine's raw mode left ISIG on, so it was
   * SIGINT, which ended the process (130) and left the terminal raw (-icanon -echo); xl
   * console gives it to the guest. Now it is a key: byte 3.
   */
  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void inAPtyCtrlCIsAKeyNotASignal() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    // Quoted: the nested class's name has a '$'.
    String command = java + " -cp " + System.getProperty("java.class.path") + " '"
        + ReadsOneKey.class.getName() + "'; echo exit=$?";
    Process p = new ProcessBuilder("script", "-qfec", command, "/dev/null")
        .redirectErrorStream(true).start();
    java.io.InputStream in = p.getInputStream();
    StringBuilder seen = new StringBuilder();
    // Typed once raw mode is on (a Ctrl-C typed before is the shell's to take).
    while (seen.indexOf("ready") < 0) {
      int c = in.read();
      assertThat(c).as("before ready: " + seen).isNotNegative();
      seen.append((char) c);
    }
    p.getOutputStream().write(3);
    p.getOutputStream().flush();
    String out = seen + new String(in.readAllBytes(), StandardCharsets.US_ASCII);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(out).as(out.replace("\r", "<CR>")).contains("key 3\r\n").contains("exit=0");
  }

  @Test
  void crLfAddsACrOnlyWhereThereIsNone() throws Exception {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    RawTerminal.CrLf f = new RawTerminal.CrLf(b);
    f.write("a\nb\r".getBytes(StandardCharsets.US_ASCII));
    f.write('\n'); // a CR LF split across two writes is still one CR LF
    f.write("\n\r\r\n".getBytes(StandardCharsets.US_ASCII), 0, 4);
    assertThat(b.toString(StandardCharsets.US_ASCII)).isEqualTo("a\r\nb\r\n\r\n\r\r\n");
  }

  @Test
  void rawModeTurnsOutputProcessingOff() {
    Attributes cooked = new Attributes();
    cooked.setOutputFlag(Attributes.OutputFlag.OPOST, true);
    cooked.setOutputFlag(Attributes.OutputFlag.ONLCR, true);
    Attributes raw = RawTerminal.withoutOutputProcessing(cooked);
    assertThat(raw.getOutputFlag(Attributes.OutputFlag.OPOST)).isFalse();
    assertThat(cooked.getOutputFlag(Attributes.OutputFlag.OPOST)).isTrue();
    cooked.setLocalFlag(Attributes.LocalFlag.ISIG, true);
    assertThat(RawTerminal.withoutSignals(cooked).getLocalFlag(Attributes.LocalFlag.ISIG))
        .isFalse();
  }
}
