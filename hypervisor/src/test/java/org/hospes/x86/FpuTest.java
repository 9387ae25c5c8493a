package org.hospes.x86;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** x87 instruction semantics, run through the processor one snippet at a time. */
class FpuTest {
  private static final int CODE = 0x1000;
  private static final int DATA = 0x3000;
  private MemoryBus mem;
  private Cpu cpu;

  @BeforeEach
  void setUp() {
    mem = new MemoryBus(1 << 20);
    cpu = new Cpu(mem, new IoBus());
    cpu.resetFlat32();
    cpu.setExceptionExitMask(-1);
    cpu.setReg(Cpu.ESI, DATA);
    cpu.setReg(Cpu.ESP, 0x8000);
  }

  /** Runs hex-encoded instructions; returns the exit code. */
  private int run(String hex) {
    byte[] b = HexFormat.of().parseHex(hex.replace(" ", ""));
    int n = count(b);
    mem.write(CODE, b, 0, b.length);
    cpu.setEip(CODE);
    return cpu.run(n);
  }

  /** Number of instructions in a snippet made only of 2-byte x87 forms and 9B. */
  private static int count(byte[] b) {
    int n = 0;
    for (int i = 0; i < b.length; n++) {
      i += (b[i] & 0xFF) == 0x9B ? 1 : 2;
    }
    return n;
  }

  private void putDouble(double v) {
    mem.write64(DATA, Double.doubleToRawLongBits(v));
  }

  private void putFloat(float v) {
    mem.write32(DATA, Float.floatToRawIntBits(v));
  }

  private Fpu fpu() {
    return cpu.fpu;
  }

  private int sw() {
    return fpu().statusWord();
  }

  private void setRc(int rc) {
    mem.write16(DATA + 64, 0x037F | rc << 10);
    cpu.setReg(Cpu.EDI, DATA + 64);
    run("d92f"); // fldcw [edi]
  }

  private void setCw(int cw) {
    mem.write16(DATA + 64, cw);
    cpu.setReg(Cpu.EDI, DATA + 64);
    run("d92f");
  }

  // ================================================================== state

  @Test
  void powerUpStateHasAllExceptionsMaskedExceptPrecisionDefaults() {
    assertThat(fpu().cw).isEqualTo(0x0040);
    assertThat(sw()).isZero();
    assertThat(fpu().tagWord()).isEqualTo(0xFFFF);
  }

  @Test
  void fninitLoadsTheDefaultControlWord() {
    run("dbe3 d93e"); // fninit ; fnstcw [esi]
    assertThat(mem.read16(DATA)).isEqualTo(0x037F);
    assertThat(sw()).isZero();
    assertThat(fpu().tagWord()).isEqualTo(0xFFFF);
  }

  @Test
  void fnstswAxStoresTopAndConditionCodes() {
    run("dbe3 d9e8 d9ee d8d9 dfe0"); // fld1 ; fldz ; fcomp st1 ; fnstsw ax
    // 0 < 1: C0 set; TOP back to 7 after one pop.
    assertThat(cpu.reg(Cpu.EAX) & 0xFFFF).isEqualTo(7 << 11 | Fpu.SW_C0);
  }

  @Test
  void fnstenvMasksAllExceptionsAfterStoring() {
    setCw(0x0360);
    run("d936"); // fnstenv [esi]
    assertThat(mem.read16(DATA)).isEqualTo(0x0360);
    assertThat(mem.read32(DATA) >>> 16).isEqualTo(0xFFFF);
    assertThat(fpu().cw & 0x3F).isEqualTo(0x3F);
  }

  @Test
  void fsaveThenFrstorRestoresEveryRegisterBit() {
    run("dbe3 d9eb d9ea d9ee d9e8"); // fldpi ; fldl2e ; fldz ; fld1
    long[] sig = fpu().sig.clone();
    int[] se = fpu().se.clone();
    int tw = fpu().tagWord();
    int swBefore = sw();
    run("dd36 dd26"); // fnsave [esi] ; frstor [esi]
    assertThat(fpu().sig).containsExactly(sig);
    assertThat(fpu().se).containsExactly(se);
    assertThat(fpu().tagWord()).isEqualTo(tw);
    assertThat(sw()).isEqualTo(swBefore);
  }

