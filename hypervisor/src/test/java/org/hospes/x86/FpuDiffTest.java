package org.hospes.x86;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.hospes.hv.testing.TestProperties;
import org.junit.jupiter.api.Test;

/**
 * Differential test of the x87 unit against the host processor's x87.
 *
 * <p>Random cases (a full FSAVE image, an operand buffer, EFLAGS, EAX and one x87 instruction)
 * come from a fixed seed; each runs once on the host through a small C harness (built with gcc
 * into target/) and once on the emulator (FRSTOR, the instruction, FNSAVE), and the registers
 * (all 80 bits), FSW, FTW, FCW, memory, EFLAGS and EAX are compared. The instruction and data
 * pointers are not compared: they hold 64-bit-mode addresses on the host.
 *
 * <p>Properties: {@code hospes.diff.fpu} (cases, default 20000), {@code hospes.diff.fpu.seed},
 * {@code hospes.diff.fpu.only} (a hex instruction prefix to restrict the cases to).
 */
class FpuDiffTest {
  private static final int CODE = 0x1000;
  private static final int STATE = 0x2000;
  private static final int MEMOP = 0x3000;
  private static final int IN_SIZE = 108 + 128 + 4 + 4 + 16;
  private static final int OUT_SIZE = 4 + 108 + 128 + 4 + 4;
  private static final int STATUS_MASK = 0x8D5;

  /** One generated case. */
  static final class Case {
    final byte[] state = new byte[108];
    final byte[] mem = new byte[128];
    int eflags;
    int eax;
    byte[] code;
    String mnemonic;
    boolean transcendental;
    boolean envStore;
    boolean envStore16;
  }

  @Test
  void matchesTheHostX87() throws Exception {
    int count = TestProperties.count("hospes.diff.fpu", 20000);
    long seed = TestProperties.longValue("hospes.diff.fpu.seed", 0x87_87_2026L);
    String only = System.getProperty("hospes.diff.fpu.only", "");
    Path harness = buildHarness();
    boolean sixteen = decodesOperandSize();
    FpuCaseGen gen = new FpuCaseGen(new Random(seed), sixteen);
    List<Case> cases = new ArrayList<>(count);
    while (cases.size() < count) {
      Case k = gen.next();
      if (only.isEmpty() || HexFormat.of().formatHex(k.code).startsWith(only)) {
        cases.add(k);
      }
    }
    long t0 = System.nanoTime();
    byte[] host = runHost(harness, cases);
    long t1 = System.nanoTime();

    MemoryBus mem = new MemoryBus(1 << 20);
    Cpu cpu = new Cpu(mem, new IoBus());
    cpu.resetFlat32();
    cpu.setExceptionExitMask(-1);
    List<String> failures = new ArrayList<>();
    java.util.Map<String, Integer> byOp = new java.util.TreeMap<>();
    int mismatches = 0;
    int hostUd = 0;
    int hostMf = 0;
    for (int n = 0; n < cases.size(); n++) {
      Case k = cases.get(n);
      int hostSignal = ByteBuffer.wrap(host, n * OUT_SIZE, 4).order(ByteOrder.LITTLE_ENDIAN)
          .getInt();
      hostUd += hostSignal == 4 ? 1 : 0;
      hostMf += hostSignal == 8 ? 1 : 0;
      ByteBuffer h = ByteBuffer.wrap(host, n * OUT_SIZE, OUT_SIZE).order(ByteOrder.LITTLE_ENDIAN);
      String diff = compare(cpu, mem, k, h);
      if (diff != null) {
        mismatches++;
        byOp.merge(k.mnemonic, 1, Integer::sum);
        if (failures.size() < 15) {
          failures.add("case " + n + " " + k.mnemonic + " [" + HexFormat.of().formatHex(k.code)
              + "]\n" + diff + "\n  reproduce: mvn -o -q -pl hypervisor test"
              + " -Dtest=FpuDiffTest -Dhospes.diff.fpu=" + (n + 1) + " -Dhospes.diff.fpu.seed="
              + seed + (only.isEmpty() ? "" : " -Dhospes.diff.fpu.only=" + only));
        }
      }
    }
    long t2 = System.nanoTime();
    System.out.printf("FpuDiffTest: %d cases (%d #UD, %d #MF), seed %d, host %d ms, emulator %d ms,"
        + " %d mismatches%s%n", cases.size(), hostUd, hostMf, seed, (t1 - t0) / 1_000_000,
        (t2 - t1) / 1_000_000, mismatches,
        sixteen ? "" : " (16-bit environment forms skipped: the decoder passes no operand size)");
    if (!failures.isEmpty()) {
      fail(mismatches + " of " + cases.size() + " x87 cases differ from the host: " + byOp
          + "\n" + String.join("\n", failures));
    }
  }

