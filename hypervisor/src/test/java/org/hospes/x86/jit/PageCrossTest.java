package org.hospes.x86.jit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.hospes.hv.testing.TestProperties;
import org.hospes.x86.Cpu;
import org.hospes.x86.CpuExit;
import org.hospes.x86.MemoryBus;
import org.junit.jupiter.api.Test;

/**
 * Memory accesses that straddle a 4 KiB page boundary, under every engine (interp, jit,
 * lockstep), against a model of what the real CPU does. The model's rules are the host CPU's
 * answers for the same shapes, printed by {@code hypervisor/src/test/native/pagecross/pagecross.c}
 * and kept verbatim in {@link #HOST}; {@link #theModelGivesTheHostCpusAnswers} holds the model to
 * them:
 * <ul>
 *   <li>the access is checked page by page, the low page first: a fault of the low page reports
 *       CR2 = the access's first byte, a fault of the high page alone CR2 = the high page's base;
 *   <li>a read-modify-write (ADD, INC, XCHG, CMPXCHG, ...) is checked as a write on both pages
 *       before anything is read (W set in the error code even when the low page is absent);
 *   <li>a faulting store, PUSH or read-modify-write writes nothing to either page;
 *   <li>MOVS reads its source before it writes its destination, PUSH m reads the operand before
 *       the stack, POP m reads the stack before writing the operand; a REP string instruction
 *       faults at an element with ESI, EDI and ECX counting only the elements before it.
 * </ul>
 * Cases are generated from a fixed seed (printed on failure; {@code -Dhospes.pagecross.seed=S},
 * {@code -Dhospes.pagecross.cases=N}, {@code -Dhospes.pagecross.form=NAME}): loads, stores,
 * read-modify-writes, PUSH/POP and string instructions, word and dword, at offsets 0xFFD-0xFFF
 * of a page (string instructions also a few elements before the boundary), where each of the
 * four pages involved is present and writable, not present, read-only or supervisor-only, at
 * CPL 0 and 3 with CR0.WP set. A case that faults must give the model's vector, error code, CR2
 * (the address the #PF reports, {@link Cpu#faultAddress}: exceptions leave the run; a CPL-3
 * case runs once more with the #PF delivered, for CR2 itself and the pushed error code), EIP,
 * registers, flags and memory; one that completes must end
 * exactly as the same instruction on the same bytes in the middle of a page (interpreted).
 * Each case runs three times on one processor, so that under jit and lockstep its block is
 * translated (threshold 2) for the third run. The lockstep engine compares blocks with split
 * stores too (its undo journal takes each page's part of a store; {@link
 * LockstepSplitStoreTest}), so its own check sees these cases as well.
 */
class PageCrossTest {
  private static final long DEFAULT_SEED = 0x0FFD_0FFE_0FFFL;
  private static final long SEED = TestProperties.longValue("hospes.pagecross.seed", DEFAULT_SEED);
  private static final int CASES = TestProperties.count("hospes.pagecross.cases", 500);
  /** One form only (its name), to chase a failure: {@code -Dhospes.pagecross.form=STORE32}. */
  private static final String ONLY = System.getProperty("hospes.pagecross.form", "");
  private static final int RUNS = 3;

  private static final int RAM = 1 << 22;
  private static final int PD = 0x10000;
  private static final int PT = 0x11000;
  private static final int CODE = 0x4000;
  /** The instruction under test, after a NOP. */
  private static final int INSN = CODE + 1;
  /** Region 0: pages A and B; region 1: pages C and D. Each case straddles A/B and C/D. */
  private static final int R0 = 0x300000;
  private static final int R1 = 0x302000;
  private static final int PAGES = 4;
  /** Bytes either side of each region's boundary that a case fills. */
  private static final int W = 0x100;
  /** The completed-case reference runs the same bytes this much lower, inside pages A and C. */
  private static final int SHIFT = 0x800;
  /** The tables for delivering a #PF from CPL 3 (GDT as a kernel's, TSS, IDT) and its handler. */
  private static final int SETUP = 0x1000;
  private static final int HANDLER = 0x3000;
  private static final int STACK0 = 0x9000;
  private static final int GDT = 0x20000;
  private static final int TSS = 0x21000;
  private static final int IDT = 0x22000;
  private static final int ARITH = 0x8D5; // CF PF AF ZF SF OF
  private static final int DF = 0x400;

  /** A page's PTE flags (besides the frame). */
  enum Page {
    OK(7), NOT_PRESENT(6), READ_ONLY(5), SUPERVISOR(3);

    final int pte;

    Page(int pte) {
      this.pte = pte;
    }
  }

  enum Shape { READ, WRITE, RMW, PUSH, POP, PUSH_MEM, POP_MEM, MOVS, STOS, LODS, CMPS, SCAS }

