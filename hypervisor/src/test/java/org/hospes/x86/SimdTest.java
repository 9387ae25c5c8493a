package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HexFormat;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The system side of MMX/SSE/SSE2 that the host-CPU differential test cannot reach: CPUID, the
 * CR0.EM/TS and CR4.OSFXSR/OSXMMEXCPT rules, MMX aliasing the x87 registers, and the FXSAVE
 * image's fixed fields (the instruction semantics are in diff.SimdHostDiffTest).
 */
class SimdTest {
  private static final int CODE = 0x1000;
  private static final int DATA = 0x4000;
  private MemoryBus mem;
  private Cpu cpu;

  @BeforeEach
  void setUp() {
    mem = new MemoryBus(1 << 20);
    cpu = new Cpu(mem, new IoBus());
    cpu.resetFlat32();
    cpu.setExceptionExitMask(-1);
    cpu.setReg(Cpu.ESP, 0x8000);
    cpu.loadControlRegisters(cpu.cr0(), 0, Cpu.CR4_OSFXSR | Cpu.CR4_OSXMMEXCPT);
  }

  private void load(String hex) {
    byte[] b = HexFormat.of().parseHex(hex.replace(" ", ""));
    mem.write(CODE, b, 0, b.length);
    cpu.setEip(CODE);
  }

  private int vectorOf(String hex) {
    load(hex);
    return cpu.run(1) == CpuExit.EXCEPTION ? cpu.exceptionVector() : -1;
  }

  @Test
  void cpuidAdvertisesMmxFxsrSseSse2AndClflush() {
    load("b801000000 0fa2"); // mov eax, 1 ; cpuid
    cpu.run(2);
    int edx = cpu.reg(Cpu.EDX);
    assertThat(edx & (1 << 23 | 1 << 24 | 1 << 25 | 1 << 26 | 1 << 19))
        .isEqualTo(1 << 23 | 1 << 24 | 1 << 25 | 1 << 26 | 1 << 19);
    assertThat(cpu.reg(Cpu.EBX) >>> 8 & 0xFF).isEqualTo(8); // 64-byte CLFLUSH line
    assertThat(cpu.reg(Cpu.ECX) & 1).isZero(); // no SSE3
  }

  @Test
  void sseNeedsOsfxsrAndIsUndefinedUnderEmAndUnavailableUnderTs() {
    String addps = "0f58c1";
    assertThat(vectorOf(addps)).isEqualTo(-1);
    cpu.loadControlRegisters(cpu.cr0(), 0, 0);
    assertThat(vectorOf(addps)).isEqualTo(Exceptions.UD);
    cpu.loadControlRegisters(cpu.cr0() | Cpu.CR0_TS, 0, Cpu.CR4_OSFXSR);
    assertThat(vectorOf(addps)).isEqualTo(Exceptions.NM);
    cpu.loadControlRegisters(cpu.cr0() | Cpu.CR0_EM, 0, Cpu.CR4_OSFXSR);
    // EM wins over TS: #UD.
    assertThat(vectorOf(addps)).isEqualTo(Exceptions.UD);
  }

  @Test
  void mmxIgnoresOsfxsrButNotEmOrTs() {
    String paddb = "0ffcc1";
    cpu.loadControlRegisters(cpu.cr0(), 0, 0);
    assertThat(vectorOf(paddb)).isEqualTo(-1);
    cpu.loadControlRegisters(cpu.cr0() | Cpu.CR0_EM, 0, 0);
    assertThat(vectorOf(paddb)).isEqualTo(Exceptions.UD);
    cpu.loadControlRegisters(cpu.cr0() & ~Cpu.CR0_EM | Cpu.CR0_TS, 0, 0);
    assertThat(vectorOf(paddb)).isEqualTo(Exceptions.NM);
  }

  @Test
  void fxsaveIsNotUndefinedUnderEmButUnavailable() {
    cpu.setReg(Cpu.EAX, DATA);
    cpu.loadControlRegisters(cpu.cr0() | Cpu.CR0_EM, 0, Cpu.CR4_OSFXSR);
    assertThat(vectorOf("0fae00")).isEqualTo(Exceptions.NM);
    cpu.loadControlRegisters(cpu.cr0() & ~Cpu.CR0_EM, 0, Cpu.CR4_OSFXSR);
    cpu.setReg(Cpu.EAX, DATA + 8);
    assertThat(vectorOf("0fae00")).isEqualTo(Exceptions.GP); // misaligned
  }

