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
}