  /** Operands: [EBX] (r/m 03, reg EAX; 0B: reg ECX), the stack at ESP, ESI and EDI. */
  enum Form {
    LOAD32("8b03", 4, Shape.READ), LOAD16("668b03", 2, Shape.READ),
    MOVZX16("0fb703", 2, Shape.READ), ADD_LOAD32("0303", 4, Shape.READ),
    CMP32("3903", 4, Shape.READ), CMP16("663903", 2, Shape.READ),
    STORE32("8903", 4, Shape.WRITE), STORE16("668903", 2, Shape.WRITE),
    STORE_IMM32("c703efcdab89", 4, Shape.WRITE), STORE_IMM16("66c7033412", 2, Shape.WRITE),
    ADD32("0103", 4, Shape.RMW), ADD16("660103", 2, Shape.RMW), SUB32("290b", 4, Shape.RMW),
    ADC16("66110b", 2, Shape.RMW), INC32("ff03", 4, Shape.RMW), INC16("66ff03", 2, Shape.RMW),
    DEC32("ff0b", 4, Shape.RMW), NEG32("f71b", 4, Shape.RMW), NOT16("66f713", 2, Shape.RMW),
    SHL32("d123", 4, Shape.RMW), ROR16("66c10b05", 2, Shape.RMW),
    XCHG32("8703", 4, Shape.RMW), XCHG16("668703", 2, Shape.RMW),
    CMPXCHG32("f00fb10b", 4, Shape.RMW), CMPXCHG16("660fb10b", 2, Shape.RMW),
    XADD32("0fc10b", 4, Shape.RMW), LOCK_ADD32("f00103", 4, Shape.RMW),
    PUSH32("50", 4, Shape.PUSH), PUSH16("6650", 2, Shape.PUSH),
    PUSH_IMM32("6878563412", 4, Shape.PUSH), POP32("58", 4, Shape.POP), POP16("6658", 2, Shape.POP),
    PUSH_MEM32("ff33", 4, Shape.PUSH_MEM), PUSH_MEM16("66ff33", 2, Shape.PUSH_MEM),
    POP_MEM32("8f03", 4, Shape.POP_MEM), POP_MEM16("668f03", 2, Shape.POP_MEM),
    MOVSD("a5", 4, Shape.MOVS), MOVSW("66a5", 2, Shape.MOVS), STOSD("ab", 4, Shape.STOS),
    STOSW("66ab", 2, Shape.STOS), LODSD("ad", 4, Shape.LODS), LODSW("66ad", 2, Shape.LODS),
    CMPSD("a7", 4, Shape.CMPS), CMPSW("66a7", 2, Shape.CMPS), SCASD("af", 4, Shape.SCAS),
    SCASW("66af", 2, Shape.SCAS);

    final byte[] code;
    final int size;
    final Shape shape;

    Form(String hex, int size, Shape shape) {
      this.code = HexFormat.of().parseHex(hex);
      this.size = size;
      this.shape = shape;
    }

    boolean string() {
      return shape.ordinal() >= Shape.MOVS.ordinal();
    }
  }

  /**
   * One case: the form, CPL, the four pages' states, REP prefix (0 none, 0xF3, 0xF2), the
   * registers (EBX, ESP, ESI, EDI point into the regions), EFLAGS, and the bytes around the
   * two boundaries ({@code 2 * W} each, centred on R0 + 0x1000 and R1 + 0x1000).
   */
  record Case(Form form, int cpl, Page[] pages, int rep, int[] regs, int eflags, byte[] win0,
      byte[] win1) {
    /**
     * NOP, the instruction, HLT. The translator takes a block only if it handles one of its
     * instructions itself, and it runs most of these forms through the interpreter's dispatch
     * from inside the translation: the NOP makes every case's block a translation under jit
     * (under lockstep, translations stop before the first instruction they do not handle).
     */
    byte[] code() {
      byte[] c = new byte[1 + form.code.length + (rep != 0 ? 1 : 0) + 1];
      c[0] = (byte) 0x90;
      int at = 1;
      if (rep != 0) {
        c[at++] = (byte) rep;
      }
      System.arraycopy(form.code, 0, c, at, form.code.length);
      c[c.length - 1] = (byte) 0xF4; // hlt (#GP at CPL 3)
      return c;
    }

    @Override
    public String toString() {
      return String.format("%s%s cpl %d pages A..D %s eax %08x ebx %08x ecx %08x esp %08x"
          + " esi %08x edi %08x eflags %08x", rep == 0 ? "" : rep == 0xF3 ? "rep " : "repne ",
          form, cpl, Arrays.toString(pages), regs[Cpu.EAX], regs[Cpu.EBX], regs[Cpu.ECX],
          regs[Cpu.ESP], regs[Cpu.ESI], regs[Cpu.EDI], eflags);
    }
  }

  record Fault(int error, int cr2) {}

  /** The model's answer: the fault (null if none) after {@code done} completed elements. */
  record Expect(Fault fault, int done) {}

  /** What a run left: exit, vector, error, CR2 as the #PF reports it, EIP, registers, flags. */
  record Outcome(int exit, int vector, int error, int cr2, int eip, int[] regs, int eflags,
      byte[] pages) {
    boolean pageFault() {
      return exit == CpuExit.EXCEPTION && vector == 14;
    }

    @Override
    public String toString() {
      StringBuilder s = new StringBuilder(String.format("exit %s vector %d error %x cr2 %08x"
          + " eip %08x eflags %08x regs", CpuExit.name(exit), vector, error, cr2, eip, eflags));
      for (int r : regs) {
        s.append(String.format(" %08x", r));
      }
      return s.toString();
    }
  }

  // ================================================================== the model

  /** The #PF error code an access to page {@code p} raises, or -1 if it is allowed (WP=1). */
  static int pageError(Page p, boolean write, int cpl) {
    int w = write ? 2 : 0;
    int u = cpl == 3 ? 4 : 0;
    return switch (p) {
      case NOT_PRESENT -> w | u;
      case SUPERVISOR -> cpl == 3 ? 1 | w | u : -1;
      case READ_ONLY -> write ? 1 | w | u : -1;
      case OK -> -1;
    };
  }

  private static Page pageOf(Case c, int lin) {
    int idx = (lin - R0) >> 12;
    return idx >= 0 && idx < PAGES ? c.pages[idx] : Page.OK;
  }

  /** The low page first (CR2 = the first byte), then the high page (CR2 = its base). */
  static Fault check(Case c, int lin, int size, boolean write) {
    int e = pageError(pageOf(c, lin), write, c.cpl);
    if (e >= 0) {
      return new Fault(e, lin);
    }
    if ((lin & 0xFFF) + size > 0x1000) {
      int high = (lin | 0xFFF) + 1;
      e = pageError(pageOf(c, high), write, c.cpl);
      if (e >= 0) {
        return new Fault(e, high);
      }
    }
    return null;
  }

  private static Fault both(Fault first, Case c, int lin, int size, boolean write) {
    return first != null ? first : check(c, lin, size, write);
  }

