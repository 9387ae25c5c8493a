package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.hospes.x86.jit.Engine;
import org.hospes.x86.jit.Jit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Machine memory backed on first touch: untouched frames read as zeros and cost nothing, the
 * first non-zero write backs a frame, and processors that read a frame as zeros through their
 * TLB see what a later write (their own, another path's, DMA's) put there. Also RAM above 2 GiB,
 * which a single array could not hold, through the TLB and the bus (DMA) paths.
 */
class FirstTouchMemoryTest {
  private static final long GIB = 1L << 30;
  private static final int CODE = 0x1000;

  private static Cpu cpu(Engine engine, MemoryBus mem) {
    String saved = System.getProperty(Engine.PROPERTY);
    String savedThreshold = System.getProperty(Jit.THRESHOLD_PROPERTY);
    System.setProperty(Engine.PROPERTY, engine.cliName());
    System.setProperty(Jit.THRESHOLD_PROPERTY, "2");
    try {
      Cpu c = new Cpu(mem, new IoBus());
      c.resetFlat32();
      c.setExceptionExitMask(-1);
      c.setReg(Cpu.ESP, 0x8000);
      return c;
    } finally {
      restore(Engine.PROPERTY, saved);
      restore(Jit.THRESHOLD_PROPERTY, savedThreshold);
    }
  }

  private static void restore(String key, String value) {
    if (value == null) {
      System.clearProperty(key);
    } else {
      System.setProperty(key, value);
    }
  }

  private static byte[] le32(long v) {
    return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array();
  }

