package org.hospes.dom0.disk;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A qcow2 header (versions 2 and 3) with the header extensions Hospes reads, checked on parse.
 * Field offsets and feature bits are those of QEMU's qcow2 specification
 * (docs/interop/qcow2.txt); all fields are big-endian.
 */
record Qcow2Header(
    int version,
    long backingFileOffset,
    int backingFileSize,
    int clusterBits,
    long size,
    int cryptMethod,
    int l1Size,
    long l1TableOffset,
    long refcountTableOffset,
    int refcountTableClusters,
    int nbSnapshots,
    long incompatibleFeatures,
    long compatibleFeatures,
    long autoclearFeatures,
    int refcountOrder,
    int headerLength,
    String backingFormat) {

  static final int MAGIC = 0x5146_49fb;
  static final int OFF_BACKING_OFFSET = 8;
  static final int OFF_REFCOUNT_TABLE_OFFSET = 48;
  static final int OFF_REFCOUNT_TABLE_CLUSTERS = 56;
  static final int OFF_AUTOCLEAR = 88;
  static final int V2_LENGTH = 72;
  static final int V3_MIN_LENGTH = 104;

  static final long INCOMPAT_DIRTY = 1L;
  static final long INCOMPAT_CORRUPT = 1L << 1;
  private static final String[] INCOMPAT_NAMES = {
    "dirty", "corrupt", "external data file", "compression type", "extended L2 entries"};

  static final int EXT_END = 0;
  static final int EXT_BACKING_FORMAT = 0xE279_2ACA;
  static final int EXT_DATA_FILE = 0x4441_5441;

  /** Whether the first bytes of a file are a qcow2 header's. */
  static boolean probe(byte[] header) {
    return header.length >= 4
        && ByteBuffer.wrap(header).order(ByteOrder.BIG_ENDIAN).getInt(0) == MAGIC;
  }

  /**
   * Parses and validates the header in {@code first} (the image's first cluster, or as much of
   * it as the file has). Every refusal names the file and what is wrong with it.
   */
  static Qcow2Header parse(Path path, byte[] first) throws IOException {
    if (first.length < V2_LENGTH) {
      throw bad(path, "file too short for a qcow2 header (" + first.length + " bytes)");
    }
    ByteBuffer b = ByteBuffer.wrap(first).order(ByteOrder.BIG_ENDIAN);
    if (b.getInt(0) != MAGIC) {
      throw bad(path, "not a qcow2 image (no QFI\\xfb magic)");
    }
    int version = b.getInt(4);
    if (version != 2 && version != 3) {
      throw bad(path, "qcow2 version " + version + " is not supported (only 2 and 3)");
    }
    int clusterBits = b.getInt(20);
    if (clusterBits < 9 || clusterBits > 21) {
      throw bad(path, "cluster_bits " + clusterBits + " outside 9..21");
    }
    int clusterSize = 1 << clusterBits;
    long size = b.getLong(24);
    if (size < 0) {
      throw bad(path, "negative virtual size");
    }
    int crypt = b.getInt(32);
    if (crypt != 0) {
      throw bad(path, "encrypted qcow2 images are not supported (crypt_method " + crypt + ")");
    }
    long incompat = 0;
    long compat = 0;
    long autoclear = 0;
    int refcountOrder = 4;
    int headerLength = V2_LENGTH;
    if (version == 3) {
      if (first.length < V3_MIN_LENGTH) {
        throw bad(path, "file too short for a version 3 header");
      }
      incompat = b.getLong(72);
      compat = b.getLong(80);
      autoclear = b.getLong(88);
      refcountOrder = b.getInt(96);
      headerLength = b.getInt(100);
      if (refcountOrder < 0 || refcountOrder > 6) {
        throw bad(path, "refcount_order " + refcountOrder + " outside 0..6");
      }
      if (headerLength < V3_MIN_LENGTH || headerLength > clusterSize
          || headerLength > first.length) {
        throw bad(path, "header_length " + headerLength + " is invalid");
      }
      long unknown = incompat & ~(INCOMPAT_DIRTY | INCOMPAT_CORRUPT);
      if (unknown != 0) {
        int bit = Long.numberOfTrailingZeros(unknown);
        String name = bit < INCOMPAT_NAMES.length ? INCOMPAT_NAMES[bit] : "bit " + bit;
        throw bad(path, "uses the incompatible feature '" + name
            + "', which Hospes does not support");
      }
    }
    long backingOffset = b.getLong(OFF_BACKING_OFFSET);
    int backingSize = b.getInt(16);
    if (backingOffset != 0 && (backingSize <= 0 || backingSize > 1023
        || backingOffset + backingSize > first.length || backingOffset < headerLength)) {
      throw bad(path, "backing file name at " + backingOffset + " (+" + backingSize
          + ") is not inside the first cluster");
    }
    int l1Size = b.getInt(36);
    long l1Offset = b.getLong(40);
    long refTableOffset = b.getLong(48);
    int refTableClusters = b.getInt(56);
    int nbSnapshots = b.getInt(60);
    long l2Span = (long) clusterSize * (clusterSize / 8);
    long l1Needed = (size + l2Span - 1) / l2Span;
    if (l1Size < 0 || l1Size < l1Needed || l1Size > (32 << 20) / 8) {
      throw bad(path, "L1 table of " + l1Size + " entries cannot map " + size + " bytes");
    }
    if ((l1Offset & (clusterSize - 1)) != 0 || (l1Size > 0 && l1Offset <= 0)) {
      throw bad(path, "L1 table offset 0x" + Long.toHexString(l1Offset) + " is invalid");
    }
    if ((refTableOffset & (clusterSize - 1)) != 0 || refTableOffset <= 0
        || refTableClusters <= 0 || refTableClusters > (64 << 20) >> clusterBits) {
      throw bad(path, "refcount table at 0x" + Long.toHexString(refTableOffset) + " ("
          + refTableClusters + " clusters) is invalid");
    }
    String backingFormat = null;
    int pos = headerLength;
    while (pos + 8 <= first.length) {
      int type = b.getInt(pos);
      int len = b.getInt(pos + 4);
      if (type == EXT_END) {
        break;
      }
      if (len < 0 || pos + 8L + len > first.length) {
        throw bad(path, "header extension 0x" + Integer.toHexString(type) + " overruns the"
            + " first cluster");
      }
      if (type == EXT_BACKING_FORMAT) {
        backingFormat = new String(first, pos + 8, len, StandardCharsets.UTF_8);
      } else if (type == EXT_DATA_FILE) {
        throw bad(path, "uses an external data file, which Hospes does not support");
      }
      pos += 8 + ((len + 7) & ~7);
    }
    return new Qcow2Header(version, backingOffset, backingSize, clusterBits, size, crypt,
        l1Size, l1Offset, refTableOffset, refTableClusters, nbSnapshots, incompat, compat,
        autoclear, refcountOrder, headerLength, backingFormat);
  }

  /** The backing file's name as stored, or null. */
  String backingFile(byte[] first) {
    if (backingFileOffset == 0) {
      return null;
    }
    return new String(first, (int) backingFileOffset, backingFileSize, StandardCharsets.UTF_8);
  }

  static IOException bad(Path path, String why) {
    return new IOException(path + ": " + why);
  }
}
