package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.hospes.abi.Hypercall;
import org.hospes.dom0.backend.blk.BlkStats;
import org.hospes.dom0.backend.net.NetStats;
import org.hospes.dom0.backend.net.VifBackend;
import org.hospes.dom0.boot.loader.BootRequest;
import org.hospes.dom0.boot.loader.PvKernelLoader;
import org.hospes.dom0.machine.RunResult;
import org.hospes.dom0.toolstack.DiskSpec;
import org.hospes.dom0.toolstack.DomainOutcome;
import org.hospes.dom0.toolstack.DomainSpec;
import org.hospes.dom0.toolstack.GuestDomain;
import org.hospes.dom0.toolstack.HostRunner;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.domain.DomainMode;
import org.hospes.sdk.GuestBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SDK's blkfront and netfront in a classic PV guest: dom0's blkback and netback map and
 * copy the PV guest's granted frames (machine frames, found through its P2M), and the same
 * disk-bench and net-bench sources give the same data as in pvh.
 */
class PvSdkDevicesTest {
  private static Path root;
  private static GuestBuilder builder;

  @TempDir
  Path dir;

  @BeforeAll
  static void setUp() {
    root = TestKernels.root();
    builder = new GuestBuilder(root.resolve("guest-sdk/c"),
        root.resolve("samples/target/guests"));
  }

  private static List<Path> source(String s) {
    return List.of(root.resolve("samples/guests/" + s));
  }

  private String diskBench(DomainMode mode) throws Exception {
    List<Path> src = source("disk-bench/disk-bench.c");
    Path img = dir.resolve(mode.cliName() + ".img");
    Files.write(img, new byte[1 << 20]);
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    ByteArrayOutputStream diag = new ByteArrayOutputStream();
    HvmMachine m = HvmMachine.create(mode, 16, console,
        new PrintStream(diag, true, StandardCharsets.UTF_8));
    DiskSpec spec = DiskSpec.parse(img.toString(), 0, null);
    m.addDisk(spec, spec.open());
    if (mode == DomainMode.PV) {
      m.load(new PvKernelLoader(), builder.build("disk-bench", src), BootRequest.of(null),
          null);
    } else {
      m.loadPvh(builder.build("disk-bench", src), null);
    }
    RunResult r = m.run(500_000_000L);
    String text = console.toString(StandardCharsets.ISO_8859_1);
    assertThat(r.exitStatus()).as("%s %s %s", r, text, diag).isZero();
    assertThat(text).contains("disk-bench: xvda 2048 sectors of 512 bytes\n")
        .contains("disk-bench: ok, 388 requests");
    BlkStats s = m.blockBackends().get(0).stats();
    assertThat(s.requests).isEqualTo(388);
    assertThat(s.errors + s.notSupported).isZero();
    assertThat(s.bytesWritten).isEqualTo(2 * (512 << 10) + 16 * 4096 + 16 * 65536);
    if (mode == DomainMode.PV) {
      var c = m.domain().totals();
      assertThat(c.hypercallCount[Hypercall.SET_TRAP_TABLE.number()]).isEqualTo(1);
      assertThat(c.hypercallCount[Hypercall.HVM_OP.number()]).isZero();
    }
    // What was written is on the disk image, whoever wrote it.
    assertThat(Files.readAllBytes(img)).isNotEqualTo(new byte[1 << 20]);
    return text.replaceAll("\\d+ KiB/s", "N KiB/s");
  }

  /** Same checksums in every phase (KiB/s differ: the modes' costs differ). */
  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void diskBenchReadsAndWritesTheSameDataInPvAsInPvh() throws Exception {
    String pv = diskBench(DomainMode.PV);
    String pvh = diskBench(DomainMode.PVH);
    assertThat(pv).isEqualTo(pvh);
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void netBenchBetweenTwoPvGuestsLosesNothing() throws Exception {
    Path elf = builder.build("net-bench", source("net-bench/net-bench.c"));
    DomainSpec rx = DomainSpec.parse("rx=" + elf + ",mode=pv,ram=16,vif=net=bridge:br0,"
        + "cmdline=role=recv ip=10.0.0.2/24", null);
    DomainSpec tx = DomainSpec.parse("tx=" + elf + ",mode=pv,ram=16,vif=net=bridge:br0,"
        + "cmdline=role=send ip=10.0.0.1/24 peer=10.0.0.2 count=200 pings=3", null);
    HostRunner host = HostRunner.create(HostRunner.machineMiBFor(List.of(rx, tx)),
        new ByteArrayOutputStream());
    byte[] image = Files.readAllBytes(elf);
    GuestDomain grx = host.start(rx, image);
    GuestDomain gtx = host.start(tx, image);
    host.run(20_000_000_000L);
    String trx = grx.consoleText();
    String ttx = gtx.consoleText();
    assertThat(grx.outcome().kind()).as(trx).isEqualTo(DomainOutcome.Kind.EXITED);
    assertThat(gtx.outcome().kind()).as(ttx).isEqualTo(DomainOutcome.Kind.EXITED);
    assertThat(grx.outcome().status()).as(trx).isZero();
    assertThat(gtx.outcome().status()).as(ttx).isZero();
    assertThat(ttx).contains("net-bench: ping 10.0.0.2: 3 sent, 3 received")
        .contains("receiver reports 200 received, 0 lost, checksum")
        .contains("http GET / -> \"HTTP/1.0 200 OK\", 2089 bytes, body 2048 bytes");
    assertThat(trx).contains("udp received 200 of 200, lost 0, duplicates 0, bytes 204800");
    List<NetStats> stats = host.networks().vifs().stream().map(VifBackend::stats).toList();
    host.networks().close();
    assertThat(stats).hasSize(2);
  }

  @Test
  void anIdeDiskIsRefusedInPvWithAReason() {
    assertThatThrownBy(() -> DomainSpec.parse("g=k.elf,mode=pv,disk=[vdev=hda,target=d.img]",
        null)).hasMessageContaining("a pv domain has no device model");
  }
}