  @Test
  void unmaskedSimdExceptionIsXmOrUdByOsxmmexcpt() {
    // xorps xmm1, xmm1 ; divss xmm0, xmm1 with ZE unmasked (MXCSR 0x1D80).
    cpu.simd.mxcsr = 0x1D80;
    cpu.simd.xmm[0] = Float.floatToRawIntBits(1.0f);
    load("0f57c9 f30f5ec1");
    cpu.run(1);
    assertThat(cpu.run(1)).isEqualTo(CpuExit.EXCEPTION);
    assertThat(cpu.exceptionVector()).isEqualTo(Exceptions.XM);
    assertThat(cpu.simd.xmm[0]).isEqualTo(Float.floatToRawIntBits(1.0f)); // not written
    assertThat(cpu.simd.mxcsr & SseFloat.ZE).isNotZero();
    cpu.loadControlRegisters(cpu.cr0(), 0, Cpu.CR4_OSFXSR);
    cpu.simd.mxcsr = 0x1D80;
    load("0f57c9 f30f5ec1");
    cpu.run(1);
    assertThat(cpu.run(1)).isEqualTo(CpuExit.EXCEPTION);
    assertThat(cpu.exceptionVector()).isEqualTo(Exceptions.UD);
  }

  @Test
  void mmxWritesAliasTheX87RegistersAndEmmsEmptiesThem() {
    // fld1 (TOP becomes 7) ; movd mm3, eax ; then fxsave [ebx]
    cpu.setReg(Cpu.EAX, 0x1234_5678);
    cpu.setReg(Cpu.EBX, DATA);
    load("d9e8 0f6ed8 0fae03 0f77 0fae0b");
    cpu.run(3);
    assertThat(cpu.fpu.sig[3]).isEqualTo(0x1234_5678L);
    assertThat(cpu.fpu.se[3]).isEqualTo(0xFFFF);
    assertThat(cpu.fpu.top).isZero();
    assertThat(mem.read16(DATA + FxSave.FSW) >>> 11 & 7).isZero(); // TOP = 0
    assertThat(mem.read8(DATA + FxSave.FTW)).isEqualTo(0xFF); // all valid
    assertThat(mem.read32(DATA + FxSave.MXCSR_MASK)).isEqualTo(0xFFFF);
    // ST3 is physical R3 when TOP = 0: its image has the significand and an all-ones exponent.
    assertThat(mem.read32(DATA + FxSave.ST0 + 16 * 3)).isEqualTo(0x1234_5678);
    assertThat(mem.read16(DATA + FxSave.ST0 + 16 * 3 + 8)).isEqualTo(0xFFFF);
    cpu.run(1); // emms
    assertThat(cpu.fpu.emptyMask).isEqualTo(0xFF);
    cpu.run(1); // fxrstor [ebx]: the abridged tags say all valid again
    assertThat(cpu.fpu.emptyMask).isZero();
    assertThat(cpu.fpu.sig[3]).isEqualTo(0x1234_5678L);
  }

  @Test
  void fxrstorRejectsReservedMxcsrBitsAndChangesNothing() {
    cpu.setReg(Cpu.EAX, DATA);
    cpu.simd.xmm[0] = 0x1111;
    mem.write32(DATA + FxSave.MXCSR, 0x1_1F80);
    mem.write32(DATA + FxSave.XMM0, 0x2222);
    assertThat(vectorOf("0fae08")).isEqualTo(Exceptions.GP);
    assertThat(cpu.simd.xmm[0]).isEqualTo(0x1111);
    mem.write32(DATA + FxSave.MXCSR, 0x1F80);
    assertThat(vectorOf("0fae08")).isEqualTo(-1);
    assertThat(cpu.simd.xmm[0]).isEqualTo(0x2222);
  }

  @Test
  void ldmxcsrRejectsReservedBits() {
    cpu.setReg(Cpu.EAX, DATA);
    mem.write32(DATA, 0x1_1F80);
    assertThat(vectorOf("0fae10")).isEqualTo(Exceptions.GP);
    mem.write32(DATA, 0x9FC0); // FTZ, DAZ, round up: all defined
    assertThat(vectorOf("0fae10")).isEqualTo(-1);
    assertThat(cpu.simd.mxcsr).isEqualTo(0x9FC0);
  }

  /** Runs {@code op xmm0, xmm1} on four lanes loaded from {@code in}; returns xmm0's lanes. */
  private int[] lanes(String op, int[] in, int[] dest) {
    for (int i = 0; i < 4; i++) {
      mem.write32(DATA + 4 * i, in[i]);
      mem.write32(DATA + 32 + 4 * i, dest[i]);
    }
    cpu.setReg(Cpu.EAX, DATA);
    // movups xmm1,[eax]; movups xmm0,[eax+32]; OP xmm0,xmm1; movups [eax+16],xmm0
    load("0f1008 0f104020 " + op + " 0f114010");
    assertThat(cpu.run(4)).isNotEqualTo(CpuExit.EXCEPTION);
    int[] out = new int[4];
    for (int i = 0; i < 4; i++) {
      out[i] = mem.read32(DATA + 16 + 4 * i);
    }
    return out;
  }

