package org.hospes.dom0.devicemodel.xen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.hospes.dom0.devicemodel.Unpluggable.Kind;
import org.junit.jupiter.api.Test;

/** The unplug protocol of docs/misc/hvm-emulated-unplug, driven as Linux and hostile guests do. */
class UnplugPortsTest {
  private final List<String> log = new ArrayList<>();
  private final Unplugs unplugs = new Unplugs(log::add);
  private final FakeDevice hda = new FakeDevice(Kind.IDE_DISK, true);
  private final FakeDevice hdb = new FakeDevice(Kind.IDE_DISK, false);
  private final FakeDevice nic = new FakeDevice(Kind.NIC, false);
  private final FakeDevice nvme = new FakeDevice(Kind.NVME_DISK, false);

  UnplugPortsTest() {
    for (FakeDevice d : new FakeDevice[] {hda, hdb, nic, nvme}) {
      unplugs.register(d);
    }
  }

  @Test
  void linuxsSequenceUnplugsDisksAndNics() {
    UnplugPorts p = new UnplugPorts(unplugs, UnplugPorts.Blacklist.NONE, log::add);
    // Linux's check_platform_magic, then xen_unplug_emulated_devices.
    assertThat(p.in(0x10, 2)).isEqualTo(0x49D2);
    assertThat(p.in(0x12, 1)).isEqualTo(1);
    p.out(0x12, 2, 3);
    p.out(0x10, 4, 1);
    assertThat(p.in(0x10, 2)).isEqualTo(0x49D2);
    p.out(0x10, 2, Unplugs.ALL_IDE_DISKS | Unplugs.ALL_NICS);
    assertThat(p.product()).isEqualTo(3);
    assertThat(p.build()).isEqualTo(1);
    assertThat(hda.unplugs + hdb.unplugs + nic.unplugs).isEqualTo(3);
    assertThat(nvme.unplugs).isZero();
    assertThat(unplugs.unplugged()).containsExactly(hda, hdb, nic);
    assertThat(unplugs.plugged()).containsExactly(nvme);
    assertThat(log).containsExactly("PV driver linux (product 3) build 1",
        "guest unplug request 0x0003 (IDE disks, NICs): " + hda.unplugName() + ", "
            + hdb.unplugName() + ", " + nic.unplugName());
    // A device goes once: a second request finds nothing more.
    p.out(0x10, 2, 0xFFFF);
    assertThat(hda.unplugs).isEqualTo(1);
    assertThat(nvme.unplugs).isEqualTo(1);
    assertThat(unplugs.requests()).isEqualTo(2);
    assertThat(unplugs.undefinedBitRequests()).isEqualTo(1);
  }

  @Test
  void bitTwoKeepsThePrimaryMasterAndBitZeroOverridesIt() {
    unplugs.apply(Unplugs.AUX_IDE_DISKS);
    assertThat(hda.unplugs).isZero();
    assertThat(hdb.unplugs).isEqualTo(1);
    assertThat(nic.unplugs).isZero();
    unplugs.apply(Unplugs.AUX_IDE_DISKS | Unplugs.ALL_IDE_DISKS);
    assertThat(hda.unplugs).isEqualTo(1);
    unplugs.apply(Unplugs.ALL_NVME_DISKS);
    assertThat(nvme.unplugs).isEqualTo(1);
    assertThat(Unplugs.describe(0x0014)).isEqualTo("auxiliary IDE disks, undefined bits 0x0010");
  }

  @Test
  void aBlacklistedDriverReadsTheSwappedMagicAndCannotUnplug() {
    UnplugPorts p = new UnplugPorts(unplugs, (product, build) -> product == 3 && build < 2,
        log::add);
    p.out(0x12, 2, 3);
    p.out(0x10, 4, 1);
    assertThat(p.blacklisted()).isTrue();
    assertThat(p.in(0x10, 2)).isEqualTo(0xD249);
    p.out(0x10, 2, 3);
    assertThat(hda.unplugs + nic.unplugs).isZero();
    assertThat(p.refusedUnplugs()).isEqualTo(1);
    // A newer build is welcome again.
    p.out(0x10, 4, 2);
    assertThat(p.in(0x10, 2)).isEqualTo(0x49D2);
  }

  @Test
  void logMessagesAreLinesCutAndLimited() {
    UnplugPorts p = new UnplugPorts(unplugs, UnplugPorts.Blacklist.NONE, log::add);
    for (byte b : "hello\u0007 dom0\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1)) {
      p.out(0x12, 1, b);
    }
    assertThat(log).containsExactly("guest PV driver: hello? dom0");
    log.clear();
    for (int i = 0; i < UnplugPorts.MAX_LINE * (UnplugPorts.MAX_LOG_LINES + 10); i++) {
      p.out(0x12, 1, 'x');
    }
    assertThat(log).hasSize(UnplugPorts.MAX_LOG_LINES - 1); // one went on "hello"
    assertThat(log.get(0)).hasSize("guest PV driver: ".length() + UnplugPorts.MAX_LINE);
    assertThat(p.droppedLogLines()).isEqualTo(10);
  }

  @Test
  void hostileAccessesNeverThrowAndUnknownOnesReadAllOnes() {
    long seed = 0x49D2;
    Random r = new Random(seed);
    UnplugPorts p = new UnplugPorts(unplugs, UnplugPorts.Blacklist.NONE, l -> { });
    for (int i = 0; i < 100_000; i++) {
      int size = 1 << r.nextInt(3);
      int port = UnplugPorts.BASE + r.nextInt(UnplugPorts.PORT_COUNT);
      if (r.nextBoolean()) {
        p.out(port, size, r.nextInt());
      } else {
        int v = p.in(port, size);
        boolean defined = port == 0x10 && size == 2 || port == 0x12 && size == 1;
        if (!defined) {
          assertThat(v).as("seed %d port 0x%x size %d", seed, port, size)
              .isEqualTo(size == 4 ? -1 : (1 << 8 * size) - 1);
        }
      }
    }
    assertThat(p.ignoredAccesses()).as("seed %d", seed).isPositive();
    assertThat(unplugs.unplugged().size() + unplugs.plugged().size()).isEqualTo(4);
  }

  @Test
  void aDeviceRegistersOnce() {
    assertThatThrownBy(() -> unplugs.register(nic)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("registered already");
  }
}
