package org.hospes.dom0.toolstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.hospes.dom0.cli.HospesCli;
import org.hospes.dom0.xenstore.XsWire;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Disk specifications: Hospes's shorthand, xl's syntax, run-many specs and their errors. */
class DiskSpecTest {
  @TempDir
  Path dir;

  @Test
  void shorthandGivesPathFormatAndMode() {
    DiskSpec d = DiskSpec.parse("a.img,format=raw,mode=ro", 0, Path.of("/vm"));
    assertThat(d).isEqualTo(new DiskSpec(Path.of("/vm/a.img"), "raw", true, "xvda"));
    assertThat(d.devid()).isEqualTo(51712);
    assertThat(DiskSpec.parse("b.img", 1, null).vdev()).isEqualTo("xvdb");
    assertThat(DiskSpec.parse("b.img,mode=rw", 0, null).readOnly()).isFalse();
  }

  @Test
  void xlSyntaxTakesTargetLastWithItsCommas() {
    DiskSpec d = DiskSpec.parse("format=qcow2,vdev=xvdc,access=r,target=/x/with,comma.img", 0,
        null);
    assertThat(d).isEqualTo(new DiskSpec(Path.of("/x/with,comma.img"), "qcow2", true, "xvdc"));
    assertThat(d.devid()).isEqualTo(51744);
  }

  @Test
  void backendNamesADriverDomainAndZeroIsDom0() {
    assertThat(DiskSpec.parse("a.img,backend=storage", 0, null).backend()).isEqualTo("storage");
    assertThat(DiskSpec.parse("backend=Domain-0,target=a.img", 0, null).backend()).isNull();
    assertThat(DiskSpec.parse("a.img,backend=0", 0, null))
        .isEqualTo(new DiskSpec(Path.of("a.img"), null, false, "xvda"));
    assertThatThrownBy(() -> DiskSpec.parse("a.img,backend=st/rage", 0, null))
        .hasMessageContaining("backend must be a domain name");
  }

