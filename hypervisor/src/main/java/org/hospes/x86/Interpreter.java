package org.hospes.x86;

import static org.hospes.x86.Cpu.BLOCK_DONE;
import static org.hospes.x86.Cpu.CR0_EM;
import static org.hospes.x86.Cpu.CR0_MP;
import static org.hospes.x86.Cpu.CR0_TS;
import static org.hospes.x86.Cpu.EAX;
import static org.hospes.x86.Cpu.EBX;
import static org.hospes.x86.Cpu.ECX;
import static org.hospes.x86.Cpu.EDX;
import static org.hospes.x86.Cpu.ESP;
import static org.hospes.x86.Cpu.F0_A16;
import static org.hospes.x86.Cpu.LF_DEC;
import static org.hospes.x86.Cpu.LF_INC;
import static org.hospes.x86.Cpu.LF_NONE;
import static org.hospes.x86.Cpu.MASK;
import static org.hospes.x86.Cpu.SS;
import static org.hospes.x86.Cpu.size;

import org.hospes.x86.vmx.ExitReason;
import org.hospes.x86.vmx.VmcsField;
import org.hospes.x86.vmx.VmxControls;

/**
 * The interpreter: runs the decoded instructions of a {@link Block} one after another on a
 * {@link Cpu}'s state. {@link #interpret} is the dispatch loop, one method that HotSpot compiles
 * whole: the instructions frequent in hot loops are handled in its switch, and the rest in
 * {@link #execCold}, kept apart so that the loop stays small. Both are static and take the
 * processor first, like the instruction families ({@link Alu}, {@link DataXfer}, ...), so every
 * call from the loop is monomorphic. Faults leave through {@link CpuFault} to
 * {@link Cpu#faultInBlock}, which translated blocks share.
 */
final class Interpreter {
  private Interpreter() {}

