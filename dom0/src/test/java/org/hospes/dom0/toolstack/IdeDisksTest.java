package org.hospes.dom0.toolstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.hospes.dom0.devicemodel.ide.Piix3Ide;
import org.hospes.dom0.disk.DiskImage;
import org.hospes.hv.domain.DomainMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where the toolstack puts a domain's IDE disks, and what it refuses. */
class IdeDisksTest {
  @TempDir
  Path dir;

  private int images;

  /** Each disk on its own new image (an image open for writing is locked). */
  private Map<DiskSpec, DiskImage> disks(String... specs) throws Exception {
    Map<DiskSpec, DiskImage> m = new LinkedHashMap<>();
    for (int i = 0; i < specs.length; i++) {
      Path img = dir.resolve("d" + images++ + ".img");
      Files.write(img, new byte[64 * 512]);
      DiskSpec s = DiskSpec.parse(specs[i].replace("IMG", img.toString()), i, null);
      m.put(s, s.open());
    }
    return m;
  }

  private HvmMachine machine(DomainMode mode) {
    return HvmMachine.create(mode, 16, OutputStream.nullOutputStream(),
        new PrintStream(OutputStream.nullOutputStream()));
  }

  @Test
  void disksFillPrimaryMasterSlaveThenSecondaryUnlessTheVdevSaysWhere() throws Exception {
    HvmMachine m = machine(DomainMode.HVM_EPT);
    Piix3Ide ide = HvmMachine.attachIdeDisks(m.hypervisor(), m.deviceModel(), m.domain(),
        disks("IMG,vdev=hdc", "IMG", "IMG,bus=xen", "IMG"));
    assertThat(ide.channel(1).drive(0)).isNotNull();
    assertThat(ide.channel(0).drive(0)).isNotNull();
    assertThat(ide.channel(0).drive(1)).isNotNull();
    assertThat(ide.channel(1).drive(1)).as("the bus=xen disk is no IDE disk").isNull();
    assertThat(m.deviceModel().pci().function(1, 1)).isSameAs(ide.function());
  }

  @Test
  void aFifthIdeDiskIsRefused() throws Exception {
    HvmMachine m = machine(DomainMode.HVM_SHADOW);
    assertThatThrownBy(() -> HvmMachine.attachIdeDisks(m.hypervisor(), m.deviceModel(),
        m.domain(), disks("IMG", "IMG", "IMG", "IMG", "IMG")))
        .hasMessageContaining("at most 4 IDE disks (hda..hdd)");
  }

  @Test
  void pvhHasNoIdeBus() throws Exception {
    HvmMachine m = machine(DomainMode.PVH);
    assertThat(HvmMachine.attachIdeDisks(m.hypervisor(), m.deviceModel(), m.domain(),
        disks("IMG"))).as("pvh's default is a vbd").isNull();
    assertThatThrownBy(() -> HvmMachine.attachIdeDisks(m.hypervisor(), m.deviceModel(),
        m.domain(), disks("IMG,bus=ide")))
        .hasMessageContaining("bus=ide is an emulated disk of the device model; pvh has none");
  }

  @Test
  void pvhvmOffersItsVbdsAsIdeDisksTooAndTheGuestUnplugsThem() throws Exception {
    HvmMachine m = machine(DomainMode.PVHVM);
    Map<DiskSpec, DiskImage> d = disks("IMG", "IMG,vdev=xvdc", "IMG,vdev=xvde", "IMG,bus=xen");
    assertThat(d.keySet()).allMatch(s -> s.busIn(DomainMode.PVHVM) == DiskSpec.Bus.XEN);
    Piix3Ide ide = HvmMachine.attachIdeDisks(m.hypervisor(), m.deviceModel(), m.domain(), d);
    // xvda -> hda, xvdc -> hdc, xvdd (the fourth, bus=xen given) -> hdd; xvde is past hdd.
    assertThat(ide.channel(0).drive(0)).isNotNull();
    assertThat(ide.channel(0).drive(1)).isNull();
    assertThat(ide.channel(1).drive(0)).isNotNull();
    assertThat(ide.channel(1).drive(1)).isNotNull();
    var unplugs = m.deviceModel().unplugs();
    assertThat(unplugs.plugged()).extracting(u -> u.unplugName())
        .containsExactly("IDE disk hda", "IDE disk hdc", "IDE disk hdd");

    // The guest's unplug, through the platform device's port as Linux writes it: bit 2 (all
    // IDE disks but the primary master) first, then bit 0.
    org.hospes.dom0.devicemodel.HvmDeviceModel dm = m.deviceModel();
    dm.handle(m.domain().domid(), new org.hospes.hv.ioreq.Ioreq(
        org.hospes.hv.ioreq.Ioreq.Type.PIO, 0x10, 2, true, 0x4));
    assertThat(ide.channel(0).drive(0)).as("bit 2 keeps the primary master").isNotNull();
    assertThat(ide.channel(1).drive(0)).isNull();
    assertThat(ide.channel(1).drive(1)).isNull();
    dm.handle(m.domain().domid(), new org.hospes.hv.ioreq.Ioreq(
        org.hospes.hv.ioreq.Ioreq.Type.PIO, 0x10, 2, true, 0x1));
    assertThat(ide.channel(0).drive(0)).isNull();
    assertThat(unplugs.unplugged()).extracting(u -> u.unplugName())
        .containsExactly("IDE disk hdc", "IDE disk hdd", "IDE disk hda");
    assertThat(unplugs.plugged()).isEmpty();
    // The unplugged channel floats: its status register reads as no drive's.
    assertThat(dm.handle(m.domain().domid(), new org.hospes.hv.ioreq.Ioreq(
        org.hospes.hv.ioreq.Ioreq.Type.PIO, 0x1F7, 1, false, 0)) & 0xFF)
        .isNotEqualTo(0x50);
  }

  @Test
  void pvhvmHonoursBusIdeAsAnEmulatedDiskOnly() throws Exception {
    HvmMachine m = machine(DomainMode.PVHVM);
    Map<DiskSpec, DiskImage> d = disks("IMG,bus=ide", "IMG,vdev=hda");
    assertThat(d.keySet()).extracting(s -> s.busIn(DomainMode.PVHVM))
        .containsExactly(DiskSpec.Bus.IDE, DiskSpec.Bus.XEN);
    Piix3Ide ide = HvmMachine.attachIdeDisks(m.hypervisor(), m.deviceModel(), m.domain(), d);
    // The bus=ide disk took hda first, so the vbd hda has no emulated copy.
    assertThat(ide.channel(0).drive(0)).isNotNull();
    assertThat(ide.channel(0).drive(1)).isNull();
    assertThat(m.deviceModel().unplugs().plugged()).hasSize(1);
  }

  @Test
  void hvmIdeDisksAreUnpluggableButNobodyCanWithoutThePlatformDevice() throws Exception {
    HvmMachine m = machine(DomainMode.HVM_EPT);
    Piix3Ide ide = HvmMachine.attachIdeDisks(m.hypervisor(), m.deviceModel(), m.domain(),
        disks("IMG"));
    assertThat(m.deviceModel().unplugs().plugged()).hasSize(1);
    assertThat(m.deviceModel().unplugPorts()).isNull();
    assertThat(m.deviceModel().claimsPort(0x10)).isFalse();
    assertThat(ide.channel(0).drive(0)).isNotNull();
  }
}
