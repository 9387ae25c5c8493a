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
}