  /**
   * Tiny and denormal operands, where the transcendentals' shortcuts and the remainders' pass-
   * through live: FSIN, FCOS, FSINCOS, FPTAN and F2XM1 of values below 2^-60 (normal,
   * denormal and pseudo-denormal, either sign), and FPREM and FPREM1 of them by an infinity,
   * each under the four rounding modes with underflow masked and unmasked. The random cases
   * reach these seldom (seed 3939 found the first two mismatches); here every combination runs
   * against the host. Rounding toward zero must take sin x and cos x one unit below x and 1
   * (the smallest denormal's sine a zero), and an unmasked underflow must wrap a denormal
   * dividend that FPREM passes through.
   */
  @Test
  void tinyAndDenormalOperandsMatchTheHostInEveryRoundingMode() throws Exception {
    long[][] values = {
        {0x8000_0000_0000_0001L, 0x3F00}, {0xC000_0000_0000_0000L, 0x3FA0},
        {0x8000_0000_0000_0000L, 0x3FC2}, {0x0000_0000_0000_0001L, 0},
        {0x4000_0000_0000_0000L, 0}, {0x0000_0000_0845_EFBAL, 0},
        {0x8000_0000_0000_0001L, 0}, {0x8000_0000_0000_0000L, 0}};
    byte[][] ops = {{(byte) 0xD9, (byte) 0xFE}, {(byte) 0xD9, (byte) 0xFF},
        {(byte) 0xD9, (byte) 0xFB}, {(byte) 0xD9, (byte) 0xF2}, {(byte) 0xD9, (byte) 0xF0},
        {(byte) 0xD9, (byte) 0xF8}, {(byte) 0xD9, (byte) 0xF5}};
    List<Case> cases = new ArrayList<>();
    for (long[] v : values) {
      for (int sign = 0; sign < 2; sign++) {
        for (byte[] op : ops) {
          boolean remainder = op[1] == (byte) 0xF8 || op[1] == (byte) 0xF5;
          for (int rc = 0; rc < 4; rc++) {
            for (int um = 0; um < 2; um++) {
              int cw = 0x0340 | (um == 0 ? 0x3F : 0x2F) | rc << 10;
              cases.add(edgeCase(cw, (int) v[1] | sign << 15, v[0],
                  remainder ? 0x7FFF : 0x3FFF, Float80.INT_BIT, op, !remainder));
            }
          }
        }
      }
    }
    runAgainstHost(cases, "tiny and denormal operands");
  }

