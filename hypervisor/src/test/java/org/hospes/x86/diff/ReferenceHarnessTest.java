package org.hospes.x86.diff;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.hospes.x86.Exceptions;
import org.hospes.x86.Flags;
import org.junit.jupiter.api.Test;

/**
 * The reference side on its own: hand-computed results through both native harnesses, so that a
 * broken harness cannot make the differential tests pass or fail for the wrong reason.
 */
class ReferenceHarnessTest {

  private static DiffCase regCase(int scratch, byte[] code, int eflags, int... regs) {
    DiffCase c = new DiffCase(scratch);
    c.refCode = code;
    c.emuCode = code;
    c.eflags = eflags | Flags.FIXED1;
    System.arraycopy(regs, 0, c.regs, 0, regs.length);
    c.form = "hand";
    c.text = "hand";
    return c;
  }

  private static byte[] b(int... v) {
    byte[] out = new byte[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = (byte) v[i];
    }
    return out;
  }

  @Test
  void aMissingToolFailsWithTheDebianPackageToInstall() {
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> NativeHarness.requireTool("qemu-i386-not-here", "qemu-user"))
        .hasMessage("qemu-i386-not-here not found: install the Debian package qemu-user"
            + " (apt-get install qemu-user)");
  }

  @Test
  void hostCpuComputesKnownResults() {
    NativeHarness h = DiffSuite.harness(NativeHarness.Kind.HOST64, 256);
    DiffCase add = regCase(256, b(0x01, 0xD8), 0, 0x7FFF_FFFF, 0, 0, 1); // add eax, ebx
    DiffCase div0 = regCase(256, b(0xF7, 0xF1), 0, 5, 0, 0); // div ecx, ecx = 0
    DiffCase ud2 = regCase(256, b(0x0F, 0x0B), 0);
    // add dword [scratch+0x10], 3 through the host's SIB absolute form with 0x67
    int a = Layout.SCRATCH_ADDR + 0x10;
    DiffCase mem = regCase(256, b(0x67, 0x83, 0x04, 0x25, a, a >> 8, a >> 16, a >> 24, 0x03), 0);
    mem.mem[0x10] = (byte) 0xFE;
    // std; the harness must report DF as set
    DiffCase std = regCase(256, b(0xFD), 0);
    Outcome[] o = h.run(List.of(add, div0, ud2, mem, std));

    assertThat(o[0].vector).isEqualTo(Outcome.COMPLETED);
    assertThat(o[0].regs[Regs.EAX]).isEqualTo(0x8000_0000);
    assertThat(o[0].eflags & Flags.STATUS).isEqualTo(Flags.OF | Flags.SF | Flags.AF | Flags.PF);
    assertThat(o[0].eip).isEqualTo(Layout.INSN_ADDR + 2);
    assertThat(o[1].vector).isEqualTo(Exceptions.DE);
    assertThat(o[1].eip).isEqualTo(Layout.INSN_ADDR);
    assertThat(o[1].regs[Regs.EAX]).isEqualTo(5);
    assertThat(o[2].vector).isEqualTo(Exceptions.UD);
    assertThat(o[3].vector).isEqualTo(Outcome.COMPLETED);
    assertThat(o[3].mem[0x10] & 0xFF).isEqualTo(0x01);
    assertThat(o[3].mem[0x11] & 0xFF).isEqualTo(0x01); // 0x000000FE + 3 = 0x101
    assertThat(o[3].eflags & Flags.STATUS).isEqualTo(Flags.AF);
    assertThat(o[4].eflags & Flags.DF).isEqualTo(Flags.DF);
  }

  @Test
  void qemuComputesKnownResultsForThirtyTwoBitOnlyForms() {
    NativeHarness h = DiffSuite.harness(NativeHarness.Kind.QEMU32, 512);
    int sp = Layout.SCRATCH_ADDR + 0x100; // the pushed dword is at scratch offsets 0xFC..0xFF
    DiffCase push = regCase(512, b(0x50), 0, 0xCAFE_BABE, 0, 0, 0, sp); // push eax
    DiffCase daa = regCase(512, b(0x27), 0, 0x0F); // daa: 0x0F -> 0x15, AF
    DiffCase aam0 = regCase(512, b(0xD4, 0x00), 0, 0x12); // aam 0 -> #DE
    DiffCase jmp = regCase(512, b(0xEB, 0x10), 0); // jmp +0x10
    DiffCase inc = regCase(512, b(0x40), Flags.CF, 0xFFFF_FFFF); // inc eax keeps CF
    Outcome[] o = h.run(List.of(push, daa, aam0, jmp, inc));

    assertThat(o[0].regs[Regs.ESP]).isEqualTo(sp - 4);
    assertThat(o[0].mem[0xFC] & 0xFF).isEqualTo(0xBE);
    assertThat(o[0].mem[0xFF] & 0xFF).isEqualTo(0xCA);
    assertThat(o[1].regs[Regs.EAX] & 0xFF).isEqualTo(0x15);
    assertThat(o[1].eflags & Flags.AF).isEqualTo(Flags.AF);
    assertThat(o[2].vector).isEqualTo(Exceptions.DE);
    assertThat(o[3].eip).isEqualTo(Layout.INSN_ADDR + 2 + 0x10);
    assertThat(o[4].regs[Regs.EAX]).isZero();
    assertThat(o[4].eflags & (Flags.CF | Flags.ZF)).isEqualTo(Flags.CF | Flags.ZF);
  }
}
