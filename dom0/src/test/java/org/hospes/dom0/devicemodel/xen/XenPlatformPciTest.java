package org.hospes.dom0.devicemodel.xen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.util.Random;
import org.hospes.dom0.devicemodel.HvmDeviceModel;
import org.hospes.dom0.devicemodel.pci.PciFunction;
import org.hospes.dom0.devicemodel.pci.PciHostBridge;
import org.hospes.hv.ioreq.Ioreq;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Xen's platform device as a guest finds it: configuration space through mechanism #1 at
 * 00:03.0, BAR sizing, firmware's assignment, and BAR0's older unplug requests.
 */
class XenPlatformPciTest {
  private HvmDeviceModel dm;
  private XenPlatformPci platform;

  @BeforeEach
  void machine() {
    dm = new HvmDeviceModel(new ByteArrayOutputStream(),
        org.hospes.dom0.devicemodel.PlatformInterrupts.NONE, (value, status) -> { }, 64 << 20);
    platform = dm.attachXenPlatform();
  }

  private int config(int register, int size) {
    out(PciHostBridge.CONFIG_ADDRESS, 4, PciHostBridge.ENABLE | XenPlatformPci.SLOT << 11
        | register & 0xFC);
    return in(PciHostBridge.CONFIG_DATA + (register & 3), size);
  }

  private void configWrite(int register, int size, int value) {
    out(PciHostBridge.CONFIG_ADDRESS, 4, PciHostBridge.ENABLE | XenPlatformPci.SLOT << 11
        | register & 0xFC);
    out(PciHostBridge.CONFIG_DATA + (register & 3), size, value);
  }

  private int in(int port, int size) {
    return (int) dm.handle(1, new Ioreq(Ioreq.Type.PIO, port, size, false, 0));
  }

  private void out(int port, int size, int value) {
    dm.handle(1, new Ioreq(Ioreq.Type.PIO, port, size, true, value & 0xFFFF_FFFFL));
  }

  @Test
  void configSpaceIdentifiesXensPlatformDeviceAt0003() {
    assertThat(config(PciFunction.VENDOR_ID, 2)).isEqualTo(0x5853);
    assertThat(config(PciFunction.DEVICE_ID, 2)).isEqualTo(0x0001);
    assertThat(config(PciFunction.REVISION_ID, 1)).isEqualTo(1);
    // Class 0xFF, subclass 0x80, interface 0: what lspci shows as "Unassigned class [ff80]".
    assertThat(config(PciFunction.REVISION_ID, 4) >>> 8).isEqualTo(0xFF8000);
    assertThat(config(PciFunction.HEADER_TYPE, 1)).isZero();
    assertThat(config(PciFunction.SUBSYSTEM_VENDOR_ID, 4)).isEqualTo(0x0001_5853);
    assertThat(config(PciFunction.INTERRUPT_PIN, 1)).isEqualTo(1);
    // Read-only identity: writes change nothing.
    configWrite(PciFunction.VENDOR_ID, 4, 0x1234_5678);
    configWrite(PciFunction.REVISION_ID, 4, -1);
    configWrite(PciFunction.INTERRUPT_PIN, 1, 4);
    assertThat(config(PciFunction.VENDOR_ID, 4)).isEqualTo(0x0001_5853);
    assertThat(config(PciFunction.REVISION_ID, 4)).isEqualTo(0xFF80_0001);
    assertThat(config(PciFunction.INTERRUPT_PIN, 1)).isEqualTo(1);
  }

  @Test
  void barsSizeAsTheSpecificationSays() {
    configWrite(PciFunction.BAR0, 4, -1);
    configWrite(PciFunction.BAR0 + 4, 4, -1);
    // 256 bytes of I/O; 16 MiB of 32-bit prefetchable memory.
    assertThat(config(PciFunction.BAR0, 4)).isEqualTo(0xFFFF_FF01);
    assertThat(config(PciFunction.BAR0 + 4, 4)).isEqualTo(0xFF00_0008);
    for (int bar = 2; bar < 6; bar++) {
      configWrite(PciFunction.BAR0 + 4 * bar, 4, -1);
      assertThat(config(PciFunction.BAR0 + 4 * bar, 4)).as("BAR%d", bar).isZero();
    }
  }