  /**
   * Every pair of special operands in ST0 and ST1 for the register forms whose special cases
   * are tables in the SDM (FYL2X, FYL2XP1, FPATAN, FSCALE, FPREM, FPREM1, the four arithmetic
   * forms and the compares), and every special operand in ST0 for the one-operand forms
   * (FXTRACT, FSQRT, FRNDINT, F2XM1, FSIN, FCOS, FPTAN, FSINCOS, FXAM, FTST). The values are
   * zeros, infinities, NaNs, denormals, pseudo-denormals, unnormals, pseudo-infinities and
   * pseudo-NaNs, ones and their neighbours, and extremes, of either sign. The random cases pair
   * such values seldom: a run of them left most of FYL2X's and FXTRACT's special-case code
   * untouched. The control word cycles through the four rounding modes with every exception
   * masked and with every exception unmasked.
   */
  @Test
  void specialOperandPairsMatchTheHost() throws Exception {
    long[][] values = {
        {0, 0}, {Float80.INT_BIT, 0x3FFF}, {Float80.INT_BIT, 0x4000}, {Float80.INT_BIT, 0x3FFE},
        {Float80.INT_BIT | 1, 0x3FFF}, {-1L, 0x3FFE}, {0xC000_0000_0000_0000L, 0x4000},
        {Float80.INT_BIT, 0x3FFD}, {0xFE00_0000_0000_0000L, 0x4004},
        {Float80.INT_BIT, 0x3FFF + 14}, {Float80.INT_BIT | 0x1234_5678L, 0x7FFE},
        {Float80.INT_BIT, 1}, {1, 0}, {0x4000_0000_0000_0000L, 0}, {Float80.INT_BIT, 0},
        {Float80.INT_BIT, 0x7FFF}, {0xC000_0000_0000_0000L, 0x7FFF},
        {Float80.INT_BIT | 1, 0x7FFF}, {0x4000_0000_0000_0000L, 0x3FFF}, {0, 0x7FFF},
        {0x4000_0000_0000_0001L, 0x7FFF}, {0xB504_F333_F9DE_6484L, 0x3FFE}};
    byte[][] pairOps = {{(byte) 0xD9, (byte) 0xF1}, {(byte) 0xD9, (byte) 0xF9},
        {(byte) 0xD9, (byte) 0xF3}, {(byte) 0xD9, (byte) 0xFD}, {(byte) 0xD9, (byte) 0xF8},
        {(byte) 0xD9, (byte) 0xF5}, {(byte) 0xD8, (byte) 0xC1}, {(byte) 0xD8, (byte) 0xE1},
        {(byte) 0xD8, (byte) 0xC9}, {(byte) 0xD8, (byte) 0xF1}, {(byte) 0xD8, (byte) 0xD1},
        {(byte) 0xDD, (byte) 0xE1}, {(byte) 0xDB, (byte) 0xF1}, {(byte) 0xDB, (byte) 0xE9}};
    byte[][] singleOps = {{(byte) 0xD9, (byte) 0xF4}, {(byte) 0xD9, (byte) 0xFA},
        {(byte) 0xD9, (byte) 0xFC}, {(byte) 0xD9, (byte) 0xF0}, {(byte) 0xD9, (byte) 0xFE},
        {(byte) 0xD9, (byte) 0xFF}, {(byte) 0xD9, (byte) 0xF2}, {(byte) 0xD9, (byte) 0xFB},
        {(byte) 0xD9, (byte) 0xE5}, {(byte) 0xD9, (byte) 0xE4}};
    List<Case> cases = new ArrayList<>();
    int turn = 0;
    for (long[] a : values) {
      for (int signA = 0; signA < 2; signA++) {
        for (byte[] op : singleOps) {
          for (int cwTurn = 0; cwTurn < 8; cwTurn++) {
            cases.add(edgeCase(specialControlWord(cwTurn), (int) a[1] | signA << 15, a[0],
                0x3FFF, Float80.INT_BIT, op, isTranscendental(op)));
          }
        }
        for (long[] b : values) {
          for (int signB = 0; signB < 2; signB++) {
            for (byte[] op : pairOps) {
              cases.add(edgeCase(specialControlWord(turn++), (int) a[1] | signA << 15, a[0],
                  (int) b[1] | signB << 15, b[0], op, isTranscendental(op)));
            }
          }
        }
      }
    }
    runAgainstHost(cases, "special operands");
  }

  /** The {@code turn}th of eight control words: each rounding mode, exceptions masked or not. */
  private static int specialControlWord(int turn) {
    int rc = turn & 3;
    boolean unmasked = (turn & 4) != 0;
    return 0x0340 | (unmasked ? 0 : 0x3F) | rc << 10;
  }

  private static boolean isTranscendental(byte[] op) {
    int m = op[1] & 0xFF;
    return op[0] == (byte) 0xD9 && (m == 0xF0 || m == 0xF1 || m == 0xF2 || m == 0xF3
        || m == 0xF9 || m == 0xFB || m == 0xFE || m == 0xFF);
  }

