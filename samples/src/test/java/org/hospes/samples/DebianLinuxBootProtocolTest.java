package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.boot.BootModule;
import org.hospes.dom0.boot.KernelFiles;
import org.hospes.dom0.boot.loader.BootRequest;
import org.hospes.dom0.boot.loader.LinuxKernelLoader;
import org.hospes.dom0.machine.NativeMachine;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Debian's unmodified 686-pae bzImage boots by Linux's 32-bit boot protocol on the bare PC and
 * in HVM domains (EPT and shadow paging): it decompresses itself, takes the e820 map and command line from the
 * zero page, calibrates the TSC against the PIT, reads the CMOS RTC, finds the i440FX's PCI bus,
 * prints on COM1 (8250, IRQ 4) and runs /init from the initrd. The bare PC has no ACPI or MP
 * tables: /init ends the run through isa-debug-exit (status 1). The HVM domain is a Xen HVM PC
 * with ACPI tables from the toolstack, the I/O APIC and the PM timer: its interrupts go through
 * the I/O APIC and /init powers it off through ACPI S5 (status 0). About 3 billion instructions each, two thirds of them
 * the kernel's own XZ decompressor. Tagged {@code linux-long}: it runs in {@code ./test}'s
 * second stage, after {@code mvn verify}, which it would otherwise stretch past ten minutes.
 */
@org.junit.jupiter.api.Tag("linux-long")
class DebianLinuxBootProtocolTest {
  static final String CMDLINE = "console=ttyS0 earlyprintk=serial cryptomgr.notests"
      + " hospes.exit=isa";
  /** In an HVM domain the machine has ACPI: /init powers off through S5 and lists interrupts. */
  static final String HVM_CMDLINE = "console=ttyS0 earlyprintk=serial cryptomgr.notests"
      + " hospes.interrupts";

  @TempDir
  Path tmp;

