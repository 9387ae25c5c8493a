package org.hospes.x86.jit;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import org.hospes.x86.JitAbi;

/**
 * The software TLB's fast path for translated code: a load (8, 16 or 32 bits) or store (8 or
 * 32 bits) of guest RAM when the TLB entry holds the page (the tests of Cpu.read8 ... write32),
 * out of line.
 *
 * <p>Why a call and not inline bytecode: a translation first runs as C1's profiled code (tier
 * 3), where the VarHandle access was never fully inlined (a chain of guards, checks and calls
 * per access, about a sixth of the time spent in translations on the Debian boot), and the
 * inline probe made each access some 50 bytes of bytecode that C1 and C2 both compiled in
 * every translation. These methods are too large for C1 to inline (its limit is 35 bytes), so
 * C1's code calls them, and they are hot in every translation at once, so C2 compiles each
 * once with the VarHandle folded to a plain load; C2 inlines them into a translation it
 * compiles (a hot call site), where the arrays are the class's constants again. In a class
 * shared between processors ({@link SharedTranslations}) they are the processor's fields
 * instead, of lengths C2 does not know: each index is masked with its array's length less one
 * (both halves of the TLB, a power of two), which C2 proves in range without a check, and
 * which folds to a constant where the array is one.
 */
public final class JitMem {
  private static final VarHandle I32 =
      MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle I16 =
      MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
  /** {@link #load32}'s answer for a TLB miss: no 32-bit value zero-extended is negative. */
  public static final long MISS = -1L;

  private JitMem() {}

  /**
   * The 32-bit value at linear address {@code lin}, zero-extended, when the read TLB ({@code
   * tag}, {@code page}, the half {@code user}) maps its page and the four bytes stay in that
   * page; else {@link #MISS} and nothing is read.
   */
  public static long load32(int[] tag, byte[][] page, int user, int lin) {
    int idx = (lin >>> 12 & JitAbi.TLB_MASK) | user;
    // The page of the last byte is the tag only when it is the page of the first (the entry
    // at idx never holds the next page, whose index differs).
    if (tag[idx & (tag.length - 1)] != (lin + 3) >>> 12) {
      return MISS;
    }
    return (int) I32.get(page[idx & (page.length - 1)], lin & 0xFFF) & 0xFFFF_FFFFL;
  }

  /**
   * The byte at linear address {@code lin}, zero-extended, when the read TLB maps its page
   * (the test of Cpu.read8); else -1 and nothing is read.
   */
  public static int load8(int[] tag, byte[][] page, int user, int lin) {
    int idx = (lin >>> 12 & JitAbi.TLB_MASK) | user;
    if (tag[idx & (tag.length - 1)] != lin >>> 12) {
      return -1;
    }
    return page[idx & (page.length - 1)][lin & 0xFFF] & 0xFF;
  }

  /**
   * The 16-bit value at linear address {@code lin}, zero-extended, when the read TLB maps its
   * page and both bytes stay in it (the test of Cpu.read16); else -1 and nothing is read.
   */
  public static int load16(int[] tag, byte[][] page, int user, int lin) {
    int idx = (lin >>> 12 & JitAbi.TLB_MASK) | user;
    if (tag[idx & (tag.length - 1)] != (lin + 1) >>> 12) {
      return -1;
    }
    return (short) I16.get(page[idx & (page.length - 1)], lin & 0xFFF) & 0xFFFF;
  }

  /**
   * Stores the low byte of {@code v} at linear address {@code lin} and returns true when the
   * write TLB maps its page (the test of Cpu.write8); else false and nothing is written.
   */
  public static boolean store8(int[] tag, byte[][] page, int user, int lin, int v) {
    int idx = (lin >>> 12 & JitAbi.TLB_MASK) | user;
    if (tag[idx & (tag.length - 1)] != lin >>> 12) {
      return false;
    }
    page[idx & (page.length - 1)][lin & 0xFFF] = (byte) v;
    return true;
  }

  /**
   * Stores {@code v} at linear address {@code lin} and returns true when the write TLB maps its
   * page and the four bytes stay in it; else false and nothing is written.
   */
  public static boolean store32(int[] tag, byte[][] page, int user, int lin, int v) {
    int idx = (lin >>> 12 & JitAbi.TLB_MASK) | user;
    if (tag[idx & (tag.length - 1)] != (lin + 3) >>> 12) {
      return false;
    }
    I32.set(page[idx & (page.length - 1)], lin & 0xFFF, v);
    return true;
  }
}