  /**
   * Interprets instructions {@code first} (0-based) up to {@code stop} of block {@code b}, which
   * starts at {@code base}, with EIP past the block (control transfers set it) and the
   * instructions before {@code first} already retired (a translation ran them). The block's
   * instructions retire together at its end, as one block: {@link Cpu#icount} is that of its start
   * while they run (RDTSC adds the instruction's index). Returns {@link Cpu#BLOCK_DONE}, or the
   * outcome of a fault ({@link Cpu#faultInBlock}).
   */
  static int interpret(Cpu c, Block b, int base, int first, int stop) {
    final int[] code = b.code;
    final int n = b.count;
    c.icount -= first;
    int i = first;
    try {
      while (i < stop) {
        final int p = i << 2;
        final int f0 = code[p];
        final int d = code[p + 1];
        final int imm = code[p + 2];
        final int f3 = code[p + 3];
        i++;
        switch (f0 & 0x3FF) {
          case Op.NOP: break;
          case Op.ALU_EG: Alu.aluEG(c, f0, d, f3 >>> 20); break;
          case Op.ALU_GE: Alu.aluGE(c, f0, d, f3 >>> 20); break;
          case Op.ALU_EI: Alu.aluEI(c, f0, d, imm, f3 >>> 20); break;
          case Op.TEST_EG: Alu.testEG(c, f0, d); break;
          case Op.TEST_EI: Alu.testEI(c, f0, d, imm); break;
          case Op.INC_E: Alu.incE(c, f0, d); break;
          case Op.DEC_E: Alu.decE(c, f0, d); break;
          case Op.NOT_E: Alu.notE(c, f0, d); break;
          case Op.NEG_E: Alu.negE(c, f0, d); break;
          case Op.MUL_E: MulDiv.mul(c, f0, d); break;
          case Op.IMUL_E: MulDiv.imul1(c, f0, d); break;
          case Op.DIV_E: MulDiv.div(c, f0, d); break;
          case Op.IDIV_E: MulDiv.idiv(c, f0, d); break;
          case Op.IMUL_GE: MulDiv.imulGE(c, f0, d); break;
          case Op.IMUL_GEI: MulDiv.imulGEI(c, f0, d, imm); break;
          case Op.SHIFT_EI: Shift.shiftE(c, f0, d, f3 >>> 20, imm); break;
          case Op.SHIFT_ECL: Shift.shiftE(c, f0, d, f3 >>> 20, c.r[ECX]); break;
          case Op.XCHG_EG: DataXfer.xchg(c, f0, d); break;
          case Op.CMOV: DataXfer.cmov(c, f0, d, f3 >>> 20); break;
          case Op.SETCC: c.setE(f0, d, 0, c.cond(f3 >>> 20) ? 1 : 0); break;
          case Op.JCC:
            if (c.cond(f3 >>> 20)) {
              c.jumpTo(f0, base + imm);
            }
            break;
          case Op.JZ:
            if (c.lfOp == LF_NONE ? (c.flags & Flags.ZF) != 0 : c.lfR == 0) {
              c.jumpTo(f0, base + imm);
            }
            break;
          case Op.JNZ:
            if (c.lfOp == LF_NONE ? (c.flags & Flags.ZF) == 0 : c.lfR != 0) {
              c.jumpTo(f0, base + imm);
            }
            break;
          case Op.JMP: c.jumpTo(f0, base + imm); break;
          case Op.JMP_E: c.jumpTo(f0, c.getE(f0, d, size(f0))); break;
          case Op.CALL: {
            c.pushSized(size(f0), base + (f3 & 0xFFFF));
            c.jumpTo(f0, base + imm);
            break;
          }
          case Op.CALL_E: {
            int target = c.getE(f0, d, size(f0));
            c.pushSized(size(f0), base + (f3 & 0xFFFF));
            c.jumpTo(f0, target);
            break;
          }
          case Op.RET: DataXfer.ret(c, f0, imm); break;
          case Op.MOV_EG: c.setE(f0, d, size(f0), c.getG(f0, size(f0))); break;
          case Op.MOV_GE: c.setG(f0, size(f0), c.getE(f0, d, size(f0))); break;
          case Op.MOV_EI: c.setE(f0, d, size(f0), imm); break;
          case Op.MOVZX: c.setG(f0, size(f0), c.getE(f0, d, f3 >>> 20)); break;
          case Op.MOVSX: {
            int sub = f3 >>> 20;
            int v = c.getE(f0, d, sub);
            c.setG(f0, size(f0), sub == 0 ? (byte) v : (short) v);
            break;
          }
          case Op.LEA: c.setG(f0, size(f0), c.offset(f0, d)); break;
          case Op.PUSH_E: c.pushSized(size(f0), c.getE(f0, d, size(f0))); break;
          case Op.PUSH_I: c.pushSized(size(f0), imm); break;
          case Op.POP_E: DataXfer.popE(c, f0, d); break;
          case Op.LEAVE: DataXfer.leave(c, size(f0)); break;
          case Op.CBW:
            if (size(f0) == 1) {
              c.r[EAX] = (c.r[EAX] & 0xFFFF_0000) | ((byte) c.r[EAX] & 0xFFFF);
            } else {
              c.r[EAX] = (short) c.r[EAX];
            }
            break;
          case Op.CWD:
            if (size(f0) == 1) {
              c.r[EDX] = (c.r[EDX] & 0xFFFF_0000) | (((short) c.r[EAX] >> 15) & 0xFFFF);
            } else {
              c.r[EDX] = c.r[EAX] >> 31;
            }
            break;
          case Op.MOVS: StringOps.movs(c, f0, f3 >>> 20); break;
          case Op.STOS: StringOps.stos(c, f0, f3 >>> 20); break;
          case Op.MOV_RR32:
            if ((f3 >>> 20) == 0) {
              c.r[(f0 >>> 14) & 15] = c.r[(f0 >>> 10) & 15];
            } else {
              c.r[(f0 >>> 10) & 15] = c.r[(f0 >>> 14) & 15];
            }
            break;
          case Op.LOAD32: c.r[(f0 >>> 10) & 15] = c.read32(c.linR(f0, d, 2)); break;
          case Op.STORE32: c.write32(c.linW(f0, d, 2), c.r[(f0 >>> 10) & 15]); break;
          case Op.ALU_RR32: Alu.aluRR32(c, f0, f3 >>> 20); break;
          case Op.ALU_RI32: Alu.aluRI32(c, f0, imm, f3 >>> 20); break;
          case Op.INC_R32: {
            int reg = (f0 >>> 14) & 15;
            int a = c.r[reg];
            c.lfCf = c.carryIn();
            c.lfA = a;
            c.lfB = 1;
            c.lfR = a + 1;
            c.lfOp = LF_INC;
            c.r[reg] = a + 1;
            break;
          }
          case Op.DEC_R32: {
            int reg = (f0 >>> 14) & 15;
            int a = c.r[reg];
            c.lfCf = c.carryIn();
            c.lfA = a;
            c.lfB = 1;
            c.lfR = a - 1;
            c.lfOp = LF_DEC;
            c.r[reg] = a - 1;
            break;
          }
          case Op.PUSH_R32: c.push32(c.r[(f0 >>> 14) & 15]); break;
          case Op.POP_R32: {
            int v = c.read32(c.stackAddr(c.r[ESP], 4, false));
            c.setStackPointer(c.r[ESP] + 4);
            c.r[(f0 >>> 14) & 15] = v;
            break;
          }
          case Op.FPU:
            if ((c.cr0 & (CR0_EM | CR0_TS)) != 0) {
              c.raise(Exceptions.NM, 0);
            }
            c.fpu.exec(c, f0, d, f3);
            break;
          default: execCold(c, f0, d, imm, f3, base, i); break;
        }
        if (!b.valid) {
          break;
        }
      }
    } catch (CpuFault f) {
      return c.faultInBlock(code, base, i);
    }
    c.icount += i;
    if (i < n) {
      c.eip = base + (code[((i - 1) << 2) + 3] & 0xFFFF);
    }
    return BLOCK_DONE;
  }