  @Test
  void fnsaveReinitializesTheUnit() {
    run("dbe3 d9e8 dd36");
    assertThat(fpu().cw).isEqualTo(0x037F);
    assertThat(fpu().tagWord()).isEqualTo(0xFFFF);
    // Tag word in the image: R7 valid, the rest empty.
    assertThat(mem.read16(DATA + 8)).isEqualTo(0x3FFF);
    assertThat(mem.read16(DATA + 28 + 8)).isEqualTo(0x3FFF);
  }

  @Test
  void sixteenBitEnvironmentIsFourteenBytes() {
    run("dbe3 d9e8");
    // fnstenv [esi] with a 16-bit operand size: drive the unit directly with the size bits set.
    int f0 = Op.FPU | 1 << 28 | 1 << 29 | Cpu.ESI << 14 | 8 << 18 | Cpu.DS << 24;
    int op = 1 << 8 | 0x36;
    mem.write(DATA, new byte[32], 0, 32);
    cpu.fpu.exec(cpu, f0, 0, op << 20);
    assertThat(mem.read16(DATA)).isEqualTo(0x037F);
    assertThat(mem.read16(DATA + 2)).isEqualTo(7 << 11);
    assertThat(mem.read16(DATA + 4)).isEqualTo(0x3FFF);
    assertThat(mem.read16(DATA + 14)).isZero();
  }

  // ================================================================== conversions

  @Test
  void singlesAndDoublesRoundTripThroughTheRegisters() {
    Random rnd = new Random(1);
    for (int i = 0; i < 2000; i++) {
      long bits = rnd.nextLong();
      if (i % 3 == 0) {
        bits &= 0x800F_FFFF_FFFF_FFFFL; // denormals
      }
      double v = Double.longBitsToDouble(bits);
      if (Double.isNaN(v)) {
        continue;
      }
      putDouble(v);
      run("dbe3 dd06 dd1e"); // fld m64 ; fstp m64
      assertThat(mem.read64(DATA)).isEqualTo(bits);
      int fb = rnd.nextInt();
      if (Float.isNaN(Float.intBitsToFloat(fb))) {
        continue;
      }
      mem.write32(DATA, fb);
      run("dbe3 d906 d91e");
      assertThat(mem.read32(DATA)).isEqualTo(fb);
    }
  }

  @Test
  void extendedValuesRoundTripUnchanged() {
    // An unnormal, a pseudo-denormal, an SNaN: m80 loads and stores copy bits exactly.
    long[][] values = {{0x7FFF_FFFF_FFFF_FFFFL, 0x4000}, {0x8000_0000_0000_0001L, 0x0000},
        {0x8000_0000_0000_0001L, 0x7FFF}, {0xFFFF_FFFF_FFFF_FFFFL, 0xFFFE}};
    for (long[] v : values) {
      mem.write64(DATA, v[0]);
      mem.write16(DATA + 8, (int) v[1]);
      run("dbe3 db2e db3e"); // fld m80 ; fstp m80
      assertThat(mem.read64(DATA)).isEqualTo(v[0]);
      assertThat(mem.read16(DATA + 8)).isEqualTo((int) v[1]);
      assertThat(sw() & 0x3F).isZero();
    }
  }

  @Test
  void snanLoadedFromMemoryIsQuietedAndSignalsInvalid() {
    mem.write32(DATA, 0x7F80_0001);
    run("dbe3 d906");
    assertThat(sw() & Float80.IE).isNotZero();
    assertThat(fpu().stSig(0)).isEqualTo(0xC000_0100_0000_0000L);
  }

