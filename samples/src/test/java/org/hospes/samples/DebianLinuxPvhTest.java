package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Debian's unmodified 686-pae Linux kernel (its bzImage, as the package ships it) boots in a
 * PVH domain with an initramfs whose /init prints the uptime and powers off. The kernel comes
 * from {@code samples/linux/fetch-debian-kernel.sh}, which {@code ./test} runs.
 */
class DebianLinuxPvhTest {
  @TempDir
  Path tmp;

  private Path initramfs() throws IOException, InterruptedException {
    return DebianKernel.initramfs(tmp, java.util.Map.of());
  }

  @Test
  @Timeout(value = 600, unit = TimeUnit.SECONDS)
  void debiansKernelBootsToInitAndPowersOff() throws Exception {
    Path vmlinuz = DebianKernel.vmlinuz();
    Path initrd = initramfs();
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    ByteArrayOutputStream diag = new ByteArrayOutputStream();
    HvmMachine m = HvmMachine.create(DomainMode.PVH, 256, console,
        new PrintStream(diag, true, StandardCharsets.UTF_8));
    m.loadPvh(vmlinuz, "console=hvc0 earlyprintk=xen cryptomgr.notests", null, List.of(initrd));
    RunResult r = m.run(6_000_000_000L);
    String text = console.toString(StandardCharsets.ISO_8859_1);
    String hvLog = diag.toString(StandardCharsets.ISO_8859_1);
    // The engine's figures (under lockstep: the block runs compared; a mismatch throws).
    System.out.println("debian-pvh: " + r + "; "
        + DebianKernel.engineLine(m.domain().vcpus().get(0).cpu()));
    // As on a debug Xen: earlyprintk=xen (console_io) reaches the hypervisor's log, "(d1) " per
    // line, until hvc0 (the PV console, stdout) takes over; no line is printed twice.
    assertThat(hvLog)
        .as("hypervisor log (run ended: %s)", r)
        .contains("(d1) [    0.000000] Linux version 6.1.0-")
        .contains("(d1) [    0.000000] Hypervisor detected: Xen HVM")
        // The MADT in the start info's ACPI tables makes Linux take Xen's PV clock and timer.
        .contains("ACPI: Using ACPI for processor (LAPIC) configuration information")
        // No PIT in a PVH domain (as on Xen): the early calibration against it must fail.
        .contains("tsc: Fast TSC calibration failed")
        .contains("printk: console [hvc0] enabled")
        .doesNotContain("Run /init as init process");
    assertThat(text)
        .as("console (run ended: %s; %s)", r, diag)
        .startsWith("[")
        .doesNotContain("Linux version 6.1.0-")
        .contains("installing Xen timer for CPU 0")
        .contains("clocksource: Switched to clocksource xen")
        .contains("Run /init as init process")
        .contains("Hello from /init on Hospes! uptime: ");
    assertThat(r.exitStatus()).as("%s %s", r, diag).isZero();
    assertThat(m.domain().totals().totalHypercalls()).isPositive();
  }
}