  @Test
  void rcpAndRsqrtAreWithinTheSdmsBoundAndGiveTheHostsSpecialValues() {
    // Special inputs and what this host's processor returned for them (_mm_rcp_ps/_mm_rsqrt_ps).
    int[][] specials = {
        {0x00000000, 0x7f800000, 0x7f800000}, {0x80000000, 0xff800000, 0xff800000},
        {0x00000001, 0x7f800000, 0x7f800000}, {0x80400000, 0xff800000, 0xff800000},
        {0x7f800000, 0x00000000, 0x00000000}, {0xff800000, 0x80000000, 0xffc00000},
        {0x7fc00001, 0x7fc00001, 0x7fc00001}, {0x7f800001, 0x7fc00001, 0x7fc00001},
        {0xffa00000, 0xffe00000, 0xffe00000}, {0xbf800000, 0xbf800000, 0xffc00000},
        {0x7f7fffff, 0x00000000, 0x1f800000}, {0x7e800000, 0x00000000, 0x1ffff800}};
    for (int[] c : specials) {
      int[] in = {c[0], c[0], c[0], c[0]};
      int[] rcp = lanes("0f53c1", in, new int[4]);
      int[] rsqrt = lanes("0f52c1", in, new int[4]);
      String what = String.format("input %08x", c[0]);
      if (c[0] == 0xbf800000 || c[0] == 0x7f7fffff || c[0] == 0x7e800000) {
        // Finite results: the host's low bits are its own; the bound is checked below.
        assertThat(Float.intBitsToFloat(rcp[0]) == 0f).as(what).isEqualTo(c[1] == 0);
        if (c[2] == 0xffc00000) {
          assertThat(rsqrt).as("rsqrtps " + what).containsOnly(c[2]);
        }
        continue;
      }
      assertThat(rcp).as("rcpps " + what).containsOnly(c[1]);
      assertThat(rsqrt).as("rsqrtps " + what).containsOnly(c[2]);
    }
    java.util.Random rnd = new java.util.Random(20261202L);
    for (int n = 0; n < 2000; n++) {
      int[] in = new int[4];
      for (int i = 0; i < 4; i++) {
        // Normal floats that stay clear of the flush threshold (exponents 1..252).
        in[i] = (rnd.nextInt(252) + 1) << 23 | rnd.nextInt(1 << 23) | (rnd.nextBoolean() ? 1 << 31 : 0);
      }
      int[] rcp = lanes("0f53c1", in, new int[4]);
      int[] pos = in.clone();
      for (int i = 0; i < 4; i++) {
        pos[i] &= 0x7FFF_FFFF;
      }
      int[] rsqrt = lanes("0f52c1", pos, new int[4]);
      for (int i = 0; i < 4; i++) {
        double x = Float.intBitsToFloat(in[i]);
        double r = Float.intBitsToFloat(rcp[i]);
        assertThat(Math.abs(r * x - 1)).as("rcpps %08x -> %08x", in[i], rcp[i])
            .isLessThanOrEqualTo(1.5 * Math.scalb(1.0, -12));
        double p = Float.intBitsToFloat(pos[i]);
        double q = Float.intBitsToFloat(rsqrt[i]);
        assertThat(Math.abs(q * Math.sqrt(p) - 1)).as("rsqrtps %08x -> %08x", pos[i], rsqrt[i])
            .isLessThanOrEqualTo(1.5 * Math.scalb(1.0, -12));
      }
    }
    // The scalar forms change lane 0 only, and no MXCSR flag is raised by any of the above.
    int[] dest = {0x11111111, 0x22222222, 0x33333333, 0x44444444};
    assertThat(lanes("f30f53c1", new int[] {0x40000000, 0, 0, 0}, dest))
        .containsExactly(0x3f000000, 0x22222222, 0x33333333, 0x44444444);
    assertThat(lanes("f30f52c1", new int[] {0x40800000, 0, 0, 0}, dest))
        .containsExactly(0x3f000000, 0x22222222, 0x33333333, 0x44444444);
    mem.write32(DATA + 64, 0);
    load("0fae5840"); // stmxcsr [eax+64]
    cpu.run(1);
    assertThat(mem.read32(DATA + 64) & 0x3F).isZero();
  }
}
