package org.hospes.dom0.devicemodel.virtio;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.hospes.dom0.devicemodel.ArrayGuestDma;
import org.hospes.dom0.devicemodel.pci.PciFunction;
import org.hospes.dom0.devicemodel.pci.PciMsix;
import org.hospes.dom0.devicemodel.virtio.TestDriver.Seg;
import org.hospes.dom0.disk.MemoryDisk;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A legacy virtio PCI device with MSI-X, driven as Linux's virtio_pci_legacy drives it
 * (vp_find_vqs_msix): enable MSI-X, map the configuration vector and each queue's vector
 * through the two 16-bit registers that then sit at 0x14 and 0x16 (the device configuration
 * moves to 0x18), and take used-buffer interrupts as messages instead of INTA#.
 */
class VirtioMsixTest {
  private static final long HDR = 0x30000;
  private final ArrayGuestDma mem = new ArrayGuestDma(1 << 20);
  private final List<long[]> sent = new ArrayList<>();
  private VirtioPciLegacy dev;

  @BeforeEach
  void setUp() {
    dev = new VirtioPciLegacy("virtio-blk test", new VirtioBlk(new MemoryDisk(1 << 16),
        "d0"), mem, (address, data) -> sent.add(new long[] {address, data}));
  }

  private void enableMsix() {
    PciFunction f = dev.function();
    f.write(PciFunction.COMMAND, 2, PciFunction.COMMAND_IO | PciFunction.COMMAND_MEMORY
        | PciFunction.COMMAND_MASTER);
    f.write(VirtioPciLegacy.MSIX_CAP + PciMsix.CONTROL, 2, PciMsix.CONTROL_ENABLE);
    PciMsix msix = dev.msix();
    for (int v = 0; v < msix.vectors(); v++) {
      msix.write(v * 16L, 4, 0xFEE0_0000 | v << 12);
      msix.write(v * 16L + 8, 4, 0x40 + v);
      msix.write(v * 16L + 12, 4, 0);
    }
  }

  private void flush(LegacyDriver drv, Random rnd) {
    mem.put32(HDR, VirtioBlk.T_FLUSH);
    mem.put32(HDR + 4, 0);
    mem.put64(HDR + 8, 0);
    drv.queues[0].add(new Seg[] {new Seg(HDR, 16, false), new Seg(HDR + 16, 1, true)}, rnd);
    drv.kick(0);
    assertThat(drv.queues[0].takeUsed()).hasSize(1);
  }

  @Test
  void aBlockDeviceHasOneVectorPerQueueAndOneForConfiguration() {
    assertThat(dev.msix().vectors()).isEqualTo(2);
    PciFunction f = dev.function();
    assertThat(f.read(PciFunction.CAPABILITIES_POINTER, 1)).isEqualTo(VirtioPciLegacy.MSIX_CAP);
    assertThat(f.read(VirtioPciLegacy.MSIX_CAP, 1)).isEqualTo(PciMsix.CAP_ID);
    assertThat(f.read(VirtioPciLegacy.MSIX_CAP + PciMsix.CONTROL, 2)).isEqualTo(1);
    assertThat(f.barSize(1)).isEqualTo(4096);
    // The legacy header with the vectors, then all of virtio-blk's configuration.
    assertThat(f.barSize(0)).isGreaterThanOrEqualTo(VirtioPciLegacy.CONFIG_MSIX
        + dev.device().configSize());
  }

  @Test
  void withMsixEnabledTheConfigurationMovesAndUsedBuffersSendTheQueuesVector() {
    // Disabled: capacity (128 sectors) at 0x14.
    assertThat(dev.in(VirtioPciLegacy.CONFIG, 4)).isEqualTo(128);
    enableMsix();
    assertThat(dev.in(VirtioPciLegacy.CONFIG_MSIX, 4)).isEqualTo(128);
    assertThat(dev.in(VirtioPciLegacy.CONFIG_VECTOR, 2)).isEqualTo(VirtioPciLegacy.NO_VECTOR);
    LegacyDriver drv = new LegacyDriver(dev, mem, -1, 0x20000);
    dev.out(VirtioPciLegacy.CONFIG_VECTOR, 2, 0);
    dev.out(VirtioPciLegacy.QUEUE_SELECT, 2, 0);
    dev.out(VirtioPciLegacy.QUEUE_VECTOR, 2, 1);
    assertThat(dev.in(VirtioPciLegacy.CONFIG_VECTOR, 2)).isZero();
    assertThat(dev.in(VirtioPciLegacy.QUEUE_VECTOR, 2)).isEqualTo(1);
    flush(drv, new Random(1));
    assertThat(sent).containsExactly(new long[] {0xFEE0_1000L, 0x41});
    assertThat(dev.function().irqLevel()).as("no INTx while MSI-X is on").isFalse();
    assertThat(dev.isr()).isZero();
    // A vector the table does not have reads back as NO_VECTOR; unmapped, nothing is sent.
    dev.out(VirtioPciLegacy.QUEUE_VECTOR, 2, 2);
    assertThat(dev.in(VirtioPciLegacy.QUEUE_VECTOR, 2)).isEqualTo(VirtioPciLegacy.NO_VECTOR);
    flush(drv, new Random(2));
    assertThat(sent).hasSize(1);
    assertThat(dev.interrupts()).isEqualTo(2);
  }

  @Test
  void aResetUnmapsTheVectorsAndWithMsixOffIntxWorksAgain() {
    enableMsix();
    LegacyDriver drv = new LegacyDriver(dev, mem, -1, 0x20000);
    dev.out(VirtioPciLegacy.QUEUE_VECTOR, 2, 1);
    dev.out(VirtioPciLegacy.DEVICE_STATUS, 1, 0);
    assertThat(dev.in(VirtioPciLegacy.QUEUE_VECTOR, 2)).isEqualTo(VirtioPciLegacy.NO_VECTOR);
    dev.function().write(VirtioPciLegacy.MSIX_CAP + PciMsix.CONTROL, 2, 0);
    drv = new LegacyDriver(dev, mem, -1, 0x20000);
    flush(drv, new Random(3));
    assertThat(sent).isEmpty();
    assertThat(dev.function().irqLevel()).isTrue();
    assertThat(dev.in(VirtioPciLegacy.ISR_STATUS, 1)).isEqualTo(VirtioPciLegacy.ISR_QUEUE);
  }
}