  static Expect expect(Case c) {
    int size = c.form.size;
    int[] r = c.regs;
    switch (c.form.shape) {
      case READ:
        return new Expect(check(c, r[Cpu.EBX], size, false), 0);
      case WRITE:
      case RMW:
        return new Expect(check(c, r[Cpu.EBX], size, true), 0);
      case PUSH:
        return new Expect(check(c, r[Cpu.ESP] - size, size, true), 0);
      case POP:
        return new Expect(check(c, r[Cpu.ESP], size, false), 0);
      case PUSH_MEM:
        return new Expect(both(check(c, r[Cpu.EBX], size, false), c, r[Cpu.ESP] - size, size,
            true), 0);
      case POP_MEM:
        return new Expect(both(check(c, r[Cpu.ESP], size, false), c, r[Cpu.EBX], size, true),
            0);
      default:
        break;
    }
    byte[] image = image(c);
    int n = c.rep == 0 ? 1 : c.regs[Cpu.ECX];
    int step = (c.eflags & DF) != 0 ? -size : size;
    for (int i = 0; i < n; i++) {
      int si = r[Cpu.ESI] + i * step;
      int di = r[Cpu.EDI] + i * step;
      Fault f = switch (c.form.shape) {
        case MOVS -> both(check(c, si, size, false), c, di, size, true);
        case STOS -> check(c, di, size, true);
        case LODS -> check(c, si, size, false);
        case CMPS -> both(check(c, si, size, false), c, di, size, false);
        default -> check(c, di, size, false);
      };
      if (f != null) {
        return new Expect(f, i);
      }
      if (c.rep != 0 && (c.form.shape == Shape.CMPS || c.form.shape == Shape.SCAS)) {
        int a = c.form.shape == Shape.CMPS ? value(image, si, size) : r[Cpu.EAX];
        boolean equal = ((a ^ value(image, di, size)) & mask(size)) == 0;
        if (c.rep == 0xF3 ? !equal : equal) {
          return new Expect(null, i + 1);
        }
      }
    }
    return new Expect(null, n);
  }

  /**
   * The state a fault leaves: the registers, flags and memory after the {@code done} elements
   * of a string instruction before the faulting one (none for the other forms).
   */
  static Outcome faultState(Case c, Expect e) {
    int[] r = c.regs.clone();
    int flags = c.eflags;
    byte[] image = image(c);
    Form f = c.form;
    int size = f.size;
    int step = (c.eflags & DF) != 0 ? -size : size;
    for (int i = 0; i < e.done; i++) {
      int si = c.regs[Cpu.ESI] + i * step;
      int di = c.regs[Cpu.EDI] + i * step;
      switch (f.shape) {
        case MOVS -> store(image, di, size, value(image, si, size));
        case STOS -> store(image, di, size, c.regs[Cpu.EAX]);
        case LODS -> r[Cpu.EAX] = size == 4 ? value(image, si, 4)
            : (r[Cpu.EAX] & 0xFFFF_0000) | value(image, si, 2);
        case CMPS -> flags = (flags & ~ARITH)
            | subFlags(value(image, si, size), value(image, di, size), size);
        case SCAS -> flags = (flags & ~ARITH)
            | subFlags(c.regs[Cpu.EAX] & mask(size), value(image, di, size), size);
        default -> throw new AssertionError(f);
      }
    }
    if (f.string()) {
      if (f.shape != Shape.STOS && f.shape != Shape.SCAS) {
        r[Cpu.ESI] += e.done * step;
      }
      if (f.shape != Shape.LODS) {
        r[Cpu.EDI] += e.done * step;
      }
      if (c.rep != 0) {
        r[Cpu.ECX] -= e.done;
      }
    }
    return new Outcome(CpuExit.EXCEPTION, 14, e.fault.error, e.fault.cr2, INSN, r, flags,
        image);
  }

  /** CF PF AF ZF SF OF of {@code a - b} at {@code size} bytes (CMPS, SCAS). */
  static int subFlags(int a, int b, int size) {
    int bits = size * 8;
    long m = (1L << bits) - 1;
    long ua = a & m;
    long ub = b & m;
    long res = (ua - ub) & m;
    int f = 0;
    if (ua < ub) {
      f |= 0x1;
    }
    if (Integer.bitCount((int) (res & 0xFF)) % 2 == 0) {
      f |= 0x4;
    }
    if (((ua ^ ub ^ res) & 0x10) != 0) {
      f |= 0x10;
    }
    if (res == 0) {
      f |= 0x40;
    }
    if ((res >>> (bits - 1) & 1) != 0) {
      f |= 0x80;
    }
    if ((((ua ^ ub) & (ua ^ res)) >>> (bits - 1) & 1) != 0) {
      f |= 0x800;
    }
    return f;
  }

  private static int mask(int size) {
    return size == 4 ? -1 : 0xFFFF;
  }

  /** Pages A..D as the case starts them: zero but for the two windows. */
  static byte[] image(Case c) {
    byte[] image = new byte[PAGES << 12];
    System.arraycopy(c.win0, 0, image, 0x1000 - W, 2 * W);
    System.arraycopy(c.win1, 0, image, 0x3000 - W, 2 * W);
    return image;
  }

  private static int value(byte[] image, int lin, int size) {
    int v = 0;
    for (int k = 0; k < size; k++) {
      v |= (image[lin - R0 + k] & 0xFF) << (8 * k);
    }
    return v;
  }

  private static void store(byte[] image, int lin, int size, int v) {
    for (int k = 0; k < size; k++) {
      image[lin - R0 + k] = (byte) (v >>> (8 * k));
    }
  }

  // ================================================================== the machine

