package org.hospes.x86.diff;

import java.util.Arrays;
import java.util.List;
import org.hospes.x86.Cpu;
import org.hospes.x86.CpuExit;
import org.hospes.x86.Exceptions;
import org.hospes.x86.IoBus;
import org.hospes.x86.MemoryBus;

/**
 * The emulator side: one {@link Cpu} and {@link MemoryBus} per batch, reset before every case.
 * The code region holds HLT filler as on the reference side; a case ends when EIP reaches a
 * filler byte, when the processor reports an exception, or after {@link DiffCase#maxSteps}
 * instructions.
 */
final class EmulatorRunner {
  /**
   * User-mode cases: the GDT (QEMU's linux-user layout, 9 entries) and the page tables, above
   * 64 KiB so that no truncated 16-bit EIP reaches them.
   */
  private static final int GDT = 0x1_0000, GDT_LIMIT = 9 * 8 - 1, PD = 0x1_1000, PT = 0x1_2000;
  /** {@code lldt ax}, run at CPL 0 before paging is on. */
  private static final int LLDT_CODE = 0x1_3000;
  /**
   * The LDT QEMU's modify_ldt builds: 8192 entries (limit 0xFFFF), the first seven set by the
   * harness ({@code install_ldt} in diffharness.c). Its descriptor is GDT entry 1, which is empty
   * under QEMU: loading 0x08 into a data register raises #GP(0x08) either way.
   */
  private static final int LDT = 0x2_0000, LDT_SELECTOR = 0x08;
  /** install_ldt's entries as modify_ldt encodes them: contents, read_exec_only, not present. */
  private static final int[][] LDT_SPEC = {
    {0, 0, 0}, {0, 1, 0}, {0, 0, 1}, {2, 1, 0}, {2, 0, 0}, {3, 0, 1}, {1, 0, 0}};
  static final int USER_CS = 0x23, USER_DS = 0x2B;
  private static final int[] DATA_SEGS = {Cpu.ES, Cpu.DS, Cpu.FS, Cpu.GS};
  private final MemoryBus mem = new MemoryBus(Layout.RAM_BYTES);
  private final Cpu cpu = new Cpu(mem, new IoBus());
  private final int scratchSize;

  EmulatorRunner(int scratchSize) {
    this.scratchSize = scratchSize;
    byte[] filler = new byte[Layout.CODE_SIZE];
    Arrays.fill(filler, Layout.HLT);
    mem.write(Layout.CODE_ADDR, filler, 0, filler.length);
    mem.write(Layout.LOW_CODE_ADDR, filler, 0, Layout.LOW_CODE_SIZE);
    buildPageTables(scratchSize);
    mem.write(LLDT_CODE, new byte[] {0x0F, 0x00, (byte) 0xD0}, 0, 3);
  }

  /**
   * One page table for the first 4 MiB, mapping as user pages exactly what the harness maps (low
   * code region, scratch pages, code region) and the GDT as a supervisor page. Everything else
   * is not present, as in the reference process.
   */
  private void buildPageTables(int scratchSize) {
    mem.write32(PD, PT | 0x7);
    mapUser(Layout.LOW_CODE_ADDR, Layout.LOW_CODE_SIZE);
    int scratchPage = Layout.SCRATCH_ADDR & ~0xFFF;
    mapUser(scratchPage, Layout.SCRATCH_ADDR + scratchSize - scratchPage);
    mapUser(Layout.CODE_ADDR, Layout.CODE_SIZE);
    mem.write32(PT + (GDT >>> 12) * 4, GDT | 0x3);
    for (int a = LDT; a < LDT + 0x1_0000; a += 0x1000) {
      mem.write32(PT + (a >>> 12) * 4, a | 0x3);
    }
  }

  private void mapUser(int addr, int len) {
    for (int a = addr & ~0xFFF; a < addr + len; a += 0x1000) {
      mem.write32(PT + (a >>> 12) * 4, a | 0x7);
    }
  }

  /** QEMU's linux-user GDT: 0x20 user code, 0x28 user data, 0x30 a TLS data segment (base 0 here). */
  private void writeGdt() {
    byte[] zero = new byte[GDT_LIMIT + 1];
    mem.write(GDT, zero, 0, zero.length);
    writeDescriptor(4, 0x00CF_FA00); // DPL 3 code, execute/read, 4 GiB
    writeDescriptor(5, 0x00CF_F200); // DPL 3 data, read/write, 4 GiB
    writeDescriptor(6, 0x00CF_F200); // glibc's TLS entry (GS = 0x33); its base is never used
    mem.write32(GDT + 8, (LDT << 16) | 0xFFFF); // the LDT: base 0x20000, limit 0xFFFF, DPL 0
    mem.write32(GDT + 12, 0x0000_8200 | (LDT >>> 16) & 0xFF);
    for (int i = 0; i < LDT_SPEC.length; i++) {
      int contents = LDT_SPEC[i][0];
      int readExecOnly = LDT_SPEC[i][1];
      int notPresent = LDT_SPEC[i][2];
      // modify_ldt's entry_2: limit 19:16, R/W, contents (E/C and code), P, D/B, G, AVL, S, DPL 3.
      int hi = 0xF_0000 | (readExecOnly ^ 1) << 9 | contents << 10 | (notPresent ^ 1) << 15
          | 1 << 22 | 1 << 23 | 1 << 20 | 0x7000;
      mem.write32(LDT + i * 8, 0x0000_FFFF);
      mem.write32(LDT + i * 8 + 4, hi);
    }
  }

  private void writeDescriptor(int index, int hi) {
    mem.write32(GDT + index * 8, 0x0000_FFFF);
    mem.write32(GDT + index * 8 + 4, hi);
  }