  @Test
  void aDriverDomainServesOneGuestOnly() {
    org.hospes.hv.Hypervisor hv = new org.hospes.hv.Hypervisor(64,
        new org.hospes.hv.sched.RoundRobinScheduler(),
        new org.hospes.hv.cost.DefaultCostModel());
    var a = hv.createHvmDomain("a", DomainMode.PVH, 2);
    var b = hv.createHvmDomain("b", DomainMode.PVH, 2);
    var xs = new org.hospes.dom0.xenstore.XenstoreService(hv.control(), hv.costModel());
    var storage = HvmMachine.driverDomain(hv, xs, "storage", a.domid());
    assertThat(storage.domid()).isNotIn(0, a.domid(), b.domid());
    assertThat(HvmMachine.driverDomain(hv, xs, "storage", a.domid())).isSameAs(storage);
    assertThatThrownBy(() -> HvmMachine.driverDomain(hv, xs, "storage", b.domid()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("backend=storage: driver domain storage (privileged over domain "
            + a.domid() + ") cannot serve domain " + b.domid() + "; a driver domain serves"
            + " one guest");
    assertThatThrownBy(() -> HvmMachine.driverDomain(hv, xs, "a", b.domid()))
        .hasMessage("backend=a: a is a guest, not a driver domain");
  }

  /**
   * A driver domain made for {@code backend=} gets the nodes xl writes for every domain it
   * creates: its name and domid, dom0's, readable by the domain itself (libxl's roperm on
   * {@code /local/domain/N}, which they inherit), and by no other domain.
   */
  @Test
  void aNewDriverDomainHasItsNameAndDomidInXenstore() {
    org.hospes.hv.Hypervisor hv = new org.hospes.hv.Hypervisor(64,
        new org.hospes.hv.sched.RoundRobinScheduler(),
        new org.hospes.hv.cost.DefaultCostModel());
    var a = hv.createHvmDomain("a", DomainMode.PVH, 2);
    var xs = new org.hospes.dom0.xenstore.XenstoreService(hv.control(), hv.costModel());
    int n = HvmMachine.driverDomain(hv, xs, "storage", a.domid()).domid();
    String dom = "/local/domain/" + n;
    assertThat(xs.read(dom + "/name")).isEqualTo("storage");
    assertThat(xs.read(dom + "/domid")).isEqualTo(Integer.toString(n));
    for (String node : new String[] {"", "/name", "/domid"}) {
      assertThat(xs.request(XsWire.GET_PERMS, dom + node + "\0").text())
          .isEqualTo("n0\0r" + n + "\0");
    }
    assertThat(xs.requestAs(n, XsWire.READ, dom + "/name\0").text()).isEqualTo("storage");
    assertThat(xs.requestAs(a.domid(), XsWire.READ, dom + "/name\0").text())
        .isEqualTo("EACCES\0");
  }

  @Test
  void badSpecsSayWhatIsWrong() {
    assertThatThrownBy(() -> DiskSpec.parse("a.img,mode=rx", 0, null))
        .hasMessageContaining("mode must be ro or rw");
    assertThatThrownBy(() -> DiskSpec.parse("a.img,vdev=sda", 0, null))
        .hasMessageContaining("vdev must be xvda..xvdp or hda..hdd");
    assertThatThrownBy(() -> DiskSpec.parse("a.img,vdev=hde", 0, null))
        .hasMessageContaining("hda..hdd");
    assertThatThrownBy(() -> DiskSpec.parse("a.img,raw,hda,rw,extra", 0, null))
        .hasMessageContaining("target, format, vdev and access are all given");
    assertThatThrownBy(() -> DiskSpec.parse("a.img,bus=scsi", 0, null))
        .hasMessageContaining("bus must be ide, virtio or xen");
    assertThatThrownBy(() -> DiskSpec.parse("format=raw", 0, null))
        .hasMessageContaining("names no image");
    assertThatThrownBy(() -> DiskSpec.parse("a.img,speed=9", 0, null))
        .hasMessageContaining("unknown key 'speed'");
  }

  @Test
  void anUnknownFormatIsRefusedWhenOpenedListingTheKnownOnes() throws IOException {
    Path img = Files.write(dir.resolve("a.img"), new byte[4096]);
    assertThatThrownBy(() -> DiskSpec.parse(img + ",format=vmdk", 0, null).open())
        .hasMessageContaining("unknown disk format 'vmdk'; known formats: qcow2, raw");
  }

  @Test
  void aQcow2ImageOpensByNameOrByProbing() throws Exception {
    Path img = dir.resolve("q.qcow2");
    Process p = new ProcessBuilder("qemu-img", "create", "-q", "-f", "qcow2", img.toString(),
        "1M").redirectErrorStream(true).start();
    assertThat(p.waitFor()).isZero();
    try (var d = DiskSpec.parse(img.toString(), 0, null).open()) {
      assertThat(d.format()).isEqualTo("qcow2");
      assertThat(d.sizeBytes()).isEqualTo(1 << 20);
    }
    try (var d = DiskSpec.parse(img + ",format=qcow2,mode=ro", 0, null).open()) {
      assertThat(d.readOnly()).isTrue();
    }
  }

  @Test
  void aMissingImageIsNamed() {
    Path missing = dir.resolve("nope.img");
    assertThatThrownBy(() -> DiskSpec.parse(missing.toString(), 0, null).open())
        .isInstanceOf(IOException.class)
        .hasMessage("disk image " + missing + " does not exist");
  }

  @Test
  void runManySpecsTakeDisksPlainOrBracketed() {
    DomainSpec s = DomainSpec.parse("db=k.elf,mode=pvh,disk=root.img,"
        + "disk=[format=raw,vdev=xvdc,access=ro,target=data,1.img],ram=32,cmdline=a,b", Path.of("/h"));
    assertThat(s.disks()).containsExactly(
        new DiskSpec(Path.of("/h/root.img"), null, false, "xvda"),
        new DiskSpec(Path.of("/h/data,1.img"), "raw", true, "xvdc"));
    assertThat(s.ramMiB()).isEqualTo(32);
    assertThat(s.cmdline()).isEqualTo("a,b");
    assertThat(s.mode()).isEqualTo(DomainMode.PVH);
    assertThat(DomainSpec.parse("w=k.elf,disk=a.img", Path.of("/h")).disks().get(0)
        .busFor(true)).as("hvm's default").isEqualTo(DiskSpec.Bus.IDE);
    // pv: PV disks only (no device model for IDE or virtio).
    assertThat(DomainSpec.parse("w=k.elf,mode=pv,disk=a.img", Path.of("/h")).disks().get(0)
        .busIn(DomainMode.PV)).isEqualTo(DiskSpec.Bus.XEN);
    assertThatThrownBy(() -> DomainSpec.parse("w=k.elf,mode=pv,disk=[a.img,bus=ide]", null))
        .hasMessage("w: a pv domain has no device model: its disks are PV disks (xvdX,"
            + " bus=xen), not IDE or virtio");
    DomainSpec v = DomainSpec.parse("v=k.elf,mode=hvm,disk=[a.img,bus=virtio]", Path.of("/h"));
    assertThat(v.disks().get(0).virtio()).isTrue();
    assertThat(v.disks().get(0).busIn(DomainMode.HVM_EPT)).isEqualTo(DiskSpec.Bus.VIRTIO);
    assertThatThrownBy(() -> DomainSpec.parse("w=k.elf,mode=pvh,disk=[a.img,bus=virtio]", null))
        .hasMessage("w: bus=virtio disks need an hvm mode (hvm, hvm-shadow)");
  }

  @Test
  void busAndXlsSpecificationSayHowTheGuestSeesTheDisk() {
    assertThat(DiskSpec.parse("a.img,bus=virtio", 0, null).bus())
        .isEqualTo(DiskSpec.Bus.VIRTIO);
    assertThat(DiskSpec.parse("format=raw,specification=virtio,target=a.img", 0, null).virtio())
        .isTrue();
    assertThat(DiskSpec.parse("a.img,bus=xen", 0, null).bus()).isEqualTo(DiskSpec.Bus.XEN);
    assertThat(DiskSpec.parse("a.img", 0, null).bus()).isNull();
    assertThatThrownBy(() -> DiskSpec.parse("a.img,bus=scsi", 0, null))
        .hasMessage("disk 'a.img,bus=scsi': bus must be ide, virtio or xen, got 'scsi'");
    assertThatThrownBy(() -> DiskSpec.parse("a.img,bus=virtio,backend=dd", 0, null))
        .hasMessageContaining("bus=virtio is served by the device model");
    assertThatThrownBy(() -> DiskSpec.parse("a.img,vdev=hda,bus=virtio", 0, null))
        .hasMessageContaining("vdev hda is an IDE disk; bus=virtio takes xvdX");
  }

  /**
   * A setting given twice is refused naming it, as DeviceSpec and DomainSpec refuse a repeated
   * key: it used to be taken silently, the later one winning (mode=ro,mode=rw gave a writable
   * disk). Aliases (mode/access, bus/specification) and a positional item count as the same
   * setting.
   */
  @Test
  void aSettingGivenTwiceIsRefusedNamingIt() {
    assertThatThrownBy(() -> DiskSpec.parse("a.img,mode=ro,mode=rw", 0, null))
        .hasMessage("disk 'a.img,mode=ro,mode=rw': mode given twice");
    assertThatThrownBy(() -> DiskSpec.parse("a.img,mode=ro,access=rw", 0, null))
        .hasMessage("disk 'a.img,mode=ro,access=rw': access given twice (mode=, then access=)");
    assertThatThrownBy(() -> DiskSpec.parse("a.img,format=raw,format=qcow2", 0, null))
        .hasMessage("disk 'a.img,format=raw,format=qcow2': format given twice");
    assertThatThrownBy(() -> DiskSpec.parse("a.img,raw,format=qcow2", 0, null))
        .hasMessage("disk 'a.img,raw,format=qcow2': format given twice (by position, then"
            + " format=)");
    assertThatThrownBy(() -> DiskSpec.parse("a.img,vdev=xvdb,vdev=xvdc", 0, null))
        .hasMessage("disk 'a.img,vdev=xvdb,vdev=xvdc': vdev given twice");
    assertThatThrownBy(() -> DiskSpec.parse("a.img,bus=xen,specification=virtio", 0, null))
        .hasMessageContaining("bus given twice (bus=, then specification=)");
    assertThatThrownBy(() -> DiskSpec.parse("a.img,backend=s1,backend=s2", 0, null))
        .hasMessageContaining("backend given twice");
    assertThatThrownBy(() -> DiskSpec.parse("a.img,target=b.img", 0, null))
        .hasMessage("disk 'a.img,target=b.img': target given twice (by position, then"
            + " target=)");
    assertThatThrownBy(() -> DiskSpec.parse("target=a.img,target=b.img", 0, null))
        .hasMessage("disk 'target=a.img,target=b.img': target given twice");
    // Not repeats: xl's positional items fill the settings not given by key, in order.
    assertThat(DiskSpec.parse("format=raw,a.img,xvdb", 0, null))
        .isEqualTo(new DiskSpec(Path.of("a.img"), "raw", false, "xvdb"));
  }

  /**
   * xl's target= takes the rest of the text, so a key after it is part of the path; the missing
   * image's line says why (it used to name only the odd path, 'a.img,format=raw').
   */
  @Test
  void aKeyAfterTargetIsPartOfThePathAndTheMissingImageSaysSo() {
    Path img = dir.resolve("a.img");
    assertThatThrownBy(() -> DiskSpec.parse("target=" + img + ",format=raw", 0, null).open())
        .hasMessage("disk image " + img + ",format=raw does not exist (target= takes the rest"
            + " of the text, commas included: give it last)");
    assertThatThrownBy(() -> DiskSpec.parse("target=" + img, 0, null).open())
        .hasMessage("disk image " + img + " does not exist");
  }

  @Test
  void theCliAndRunManyRefuseARepeatedKeyWithStatus2() throws IOException {
    Path kernel = Files.write(dir.resolve("k.elf"), new byte[] {0x7f, 'E', 'L', 'F'});
    Files.write(dir.resolve("a.img"), new byte[4096]);
    var err = new java.io.ByteArrayOutputStream();
    int rc = HospesCli.newCommandLine(new java.io.PrintStream(new java.io.ByteArrayOutputStream(),
        true), new java.io.PrintStream(err, true)).execute("run", "--mode", "pvh", "--disk",
        dir.resolve("a.img") + ",mode=ro,mode=rw", kernel.toString());
    assertThat(rc).isEqualTo(2);
    assertThat(err.toString()).isEqualTo("hospes: --disk: disk '" + dir.resolve("a.img")
        + ",mode=ro,mode=rw': mode given twice" + System.lineSeparator());
    assertThatThrownBy(() -> DomainSpec.parse("d=k.elf,mode=pvh,disk=[a.img,vdev=xvdb,"
        + "vdev=xvdc]", dir)).hasMessage("d: disk 'a.img,vdev=xvdb,vdev=xvdc': vdev given twice");
  }

  /**
   * backend= naming the guest itself ("guest" is run's domain name) is the user's error: one
   * line naming the disk, status 2. It used to escape as "hospes: internal error:
   * java.lang.IllegalArgumentException: backend=guest: ..." with status 1.
   */
  @Test
  void runRefusesABackendThatIsTheGuestItselfInOneLine() throws IOException {
    long paddr = 0x10_0000;
    Path kernel = Files.write(dir.resolve("pvh.elf"), new org.hospes.dom0.testing.ElfImageBuilder()
        .entry(paddr).segment(paddr, new byte[] {(byte) 0xF4}, 0x1000).pvhEntryNote(paddr)
        .build());
    Path img = Files.write(dir.resolve("a.img"), new byte[4096]);
    var c = new org.hospes.dom0.testing.CapturedCli();
    assertThat(c.run("run", "--mode", "pvh", "--disk", img + ",backend=guest",
        kernel.toString())).isEqualTo(2);
    assertThat(c.stderr()).isEqualTo("hospes: " + kernel + ": disk " + img + ": backend=guest:"
        + " guest is a guest, not a driver domain" + System.lineSeparator());
    assertThat(c.stdout()).isEmpty();
  }

  @Test
  void theCliNamesAMissingImageInOneLine() throws IOException {
    Path kernel = Files.write(dir.resolve("k.elf"), new byte[] {0x7f, 'E', 'L', 'F'});
    Path missing = dir.resolve("missing.img");
    var out = new java.io.ByteArrayOutputStream();
    var err = new java.io.ByteArrayOutputStream();
    int rc = HospesCli.newCommandLine(new java.io.PrintStream(out, true),
        new java.io.PrintStream(err, true)).execute("run", "--mode", "pvh", "--disk",
        missing.toString(), kernel.toString());
    assertThat(rc).isEqualTo(2);
    assertThat(err.toString()).isEqualTo("hospes: --disk: disk image " + missing
        + " does not exist" + System.lineSeparator());
  }

  @Test
  void xlsPositionalFormNamesAnIdeDisk() {
    DiskSpec d = DiskSpec.parse("file.img,raw,hda,rw", 0, Path.of("/h"));
    assertThat(d).isEqualTo(new DiskSpec(Path.of("/h/file.img"), "raw", false, "hda"));
    assertThat(d.busFor(false)).as("hdX asks for IDE even in pvh").isEqualTo(DiskSpec.Bus.IDE);
    assertThat(d.devid()).isEqualTo(768);
    assertThat(DiskSpec.parse("/d/g,,hdc", 0, null))
        .isEqualTo(new DiskSpec(Path.of("/d/g"), null, false, "hdc"));
    assertThat(DiskSpec.parse("/d/g,,hdd", 0, null).devid()).isEqualTo(22 << 8 | 64);
    assertThat(DiskSpec.parse("format=qcow2, g.img, xvdb", 0, null))
        .isEqualTo(new DiskSpec(Path.of("g.img"), "qcow2", false, "xvdb"));
    assertThat(DiskSpec.parse("a.img", 0, null).busFor(true)).isEqualTo(DiskSpec.Bus.IDE);
    assertThat(DiskSpec.parse("a.img", 0, null).busFor(false)).isEqualTo(DiskSpec.Bus.XEN);
    assertThat(DiskSpec.parse("a.img,bus=xen", 0, null).busFor(true))
        .isEqualTo(DiskSpec.Bus.XEN);
    assertThat(DiskSpec.parse("a.img,bus=ide", 0, null).busFor(false))
        .isEqualTo(DiskSpec.Bus.IDE);
  }
}