  /**
   * A processor under {@code engine} with 2-level paging (identity, user and writable, but for
   * pages A..D as the case says), CR0.WP set, flat segments at the case's CPL, exceptions
   * leaving {@link Cpu#run}.
   */
  private static Cpu machine(Engine engine, Case c) {
    MemoryBus mem = new MemoryBus(RAM);
    for (int i = 0; i < RAM >>> 12; i++) {
      mem.write32(PT + 4L * i, (i << 12) | 7);
    }
    mem.write32(PD, PT | 7);
    byte[] code = c.code();
    mem.write(CODE, code, 0, code.length);
    // Ring-0 and ring-3 flat code and data at 0x08, 0x10, 0x1B, 0x23; the TSS at 0x28 (ESP0
    // STACK0, SS0 0x10); an interrupt gate for #PF to 0x08:HANDLER, which halts.
    int[] gdt = {0, 0, 0xFFFF, 0x00CF9A00, 0xFFFF, 0x00CF9200, 0xFFFF, 0x00CFFA00, 0xFFFF,
        0x00CFF200, (TSS << 16) | 0x67, 0x8B00 | (TSS >>> 16)};
    for (int i = 0; i < gdt.length; i++) {
      mem.write32(GDT + 4L * i, gdt[i]);
    }
    mem.write32(TSS + 4, STACK0);
    mem.write32(TSS + 8, 0x10);
    mem.write32(IDT + 8L * 14, (0x08 << 16) | (HANDLER & 0xFFFF));
    mem.write32(IDT + 8L * 14 + 4, (HANDLER & 0xFFFF_0000) | 0x8E00);
    mem.write8(HANDLER, 0xF4);
    // lidt [SETUP + 16] ; hlt, with the IDTR image at SETUP + 16.
    mem.write(SETUP, HexFormat.of().parseHex("0f011d" + le(SETUP + 16) + "f4"), 0, 8);
    mem.write32(SETUP + 16, (IDT << 16) | 0x7FF);
    mem.write32(SETUP + 20, IDT >>> 16);
    Cpu cpu = TranslatorTest.cpu(engine, mem);
    cpu.resetFlat32();
    cpu.loadControlRegisters(Cpu.CR0_PE | Cpu.CR0_PG | Cpu.CR0_WP, PD, 0);
    cpu.setGdtr(GDT, gdt.length * 4 - 1);
    cpu.setTaskRegister(0x28, TSS, 0x67);
    cpu.setEip(SETUP);
    assertThat(cpu.run(10)).isEqualTo(CpuExit.HLT);
    if (c.cpl == 3) {
      for (int s = 0; s < 6; s++) {
        int sel = s == Cpu.CS ? 0x1B : 0x23;
        cpu.loadSegmentState(s, sel, 0, -1, cpu.segmentAttributes(s) | (3 << 5));
      }
      cpu.loadCpl(3);
    }
    cpu.setExceptionExitMask(-1);
    return cpu;
  }

  /** Sets the case's page tables, memory, registers and flags, and runs it once. */
  private static Outcome run(Cpu cpu, Case c, boolean reference) {
    MemoryBus mem = cpu.memory();
    for (int p = 0; p < PAGES; p++) {
      int pte = reference ? Page.OK.pte : c.pages[p].pte;
      mem.write32(PT + 4L * ((R0 >>> 12) + p), ((R0 >>> 12) + p) << 12 | pte);
    }
    byte[] image = image(c);
    int shift = reference ? SHIFT : 0;
    if (reference) {
      byte[] moved = new byte[image.length];
      System.arraycopy(image, 0x1000 - W, moved, 0x1000 - W - SHIFT, 2 * W);
      System.arraycopy(image, 0x3000 - W, moved, 0x3000 - W - SHIFT, 2 * W);
      image = moved;
    }
    mem.write(R0, image, 0, image.length);
    for (int r = 0; r < 8; r++) {
      cpu.setReg(r, addressRegister(r) ? c.regs[r] - shift : c.regs[r]);
    }
    cpu.setEflags(c.eflags);
    cpu.setEip(CODE);
    int exit = cpu.run(100);
    int[] regs = new int[8];
    for (int r = 0; r < 8; r++) {
      regs[r] = cpu.reg(r) + (addressRegister(r) ? shift : 0);
    }
    byte[] pages = new byte[PAGES << 12];
    mem.read(R0, pages, 0, pages.length);
    boolean exc = exit == CpuExit.EXCEPTION;
    return new Outcome(exit, exc ? cpu.exceptionVector() : -1,
        exc ? cpu.exceptionErrorCode() : -1,
        exc && cpu.exceptionVector() == 14 ? cpu.faultAddress() : -1, cpu.eip(), regs,
        cpu.eflags(), pages);
  }

  private static String le(int v) {
    return String.format("%02x%02x%02x%02x", v & 0xFF, (v >>> 8) & 0xFF, (v >>> 16) & 0xFF,
        v >>> 24);
  }

  /**
   * A CPL-3 case that faults, with the #PF delivered through the IDT instead of leaving the run:
   * CR2 itself, and the error code and EIP the processor pushes on the ring-0 stack.
   */
  private static void assertDelivered(Cpu cpu, Case c, Fault f, String where) {
    cpu.setExceptionExitMask(0);
    run(cpu, c, false);
    cpu.setExceptionExitMask(-1);
    MemoryBus mem = cpu.memory();
    assertThat(cpu.eip()).as(where).isEqualTo(HANDLER + 1);
    assertThat(cpu.cr2()).as("CR2, %s", where).isEqualTo(f.cr2);
    assertThat(mem.read32(STACK0 - 24)).as("pushed error code, %s", where).isEqualTo(f.error);
    assertThat(mem.read32(STACK0 - 20)).as("pushed EIP, %s", where).isEqualTo(INSN);
  }

  private static boolean addressRegister(int r) {
    return r == Cpu.EBX || r == Cpu.ESP || r == Cpu.ESI || r == Cpu.EDI;
  }

  /**
   * The outcome the case must have: the model's fault state, or the reference run's (the same
   * bytes in the middle of pages A and C, interpreted), moved back to the boundary.
   */
  private static Outcome expected(Case c, Expect e) {
    if (e.fault != null) {
      return faultState(c, e);
    }
    Outcome ref = run(machine(Engine.INTERP, c), c, true);
    byte[] pages = new byte[PAGES << 12];
    System.arraycopy(ref.pages, 0x1000 - W - SHIFT, pages, 0x1000 - W, 2 * W);
    System.arraycopy(ref.pages, 0x3000 - W - SHIFT, pages, 0x3000 - W, 2 * W);
    return new Outcome(ref.exit, ref.vector, ref.error, ref.cr2, ref.eip, ref.regs, ref.eflags,
        pages);
  }

