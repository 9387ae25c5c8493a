package org.hospes.dom0.acpi;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A small encoder for ACPI Machine Language (ACPI 6.x, chapter 20, "ACPI Machine Language
 * Specification"): the terms a DSDT for an HVM PC needs, each returned as its encoded bytes so
 * that terms nest as calls nest. Names follow the ASL operators they encode ({@code Scope},
 * {@code Device}, {@code Name}, {@code Method}, {@code Package}, {@code Buffer}) and the
 * resource descriptors of ResourceTemplate (6.4).
 */
public final class Aml {
  // Opcodes (20.3).
  static final int ZERO_OP = 0x00;
  static final int ONE_OP = 0x01;
  static final int NAME_OP = 0x08;
  static final int BYTE_PREFIX = 0x0A;
  static final int WORD_PREFIX = 0x0B;
  static final int DWORD_PREFIX = 0x0C;
  static final int STRING_PREFIX = 0x0D;
  static final int QWORD_PREFIX = 0x0E;
  static final int SCOPE_OP = 0x10;
  static final int BUFFER_OP = 0x11;
  static final int PACKAGE_OP = 0x12;
  static final int METHOD_OP = 0x14;
  static final int DUAL_NAME_PREFIX = 0x2E;
  static final int MULTI_NAME_PREFIX = 0x2F;
  static final int EXT_OP_PREFIX = 0x5B;
  static final int DEVICE_OP = 0x82;
  static final int ROOT_CHAR = 0x5C;
  static final int PARENT_PREFIX = 0x5E;
  static final int ARG0_OP = 0x68;
  static final int STORE_OP = 0x70;
  static final int IF_OP = 0xA0;
  static final int RETURN_OP = 0xA4;
  static final int ONES_OP = 0xFF;

  // Resource descriptors (6.4).
  static final byte SMALL_IO = 0x47;
  static final byte SMALL_END_TAG = 0x79;
  static final byte LARGE_DWORD_ADDRESS = (byte) 0x87;
  static final byte LARGE_WORD_ADDRESS = (byte) 0x88;
  public static final byte RESOURCE_MEMORY = 0;
  public static final int RESOURCE_IO = 1;
  public static final int RESOURCE_BUS = 2;
  /** General flags of an address space descriptor: _MIF and _MAF set, a producer. */
  static final byte FIXED_PRODUCER = 0x0C;

  private Aml() {}

  /** The terms one after another (a TermList). */
  public static byte[] concat(byte[]... terms) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] t : terms) {
      out.writeBytes(t);
    }
    return out.toByteArray();
  }

  /**
   * A PkgLength (20.2.4) for {@code content} bytes that follow it; the length it encodes counts
   * its own bytes too. One byte up to 63, else a lead byte holding the byte count in bits 7-6
   * and the low nibble, and 1-3 more bytes with the rest.
   */
  static byte[] pkgLength(int content) {
    if (content < 0 || content > 0x0FFF_FFFF - 4) {
      throw new IllegalArgumentException("AML package too large: " + content);
    }
    if (content + 1 < 0x40) {
      return new byte[] {(byte) (content + 1)};
    }
    for (int extra = 1; extra <= 3; extra++) {
      int total = content + 1 + extra;
      if (total < 1 << (4 + 8 * extra)) {
        byte[] b = new byte[1 + extra];
        b[0] = (byte) (extra << 6 | (total & 0xF));
        for (int i = 1; i <= extra; i++) {
          b[i] = (byte) (total >>> (4 + 8 * (i - 1)));
        }
        return b;
      }
    }
    throw new IllegalArgumentException("AML package too large: " + content);
  }

  /** {@code opcode PkgLength body}. */
  private static byte[] packaged(byte[] opcode, byte[] body) {
    return concat(opcode, pkgLength(body.length), body);
  }

  /**
   * A NameString (20.2.2): an optional root {@code \} or parent {@code ^} prefixes, then
   * dot-separated segments of up to four characters (A-Z, 0-9, _; the first not a digit),
   * padded with '_'.
   */
  public static byte[] nameString(String name) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int i = 0;
    if (name.startsWith("\\")) {
      out.write(ROOT_CHAR);
      i = 1;
    } else {
      while (i < name.length() && name.charAt(i) == '^') {
        out.write(PARENT_PREFIX);
        i++;
      }
    }
    String rest = name.substring(i);
    String[] segs = rest.isEmpty() ? new String[0] : rest.split("\\.", -1);
    if (segs.length == 2) {
      out.write(DUAL_NAME_PREFIX);
    } else if (segs.length > 2) {
      if (segs.length > 255) {
        throw new IllegalArgumentException("too many name segments: " + name);
      }
      out.write(MULTI_NAME_PREFIX);
      out.write(segs.length);
    } else if (segs.length == 0) {
      out.write(0); // NullName
    }
    for (String s : segs) {
      out.writeBytes(nameSeg(s, name));
    }
    return out.toByteArray();
  }

  private static byte[] nameSeg(String s, String whole) {
    if (s.isEmpty() || s.length() > 4 || Character.isDigit(s.charAt(0))) {
      throw new IllegalArgumentException("bad ACPI name segment '" + s + "' in '" + whole + "'");
    }
    byte[] seg = {'_', '_', '_', '_'};
    for (int k = 0; k < s.length(); k++) {
      char c = s.charAt(k);
      if (!(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_')) {
        throw new IllegalArgumentException("bad ACPI name character '" + c + "' in '" + whole
            + "'");
      }
      seg[k] = (byte) c;
    }
    return seg;
  }

  /** An integer in the shortest encoding: Zero, One, Ones, or a Byte/Word/DWord/QWord const. */
  public static byte[] integer(long v) {
    if (v == 0) {
      return new byte[] {ZERO_OP};
    }
    if (v == 1) {
      return new byte[] {ONE_OP};
    }
    if (v >= 0 && v <= 0xFF) {
      return new byte[] {BYTE_PREFIX, (byte) v};
    }
    if (v >= 0 && v <= 0xFFFF) {
      return new byte[] {WORD_PREFIX, (byte) v, (byte) (v >>> 8)};
    }
    if (v >= 0 && v <= 0xFFFF_FFFFL) {
      return new byte[] {DWORD_PREFIX, (byte) v, (byte) (v >>> 8), (byte) (v >>> 16),
          (byte) (v >>> 24)};
    }
    byte[] b = new byte[9];
    b[0] = QWORD_PREFIX;
    for (int i = 0; i < 8; i++) {
      b[1 + i] = (byte) (v >>> (8 * i));
    }
    return b;
  }

  /** A DWord constant even when a shorter encoding exists (as iasl writes EISAIDs). */
  static byte[] dword(long v) {
    return new byte[] {DWORD_PREFIX, (byte) v, (byte) (v >>> 8), (byte) (v >>> 16),
        (byte) (v >>> 24)};
  }

  /** A String: ASCII, NUL-terminated. */
  public static byte[] string(String s) {
    byte[] a = s.getBytes(StandardCharsets.US_ASCII);
    byte[] b = new byte[a.length + 2];
    b[0] = STRING_PREFIX;
    System.arraycopy(a, 0, b, 1, a.length);
    return b;
  }

  /**
   * EISAID("PNP0A03"): three upper-case letters packed in five bits each and four hex digits,
   * the 32-bit value stored byte-swapped as ASL's EISAID macro does.
   */
  public static byte[] eisaId(String id) {
    return dword(eisaIdValue(id));
  }

  static long eisaIdValue(String id) {
    if (!id.matches("[A-Z]{3}[0-9A-F]{4}")) {
      throw new IllegalArgumentException("not an EISA ID: " + id);
    }
    int v = (id.charAt(0) - 0x40) << 26 | (id.charAt(1) - 0x40) << 21
        | (id.charAt(2) - 0x40) << 16 | Integer.parseInt(id.substring(3), 16);
    return Integer.reverseBytes(v) & 0xFFFF_FFFFL;
  }

  /** Name(name, object). */
  public static byte[] name(String name, byte[] object) {
    return concat(new byte[] {NAME_OP}, nameString(name), object);
  }

  /** Scope(name) { terms }. */
  public static byte[] scope(String name, byte[]... terms) {
    return packaged(new byte[] {SCOPE_OP}, concat(nameString(name), concat(terms)));
  }

  /** Device(name) { terms }. */
  public static byte[] device(String name, byte[]... terms) {
    return packaged(new byte[] {EXT_OP_PREFIX, (byte) DEVICE_OP},
        concat(nameString(name), concat(terms)));
  }

  /** Method(name, args, NotSerialized) { terms }. */
  public static byte[] method(String name, int args, byte[]... terms) {
    if (args < 0 || args > 7) {
      throw new IllegalArgumentException("a method takes 0-7 arguments, not " + args);
    }
    return packaged(new byte[] {METHOD_OP},
        concat(nameString(name), new byte[] {(byte) args}, concat(terms)));
  }

  /** Package() { elements } (at most 255 elements). */
  public static byte[] pkg(byte[]... elements) {
    if (elements.length > 255) {
      throw new IllegalArgumentException("a Package holds at most 255 elements");
    }
    return packaged(new byte[] {PACKAGE_OP},
        concat(new byte[] {(byte) elements.length}, concat(elements)));
  }

  /** Buffer() { bytes }. */
  public static byte[] buffer(byte[] bytes) {
    return packaged(new byte[] {BUFFER_OP}, concat(integer(bytes.length), bytes));
  }

  /** Store(Arg0, target). */
  public static byte[] storeArg0(String target) {
    return concat(new byte[] {STORE_OP, ARG0_OP}, nameString(target));
  }

  /** If (predicate) { terms }. */
  public static byte[] ifThen(byte[] predicate, byte[]... terms) {
    return packaged(new byte[] {(byte) IF_OP}, concat(predicate, concat(terms)));
  }

  /** Return(object). */
  public static byte[] returns(byte[] object) {
    return concat(new byte[] {(byte) RETURN_OP}, object);
  }

  // ---------------------------------------------------------------- resource templates

  /** ResourceTemplate() { descriptors }: a Buffer ending with an End Tag (checksum 0). */
  public static byte[] resourceTemplate(byte[]... descriptors) {
    return buffer(concat(concat(descriptors), new byte[] {SMALL_END_TAG, 0}));
  }

  /** IO(Decode16, min, max, alignment, length): the small I/O port descriptor (6.4.2.5). */
  public static byte[] io(int min, int max, int alignment, int length) {
    return new byte[] {SMALL_IO, 1, (byte) min, (byte) (min >>> 8), (byte) max,
        (byte) (max >>> 8), (byte) alignment, (byte) length};
  }

  /**
   * A Word Address Space descriptor (6.4.3.5.3): WordBusNumber or WordIO, a fixed producer
   * window {@code [min, max]} with positive decode and no translation.
   *
   * @param typeFlags the type-specific flags (I/O: 3 = ISA and non-ISA ranges)
   */
  public static byte[] wordAddress(int type, int typeFlags, int min, int max) {
    int len = max - min + 1;
    return new byte[] {LARGE_WORD_ADDRESS, 13, 0, (byte) type, FIXED_PRODUCER, (byte) typeFlags,
        0, 0, (byte) min, (byte) (min >>> 8), (byte) max, (byte) (max >>> 8), 0, 0,
        (byte) len, (byte) (len >>> 8)};
  }

  /**
   * A DWord Address Space descriptor for memory (6.4.3.5.2): a fixed producer window
   * {@code [min, max]}, read-write, cacheable, positive decode, no translation.
   */
  public static byte[] dwordMemory(long min, long max) {
    long len = max - min + 1;
    byte[] b = new byte[26];
    b[0] = LARGE_DWORD_ADDRESS;
    b[1] = 23;
    b[3] = RESOURCE_MEMORY;
    b[4] = FIXED_PRODUCER;
    b[5] = 0x03; // read-write, cacheable
    putDword(b, 10, min);
    putDword(b, 14, max);
    putDword(b, 22, len);
    return b;
  }

  private static void putDword(byte[] b, int at, long v) {
    for (int i = 0; i < 4; i++) {
      b[at + i] = (byte) (v >>> (8 * i));
    }
  }
}
