package org.hospes.dom0.boot.loader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.hospes.dom0.machine.NativeMachine;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.hospes.x86.Cpu;
import org.hospes.x86.MemoryBus;
import org.junit.jupiter.api.Test;

/** A plain ELF32 entered at e_entry in flat protected mode, with no boot information. */
class ElfKernelLoaderTest {
  private final MemoryBus mem = new MemoryBus(16 << 20);
  private final Cpu cpu = new Cpu(mem, new org.hospes.x86.IoBus());
  private final BootTarget target = new BootTarget(BootMode.NATIVE, mem, 16 << 20, cpu);

  @Test
  void placesSegmentsAtTheirPhysicalAddressesAndEntersAtTheEntry() throws Exception {
    // Linked at 0xC0100000, loaded at 1 MiB, like a higher-half kernel; 16 bytes of bss.
    byte[] code = {(byte) 0x90, (byte) 0xF4};
    byte[] image = new ElfImageBuilder().entry(0xC010_0001L)
        .segment(0xC010_0000L, 0x10_0000, code, 18).build();
    mem.write8(0x10_0002, 0xCC);
    BootedKernel k = new ElfKernelLoader().load(image, BootRequest.of(null), target);
    assertThat(k.entry()).isEqualTo(0x10_0001);
    assertThat(k.bootInfo()).isZero();
    assertThat(cpu.eip()).isEqualTo(0x10_0001);
    assertThat(cpu.segmentBase(Cpu.CS)).isZero();
    assertThat(cpu.cr0() & 0x8000_0001).as("PE on, PG off").isEqualTo(1);
    assertThat(mem.read8(0x10_0001)).isEqualTo(0xF4);
    assertThat(mem.read8(0x10_0002)).as("bss zeroed").isZero();
  }

  @Test
  void refusesWhatItCannotPass() {
    byte[] image = new ElfImageBuilder().entry(0x10_0000)
        .segment(0x10_0000, new byte[] {(byte) 0xF4}, 1).build();
    assertThatThrownBy(() -> new ElfKernelLoader().load(image, BootRequest.of("quiet"), target))
        .hasMessage("the elf loader passes no command line or modules (a plain ELF gets no boot"
            + " information)");
  }

  @Test
  void anEntryOutsideTheImageIsRefused() {
    byte[] image = new ElfImageBuilder().entry(0x20_0000)
        .segment(0x10_0000, new byte[] {(byte) 0xF4}, 1).build();
    assertThatThrownBy(() -> new ElfKernelLoader().load(image, BootRequest.of(null), target))
        .hasMessage("entry point 0x00200000 is not inside the loaded image");
  }

  @Test
  void aPlainElfRunsOnTheBareMachine() throws Exception {
    PrintStream sink = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    NativeMachine m = NativeMachine.builder().serialOut(sink).diagnostics(sink).build();
    // mov al, 0x21 ; out 0xf4, al: status (0x21 << 1) | 1 = 67
    byte[] image = new ElfImageBuilder().entry(0x10_0000)
        .segment(0x10_0000, new byte[] {(byte) 0xB0, 0x21, (byte) 0xE6, (byte) 0xF4}, 4)
        .build();
    m.load(new ElfKernelLoader(), image, "plain.elf", BootRequest.of(null));
    RunResult r = m.run(100);
    assertThat(r.exitStatus()).isEqualTo(67);
  }
}
