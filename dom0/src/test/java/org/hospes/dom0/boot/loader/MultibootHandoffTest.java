package org.hospes.dom0.boot.loader;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.hospes.dom0.machine.NativeMachine;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.domain.DomainMode;
import org.hospes.x86.Cpu;
import org.hospes.x86.MemoryBus;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/** The Multiboot hand-off leaves a flat GDT loaded, as GRUB and QEMU do. */
class MultibootHandoffTest {

  /**
   * Reloads DS, ES and SS with 0x10 and CS with 0x08 (a far jump) through the GDT it was handed,
   * stores GDTR with SGDT and exits through isa-debug-exit with the GDT limit: status
   * (23 << 1) | 1 = 47. With no GDT the first segment load faults and, with no IDT, the
   * processor triple-faults.
   */
  static byte[] kernel() {
    int target = 0x10_000C + 17;
    return ElfImageBuilder.multibootKernel(new byte[] {
        0x66, (byte) 0xB8, 0x10, 0x00,                 // mov ax, 0x10
        (byte) 0x8E, (byte) 0xD8,                      // mov ds, ax
        (byte) 0x8E, (byte) 0xC0,                      // mov es, ax
        (byte) 0x8E, (byte) 0xD0,                      // mov ss, ax
        (byte) 0xEA, (byte) target, (byte) (target >> 8), (byte) (target >> 16), 0,
        0x08, 0x00,                                    // ljmp 0x08:target
        0x0F, 0x01, 0x05, 0x00, 0x05, 0x00, 0x00,      // target: sgdt [0x500]
        0x66, (byte) 0xA1, 0x00, 0x05, 0x00, 0x00,     // mov ax, [0x500]
        (byte) 0xE6, (byte) 0xF4,                      // out 0xf4, al
    });
  }

  private static final PrintStream SINK =
      new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);

  @Test
  void theGdtIsFlatRingZeroCodeAndDataAtTheSelectorsTheKernelStartsWith() throws Exception {
    NativeMachine m = NativeMachine.builder().serialOut(SINK).diagnostics(SINK).build();
    m.loadMultiboot(kernel(), "k", null);
    Cpu cpu = m.cpu();
    assertThat(cpu.gdtLimit()).isEqualTo(23);
    assertThat(cpu.segmentSelector(Cpu.CS)).isEqualTo(0x08);
    assertThat(cpu.segmentSelector(Cpu.DS)).isEqualTo(0x10);
    MemoryBus mem = m.memory();
    long gdt = cpu.gdtBase() & 0xFFFF_FFFFL;
    assertThat(gdt).as("below the kernel, off page 0").isBetween(0x1000L, 0x9_FFFFL);
    assertThat(mem.read32(gdt)).isZero();
    assertThat(mem.read32(gdt + 4)).isZero();
    // Base 0, limit 0xFFFFF in 4 KiB units, 32-bit, present, DPL 0, execute/read, accessed.
    assertThat(mem.read32(gdt + 8)).isEqualTo(0x0000_FFFF);
    assertThat(mem.read32(gdt + 12)).isEqualTo(0x00CF_9B00);
    // The same, read/write data.
    assertThat(mem.read32(gdt + 16)).isEqualTo(0x0000_FFFF);
    assertThat(mem.read32(gdt + 20)).isEqualTo(0x00CF_9300);
  }

  @Test
  void aKernelThatReloadsItsSegmentsRunsOnTheBareMachine() throws Exception {
    NativeMachine m = NativeMachine.builder().serialOut(SINK).diagnostics(SINK).build();
    m.loadMultiboot(kernel(), "k", null);
    RunResult r = m.run(1000);
    assertThat(r.exitStatus()).as("%s", r).isEqualTo(47);
  }

  @ParameterizedTest
  @EnumSource(value = DomainMode.class, names = {"HVM_EPT", "HVM_SHADOW"})
  void aKernelThatReloadsItsSegmentsRunsInAnHvmDomain(DomainMode mode) throws Exception {
    HvmMachine m = HvmMachine.create(mode, 16, SINK, SINK);
    m.loadMultiboot(kernel(), "k", null);
    RunResult r = m.run(1000);
    assertThat(r.exitStatus()).as("%s", r).isEqualTo(47);
  }
}
