package org.hospes.dom0.testing;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/** Builds small ELF32 images byte by byte, so loader tests need no toolchain. */
public final class ElfImageBuilder {

  public static final int MULTIBOOT_MAGIC = 0x1BADB002;

  private record Segment(int type, long vaddr, long paddr, byte[] data, long memsz) {}

  private final List<Segment> segments = new ArrayList<>();
  private long entry;
  private int elfClass = 1;
  private int dataEncoding = 1;
  private int machine = 3;
  private int type = 2;

  public ElfImageBuilder entry(long entry) {
    this.entry = entry;
    return this;
  }

  public ElfImageBuilder elfClass(int elfClass) {
    this.elfClass = elfClass;
    return this;
  }

  public ElfImageBuilder dataEncoding(int dataEncoding) {
    this.dataEncoding = dataEncoding;
    return this;
  }

  public ElfImageBuilder machine(int machine) {
    this.machine = machine;
    return this;
  }

  public ElfImageBuilder type(int type) {
    this.type = type;
    return this;
  }

  /** A PT_LOAD segment linked and loaded at {@code paddr}. */
  public ElfImageBuilder segment(long paddr, byte[] data, long memsz) {
    return segment(paddr, paddr, data, memsz);
  }

  public ElfImageBuilder segment(long vaddr, long paddr, byte[] data, long memsz) {
    segments.add(new Segment(1, vaddr, paddr, data, memsz));
    return this;
  }

  /** A PT_NOTE segment holding one note of {@code name} (NUL added), {@code type}, {@code desc}. */
  public ElfImageBuilder note(String name, int noteType, byte[] desc) {
    byte[] n = (name + "\0").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    int nameLen = (n.length + 3) & ~3;
    ByteBuffer b = ByteBuffer.allocate(12 + nameLen + ((desc.length + 3) & ~3))
        .order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(n.length).putInt(desc.length).putInt(noteType).put(n);
    b.position(12 + nameLen);
    b.put(desc);
    segments.add(new Segment(4, 0, 0, b.array(), 0));
    return this;
  }

  /** A PVH kernel's XEN_ELFNOTE_PHYS32_ENTRY note (type 18) giving {@code entry}. */
  public ElfImageBuilder pvhEntryNote(long entry) {
    return note("Xen", 18, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN)
        .putInt((int) entry).array());
  }

  /** File offset at which segment {@code i}'s data will be placed. */
  public int dataOffset(int i) {
    int at = align16(52 + 32 * segments.size());
    for (int j = 0; j < i; j++) {
      at = align16(at + segments.get(j).data.length);
    }
    return at;
  }

  public byte[] build() {
    int size = dataOffset(segments.size());
    ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    b.put(new byte[] {0x7F, 'E', 'L', 'F', (byte) elfClass, (byte) dataEncoding, 1});
    b.putShort(16, (short) type);
    b.putShort(18, (short) machine);
    b.putInt(20, 1);
    b.putInt(24, (int) entry);
    b.putInt(28, 52);
    b.putShort(40, (short) 52);
    b.putShort(42, (short) 32);
    b.putShort(44, (short) segments.size());
    for (int i = 0; i < segments.size(); i++) {
      Segment s = segments.get(i);
      int ph = 52 + 32 * i;
      b.putInt(ph, s.type);
      b.putInt(ph + 4, dataOffset(i));
      b.putInt(ph + 8, (int) s.vaddr);
      b.putInt(ph + 12, (int) s.paddr);
      b.putInt(ph + 16, s.data.length);
      b.putInt(ph + 20, (int) (s.type == 4 ? s.data.length : s.memsz));
      b.putInt(ph + 24, 5);
      b.putInt(ph + 28, 16);
      b.put(dataOffset(i), s.data);
    }
    return b.array();
  }

  /** A 12-byte Multiboot header with a valid checksum. */
  public static byte[] multibootHeader(int flags) {
    ByteBuffer b = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(MULTIBOOT_MAGIC).putInt(flags).putInt(-(MULTIBOOT_MAGIC + flags));
    return b.array();
  }

  /** A 32-byte Multiboot header with the a.out kludge address fields (flag bit 16 set). */
  public static byte[] multibootHeaderWithAddresses(int flags, long headerAddr, long loadAddr,
      long loadEndAddr, long bssEndAddr, long entryAddr) {
    int f = flags | (1 << 16);
    ByteBuffer b = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(MULTIBOOT_MAGIC).putInt(f).putInt(-(MULTIBOOT_MAGIC + f));
    b.putInt((int) headerAddr).putInt((int) loadAddr).putInt((int) loadEndAddr)
        .putInt((int) bssEndAddr).putInt((int) entryAddr);
    return b.array();
  }

  public static byte[] concat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    byte[] result = new byte[n];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, result, at, p.length);
      at += p.length;
    }
    return result;
  }

  /**
   * A Multiboot ELF kernel: one segment at 1 MiB holding the header followed by {@code code},
   * entered at the first code byte.
   */
  public static byte[] multibootKernel(byte[] code) {
    long base = 0x10_0000;
    return new ElfImageBuilder()
        .segment(base, concat(multibootHeader(0x3), code), 12 + code.length)
        .entry(base + 12)
        .build();
  }

  private static int align16(int v) {
    return (v + 15) & ~15;
  }
}
