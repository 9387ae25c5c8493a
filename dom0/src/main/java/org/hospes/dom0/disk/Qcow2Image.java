package org.hospes.dom0.disk;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A qcow2 image (versions 2 and 3, as {@code qemu-img create -f qcow2} makes them): two-level
 * cluster mapping, refcounts of any width, zero clusters (v3), compressed clusters (read; a write
 * rewrites the cluster uncompressed), backing files, growth on write and discard.
 *
 * <p>Metadata is kept consistent in the order that makes a crash leak clusters rather than
 * corrupt the image: a new cluster's refcount is written before the data, the data before the
 * L2 entry that points at it; a freed cluster's L2 entry is cleared before its refcount drops.
 * All writes go straight to the file (tables are cached for reading only); {@link #flush()}
 * forces the file, data and metadata, to stable storage.
 *
 * <p>Not supported for writing: images with internal snapshots (their clusters are shared and
 * need copy-on-write of the tables) and images marked dirty or corrupt; such images open
 * read-only only.
 */
public final class Qcow2Image implements DiskImage {
  /** Bits 9..55 of an L1 or L2 entry: a host cluster offset. */
  private static final long OFFSET_MASK = 0x00ff_ffff_ffff_fe00L;
  private static final long COPIED = 1L << 63;
  private static final long COMPRESSED = 1L << 62;
  private static final long ZERO = 1L;
  private static final int TABLE_CACHE = 64;
  private static final int MAX_BACKING_DEPTH = 16;

  private final Path path;
  private final FileChannel ch;
  private final boolean readOnly;
  private final Qcow2Header h;
  private final int clusterBits;
  private final int clusterSize;
  private final int l2Entries;
  private final int refBits;
  private final long clustersPerBlock;
  private final long[] l1;
  private long[] refTable;
  private long refTableOffset;
  private final DiskImage backing;
  /** The first host cluster index past everything allocated. */
  private long hostEnd;
  /** No cluster below this index has refcount 0 (a search hint for reuse). */
  private long freeHint;
  private final Map<Long, long[]> l2Cache = lru();
  private final Map<Long, byte[]> refBlockCache = lru();

  private static <V> Map<Long, V> lru() {
    return new LinkedHashMap<>(TABLE_CACHE * 2, 0.75f, true) {
      private static final long serialVersionUID = 1L;

      @Override
      protected boolean removeEldestEntry(Map.Entry<Long, V> eldest) {
        return size() > TABLE_CACHE;
      }
    };
  }

  /** Its place among the process's open images; set by open once the header was read. */
  private ImageLock.Hold hold;

  private Qcow2Image(Path path, FileChannel ch, boolean readOnly, Qcow2Header h,
      DiskImage backing) throws IOException {
    this.path = path;
    this.ch = ch;
    this.readOnly = readOnly;
    this.h = h;
    this.backing = backing;
    this.clusterBits = h.clusterBits();
    this.clusterSize = 1 << clusterBits;
    this.l2Entries = clusterSize / 8;
    this.refBits = 1 << h.refcountOrder();
    this.clustersPerBlock = (long) clusterSize * 8 / refBits;
    this.l1 = readLongs(h.l1TableOffset(), h.l1Size());
    this.refTableOffset = h.refcountTableOffset();
    this.refTable = readLongs(refTableOffset, h.refcountTableClusters() * (clusterSize / 8));
    for (long e : refTable) {
      checkCluster(e & OFFSET_MASK, "refcount block");
    }
    long fileClusters = (ch.size() + clusterSize - 1) >> clusterBits;
    this.hostEnd = Math.max(fileClusters, lastReferencedCluster() + 1);
    this.freeHint = 0;
  }

  /**
   * Opens {@code path} as qcow2; {@code backings} opens the backing file (read-only) by path and
   * format name (null: probe). Refuses what it cannot serve exactly, naming the file and why.
   */
  static Qcow2Image open(Path path, boolean readOnly, BackingOpener backings)
      throws IOException {
    return open(path, readOnly, backings, 0);
  }

  /** Opens backing files for {@link Qcow2Image}. */
  interface BackingOpener {
    DiskImage open(Path path, String format, int depth) throws IOException;
  }

  static Qcow2Image open(Path path, boolean readOnly, BackingOpener backings, int depth)
      throws IOException {
    return open(path, readOnly, backings, depth, ImageChannels::open0);
  }

  /** As {@link #open(Path, boolean, BackingOpener, int)}, the channel made by {@code channels}. */
  static Qcow2Image open(Path path, boolean readOnly, BackingOpener backings, int depth,
      ImageChannels channels) throws IOException {
    if (depth > MAX_BACKING_DEPTH) {
      throw Qcow2Header.bad(path, "backing chain deeper than " + MAX_BACKING_DEPTH
          + " (a loop?)");
    }
    FileChannel ch = channels.open(path, readOnly);
    DiskImage backing = null;
    ImageLock.Hold hold = null;
    try {
      if (!readOnly) {
        hold = ImageLock.hold(path, ch, false); // the write lock first, as before any change
      }
      byte[] first = new byte[(int) Math.min(ch.size(), 1 << 21)];
      readFully(ch, ByteBuffer.wrap(first), 0);
      Qcow2Header h = Qcow2Header.parse(path, first);
      if ((long) first.length > (1L << h.clusterBits())) {
        first = Arrays.copyOf(first, 1 << h.clusterBits());
      }
      if (!readOnly) {
        if ((h.incompatibleFeatures() & Qcow2Header.INCOMPAT_CORRUPT) != 0) {
          throw Qcow2Header.bad(path, "is marked corrupt; repair it with 'qemu-img check -r"
              + " all' or open it read-only");
        }
        if ((h.incompatibleFeatures() & Qcow2Header.INCOMPAT_DIRTY) != 0) {
          throw Qcow2Header.bad(path, "is marked dirty (lazy refcounts not written back);"
              + " repair it with 'qemu-img check -r all' or open it read-only");
        }
        if (h.nbSnapshots() > 0) {
          throw Qcow2Header.bad(path, "has " + h.nbSnapshots() + " internal snapshot(s);"
              + " Hospes opens such images read-only only");
        }
      }
      String backingName = h.backingFile(first);
      if (backingName != null) {
        Path bp = Path.of(backingName);
        if (!bp.isAbsolute()) {
          Path dir = path.toAbsolutePath().getParent();
          bp = dir == null ? bp : dir.resolve(bp);
        }
        backing = backings.open(bp, h.backingFormat(), depth + 1);
      }
      if (readOnly) {
        // Counted once its backing chain opened: a loop back to a writable overlay is then
        // refused as a loop (the depth check), not as the overlay being open for writing.
        hold = ImageLock.hold(path, ch, true);
      }
      Qcow2Image img = new Qcow2Image(path, ch, readOnly, h, backing);
      img.hold = hold;
      if (!readOnly && h.autoclearFeatures() != 0) {
        // The spec: a writer that does not understand an autoclear bit must clear it.
        img.writeLongAt(Qcow2Header.OFF_AUTOCLEAR, 0);
      }
      return img;
    } catch (IOException | RuntimeException e) {
      ch.close();
      if (hold != null) {
        hold.release();
      }
      if (backing != null) {
        backing.close();
      }
      throw e;
    }
  }

  @Override
  public long sizeBytes() {
    return h.size();
  }

  @Override
  public boolean readOnly() {
    return readOnly;
  }

  @Override
  public String format() {
    return "qcow2";
  }

  /** The image's qcow2 version (2 or 3). */
  public int version() {
    return h.version();
  }

  /** The cluster size in bytes. */
  public int clusterSize() {
    return clusterSize;
  }

  @Override
  public void read(long offset, byte[] buf, int off, int len) throws IOException {
    checkRange(offset, len);
    while (len > 0) {
      int inCluster = (int) (offset & (clusterSize - 1));
      int n = Math.min(len, clusterSize - inCluster);
      long l2e = l2Entry(offset >>> clusterBits);
      readMapped(l2e, offset, inCluster, buf, off, n);
      offset += n;
      off += n;
      len -= n;
    }
  }

  private void readMapped(long l2e, long guestOffset, int inCluster, byte[] buf, int off, int n)
      throws IOException {
    if ((l2e & COMPRESSED) != 0) {
      byte[] c = decompress(l2e);
      System.arraycopy(c, inCluster, buf, off, n);
      return;
    }
    long host = l2e & OFFSET_MASK;
    if (h.version() >= 3 && (l2e & ZERO) != 0) {
      Arrays.fill(buf, off, off + n, (byte) 0);
    } else if (host == 0) {
      readBacking(guestOffset, buf, off, n);
    } else {
      checkCluster(host, "data cluster");
      readFully(ch, ByteBuffer.wrap(buf, off, n), host + inCluster);
    }
  }

  private void readBacking(long offset, byte[] buf, int off, int n) throws IOException {
    int have = 0;
    if (backing != null && offset < backing.sizeBytes()) {
      have = (int) Math.min(n, backing.sizeBytes() - offset);
      backing.read(offset, buf, off, have);
    }
    Arrays.fill(buf, off + have, off + n, (byte) 0);
  }

  @Override
  public void write(long offset, byte[] buf, int off, int len) throws IOException {
    if (readOnly) {
      throw new ReadOnlyDiskException(path.toString());
    }
    checkRange(offset, len);
    while (len > 0) {
      int inCluster = (int) (offset & (clusterSize - 1));
      int n = Math.min(len, clusterSize - inCluster);
      writeCluster(offset >>> clusterBits, inCluster, buf, off, n);
      offset += n;
      off += n;
      len -= n;
    }
  }

  private void writeCluster(long guestCluster, int inCluster, byte[] buf, int off, int n)
      throws IOException {
    long l2Offset = l2Table(guestCluster, true);
    long[] l2 = loadL2(l2Offset);
    int idx = (int) (guestCluster % l2Entries);
    long e = l2[idx];
    long host = e & OFFSET_MASK;
    boolean compressed = (e & COMPRESSED) != 0;
    boolean zero = h.version() >= 3 && (e & ZERO) != 0;
    if (!compressed && host != 0 && !zero) {
      ensureExclusive(host, "data cluster");
      if ((e & COPIED) == 0) {
        setL2(l2Offset, l2, idx, host | COPIED);
      }
      writeFully(ByteBuffer.wrap(buf, off, n), host + inCluster);
      return;
    }
    // Build the whole new cluster: what the guest saw there before, then the new bytes.
    byte[] data = new byte[clusterSize];
    if (n < clusterSize) {
      readMapped(e, guestCluster << clusterBits, 0, data, 0,
          (int) Math.min(clusterSize, h.size() - (guestCluster << clusterBits)));
    }
    System.arraycopy(buf, off, data, inCluster, n);
    long target;
    if (!compressed && host != 0) {
      // A preallocated zero cluster (v3): keep its host cluster.
      ensureExclusive(host, "data cluster");
      target = host;
    } else {
      target = allocateCluster();
    }
    writeFully(ByteBuffer.wrap(data), target);
    setL2(l2Offset, l2, idx, target | COPIED);
    if (compressed) {
      releaseCompressed(e);
    }
  }

  @Override
  public void flush() throws IOException {
    if (!readOnly) {
      ch.force(true);
    }
  }

  @Override
  public void discard(long offset, long length) throws IOException {
    if (readOnly) {
      throw new ReadOnlyDiskException(path.toString());
    }
    checkRange(offset, length);
    long first = (offset + clusterSize - 1) >>> clusterBits;
    long end = (offset + length) >>> clusterBits;
    if (offset + length == h.size()) {
      end = (h.size() + clusterSize - 1) >>> clusterBits;
    }
    for (long gc = first; gc < end; gc++) {
      long l2Offset = l2Table(gc, false);
      if (l2Offset == 0) {
        continue;
      }
      long[] l2 = loadL2(l2Offset);
      int idx = (int) (gc % l2Entries);
      long e = l2[idx];
      boolean compressed = (e & COMPRESSED) != 0;
      long host = compressed ? 0 : e & OFFSET_MASK;
      if (!compressed && host == 0) {
        continue;
      }
      long replacement;
      if (backing == null) {
        replacement = 0;
      } else if (h.version() >= 3) {
        replacement = ZERO;
      } else {
        // v2 cannot say "zeros" over a backing file; keeping the data is what blkif allows.
        continue;
      }
      if (l1Copied(gc)) {
        setL2(l2Offset, l2, idx, replacement);
        if (compressed) {
          releaseCompressed(e);
        } else {
          addRefcount(host >>> clusterBits, -1);
        }
      }
    }
  }

  @Override
  public void close() throws IOException {
    // Data and metadata reach stable storage when the disk goes (end of a run, Ctrl-C),
    // whether or not the guest flushed; the backing chain is closed after it.
    try {
      hold.closeFlushed(this, ch);
    } finally {
      if (backing != null) {
        backing.close();
      }
    }
  }

  // ---- mapping ----

  /** The L2 entry for a guest cluster (0 where there is no L2 table). */
  private long l2Entry(long guestCluster) throws IOException {
    long l2Offset = l2Table(guestCluster, false);
    if (l2Offset == 0) {
      return 0;
    }
    return loadL2(l2Offset)[(int) (guestCluster % l2Entries)];
  }

  private boolean l1Copied(long guestCluster) {
    return (l1[(int) (guestCluster / l2Entries)] & COPIED) != 0;
  }

  /** The host offset of the L2 table covering {@code guestCluster}; allocates one if asked. */
  private long l2Table(long guestCluster, boolean allocate) throws IOException {
    int l1i = (int) (guestCluster / l2Entries);
    long e = l1[l1i];
    long off = e & OFFSET_MASK;
    if (off != 0) {
      checkCluster(off, "L2 table");
      if (allocate && (e & COPIED) == 0) {
        ensureExclusive(off, "L2 table");
        l1[l1i] = off | COPIED;
        writeLongAt(h.l1TableOffset() + 8L * l1i, l1[l1i]);
      }
      return off;
    }
    if (!allocate) {
      return 0;
    }
    long table = allocateCluster();
    writeFully(ByteBuffer.wrap(new byte[clusterSize]), table);
    l2Cache.put(table, new long[l2Entries]);
    l1[l1i] = table | COPIED;
    writeLongAt(h.l1TableOffset() + 8L * l1i, l1[l1i]);
    return table;
  }

  private long[] loadL2(long l2Offset) throws IOException {
    long[] t = l2Cache.get(l2Offset);
    if (t == null) {
      t = readLongs(l2Offset, l2Entries);
      l2Cache.put(l2Offset, t);
    }
    return t;
  }

  private void setL2(long l2Offset, long[] l2, int idx, long value) throws IOException {
    l2[idx] = value;
    writeLongAt(l2Offset + 8L * idx, value);
  }

  /** A cluster referenced once, by this image's active tables: safe to write in place. */
  private void ensureExclusive(long host, String what) throws IOException {
    long rc = refcount(host >>> clusterBits);
    if (rc != 1) {
      throw Qcow2Header.bad(path, what + " at 0x" + Long.toHexString(host) + " has refcount "
          + rc + "; check the image with 'qemu-img check'");
    }
  }

  private byte[] decompress(long l2e) throws IOException {
    int x = 62 - (clusterBits - 8);
    long hostOffset = l2e & ((1L << x) - 1);
    long sectors = (l2e & ~COMPRESSED & ~COPIED) >>> x;
    long csize = (sectors + 1) * 512 - (hostOffset & 511);
    csize = Math.min(csize, Math.max(0, ch.size() - hostOffset));
    if (csize <= 0 || csize > 2L * clusterSize + 1024) {
      throw Qcow2Header.bad(path, "compressed cluster at 0x" + Long.toHexString(hostOffset)
          + " is out of bounds");
    }
    byte[] in = new byte[(int) csize];
    readFully(ch, ByteBuffer.wrap(in), hostOffset);
    byte[] out = new byte[clusterSize];
    Inflater inf = new Inflater(true);
    try {
      inf.setInput(in);
      int got = 0;
      while (got < clusterSize && !inf.finished()) {
        int k = inf.inflate(out, got, clusterSize - got);
        if (k == 0 && (inf.needsInput() || inf.needsDictionary())) {
          break;
        }
        got += k;
      }
      if (got != clusterSize) {
        throw Qcow2Header.bad(path, "compressed cluster at 0x" + Long.toHexString(hostOffset)
            + " inflates to " + got + " bytes, not " + clusterSize);
      }
    } catch (DataFormatException ex) {
      throw Qcow2Header.bad(path, "compressed cluster at 0x" + Long.toHexString(hostOffset)
          + " is corrupt: " + ex.getMessage());
    } finally {
      inf.end();
    }
    return out;
  }

  /** Drops the references a compressed cluster holds on each host cluster its bytes touch. */
  private void releaseCompressed(long l2e) throws IOException {
    int x = 62 - (clusterBits - 8);
    long hostOffset = l2e & ((1L << x) - 1);
    long sectors = (l2e & ~COMPRESSED & ~COPIED) >>> x;
    long last = ((hostOffset & ~511L) + (sectors + 1) * 512 - 1) >>> clusterBits;
    for (long c = hostOffset >>> clusterBits; c <= last; c++) {
      addRefcount(c, -1);
    }
  }

  // ---- refcounts and allocation ----

  private long refcount(long cluster) throws IOException {
    long block = cluster / clustersPerBlock;
    if (block >= refTable.length || (refTable[(int) block] & OFFSET_MASK) == 0) {
      return 0;
    }
    byte[] b = loadRefBlock(refTable[(int) block] & OFFSET_MASK);
    return getRef(b, (int) (cluster % clustersPerBlock));
  }

  private void addRefcount(long cluster, int delta) throws IOException {
    long rc = refcount(cluster) + delta;
    long max = refBits == 64 ? Long.MAX_VALUE : (1L << refBits) - 1;
    if (rc < 0 || rc > max) {
      throw Qcow2Header.bad(path, "refcount of cluster " + cluster + " would become " + rc);
    }
    setRefcount(cluster, rc);
    if (rc == 0 && cluster < freeHint) {
      freeHint = cluster;
    }
  }

  private void setRefcount(long cluster, long value) throws IOException {
    long block = cluster / clustersPerBlock;
    if (block >= refTable.length) {
      growRefTable(block + 1);
    }
    long blockOffset = refTable[(int) block] & OFFSET_MASK;
    if (blockOffset == 0) {
      blockOffset = newRefBlock((int) block);
    }
    byte[] b = loadRefBlock(blockOffset);
    int idx = (int) (cluster % clustersPerBlock);
    putRef(b, idx, value);
    int byteIdx = (int) ((long) idx * refBits / 8);
    int bytes = Math.max(1, refBits / 8);
    writeFully(ByteBuffer.wrap(b, byteIdx, bytes), blockOffset + byteIdx);
  }

  /** Allocates a refcount block for {@code block}, placed at the end of the file. */
  private long newRefBlock(int block) throws IOException {
    long c = hostEnd++;
    long off = c << clusterBits;
    writeFully(ByteBuffer.wrap(new byte[clusterSize]), off);
    refBlockCache.put(off, new byte[clusterSize]);
    refTable[block] = off;
    writeLongAt(refTableOffset + 8L * block, off);
    setRefcount(c, 1);
    return off;
  }

  /**
   * Moves the refcount table to a larger place at the end of the file: the new table is written
   * and its clusters counted (new refcount blocks write their entries into it) before the header
   * points at it, then the old one is freed.
   */
  private void growRefTable(long minEntries) throws IOException {
    long entries = Math.max(minEntries + 8, refTable.length * 2L);
    int clusters = (int) ((entries * 8 + clusterSize - 1) >> clusterBits);
    if ((long) clusters << clusterBits > (64L << 20)) {
      throw Qcow2Header.bad(path, "refcount table would exceed 64 MiB");
    }
    long[] old = refTable;
    long oldOffset = refTableOffset;
    int oldClusters = (int) (((long) old.length * 8) >> clusterBits);
    long first = hostEnd;
    hostEnd += clusters;
    refTable = Arrays.copyOf(old, (clusters << clusterBits) / 8);
    refTableOffset = first << clusterBits;
    writeLongs(refTableOffset, refTable);
    for (int i = 0; i < clusters; i++) {
      setRefcount(first + i, 1);
    }
    ByteBuffer hb = ByteBuffer.allocate(12).order(ByteOrder.BIG_ENDIAN);
    hb.putLong(refTableOffset).putInt(clusters).flip();
    writeFully(hb, Qcow2Header.OFF_REFCOUNT_TABLE_OFFSET);
    for (int i = 0; i < oldClusters; i++) {
      addRefcount((oldOffset >>> clusterBits) + i, -1);
    }
  }

  /** A free cluster (refcount 0) below the end of the file, or a new one at the end; count 1. */
  private long allocateCluster() throws IOException {
    long c = freeHint;
    while (c < hostEnd && refcount(c) != 0) {
      c++;
    }
    freeHint = c + 1;
    if (c >= hostEnd) {
      c = hostEnd++;
    }
    setRefcount(c, 1);
    return c << clusterBits;
  }

  private long lastReferencedCluster() throws IOException {
    for (int block = refTable.length - 1; block >= 0; block--) {
      long off = refTable[block] & OFFSET_MASK;
      if (off == 0) {
        continue;
      }
      byte[] b = loadRefBlock(off);
      for (int i = (int) clustersPerBlock - 1; i >= 0; i--) {
        if (getRef(b, i) != 0) {
          return block * clustersPerBlock + i;
        }
      }
    }
    return -1;
  }

  private byte[] loadRefBlock(long off) throws IOException {
    byte[] b = refBlockCache.get(off);
    if (b == null) {
      checkCluster(off, "refcount block");
      b = new byte[clusterSize];
      readFully(ch, ByteBuffer.wrap(b), off);
      refBlockCache.put(off, b);
    }
    return b;
  }

  /** Refcounts are big-endian for 8 bits and wider; narrower ones pack from each byte's LSB. */
  private long getRef(byte[] b, int idx) {
    if (refBits < 8) {
      int perByte = 8 / refBits;
      int shift = (idx % perByte) * refBits;
      return (b[idx / perByte] >>> shift) & ((1 << refBits) - 1);
    }
    int bytes = refBits / 8;
    long v = 0;
    for (int i = 0; i < bytes; i++) {
      v = (v << 8) | (b[idx * bytes + i] & 0xFF);
    }
    return v;
  }

  private void putRef(byte[] b, int idx, long value) {
    if (refBits < 8) {
      int perByte = 8 / refBits;
      int shift = (idx % perByte) * refBits;
      int mask = ((1 << refBits) - 1) << shift;
      int p = idx / perByte;
      b[p] = (byte) ((b[p] & ~mask) | (((int) value << shift) & mask));
      return;
    }
    int bytes = refBits / 8;
    for (int i = bytes - 1; i >= 0; i--) {
      b[idx * bytes + i] = (byte) value;
      value >>>= 8;
    }
  }

  // ---- file access ----

  private void checkRange(long offset, long len) throws IOException {
    if (offset < 0 || len < 0 || offset + len > h.size()) {
      throw new IOException(String.format("%s: access at %d (+%d) outside the %d-byte disk",
          path, offset, len, h.size()));
    }
  }

  /** A metadata or data cluster offset must be aligned and lie after the header. */
  private void checkCluster(long off, String what) throws IOException {
    if (off == 0) {
      return;
    }
    if ((off & (clusterSize - 1)) != 0 || off < clusterSize || off > (1L << 56)) {
      throw Qcow2Header.bad(path, what + " offset 0x" + Long.toHexString(off)
          + " is invalid (image corrupt)");
    }
  }

  private long[] readLongs(long off, int count) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(count * 8).order(ByteOrder.BIG_ENDIAN);
    readFully(ch, b, off);
    b.flip();
    long[] out = new long[count];
    b.asLongBuffer().get(out);
    return out;
  }

  private void writeLongs(long off, long[] values) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.BIG_ENDIAN);
    b.asLongBuffer().put(values);
    writeFully(b, off);
  }

  private void writeLongAt(long off, long value) throws IOException {
    writeFully(ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN).putLong(0, value), off);
  }

  private void writeFully(ByteBuffer b, long pos) throws IOException {
    while (b.hasRemaining()) {
      pos += ch.write(b, pos);
    }
  }

  /** Reads until {@code b} is full; bytes past the end of the file read as zeros. */
  private static void readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
    while (b.hasRemaining()) {
      int n = ch.read(b, pos);
      if (n < 0) {
        while (b.hasRemaining()) {
          b.put((byte) 0);
        }
        return;
      }
      pos += n;
    }
  }
}
