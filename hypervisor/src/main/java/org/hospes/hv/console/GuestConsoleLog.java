package org.hospes.hv.console;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A domU's console_io output as a debug build of Xen 4.17 prints it on the hypervisor's console
 * with guest_loglvl=all (common/console.c, guest_console_write): the guest's bytes are taken in
 * chunks of up to 127, control characters other than tab are dropped, and text is kept in a
 * per-domain line buffer of 200 bytes until a newline comes or a chunk would fill it; then the
 * line is printed with the prefix "(dN) " and a newline. Xen keeps a partial line it never
 * finishes; here {@link #close()} prints it, so nothing a dying guest wrote is lost.
 */
public final class GuestConsoleLog extends OutputStream {
  /** Xen's DOMAIN_PBUF_SIZE. */
  static final int PBUF_SIZE = 200;
  /** Xen copies console_io data through a 128-byte kbuf, leaving room for a NUL. */
  static final int CHUNK = 127;

  private final byte[] prefix;
  private final OutputStream log;
  private final byte[] pbuf = new byte[PBUF_SIZE];
  private int pbufIdx;

  /** Lines of domain {@code domid} go to {@code log} (the hypervisor's console). */
  public GuestConsoleLog(int domid, OutputStream log) {
    this.prefix = ("(d" + domid + ") ").getBytes(StandardCharsets.US_ASCII);
    this.log = log;
  }

  /**
   * Xen's is_console_printable: isprint (its ctype table is Latin-1, so 0xA0..0xFF print too)
   * or a tab.
   */
  static boolean printable(int c) {
    return (c >= 0x20 && c < 0x7F) || c >= 0xA0 || c == '\t';
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public synchronized void write(byte[] b, int off, int len) throws IOException {
    byte[] kout = new byte[CHUNK];
    while (len > 0) {
      int kcount = Math.min(len, CHUNK);
      int kin = 0;
      int n = 0;
      int c;
      do {
        c = b[off + kin++] & 0xFF;
        if (c == '\n') {
          break;
        }
        if (printable(c)) {
          kout[n++] = (byte) c;
        }
      } while (--kcount > 0);
      if (c != '\n' && pbufIdx + n < PBUF_SIZE - 1) {
        System.arraycopy(kout, 0, pbuf, pbufIdx, n);
        pbufIdx += n;
      } else {
        line(kout, n);
      }
      off += kin;
      len -= kin;
    }
  }

  private void line(byte[] tail, int n) throws IOException {
    byte[] out = new byte[prefix.length + pbufIdx + n + 1];
    System.arraycopy(prefix, 0, out, 0, prefix.length);
    System.arraycopy(pbuf, 0, out, prefix.length, pbufIdx);
    System.arraycopy(tail, 0, out, prefix.length + pbufIdx, n);
    out[out.length - 1] = '\n';
    pbufIdx = 0;
    log.write(out);
    log.flush();
  }

  /** Prints a partial line left in the buffer (the log itself stays open). */
  @Override
  public synchronized void close() throws IOException {
    if (pbufIdx > 0) {
      line(new byte[0], 0);
    }
  }
}
