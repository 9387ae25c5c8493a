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
   * when it has a live one to this EIP. Small, so that it inlines into the run loop; the rest
   * is in {@link #linkedLookup}.
   */
  static Block nextBlock(Cpu c, Block prev) {
    if (prev != null) {
      Block link = prev.linked(c.eip, c.epoch);
      if (link != null) {
        return link;
      }
    }
    return linkedLookup(c, prev);
  }

  /**
   * The block at CS:EIP from the cache (or decoded), then linked from {@code prev}. The links
   * change as they always have (so that which transitions look up, and so probe the code TLB,
   * stays the same: its misses are charged to virtual time); only the finding is cheaper when a
   * hint that an epoch bump left behind is still what the lookup would return.
   */
  private static Block linkedLookup(Cpu c, Block prev) {
    c.blockLookups++;
    int e = c.eip;
    if (prev == null) {
      return lookup(c, e);
    }
    int epoch = c.epoch;
    boolean stale = prev.linkEpoch != epoch;
    Block old0 = prev.next0;
    Block b;
    // A live link that matched would have been followed: a hint here is a dead link (or an
    // invalid one, which revivable refuses).
    if (old0 != null && prev.next0Eip == e && revivable(c, old0, e)) {
      b = old0;
    } else if (prev.next1 != null && prev.next1Eip == e && revivable(c, prev.next1, e)) {
      b = prev.next1;
    } else {
      b = lookup(c, e);
      if (b.physAddr < 0) {
        return b;
      }
    }
    if (stale) {
      // A new epoch: b is the only live link, as after a lookup. The link it replaces stays as
      // a hint in the other slot (dead there: its epoch is older).
      prev.linkEpoch = epoch;
      if (old0 != b) {
        prev.next0 = b;
        if (old0 != null) {
          prev.next1 = old0;
          prev.next1Eip = prev.next0Eip;
        }
      }
      prev.next0Eip = e;
    } else if (old0 == null || !old0.valid) {
      prev.next0 = b;
      prev.next0Eip = e;
    } else {
      if (prev.next1 != b) {
        prev.next1 = b;
      }
      prev.next1Eip = e;
      prev.link1Epoch = epoch;
    }
    return b;
  }

  /**
   * True when {@link #lookup} of EIP {@code e} would return block {@code b} now and change
   * nothing on the way: {@code b} is still cached (valid: a block leaves the cache only by
   * being invalidated), made for the current decode mode, the CS limit lets the lookup cache
   * it, and the code TLB holds the page with the frame of {@code b} (a hit: a lookup's probe
   * would count no miss and walk no table).
   */
  private static boolean revivable(Cpu c, Block b, int e) {
    if (!b.valid || b.mode != c.mode) {
      return false;
    }
    int limit = c.segLimit[CS];
    if (Integer.compareUnsigned(e, limit) > 0
        || (limit & 0xFFFF_FFFFL) - (e & 0xFFFF_FFFFL) + 1 < 0x2000) {
      return false;
    }
    int lin = c.segBase[CS] + e;
    int page = lin >>> 12;
    int idx = (page & Cpu.TLB_MASK) | c.tlbUser;
    return c.cTag[idx] == page
        && ((c.cFrame[idx] & 0xFFFF_FFFFL) << 12 | (lin & 0xFFF)) == b.physAddr;
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
    PageBlocks at = blocksOf(c, page);
    if (at != null) {
      Block b = at.get(off);
      if (b != null) {
        if (b.mode == c.mode) {
          return b;
        }
        // Replaced by the block decoded for this mode: out of the cache, so no longer valid
        // (a valid block is one the cache holds, which {@link #revivable} relies on).
        b.valid = false;
      }
    }
    Block b = c.decoder.decode(lin, phys, c.mode, maxLen);
    at = blocksOf(c, page);
    if (at == null) {
      boolean owned = ownsCode(c, page);
      at = new PageBlocks();
      setBlocks(c, page, at);
      markCodePage(c, page, owned);
    }
    at.put(off, b);
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
    PageBlocks at = blocksOf(c, page);
    if (at != null) {
      owned = true;
      at.invalidateAll();
      setBlocks(c, page, null);
    }
    Block[] spill = spillOf(c, page);
    if (spill != null) {
      owned = true;
      for (Block b : spill) {
        if (b != null) {
          b.valid = false;
          PageBlocks home = blocksOf(c, (int) (b.physAddr >>> 12));
          if (home != null) {
            home.remove((int) b.physAddr & 0xFFF, b);
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

  private static PageBlocks blocksOf(Cpu c, int page) {
    PageBlocks[] slice = c.blockDir[page >>> CODE_DIR_BITS];
    return slice == null ? null : slice[page & CODE_DIR_MASK];
  }

  private static void setBlocks(Cpu c, int page, PageBlocks blocks) {
    PageBlocks[] slice = c.blockDir[page >>> CODE_DIR_BITS];
    if (slice == null) {
      slice = new PageBlocks[1 << CODE_DIR_BITS];
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
