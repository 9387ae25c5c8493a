package org.hospes.samples;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** A "newc" cpio archive (what Linux unpacks as an initramfs), built in memory. */
final class Cpio {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private int inode = 1;

  void directory(String name) {
    entry(name, new byte[0], 0040755);
  }

  void file(String name, byte[] data, int perm) {
    entry(name, data, 0100000 | perm);
  }

  private void entry(String name, byte[] data, int mode) {
    byte[] n = (name + "\0").getBytes(StandardCharsets.US_ASCII);
    String header = String.format("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
        inode++, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, n.length, 0);
    out.writeBytes(header.getBytes(StandardCharsets.US_ASCII));
    out.writeBytes(n);
    pad();
    out.writeBytes(data);
    pad();
  }

  private void pad() {
    while (out.size() % 4 != 0) {
      out.write(0);
    }
  }

  byte[] finish() {
    entry("TRAILER!!!", new byte[0], 0);
    return out.toByteArray();
  }
}
