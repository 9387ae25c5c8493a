package org.hospes.x86;

import static org.hospes.x86.Cpu.CODE_DIR_BITS;
import static org.hospes.x86.Cpu.CODE_DIR_MASK;
import static org.hospes.x86.Cpu.CS;

import java.util.Arrays;

/**
 * The decoded-code cache: {@link Block}s by physical address, per RAM page in Cpu's sparse
 * directories ({@link Cpu#blockDir}, and {@link Cpu#spillDir} for blocks that run into a page),
 * the direct links from a block to the successors it ran into, and invalidation when a page
 * holding code is written (the bus notifies {@link #codeWritten}).
 */
final class CodeCache {
  private CodeCache() {}

  /**
   * The block at CS:EIP, following a link of {@code prev} (the block that ran last, or null)
   * when it has one to this EIP. Small, so that it inlines into the run loop; the rest is in
   * {@link #linkedLookup}.
   */
  static Block nextBlock(Cpu c, Block prev) {
    if (prev != null && prev.linkEpoch == c.epoch) {
      int e = c.eip;
      Block link = prev.next0;
      if (link != null && prev.next0Eip == e && link.valid) {
        return link;
      }
      link = prev.next1;
      if (link != null && prev.next1Eip == e && link.valid) {
        return link;
      }
    }
    return linkedLookup(c, prev);
  }

  /** The block at CS:EIP from the cache (or decoded), linked from {@code prev}. */
  private static Block linkedLookup(Cpu c, Block prev) {
    int e = c.eip;
    Block b = lookup(c, e);
    if (prev != null && b.physAddr >= 0) {
      if (prev.linkEpoch != c.epoch) {
        prev.linkEpoch = c.epoch;
        prev.next0 = null;
        prev.next1 = null;
      }
      if (prev.next0 == null || !prev.next0.valid) {
        prev.next0 = b;
        prev.next0Eip = e;
      } else {
        prev.next1 = b;
        prev.next1Eip = e;
      }
    }
    return b;
  }

  /** Bytes from {@code e} to the end of the code segment (the decoder stops there). */
  static int codeBytesLeft(Cpu c, int e) {
    int limit = c.segLimit[CS];
    if (Integer.compareUnsigned(e, limit) > 0) {
      c.raise(Exceptions.GP, 0);
    }
    long left = (limit & 0xFFFF_FFFFL) - (e & 0xFFFF_FFFFL) + 1;
    return left > 0x10000 ? 0x10000 : (int) left;
  }

  private static Block lookup(Cpu c, int e) {
    int maxLen = codeBytesLeft(c, e);
    int lin = c.segBase[CS] + e;
    long phys = Mmu.translateCode(c, lin);
    if (phys >= c.ramSize || maxLen < 0x2000) {
      // Code outside RAM, or close to the CS limit: decode every time, never cache.
      return c.decoder.decode(lin, -1, c.mode, maxLen);
    }
    int page = (int) (phys >>> 12);
    int off = (int) phys & 0xFFF;
    Block[] at = blocksOf(c, page);
    if (at != null) {
      Block b = at[off];
      if (b != null && b.mode == c.mode) {
        return b;
      }
    }
    Block b = c.decoder.decode(lin, phys, c.mode, maxLen);
    at = blocksOf(c, page);
    if (at == null) {
      boolean owned = ownsCode(c, page);
      at = new Block[4096];
      setBlocks(c, page, at);
      markCodePage(c, page, owned);
    }
    at[off] = b;
    if (b.secondPage >= 0 && b.secondPage < (c.ramSize >>> 12)) {
      int p2 = (int) b.secondPage;
      boolean owned = ownsCode(c, p2);
      Block[] spill = spillOf(c, p2);
      spill = spill == null ? new Block[1] : Arrays.copyOf(spill, spill.length + 1);
      spill[spill.length - 1] = b;
      setSpill(c, p2, spill);
      markCodePage(c, p2, owned);
    }
    return b;
  }

  /**
   * This processor starts caching code from {@code page} (unless it {@code owned} some
   * already); writes to it must be noticed.
   */
  private static void markCodePage(Cpu c, int page, boolean owned) {
    if (!owned) {
      c.mem.codePageAdded(page, c.busId);
      // Writes to a code page must take the slow path so stale code is noticed.
      Arrays.fill(c.wTag, -1);
    }
  }

  /** Drops every decoded block that covers physical page {@code page}. */
  private static void invalidateCodePage(Cpu c, int page) {
    boolean owned = false;
    Block[] at = blocksOf(c, page);
    if (at != null) {
      owned = true;
      for (Block b : at) {
        if (b != null) {
          b.valid = false;
        }
      }
      setBlocks(c, page, null);
    }
    Block[] spill = spillOf(c, page);
    if (spill != null) {
      owned = true;
      for (Block b : spill) {
        if (b != null) {
          b.valid = false;
          Block[] home = blocksOf(c, (int) (b.physAddr >>> 12));
          int off = (int) b.physAddr & 0xFFF;
          if (home != null && home[off] == b) {
            home[off] = null;
          }
        }
      }
      setSpill(c, page, null);
    }
    if (owned) {
      c.mem.codePageDropped(page);
    }
  }

  static void codeWritten(Cpu c, long pa, int len) {
    long last = pa + len - 1;
    for (long p = pa >>> 12; p <= last >>> 12 && p < (c.ramSize >>> 12); p++) {
      invalidateCodePage(c, (int) p);
    }
  }

  private static Block[] blocksOf(Cpu c, int page) {
    Block[][] slice = c.blockDir[page >>> CODE_DIR_BITS];
    return slice == null ? null : slice[page & CODE_DIR_MASK];
  }

  private static void setBlocks(Cpu c, int page, Block[] blocks) {
    Block[][] slice = c.blockDir[page >>> CODE_DIR_BITS];
    if (slice == null) {
      slice = new Block[1 << CODE_DIR_BITS][];
      c.blockDir[page >>> CODE_DIR_BITS] = slice;
    }
    slice[page & CODE_DIR_MASK] = blocks;
  }

  private static Block[] spillOf(Cpu c, int page) {
    Block[][] slice = c.spillDir[page >>> CODE_DIR_BITS];
    return slice == null ? null : slice[page & CODE_DIR_MASK];
  }

  private static void setSpill(Cpu c, int page, Block[] blocks) {
    Block[][] slice = c.spillDir[page >>> CODE_DIR_BITS];
    if (slice == null) {
      slice = new Block[1 << CODE_DIR_BITS][];
      c.spillDir[page >>> CODE_DIR_BITS] = slice;
    }
    slice[page & CODE_DIR_MASK] = blocks;
  }

  /** This processor holds decoded code from {@code page} (counted in the bus). */
  private static boolean ownsCode(Cpu c, int page) {
    return blocksOf(c, page) != null || spillOf(c, page) != null;
  }
}
