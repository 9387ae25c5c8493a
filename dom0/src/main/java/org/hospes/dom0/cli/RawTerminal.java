package org.hospes.dom0.cli;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import org.jline.terminal.Attributes;
import org.jline.terminal.Terminal;

/**
 * Raw mode for top and console, with the terminal's output processing off as well, so that
 * every line ends in exactly one CR LF on the screen.
 *
 * <p>Keys are bytes (ISIG off, {@link #withoutSignals}). JLine's {@code enterRawMode} turns off
 * canonical input and echo but leaves OPOST and
 * ONLCR on, so the terminal itself turns each LF into CR LF; top and console wrote CR LF on top
 * of that and the terminal received CR CR LF. With OPOST off (as xl console's cfmakeraw does)
 * what is written is what arrives, and {@link CrLf} makes each line end CR LF once: a guest's
 * bare LF gets its CR, a guest's CR LF passes as it is.
 */
final class RawTerminal {
  private RawTerminal() {}

  /**
   * Puts {@code t} in raw mode without output processing; returns the attributes to restore.
   */
  static Attributes enter(Terminal t) {
    Attributes saved = t.enterRawMode();
    t.setAttributes(withoutSignals(withoutOutputProcessing(t.getAttributes())));
    return saved;
  }

  /**
   * A copy of {@code a} with ISIG off, as cfmakeraw (xl console's) leaves it: Ctrl-C, Ctrl-Z
   * and Ctrl-\ are bytes to read, not signals. JLine's raw mode leaves ISIG on, so Ctrl-C in
   * console killed the client (status 130) rather than reaching the guest, and in top it ended
   * it without its 'q' path; both left the terminal without echo and line editing, as the
   * attributes were never restored.
   */
  static Attributes withoutSignals(Attributes a) {
    Attributes raw = new Attributes(a);
    raw.setLocalFlag(Attributes.LocalFlag.ISIG, false);
    return raw;
  }

  /** A copy of {@code a} with OPOST off (so ONLCR and the other output maps are off too). */
  static Attributes withoutOutputProcessing(Attributes a) {
    Attributes raw = new Attributes(a);
    raw.setOutputFlag(Attributes.OutputFlag.OPOST, false);
    return raw;
  }

  /** Writes each LF as CR LF unless the byte before it was already a CR. */
  static final class CrLf extends FilterOutputStream {
    private int last = -1;

    CrLf(OutputStream out) {
      super(out);
    }

    @Override
    public void write(int b) throws IOException {
      if (b == '\n' && last != '\r') {
        out.write('\r');
      }
      out.write(b);
      last = b & 0xFF;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      // Copied in one pass so a console's 4 KiB reads stay one write each.
      byte[] o = new byte[len * 2];
      int n = 0;
      for (int i = off; i < off + len; i++) {
        if (b[i] == '\n' && last != '\r') {
          o[n++] = '\r';
        }
        o[n++] = b[i];
        last = b[i] & 0xFF;
      }
      out.write(o, 0, n);
    }
  }
}