  @Test
  void fistRoundsWithTheRoundingControl() {
    double[] in = {2.5, -2.5, 3.5, -0.5, 0.49};
    int[][] expect = {{2, 2, 3, 2}, {-2, -3, -2, -2}, {4, 3, 4, 3}, {0, -1, 0, 0}, {0, 0, 1, 0}};
    for (int rc = 0; rc < 4; rc++) {
      for (int k = 0; k < in.length; k++) {
        run("dbe3");
        setRc(rc);
        putDouble(in[k]);
        run("dd06 db1e"); // fld m64 ; fistp m32
        assertThat(mem.read32(DATA)).as("%s rc %d", in[k], rc).isEqualTo(expect[k][rc]);
        assertThat(sw() & Float80.PE).isNotZero();
      }
    }
  }

  @Test
  void fistOutOfRangeStoresTheIntegerIndefinite() {
    putDouble(40000.0);
    run("dbe3 dd06 df1e"); // fistp m16
    assertThat(mem.read16(DATA)).isEqualTo(0x8000);
    assertThat(sw() & Float80.IE).isNotZero();
    putDouble(-2147483648.0);
    run("dbe3 dd06 db1e");
    assertThat(mem.read32(DATA)).isEqualTo(0x8000_0000);
    assertThat(sw() & Float80.IE).isZero();
    putDouble(Double.NaN);
    run("dbe3 dd06 df3e"); // fistp m64
    assertThat(mem.read64(DATA)).isEqualTo(Long.MIN_VALUE);
  }

  @Test
  void bcdRoundTrips() {
    mem.write64(DATA, 0x0000_1234_5678_9012L);
    mem.write16(DATA + 8, 0x8099);
    run("dbe3 df26 df36"); // fbld ; fbstp
    assertThat(mem.read64(DATA)).isEqualTo(0x0000_1234_5678_9012L);
    assertThat(mem.read16(DATA + 8)).isEqualTo(0x8099);
  }

  // ================================================================== arithmetic

  @Test
  void precisionControlRoundsTheSignificand() {
    setCw(0x007F); // PC = 24 bits
    putFloat(3.0f);
    run("d9e8 d836"); // fld1 ; fdiv dword [esi]
    assertThat(fpu().stSig(0)).isEqualTo(0xAAAA_AB00_0000_0000L);
    run("dbe3 d9e8 d836");
    assertThat(fpu().stSig(0)).isEqualTo(0xAAAA_AAAA_AAAA_AAABL);
  }

  @Test
  void roundingModesDirectTheLastBit() {
    long[] expect = {0xAAAA_AAAA_AAAA_AAABL, 0xAAAA_AAAA_AAAA_AAAAL, 0xAAAA_AAAA_AAAA_AAABL,
        0xAAAA_AAAA_AAAA_AAAAL};
    for (int rc = 0; rc < 4; rc++) {
      run("dbe3");
      setRc(rc);
      putFloat(3.0f);
      run("d9e8 d836");
      assertThat(fpu().stSig(0)).as("rc %d", rc).isEqualTo(expect[rc]);
      assertThat(sw() & Fpu.SW_C1).isEqualTo(rc == 0 || rc == 2 ? Fpu.SW_C1 : 0);
    }
  }

  @Test
  void exactCancellationGivesPlusZeroExceptRoundingDown() {
    run("dbe3 d9e8 d9e8 dee9"); // 1 - 1
    assertThat(fpu().stSe(0)).isZero();
    run("dbe3");
    setRc(1);
    run("d9e8 d9e8 dee9");
    assertThat(fpu().stSe(0)).isEqualTo(0x8000);
  }

  @Test
  void maskedOverflowGivesInfinityAndUnmaskedWrapsTheExponent() {
    mem.write64(DATA, 0x8000_0000_0000_0000L);
    mem.write16(DATA + 8, 0x7FFE);
    run("dbe3 db2e d9c0 dec1"); // fld max ; fld st0 ; faddp
    assertThat(fpu().stSe(0)).isEqualTo(0x7FFF);
    assertThat(sw() & (Float80.OE | Float80.PE)).isEqualTo(Float80.OE | Float80.PE);
    run("dbe3");
    setCw(0x0377); // OE unmasked
    run("db2e d9c0 dec1");
    assertThat(fpu().stSe(0)).isEqualTo(0x7FFF - 24576);
    assertThat(sw() & Fpu.SW_ES).isNotZero();
  }

