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
import org.hospes.hv.Hypervisor;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Debian's bzImage with 2 vCPUs in an HVM domain on 2 physical CPUs: Linux brings up both
 * processors and the busybox /init ({@code samples/linux/smp-init.sh}) runs a counter pinned to
 * each CPU at once; both pCPUs run the domain's vCPUs, and the boot powers off. Run next to the
 * same boot on one pCPU, so the virtual times can be compared.
 */
@Tag("linux-long")
class DebianLinuxPcpusTest {

  private record Boot(RunResult result, String console, long cycles, long[] busy,
      long[] idle, long migrations, long[] instructions) {}

  private static Boot boot(Path vmlinuz, byte[] initrd, int pcpus) throws Exception {
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    ByteArrayOutputStream diag = new ByteArrayOutputStream();
    HvmMachine m = HvmMachine.create(DomainMode.HVM_EPT, 256, 2, console,
        new PrintStream(diag, true, StandardCharsets.UTF_8));
    Hypervisor hv = m.hypervisor();
    hv.setPcpus(pcpus);
    m.load(new org.hospes.dom0.boot.loader.LinuxKernelLoader(),
        org.hospes.dom0.boot.KernelFiles.read(vmlinuz), vmlinuz.toString(),
        new org.hospes.dom0.boot.loader.BootRequest(
            "console=ttyS0 earlyprintk=serial cryptomgr.notests",
            List.of(new org.hospes.dom0.boot.BootModule(initrd, "initrd"))), null);
    RunResult r = m.run(12_000_000_000L);
    long[] busy = new long[pcpus];
    long[] idle = new long[pcpus];
    for (int i = 0; i < pcpus; i++) {
      busy[i] = hv.pcpu(i).busyCycles();
      idle[i] = hv.pcpu(i).idleCycles(hv.now());
    }
    return new Boot(r, console.toString(StandardCharsets.ISO_8859_1).replace("\r", ""),
        hv.now(), busy, idle, m.domain().totals().migrations,
        m.domain().vcpus().stream().mapToLong(v -> v.counters().instructions).toArray());
  }

  /**
   * The same kernel as a PVH guest on 2 pCPUs: its timers and IPIs are event channels (Xen's
   * per-vCPU VIRQ_TIMER and IPI ports), delivered across pCPUs.
   */
  @Test
  @Timeout(value = 1800, unit = TimeUnit.SECONDS)
  void debiansKernelRunsItsTwoVcpusOnTwoPcpusInPvh() throws Exception {
    Path vmlinuz = DebianKernel.vmlinuz();
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    ByteArrayOutputStream diag = new ByteArrayOutputStream();
    HvmMachine m = HvmMachine.create(DomainMode.PVH, 256, 2, console,
        new PrintStream(diag, true, StandardCharsets.UTF_8));
    Hypervisor hv = m.hypervisor();
    hv.setPcpus(2);
    m.load(new org.hospes.dom0.boot.loader.PvhKernelLoader(), vmlinuz,
        new org.hospes.dom0.boot.loader.BootRequest(
            "console=hvc0 earlyprintk=xen cryptomgr.notests",
            List.of(new org.hospes.dom0.boot.BootModule(
                DebianKernel.busyboxInitramfs("smp-init.sh", List.of(), java.util.Map.of()),
                null))), null);
    RunResult r = m.run(8_000_000_000L);
    String text = console.toString(StandardCharsets.ISO_8859_1).replace("\r", "");
    assertThat(diag.toString(StandardCharsets.ISO_8859_1) + text).as("run ended: %s", r)
        .contains("smp: Brought up 1 node, 2 CPUs");
    assertThat(text).as("run ended: %s", r)
        .contains("smp-init: /proc/cpuinfo lists 2 processors\n")
        .contains("smp-init: counter pinned to CPU 0 reached 2000 on CPU 0\n")
        .contains("smp-init: counter pinned to CPU 1 reached 2000 on CPU 1\n")
        .doesNotContain("Kernel panic");
    assertThat(r.exitStatus()).as("%s", r).isZero();
    assertThat(hv.pcpu(0).busyCycles()).isPositive();
    assertThat(hv.pcpu(1).busyCycles()).isPositive();
    System.out.printf("Debian kernel, pvh, 2 vCPUs on 2 pCPUs: %,d cycles, busy %,d + %,d,"
        + " %d migrations%n", hv.now(), hv.pcpu(0).busyCycles(), hv.pcpu(1).busyCycles(),
        m.domain().totals().migrations);
  }

  @Test
  @Timeout(value = 1800, unit = TimeUnit.SECONDS)
  void debiansBzImageRunsItsTwoVcpusOnTwoPcpus() throws Exception {
    Path vmlinuz = DebianKernel.vmlinuz();
    byte[] initrd = DebianKernel.busyboxInitramfs("smp-init.sh", List.of(), java.util.Map.of());
    Boot two = boot(vmlinuz, initrd, 2);
    assertThat(two.console()).as("run ended: %s", two.result())
        .contains("smp: Brought up 1 node, 2 CPUs")
        .contains("smp-init: /proc/cpuinfo lists 2 processors\n")
        .contains("smp-init: online CPUs 0-1\n")
        .contains("smp-init: counter pinned to CPU 0 reached 2000 on CPU 0\n")
        .contains("smp-init: counter pinned to CPU 1 reached 2000 on CPU 1\n")
        .doesNotContain("Kernel panic");
    assertThat(two.result().exitStatus()).as("%s", two.result()).isZero();
    assertThat(two.busy()[0]).isPositive();
    assertThat(two.busy()[1]).isPositive();
    Boot one = boot(vmlinuz, initrd, 1);
    assertThat(one.result().exitStatus()).as("%s", one.result()).isZero();
    System.out.printf("Debian bzImage, hvm, 2 vCPUs: 1 pCPU %,d cycles (instructions %s);"
            + " 2 pCPUs %,d cycles (instructions %s), busy %s idle %s, %d migrations,"
            + " ratio %.3f%n", one.cycles(), java.util.Arrays.toString(one.instructions()),
        two.cycles(), java.util.Arrays.toString(two.instructions()),
        java.util.Arrays.toString(two.busy()), java.util.Arrays.toString(two.idle()),
        two.migrations(), (double) two.cycles() / one.cycles());
  }
}
