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
 * in an HVM domain (EPT), as an unmodified kernel on a PC without ACPI or MP tables: it decompresses itself, takes the
 * e820 map and command line from the zero page, calibrates the TSC against the PIT, reads the
 * CMOS RTC, finds the i440FX's PCI bus, prints on COM1 (8250, IRQ 4) and runs /init from the initrd, which ends the run
 * through isa-debug-exit (status 1). About 3 billion instructions each, two thirds of them
 * the kernel's own XZ decompressor. Tagged {@code linux-long}: it runs in {@code ./test}'s
 * second stage, after {@code mvn verify}, which it would otherwise stretch past ten minutes.
 */
@org.junit.jupiter.api.Tag("linux-long")
class DebianLinuxBootProtocolTest {
  static final String CMDLINE = "console=ttyS0 earlyprintk=serial cryptomgr.notests"
      + " hospes.exit=isa";

  @TempDir
  Path tmp;

  @ParameterizedTest
  @ValueSource(strings = {"native", "hvm"})
  @Timeout(value = 900, unit = TimeUnit.SECONDS)
  void debiansBzImageBootsToInit(String mode) throws Exception {
    Path vmlinuz = DebianKernel.vmlinuz();
    byte[] initrd = java.nio.file.Files.readAllBytes(DebianKernel.initramfs(tmp, Map.of()));
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    ByteArrayOutputStream diag = new ByteArrayOutputStream();
    PrintStream diagnostics = new PrintStream(diag, true, StandardCharsets.UTF_8);
    BootRequest request = new BootRequest(CMDLINE, List.of(new BootModule(initrd, "initrd")));
    byte[] image = KernelFiles.read(vmlinuz);
    RunResult r;
    long undefined;
    String platform;
    if (mode.equals("native")) {
      NativeMachine m = NativeMachine.builder().ramMiB(256).serialOut(console)
          .diagnostics(diagnostics).build();
      m.load(new LinuxKernelLoader(), image, vmlinuz.toString(), request);
      r = m.run(6_000_000_000L);
      undefined = m.cpu().undefinedOpcodes();
      platform = "Booting paravirtualized kernel on bare hardware";
    } else {
      HvmMachine m = HvmMachine.create(DomainMode.HVM_EPT, 256, console, diagnostics);
      m.load(new LinuxKernelLoader(), image, vmlinuz.toString(), request, null);
      r = m.run(6_000_000_000L);
      undefined = m.domain().vcpus().get(0).cpu().undefinedOpcodes();
      // An HVM domain shows Xen's CPUID leaves: Linux finds Xen, yet boots as a PC.
      platform = "Booting paravirtualized kernel on Xen HVM";
    }
    String text = console.toString(StandardCharsets.ISO_8859_1);
    assertThat(text)
        .as("console (run ended: %s; %s)", r, diag)
        .contains("Linux version 6.1.0-")
        // The zero page's e820 map, as the loader wrote it.
        .contains("BIOS-e820: [mem 0x0000000000000000-0x000000000009ffff] usable")
        .contains("BIOS-e820: [mem 0x00000000000a0000-0x00000000000fffff] reserved")
        .contains("BIOS-e820: [mem 0x0000000000100000-0x000000000fffffff] usable")
        .contains("Kernel command line: " + CMDLINE)
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
    assertThat(r.exitStatus()).as("%s %s", r, diag).isEqualTo(1);
    assertThat(undefined).isZero();
  }
}