  @Test
  void invalidOperationsGiveTheRealIndefinite() {
    run("dbe3 d9e8 d9e1 d9fa"); // fld1 ; fabs ; fsqrt -> 1
    assertThat(fpu().stSe(0)).isEqualTo(0x3FFF);
    run("dbe3 d9e8 d9e0 d9fa"); // sqrt(-1)
    assertThat(fpu().stSe(0)).isEqualTo(Float80.INDEF_SE);
    assertThat(fpu().stSig(0)).isEqualTo(Float80.INDEF_SIG);
    assertThat(sw() & Float80.IE).isNotZero();
  }

  @Test
  void divisionByZeroRaisesZe() {
    run("dbe3 d9ee d9e8 def1"); // fldz ; fld1 ; fdivrp -> 1/0? st1 = st0/st1 = 1/0
    assertThat(fpu().stSe(0)).isEqualTo(0x7FFF);
    assertThat(sw() & Float80.ZE).isNotZero();
  }

  @Test
  void fpremGivesTheQuotientBitsInTheConditionCodes() {
    putDouble(3.0);
    mem.write64(DATA + 16, Double.doubleToRawLongBits(23.0));
    cpu.setReg(Cpu.EDI, DATA + 16);
    run("dbe3 dd06 dd07 d9f8"); // fld 3 ; fld 23 ; fprem -> 2, quotient 7
    assertThat(TranscendentalValues.toDouble(fpu().stSe(0), fpu().stSig(0))).isEqualTo(2.0);
    int q = ((sw() & Fpu.SW_C0) != 0 ? 4 : 0) | ((sw() & Fpu.SW_C3) != 0 ? 2 : 0)
        | ((sw() & Fpu.SW_C1) != 0 ? 1 : 0);
    assertThat(q).isEqualTo(7);
    assertThat(sw() & Fpu.SW_C2).isZero();
  }

  @Test
  void constantsFollowTheRoundingControl() {
    run("dbe3 d9eb");
    assertThat(fpu().stSig(0)).isEqualTo(0xC90F_DAA2_2168_C235L);
    run("dbe3");
    setRc(3);
    run("d9eb");
    assertThat(fpu().stSig(0)).isEqualTo(0xC90F_DAA2_2168_C234L);
  }

  // ================================================================== compares and classes

  @Test
  void comparesSetConditionCodes() {
    int[][] cases = {{0, 1, Fpu.SW_C0}, {1, 0, 0}, {1, 1, Fpu.SW_C3}};
    for (int[] k : cases) {
      putDouble(k[1]);
      mem.write64(DATA + 16, Double.doubleToRawLongBits(k[0]));
      cpu.setReg(Cpu.EDI, DATA + 16);
      run("dbe3 dd07 dc16"); // fld st0-value ; fcom m64
      assertThat(sw() & (Fpu.SW_C0 | Fpu.SW_C2 | Fpu.SW_C3)).isEqualTo(k[2]);
    }
    putDouble(Double.NaN);
    run("dbe3 d9e8 dc16");
    assertThat(sw() & (Fpu.SW_C0 | Fpu.SW_C2 | Fpu.SW_C3))
        .isEqualTo(Fpu.SW_C0 | Fpu.SW_C2 | Fpu.SW_C3);
    assertThat(sw() & Float80.IE).isNotZero();
  }

  @Test
  void fucomiSetsEflagsAndOnlySnansSignal() {
    putDouble(Double.NaN);
    run("dbe3 dd06 d9e8 dbe9"); // fld nan ; fld1 ; fucomi st1
    assertThat(cpu.eflags() & (Flags.ZF | Flags.PF | Flags.CF))
        .isEqualTo(Flags.ZF | Flags.PF | Flags.CF);
    assertThat(sw() & Float80.IE).isZero();
    run("dbe3 d9e8 d9ee dff1"); // fld1 ; fldz ; fcomip st1 -> 0 < 1
    assertThat(cpu.eflags() & (Flags.ZF | Flags.PF | Flags.CF)).isEqualTo(Flags.CF);
    assertThat(fpu().top).isEqualTo(7);
  }

