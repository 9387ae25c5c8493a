package org.hospes.dom0.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * The notes named "Xen" in an ELF image's PT_NOTE segments (public/elfnote.h), by type; the
 * first of a type wins. PVH and classic PV loaders both read their parameters from here.
 */
public final class XenElfNotes {
  public static final int ENTRY = 1;
  public static final int HYPERCALL_PAGE = 2;
  public static final int VIRT_BASE = 3;
  public static final int PADDR_OFFSET = 4;
  public static final int XEN_VERSION = 5;
  public static final int GUEST_OS = 6;
  public static final int LOADER = 8;
  public static final int PAE_MODE = 9;
  public static final int FEATURES = 10;
  public static final int PHYS32_ENTRY = 18;

  private final Map<Integer, byte[]> notes;

  private XenElfNotes(Map<Integer, byte[]> notes) {
    this.notes = notes;
  }

  public static XenElfNotes read(byte[] image, ElfFile elf) throws BootException {
    ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
    Map<Integer, byte[]> found = new HashMap<>();
    for (ProgramHeader ph : elf.programHeaders()) {
      if (ph.type() != ProgramHeader.PT_NOTE) {
        continue;
      }
      long off = ph.offset();
      long endOff = ph.offset() + ph.filesz();
      if (endOff > image.length) {
        throw BootException.format("note segment %d is truncated", ph.index());
      }
      while (off + 12 <= endOff) {
        int namesz = b.getInt((int) off);
        int descsz = b.getInt((int) off + 4);
        int type = b.getInt((int) off + 8);
        long name = off + 12;
        long desc = name + ((namesz + 3) & ~3L);
        long next = desc + ((descsz + 3) & ~3L);
        if (namesz < 0 || descsz < 0 || next > endOff) {
          throw BootException.format("malformed note in segment %d", ph.index());
        }
        boolean xen = namesz == 4 && image[(int) name] == 'X' && image[(int) name + 1] == 'e'
            && image[(int) name + 2] == 'n' && image[(int) name + 3] == 0;
        if (xen) {
          found.putIfAbsent(type, Arrays.copyOfRange(image, (int) desc, (int) desc + descsz));
        }
        off = next;
      }
    }
    return new XenElfNotes(found);
  }

  public boolean isEmpty() {
    return notes.isEmpty();
  }

  public boolean has(int type) {
    return notes.containsKey(type);
  }

  /** The size of a note's descriptor in bytes, or -1 if absent. */
  public int size(int type) {
    byte[] d = notes.get(type);
    return d == null ? -1 : d.length;
  }

  /** A numeric note (1, 2, 4 or 8 bytes, little-endian), or {@code dflt} if absent. */
  public long number(int type, long dflt) throws BootException {
    byte[] d = notes.get(type);
    if (d == null) {
      return dflt;
    }
    if (d.length != 1 && d.length != 2 && d.length != 4 && d.length != 8) {
      throw BootException.format("Xen ELF note %d has %d bytes, not a number", type, d.length);
    }
    long v = 0;
    for (int i = d.length - 1; i >= 0; i--) {
      v = v << 8 | (d[i] & 0xFF);
    }
    return v;
  }

  /** A string note up to its NUL, or "" if absent. */
  public String string(int type) {
    byte[] d = notes.get(type);
    if (d == null) {
      return "";
    }
    int n = 0;
    while (n < d.length && d[n] != 0) {
      n++;
    }
    return new String(d, 0, n, java.nio.charset.StandardCharsets.US_ASCII);
  }
}
