package org.hospes.dom0.boot;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A cpio archive in the "newc" format (magic 070701), the one Linux unpacks as an initramfs,
 * built in memory: 13 eight-digit hexadecimal header fields, the NUL-terminated name, the data,
 * each padded to four bytes, and the {@code TRAILER!!!} entry last. The study's linux-io
 * workload and the Linux boot tests build their initramfs with it.
 */
public final class NewcArchive {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private int inode = 1;

  public NewcArchive directory(String name) {
    entry(name, new byte[0], 0040755);
    return this;
  }

  public NewcArchive file(String name, byte[] data, int permissions) {
    entry(name, data, 0100000 | permissions);
    return this;
  }

  private void entry(String name, byte[] data, int mode) {
    byte[] n = (name + "\0").getBytes(StandardCharsets.US_ASCII);
    // ino, mode, uid, gid, nlink, mtime (0: the archive is the same every time), filesize,
    // devmajor, devminor, rdevmajor, rdevminor, namesize, check.
    String header = String.format("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
        inode++, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, n.length, 0);
    out.writeBytes(header.getBytes(StandardCharsets.US_ASCII));
    out.writeBytes(n);
    align();
    out.writeBytes(data);
    align();
  }

  private void align() {
    while (out.size() % 4 != 0) {
      out.write(0);
    }
  }

  public byte[] finish() {
    entry("TRAILER!!!", new byte[0], 0);
    return out.toByteArray();
  }
}
