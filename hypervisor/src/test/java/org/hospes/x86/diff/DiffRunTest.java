package org.hospes.x86.diff;

import static org.assertj.core.api.Assertions.assertThat;

import org.hospes.x86.Exceptions;
import org.hospes.x86.Flags;
import org.junit.jupiter.api.Test;

/** The comparison itself: masked fields are ignored, everything else is reported by name. */
class DiffRunTest {

  private static DiffCase hostCase() {
    DiffCase c = new DiffCase(16);
    c.refCode = new byte[] {0x67, 0x01, 0x03}; // add [ebx], eax
    c.emuCode = new byte[] {0x01, 0x03};
    c.flagMask = DefinedFlags.logic();
    return c;
  }

  private static Outcome done(int eip) {
    Outcome o = new Outcome(16);
    o.eip = eip;
    return o;
  }

  @Test
  void equalStatesPassAndTheEipAllowsForTheLongerHostEncoding() {
    DiffCase c = hostCase();
    assertThat(DiffRun.compare(c, done(Layout.INSN_ADDR + 3), done(Layout.INSN_ADDR + 2))).isEmpty();
  }

  @Test
  void undefinedFlagsAndMaskedBytesAreIgnored() {
    DiffCase c = hostCase();
    c.maskMem(4, 1, 0x0F);
    Outcome ref = done(Layout.INSN_ADDR + 3);
    Outcome emu = done(Layout.INSN_ADDR + 2);
    emu.eflags = Flags.AF | Flags.IF | Flags.RF;
    emu.mem[4] = (byte) 0xF0;
    assertThat(DiffRun.compare(c, ref, emu)).isEmpty();
  }

  @Test
  void everyDifferingFieldIsNamed() {
    DiffCase c = hostCase();
    Outcome ref = done(Layout.INSN_ADDR + 3);
    Outcome emu = done(Layout.INSN_ADDR + 3);
    emu.regs[Regs.ESI] = 1;
    emu.eflags = Flags.ZF;
    emu.mem[15] = 1;
    assertThat(DiffRun.compare(c, ref, emu)).containsExactly("ESI", "EFLAGS", "EIP", "mem");
  }

  @Test
  void runOneMustRetireExactlyOneInstruction() {
    DiffCase c = hostCase();
    Outcome emu = done(Layout.INSN_ADDR + 2);
    emu.retired = 2;
    assertThat(DiffRun.compare(c, done(Layout.INSN_ADDR + 3), emu)).containsExactly("retired");
    c.asBlock = true; // one run() call also retires the HLT; not checked
    assertThat(DiffRun.compare(c, done(Layout.INSN_ADDR + 3), emu)).isEmpty();
  }

  @Test
  void aFaultMustMatchInVectorAndLeaveTheStateUntouched() {
    DiffCase c = hostCase();
    Outcome ref = done(Layout.INSN_ADDR);
    ref.vector = Exceptions.DE;
    Outcome emu = done(Layout.INSN_ADDR);
    emu.vector = Exceptions.GP;
    assertThat(DiffRun.compare(c, ref, emu)).containsExactly("ending");
    emu.vector = Exceptions.DE;
    emu.eflags = Flags.AF; // all flags count after a fault
    assertThat(DiffRun.compare(c, ref, emu)).containsExactly("EFLAGS");
  }
}