  /**
   * A case with ST0 = {@code se0:sig0}, ST1 = {@code se1:sig1} and the other registers empty,
   * TOP 0, no flags pending, the given control word and instruction.
   */
  private static Case edgeCase(int cw, int se0, long sig0, int se1, long sig1, byte[] code,
      boolean transcendental) {
    Case k = new Case();
    ByteBuffer b = ByteBuffer.wrap(k.state).order(ByteOrder.LITTLE_ENDIAN);
    int tw = 0xFFFF & ~0xF | tag(se0, sig0) | tag(se1, sig1) << 2;
    b.putInt(0, 0xFFFF_0000 | cw);
    b.putInt(4, 0xFFFF_0000);
    b.putInt(8, 0xFFFF_0000 | tw);
    b.putLong(28, sig0);
    b.putShort(36, (short) se0);
    b.putLong(38, sig1);
    b.putShort(46, (short) se1);
    k.code = code;
    k.mnemonic = String.format("%02x %02x", code[0] & 0xFF, code[1] & 0xFF);
    k.transcendental = transcendental;
    return k;
  }

  private static int tag(int se, long sig) {
    int cls = Float80.classify(se, sig);
    return cls == Float80.ZERO ? 1 : cls == Float80.NORMAL ? 0 : 2;
  }

  /** Runs {@code cases} on the host and on the emulator and fails with the first differences. */
  private static void runAgainstHost(List<Case> cases, String what) throws Exception {
    byte[] host = runHost(buildHarness(), cases);
    MemoryBus mem = new MemoryBus(1 << 20);
    Cpu cpu = new Cpu(mem, new IoBus());
    cpu.resetFlat32();
    cpu.setExceptionExitMask(-1);
    List<String> failures = new ArrayList<>();
    for (int n = 0; n < cases.size(); n++) {
      Case k = cases.get(n);
      ByteBuffer h = ByteBuffer.wrap(host, n * OUT_SIZE, OUT_SIZE).order(ByteOrder.LITTLE_ENDIAN);
      String diff = compare(cpu, mem, k, h);
      if (diff != null) {
        failures.add(k.mnemonic + "\n" + diff);
      }
    }
    System.out.printf("FpuDiffTest: %d cases of %s, %d mismatches%n", cases.size(), what,
        failures.size());
    if (!failures.isEmpty()) {
      fail(failures.size() + " of " + cases.size() + " cases of " + what + " differ from the"
          + " host:\n" + String.join("\n", failures.subList(0, Math.min(12, failures.size()))));
    }
  }

  /**
   * Whether the decoder hands the operand size to the x87 unit: 66 D9 36 (FNSTENV with a
   * 16-bit operand size) must write 14 bytes, not 28.
   */
  private static boolean decodesOperandSize() {
    MemoryBus mem = new MemoryBus(1 << 20);
    Cpu cpu = new Cpu(mem, new IoBus());
    cpu.resetFlat32();
    cpu.setExceptionExitMask(-1);
    byte[] fill = new byte[32];
    java.util.Arrays.fill(fill, (byte) 0x5A);
    mem.write(MEMOP, fill, 0, 32);
    mem.write(CODE, new byte[] {0x66, (byte) 0xD9, 0x36}, 0, 3);
    cpu.setReg(Cpu.ESI, MEMOP);
    cpu.setEip(CODE);
    cpu.run(1);
    return mem.read8(MEMOP + 20) == 0x5A;
  }

  // ================================================================== host side

  private static Path buildHarness() throws IOException, InterruptedException {
    return HostHarness.build("fpu/x87harness.c", "x87harness");
  }

  private static byte[] runHost(Path harness, List<Case> cases) throws Exception {
    List<byte[]> records = new ArrayList<>(cases.size());
    for (Case k : cases) {
      ByteBuffer b = ByteBuffer.allocate(IN_SIZE).order(ByteOrder.LITTLE_ENDIAN);
      b.put(k.state).put(k.mem).putInt(k.eflags).putInt(k.eax);
      b.put((byte) k.code.length).put(k.code);
      while (b.position() < IN_SIZE) {
        b.put((byte) 0x90);
      }
      records.add(b.array());
    }
    return HostHarness.run(harness, records, OUT_SIZE);
  }

  // ================================================================== emulator side and compare