  private static void assertSame(Outcome actual, Outcome want, String where) {
    assertThat(actual.toString()).as(where).isEqualTo(want.toString());
    for (int p = 0; p < PAGES; p++) {
      byte[] a = Arrays.copyOfRange(actual.pages, p << 12, (p + 1) << 12);
      byte[] b = Arrays.copyOfRange(want.pages, p << 12, (p + 1) << 12);
      if (!Arrays.equals(a, b)) {
        int at = Arrays.mismatch(a, b);
        fail(String.format("%s%npage %c differs first at 0x%03x: %02x, expected %02x", where,
            'A' + p, at, a[at] & 0xFF, b[at] & 0xFF));
      }
    }
  }

  // ================================================================== the cases

  private static final Page[] STATES = Page.values();

  /**
   * Where an operand starts in its region: at 0xFFD-0xFFF of the low page, and for string
   * instructions also an element or two before the boundary (ascending) or after it
   * (descending), so that a later element is the one that crosses or faults.
   */
  private static int offset(SplittableRandom rnd, Form form, boolean down) {
    if (!form.string() || rnd.nextBoolean()) {
      return 0xFFD + rnd.nextInt(3);
    }
    return down ? 0x1000 + rnd.nextInt(5) : 0xFF8 + rnd.nextInt(5);
  }

  static Case generate(SplittableRandom rnd) {
    // A third string instructions (12 of the forms), whose REP forms fault part-way.
    Form[] forms = Form.values();
    int strings = Form.MOVSD.ordinal();
    Form form = rnd.nextInt(3) == 0 ? forms[strings + rnd.nextInt(forms.length - strings)]
        : forms[rnd.nextInt(strings)];
    if (!ONLY.isEmpty()) {
      form = Form.valueOf(ONLY);
    }
    int cpl = rnd.nextBoolean() ? 0 : 3;
    Page[] pages = new Page[PAGES];
    // Half the pages fine, so that neither, one and both of a pair fault often; for string
    // instructions three quarters, so that their first elements often complete.
    int odds = form.string() ? 4 : 2;
    for (int p = 0; p < PAGES; p++) {
      pages[p] = rnd.nextInt(odds) != 0 ? Page.OK : STATES[1 + rnd.nextInt(STATES.length - 1)];
    }
    int size = form.size;
    boolean down = form.string() && rnd.nextInt(4) == 0;
    int off0 = offset(rnd, form, down);
    int off1 = offset(rnd, form, down);
    int[] regs = new int[8];
    for (int r = 0; r < 8; r++) {
      regs[r] = rnd.nextInt();
    }
    int rep = 0;
    // The access's first byte at off0 (region 0) or off1 (region 1).
    regs[Cpu.EBX] = form.shape == Shape.PUSH_MEM || form.shape == Shape.POP_MEM
        ? R1 + off1 : R0 + off0;
    regs[Cpu.ESP] = form.shape == Shape.PUSH || form.shape == Shape.PUSH_MEM
        ? R0 + off0 + size : R0 + off0;
    regs[Cpu.ESI] = R0 + off0;
    regs[Cpu.EDI] = R1 + off1;
    if (form.shape == Shape.STOS || form.shape == Shape.SCAS) {
      regs[Cpu.EDI] = R0 + off0;
    }
    if (form.string() && rnd.nextInt(3) != 0) {
      rep = form.shape == Shape.CMPS || form.shape == Shape.SCAS ? (rnd.nextBoolean() ? 0xF3
          : 0xF2) : 0xF3;
      regs[Cpu.ECX] = rnd.nextInt(6);
    }
    int eflags = 0x2 | (rnd.nextInt() & ARITH) | (down ? DF : 0);
    byte[] win0 = new byte[2 * W];
    byte[] win1 = new byte[2 * W];
    rnd.nextBytes(win0);
    rnd.nextBytes(win1);
    if (form.shape == Shape.CMPS && rnd.nextBoolean()) {
      // Equal strings, so that REPE goes on (and REPNE stops).
      System.arraycopy(win0, 0, win1, 0, 2 * W);
    }
    if ((form.shape == Shape.SCAS || form.string()) && rnd.nextBoolean()) {
      int di = regs[Cpu.EDI];
      byte[] win = di >= R1 ? win1 : win0;
      int base = (di >= R1 ? R1 : R0) + 0x1000 - W;
      for (int k = -3; k <= 3; k++) {
        for (int b = 0; b < size; b++) {
          win[di + k * size + b - base] = (byte) (regs[Cpu.EAX] >>> (8 * b));
        }
      }
    }
    if ((form == Form.CMPXCHG32 || form == Form.CMPXCHG16) && rnd.nextBoolean()) {
      // The compare succeeds: EAX holds the operand.
      int v = 0;
      for (int b = 0; b < 4; b++) {
        v |= (win0[off0 - (0x1000 - W) + b] & 0xFF) << (8 * b);
      }
      regs[Cpu.EAX] = size == 4 ? v : (regs[Cpu.EAX] & 0xFFFF_0000) | (v & 0xFFFF);
    }
    return new Case(form, cpl, pages, rep, regs, eflags, win0, win1);
  }

