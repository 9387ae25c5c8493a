package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.hospes.dom0.machine.ExitStatus;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.hospes.dom0.toolstack.HvmMachine;
import org.hospes.hv.Hypervisor;
import org.hospes.hv.HypervisorFactory;
import org.hospes.hv.domain.DomainState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code hospes run} errors found once the machine exists (a disk, a network interface or a
 * device the domain cannot have, a kernel that does not load): the exit status is the usage
 * status, the message names the option and the reason, and the machine made for the run is
 * given up: its domain is gone and the machine memory it had is free again. Before, these
 * exits left the domain and its memory in place.
 */
class RunStartFailureTest {
  private static final int RAM_MIB = 16;
  /** Writes 'k' to COM1, then isa-debug-exit 0x10. */
  private static final byte[] OK = ElfImageBuilder.multibootKernel(new byte[] {
      (byte) 0xBA, (byte) 0xF8, 0x03, 0x00, 0x00, (byte) 0xB0, 'k', (byte) 0xEE,
      (byte) 0xB0, 0x10, (byte) 0xE6, (byte) 0xF4});

  @TempDir
  Path dir;

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();
  private final List<HvmMachine> made = new ArrayList<>();

  private int hospesRun(String... args) {
    RunCommand run = new RunCommand(new CliStreams(
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)));
    run.machineMade = made::add;
    return new CommandLine(RunCommandModel.run(run)).execute(args);
  }

  private String stderr() {
    return err.toString(StandardCharsets.UTF_8);
  }

  private String kernel() throws IOException {
    Path k = dir.resolve("k.elf");
    Files.write(k, OK);
    return k.toString();
  }

  /** The one machine the run made has no domain left, and all its memory is free. */
  private void assertGivenUp() {
    assertThat(made).hasSize(1);
    HvmMachine m = made.get(0);
    Hypervisor hv = m.hypervisor();
    int fresh = HvmMachine.factory().hypervisor(HypervisorFactory.DEFAULT_SCHEDULER,
        HypervisorFactory.DEFAULT_COST_MODEL, HvmMachine.machineMiB(RAM_MIB)).frames()
        .freeFrames();
    assertThat(m.domain().state()).isEqualTo(DomainState.DYING);
    assertThat(hv.domain(m.domain().domid())).as("the domain is gone").isNull();
    assertThat(hv.frames().freeFrames()).as("machine memory free").isEqualTo(fresh);
    assertThat(hv.control().liveForeignMaps()).isZero();
    assertThat(hv.control().liveGrantMaps()).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).isEmpty();
  }

  @Test
  void aDiskImageThatIsMissingGivesTheMachineUp() throws IOException {
    Path missing = dir.resolve("missing.img");
    assertThat(hospesRun("--mode", "hvm", "--ram", "" + RAM_MIB, "--disk", missing.toString(),
        kernel())).isEqualTo(ExitStatus.USAGE);
    assertThat(stderr()).startsWith("hospes: --disk: ").contains(missing.toString())
        .hasLineCount(1);
    assertGivenUp();
  }

  @Test
  void aDiskOnABusTheModeHasNotGivesTheMachineUp() throws IOException {
    Path img = dir.resolve("d.img");
    Files.write(img, new byte[512 * 64]);
    assertThat(hospesRun("--mode", "pvh", "--ram", "" + RAM_MIB, "--disk",
        img + ",bus=virtio", kernel())).isEqualTo(ExitStatus.USAGE);
    assertThat(stderr()).isEqualTo("hospes: --disk ...,bus=virtio needs an hvm mode (a PCI"
        + " device of the device model)" + System.lineSeparator());
    assertGivenUp();
  }

  /**
   * Two PV disks on one vdev (the first is xvda by its position) wrote one vbd directory twice:
   * the run ended with an internal error (a NullPointerException from xenstore), status 1.
   */
  @Test
  void twoDisksOnOneVdevAreAUsageErrorAndGiveTheMachineUp() throws IOException {
    Path a = Files.write(dir.resolve("a.img"), new byte[512 * 64]);
    Path b = Files.write(dir.resolve("b.img"), new byte[512 * 64]);
    long paddr = 0x10_0000;
    Path pvh = Files.write(dir.resolve("pvh.elf"), new ElfImageBuilder().entry(paddr)
        .segment(paddr, new byte[] {(byte) 0xF4}, 0x1000).pvhEntryNote(paddr).build());
    assertThat(hospesRun("--mode", "pvh", "--ram", "" + RAM_MIB, "--disk", a.toString(),
        "--disk", b + ",vdev=xvda", pvh.toString())).as(stderr()).isEqualTo(ExitStatus.USAGE);
    assertThat(stderr()).isEqualTo("hospes: --disk: two disks are xvda; give each its own vdev"
        + " (a disk without one is xvda, xvdb, ... by its position)" + System.lineSeparator());
    assertGivenUp();
  }

  @Test
  void aPvVifInAnHvmModeGivesTheMachineUp() throws IOException {
    assertThat(hospesRun("--mode", "hvm", "--ram", "" + RAM_MIB, "--vif", "model=xen",
        kernel())).isEqualTo(ExitStatus.USAGE);
    assertThat(stderr()).startsWith("hospes: --vif ...,model=xen needs --mode pvh, pvhvm or pv")
        .hasLineCount(1);
    assertGivenUp();
  }

  @Test
  void anUnknownDeviceGivesTheMachineUp() throws IOException {
    assertThat(hospesRun("--mode", "hvm", "--ram", "" + RAM_MIB, "--device", "no-such-device",
        kernel())).isEqualTo(ExitStatus.USAGE);
    assertThat(stderr()).startsWith("hospes: --device no-such-device: ").hasLineCount(1);
    assertGivenUp();
  }

  @Test
  void aKernelTheLoaderRefusesGivesTheMachineUp() throws IOException {
    // A multiboot kernel has no PVH entry note: the load fails once the domain was made.
    String k = kernel();
    assertThat(hospesRun("--mode", "pvh", "--ram", "" + RAM_MIB, "--loader", "pvh", k))
        .isEqualTo(ExitStatus.USAGE);
    assertThat(stderr()).isEqualTo("hospes: " + k + ": not a PVH kernel (no Xen PHYS32_ENTRY"
        + " note)" + System.lineSeparator());
    assertGivenUp();
  }

  /**
   * The disks of a run are closed when it ends (a writable image flushed first, see
   * ImageCloseFlushTest; here its released lock shows the close): before, neither an IDE disk
   * nor a vbd image was ever closed, so it stayed unflushed and locked until the JVM ended.
   */
  @Test
  void theRunsDisksAreClosedWhenItEnds() throws IOException {
    Path a = Files.write(dir.resolve("a.img"), new byte[512 * 64]);
    assertThat(hospesRun("--mode", "hvm", "--ram", "" + RAM_MIB, "--disk", a.toString(),
        kernel())).as(stderr()).isEqualTo(0x10 * 2 + 1);
    try (org.hospes.dom0.disk.DiskImage again =
        new org.hospes.dom0.disk.DiskImages().open(a, null, false)) {
      assertThat(again.readOnly()).isFalse();
    }
  }

  /** A disk opened before a usage error (the second disk is missing) is closed too. */
  @Test
  void aDiskOpenedBeforeAUsageErrorIsClosed() throws IOException {
    Path a = Files.write(dir.resolve("a.img"), new byte[512 * 64]);
    Path missing = dir.resolve("missing.img");
    assertThat(hospesRun("--mode", "hvm", "--ram", "" + RAM_MIB, "--disk", a.toString(),
        "--disk", missing.toString(), kernel())).isEqualTo(ExitStatus.USAGE);
    assertGivenUp();
    try (org.hospes.dom0.disk.DiskImage again =
        new org.hospes.dom0.disk.DiskImages().open(a, null, false)) {
      assertThat(again.readOnly()).isFalse();
    }
  }

  /**
   * One image as a read-write and a read-only disk of one domain: QEMU refuses it (a reader
   * does not share write); before, the read-only open took no lock and the run went ahead.
   */
  @Test
  void oneImageReadWriteAndReadOnlyIsAUsageError() throws IOException {
    Path a = Files.write(dir.resolve("a.img"), new byte[512 * 64]);
    assertThat(hospesRun("--mode", "hvm", "--ram", "" + RAM_MIB, "--disk", a.toString(),
        "--disk", a + ",mode=ro", kernel())).isEqualTo(ExitStatus.USAGE);
    assertThat(stderr()).isEqualTo("hospes: --disk: " + a + ": the image is open for writing"
        + " (by this or another domain); it cannot be opened read-only too"
        + System.lineSeparator());
    assertGivenUp();
  }

  /** In pvhvm xvda's emulated IDE copy and hda clash: refused (before, hda's copy was skipped). */
  @Test
  void pvhvmXvdaAndHdaAreAUsageError() throws IOException {
    Path a = Files.write(dir.resolve("a.img"), new byte[512 * 64]);
    Path b = Files.write(dir.resolve("b.img"), new byte[512 * 64]);
    assertThat(hospesRun("--mode", "pvhvm", "--ram", "" + RAM_MIB, "--disk", a + ",vdev=xvda",
        "--disk", b + ",vdev=hda", kernel())).isEqualTo(ExitStatus.USAGE);
    assertThat(stderr()).isEqualTo("hospes: --disk: xvda and hda are both the emulated IDE disk"
        + " hda (in pvhvm a vbd xvdX, X below e, is also the IDE disk of its index, as with"
        + " xl); give one of them another vdev" + System.lineSeparator());
    assertGivenUp();
  }

  /** In hvm the duplicate-vdev hint names IDE positions (it said pvh's xvda, xvdb, ...). */
  @Test
  void hvmDuplicateVdevHintIsAboutIdePositions() throws IOException {
    Path a = Files.write(dir.resolve("a.img"), new byte[512 * 64]);
    Path b = Files.write(dir.resolve("b.img"), new byte[512 * 64]);
    assertThat(hospesRun("--mode", "hvm", "--ram", "" + RAM_MIB, "--disk", a + ",vdev=hda",
        "--disk", b + ",vdev=hda", kernel())).isEqualTo(ExitStatus.USAGE);
    assertThat(stderr()).isEqualTo("hospes: --disk: " + "two disks are hda; give each its own vdev (in hvm a disk is an IDE disk: vdev hda, hdb,"
        + " hdc or hdd names its position, and a disk without one, or with an xvdX one, takes"
        + " the first free of them)"
        + System.lineSeparator());
    assertGivenUp();
  }
}
