package org.hospes.x86.diff;

import java.util.Arrays;
import java.util.List;
import org.hospes.x86.Cpu;
import org.hospes.x86.CpuExit;
import org.hospes.x86.IoBus;
import org.hospes.x86.MemoryBus;

/**
 * The emulator side: one {@link Cpu} and {@link MemoryBus} per batch, reset before every case.
 * The code region holds HLT filler as on the reference side; a case ends when EIP reaches a
 * filler byte, when the processor reports an exception, or after {@link DiffCase#maxSteps}
 * instructions.
 */
final class EmulatorRunner {
  private final MemoryBus mem = new MemoryBus(Layout.RAM_BYTES);
  private final Cpu cpu = new Cpu(mem, new IoBus());
  private final int scratchSize;

  EmulatorRunner(int scratchSize) {
    this.scratchSize = scratchSize;
    byte[] filler = new byte[Layout.CODE_SIZE];
    Arrays.fill(filler, Layout.HLT);
    mem.write(Layout.CODE_ADDR, filler, 0, filler.length);
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
      long before = cpu.instructions();
      if (c.asBlock) {
        runAsBlock(c, o);
      }
      for (int step = 0; step < c.maxSteps && !c.asBlock; step++) {
        int exit = cpu.run(1);
        if (exit == CpuExit.EXCEPTION) {
          o.vector = cpu.exceptionVector();
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
    if (exit == CpuExit.EXCEPTION) {
      o.vector = cpu.exceptionVector();
    } else if (exit == CpuExit.HLT && atFiller(cpu.eip() - 1, c)) {
      o.eip = cpu.eip() - 1;
    } else {
      o.vector = Outcome.EMULATOR_CRASH;
      o.note = "run(" + (c.maxSteps + 1) + ") returned " + CpuExit.name(exit) + " at EIP "
          + Hex.h32(cpu.eip()) + " instead of stopping on the filler HLT";
    }
  }

  private static boolean atFiller(int eip, DiffCase c) {
    int off = eip - Layout.CODE_ADDR;
    return off >= 0 && off < Layout.CODE_SIZE
        && (eip - c.codeAddr < 0 || eip - c.codeAddr >= c.emuCode.length);
  }
}