  @Test
  void fxamClassifiesEveryKindOfValue() {
    long[][] values = {
      {0, 0, Fpu.SW_C3}, // zero
      {Float80.INT_BIT, 0x3FFF, Fpu.SW_C2}, // normal
      {1, 0, Fpu.SW_C3 | Fpu.SW_C2}, // denormal
      {Float80.INT_BIT, 0x7FFF, Fpu.SW_C2 | Fpu.SW_C0}, // infinity
      {Float80.INDEF_SIG, 0xFFFF, Fpu.SW_C0 | Fpu.SW_C1}, // NaN, negative
      {0x4000_0000_0000_0000L, 0x3FFF, 0}, // unnormal: unsupported
    };
    for (long[] v : values) {
      mem.write64(DATA, v[0]);
      mem.write16(DATA + 8, (int) v[1]);
      run("dbe3 db2e d9e5");
      assertThat(sw() & Fpu.SW_CC).as("%x:%x", v[1], v[0]).isEqualTo((int) v[2]);
    }
    run("dbe3 d9e5"); // empty
    assertThat(sw() & (Fpu.SW_C0 | Fpu.SW_C2 | Fpu.SW_C3)).isEqualTo(Fpu.SW_C3 | Fpu.SW_C0);
  }

  // ================================================================== stack faults and #MF

  @Test
  void stackOverflowSetsC1AndPushesTheIndefinite() {
    run("dbe3 d9e8 d9e8 d9e8 d9e8 d9e8 d9e8 d9e8 d9e8 d9e8");
    assertThat(sw() & (Float80.IE | Float80.SF | Fpu.SW_C1))
        .isEqualTo(Float80.IE | Float80.SF | Fpu.SW_C1);
    assertThat(fpu().stSe(0)).isEqualTo(Float80.INDEF_SE);
  }

  @Test
  void stackUnderflowClearsC1() {
    run("dbe3 d9e8 d9e0 dec1"); // fld1 ; fchs ; faddp with st1 empty
    assertThat(sw() & (Float80.IE | Float80.SF | Fpu.SW_C1)).isEqualTo(Float80.IE | Float80.SF);
    assertThat(fpu().stSe(0)).isEqualTo(Float80.INDEF_SE);
  }

  @Test
  void unmaskedExceptionIsDeliveredAtTheNextWaitingInstruction() {
    setCw(0x037E); // IE unmasked
    run("d9e8 d9e0 d9fa"); // sqrt(-1): flags only
    assertThat(sw() & Fpu.SW_ES).isNotZero();
    assertThat(fpu().stSe(0)).isEqualTo(0xBFFF);
    assertThat(run("dd36")).isEqualTo(CpuExit.BUDGET); // fnsave does not wait
    run("dd26"); // frstor (waiting, but the state is clean after fnsave's init)
    assertThat(run("9b")).isEqualTo(CpuExit.EXCEPTION);
    assertThat(cpu.exceptionVector()).isEqualTo(Exceptions.MF);
    assertThat(run("dbe2 9b")).isEqualTo(CpuExit.BUDGET); // fnclex ; fwait
  }

  @Test
  void fisttpAndReservedEncodingsAreUndefined() {
    for (String hex : new String[] {"db0e", "dd0e", "df0e", "d9d1", "d9e2", "dae0", "dbe5",
        "ddf0", "ded8", "dfe1", "dff8", "d90e"}) {
      assertThat(run(hex)).as(hex).isEqualTo(CpuExit.EXCEPTION);
      assertThat(cpu.exceptionVector()).isEqualTo(Exceptions.UD);
    }
  }

  /** Converts register values for readable assertions. */
  static final class TranscendentalValues {
    static double toDouble(int se, long sig) {
      return FpuTranscendental.toDouble(se, sig);
    }
  }
}