  /** CPL 3 at the case's EIP and ESP, CS 0x23, SS 0x2B, the case's data selectors, paging on. */
  private void enterUserMode(DiffCase c) {
    writeGdt();
    cpu.setGdtr(GDT, GDT_LIMIT);
    // The process's LDT, as modify_ldt left it under QEMU.
    int eax = cpu.reg(Regs.EAX);
    cpu.setReg(Regs.EAX, LDT_SELECTOR);
    cpu.setEip(LLDT_CODE);
    if (cpu.run(1) != CpuExit.BUDGET || cpu.eip() != LLDT_CODE + 3) {
      throw new IllegalStateException("lldt failed");
    }
    cpu.setReg(Regs.EAX, eax);
    cpu.loadControlRegisters(cpu.cr0() | Cpu.CR0_PG, PD, Cpu.CR4_OSFXSR | Cpu.CR4_OSXMMEXCPT);
    cpu.setGdtr(GDT, GDT_LIMIT);
    for (int i = 0; i < 4; i++) {
      if (cpu.loadSegmentAsRing0(DATA_SEGS[i], c.sregs[i]) >= 0) {
        throw new IllegalStateException("bad initial selector " + Hex.h32(c.sregs[i]));
      }
    }
    // User mode runs with IF set, as under Linux.
    if (cpu.returnToRing(USER_CS, c.codeAddr, USER_DS, c.regs[Regs.ESP],
        c.eflags | org.hospes.x86.Flags.IF) >= 0) {
      throw new IllegalStateException("cannot enter CPL 3");
    }
  }

  Outcome[] run(List<DiffCase> cases) {
    Outcome[] out = new Outcome[cases.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = run(cases.get(i));
    }
    return out;
  }

  Outcome run(DiffCase c) {
    Outcome o = new Outcome(scratchSize);
    byte[] code = c.emuCode;
    mem.write(Layout.SCRATCH_ADDR, c.mem, 0, c.mem.length);
    mem.write(c.codeAddr, code, 0, code.length);
    try {
      cpu.resetFlat32();
      // As Linux runs user code: FXSAVE/FXRSTOR and SSE enabled, unmasked SIMD exceptions #XM.
      cpu.loadControlRegisters(cpu.cr0(), 0, Cpu.CR4_OSFXSR | Cpu.CR4_OSXMMEXCPT);
      cpu.setExceptionExitMask(-1); // every fault leaves run() as CpuExit.EXCEPTION
      for (int r = 0; r < 8; r++) {
        cpu.setReg(r, c.regs[r]);
      }
      cpu.setEflags(c.eflags);
      cpu.setEip(c.codeAddr);
      if (c.userMode) {
        enterUserMode(c);
      }
      long before = cpu.instructions();
      if (c.asBlock) {
        runAsBlock(c, o);
      }
      for (int step = 0; step < c.maxSteps && !c.asBlock; step++) {
        int exit = cpu.run(1);
        if (exit == CpuExit.EXCEPTION) {
          o.vector = cpu.exceptionVector();
          o.errorCode = cpu.exceptionErrorCode();
          o.faultAddr = o.vector == Exceptions.PF ? cpu.faultAddress() : 0;
          break;
        }
        if (exit != CpuExit.BUDGET) {
          o.vector = Outcome.EMULATOR_CRASH;
          o.note = "run(1) returned " + CpuExit.name(exit);
          break;
        }
        if (atFiller(cpu.eip(), c)) {
          break;
        }
      }
      o.eip = c.asBlock && o.vector == Outcome.COMPLETED ? o.eip : cpu.eip();
      for (int r = 0; r < 8; r++) {
        o.regs[r] = cpu.reg(r);
      }
      o.eflags = cpu.eflags();
      for (int s = 0; s < 6; s++) {
        o.sregs[s] = c.userMode ? cpu.segmentSelector(s) : 0;
      }
      o.retired = cpu.instructions() - before;
    } catch (RuntimeException | StackOverflowError e) {
      o.vector = Outcome.EMULATOR_CRASH;
      o.note = e.toString();
    }
    mem.read(Layout.SCRATCH_ADDR, o.mem, 0, o.mem.length);
    byte[] filler = new byte[code.length];
    Arrays.fill(filler, Layout.HLT);
    mem.write(c.codeAddr, filler, 0, filler.length);
    return o;
  }

  /**
   * One {@code run} call for the whole case: it must stop on the filler HLT (CpuExit.HLT, EIP
   * past it) or on a fault. The budget leaves room for every instruction plus the HLT.
   */
  private void runAsBlock(DiffCase c, Outcome o) {
    int exit = cpu.run(c.maxSteps + 1);
    if (exit == CpuExit.EXCEPTION && c.userMode && cpu.exceptionVector() == Exceptions.GP
        && atFiller(cpu.eip(), c)) {
      o.eip = cpu.eip(); // at CPL 3 the filler HLT raises #GP(0), as on the reference
    } else if (exit == CpuExit.EXCEPTION) {
      o.vector = cpu.exceptionVector();
      o.errorCode = cpu.exceptionErrorCode();
      o.faultAddr = o.vector == Exceptions.PF ? cpu.faultAddress() : 0;
    } else if (exit == CpuExit.HLT && atFiller(cpu.eip() - 1, c)) {
      o.eip = cpu.eip() - 1;
    } else {
      o.vector = Outcome.EMULATOR_CRASH;
      o.note = "run(" + (c.maxSteps + 1) + ") returned " + CpuExit.name(exit) + " at EIP "
          + Hex.h32(cpu.eip()) + " instead of stopping on the filler HLT";
    }
  }

  private static boolean atFiller(int eip, DiffCase c) {
    return Layout.atFiller(eip, c.codeAddr, c.emuCode.length);
  }
}
