package org.hospes.dom0.study;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.hospes.dom0.boot.NewcArchive;
import org.hospes.dom0.boot.loader.BootMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The linux-io workload without booting Linux: its parameters in a study file, which modes
 * each path has a place in, what the guest is told, the phase marks' counter deltas, the I/O
 * summary's per-MiB table and findings, and the initramfs archive. DebianLinuxIoStudyTest
 * boots it.
 */
class LinuxIoTest {
  @TempDir
  Path dir;

  @Test
  void anIoWorkloadDefaultsToDebiansKernelAndItsPathsNet() throws Exception {
    Path f = dir.resolve("io.yaml");
    Files.writeString(f, """
        workloads:
          - {io: {disk: ide, diskMiB: 8}}
          - {name: v, io: {disk: virtio, fetchMiB: 10}}
        modes: [hvm, pvh]
        """);
    StudySpec s = StudySpec.read(f);
    StudySpec.Workload ide = s.workloads().get(0);
    assertThat(ide.name()).isEqualTo("linux-io-ide");
    assertThat(ide.kernel()).isEqualTo(LinuxIo.defaultKernel());
    assertThat(ide.io()).isEqualTo(new LinuxIo.Params("ide", "none", 8, 4, null));
    assertThat(s.workloads().get(1).io())
        .isEqualTo(new LinuxIo.Params("virtio", "virtio", 4, 10, null));
  }

  /**
   * A study that gives no maxInstructions: its io: workloads get room for Debian's boot and
   * their I/O (the README's example stopped at 2e9 in pvhvm), its other workloads keep 2e9,
   * and a maxInstructions the study gives holds for all of them.
   */
  @Test
  void ioWorkloadsHaveTheirOwnDefaultInstructionLimit() throws Exception {
    Path f = dir.resolve("io.yaml");
    Files.writeString(f, """
        workloads:
          - {name: xen, io: {disk: xen, diskMiB: 16, fetchMiB: 4}}
          - {name: k, kernel: nanobench}
        modes: [pvhvm]
        """);
    StudySpec s = StudySpec.read(f);
    assertThat(s.maxInstructions()).isNull();
    assertThat(s.maxInstructions(s.workloads().get(0))).isEqualTo(10_000_000_000L)
        .isEqualTo(StudySpec.DEFAULT_IO_MAX_INSTRUCTIONS);
    assertThat(s.maxInstructions(s.workloads().get(1))).isEqualTo(2_000_000_000L);
    Files.writeString(f, Files.readString(f) + "maxInstructions: 5000000000\n");
    StudySpec given = StudySpec.read(f);
    assertThat(given.maxInstructions(given.workloads().get(0))).isEqualTo(5_000_000_000L);
    assertThat(given.maxInstructions(given.workloads().get(1))).isEqualTo(5_000_000_000L);
  }

