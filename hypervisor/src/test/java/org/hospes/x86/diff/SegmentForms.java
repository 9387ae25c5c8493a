package org.hospes.x86.diff;

import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Forms that need the protected-mode system state a Linux i386 process runs under, run at CPL 3
 * against {@code qemu-i386} ({@link DiffCase#userMode}): segment-register loads and stores, far
 * pointer loads, and near transfers with a 16-bit operand size, whose EIP is truncated to 16 bits.
 *
 * <p>Selectors are taken from QEMU's linux-user GDT (9 entries, limit 0x47): 0x23 user code
 * (execute/read), 0x2B user data, 0x33 glibc's TLS data segment; entries 1-3, 7 and 8 are empty
 * and everything past 0x47 raises #GP(selector). The harness adds an LDT with modify_ldt (0x07 +
 * 8 * i: read/write data, read-only data, not-present data, execute-only code, readable code,
 * not-present conforming code, expand-down data; the rest empty). So every load has a known
 * outcome, checked with its error code: the null selector loads into DS/ES/FS/GS but #GPs into
 * SS; SS wants RPL = DPL = CPL = 3 and a writable data segment (#SS when not present); DS may
 * take readable code and RPL 0-2, not execute-only code (#GP), and #NPs on a not-present one.
 * All descriptors a user process can have are DPL 3, so the RPL/CPL &lt;= DPL rule for data
 * segments is left to the system-level sysfuzz kernel.
 *
 * <p>16-bit transfers land in the HLT-filled low code region ({@link Layout#LOW_CODE_ADDR}) or,
 * on purpose, in unmapped pages below 64 KiB: a page fault whose address (si_addr; CR2) and EIP
 * are compared. Nothing touches memory through a segment other than a flat 0x2B one: QEMU does
 * not check data-segment rights or the null selector on access, a processor does.
 */
final class SegmentForms {
  record Form(String family, int weight, Consumer<Gen> gen) {}

  static final List<Form> FORMS = List.of(
      new Form("mov sreg", 12, SegmentForms::movToSreg),
      new Form("mov from sreg", 6, SegmentForms::movFromSreg),
      new Form("push/pop sreg", 10, SegmentForms::pushPopSreg),
      new Form("far pointer", 12, SegmentForms::farPointer),
      new Form("16-bit transfer", 14, SegmentForms::transfer16),
      new Form("popf at CPL 3", 6, SegmentForms::popfAtCpl3));

  private static final int TOTAL_WEIGHT = FORMS.stream().mapToInt(Form::weight).sum();
  /** ModRM reg field of MOV Sreg: ES CS SS DS FS GS, then two encodings that #UD. */
  static final String[] SREG = {"es", "cs", "ss", "ds", "fs", "gs", "sreg6", "sreg7"};
  /** Index of an {@link DiffCase#sregs} entry per segment number (ES DS FS GS), -1 for CS/SS. */
  private static final int[] INITIAL = {0, -1, -1, 1, 2, 3};

  private SegmentForms() {}

  static DiffCase generate(SplittableRandom rnd, int scratchSize) {
    DiffCase c = new DiffCase(scratchSize);
    c.userMode = true;
    Gen g = new Gen(rnd, c, false);
    HostForms.place(rnd, c);
    // Initial data selectors: mostly the user data segment, sometimes null (with any RPL) or the
    // TLS segment. DS stays 0x2B: the harness and most forms address memory through it.
    c.sregs[0] = initialSelector(g);
    c.sregs[2] = initialSelector(g);
    c.sregs[3] = g.chance(0.5) ? 0x33 : initialSelector(g);
    int w = rnd.nextInt(TOTAL_WEIGHT);
    for (Form f : FORMS) {
      w -= f.weight();
      if (w < 0) {
        f.gen().accept(g);
        return c;
      }
    }
    throw new AssertionError();
  }

  private static int initialSelector(Gen g) {
    return switch (g.rnd.nextInt(6)) {
      case 0 -> g.rnd.nextInt(4); // null, any RPL
      case 1 -> 0x33;
      default -> 0x2B;
    };
  }

  /**
   * A selector to load: valid ones (user data and code, TLS, with every RPL), null ones, and
   * ones that #GP (empty GDT entries, past the GDT limit, TI set with no LDT).
   */
  static int selector(Gen g, int seg) {
    if (seg == 2 && g.chance(0.3)) {
      // SS's own rules need RPL 3 and the LDT's odd entries: read-only, not present, expand-down.
      return (g.pick(0, 1, 2, 3, 6) << 3) | 4 | 3;
    }
    return switch (g.rnd.nextInt(12)) {
      case 10, 11 -> (g.rnd.nextInt(g.chance(0.9) ? 7 : 64) << 3) | 4 | g.rnd.nextInt(4); // LDT
      case 0, 1, 2 -> 0x2B;
      case 3 -> 0x28 | g.rnd.nextInt(4);
      case 4 -> g.rnd.nextInt(4);
      case 5 -> (g.chance(0.5) ? 0x20 : 0x30) | g.rnd.nextInt(4);
      case 6 -> (g.pick(1, 2, 3, 7, 8) << 3) | g.rnd.nextInt(4);
      case 7 -> 0x48 + g.rnd.nextInt(0x10000 - 0x48);
      case 8 -> g.rnd.nextInt(0x10000) | 4; // TI = 1
      default -> g.rnd.nextInt(0x10000);
    };
  }

  /** Segment number to load: ES SS DS FS GS, rarely CS or the undefined 6 and 7 (#UD). */
  private static int loadTarget(Gen g) {
    return g.chance(0.06) ? g.pick(1, 6, 7) : g.pick(0, 2, 3, 4, 5);
  }

  /** MOV Sreg, r/m16 (8E /r), with and without 0x66 (the operand size does not matter). */
  static void movToSreg(Gen g) {
    int s = loadTarget(g);
    int sel = selector(g, s);
    boolean o16 = g.chance(0.5);
    Insn.Builder b = g.b();
    if (o16) {
      b.prefix(0x66);
    }
    b.op(0x8E);
    Gen.Rm rm;
    if (g.chance(0.5)) {
      int r = g.reg();
      // The upper half of the source register is ignored.
      g.c.regs[r] = (g.rnd.nextInt() & 0xFFFF_0000) | sel;
      rm = g.new Rm(16, r);
    } else {
      int off = g.offset(2, 0);
      g.putMem(off, sel, 2);
      rm = g.new Rm(16, off, g.memAt(Layout.SCRATCH_ADDR + off, 0));
    }
    rm.modrm(b, s);
    ssLoad(g.c, s);
    g.c.form = "mov " + formName(s) + ", r/m16 " + rm.kind() + (o16 ? " (o16)" : "");
    g.c.setInsn(b.build((o16 ? "o16 " : "") + "mov " + SREG[s] + ", " + rm.text()));
  }

  /** A not-present segment loaded into SS raises #SS, elsewhere #NP (both SIGBUS on Linux). */
  private static void ssLoad(DiffCase c, int s) {
    if (s == 2) {
      c.busVector = org.hospes.x86.Exceptions.SS;
    }
  }

  private static String formName(int s) {
    return s == 1 || s >= 6 ? SREG[s] + " (#UD)" : SREG[s];
  }

  /**
   * MOV r/m, Sreg (8C /r): a 16-bit store to memory whatever the operand size; to a register,
   * 16 bits under 0x66, otherwise the selector zero-extended (P6 and later; QEMU agrees).
   */
  static void movFromSreg(Gen g) {
    int s = g.chance(0.05) ? g.pick(6, 7) : g.rnd.nextInt(6);
    boolean o16 = g.chance(0.5);
    Insn.Builder b = g.b();
    if (o16) {
      b.prefix(0x66);
    }
    b.op(0x8C);
    Gen.Rm rm = g.chance(0.5) ? g.regRm(o16 ? 16 : 32, g.reg()) : g.memRm(16, 0);
    rm.modrm(b, s);
    g.c.form = "mov r/m, " + (s >= 6 ? SREG[s] + " (#UD)" : "sreg") + " " + rm.kind()
        + (rm.isMem ? "" : o16 ? "16" : "32");
    g.c.setInsn(b.build((o16 ? "o16 " : "") + "mov " + rm.text() + ", " + SREG[s]));
  }

  /**
   * PUSH ES/CS/SS/DS/FS/GS and POP ES/SS/DS/FS/GS, 16- and 32-bit. A 32-bit push of a segment
   * register writes either the zero-extended selector or only its 16 bits (the SDM allows both;
   * recent processors do the latter), so the upper two bytes are not compared.
   */
  static void pushPopSreg(Gen g) {
    boolean pop = g.chance(0.6);
    boolean o16 = g.chance(0.4);
    int size = o16 ? 2 : 4;
    int s = pop ? g.pick(0, 2, 3, 4, 5) : g.rnd.nextInt(6);
    int off = QemuForms.stack(g, pop ? 0 : size, pop ? size : 0);
    Insn.Builder b = g.b();
    if (o16) {
      b.prefix(0x66);
    }
    switch (s) {
      case 4, 5 -> b.op(0x0F, (s == 4 ? 0xA0 : 0xA8) + (pop ? 1 : 0));
      default -> b.op((s << 3) + 6 + (pop ? 1 : 0));
    }
    if (pop) {
      ssLoad(g.c, s);
      int sel = selector(g, s);
      g.putMem(off, (g.rnd.nextInt() & 0xFFFF_0000) | sel, size);
    } else if (!o16) {
      g.c.maskMem(off - 4 + 2, 2, 0);
    }
    String n = (pop ? "pop" : "push") + (o16 ? "w " : "d ") + SREG[s];
    g.c.form = (pop ? "pop " : "push ") + SREG[s] + (o16 ? " (o16)" : "");
    g.c.setInsn(b.build(n));
  }

  /**
   * LDS/LES (C5/C4), LSS/LFS/LGS (0F B2/B4/B5) r, m16:16 (0x66) or m16:32: the segment register
   * is loaded (and checked) before the general register, so a faulting load changes neither.
   * The register forms (mod = 3) raise #UD; for C4/C5 they are VEX prefixes, so only 0F Bx.
   */
  static void farPointer(Gen g) {
    int which = g.rnd.nextInt(5); // lds les lss lfs lgs
    int[] seg = {3, 0, 2, 4, 5};
    String[] name = {"lds", "les", "lss", "lfs", "lgs"};
    boolean o16 = g.chance(0.4);
    int size = o16 ? 16 : 32;
    int r = g.reg();
    Insn.Builder b = g.b();
    if (o16) {
      b.prefix(0x66);
    }
    if (which <= 1) {
      b.op(which == 0 ? 0xC5 : 0xC4);
    } else {
      b.op(0x0F, 0xB0 + seg[which]);
    }
    if (which >= 2 && g.chance(0.05)) {
      b.modrmReg(r, g.reg());
      g.c.form = name[which] + " r, reg (#UD)";
      g.c.setInsn(b.build(name[which] + " " + Regs.name(size, r) + ", reg"));
      return;
    }
    ssLoad(g.c, seg[which]);
    int bytes = size / 8 + 2;
    int off = g.offset(bytes, 0);
    int sel = selector(g, seg[which]);
    // LSS ESP, [mem] is the usual form: a stack pointer into the scratch window then.
    int offset = r == Regs.ESP && g.chance(0.7)
        ? Layout.SCRATCH_ADDR + g.rnd.nextInt(g.c.mem.length) : g.val(32);
    g.putMem(off, offset, size / 8);
    g.putMem(off + size / 8, sel, 2);
    Mem m = g.memAt(Layout.SCRATCH_ADDR + off, 0);
    b.modrmMem(r, m);
    g.c.form = name[which] + " r" + size + ", m16:" + size;
    g.c.setInsn(b.build(name[which] + " " + Regs.name(size, r) + ", " + m.text(size)));
  }

  /**
   * Near transfers with a 16-bit operand size (0x66): JMP rel8/rel16, Jcc rel8/rel16, CALL rel16,
   * JMP/CALL r/m16, RET and RET imm16, LOOP/LOOPE/LOOPNE/JCXZ (with 0x67 too: CX instead of ECX).
   * A taken transfer truncates EIP to 16 bits (the SDM's "tempEIP AND 0000FFFFH"); a 16-bit
   * CALL pushes and RET pops 2 bytes.
   */
  static void transfer16(Gen g) {
    DiffCase c = g.c;
    c.maxSteps = 2; // the transfer, then the fetch at a truncated EIP that may page-fault
    int target = target16(g);
    Insn.Builder b = g.b().prefix(0x66);
    int v = g.rnd.nextInt(9);
    switch (v) {
      case 0 -> {
        int len = 4;
        b.op(0xE9).imm(target - next(c, len), 2);
        c.form = "o16 jmp rel16";
        c.setInsn(b.build("o16 jmp " + Hex.h32(target)));
      }
      case 1 -> {
        int len = 3;
        int t = lowTargetRel8(g, len);
        b.op(0xEB).imm(t - next(c, len), 1);
        c.form = "o16 jmp rel8";
        c.setInsn(b.build("o16 jmp " + Hex.h32(t)));
      }
      case 2 -> {
        int cc = g.rnd.nextInt(16);
        boolean near = g.chance(0.5);
        int len = near ? 5 : 3;
        int t = near ? target : lowTargetRel8(g, len);
        if (near) {
          b.op(0x0F, 0x80 + cc).imm(t - next(c, len), 2);
        } else {
          b.op(0x70 + cc).imm(t - next(c, len), 1);
        }
        c.form = "o16 jcc " + (near ? "rel16" : "rel8");
        c.setInsn(b.build("o16 j" + QemuForms.CC[cc] + " " + Hex.h32(t)));
      }
      case 3 -> {
        int len = 4;
        QemuForms.stack(g, 2, 0);
        b.op(0xE8).imm(target - next(c, len), 2);
        c.form = "o16 call rel16";
        c.setInsn(b.build("o16 call " + Hex.h32(target)));
      }
      case 4, 5 -> {
        boolean call = v == 5;
        int sp = QemuForms.stack(g, call ? 2 : 0, 0);
        Gen.Rm rm;
        if (g.chance(0.5)) {
          int r = g.regExcept(1 << Regs.ESP);
          g.c.regs[r] = (g.rnd.nextInt() & 0xFFFF_0000) | target;
          rm = g.new Rm(16, r);
        } else {
          int off = g.offset(2, 0);
          if (call && off + 2 > sp - 2 && off < sp) {
            off = sp; // clear of the return-address slot
          }
          g.putMem(off, target, 2);
          rm = g.new Rm(16, off, g.memAt(Layout.SCRATCH_ADDR + off, 1 << Regs.ESP));
        }
        b.op(0xFF);
        rm.modrm(b, call ? 2 : 4);
        c.form = "o16 " + (call ? "call" : "jmp") + " r/m16 " + rm.kind();
        c.setInsn(b.build("o16 " + (call ? "call " : "jmp ") + rm.text()));
      }
      case 6, 7 -> {
        int off = QemuForms.stack(g, 0, 4);
        g.putMem(off, (g.rnd.nextInt() & 0xFFFF_0000) | target, 4);
        if (v == 6) {
          b.op(0xC3);
          c.form = "o16 ret";
          c.setInsn(b.build("o16 ret"));
        } else {
          // QEMU 7.2 sign-extends RET's imm16 (see QemuForms.callRet): values >= 0x8000 left out.
          int imm = g.chance(0.5) ? 2 * g.rnd.nextInt(8) : g.rnd.nextInt(0x8000);
          b.op(0xC2).imm(imm, 2);
          c.form = "o16 ret imm16";
          c.setInsn(b.build("o16 ret " + Hex.h32(imm)));
        }
      }
      default -> {
        int op = g.rnd.nextInt(4); // loopne loope loop jcxz
        boolean a16 = g.chance(0.5);
        if (a16) {
          b.prefix(0x67);
        }
        int len = a16 ? 4 : 3;
        int t = lowTargetRel8(g, len);
        c.regs[Regs.ECX] = g.chance(0.6)
            ? (g.rnd.nextInt() & 0xFFFF_0000) | g.pick(0, 1, 2, 0xFFFF) : g.val(32);
        b.op(0xE0 + op).imm(t - next(c, len), 1);
        String[] n = {"loopne", "loope", "loop", a16 ? "jcxz" : "jecxz"};
        c.form = "o16 " + n[op] + (a16 ? " (a16: CX)" : "");
        c.setInsn(b.build("o16 " + n[op] + " " + Hex.h32(t)));
      }
    }
  }

  /** Address of the instruction after a {@code len}-byte one at the case's code address. */
  private static int next(DiffCase c, int len) {
    return c.codeAddr + len;
  }

  /**
   * A 16-bit target: mostly in the HLT-filled low region, otherwise in an unmapped page below
   * 64 KiB (never the scratch pages, whose bytes are data).
   */
  private static int target16(Gen g) {
    if (g.chance(0.7)) {
      return Layout.LOW_CODE_ADDR + g.rnd.nextInt(Layout.LOW_CODE_SIZE);
    }
    int scratchEnd = (Layout.SCRATCH_ADDR + g.c.mem.length + 0xFFF) & ~0xFFF;
    return g.chance(0.4) ? g.rnd.nextInt(Layout.LOW_CODE_ADDR)
        : scratchEnd + g.rnd.nextInt(0x10000 - scratchEnd);
  }

  /**
   * A rel8 target: the code sits at 0x..8000 minus up to 7, so next-EIP's low half is just above
   * 0x7FF8; a backward rel8 truncated to 16 bits lands at the top of the low region.
   */
  private static int lowTargetRel8(Gen g, int len) {
    int next16 = next(g.c, len) & 0xFFFF;
    int lo = Math.max(next16 - 128, Layout.LOW_CODE_ADDR);
    int hi = Math.min(Layout.LOW_CODE_ADDR + Layout.LOW_CODE_SIZE, Layout.SCRATCH_ADDR & ~0xFFF);
    return lo + g.rnd.nextInt(hi - lo);
  }

  /**
   * POPF at CPL 3 and IOPL 0, as a Linux process runs: IF and IOPL keep their values whatever
   * the image holds (without a fault: #GP is VM86's answer), the status flags, DF, NT, AC and ID
   * load as at CPL 0. The emulator's CPL 0 forms cannot show this.
   */
  static void popfAtCpl3(Gen g) {
    int size = g.size1632();
    Insn.Builder b = g.b();
    Gen.opsize(b, size);
    int off = QemuForms.stack(g, 0, 8);
    int image = g.rnd.nextInt() & (QemuForms.STATUS | org.hospes.x86.Flags.DF
        | QemuForms.USER_SYSTEM_BITS | org.hospes.x86.Flags.IF | org.hospes.x86.Flags.IOPL
        | 0x2 | 0x8 | 0x20 | 0x8000);
    g.putMem(off, image, size / 8);
    g.c.flagMask = DefinedFlags.COMPARABLE | org.hospes.x86.Flags.IF | org.hospes.x86.Flags.IOPL
        | (size == 32 ? QemuForms.USER_SYSTEM_BITS : org.hospes.x86.Flags.NT);
    b.op(0x9D);
    g.c.form = "popf o" + size + " at CPL 3";
    g.c.setInsn(b.build(size == 16 ? "popfw" : "popfd"));
  }
}