  /** The instructions that are rare in hot loops, kept out of the dispatch loop for the JIT. */
  static void execCold(Cpu c, int f0, int d, int imm, int f3, int base, int i) {
    switch (f0 & 0x3FF) {
      case Op.UD: c.raiseUndefined(f3 >>> 20); break;
      case Op.SHLD_I: Shift.shld(c, f0, d, imm); break;
      case Op.SHLD_CL: Shift.shld(c, f0, d, c.r[ECX]); break;
      case Op.SHRD_I: Shift.shrd(c, f0, d, imm); break;
      case Op.SHRD_CL: Shift.shrd(c, f0, d, c.r[ECX]); break;
      case Op.BT_EG: BitOps.btEG(c, f0, d, f3 >>> 20); break;
      case Op.BT_EI: BitOps.btEI(c, f0, d, imm, f3 >>> 20); break;
      case Op.BSF: BitOps.bsf(c, f0, d); break;
      case Op.BSR: BitOps.bsr(c, f0, d); break;
      case Op.BSWAP: BitOps.bswap(c, f0); break;
      case Op.XADD: DataXfer.xadd(c, f0, d); break;
      case Op.CMPXCHG: DataXfer.cmpxchg(c, f0, d); break;
      case Op.CMPXCHG8B: DataXfer.cmpxchg8b(c, f0, d); break;
      case Op.LOOP: Control.loop(c, f0, f3 >>> 20, base + imm); break;
      case Op.PUSHA: DataXfer.pusha(c, size(f0)); break;
      case Op.POPA: DataXfer.popa(c, size(f0)); break;
      case Op.PUSHF: DataXfer.pushf(c, size(f0)); break;
      case Op.POPF: DataXfer.popf(c, size(f0)); break;
      case Op.ENTER: DataXfer.enter(c, size(f0), imm, f3 >>> 20); break;
      case Op.XLAT: {
        int off = c.r[EBX] + (c.r[EAX] & 0xFF);
        if ((f0 & F0_A16) != 0) {
          off &= 0xFFFF;
        }
        c.setReg8(0, c.read8(c.segAddr((f0 >>> 24) & 7, off, 1, false)));
        break;
      }
      case Op.LAHF: {
        int f = c.eflags();
        c.r[EAX] = (c.r[EAX] & 0xFFFF_00FF)
            | (f & (Flags.SF | Flags.ZF | Flags.AF | Flags.PF | Flags.CF | 2)) << 8;
        break;
      }
      case Op.SAHF: {
        int mask = Flags.SF | Flags.ZF | Flags.AF | Flags.PF | Flags.CF;
        c.setEflags((c.eflags() & ~mask) | ((c.r[EAX] >>> 8) & mask));
        break;
      }
      case Op.FLAGOP: flagOp(c, f3 >>> 20); break;
      case Op.BCD: Bcd.exec(c, f3 >>> 20, imm); break;
      case Op.CMPS: StringOps.cmps(c, f0, f3 >>> 20); break;
      case Op.SCAS: StringOps.scas(c, f0, f3 >>> 20); break;
      case Op.LODS: StringOps.lods(c, f0, f3 >>> 20); break;
      case Op.INS: StringOps.ins(c, f0, f3 >>> 20); break;
      case Op.OUTS: StringOps.outs(c, f0, f3 >>> 20); break;
      case Op.IN: {
        int port = (f3 >>> 20) != 0 ? c.r[EDX] & 0xFFFF : imm & 0xFF;
        int sz = size(f0);
        c.checkIo(port, 1 << sz);
        VmxNonRoot.ioExit(c, port, 1 << sz, true, false, false, (f3 >>> 20) == 0);
        c.chargePort(port, 1 << sz);
        c.setReg(sz, EAX, c.io.in(port, 1 << sz));
        break;
      }
      case Op.OUT: {
        int port = (f3 >>> 20) != 0 ? c.r[EDX] & 0xFFFF : imm & 0xFF;
        int sz = size(f0);
        c.checkIo(port, 1 << sz);
        VmxNonRoot.ioExit(c, port, 1 << sz, false, false, false, (f3 >>> 20) == 0);
        c.chargePort(port, 1 << sz);
        c.io.out(port, 1 << sz, c.r[EAX] & MASK[sz]);
        break;
      }
      case Op.CPUID:
        if ((c.miscFeatures & SystemOps.MISC_CPUID_FAULTING) != 0 && c.cpl > 0) {
          // CPUID faulting: a #GP that comes before the VM exit, as a privilege fault does.
          c.raise(Exceptions.GP, 0);
        }
        if (c.vmcs != null) {
          c.vmExit(ExitReason.CPUID, 0);
        }
        CpuId.exec(c);
        break;
      case Op.RDTSC: {
        long tsc = c.rdtsc(i);
        c.r[EAX] = (int) tsc;
        c.r[EDX] = (int) (tsc >>> 32);
        break;
      }
      case Op.PAUSE: c.pause(); break;
      case Op.HLT:
        if (c.cpl != 0 && c.protectedMode()) {
          c.raise(Exceptions.GP, 0);
        }
        if (c.exits(VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmxControls.PROC_HLT_EXITING)) {
          c.vmExit(ExitReason.HLT, 0);
        }
        c.halted = true;
        break;
      case Op.MOV_SR_E: {
        int seg = (f0 >>> 10) & 15;
        Segments.load(c, seg, c.getE(f0, d, 1));
        c.shadow = seg == SS;
        c.ssShadow = c.shadow;
        break;
      }
      case Op.MOV_E_SR: c.setE(f0, d, size(f0), c.segSel[(f0 >>> 10) & 15]); break;
      case Op.PUSH_SR: c.pushSized(size(f0), c.segSel[f3 >>> 20]); break;
      case Op.POP_SR: {
        int sz = size(f0);
        int v = c.readStack(sz, 0);
        Segments.load(c, f3 >>> 20, v);
        c.adjustEsp(sz == 2 ? 4 : 2);
        c.shadow = (f3 >>> 20) == SS;
        c.ssShadow = c.shadow;
        break;
      }
      case Op.INT:
        // INT n is IOPL-sensitive in VM86 mode; INT3 (and INTO) go through the IDT's DPL check.
        if (c.v86() && (f3 >>> 20) != 1 && ((c.flags >>> 12) & 3) != 3) {
          c.raise(Exceptions.GP, 0);
        }
        c.trap(imm, Interrupts.SOFTWARE, (f3 >>> 20) == 1);
        break;
      case Op.INTO:
        if (c.of() != 0) {
          c.trap(Exceptions.OF, Interrupts.SOFTWARE, true);
        }
        break;
      case Op.INT1: c.trap(Exceptions.DB, Interrupts.EXCEPTION, false); break;
      case Op.SIMD: c.simd.exec(c, f0, d, imm, f3 >>> 20); break;
      case Op.FWAIT:
        if ((c.cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS)) {
          c.raise(Exceptions.NM, 0);
        }
        c.fpu.fwait(c);
        break;
      case Op.SYS: SystemOps.exec(c, f0, d, f3 >>> 20, base + (f3 & 0xFFFF)); break;
      case Op.FAR_PTR:
        Segments.farTransfer(c, d, imm, size(f0), (f3 >>> 20) != 0, base + (f3 & 0xFFFF));
        break;
      case Op.FAR_MEM: {
        int sz = size(f0);
        int lin = c.linR(f0, d, sz);
        int off = c.readSized(sz, lin);
        int sel = c.read16(c.linR(f0, d + (sz == 2 ? 4 : 2), 1));
        Segments.farTransfer(c, sel, off, sz, (f3 >>> 20) != 0, base + (f3 & 0xFFFF));
        break;
      }
      case Op.RETF: Segments.farReturn(c, size(f0), imm); break;
      case Op.IRET: Interrupts.iret(c, size(f0)); break;
      case Op.LOAD_FAR: {
        int sz = size(f0);
        int lin = c.linR(f0, d, sz);
        int off = c.readSized(sz, lin);
        int sel = c.read16(c.linR(f0, d + (sz == 2 ? 4 : 2), 1));
        int seg = f3 >>> 20;
        Segments.load(c, seg, sel);
        c.setG(f0, sz, off);
        c.shadow |= seg == SS;
        break;
      }
      default: c.raiseUndefined(Exceptions.UD); break;
    }
  }

  /** CLC, STC, CMC, CLD, STD, CLI and STI: sub-operations 0 to 6. */
  private static void flagOp(Cpu c, int sub) {
    switch (sub) {
      case 0: c.setCfOnly(0); break;
      case 1: c.setCfOnly(1); break;
      case 2: c.setCfOnly(c.cf() ^ 1); break;
      case 3: c.flags &= ~Flags.DF; break;
      case 4: c.flags |= Flags.DF; break;
      case 5:
        checkIopl(c);
        c.flags &= ~Flags.IF;
        break;
      default:
        checkIopl(c);
        if ((c.flags & Flags.IF) == 0) {
          c.shadow = true;
        }
        c.flags |= Flags.IF;
        break;
    }
  }

  /** CLI/STI need CPL <= IOPL in protected mode (no VME/PVI). */
  private static void checkIopl(Cpu c) {
    if (c.protectedMode() && (c.v86() ? 3 : c.cpl) > ((c.flags >>> 12) & 3)) {
      c.raise(Exceptions.GP, 0);
    }
  }
}
