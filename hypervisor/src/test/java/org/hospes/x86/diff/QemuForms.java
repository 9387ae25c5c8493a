package org.hospes.x86.diff;

import static org.hospes.x86.Flags.AF;
import static org.hospes.x86.Flags.CF;
import static org.hospes.x86.Flags.DF;
import static org.hospes.x86.Flags.OF;
import static org.hospes.x86.Flags.PF;
import static org.hospes.x86.Flags.SF;
import static org.hospes.x86.Flags.ZF;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Forms that 64-bit mode lacks, run under {@code qemu-i386} (a static 32-bit harness): PUSHA/POPA,
 * BCD adjusts, 16/32-bit PUSH/POP, CALL/RET/ENTER/LEAVE, one-byte INC/DEC, PUSHF/POPF, branches
 * and loops (EIP checked), XLAT, and short generated sequences. Reference and emulator bytes are
 * identical here.
 */
final class QemuForms {
  static final int STATUS = CF | PF | AF | ZF | SF | OF;

  record Form(String family, int weight, Consumer<Gen> gen) {}

  static final List<Form> FORMS = List.of(
      new Form("pusha", 3, QemuForms::pushaPopa),
      new Form("bcd", 6, QemuForms::bcd),
      new Form("pushpop", 10, QemuForms::pushPop),
      new Form("call", 5, QemuForms::callRet),
      new Form("enter", 4, QemuForms::enterLeave),
      new Form("incdec", 3, QemuForms::incDec),
      new Form("pushf", 4, QemuForms::pushfPopf),
      new Form("branch", 10, QemuForms::branch),
      new Form("xlat", 1, QemuForms::xlat),
      new Form("a16", 10, QemuForms::addr16),
      new Form("arpl", 1, QemuForms::arpl),
      new Form("sequence", 14, QemuForms::sequence));

  private static final int TOTAL_WEIGHT = FORMS.stream().mapToInt(Form::weight).sum();

  private QemuForms() {}