  @Test
  void firmwareMapsBothBarsAndRoutesIntaToIrq11AndTheGuestReachesBar0() {
    dm.firmwareSetup(new org.hospes.x86.IoBus());
    assertThat(config(PciFunction.BAR0, 4)).isEqualTo(0xC001);
    assertThat(config(PciFunction.BAR0 + 4, 4)).isEqualTo(0xF000_0008);
    assertThat(platform.grantSpaceBase()).isEqualTo(0xF000_0000L);
    // Slot 3, INTA#: link (3 + 0) & 3 = PIRQD#, IRQ 11.
    assertThat(config(PciFunction.INTERRUPT_LINE, 1)).isEqualTo(11);
    assertThat(config(PciFunction.COMMAND, 2) & 3).isEqualTo(3);
    // BAR0's platform flags through an ioreq at the address firmware gave it.
    assertThat(dm.claimsPort(0xC000)).isTrue();
    out(0xC000, 1, 0x33);
    assertThat(in(0xC000, 1)).isEqualTo(0x33);
    // BAR1 decodes, reading nothing.
    assertThat(dm.claimsMmio(0xF000_1000L)).isTrue();
    assertThat(dm.handle(1, new Ioreq(Ioreq.Type.MMIO, 0xF000_1000L, 4, false, 0)))
        .isEqualTo(0xFFFF_FFFFL);
    // With I/O decoding off, BAR0 is gone from the bus.
    configWrite(PciFunction.COMMAND, 2, 0);
    assertThat(dm.claimsPort(0xC000)).isFalse();
  }

  @Test
  void oldSuseAndVmdpUnplugRequestsGoThroughBar0() {
    FakeDevice disk = new FakeDevice(org.hospes.dom0.devicemodel.Unpluggable.Kind.IDE_DISK,
        true);
    FakeDevice nic = new FakeDevice(org.hospes.dom0.devicemodel.Unpluggable.Kind.NIC, false);
    dm.registerUnpluggable(disk);
    dm.registerUnpluggable(nic);
    var bar0 = platform.ioBar();
    bar0.out(XenPlatformPci.VMDP_UNPLUG_OFFSET, 1, 2);
    assertThat(nic.unplugs).isEqualTo(1);
    assertThat(disk.unplugs).isZero();
    bar0.out(XenPlatformPci.SUSE_UNPLUG_OFFSET, 1, 1);
    assertThat(disk.unplugs).isEqualTo(1);
    assertThat(nic.unplugs).isEqualTo(1);
    bar0.out(XenPlatformPci.FLAGS_OFFSET, 1, 0x5A);
    assertThat(bar0.in(XenPlatformPci.FLAGS_OFFSET, 1)).isEqualTo(0x5A);
    assertThat(bar0.in(0x40, 4)).isEqualTo(-1);
    assertThat(platform.ignoredAccesses()).isEqualTo(1);
  }

  @Test
  void hostileBar0AndConfigAccessesNeverThrowNorUnplugBeyondTheMask() {
    long seed = 13;
    Random r = new Random(seed);
    FakeDevice nvme = new FakeDevice(org.hospes.dom0.devicemodel.Unpluggable.Kind.NVME_DISK,
        false);
    dm.registerUnpluggable(nvme);
    var bar0 = platform.ioBar();
    for (int i = 0; i < 50_000; i++) {
      int size = 1 << r.nextInt(3);
      int offset = r.nextInt(256) & -size;
      if (r.nextBoolean()) {
        bar0.out(offset, size, r.nextInt());
      } else {
        int v = bar0.in(offset, size);
        if (size < 4) {
          assertThat(v >>> (8 * size)).as("seed %d", seed).isZero();
        }
      }
      configWrite(r.nextInt(256) & -size, size, r.nextInt());
    }
    // No BAR0 request names NVMe disks.
    assertThat(nvme.unplugs).as("seed %d", seed).isZero();
    assertThat(config(PciFunction.VENDOR_ID, 4)).isEqualTo(0x0001_5853);
  }

  @Test
  void theDeviceIsAttachedOnce() {
    assertThatThrownBy(dm::attachXenPlatform).isInstanceOf(IllegalStateException.class);
  }
}
