package org.hospes.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.hospes.dom0.devicemodel.e1000.E1000;
import org.hospes.dom0.devicemodel.pci.PciFunction;
import org.hospes.dom0.toolstack.DomainSpec;
import org.hospes.dom0.toolstack.E1000Devices;
import org.hospes.dom0.toolstack.GuestDomain;
import org.hospes.dom0.toolstack.HostRunner;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * run-many's toolstack gives an hvm domain's {@code vif=} an emulated e1000 by default (xl's
 * {@code type=ioemu}), on the device model's PCI bus at 00:06.0 with its BARs programmed, and a
 * virtio-net beside it when asked; the card registers for the unplug protocol.
 */
class E1000RunManyTest {

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void anHvmDomainsVifIsAnE1000AtSlot6() throws Exception {
    Path spin = TestKernels.anyElf("spin");
    HostRunner host = HostRunner.create(96, new ByteArrayOutputStream());
    GuestDomain g = host.start(DomainSpec.parse("g=" + spin
        + ",mode=hvm,ram=8,vif=[net=nat,mac=00:16:3e:00:00:42],vif=[net=nat,model=virtio]",
        null));
    host.run(1_000_000);
    PciFunction f = g.deviceModel().pci().function(E1000Devices.FIRST_SLOT, 0);
    assertThat(f).isNotNull();
    assertThat(f.read(PciFunction.VENDOR_ID, 4)).isEqualTo(0x100E_8086);
    assertThat(f.barAddress(0)).isNotZero();
    assertThat(f.barAddress(1)).isNotZero();
    assertThat(g.deviceModel().pci().function(5, 0).read(PciFunction.VENDOR_ID, 4))
        .isEqualTo(0x1000_1AF4);
    assertThat(g.deviceModel().unplugs().plugged())
        .singleElement().isInstanceOf(E1000.class);
    E1000 nic = (E1000) g.deviceModel().unplugs().plugged().get(0);
    // The EEPROM carries the vif's MAC, low byte first.
    assertThat(nic.eeprom().word(0)).isEqualTo(0x1600);
    assertThat(nic.eeprom().word(2)).isEqualTo(0x4200);
    host.destroy("g", "test");
    host.run(1_000);
    host.finish();
  }
}