  private static String compare(Cpu cpu, MemoryBus mem, Case k, ByteBuffer h) {
    byte[] code = new byte[k.code.length + 4];
    code[0] = (byte) 0xDD;
    code[1] = 0x23; // frstor [ebx]
    System.arraycopy(k.code, 0, code, 2, k.code.length);
    code[code.length - 2] = (byte) 0xDD;
    code[code.length - 1] = 0x33; // fnsave [ebx]
    mem.write(CODE, code, 0, code.length);
    mem.write(STATE, k.state, 0, 108);
    mem.write(MEMOP, k.mem, 0, 128);
    cpu.setReg(Cpu.EBX, STATE);
    cpu.setReg(Cpu.ESI, MEMOP);
    cpu.setReg(Cpu.EAX, k.eax);
    cpu.setEflags((k.eflags & STATUS_MASK) | 0x202);
    cpu.setEip(CODE);
    int exit = cpu.run(3);
    int emuSignal = 0;
    if (exit == CpuExit.EXCEPTION) {
      int v = cpu.exceptionVector();
      emuSignal = v == Exceptions.UD ? 4 : v == Exceptions.MF ? 8 : 100 + v;
      // Leave the unit in a known state for the next case.
      cpu.fpu.reset();
    }
    int hostSignal = h.getInt();
    byte[] hs = new byte[108];
    h.get(hs);
    byte[] hm = new byte[128];
    h.get(hm);
    int hFlags = h.getInt();
    int hEax = h.getInt();
    StringBuilder sb = new StringBuilder();
    if (hostSignal != emuSignal) {
      sb.append("  signal: host ").append(hostSignal).append(" emulator ").append(emuSignal)
          .append(" (4 = SIGILL/#UD, 8 = SIGFPE/#MF)\n");
      return sb.toString() + "  input " + describe(k.state);
    }
    if (hostSignal != 0) {
      return null;
    }
    byte[] es = new byte[108];
    mem.read(STATE, es, 0, 108);
    byte[] em = new byte[128];
    mem.read(MEMOP, em, 0, 128);
    int eFlags = cpu.eflags();
    int eEax = cpu.reg(Cpu.EAX);

    boolean bad = false;
    ByteBuffer hb = ByteBuffer.wrap(hs).order(ByteOrder.LITTLE_ENDIAN);
    ByteBuffer eb = ByteBuffer.wrap(es).order(ByteOrder.LITTLE_ENDIAN);
    int swMask = k.transcendental ? ~(Fpu.SW_C1 | Float80.PE) : ~0;
    int tagMask = 0xFFFF;
    int top = (hb.getShort(4) >>> 11) & 7;
    for (int i = 0; i < 8; i++) {
      int off = 28 + 10 * i;
      long hsig = hb.getLong(off);
      int hse = hb.getShort(off + 8) & 0xFFFF;
      long esig = eb.getLong(off);
      int ese = eb.getShort(off + 8) & 0xFFFF;
      if (hsig != esig || hse != ese) {
        boolean unmaskedUe = (hb.getShort(0) & Float80.UE) == 0;
        if (!k.transcendental) {
          bad = true;
        } else if (closeAcrossUnderflow(hse, hsig, ese, esig, unmaskedUe)
            || close(hse, hsig, ese, esig)
            && Float80.classify(hse, hsig) != Float80.classify(ese, esig)) {
          // Within the tolerance, but on either side of the smallest normal (or of the
          // smallest denormal): the tag and UE follow from which side each landed on.
          tagMask &= ~(3 << 2 * ((top + i) & 7));
          swMask &= ~Float80.UE;
        } else if (!close(hse, hsig, ese, esig)) {
          bad = true;
        }
      }
    }
    for (int off = 0; off < 12; off += 2) {
      int mask = off == 4 ? swMask & 0xFFFF : off == 8 ? tagMask : 0xFFFF;
      if ((hb.getShort(off) & mask) != (eb.getShort(off) & mask)) {
        bad = true;
      }
    }
    for (int i = 0; i < 128; i++) {
      if ((k.envStore && i >= 12 && i < 28) || (k.envStore16 && i >= 6 && i < 14)) {
        continue;
      }
      if (hm[i] != em[i]) {
        bad = true;
      }
    }
    if ((hFlags & STATUS_MASK) != (eFlags & STATUS_MASK) || hEax != eEax) {
      bad = true;
    }
    if (!bad) {
      return null;
    }
    sb.append("  input    ").append(describe(k.state)).append('\n');
    sb.append("  host     ").append(describe(hs)).append('\n');
    sb.append("  emulator ").append(describe(es)).append('\n');
    sb.append("  mem in   ").append(HexFormat.of().formatHex(k.mem, 0, 16)).append('\n');
    sb.append("  mem host ").append(HexFormat.of().formatHex(hm, 0, 32)).append('\n');
    sb.append("  mem emu  ").append(HexFormat.of().formatHex(em, 0, 32)).append('\n');
    sb.append(String.format("  eflags in %03x host %03x emu %03x; eax in %08x host %08x emu %08x",
        k.eflags & STATUS_MASK, hFlags & STATUS_MASK, eFlags & STATUS_MASK, k.eax, hEax, eEax));
    return sb.toString();
  }

