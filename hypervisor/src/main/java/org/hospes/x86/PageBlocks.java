package org.hospes.x86;

/**
 * The decoded blocks that start in one RAM page, by offset. Two levels of 64: a page of kernel
 * code holds a few dozen blocks, so the chunks it needs take a few KiB where one array slot per
 * byte offset took 16 KiB per page (a minimal domain's 8 code pages were 124 KiB of its
 * 650 KiB of host memory beyond its guest frames).
 */
final class PageBlocks {
  private static final int CHUNK_BITS = 6;
  private static final int CHUNK_MASK = (1 << CHUNK_BITS) - 1;

  private final Block[][] chunks = new Block[4096 >>> CHUNK_BITS][];

  /** The block starting at page offset {@code off}, or null. */
  Block get(int off) {
    Block[] chunk = chunks[off >>> CHUNK_BITS];
    return chunk == null ? null : chunk[off & CHUNK_MASK];
  }

  /** Stores {@code b} as the block starting at page offset {@code off}. */
  void put(int off, Block b) {
    Block[] chunk = chunks[off >>> CHUNK_BITS];
    if (chunk == null) {
      chunk = new Block[1 << CHUNK_BITS];
      chunks[off >>> CHUNK_BITS] = chunk;
    }
    chunk[off & CHUNK_MASK] = b;
  }

  /** Removes the block at {@code off} if it is {@code b}. */
  void remove(int off, Block b) {
    Block[] chunk = chunks[off >>> CHUNK_BITS];
    if (chunk != null && chunk[off & CHUNK_MASK] == b) {
      chunk[off & CHUNK_MASK] = null;
    }
  }

  /** Marks every block held here invalid (the page was written). */
  void invalidateAll() {
    for (Block[] chunk : chunks) {
      if (chunk != null) {
        for (Block b : chunk) {
          if (b != null) {
            b.valid = false;
          }
        }
      }
    }
  }
}
