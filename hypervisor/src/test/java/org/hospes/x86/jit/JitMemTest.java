package org.hospes.x86.jit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import org.hospes.x86.JitAbi;
import org.junit.jupiter.api.Test;

/** The TLB fast path that translated loads and stores call: hits, and every kind of miss. */
class JitMemTest {
  private static final int HALF = JitAbi.TLB_MASK + 1;
  /** Linear page 0x12345 (supervisor half) and the same page in the user half. */
  private static final int PAGE = 0x12345;
  private static final int IDX = PAGE & JitAbi.TLB_MASK;

  private final int[] tag = new int[2 * HALF];
  private final byte[][] page = new byte[2 * HALF][];
  private final byte[] frame = new byte[4096];
  private final byte[] userFrame = new byte[4096];

  JitMemTest() {
    Arrays.fill(tag, -1);
    tag[IDX] = PAGE;
    page[IDX] = frame;
    tag[HALF + IDX] = PAGE;
    page[HALF + IDX] = userFrame;
    for (int i = 0; i < 4096; i++) {
      frame[i] = (byte) i;
      userFrame[i] = (byte) ~i;
    }
  }

  private static int lin(int offset) {
    return PAGE << 12 | offset;
  }

  @Test
  void loadsLittleEndianWordsUpToThePagesLastOne() {
    assertThat(JitMem.load32(tag, page, 0, lin(0x10))).isEqualTo(0x13121110L);
    // The last four bytes of the page: a hit, zero-extended (bit 31 set).
    assertThat(JitMem.load32(tag, page, 0, lin(0xFFC))).isEqualTo(0xFFFEFDFCL);
    assertThat(JitMem.load32(tag, page, HALF, lin(0x10))).isEqualTo(~0x13121110 & 0xFFFF_FFFFL);
  }

  @Test
  void aWordThatCrossesIntoTheNextPageOrAnotherPageMisses() {
    for (int off = 0xFFD; off <= 0xFFF; off++) {
      assertThat(JitMem.load32(tag, page, 0, lin(off))).as("offset %x", off).isEqualTo(JitMem.MISS);
      assertThat(JitMem.store32(tag, page, 0, lin(off), 7)).as("offset %x", off).isFalse();
    }
    // Same TLB index, other page; and a page whose entry is empty.
    assertThat(JitMem.load32(tag, page, 0, (PAGE + HALF) << 12)).isEqualTo(JitMem.MISS);
    assertThat(JitMem.load32(tag, page, 0, (PAGE + 1) << 12)).isEqualTo(JitMem.MISS);
    assertThat(JitMem.store32(tag, page, 0, (PAGE + HALF) << 12, 7)).isFalse();
    assertThat(frame[0xFFD]).isEqualTo((byte) 0xFD);
  }

  @Test
  void storesLittleEndianIntoTheHalfOfTheRightPrivilege() {
    assertThat(JitMem.store32(tag, page, HALF, lin(0xFFC), 0x8899AABB)).isTrue();
    assertThat(userFrame[0xFFC]).isEqualTo((byte) 0xBB);
    assertThat(userFrame[0xFFF]).isEqualTo((byte) 0x88);
    assertThat(frame[0xFFC]).isEqualTo((byte) 0xFC);
    assertThat(JitMem.load32(tag, page, HALF, lin(0xFFC))).isEqualTo(0x8899AABBL);
  }

  @Test
  void bytesAndHalfWordsLoadZeroExtendedAndTheLastByteOfThePageIsAByteHit() {
    assertThat(JitMem.load8(tag, page, 0, lin(0xFFF))).isEqualTo(0xFF);
    assertThat(JitMem.load8(tag, page, HALF, lin(0x01))).isEqualTo(0xFE);
    assertThat(JitMem.load16(tag, page, 0, lin(0xFFE))).isEqualTo(0xFFFE);
    assertThat(JitMem.load16(tag, page, 0, lin(0x10))).isEqualTo(0x1110);
    assertThat(JitMem.load16(tag, page, HALF, lin(0x10))).isEqualTo(~0x1110 & 0xFFFF);
    // A half word that crosses into the next page, and other pages: misses (-1).
    assertThat(JitMem.load16(tag, page, 0, lin(0xFFF))).isEqualTo(-1);
    assertThat(JitMem.load8(tag, page, 0, (PAGE + HALF) << 12)).isEqualTo(-1);
    assertThat(JitMem.load16(tag, page, 0, (PAGE + 1) << 12)).isEqualTo(-1);
    assertThat(JitMem.load8(tag, page, HALF, (PAGE + 1) << 12 | 5)).isEqualTo(-1);
  }

  @Test
  void aByteStoreWritesOnlyItsByteInTheRightHalf() {
    assertThat(JitMem.store8(tag, page, HALF, lin(0xFFF), 0x1234)).isTrue();
    assertThat(userFrame[0xFFF]).isEqualTo((byte) 0x34);
    assertThat(userFrame[0xFFE]).isEqualTo((byte) ~0xFFE);
    assertThat(frame[0xFFF]).isEqualTo((byte) 0xFF);
    assertThat(JitMem.store8(tag, page, 0, (PAGE + HALF) << 12, 7)).isFalse();
    assertThat(JitMem.store8(tag, page, 0, (PAGE + 1) << 12, 7)).isFalse();
    assertThat(frame[0]).isEqualTo((byte) 0);
  }
}
