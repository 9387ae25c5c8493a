package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.hospes.dom0.disk.DiskImage;
import org.hospes.dom0.machine.ExitStatus;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.hospes.dom0.toolstack.DiskSpec;
import org.hospes.dom0.toolstack.DomainSpec;
import org.hospes.dom0.toolstack.HostRunner;
import org.hospes.hv.Hypervisor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code hospes run-many} errors found once some domains were built (the second spec's disk is
 * missing, a {@code --destroy} names no domain): the usage status and one line naming the
 * spec, and the domains already built are torn down: none is left in the hypervisor, machine
 * memory is all free, their disk images can be opened for writing again (no lock held), their
 * capture files are closed and xenstore holds nothing of them. Before, these exits left all of
 * it in place.
 */
class RunManyStartFailureTest {
  @TempDir
  Path dir;

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();
  private final List<HostRunner> made = new ArrayList<>();

  private int runMany(String... args) {
    RunManyCommand cmd = new RunManyCommand(new CliStreams(
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)));
    cmd.hostMade = made::add;
    return new CommandLine(cmd).execute(args);
  }

  private Path image(String name) throws Exception {
    Path p = dir.resolve(name);
    try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
      f.setLength(1 << 20);
    }
    return p;
  }

  private Path pvhKernel() throws Exception {
    long paddr = 0x10_0000;
    return Files.write(dir.resolve("pvh.elf"), new ElfImageBuilder().entry(paddr)
        .segment(paddr, new byte[] {(byte) 0xF4}, 0x1000).pvhEntryNote(paddr).build());
  }

  private Path multibootKernel() throws Exception {
    return Files.write(dir.resolve("mb.elf"),
        ElfImageBuilder.multibootKernel(new byte[] {(byte) 0xF4}));
  }

  /** The host the run made holds nothing of its domains, and {@code img} is free to write. */
  private void assertTornDown(List<String> specs, int firstDomid, Path img, String pcap)
      throws Exception {
    assertThat(made).hasSize(1);
    HostRunner host = made.get(0);
    Hypervisor hv = host.hypervisor();
    List<DomainSpec> parsed = specs.stream().map(s -> DomainSpec.parse(s, null)).toList();
    int fresh = HostRunner.create(HostRunner.machineMiBFor(parsed), new ByteArrayOutputStream())
        .hypervisor().frames().freeFrames();
    assertThat(hv.domains()).as("only dom0 is left").extracting(d -> d.domid())
        .containsExactly(0);
    assertThat(hv.frames().freeFrames()).as("machine memory free").isEqualTo(fresh);
    assertThat(hv.control().liveGrantMaps()).isZero();
    assertThat(hv.control().liveForeignMaps()).isZero();
    try (DiskImage again = DiskSpec.parse(img.toString(), 0, null).open()) {
      assertThat(again.readOnly()).as("opened for writing: no lock left").isFalse();
    }
    if (pcap != null) {
      assertThat(host.networks().openCaptures()).as("capture files closed").isZero();
      assertThat(Files.size(dir.resolve(pcap))).as("a pcap header, flushed").isEqualTo(24);
    }
    if (host.xenstore() != null) {
      assertThat(host.xenstore().read("/local/domain/" + firstDomid)).isNull();
      assertThat(host.xenstore().read("/local/domain/0/backend/vbd/" + firstDomid)).isNull();
      assertThat(host.xenstore().read("/local/domain/0/backend/vif/" + firstDomid)).isNull();
    }
    assertThat(out.toString(StandardCharsets.UTF_8)).isEmpty();
  }

  @Test
  void aSecondSpecWhoseDiskIsMissingTearsTheFirstDomainDown() throws Exception {
    Path img = image("a.img");
    Path missing = dir.resolve("missing.img");
    String a = "a=" + pvhKernel() + ",mode=pvh,disk=" + img + ",vif=[net=bridge:br0,pcap="
        + dir.resolve("a.pcap") + "]";
    String b = "b=" + multibootKernel() + ",mode=hvm,disk=" + missing;
    assertThat(runMany("--domain", a, "--domain", b)).isEqualTo(ExitStatus.USAGE);
    assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("hospes: b: ")
        .contains(missing.toString()).hasLineCount(1);
    assertTornDown(List.of(a, b), 1, img, "a.pcap");
  }

  @Test
  void aKernelThatDoesNotLoadTearsTheDomainsBuiltBeforeItDown() throws Exception {
    Path img = image("a.img");
    // An hvm domain with an IDE disk and an e1000 with a capture, then a pvh spec whose kernel
    // has no PVH entry note.
    String a = "a=" + multibootKernel() + ",mode=hvm,disk=" + img + ",vif=[net=bridge:br0,pcap="
        + dir.resolve("a.pcap") + "]";
    String b = "b=" + multibootKernel() + ",mode=pvh,loader=pvh";
    assertThat(runMany("--domain", a, "--domain", b)).isEqualTo(ExitStatus.USAGE);
    assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("hospes: b: ")
        .contains("not a PVH kernel").hasLineCount(1);
    assertTornDown(List.of(a, b), 1, img, "a.pcap");
  }

  /**
   * A second domain whose interface has the first one's MAC on the same bridge is refused with
   * one line (a learning switch cannot tell two ports with one address apart), and the first
   * domain is torn down as for any other start failure. Before, both were plugged in.
   */
  @Test
  void aSecondDomainWithTheFirstsMacOnItsNetworkIsRefused() throws Exception {
    Path img = image("a.img");
    String a = "a=" + pvhKernel() + ",mode=pvh,disk=" + img + ",vif=[mac=00:16:3e:00:00:0a,"
        + "net=bridge:br0,pcap=" + dir.resolve("a.pcap") + "]";
    String b = "b=" + multibootKernel() + ",mode=hvm,vif=[mac=00:16:3e:00:00:0a,"
        + "net=bridge:br0]";
    assertThat(runMany("--domain", a, "--domain", b)).isEqualTo(ExitStatus.USAGE);
    assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("hospes: b: vif 0: mac"
        + " 00:16:3e:00:00:0a is already on network bridge:br0 (a's vif 0); each interface on a"
        + " network needs its own address" + System.lineSeparator());
    assertTornDown(List.of(a, b), 1, img, "a.pcap");
  }

  /**
   * A guest may not take the name of the driver domain an earlier guest's disk made
   * (backend=b, then a guest b): one line, status 2, the first domain and its driver domain
   * torn down. Before, both were built, two domains called b.
   */
  @Test
  void aGuestNamedAsAnEarlierDisksDriverDomainIsRefused() throws Exception {
    Path img = image("a.img");
    String a = "a=" + pvhKernel() + ",mode=pvh,disk=[backend=b,target=" + img + "]";
    String b = "b=" + pvhKernel() + ",mode=pvh";
    assertThat(runMany("--domain", a, "--domain", b)).isEqualTo(ExitStatus.USAGE);
    assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("hospes: b: a domain named b"
        + " exists already (a driver domain, privileged over domain 1)"
        + System.lineSeparator());
    assertTornDown(List.of(a, b), 1, img, null);
    assertThat(made.get(0).hypervisor().serviceDomains()).extracting(c -> c.domid())
        .as("the driver domain went with its guest").containsExactly(0);
  }
}