  @Test
  void badIoParametersAreRefusedNamingTheWorkload() throws Exception {
    Path f = dir.resolve("bad.yaml");
    Files.writeString(f, "workloads:\n  - {io: {disk: scsi}}\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessageContaining("workloads[0].io: disk must"
        + " be ide, virtio, xen or none, got 'scsi'");
    Files.writeString(f, "workloads:\n  - {io: {disk: ide, net: rtl8139}}\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessageContaining("net must be e1000,"
        + " virtio, xen or none, got 'rtl8139'");
    Files.writeString(f, "workloads:\n  - {io: {disk: xen, net: e1000}}\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessageContaining("need different modes");
    Files.writeString(f, "workloads:\n  - {io: {disk: virtio, net: xen}}\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessageContaining("need different modes");
    Files.writeString(f, "workloads:\n  - {io: {diskMiB: 0}}\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessageContaining("diskMiB: 0 is outside");
    Files.writeString(f, "workloads:\n  - {io: {fetchMiB: 2000}}\n");
    assertThatThrownBy(() -> StudySpec.read(f)).hasMessageContaining("fetchMiB: 2000 is outside");
  }

  @Test
  void eachPathRunsOnlyInTheModesItHasAPlaceIn() {
    LinuxIo.Params ide = new LinuxIo.Params("ide", null, null, null, null).withDefaults();
    LinuxIo.Params virtio = new LinuxIo.Params("virtio", null, null, null, null).withDefaults();
    LinuxIo.Params xen = new LinuxIo.Params("xen", null, null, null, null).withDefaults();
    for (BootMode m : List.of(BootMode.HVM, BootMode.HVM_SHADOW)) {
      assertThat(ide.refusal(m)).isNull();
      assertThat(virtio.refusal(m)).isNull();
      assertThat(xen.refusal(m)).contains("pvhvm and pvh");
    }
    for (BootMode m : List.of(BootMode.PVHVM, BootMode.PVH)) {
      assertThat(ide.refusal(m)).contains("hvm and hvm-shadow");
      assertThat(virtio.refusal(m)).contains("hvm and hvm-shadow");
      assertThat(xen.refusal(m)).isNull();
    }
    assertThat(xen.refusal(BootMode.NATIVE)).isNotNull();
    RunRecord r = LinuxIo.run(new RunSpec(1, new StudySpec.Workload("x", "k", null, null,
        Map.of(), null, xen), "hvm", 64, "credit", "default", "interp", 1), new byte[0], 1);
    assertThat(r.skipped()).isTrue();
  }

  @Test
  void theGuestIsToldItsDriversDiskAndWork() {
    LinuxIo.Params virtio = new LinuxIo.Params("virtio", null, 3, 7, null).withDefaults();
    assertThat(LinuxIo.cmdline(virtio, BootMode.HVM)).isEqualTo("console=ttyS0"
        + " cryptomgr.notests printk.time=0 modules=virtio_ring.ko,virtio.ko,"
        + "virtio_pci_legacy_dev.ko,virtio_pci_modern_dev.ko,virtio_pci.ko,virtio_blk.ko,"
        + "failover.ko,net_failover.ko,virtio_net.ko disk=vda diskmb=3 net=yes fetchmb=7");
    LinuxIo.Params xen = new LinuxIo.Params("xen", null, 1, 1, null).withDefaults();
    assertThat(LinuxIo.cmdline(xen, BootMode.PVH)).startsWith("console=hvc0 ")
        .contains("modules=xen-blkfront.ko,xen-netfront.ko disk=xvda");
    LinuxIo.Params ide = new LinuxIo.Params("ide", null, 1, 1, null).withDefaults();
    assertThat(LinuxIo.cmdline(ide, BootMode.HVM)).contains("sd_mod.ko disk=sda")
        .contains("net=no");
  }

  @Test
  void thePhaseMarksGiveEachPhasesCounterDeltas() throws Exception {
    LinuxIo.PhaseMarks marks = new LinuxIo.PhaseMarks();
    Map<String, Long> now = new HashMap<>(Map.of("vm_exits", 10L, "ioreqs", 4L));
    marks.snapshot = () -> Map.copyOf(now);
    marks.write("boot\nhospes-io: disk begin\n".getBytes(StandardCharsets.US_ASCII));
    now.put("vm_exits", 110L);
    now.put("ioreqs", 54L);
    marks.write("[x] hospes-io: disk end\n".getBytes(StandardCharsets.US_ASCII));
    now.put("vm_exits", 500L);
    marks.write("hospes-io: net begin\n".getBytes(StandardCharsets.US_ASCII));
    assertThat(marks.phase("disk")).containsEntry("disk.vm_exits", 100L)
        .containsEntry("disk.ioreqs", 50L).hasSize(2);
    assertThat(marks.phase("net")).as("no end mark yet").isEmpty();
    assertThat(marks.text()).startsWith("boot\n").endsWith("net begin\n");
  }

  @Test
  void theSummarySaysWherePvIsCheaperPerMib() {
    Map<String, Long> ide = disk(4, 4000, 3000, 90_000_000L, 0);
    Map<String, Long> virtio = disk(4, 160, 90, 30_000_000L, 0);
    Map<String, Long> xen = disk(4, 20, 0, 25_000_000L, 120);
    List<RunRecord> records = List.of(record(1, "ide", "hvm", ide, 1),
        record(2, "virtio", "hvm", virtio, 1), record(3, "xen", "pvhvm", xen, 1),
        record(4, "xen", "pvhvm", xen, 2));
    String md = IoPathsSummary.section(records);
    assertThat(md).contains("| ide | hvm | disk | 4.00 | 1,000 | 750 |")
        .contains("| xen | pvhvm | disk | 4.00 | 5.00 | 0.00 | 0.00 | 30.00 |")
        .contains("IDE (hvm) costs 3.6x the cycles outside the guest (hypervisor and dom0) and"
            + " 200.0x the VM exits of xen-blkfront (pvhvm): agrees. Counting the guest's own"
            + " work too (dd, busybox), 3.60x.")
        .contains("virtio-blk (hvm) costs 1.20x xen-blkfront's (pvhvm) modelled cycles and"
            + " 8.00x its VM exits: does not agree. Outside the guest alone virtio costs 1.2x:"
            + " close too.")
        .contains("Determinism: every repetition gave the first run's counters exactly"
            + " (1 compared)");
    // The network: an emulated NIC against virtio-net and xen-netfront, per MiB received.
    List<RunRecord> net = List.of(record(1, "ide", "hvm", net(4, 8000, 400_000_000L), 1, "e1000"),
        record(2, "virtio", "hvm", net(4, 1000, 100_000_000L), 1, "virtio"),
        record(3, "xen", "pvh", net(4, 800, 90_000_000L), 1, "xen"));
    assertThat(IoPathsSummary.section(net))
        .contains("| e1000 | hvm | net | 4.00 | 2,000 |")
        .contains("the e1000 (hvm) takes 8.0x the VM exits and 4.0x the cycles outside the guest"
            + " of virtio-net (hvm) (10.0x and 4.4x those of xen-netfront, pvh), and 4.00x its"
            + " total cycles: agrees.")
        .contains("virtio-net against xen-netfront (pvh)**: 1.11x");
    Map<String, Long> changed = new HashMap<>(xen);
    changed.put("disk.vm_exits", 21L);
    assertThat(IoPathsSummary.determinism(List.of(record(3, "xen", "pvhvm", xen, 1),
        record(4, "xen", "pvhvm", changed, 2)))).contains("**repetitions differ**");
  }

  private static Map<String, Long> disk(long mib, long exits, long ioreqs, long cycles,
      long dom0Events) {
    return Map.of("disk.bytes", mib << 20, "disk.vm_exits", exits, "disk.ioreqs", ioreqs,
        "disk.guest_cycles", cycles, "disk.guest_execution_cycles", cycles / 2,
        "disk.dom0_cycles", 0L, "disk.dom0_events_handled", dom0Events);
  }

  /** A net phase of {@code mib} MiB: cycles split half guest, a quarter each outside. */
  private static Map<String, Long> net(long mib, long exits, long cycles) {
    return Map.of("net.bytes", mib << 20, "net.vm_exits", exits, "net.ioreqs", 0L,
        "net.guest_cycles", cycles * 3 / 4, "net.guest_execution_cycles", cycles / 2,
        "net.dom0_cycles", cycles / 4);
  }

  private static RunRecord record(int i, String path, String mode, Map<String, Long> c,
      int rep) {
    return record(i, path, mode, c, rep, "none");
  }

  private static RunRecord record(int i, String path, String mode, Map<String, Long> c,
      int rep, String netPath) {
    LinuxIo.Params p = new LinuxIo.Params(path, netPath, 4, null, null).withDefaults();
    return new RunRecord(new RunSpec(i, new StudySpec.Workload(path, "k", null, null, Map.of(),
        null, p), mode, 256, "credit", "default", "interp", rep), 0, "done", c, Map.of(), 1000);
  }

  @Test
  void theInitramfsIsANewcArchiveEndingInItsTrailer() {
    byte[] a = new NewcArchive().directory("dev").file("init", "#!x\n".getBytes(
        StandardCharsets.US_ASCII), 0755).finish();
    String s = new String(a, StandardCharsets.US_ASCII);
    // dev: inode 1, mode 040755; init: inode 2, mode 0100755, 4 bytes, name of 5 with its NUL.
    assertThat(s).startsWith("070701" + "00000001" + "000041ed");
    assertThat(s).contains("070701" + "00000002" + "000081ed" + "00000000" + "00000000"
        + "00000001" + "00000000" + "00000004");
    assertThat(s).contains("init\0\0#!x\n");
    assertThat(s).contains("TRAILER!!!\0");
    assertThat(a.length % 4).isZero();
  }

  /**
   * A run whose kernel the machine cannot load (here a PVH kernel placed above the domain's
   * RAM), found once the machine and its scratch disk exist, is a skipped run that leaves no
   * open descriptor of the scratch disk behind (nor its write lock): a study of many runs
   * must not keep one per skipped run, as it did.
   */
  @Test
  void aRunWhoseKernelDoesNotLoadClosesItsScratchDisk() throws Exception {
    long high = 0x2000_0000L; // 512 MiB: past the 64 MiB of RAM
    byte[] kernel = new org.hospes.dom0.testing.ElfImageBuilder().entry(high)
        .segment(high, new byte[] {(byte) 0xF4}, 0x1000).pvhEntryNote(high).build();
    Path modules = Files.createDirectories(dir.resolve("modules"));
    LinuxIo.Params xen = new LinuxIo.Params("xen", "none", 1, 1, modules.toString())
        .withDefaults();
    for (String m : LinuxIo.modules(xen)) {
      Files.write(modules.resolve(m), new byte[16]); // not loaded: the kernel never runs
    }
    long before = scratchDescriptors();
    RunRecord r = LinuxIo.run(new RunSpec(1, new StudySpec.Workload("x", "k", null, null,
        Map.of(), null, xen, null, null), "pvh", 64, "credit", "default", "interp", 1), kernel,
        1_000_000);
    assertThat(r.skipped()).as(r.toString()).isTrue();
    assertThat(scratchDescriptors()).as("open scratch disks").isEqualTo(before);
  }

  /** This process's open descriptors of linux-io scratch disks (deleted or not). */
  private static long scratchDescriptors() throws java.io.IOException {
    try (var fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.filter(fd -> {
        try {
          return Files.readSymbolicLink(fd).toString().contains("hospes-linux-io-");
        } catch (java.io.IOException e) {
          return false; // closed while listed (the listing's own descriptor)
        }
      }).count();
    }
  }
}