  @Test
  void splitAccessesFaultAndCompleteAsTheModelSaysUnderEveryEngine() {
    SplittableRandom root = new SplittableRandom(SEED);
    int faulted = 0;
    int partial = 0;
    int[] translated = new int[Engine.values().length];
    int delivered = 0;
    long checked = 0;
    long unchecked = 0;
    for (int n = 0; n < CASES; n++) {
      long seed = root.nextLong();
      Case c = generate(new SplittableRandom(seed));
      String where = String.format("case %d, seed 0x%x (base seed 0x%x): %s", n, seed, SEED, c);
      Expect e = expect(c);
      Outcome want = expected(c, e);
      if (e.fault == null) {
        // Completed: the HLT after it (a #GP at CPL 3).
        assertThat(want.exit).as(where).isEqualTo(c.cpl == 0 ? CpuExit.HLT : CpuExit.EXCEPTION);
      } else {
        faulted++;
        partial += e.done > 0 ? 1 : 0;
      }
      for (Engine engine : Engine.values()) {
        Cpu cpu = machine(engine, c);
        for (int run = 0; run < RUNS; run++) {
          String at = where + String.format("%n%s, run %d", engine, run + 1);
          Outcome got;
          try {
            got = run(cpu, c, false);
          } catch (LockstepMismatch | IndexOutOfBoundsException m) {
            // Lockstep's own disagreement, or a translation's read past a page's frame.
            throw new AssertionError(at + "\n" + m, m);
          }
          assertSame(got, want, at);
        }
        if (c.cpl == 3 && e.fault != null) {
          assertDelivered(cpu, c, e.fault, where + "\n" + engine + ", delivered");
          delivered++;
        }
        if (engine != Engine.INTERP && cpu.jit().translations() > 0) {
          translated[engine.ordinal()]++;
        }
        if (engine == Engine.LOCKSTEP) {
          checked += cpu.jit().lockstep().checked();
          unchecked += cpu.jit().lockstep().unchecked();
        }
      }
    }
    System.out.printf("PageCrossTest: %d cases, %d faulted (%d after completed elements),"
        + " %d delivered, translated under jit %d, under lockstep %d (blocks compared %d, not"
        + " compared %d)%n", CASES, faulted, partial, delivered, translated[Engine.JIT.ordinal()],
        translated[Engine.LOCKSTEP.ordinal()], checked, unchecked);
    if (ONLY.isEmpty()) {
      assertThat(faulted).isGreaterThan(CASES / 3).isLessThan(CASES - CASES / 5);
      if (SEED == DEFAULT_SEED && CASES == 500) {
        // A string instruction faulting after completed elements comes about once in a hundred
        // cases, so other seeds may meet it only two or three times: the floor guards the
        // generator on the default stream only.
        assertThat(partial).as("faults after completed elements").isGreaterThanOrEqualTo(5);
      }
    }
    assertThat(translated[Engine.JIT.ordinal()]).isGreaterThan(CASES * 9 / 10);
  }

  // ================================================================== the host's answers