  static DiffCase generate(SplittableRandom rnd, int scratchSize) {
    DiffCase c = new DiffCase(scratchSize);
    Gen g = new Gen(rnd, c, false);
    HostForms.place(rnd, c);
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

  /** Places ESP in the scratch window with {@code below} bytes free under it and {@code above} over it. */
  static int stack(Gen g, int below, int above) {
    int off = below + g.rnd.nextInt(g.c.mem.length - below - above + 1);
    g.c.regs[Regs.ESP] = Layout.SCRATCH_ADDR + off;
    return off;
  }

  static void pushaPopa(Gen g) {
    boolean pop = g.chance(0.5);
    int size = g.size1632();
    int n = size / 8 * 8;
    stack(g, pop ? 0 : n, pop ? n : 0);
    Insn.Builder b = g.b();
    Gen.opsize(b, size);
    b.op(pop ? 0x61 : 0x60);
    String name = (pop ? "popa" : "pusha") + (size == 16 ? "w" : "d");
    g.c.form = name;
    g.c.setInsn(b.build(name));
  }

  /** DAA DAS AAA AAS AAM AAD (AAM 0 raises #DE). */
  static void bcd(Gen g) {
    int v = g.rnd.nextInt(6);
    g.setReg(8, Regs.EAX, g.chance(0.5) ? g.rnd.nextInt(256) : g.pick(0x09, 0x0A, 0x0F, 0x99, 0x9A,
        0xF9, 0xFA, 0x00, 0x90, 0x60, 0x66, 0xFF));
    g.setReg(8, 4, g.chance(0.5) ? g.rnd.nextInt(256) : g.pick(0, 9, 0xFF, 0x7F));
    Insn.Builder b = g.b();
    String[] names = {"daa", "das", "aaa", "aas", "aam", "aad"};
    int[] ops = {0x27, 0x2F, 0x37, 0x3F, 0xD4, 0xD5};
    b.op(ops[v]);
    String text = names[v];
    if (v >= 4) {
      int imm = g.chance(0.6) ? 10 : g.chance(0.2) ? 0 : g.rnd.nextInt(256);
      b.imm(imm, 1);
      text += " " + Hex.h32(imm);
      g.c.form = names[v] + (imm == 10 ? "" : imm == 0 ? " 0" : " imm8");
    } else {
      g.c.form = names[v];
    }
    g.c.setInsn(b.build(text));
    g.c.flagMask = v < 2 ? DefinedFlags.decimalAdjust() : v < 4 ? DefinedFlags.asciiAdjustAddSub()
        : DefinedFlags.asciiAdjustMulDiv();
  }

  /** PUSH/POP of registers, immediates and memory, with 32- and 16-bit operand size. */
  static void pushPop(Gen g) {
    int size = g.size1632();
    int e = size / 8;
    int v = g.rnd.nextInt(6);
    Insn.Builder b = g.b();
    Gen.opsize(b, size);
    String s = size == 16 ? "w" : "d";
    switch (v) {
      case 0, 1 -> {
        boolean pop = v == 1;
        int r = g.reg();
        stack(g, 8, 8);
        if (r != Regs.ESP) {
          g.setReg(size, r, g.val(size));
        }
        b.op((pop ? 0x58 : 0x50) + r);
        g.c.form = (pop ? "pop" : "push") + " r" + size + (r == Regs.ESP ? " (esp)" : "");
        g.c.setInsn(b.build((pop ? "pop " : "push ") + Regs.name(size, r)));
      }
      case 2 -> {
        boolean imm8 = g.chance(0.5);
        int imm = g.val(imm8 ? 8 : size);
        stack(g, 8, 0);
        b.op(imm8 ? 0x6A : 0x68).imm(imm, imm8 ? 1 : e);
        g.c.form = "push imm" + (imm8 ? "8" : String.valueOf(size)) + " (o" + size + ")";
        g.c.setInsn(b.build("push" + s + " " + Hex.imm(imm8 ? (byte) imm : imm, size)));
      }
      default -> {
        boolean pop = v >= 4;
        boolean reg = v == 3 && g.chance(0.3);
        int sp = stack(g, 64, 64);
        Gen.Rm rm;
        if (reg) {
          rm = g.regRm(size, g.regExcept(1 << Regs.ESP));
        } else if (g.chance(0.3)) {
          // ESP as the base: POP computes the address after incrementing ESP.
          int disp = g.rnd.nextInt(48) - 24;
          int off = sp + disp + (pop ? e : 0);
          rm = g.new Rm(size, off, new Mem(Regs.ESP, -1, 0, disp, 1, false));
        } else {
          int off = g.chance(0.2) ? sp - e : g.offset(e, 0);
          rm = g.new Rm(size, off, g.memAt(Layout.SCRATCH_ADDR + off, 1 << Regs.ESP));
        }
        b.op(pop ? 0x8F : 0xFF);
        rm.modrm(b, pop ? 0 : 6);
        g.c.form = (pop ? "pop r/m" : "push r/m") + size + " " + rm.kind()
            + (rm.isMem && rm.mem.base == Regs.ESP && rm.mem.index < 0 ? " [esp+d]" : "");
        g.c.setInsn(b.build((pop ? "pop " : "push ") + rm.text()));
      }
    }
  }

  /** A code address in the filler region, away from the instruction's own bytes. */
  static int codeTarget(Gen g, int len) {
    int t;
    do {
      t = Layout.CODE_ADDR + 16 + g.rnd.nextInt(Layout.CODE_SIZE - 32);
    } while (t - Layout.INSN_ADDR >= -24 && t - Layout.INSN_ADDR < len + 8);
    return t;
  }

  static void callRet(Gen g) {
    int v = g.rnd.nextInt(4);
    Insn.Builder b = g.b();
    switch (v) {
      case 0 -> {
        stack(g, 8, 0);
        int t = codeTarget(g, 5);
        b.op(0xE8).imm(t - (g.c.codeAddr + 5), 4);
        g.c.form = "call rel32";
        g.c.setInsn(b.build("call " + Hex.h32(t)));
      }
      case 1 -> {
        int sp = stack(g, 64, 64);
        int t = codeTarget(g, 8);
        Gen.Rm rm;
        if (g.chance(0.4)) {
          int r = g.regExcept(1 << Regs.ESP);
          g.c.regs[r] = t;
          rm = g.new Rm(32, r);
        } else if (g.chance(0.3)) {
          // call [esp+d8]: the target is read with the old ESP, before the push.
          int disp = 4 * g.rnd.nextInt(8);
          g.putMem(sp + disp, t, 4);
          rm = g.new Rm(32, sp + disp, new Mem(Regs.ESP, -1, 0, disp, 1, false));
        } else {
          int off = g.offset(4, 0);
          if (off + 4 > sp - 4 && off < sp) {
            off = sp; // keep the target clear of the return-address slot
          }
          g.putMem(off, t, 4);
          rm = g.new Rm(32, off, g.memAt(Layout.SCRATCH_ADDR + off, 1 << Regs.ESP));
        }
        b.op(0xFF);
        rm.modrm(b, 2);
        g.c.form = "call r/m32 " + rm.kind();
        g.c.setInsn(b.build("call " + rm.text()));
      }
      default -> {
        int off = stack(g, 0, 8);
        g.putMem(off, codeTarget(g, 3), 4);
        if (v == 2) {
          b.op(0xC3);
          g.c.form = "ret";
          g.c.setInsn(b.build("ret"));
        } else {
          // QEMU 7.2 sign-extends the imm16 of RET (x86_ldsw_code); the SDM adds it to ESP
          // as an unsigned count of bytes. The SDM wins: values >= 0x8000 are left out here.
          int imm = g.chance(0.5) ? 4 * g.rnd.nextInt(8) : g.rnd.nextInt(0x8000);
          b.op(0xC2).imm(imm, 2);
          g.c.form = "ret imm16";
          g.c.setInsn(b.build("ret " + Hex.h32(imm)));
        }
      }
    }
  }

  /** ENTER with nesting levels 0..31 (and imm8 values the processor masks), both sizes; LEAVE. */
  static void enterLeave(Gen g) {
    Insn.Builder b = g.b();
    if (g.chance(0.6)) {
      boolean o16 = g.chance(0.25);
      if (o16) {
        b.prefix(0x66);
      }
      int level = g.chance(0.5) ? g.pick(0, 1, 2, 3) : g.rnd.nextInt(g.chance(0.8) ? 32 : 256);
      int nest = level & 31;
      int frame = g.chance(0.5) ? 4 * g.rnd.nextInt(16) : g.rnd.nextInt(0x10000);
      stack(g, 4 * nest + 8, 0);
      int bp = 4 * nest + g.rnd.nextInt(g.c.mem.length - 4 * nest - 4);
      g.c.regs[Regs.EBP] = Layout.SCRATCH_ADDR + bp;
      b.op(0xC8).imm(frame, 2).imm(level, 1);
      g.c.form = (o16 ? "enterw" : "enter") + " imm16, " + (nest == 0 ? "0" : nest == 1 ? "1" : "level>1");
      g.c.setInsn(b.build((o16 ? "enterw " : "enter ") + Hex.h32(frame) + ", " + Hex.h32(level)));
    } else {
      int size = g.size1632();
      int bp = g.rnd.nextInt(g.c.mem.length - 4);
      g.c.regs[Regs.EBP] = Layout.SCRATCH_ADDR + bp;
      Gen.opsize(b, size);
      b.op(0xC9);
      g.c.form = "leave o" + size;
      g.c.setInsn(b.build(size == 16 ? "leavew" : "leave"));
    }
  }

  /** The one-byte INC/DEC forms 40-4F (REX prefixes in 64-bit mode). */
  static void incDec(Gen g) {
    int size = g.size1632();
    int r = g.reg();
    boolean dec = g.chance(0.5);
    g.setReg(size, r, g.val(size));
    Insn.Builder b = g.b();
    Gen.opsize(b, size);
    b.op((dec ? 0x48 : 0x40) + r);
    g.c.form = (dec ? "dec" : "inc") + " r" + size + " (40-4F)";
    g.c.setInsn(b.build((dec ? "dec " : "inc ") + Regs.name(size, r)));
  }

  /** EFLAGS bits that POPF can change at any privilege level besides the status flags and DF. */
  static final int USER_SYSTEM_BITS = org.hospes.x86.Flags.AC | org.hospes.x86.Flags.ID
      | org.hospes.x86.Flags.NT;

  /**
   * PUSHF/POPF in both sizes. Compared: the status flags, DF, AC, ID, NT and bit 1. IF and IOPL
   * differ between a user process and the emulator at CPL 0, so the pushed image masks them, and
   * POPF images keep them (and TF, RF, VM) clear.
   */
  static void pushfPopf(Gen g) {
    boolean pop = g.chance(0.5);
    int size = g.size1632();
    int e = size / 8;
    Insn.Builder b = g.b();
    Gen.opsize(b, size);
    if (pop) {
      int off = stack(g, 0, 8);
      int image = g.rnd.nextInt() & (STATUS | DF | USER_SYSTEM_BITS | 0x2 | 0x8 | 0x20 | 0x8000);
      g.putMem(off, image, e);
      g.c.flagMask = DefinedFlags.COMPARABLE | (size == 32 ? USER_SYSTEM_BITS
          : org.hospes.x86.Flags.NT);
      b.op(0x9D);
      g.c.form = "popf o" + size;
      g.c.setInsn(b.build(size == 16 ? "popfw" : "popfd"));
    } else {
      int off = stack(g, 8, 0);
      g.c.eflags |= g.rnd.nextInt() & USER_SYSTEM_BITS;
      g.c.maskMem(off - e, e, STATUS | DF | USER_SYSTEM_BITS | 0x2);
      b.op(0x9C);
      g.c.form = "pushf o" + size;
      g.c.setInsn(b.build(size == 16 ? "pushfw" : "pushfd"));
    }
  }

  static final String[] CC = HostForms.CC;

  /** Jcc, JMP, LOOP/LOOPE/LOOPNE/JECXZ (and their 0x67 CX forms), JMP r/m32. */
  static void branch(Gen g) {
    int v = g.rnd.nextInt(6);
    Insn.Builder b = g.b();
    switch (v) {
      case 0, 1 -> {
        int cc = g.rnd.nextInt(16);
        boolean near = v == 1;
        boolean hint = g.chance(0.15); // 2E/3E: branch hints, ignored by the processor
        if (hint) {
          b.prefix(g.pick(0x2E, 0x3E));
        }
        int len = (near ? 6 : 2) + (hint ? 1 : 0);
        int rel = rel(g, len, near);
        if (near) {
          b.op(0x0F, 0x80 + cc).imm(rel, 4);
        } else {
          b.op(0x70 + cc).imm(rel, 1);
        }
        g.c.form = "j" + "cc " + (near ? "rel32" : "rel8") + (hint ? " (hint prefix)" : "");
        g.c.setInsn(b.build("j" + CC[cc] + " " + Hex.h32(g.c.codeAddr + len + rel)));
      }
      case 2 -> {
        boolean near = g.chance(0.5);
        int len = near ? 5 : 2;
        int rel = rel(g, len, near);
        b.op(near ? 0xE9 : 0xEB).imm(rel, near ? 4 : 1);
        g.c.form = "jmp " + (near ? "rel32" : "rel8");
        g.c.setInsn(b.build("jmp " + Hex.h32(g.c.codeAddr + len + rel)));
      }
      case 3 -> {
        int t = codeTarget(g, 8);
        Gen.Rm rm;
        if (g.chance(0.5)) {
          int r = g.reg();
          g.c.regs[r] = t;
          rm = g.new Rm(32, r);
        } else {
          int off = g.offset(4, 0);
          g.putMem(off, t, 4);
          rm = g.new Rm(32, off, g.memAt(Layout.SCRATCH_ADDR + off, 0));
        }
        b.op(0xFF);
        rm.modrm(b, 4);
        g.c.form = "jmp r/m32 " + rm.kind();
        g.c.setInsn(b.build("jmp " + rm.text()));
      }
      default -> {
        int op = g.rnd.nextInt(4); // loopne loope loop jecxz
        boolean cx = g.chance(0.3);
        int len = cx ? 3 : 2;
        int rel = rel(g, len, false);
        g.c.regs[Regs.ECX] = g.chance(0.6) ? (g.rnd.nextInt() & 0xFFFF_0000) | g.pick(0, 1, 2, 0xFFFF)
            : g.val(32);
        if (cx) {
          b.prefix(0x67);
        }
        b.op(0xE0 + op).imm(rel, 1);
        String[] n = {"loopne", "loope", "loop", cx ? "jcxz" : "jecxz"};
        g.c.form = n[op] + (cx ? " (a16: CX)" : "");
        g.c.setInsn(b.build(n[op] + (cx && op < 3 ? " cx" : "") + " "
            + Hex.h32(g.c.codeAddr + len + rel)));
      }
    }
  }

  /** A displacement whose target is neither inside the instruction nor outside the code region. */
  static int rel(Gen g, int len, boolean near) {
    int rel;
    do {
      rel = near && g.chance(0.7) ? g.rnd.nextInt(0x7000) - 0x3800 : g.rnd.nextInt(256) - 128;
    } while (rel >= -len - 1 && rel < 0);
    return rel;
  }

  static void xlat(Gen g) {
    HostForms.xlat(g);
  }

  /** ARPL r/m16, r16 (63 is MOVSXD in 64-bit mode): raises the destination's RPL, sets ZF. */
  static void arpl(Gen g) {
    int r = g.reg();
    g.setReg(16, r, g.val(16));
    Gen.Rm rm = g.chance(0.5) ? g.memRm(16, Gen.bit(16, r)) : g.regRm(16, g.reg());
    Insn.Builder b = g.b();
    b.op(0x63);
    rm.modrm(b, r);
    g.c.form = "arpl r/m16, r16 " + rm.kind();
    g.c.setInsn(b.build("arpl " + rm.text() + ", " + Regs.name(16, r)));
  }

  /**
   * The address-size prefix 0x67 in 32-bit code: 16-bit ModRM memory operands, and string
   * instructions and XLAT that use SI, DI, CX and BX. The scratch window lies below 64 KiB.
   */
  static void addr16(Gen g) {
    int v = g.rnd.nextInt(6);
    DiffCase c = g.c;
    Insn.Builder b = g.b();
    if (v <= 2) {
      int size = g.size();
      int off = g.offset(size / 8, 0);
      g.putMem(off, g.val(size), size / 8);
      int r = g.reg();
      g.setReg(size, r, g.val(size));
      Mem16 m = g.mem16At(Layout.SCRATCH_ADDR + off, Gen.bit(size, r));
      String seg = g.seg(b, 0.15, true);
      Gen.opsize(b, size);
      b.prefix(0x67);
      String t;
      if (v == 0) {
        int op = g.rnd.nextInt(8);
        boolean toMem = g.chance(0.5);
        b.op(Gen.w(op * 8 + (toMem ? 0 : 2), size)).modrmMem16(r, m);
        t = HostForms.ALU[op] + " " + (toMem ? m.text(size) + ", " + Regs.name(size, r)
            : Regs.name(size, r) + ", " + m.text(size));
        c.form = "a16 " + HostForms.ALU[op] + (toMem ? " m, r" : " r, m") + size;
        c.flagMask = op == 1 || op == 4 || op == 6 ? DefinedFlags.logic() : DefinedFlags.all();
      } else if (v == 1) {
        boolean store = g.chance(0.5);
        b.op(Gen.w(store ? 0x88 : 0x8A, size)).modrmMem16(r, m);
        t = "mov " + (store ? m.text(size) + ", " + Regs.name(size, r)
            : Regs.name(size, r) + ", " + m.text(size));
        c.form = "a16 mov" + (store ? " m, r" : " r, m") + size;
      } else {
        boolean dec = g.chance(0.5);
        b.op(Gen.w(0xFE, size)).modrmMem16(dec ? 1 : 0, m);
        t = (dec ? "dec " : "inc ") + m.text(size);
        c.form = "a16 " + (dec ? "dec" : "inc") + " m" + size;
      }
      c.setInsn(b.build(seg + t));
    } else if (v == 3) {
      int size = g.size1632();
      int r = g.reg();
      Mem16 m = g.mem16At(g.rnd.nextInt(0x10000), 0);
      Gen.opsize(b, size);
      b.prefix(0x67).op(0x8D).modrmMem16(r, m);
      c.form = "a16 lea r" + size;
      c.setInsn(b.build("lea " + Regs.name(size, r) + ", " + m.text(size).replaceFirst("^\\w+ ", "")));
    } else if (v == 4) {
      int al = g.rnd.nextInt(256);
      g.setReg(8, Regs.EAX, al);
      int off = g.rnd.nextInt(c.mem.length);
      c.regs[Regs.EBX] = (g.rnd.nextInt() & 0xFFFF_0000) | ((Layout.SCRATCH_ADDR + off - al) & 0xFFFF);
      b.prefix(0x67).op(0xD7);
      c.form = "a16 xlat";
      c.setInsn(b.build("a16 xlatb"));
    } else {
      addr16String(g);
    }
  }

  /** MOVS CMPS STOS LODS SCAS with 0x67: SI, DI and CX, upper halves untouched. */
  static void addr16String(Gen g) {
    DiffCase c = g.c;
    int kind = g.rnd.nextInt(5);
    int size = g.size();
    int e = size / 8;
    String[] names = {"movs", "cmps", "stos", "lods", "scas"};
    int[] ops = {0xA4, 0xA6, 0xAA, 0xAC, 0xAE};
    boolean compare = kind == 1 || kind == 4;
    int rep = g.rnd.nextInt(compare ? 3 : 2);
    boolean down = g.chance(0.5);
    c.eflags = down ? c.eflags | DF : c.eflags & ~DF;
    int n = 1;
    if (rep != 0) {
      n = g.rnd.nextInt(13);
      c.regs[Regs.ECX] = (g.rnd.nextInt() & 0xFFFF_0000) | n;
    }
    int span = Math.max(n, 1) * e;
    int src = g.offset(span, 0);
    int dst = g.offset(span, 0);
    int hiS = g.rnd.nextInt() & 0xFFFF_0000;
    int hiD = g.rnd.nextInt() & 0xFFFF_0000;
    c.regs[Regs.ESI] = hiS | (Layout.SCRATCH_ADDR + (down ? src + span - e : src));
    c.regs[Regs.EDI] = hiD | (Layout.SCRATCH_ADDR + (down ? dst + span - e : dst));
    if (compare) {
      if (kind == 1) {
        System.arraycopy(c.mem, src, c.mem, dst, span);
      } else {
        for (int i = 0; i < span; i += e) {
          g.putMem(dst + i, g.getReg(size, Regs.EAX), e);
        }
      }
      if (g.chance(0.6)) {
        c.mem[dst + g.rnd.nextInt(span)] ^= 1;
      }
    }
    Insn.Builder b = g.b();
    Gen.opsize(b, size);
    String p = "";
    if (rep == 1) {
      b.prefix(0xF3);
      p = compare ? "repe " : "rep ";
    } else if (rep == 2) {
      b.prefix(0xF2);
      p = "repne ";
    }
    b.prefix(0x67).op(Gen.w(ops[kind], size));
    String suffix = size == 8 ? "b" : size == 16 ? "w" : "d";
    c.form = "a16 " + p + names[kind] + suffix;
    c.setInsn(b.build("a16 " + p + names[kind] + suffix));
  }

  // ---- sequences -------------------------------------------------------------------------------

  /** Flags a condition code reads. */
  static int ccReads(int cc) {
    return switch (cc >> 1) {
      case 0 -> OF;
      case 1 -> CF;
      case 2 -> ZF;
      case 3 -> CF | ZF;
      case 4 -> SF;
      case 5 -> PF;
      case 6 -> SF | OF;
      default -> ZF | SF | OF;
    };
  }

  /** One instruction of a sequence and its effect on which flags are defined. */
  record Step(Insn insn, int reads, int defines, int undefines, int count) {
    Step(Insn insn, int reads, int defines, int undefines) {
      this(insn, reads, defines, undefines, 1);
    }
  }

  /**
   * A step that writes the status flags in {@code written}; of those, the ones outside
   * {@code compared} (a {@link DefinedFlags} mask) become undefined.
   */
  static Step writes(Insn insn, int reads, int written, int compared) {
    return new Step(insn, reads, written & compared, written & ~compared & STATUS);
  }

  /**
   * Two to six instructions that run one after another, sometimes with a forward Jcc over one or
   * two of them. ESP and EBP are pinned into the scratch window; results only go to EAX..EBX, the
   * stack and [EBP+disp8]. The generator tracks which flags are undefined after each step, never
   * emits an instruction that reads one, and compares only the flags defined at the end.
   */
  static void sequence(Gen g) {
    DiffCase c = g.c;
    c.regs[Regs.EBP] = Layout.SCRATCH_ADDR + 140 + g.rnd.nextInt(c.mem.length - 280);
    c.regs[Regs.ESP] = Layout.SCRATCH_ADDR + 160 + g.rnd.nextInt(c.mem.length - 320);
    int n = 2 + g.rnd.nextInt(7);
    int steps = 0;
    List<Insn> out = new ArrayList<>();
    int undef = 0;
    int count = 0;
    while (count < n) {
      if (out.stream().mapToInt(i -> i.ref().length).sum() > Layout.CODE_MAX - 40) {
        break; // room for the longest step (a Jcc over two steps) is kept
      }
      if (count + 3 <= n && g.chance(0.12)) {
        int pos = out.stream().mapToInt(i -> i.ref().length).sum();
        int added = selfModifying(g, c.codeAddr + pos, out);
        count += added;
        steps += added;
        continue;
      }
      if (count + 2 < n && g.chance(0.15)) {
        int cc = g.rnd.nextInt(16);
        if ((ccReads(cc) & undef) != 0) {
          continue;
        }
        int k = 1 + g.rnd.nextInt(2);
        List<Insn> skipped = new ArrayList<>();
        int after = undef;
        for (int i = 0; i < k; i++) {
          Step s = step(g, after);
          skipped.add(s.insn());
          after = (after & ~s.defines()) | s.undefines();
          steps += s.count();
        }
        steps++;
        int len = skipped.stream().mapToInt(i -> i.ref().length).sum();
        out.add(new Insn.Builder(false).op(0x70 + cc).imm(len, 1).build("j" + CC[cc] + " +" + len));
        out.addAll(skipped);
        undef |= after;
        count += 1 + k;
      } else {
        Step s = step(g, undef);
        out.add(s.insn());
        undef = (undef & ~s.defines()) | s.undefines();
        count++;
        steps += s.count();
      }
    }
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    StringBuilder text = new StringBuilder();
    for (Insn i : out) {
      bytes.writeBytes(i.ref());
      text.append(text.length() > 0 ? "; " : "").append(i.text());
    }
    byte[] code = bytes.toByteArray();
    if (code.length > Layout.CODE_MAX) {
      throw new IllegalStateException("sequence too long: " + code.length);
    }
    c.refCode = code;
    c.emuCode = code;
    c.text = text.toString();
    c.form = "sequence";
    c.maxSteps = steps;
    c.flagMask = DefinedFlags.COMPARABLE & ~undef;
  }

  /**
   * Self-modifying code: a store into the immediate of a MOV r32, imm32 that follows, then that
   * MOV. The store is a byte MOV, a dword MOV, or STOSB through EDI (which sequences leave
   * alone otherwise). Usually a JMP $+2 sits between them, as the SDM (vol. 3, 8.1.3) asks of
   * portable code; without it, P6-family processors still execute the new bytes because a write
   * to a prefetched instruction invalidates the prefetch queue (vol. 3, 11.6), and QEMU agrees.
   * Returns the number of instructions added; they start at address {@code at}.
   */
  static int selfModifying(Gen g, int at, List<Insn> out) {
    int how = g.rnd.nextInt(3);
    boolean jump = g.chance(0.7);
    int r = g.rnd.nextInt(4);
    int imm = g.rnd.nextInt();
    int k = g.rnd.nextInt(4);
    int patch = g.rnd.nextInt();
    int n = 0;
    int storeLen;
    if (how == 2) {
      // mov edi, target (5) ; mov al, patch (2) ; stosb (1)
      storeLen = 8;
    } else {
      storeLen = how == 0 ? 7 : 10;
    }
    int movAt = at + storeLen + (jump ? 2 : 0);
    int target = how == 1 ? movAt + 1 : movAt + 1 + k;
    if (how == 0) {
      out.add(new Insn.Builder(false).op(0xC6).modrmMem(0, Mem.absolute(target, true))
          .imm(patch, 1).build("mov byte [" + Hex.h32(target) + "], " + Hex.imm(patch, 8)));
      n = 1;
    } else if (how == 1) {
      out.add(new Insn.Builder(false).op(0xC7).modrmMem(0, Mem.absolute(target, true))
          .imm(patch, 4).build("mov dword [" + Hex.h32(target) + "], " + Hex.h32(patch)));
      n = 1;
    } else {
      out.add(new Insn.Builder(false).op(0xBF).imm(target, 4).build("mov edi, " + Hex.h32(target)));
      out.add(new Insn.Builder(false).op(0xB0).imm(patch, 1).build("mov al, " + Hex.imm(patch, 8)));
      out.add(new Insn.Builder(false).op(0xAA).build("stosb"));
      n = 3;
      r = 1 + g.rnd.nextInt(3); // not EAX: AL carries the patch
    }
    if (jump) {
      out.add(new Insn.Builder(false).op(0xEB).imm(0, 1).build("jmp $+2"));
      n++;
    }
    out.add(new Insn.Builder(false).op(0xB8 + r).imm(imm, 4)
        .build("mov " + Regs.r32(r) + ", " + Hex.h32(imm) + " (patched by the store)"));
    return n + 1;
  }

  /** One sequence instruction that reads no flag in {@code undef}. */
  static Step step(Gen g, int undef) {
    while (true) {
      Step s = candidate(g);
      if ((s.reads() & undef) == 0) {
        return s;
      }
    }
  }

  private static Step candidate(Gen g) {
    Insn.Builder b = new Insn.Builder(false);
    int size = g.size();
    int r = g.rnd.nextInt(size == 8 ? 8 : 4); // AL..BH or EAX..EBX
    int r2 = g.rnd.nextInt(size == 8 ? 8 : 4);
    switch (g.rnd.nextInt(15)) {
      case 14 -> { // MOV CL, n then a shift or rotate by CL: the count is known, so are the flags
        int kind = g.pick(0, 1, 2, 3, 4, 5, 7);
        int count = g.count();
        Gen.opsize(b, size);
        b.op(Gen.w(0xD2, size)).modrmReg(kind, r);
        Insn shift = b.build(HostForms.SHIFT[kind] + " " + Regs.name(size, r) + ", cl");
        Insn mov = new Insn.Builder(false).op(0xB1).imm(count, 1).build("mov cl, " + Hex.h32(count));
        byte[] both = new byte[mov.ref().length + shift.ref().length];
        System.arraycopy(mov.ref(), 0, both, 0, mov.ref().length);
        System.arraycopy(shift.ref(), 0, both, mov.ref().length, shift.ref().length);
        int cmp = kind <= 3 ? DefinedFlags.rotate(count) : DefinedFlags.shift(kind, size, count);
        int undefines = STATUS & ~cmp;
        int written = (count & 31) == 0 ? 0 : kind <= 3 ? CF | OF : STATUS;
        return new Step(new Insn(both, both, mov.text() + "; " + shift.text()),
            kind == 2 || kind == 3 ? CF : 0, written & ~undefines, undefines, 2);
      }
      case 0, 1 -> { // ALU r, r / r, [ebp+d8] / [ebp+d8], r / r, imm
        int op = g.rnd.nextInt(8);
        int mode = g.rnd.nextInt(4);
        Gen.opsize(b, size);
        String t;
        if (mode == 3) {
          int imm = g.val(size);
          b.op(Gen.w(0x80, size)).modrmReg(op, r).imm(imm, Gen.immBytes(size));
          t = HostForms.ALU[op] + " " + Regs.name(size, r) + ", " + Hex.imm(imm, size);
        } else if (mode == 0) {
          b.op(Gen.w(op * 8, size)).modrmReg(r2, r);
          t = HostForms.ALU[op] + " " + Regs.name(size, r) + ", " + Regs.name(size, r2);
        } else {
          Mem m = new Mem(Regs.EBP, -1, 0, g.rnd.nextInt(256) - 128, 1, false);
          b.op(Gen.w(op * 8 + (mode == 1 ? 2 : 0), size)).modrmMem(r, m);
          t = HostForms.ALU[op] + " " + (mode == 1 ? Regs.name(size, r) + ", " + m.text(size)
              : m.text(size) + ", " + Regs.name(size, r));
        }
        boolean logic = op == 1 || op == 4 || op == 6;
        int reads = op == 2 || op == 3 ? CF : 0;
        return writes(b.build(t), reads, STATUS, logic ? DefinedFlags.logic() : DefinedFlags.all());
      }
      case 2 -> { // one-byte INC/DEC
        int sz = g.size1632();
        boolean dec = g.chance(0.5);
        Gen.opsize(b, sz);
        b.op((dec ? 0x48 : 0x40) + r % 4);
        return new Step(b.build((dec ? "dec " : "inc ") + Regs.name(sz, r % 4)), 0, STATUS & ~CF, 0);
      }
      case 3 -> { // shifts and rotates by imm8
        int kind = g.pick(0, 1, 2, 3, 4, 5, 7);
        int count = g.count();
        Gen.opsize(b, size);
        b.op(Gen.w(0xC0, size)).modrmReg(kind, r).imm(count, 1);
        String t = HostForms.SHIFT[kind] + " " + Regs.name(size, r) + ", " + Hex.h32(count);
        int cmp = kind <= 3 ? DefinedFlags.rotate(count) : DefinedFlags.shift(kind, size, count);
        int undefines = STATUS & ~cmp;
        int c = count & 31;
        int written = c == 0 ? 0 : kind <= 3 ? CF | OF : STATUS;
        int reads = kind == 2 || kind == 3 ? CF : 0;
        return new Step(b.build(t), reads, written & ~undefines, undefines);
      }
      case 4 -> { // IMUL r, r/m
        int sz = g.size1632();
        Gen.opsize(b, sz);
        b.op(0x0F, 0xAF).modrmReg(r % 4, r2 % 4);
        return writes(b.build("imul " + Regs.name(sz, r % 4) + ", " + Regs.name(sz, r2 % 4)), 0,
            STATUS, DefinedFlags.multiply());
      }
      case 5 -> { // SETcc / CMOVcc
        int cc = g.rnd.nextInt(16);
        if (g.chance(0.5)) {
          b.op(0x0F, 0x90 + cc).modrmReg(0, r);
          return new Step(b.build("set" + CC[cc] + " " + Regs.name(8, r)), ccReads(cc), 0, 0);
        }
        int sz = g.size1632();
        Gen.opsize(b, sz);
        b.op(0x0F, 0x40 + cc).modrmReg(r % 4, r2 % 4);
        return new Step(b.build("cmov" + CC[cc] + " " + Regs.name(sz, r % 4) + ", "
            + Regs.name(sz, r2 % 4)), ccReads(cc), 0, 0);
      }
      case 6 -> { // PUSH / POP
        int sz = g.size1632();
        Gen.opsize(b, sz);
        if (g.chance(0.5)) {
          b.op(0x50 + g.rnd.nextInt(8));
          return new Step(b.build("push " + Regs.name(sz, b.bytes(false)[sz == 16 ? 1 : 0] - 0x50)),
              0, 0, 0);
        }
        b.op(0x58 + r % 4);
        return new Step(b.build("pop " + Regs.name(sz, r % 4)), 0, 0, 0);
      }
      case 7 -> { // flag instructions
        int v = g.rnd.nextInt(5);
        int[] ops = {0xF8, 0xF9, 0xF5, 0x9F, 0x9E};
        String[] names = {"clc", "stc", "cmc", "lahf", "sahf"};
        b.op(ops[v]);
        int reads = v == 2 ? CF : v == 3 ? SF | ZF | AF | PF | CF : 0;
        int defines = v <= 2 ? CF : v == 4 ? SF | ZF | AF | PF | CF : 0;
        return new Step(b.build(names[v]), reads, defines, 0);
      }
      case 8 -> { // BCD adjusts
        int v = g.rnd.nextInt(4);
        b.op(new int[] {0x27, 0x2F, 0x37, 0x3F}[v]);
        String n = new String[] {"daa", "das", "aaa", "aas"}[v];
        return v < 2 ? writes(b.build(n), CF | AF, STATUS, DefinedFlags.decimalAdjust())
            : writes(b.build(n), AF, STATUS, DefinedFlags.asciiAdjustAddSub());
      }
      case 9 -> { // NEG / NOT
        boolean neg = g.chance(0.5);
        Gen.opsize(b, size);
        b.op(Gen.w(0xF6, size)).modrmReg(neg ? 3 : 2, r);
        return new Step(b.build((neg ? "neg " : "not ") + Regs.name(size, r)), 0, neg ? STATUS : 0, 0);
      }
      case 10 -> { // MOV r, imm / XCHG r, r / MOV r, [ebp+d8]
        Gen.opsize(b, size);
        if (g.chance(0.4)) {
          int imm = g.val(size);
          b.op((size == 8 ? 0xB0 : 0xB8) + r).imm(imm, Gen.immBytes(size));
          return new Step(b.build("mov " + Regs.name(size, r) + ", " + Hex.imm(imm, size)), 0, 0, 0);
        }
        if (g.chance(0.5)) {
          b.op(Gen.w(0x86, size)).modrmReg(r2, r);
          return new Step(b.build("xchg " + Regs.name(size, r) + ", " + Regs.name(size, r2)), 0, 0, 0);
        }
        Mem m = new Mem(Regs.EBP, -1, 0, g.rnd.nextInt(256) - 128, 1, false);
        boolean store = g.chance(0.5);
        b.op(Gen.w(store ? 0x88 : 0x8A, size)).modrmMem(r, m);
        return new Step(b.build("mov " + (store ? m.text(size) + ", " + Regs.name(size, r)
            : Regs.name(size, r) + ", " + m.text(size))), 0, 0, 0);
      }
      case 11 -> { // TEST / CMP with immediates on the accumulator
        int imm = g.val(size);
        boolean test = g.chance(0.5);
        Gen.opsize(b, size);
        b.op(Gen.w(test ? 0xA8 : 0x3C, size)).imm(imm, Gen.immBytes(size));
        return writes(b.build((test ? "test " : "cmp ") + Regs.name(size, 0) + ", "
            + Hex.imm(imm, size)), 0, STATUS, test ? DefinedFlags.logic() : DefinedFlags.all());
      }
      case 12 -> { // BSWAP / MOVZX / MOVSX
        if (g.chance(0.3)) {
          b.op(0x0F, 0xC8 + r % 4);
          return new Step(b.build("bswap " + Regs.r32(r % 4)), 0, 0, 0);
        }
        boolean signed = g.chance(0.5);
        b.op(0x0F, signed ? 0xBE : 0xB6).modrmReg(r % 4, r2);
        return new Step(b.build((signed ? "movsx " : "movzx ") + Regs.r32(r % 4) + ", "
            + Regs.name(8, r2)), 0, 0, 0);
      }
      default -> { // INC/DEC/ADD on [ebp+d8], read-modify-write
        Mem m = new Mem(Regs.EBP, -1, 0, g.rnd.nextInt(256) - 128, 1, false);
        boolean dec = g.chance(0.5);
        Gen.opsize(b, size);
        b.op(Gen.w(0xFE, size)).modrmMem(dec ? 1 : 0, m);
        return new Step(b.build((dec ? "dec " : "inc ") + m.text(size)), 0, STATUS & ~CF, 0);
      }
    }
  }
}
