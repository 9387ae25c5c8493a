package org.hospes.dom0.acpi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The encoding all of Hospes's ACPI tables share (ACPI 6.x, 5.2): the RSDP, the 36-byte
 * description header with its checksum, and little-endian buffers to fill bodies in. The PVH
 * tables ({@code boot.AcpiTables}) and the HVM ones ({@link HvmAcpiTables}) differ in what
 * they describe, not in how a table is written.
 */
public final class AcpiTable {
  /** The description header (5.2.6). */
  public static final int HEADER_SIZE = 36;
  /** The revision 2 RSDP (5.2.5.3). */
  public static final int RSDP_SIZE = 36;
  private static final byte[] OEM_ID = ascii("HOSPES", 6);
  private static final byte[] CREATOR_ID = ascii("HOSP", 4);

  private AcpiTable() {}

  /**
   * A revision 2 RSDP pointing at {@code rsdt} (0: none, as for PVH) and {@code xsdt}, with both
   * checksums (the first 20 bytes', and the whole structure's).
   */
  public static byte[] rsdp(long rsdt, long xsdt) {
    ByteBuffer b = le(RSDP_SIZE);
    b.put("RSD PTR ".getBytes(StandardCharsets.US_ASCII));
    b.put(9, OEM_ID);
    b.put(15, (byte) 2); // revision 2: the XSDT address is valid
    b.putInt(16, (int) rsdt);
    b.putInt(20, RSDP_SIZE);
    b.putLong(24, xsdt);
    byte[] a = b.array();
    a[8] = checksum(a, 0, 20);
    a[32] = checksum(a, 0, RSDP_SIZE);
    return a;
  }

  /**
   * A table: the header (signature, length, revision, checksum, OEM ID "HOSPES",
   * {@code oemTableId}, OEM revision 1, creator "HOSP" revision 1), then {@code body}.
   */
  public static byte[] table(String signature, int revision, String oemTableId, byte[] body) {
    ByteBuffer b = le(HEADER_SIZE + body.length);
    b.put(signature.getBytes(StandardCharsets.US_ASCII));
    b.putInt(HEADER_SIZE + body.length);
    b.put((byte) revision).put((byte) 0);
    b.put(OEM_ID).put(ascii(oemTableId, 8)).putInt(1);
    b.put(CREATOR_ID).putInt(1);
    b.put(body);
    byte[] a = b.array();
    a[9] = checksum(a, 0, a.length);
    return a;
  }

  /** The byte that makes {@code a[from..from+len)} sum to zero (the slot must hold 0). */
  public static byte checksum(byte[] a, int from, int len) {
    int sum = 0;
    for (int i = from; i < from + len; i++) {
      sum += a[i];
    }
    return (byte) -sum;
  }

  /** A zeroed little-endian buffer of {@code size} bytes. */
  public static ByteBuffer le(int size) {
    return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** {@code s} in ASCII, cut or zero-padded to {@code len} bytes. */
  public static byte[] ascii(String s, int len) {
    byte[] out = new byte[len];
    byte[] in = s.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(in, 0, out, 0, Math.min(len, in.length));
    return out;
  }
}