  /**
   * The output of pagecross.c on this project's build host (AMD EPYC, x86-64 Linux 6.18 in a
   * Firecracker VM), 64-bit user mode, so err includes U (bit 2): most of its lines, each cut
   * after CR2 (what follows was the same on every line: si_addr equal to CR2, and "memory
   * unchanged" after every faulting store).
   */
  static final String HOST = """
      load16 @0xfff low=not-present high=ok        trap=14 err=0x4 cr2=start (start+0)
      load16 @0xfff low=ok high=not-present        trap=14 err=0x4 cr2=high-page-base (start+1)
      load16 @0xfff low=not-present high=not-present trap=14 err=0x4 cr2=start (start+0)
      load16 @0xfff low=read-only high=not-present trap=14 err=0x4 cr2=high-page-base (start+1)
      load16 @0xfff low=not-present high=read-only trap=14 err=0x4 cr2=start (start+0)
      load32 @0xffd low=not-present high=ok        trap=14 err=0x4 cr2=start (start+0)
      load32 @0xffd low=ok high=not-present        trap=14 err=0x4 cr2=high-page-base (start+3)
      load32 @0xffd low=not-present high=not-present trap=14 err=0x4 cr2=start (start+0)
      load32 @0xffd low=read-only high=not-present trap=14 err=0x4 cr2=high-page-base (start+3)
      load32 @0xffd low=not-present high=read-only trap=14 err=0x4 cr2=start (start+0)
      store16 @0xfff low=not-present high=ok       trap=14 err=0x6 cr2=start (start+0)
      store16 @0xfff low=ok high=not-present       trap=14 err=0x6 cr2=high-page-base (start+1)
      store16 @0xfff low=not-present high=not-present trap=14 err=0x6 cr2=start (start+0)
      store16 @0xfff low=read-only high=ok         trap=14 err=0x7 cr2=start (start+0)
      store16 @0xfff low=ok high=read-only         trap=14 err=0x7 cr2=high-page-base (start+1)
      store16 @0xfff low=read-only high=read-only  trap=14 err=0x7 cr2=start (start+0)
      store16 @0xfff low=read-only high=not-present trap=14 err=0x7 cr2=start (start+0)
      store16 @0xfff low=not-present high=read-only trap=14 err=0x6 cr2=start (start+0)
      store32 @0xffd low=not-present high=ok       trap=14 err=0x6 cr2=start (start+0)
      store32 @0xffd low=ok high=not-present       trap=14 err=0x6 cr2=high-page-base (start+3)
      store32 @0xffd low=not-present high=not-present trap=14 err=0x6 cr2=start (start+0)
      store32 @0xffd low=read-only high=ok         trap=14 err=0x7 cr2=start (start+0)
      store32 @0xffd low=ok high=read-only         trap=14 err=0x7 cr2=high-page-base (start+3)
      store32 @0xffd low=read-only high=read-only  trap=14 err=0x7 cr2=start (start+0)
      store32 @0xffd low=read-only high=not-present trap=14 err=0x7 cr2=start (start+0)
      store32 @0xffd low=not-present high=read-only trap=14 err=0x6 cr2=start (start+0)
      add16 @0xfff low=not-present high=ok         trap=14 err=0x6 cr2=start (start+0)
      add16 @0xfff low=ok high=not-present         trap=14 err=0x6 cr2=high-page-base (start+1)
      add16 @0xfff low=not-present high=not-present trap=14 err=0x6 cr2=start (start+0)
      add16 @0xfff low=read-only high=ok           trap=14 err=0x7 cr2=start (start+0)
      add16 @0xfff low=ok high=read-only           trap=14 err=0x7 cr2=high-page-base (start+1)
      add16 @0xfff low=read-only high=read-only    trap=14 err=0x7 cr2=start (start+0)
      add16 @0xfff low=read-only high=not-present  trap=14 err=0x7 cr2=start (start+0)
      add16 @0xfff low=not-present high=read-only  trap=14 err=0x6 cr2=start (start+0)
      add32 @0xffd low=not-present high=ok         trap=14 err=0x6 cr2=start (start+0)
      add32 @0xffd low=ok high=not-present         trap=14 err=0x6 cr2=high-page-base (start+3)
      add32 @0xffd low=not-present high=not-present trap=14 err=0x6 cr2=start (start+0)
      add32 @0xffd low=read-only high=ok           trap=14 err=0x7 cr2=start (start+0)
      add32 @0xffd low=ok high=read-only           trap=14 err=0x7 cr2=high-page-base (start+3)
      add32 @0xffd low=read-only high=read-only    trap=14 err=0x7 cr2=start (start+0)
      add32 @0xffd low=read-only high=not-present  trap=14 err=0x7 cr2=start (start+0)
      add32 @0xffd low=not-present high=read-only  trap=14 err=0x6 cr2=start (start+0)
      xchg16 @0xfff low=not-present high=ok        trap=14 err=0x6 cr2=start (start+0)
      xchg16 @0xfff low=ok high=not-present        trap=14 err=0x6 cr2=high-page-base (start+1)
      xchg16 @0xfff low=read-only high=ok          trap=14 err=0x7 cr2=start (start+0)
      xchg16 @0xfff low=ok high=read-only          trap=14 err=0x7 cr2=high-page-base (start+1)
      xchg32 @0xffd low=not-present high=ok        trap=14 err=0x6 cr2=start (start+0)
      xchg32 @0xffd low=ok high=not-present        trap=14 err=0x6 cr2=high-page-base (start+3)
      xchg32 @0xffd low=read-only high=ok          trap=14 err=0x7 cr2=start (start+0)
      xchg32 @0xffd low=ok high=read-only          trap=14 err=0x7 cr2=high-page-base (start+3)
      xchg32 @0xffd low=read-only high=not-present trap=14 err=0x7 cr2=start (start+0)
      cmpxchg16 @0xfff low=not-present high=ok     trap=14 err=0x6 cr2=start (start+0)
      cmpxchg16 @0xfff low=ok high=not-present     trap=14 err=0x6 cr2=high-page-base (start+1)
      cmpxchg16 @0xfff low=ok high=read-only       trap=14 err=0x7 cr2=high-page-base (start+1)
      cmpxchg32 @0xffd low=not-present high=ok     trap=14 err=0x6 cr2=start (start+0)
      cmpxchg32 @0xffd low=ok high=not-present     trap=14 err=0x6 cr2=high-page-base (start+3)
      cmpxchg32 @0xffd low=read-only high=ok       trap=14 err=0x7 cr2=start (start+0)
      cmpxchg32 @0xffd low=ok high=read-only       trap=14 err=0x7 cr2=high-page-base (start+3)
      cmpxchg32 @0xffd low=not-present high=read-only trap=14 err=0x6 cr2=start (start+0)
      inc16 @0xfff low=not-present high=ok         trap=14 err=0x6 cr2=start (start+0)
      inc16 @0xfff low=ok high=not-present         trap=14 err=0x6 cr2=high-page-base (start+1)
      inc16 @0xfff low=ok high=read-only           trap=14 err=0x7 cr2=high-page-base (start+1)
      inc32 @0xffd low=not-present high=ok         trap=14 err=0x6 cr2=start (start+0)
      inc32 @0xffd low=ok high=not-present         trap=14 err=0x6 cr2=high-page-base (start+3)
      inc32 @0xffd low=read-only high=ok           trap=14 err=0x7 cr2=start (start+0)
      inc32 @0xffd low=ok high=read-only           trap=14 err=0x7 cr2=high-page-base (start+3)
      inc32 @0xffd low=read-only high=not-present  trap=14 err=0x7 cr2=start (start+0)
      store32 @0xffe low=ok high=read-only         trap=14 err=0x7 cr2=high-page-base (start+2)
      store32 @0xfff low=ok high=not-present       trap=14 err=0x6 cr2=high-page-base (start+1)
      push16 @0xfff low=not-present high=ok        trap=14 err=0x6 cr2=start (start+0)
      push16 @0xfff low=ok high=not-present        trap=14 err=0x6 cr2=high-page-base (start+1)
      push16 @0xfff low=not-present high=not-present trap=14 err=0x6 cr2=start (start+0)
      push16 @0xfff low=read-only high=ok          trap=14 err=0x7 cr2=start (start+0)
      push16 @0xfff low=ok high=read-only          trap=14 err=0x7 cr2=high-page-base (start+1)
      push16 @0xfff low=read-only high=not-present trap=14 err=0x7 cr2=start (start+0)
      push16 @0xfff low=not-present high=read-only trap=14 err=0x6 cr2=start (start+0)
      push m16 mem=not-present stack=not-present   trap=14 err=0x4 cr2=operand
      push m16 mem=ok stack=not-present            trap=14 err=0x6 cr2=stack
      pop m16 mem=not-present stack=not-present    trap=14 err=0x4 cr2=stack
      pop m16 mem=not-present stack=ok             trap=14 err=0x6 cr2=operand
      pop m16 mem=read-only stack=not-present      trap=14 err=0x4 cr2=stack
      movsd src=not-present dst=not-present        trap=14 err=0x4 cr2=source
      movsd src=not-present dst=ok                 trap=14 err=0x4 cr2=source
      movsd src=ok dst=not-present                 trap=14 err=0x6 cr2=destination
      movsd src=read-only dst=not-present          trap=14 err=0x6 cr2=destination
      rep movsd x4 @0xff8 bad source's high page   trap=14 err=0x4 cr2=high-page-base rsi=start+8 rdi=start+8 rcx=2
      rep movsd x4 @0xff8 bad destination's high page trap=14 err=0x6 cr2=high-page-base rsi=start+8 rdi=start+8 rcx=2
      rep movsd x4 @0xffa bad source's high page   trap=14 err=0x4 cr2=high-page-base rsi=start+4 rdi=start+4 rcx=3
      rep movsd x4 @0xffa bad destination's high page trap=14 err=0x6 cr2=high-page-base rsi=start+4 rdi=start+4 rcx=3
      """;

