package org.hospes.dom0.toolstack.host;

import java.io.OutputStream;

/**
 * The hypervisor's log as {@code xl dmesg} shows it: a ring of the last bytes written, as Xen's
 * console ring keeps them. The toolstack's own lines and the guests' console_io output go in.
 */
final class DmesgBuffer extends OutputStream {
  private final byte[] ring;
  private long written;

  DmesgBuffer(int size) {
    this.ring = new byte[size];
  }

  @Override
  public synchronized void write(int b) {
    ring[(int) (written++ % ring.length)] = (byte) b;
  }

  @Override
  public synchronized void write(byte[] b, int off, int len) {
    for (int i = 0; i < len; i++) {
      write(b[off + i]);
    }
  }

  /** Writes {@code b} whole (no IOException: this is memory). */
  void append(byte[] b) {
    write(b, 0, b.length);
  }

  /** The last bytes written, oldest first (a cut first line is dropped). */
  synchronized byte[] contents() {
    int n = (int) Math.min(written, ring.length);
    byte[] out = new byte[n];
    for (int i = 0; i < n; i++) {
      out[i] = ring[(int) ((written - n + i) % ring.length)];
    }
    if (written > ring.length) {
      int nl = 0;
      while (nl < n && out[nl] != '\n') {
        nl++;
      }
      return java.util.Arrays.copyOfRange(out, Math.min(nl + 1, n), n);
    }
    return out;
  }
}