  @ParameterizedTest
  @ValueSource(strings = {"native", "hvm", "hvm-shadow"})
  @Timeout(value = 900, unit = TimeUnit.SECONDS)
  void debiansBzImageBootsToInit(String mode) throws Exception {
    Path vmlinuz = DebianKernel.vmlinuz();
    byte[] initrd = java.nio.file.Files.readAllBytes(DebianKernel.initramfs(tmp, Map.of()));
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    ByteArrayOutputStream diag = new ByteArrayOutputStream();
    PrintStream diagnostics = new PrintStream(diag, true, StandardCharsets.UTF_8);
    String cmdline = mode.equals("native") ? CMDLINE : HVM_CMDLINE;
    BootRequest request = new BootRequest(cmdline, List.of(new BootModule(initrd, "initrd")));
    byte[] image = KernelFiles.read(vmlinuz);
    RunResult r;
    long undefined;
    String platform;
    org.hospes.x86.Cpu cpu;
    if (mode.equals("native")) {
      NativeMachine m = NativeMachine.builder().ramMiB(256).serialOut(console)
          .diagnostics(diagnostics).build();
      m.load(new LinuxKernelLoader(), image, vmlinuz.toString(), request);
      r = m.run(6_000_000_000L);
      cpu = m.cpu();
      undefined = cpu.undefinedOpcodes();
      platform = "Booting paravirtualized kernel on bare hardware";
    } else {
      HvmMachine m = HvmMachine.create(DomainMode.byCliName(mode), 256, console, diagnostics);
      m.load(new LinuxKernelLoader(), image, vmlinuz.toString(), request, null);
      r = m.run(6_000_000_000L);
      cpu = m.domain().vcpus().get(0).cpu();
      undefined = cpu.undefinedOpcodes();
      // An HVM domain shows Xen's CPUID leaves: Linux finds Xen, yet boots as a PC.
      platform = "Booting paravirtualized kernel on Xen HVM";
    }
    String text = console.toString(StandardCharsets.ISO_8859_1);
    // The engine's figures (under lockstep: the block runs compared; a mismatch throws).
    String engine = DebianKernel.engineLine(cpu);
    java.nio.file.Files.writeString(Path.of("target", "debian-boot-" + mode + ".log"), text
        + "\n--- " + r + "\n" + engine + "\n" + diag, StandardCharsets.ISO_8859_1);
    System.out.println("debian-boot " + mode + ": " + r + "; " + engine);
    assertThat(text)
        .as("console (run ended: %s; %s)", r, diag)
        .contains("Linux version 6.1.0-")
        // The zero page's e820 map, as the loader wrote it.
        .contains("BIOS-e820: [mem 0x0000000000000000-0x000000000009ffff] usable")
        .contains("BIOS-e820: [mem 0x00000000000a0000-0x00000000000fffff] reserved")
        .contains("BIOS-e820: [mem 0x0000000000100000-0x000000000fffffff] usable")
        .contains("Kernel command line: " + cmdline)
        .contains(platform)
        .contains("tsc: Detected 999.")
        .contains("rtc_cmos rtc_cmos: setting system clock to 2026-01-01T00:00:0")
        // The i440FX host bridge and the PIIX3 through configuration mechanism #1.
        .contains("PCI: Using configuration type 1 for base access")
        .contains("pci 0000:00:00.0: [8086:1237] type 00 class 0x060000")
        .contains("pci 0000:00:01.0: [8086:7000] type 00 class 0x060100")
        .contains("serial8250: ttyS0 at I/O 0x3f8 (irq = 4, base_baud = 115200) is a 16550A")
        .contains("Trying to unpack rootfs image as initramfs...")
        .contains("Run /init as init process")
        .contains("Hello from /init on Hospes! uptime: ")
        .doesNotContain("Kernel panic");
    if (mode.equals("native")) {
      // No ACPI: /init ends the run through isa-debug-exit.
      assertThat(text).doesNotContain("ACPI: RSDP");
      assertThat(r.exitStatus()).as("%s %s", r, diag).isEqualTo(1);
    } else {
      // hvm and hvm-shadow alike (shadow paging forwards MMIO as EPT does): the toolstack's
      // ACPI tables, found by boot_params.acpi_rsdp_addr (or the BIOS-area scan), describe the I/O APIC, the PM timer and the PCI root bridge; the timer passes
      // check_timer through the I/O APIC (pin 2, the 0 -> 2 override), COM1 takes IRQ 4 there,
      // and /init powers off through S5.
      assertThat(text)
          .as("console (run ended: %s; %s)", r, diag)
          .contains("ACPI: RSDP 0x00000000000E0000 000024 (v02 HOSPES)")
          .contains("ACPI: PM-Timer IO Port: 0xb008")
          .contains("IOAPIC[0]: apic_id 0, version 17, address 0xfec00000, GSI 0-47")
          .contains("ACPI: INT_SRC_OVR (bus 0 bus_irq 0 global_irq 2 dfl dfl)")
          .contains("ACPI: INT_SRC_OVR (bus 0 bus_irq 9 global_irq 9 high level)")
          .contains("Enabling APIC mode:  Flat.  Using 1 I/O APICs")
          .contains("..TIMER: vector=0x30 apic1=0 pin1=2 apic2=-1 pin2=-1")
          .doesNotContain("..MP-BIOS bug")
          .doesNotContain("through the 8259A")
          .contains("ACPI: PM: (supports S0 S5)")
          .contains("ACPI: Using IOAPIC for interrupt routing")
          .contains("ACPI: PCI Root Bridge [PCI0] (domain 0000 [bus 00-ff])")
          .contains("pci_bus 0000:00: root bus resource [mem 0xf0000000-0xfbffffff window]")
          .contains("hpet0: at MMIO 0xfed00000")
          .contains("clocksource: acpi_pm: mask: 0xffffff")
          .containsPattern("\\s0:\\s+\\d+\\s+IO-APIC\\s+2-edge\\s+timer")
          .containsPattern("\\s4:\\s+[1-9]\\d*\\s+IO-APIC\\s+4-edge\\s+ttyS0")
          .containsPattern("\\s9:\\s+\\d+\\s+IO-APIC\\s+9-fasteoi\\s+acpi")
          .contains("ACPI: PM: Preparing to enter system sleep state S5")
          .contains("reboot: Power down")
          .doesNotContain("ACPI Error")
          .doesNotContain("ACPI BIOS Error")
          .doesNotContain("[Firmware Bug]");
      assertThat(r.reason()).isEqualTo(org.hospes.hv.hvm.HvmPlatform.ACPI_SOFT_OFF);
      assertThat(r.exitStatus()).as("%s %s", r, diag).isZero();
    }
    assertThat(undefined).isZero();
  }
}
