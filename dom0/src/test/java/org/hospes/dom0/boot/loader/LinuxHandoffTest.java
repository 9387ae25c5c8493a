package org.hospes.dom0.boot.loader;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.hospes.dom0.boot.BootModule;
import org.hospes.dom0.machine.NativeMachine;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.testing.BzImageBuilder;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.domain.DomainMode;
import org.hospes.x86.Cpu;
import org.hospes.x86.Flags;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The 32-bit boot protocol's machine state, as a kernel at its entry sees it. */
class LinuxHandoffTest {
  private static final PrintStream SINK =
      new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
  private static final int ENTRY = 0x20_0000;

  /**
   * Reloads DS, ES, SS with __BOOT_DS and CS with __BOOT_CS (a far jump) through the GDT it was
   * handed, then adds CS, EBX, EDI, EBP, DS and the zero page's e820_entries (ESI + 0x1E8) and
   * writes the sum to isa-debug-exit: 0x10 + 0 + 0 + 0 + 0x18 + 3 = 0x2B, status 87.
   */
  static byte[] kernel() {
    int target = ENTRY + 18;
    return new BzImageBuilder().code(new byte[] {
        (byte) 0xB8, 0x18, 0, 0, 0,                          // mov eax, 0x18
        (byte) 0x8E, (byte) 0xD8,                            // mov ds, ax
        (byte) 0x8E, (byte) 0xC0,                            // mov es, ax
        (byte) 0x8E, (byte) 0xD0,                            // mov ss, ax
        (byte) 0xEA, (byte) target, (byte) (target >> 8), (byte) (target >> 16), 0,
        0x10, 0x00,                                          // ljmp 0x10:target
        (byte) 0x8C, (byte) 0xC8,                            // target: mov eax, cs
        0x01, (byte) 0xD8,                                   // add eax, ebx
        0x01, (byte) 0xF8,                                   // add eax, edi
        0x01, (byte) 0xE8,                                   // add eax, ebp
        (byte) 0x8C, (byte) 0xDB,                            // mov ebx, ds
        0x01, (byte) 0xD8,                                   // add eax, ebx
        0x02, (byte) 0x86, (byte) 0xE8, 0x01, 0, 0,          // add al, [esi+0x1e8]
        (byte) 0xE6, (byte) 0xF4,                            // out 0xf4, al
        (byte) 0xF4,                                         // hlt
    }).build();
  }

  @Test
  void theRegistersAreAsTheProtocolSays() throws Exception {
    NativeMachine m = NativeMachine.builder().serialOut(SINK).diagnostics(SINK).build();
    m.cpu().setReg(Cpu.EBX, 0x1234);
    m.cpu().setReg(Cpu.EBP, 0x1234);
    BootedKernel k = m.load(new LinuxKernelLoader(), kernel(), "k",
        new BootRequest("quiet", List.of(new BootModule(new byte[100], "initrd"))));
    Cpu cpu = m.cpu();
    assertThat(k.entry()).isEqualTo(ENTRY);
    assertThat(cpu.eip()).isEqualTo(ENTRY);
    assertThat(cpu.segmentSelector(Cpu.CS)).isEqualTo(0x10);
    for (int s : new int[] {Cpu.DS, Cpu.ES, Cpu.SS}) {
      assertThat(cpu.segmentSelector(s)).isEqualTo(0x18);
    }
    assertThat(cpu.reg(Cpu.ESI)).isEqualTo((int) k.bootInfo());
    assertThat(cpu.reg(Cpu.EBX)).isZero();
    assertThat(cpu.reg(Cpu.EBP)).isZero();
    assertThat(cpu.reg(Cpu.EDI)).isZero();
    assertThat(cpu.eflags() & Flags.IF).isZero();
    assertThat(cpu.gdtLimit()).isEqualTo(31);
  }

  @Test
  void aKernelThatReloadsItsSegmentsRunsOnTheBareMachine() throws Exception {
    NativeMachine m = NativeMachine.builder().serialOut(SINK).diagnostics(SINK).build();
    m.load(new LinuxKernelLoader(), kernel(), "k", BootRequest.of(null));
    RunResult r = m.run(1000);
    assertThat(r.exitStatus()).as("%s", r).isEqualTo(87);
  }

  @ParameterizedTest
  @EnumSource(value = DomainMode.class, names = {"HVM_EPT", "HVM_SHADOW"})
  void aKernelThatReloadsItsSegmentsRunsInAnHvmDomain(DomainMode mode) throws Exception {
    HvmMachine m = HvmMachine.create(mode, 16, SINK, SINK);
    m.load(new LinuxKernelLoader(), kernel(), "k", BootRequest.of(null), null);
    RunResult r = m.run(1000);
    assertThat(r.exitStatus()).as("%s", r).isEqualTo(87);
  }
}