  private static byte[] concat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    byte[] out = new byte[n];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }

  private static byte[] b(int... v) {
    byte[] out = new byte[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = (byte) v[i];
    }
    return out;
  }

  /** {@code mov ecx, 8; l: mov eax, [addr]; dec ecx; jnz l; hlt}: a loop hot enough to translate. */
  private static byte[] loadLoop(long addr) {
    return concat(b(0xB9, 8, 0, 0, 0), b(0x8B, 0x05), le32(addr), b(0x49, 0x75, 0xF7, 0xF4));
  }

  /** {@code mov dword [addr], imm; hlt}. */
  private static byte[] store(long addr, int imm) {
    return concat(b(0xC7, 0x05), le32(addr), le32(imm), b(0xF4));
  }

  private static int run(Cpu c, MemoryBus mem, byte[] code) {
    mem.write(CODE, code, 0, code.length);
    c.setEip(CODE);
    assertThat(c.run(10_000)).isEqualTo(CpuExit.HLT);
    return c.reg(Cpu.EAX);
  }

  @Test
  void aGibibyteOfRamCostsNothingUntilWritten() {
    MemoryBus mem = new MemoryBus(GIB);
    assertThat(mem.backedFrames()).isZero();
    // Reads of untouched frames, small and bulk, give zeros and allocate nothing.
    assertThat(mem.read32(GIB - 4)).isZero();
    assertThat(mem.read8(512L << 20)).isZero();
    byte[] page = new byte[3 * 4096];
    java.util.Arrays.fill(page, (byte) 0x5A);
    mem.read(0x7FF0, page, 0, page.length);
    assertThat(page).containsOnly(0);
    // Zeros written to untouched frames (a scrub, a loader's bss) change nothing.
    mem.write(0x100000, new byte[8192], 0, 8192);
    mem.write32(0x200000, 0);
    mem.write8(0x300000, 0);
    assertThat(mem.backedFrames()).isZero();
    // The first real write backs exactly the frames it touches.
    mem.write32(0x12345678, 0xCAFEBABE);
    assertThat(mem.backedFrames()).isEqualTo(1);
    assertThat(mem.isBacked(0x12345678L >>> 12)).isTrue();
    assertThat(mem.read32(0x12345678)).isEqualTo(0xCAFEBABE);
    byte[] span = new byte[4096 + 16];
    span[0] = 1;
    span[span.length - 1] = 2;
    mem.write(0x400FF8, span, 0, span.length);
    // Three frames written, but the middle one got only zeros: it stays untouched.
    assertThat(mem.backedFrames()).isEqualTo(1 + 2);
    assertThat(mem.isBacked(0x401)).isFalse();
    assertThat(mem.read8(0x400FF8)).isEqualTo(1);
    assertThat(mem.read8(0x400FF8 + span.length - 1)).isEqualTo(2);
    assertThat(mem.backedBytes()).isEqualTo(3 * 4096);
  }

  @Test
  void zeroingIsAWriteOfZerosThatNeverLooksAtThem() {
    MemoryBus mem = new MemoryBus(64L << 20);
    java.util.List<String> told = new java.util.ArrayList<>();
    int id = mem.addCodeWriteListener(new MemoryBus.CodeWriteListener() {
      @Override
      public void codeWritten(long pa, int len) {
        told.add(Long.toHexString(pa) + "+" + Integer.toHexString(len));
      }

      @Override
      public void codePageAdded(int page) {}
    });
    // Frame 0x101 backed and full of 0xAA; frames 0x100 and 0x102 untouched.
    byte[] full = new byte[4096];
    java.util.Arrays.fill(full, (byte) 0xAA);
    mem.write(0x101000, full, 0, full.length);
    mem.codePageAdded(0x101, id);
    assertThat(mem.backedFrames()).isEqualTo(1);
    // A bss from the middle of frame 0x100 to the middle of frame 0x101.
    mem.zero(0x100800, 0x1000);
    assertThat(mem.backedFrames()).as("untouched frames stay unbacked").isEqualTo(1);
    assertThat(mem.isBacked(0x100)).isFalse();
    byte[] back = new byte[4096];
    mem.read(0x101000, back, 0, back.length);
    assertThat(java.util.Arrays.copyOfRange(back, 0, 0x800)).containsOnly(0);
    assertThat(java.util.Arrays.copyOfRange(back, 0x800, 4096)).containsOnly(0xAA);
    // Decoded code on the page is dropped, as after write(): the whole range is reported.
    assertThat(told).containsExactly("100800+1000");
    // Past the end of RAM the rest is dropped, as write() drops it.
    mem.zero((64L << 20) - 8, 16);
    assertThat(mem.backedFrames()).isEqualTo(1);
  }

  @ParameterizedTest
  @EnumSource(value = Engine.class, names = {"INTERP", "JIT", "LOCKSTEP"})
  void aProcessorReadingAnUntouchedFrameSeesZerosThenWhatDmaWrote(Engine engine) {
    MemoryBus mem = new MemoryBus(GIB);
    Cpu c = cpu(engine, mem);
    long target = 0x2000_0100L;
    assertThat(run(c, mem, loadLoop(target))).isZero();
    // Only the code frame got storage: the loop's reads allocated nothing.
    assertThat(mem.isBacked(target >>> 12)).isFalse();
    assertThat(mem.backedFrames()).isEqualTo(1);
    // DMA (a backend, a loader) writes the frame the processor's TLB maps as zeros.
    mem.write32(target, 0x600DF00D);
    assertThat(run(c, mem, loadLoop(target))).isEqualTo(0x600DF00D);
  }

  @ParameterizedTest
  @EnumSource(value = Engine.class, names = {"INTERP", "JIT"})
  void aProcessorsOwnFirstWriteReplacesItsZeroMapping(Engine engine) {
    MemoryBus mem = new MemoryBus(GIB);
    Cpu c = cpu(engine, mem);
    long target = 0x3000_0040L;
    assertThat(run(c, mem, loadLoop(target))).isZero();
    run(c, mem, store(target, 0x1234_5678));
    assertThat(mem.isBacked(target >>> 12)).isTrue();
    assertThat(mem.read32(target)).isEqualTo(0x1234_5678);
    assertThat(run(c, mem, loadLoop(target))).isEqualTo(0x1234_5678);
  }

  @Test
  void anotherProcessorsWriteReachesAZeroMapping() {
    MemoryBus mem = new MemoryBus(64L << 20);
    Cpu reader = cpu(Engine.INTERP, mem);
    Cpu writer = cpu(Engine.INTERP, mem);
    long target = 0x0200_0000L;
    assertThat(run(reader, mem, loadLoop(target))).isZero();
    run(writer, mem, store(target, 0x0BADCAFE));
    assertThat(run(reader, mem, loadLoop(target))).isEqualTo(0x0BADCAFE);
  }

  @ParameterizedTest
  @EnumSource(value = Engine.class, names = {"INTERP", "JIT"})
  void ramAboveTwoGibibytesWorksThroughTheTlbAndDma(Engine engine) {
    MemoryBus mem = new MemoryBus(3 * GIB);
    assertThat(mem.ramSize()).isEqualTo(3 * GIB);
    Cpu c = cpu(engine, mem);
    long high = 2 * GIB + 0x1234_5000L;
    // Processor store (write TLB), read back through the bus as a device would.
    run(c, mem, store(high + 0x10, 0xA5A5_1234));
    assertThat(mem.read32(high + 0x10)).isEqualTo(0xA5A5_1234);
    byte[] got = new byte[4];
    mem.read(high + 0x10, got, 0, 4);
    assertThat(got).containsExactly(0x34, 0x12, 0xA5, 0xA5);
    // DMA write across a frame boundary, read by the processor (read TLB), also crossing.
    byte[] dma = {1, 2, 3, 4, 5, 6, 7, 8};
    mem.write(high + 0xFFC, dma, 0, dma.length);
    assertThat(run(c, mem, loadLoop(high + 0xFFE))).isEqualTo(0x06050403);
    assertThat(run(c, mem, loadLoop(high + 0x1000))).isEqualTo(0x08070605);
    // Near the top of RAM.
    run(c, mem, store(3 * GIB - 4, 0x7777_8888));
    assertThat(mem.read32(3 * GIB - 4)).isEqualTo(0x7777_8888);
    // The code frame, the two frames around high + 0x1000, the top one.
    assertThat(mem.backedFrames()).isEqualTo(1 + 2 + 1);
  }

  @Test
  void sizesMustBeWholeFrames() {
    assertThatThrownBy(() -> new MemoryBus(GIB + 1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new MemoryBus(0L)).isInstanceOf(IllegalArgumentException.class);
  }
}
