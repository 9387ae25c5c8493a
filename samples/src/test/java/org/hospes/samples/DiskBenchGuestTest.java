package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.hospes.dom0.backend.blk.BlkStats;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.DiskSpec;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.domain.DomainMode;
import org.hospes.sdk.GuestBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * samples/guests/disk-bench, built with the SDK's blkfront, against dom0's blkback on a raw
 * image: every block it reads back matches what it wrote (it checks each page), sequential
 * reads give the same checksum as the writes, and the backend saw the requests.
 */
class DiskBenchGuestTest {
  @TempDir
  Path tmp;

  private static Path elf() throws Exception {
    Path root = TestKernels.root();
    return new GuestBuilder(root.resolve("guest-sdk/c"), root.resolve("samples/target/guests"))
        .build("disk-bench", List.of(root.resolve("samples/guests/disk-bench/disk-bench.c")));
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void diskBenchWritesReadsAndChecksEveryBlock() throws Exception {
    Path img = tmp.resolve("disk.img");
    try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
      f.setLength(1 << 20);
    }
    bench(img + ",format=raw");
  }

  /**
   * A domain whose one disk is xvdc: disk-bench looked for xvda alone, took the IDE path in its
   * place, found no IDE disk and crashed (status 3). It now uses the vbd the domain has.
   */
  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void diskBenchUsesTheOneVbdItHasWhenItIsNotXvda() throws Exception {
    Path img = tmp.resolve("disk.img");
    try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
      f.setLength(1 << 20);
    }
    bench("vdev=xvdc,format=raw,target=" + img, "xvdc");
  }

  /** The same on a qcow2 image made by qemu-img; qemu-img check finds it clean afterwards. */
  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void diskBenchOnAQcow2ImageLeavesItClean() throws Exception {
    Path img = tmp.resolve("disk.qcow2");
    assertThat(new ProcessBuilder("qemu-img", "create", "-q", "-f", "qcow2", img.toString(), "1M")
        .inheritIO().start().waitFor()).isZero();
    bench("vdev=xvda,access=rw,target=" + img);
    Process check = new ProcessBuilder("qemu-img", "check", img.toString())
        .redirectErrorStream(true).start();
    String out = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(check.waitFor()).as(out).isZero();
    assertThat(out).contains("No errors were found");
  }

  /**
   * xl's backend=: the SDK guest's blkfront talks to blkback in driver domain "storage"
   * (privileged over this guest alone); the grant maps and the run time are the storage
   * domain's, dom0 maps nothing.
   */
  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void diskBenchThroughABackendInADriverDomain() throws Exception {
    Path img = tmp.resolve("disk.img");
    try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
      f.setLength(1 << 20);
    }
    HvmMachine m = bench("format=raw,backend=storage,target=" + img);
    org.hospes.hv.Hypervisor hv = m.hypervisor();
    org.hospes.hv.control.DomainControl storage = hv.serviceDomains().stream()
        .filter(c -> c.domain().name().equals("storage")).findFirst().orElseThrow();
    assertThat(storage.domid()).isNotZero();
    assertThat(m.blockBackends().get(0).backendDomid()).isEqualTo(storage.domid());
    assertThat(storage.privilege()).isEqualTo(org.hospes.hv.control.Privilege.over(
        m.blockBackends().get(0).domid()));
    assertThat(storage.counters().grantMaps).isPositive();
    assertThat(storage.counters().cycles).isPositive();
    assertThat(storage.counters().eventUpcalls).isPositive();
    assertThat(hv.control().counters().grantMaps).isZero();
    assertThat(hv.control().counters().grantErrors).isZero();
    assertThat(storage.refusals()).isZero();
  }

  private HvmMachine bench(String disk) throws Exception {
    return bench(disk, "xvda");
  }

  private HvmMachine bench(String disk, String vdev) throws Exception {
    Path elf = elf();
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    ByteArrayOutputStream diag = new ByteArrayOutputStream();
    HvmMachine m = HvmMachine.create(DomainMode.PVH, 16, console,
        new PrintStream(diag, true, StandardCharsets.UTF_8));
    DiskSpec spec = DiskSpec.parse(disk, 0, null);
    m.addDisk(spec, spec.open());
    m.loadPvh(elf, null);
    RunResult r = m.run(500_000_000L);
    String text = console.toString(StandardCharsets.ISO_8859_1);
    assertThat(text).as("%s %s", r, diag)
        .contains("disk-bench: " + vdev + " 2048 sectors of 512 bytes\n")
        .contains("disk-bench: ok, 388 requests");
    assertThat(r.exitStatus()).isZero();
    for (int kib : new int[] {4, 64}) {
      assertThat(checksum(text, "seq write", kib)).isEqualTo(checksum(text, "seq read", kib));
    }
    BlkStats s = m.blockBackends().get(0).stats();
    assertThat(s.requests).isEqualTo(388);
    assertThat(s.errors + s.notSupported).isZero();
    assertThat(s.flushes).isEqualTo(4);
    assertThat(s.bytesWritten).isEqualTo(2 * (512 << 10) + 16 * 4096 + 16 * 65536);
    return m;
  }

  private static String checksum(String text, String phase, int kib) {
    Matcher mt = Pattern.compile("disk-bench: " + phase + " " + kib
        + " KiB x \\d+: \\d+ KiB/s \\(virtual\\), checksum ([0-9a-f]{8})").matcher(text);
    assertThat(mt.find()).as(phase + " " + kib).isTrue();
    return mt.group(1);
  }
}