  private static final Pattern SPLIT = Pattern.compile(
      "(load|store|add|xchg|cmpxchg|inc|push)(16|32) @0x(\\w+) low=(\\S+) high=(\\S+)\\s+trap=14"
      + " err=0x(\\w+) cr2=(\\S+) \\(start\\+(\\d+)\\)");
  private static final Pattern STACK_MEM = Pattern.compile(
      "(push|pop) m16 mem=(\\S+) stack=(\\S+)\\s+trap=14 err=0x(\\w+) cr2=(\\w+)");
  private static final Pattern MOVS = Pattern.compile(
      "movsd src=(\\S+) dst=(\\S+)\\s+trap=14 err=0x(\\w+) cr2=(\\w+)");
  private static final Pattern REP_MOVS = Pattern.compile(
      "rep movsd x4 @0x(\\w+) bad (\\w+)'s high page\\s+trap=14 err=0x(\\w+) cr2=high-page-base"
      + " rsi=start\\+(\\d+) rdi=start\\+(\\d+) rcx=(\\d+)");

  private static Page page(String host) {
    return switch (host) {
      case "ok" -> Page.OK;
      case "not-present" -> Page.NOT_PRESENT;
      case "read-only" -> Page.READ_ONLY;
      default -> throw new IllegalArgumentException(host);
    };
  }

  /** A CPL-3 case with no REP, zero registers but the ones given. */
  private static Case hostCase(Form form, Page[] pages, int ebx, int esp, int esi, int edi) {
    int[] regs = new int[8];
    regs[Cpu.EBX] = ebx;
    regs[Cpu.ESP] = esp;
    regs[Cpu.ESI] = esi;
    regs[Cpu.EDI] = edi;
    return new Case(form, 3, pages, 0, regs, 2, new byte[2 * W], new byte[2 * W]);
  }

  @Test
  void theModelGivesTheHostCpusAnswers() {
    int checked = 0;
    for (String line : HOST.strip().split("\n")) {
      line = line.strip();
      Matcher m;
      Case c;
      int err;
      int cr2;
      int done = 0;
      if ((m = SPLIT.matcher(line)).matches()) {
        int size = Integer.parseInt(m.group(2)) / 8;
        int lin = R0 + Integer.parseInt(m.group(3), 16);
        Form form = switch (m.group(1) + size * 8) {
          case "load16" -> Form.LOAD16;
          case "load32" -> Form.LOAD32;
          case "store16" -> Form.STORE16;
          case "store32" -> Form.STORE32;
          case "add16" -> Form.ADD16;
          case "add32" -> Form.ADD32;
          case "xchg16" -> Form.XCHG16;
          case "xchg32" -> Form.XCHG32;
          case "cmpxchg16" -> Form.CMPXCHG16;
          case "cmpxchg32" -> Form.CMPXCHG32;
          case "inc16" -> Form.INC16;
          case "inc32" -> Form.INC32;
          default -> Form.PUSH16;
        };
        Page[] pages = {page(m.group(4)), page(m.group(5)), Page.OK, Page.OK};
        c = hostCase(form, pages, lin, lin + size, 0, 0);
        err = Integer.parseInt(m.group(6), 16);
        cr2 = lin + Integer.parseInt(m.group(8));
        assertThat(m.group(7)).isEqualTo(cr2 == lin ? "start" : "high-page-base");
      } else if ((m = STACK_MEM.matcher(line)).matches()) {
        // The operand in page C, the stack in page A.
        boolean pop = m.group(1).equals("pop");
        Page[] pages = {page(m.group(3)), Page.OK, page(m.group(2)), Page.OK};
        int operand = R1 + 0x100;
        int sp = R0 + 0x800;
        c = hostCase(pop ? Form.POP_MEM16 : Form.PUSH_MEM16, pages, operand, sp, 0, 0);
        err = Integer.parseInt(m.group(4), 16);
        cr2 = m.group(5).equals("operand") ? operand : pop ? sp : sp - 2;
      } else if ((m = MOVS.matcher(line)).matches()) {
        Page[] pages = {page(m.group(1)), Page.OK, page(m.group(2)), Page.OK};
        c = hostCase(Form.MOVSD, pages, 0, 0, R0 + 0x100, R1 + 0x200);
        err = Integer.parseInt(m.group(3), 16);
        cr2 = m.group(4).equals("source") ? R0 + 0x100 : R1 + 0x200;
      } else if ((m = REP_MOVS.matcher(line)).matches()) {
        int off = Integer.parseInt(m.group(1), 16);
        boolean dst = m.group(2).equals("destination");
        Page[] pages = {Page.OK, dst ? Page.OK : Page.NOT_PRESENT, Page.OK,
            dst ? Page.NOT_PRESENT : Page.OK};
        Case plain = hostCase(Form.MOVSD, pages, 0, 0, R0 + off, R1 + off);
        int[] regs = plain.regs.clone();
        regs[Cpu.ECX] = 4;
        c = new Case(Form.MOVSD, 3, pages, 0xF3, regs, 2, plain.win0, plain.win1);
        err = Integer.parseInt(m.group(3), 16);
        cr2 = (dst ? R1 : R0) + 0x1000;
        done = Integer.parseInt(m.group(4)) / 4;
        assertThat(Integer.parseInt(m.group(5))).isEqualTo(done * 4);
        assertThat(Integer.parseInt(m.group(6))).isEqualTo(4 - done);
      } else {
        throw new AssertionError("unparsed host line: " + line);
      }
      Expect e = expect(c);
      assertThat(e).as(line).isEqualTo(new Expect(new Fault(err, cr2), done));
      checked++;
    }
    assertThat(checked).isEqualTo(HOST.strip().split("\n").length);
  }
}
