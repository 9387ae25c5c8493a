package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Debian's unmodified 686-pae kernel in a PVH domain with 2 vCPUs: the MADT lists two local
 * APICs, Linux starts the second processor by INIT-SIPI-SIPI through its real-mode trampoline
 * (real mode as VT-x's unrestricted guest runs it), and the busybox /init finds two processors
 * in /proc/cpuinfo and CPUs 0-1 online.
 */
@Tag("linux-long")
class DebianLinuxSmpTest {
  @Test
  @Timeout(value = 900, unit = TimeUnit.SECONDS)
  void debiansKernelBringsUpTwoVcpusInPvh() throws Exception {
    Path vmlinuz = DebianKernel.vmlinuz();
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    ByteArrayOutputStream diag = new ByteArrayOutputStream();
    HvmMachine m = HvmMachine.create(DomainMode.PVH, 256, 2, console,
        new PrintStream(diag, true, StandardCharsets.UTF_8));
    m.load(new org.hospes.dom0.boot.loader.PvhKernelLoader(), vmlinuz,
        new org.hospes.dom0.boot.loader.BootRequest(
            "console=hvc0 earlyprintk=xen cryptomgr.notests",
            List.of(new org.hospes.dom0.boot.BootModule(
                DebianKernel.busyboxInitramfs("smp-init.sh", List.of(), java.util.Map.of()),
                null))), null);
    RunResult r = m.run(8_000_000_000L);
    // The PV console's tty turns "\n" into "\r\n".
    String text = console.toString(StandardCharsets.ISO_8859_1).replace("\r", "");
    String hvLog = diag.toString(StandardCharsets.ISO_8859_1);
    assertThat(hvLog + text).as("run ended: %s\n%s", r, text)
        .contains("smpboot: Allowing 2 CPUs")
        .contains("x86: Booting SMP configuration:")
        .contains("smp: Brought up 1 node, 2 CPUs")
        .contains("smpboot: Total of 2 processors activated");
    assertThat(text).as("run ended: %s", r)
        .contains("smp-init: /proc/cpuinfo lists 2 processors\n")
        .contains("processor\t: 0\nprocessor\t: 1\n")
        .contains("smp-init: online CPUs 0-1\n");
    assertThat(r.exitStatus()).as("%s", r).isZero();
    // Both vCPUs ran guest code; the second one was started by the first one's SIPI.
    assertThat(m.domain().vcpus().get(1).counters().instructions).isPositive();
  }

  /**
   * The bzImage in an hvm-shadow domain with 2 vCPUs: the second processor's real-mode
   * trampoline runs through the shadow pager's real-mode map, its LMSW into protected mode exits
   * and puts it on shadow paging, and from there both vCPUs share the domain's shadows (the
   * kernel's page tables are the same), each with its own CR3 and TLB.
   */
  @Test
  @Timeout(value = 1800, unit = TimeUnit.SECONDS)
  void debiansKernelBringsUpTwoVcpusInHvmShadow() throws Exception {
    Path vmlinuz = DebianKernel.vmlinuz();
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    ByteArrayOutputStream diag = new ByteArrayOutputStream();
    HvmMachine m = HvmMachine.create(DomainMode.HVM_SHADOW, 256, 2, console,
        new PrintStream(diag, true, StandardCharsets.UTF_8));
    byte[] image = org.hospes.dom0.boot.KernelFiles.read(vmlinuz);
    m.load(new org.hospes.dom0.boot.loader.LinuxKernelLoader(), image, vmlinuz.toString(),
        new org.hospes.dom0.boot.loader.BootRequest(
            "console=ttyS0 earlyprintk=serial cryptomgr.notests",
            List.of(new org.hospes.dom0.boot.BootModule(
                DebianKernel.busyboxInitramfs("smp-init.sh", List.of(), java.util.Map.of()),
                "initrd"))), null);
    RunResult r = m.run(10_000_000_000L);
    String text = console.toString(StandardCharsets.ISO_8859_1).replace("\r", "");
    java.nio.file.Files.writeString(Path.of("target", "debian-smp-hvm-shadow.log"), text
        + "\n--- " + r + "\n" + diag, StandardCharsets.ISO_8859_1);
    assertThat(text).as("run ended: %s\n%s", r, diag)
        .contains("smpboot: Allowing 2 CPUs")
        .contains("x86: Booting SMP configuration:")
        .contains("smp: Brought up 1 node, 2 CPUs")
        .contains("smpboot: Total of 2 processors activated")
        .contains("smp-init: /proc/cpuinfo lists 2 processors\n")
        .contains("processor\t: 0\nprocessor\t: 1\n")
        .contains("smp-init: online CPUs 0-1\n")
        .doesNotContain("Kernel panic");
    assertThat(r.exitStatus()).as("%s", r).isZero();
    assertThat(m.domain().vcpus().get(1).counters().instructions).isPositive();
    assertThat(m.domain().totals().eptViolations).isZero();
  }
}