  /**
   * Transcendental results (computed in double precision by the emulator): equal sign, both
   * finite, and within 2^-45 relative or two units in the last place.
   */
  private static boolean close(int hse, long hsig, int ese, long esig) {
    if (hse == ese && Math.abs(hsig - esig) <= 2) {
      return true;
    }
    int hc = Float80.classify(hse, hsig);
    int ec = Float80.classify(ese, esig);
    boolean finite = (hc == Float80.NORMAL || hc == Float80.DENORMAL)
        && (ec == Float80.NORMAL || ec == Float80.DENORMAL);
    if (!finite || (hse & 0x8000) != (ese & 0x8000)) {
      return false;
    }
    int he = Float80.exponent(hse, hsig);
    int ee = Float80.exponent(ese, esig);
    double a = Math.scalb((double) (Float80.significand(hsig) >>> 1), he - ee - 62);
    double b = Math.scalb((double) (Float80.significand(esig) >>> 1), -62);
    return Math.abs(a - b) <= Math.scalb(Math.max(Math.abs(a), Math.abs(b)), -45);
  }

  /**
   * Transcendental results within the tolerance of {@link #close} that lie on either side of
   * the smallest normal (2^-16382): a denormal, or with underflow unmasked a result whose
   * exponent was wrapped by 24,576, against a normal.
   */
  private static boolean closeAcrossUnderflow(int hse, long hsig, int ese, long esig,
      boolean unmaskedUe) {
    if ((hse & 0x8000) != (ese & 0x8000)) {
      return false;
    }
    double h = magnitude(hse, hsig, unmaskedUe);
    double e = magnitude(ese, esig, unmaskedUe);
    double boundary = Math.scalb(1.0, -16382 + 16400);
    boolean straddles = Math.min(h, e) <= boundary && Math.max(h, e) >= boundary;
    return straddles && Math.abs(h - e) <= Math.scalb(Math.max(h, e), -45);
  }

  /**
   * |value| scaled by 2^16400 (so that denormals are doubles), with a wrapped exponent (above
   * 0x5000 when underflow is unmasked) unwrapped.
   */
  private static double magnitude(int se, long sig, boolean unmaskedUe) {
    int exp = se & 0x7FFF;
    if (unmaskedUe && exp >= 0x5000 && exp != 0x7FFF) {
      exp -= 0x6000;
    }
    int e = (se & 0x7FFF) == 0 ? -16382 : exp - 0x3FFF;
    return Math.scalb((double) (sig >>> 11), e - 52 + 16400);
  }

  static String describe(byte[] s) {
    ByteBuffer b = ByteBuffer.wrap(s).order(ByteOrder.LITTLE_ENDIAN);
    StringBuilder sb = new StringBuilder();
    sb.append(String.format("cw=%04x sw=%04x tw=%04x |", b.getShort(0) & 0xFFFF,
        b.getShort(4) & 0xFFFF, b.getShort(8) & 0xFFFF));
    for (int i = 0; i < 8; i++) {
      int off = 28 + 10 * i;
      sb.append(String.format(" st%d=%04x:%016x", i, b.getShort(off + 8) & 0xFFFF,
          b.getLong(off)));
    }
    return sb.toString();
  }
}
