package org.hospes.dom0.boot;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.tukaani.xz.SingleXZInputStream;

/**
 * The Linux boot protocol's bzImage: a real-mode setup followed by a compressed kernel. Like
 * Xen's domain builder (xg_dom_bzimageloader), Hospes takes the ELF vmlinux out of it through
 * the setup header's payload_offset/payload_length (boot protocol 2.08+) and boots that ELF
 * (for example at its PVH entry). XZ payloads, the Debian kernels' format, are supported.
 */
public final class BzImage {
  static final int SETUP_SECTS = 0x1F1;
  static final int HEADER_MAGIC = 0x202;
  static final int VERSION = 0x206;
  static final int PAYLOAD_OFFSET = 0x248;
  static final int PAYLOAD_LENGTH = 0x24C;
  /** "HdrS". */
  static final int HDRS = 0x5372_6448;

  private BzImage() {}

  /** True if {@code image} carries a Linux setup header ("HdrS"). */
  public static boolean isBzImage(byte[] image) {
    return image.length > 0x260
        && ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN).getInt(HEADER_MAGIC) == HDRS;
  }

  /** The uncompressed vmlinux ELF inside a bzImage. */
  public static byte[] vmlinux(byte[] image) throws BootException {
    if (!isBzImage(image)) {
      throw new BootException("not a bzImage (no HdrS setup header)");
    }
    ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
    int version = b.getShort(VERSION) & 0xFFFF;
    if (version < 0x208) {
      throw BootException.format("boot protocol %d.%02d has no payload fields (2.08 needed)",
          version >> 8, version & 0xFF);
    }
    int setupSects = image[SETUP_SECTS] & 0xFF;
    long start = (long) ((setupSects == 0 ? 4 : setupSects) + 1) * 512 + b.getInt(PAYLOAD_OFFSET);
    long length = b.getInt(PAYLOAD_LENGTH) & 0xFFFF_FFFFL;
    if (start + length > image.length || length < 6) {
      throw new BootException("bzImage payload lies outside the file");
    }
    byte[] payload = java.util.Arrays.copyOfRange(image, (int) start, (int) (start + length));
    boolean xz = payload[0] == (byte) 0xFD && payload[1] == '7' && payload[2] == 'z'
        && payload[3] == 'X' && payload[4] == 'Z';
    if (!xz) {
      throw BootException.format("bzImage payload is not XZ (starts %02x %02x); only XZ kernels"
          + " are supported", payload[0], payload[1]);
    }
    // One XZ stream: the kernel appends its decompressed size after it, which is not XZ.
    try (InputStream in = new SingleXZInputStream(new ByteArrayInputStream(payload))) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new BootException("bad XZ payload: " + e.getMessage(), e);
    }
  }
}
