package org.hospes.dom0.devicemodel;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.util.Random;
import org.hospes.dom0.devicemodel.e1000.E1000;
import org.hospes.dom0.devicemodel.ide.AtaDrive;
import org.hospes.dom0.devicemodel.ide.Piix3Ide;
import org.hospes.dom0.devicemodel.pci.PciHostBridge;
import org.hospes.dom0.devicemodel.virtio.VirtioBlk;
import org.hospes.dom0.devicemodel.virtio.VirtioNet;
import org.hospes.dom0.devicemodel.virtio.VirtioPciLegacy;
import org.hospes.dom0.disk.DiskImage;
import org.hospes.dom0.disk.MemoryDisk;
import org.hospes.hv.testing.TestProperties;
import org.hospes.hv.ioreq.Ioreq;
import org.junit.jupiter.api.Test;

/**
 * A whole HVM device model (16550, isa-debug-exit, fw_cfg, the i440FX and PIIX3 with its IDE,
 * Xen's platform device and unplug ports, virtio-blk, virtio-net with MSI-X, an e1000) under
 * 1,000,000 random ioreqs as a hostile guest can make them (the disks and the NIC are not
 * registered for unplugging, so that random writes to the unplug ports leave them in place): port I/O of every size anywhere
 * (mostly where devices are), PCI configuration writes that move BARs anywhere and toggle
 * decoding and bus mastering, MMIO into the BARs and outside them, with the guest's RAM full of
 * random bytes that the devices take for rings and tables. No exception may leave
 * {@link HvmDeviceModel#handle}, and no ioreq may take more than a bounded number of memory
 * accesses. The seed and the ioreq are printed on failure.
 */
class DeviceModelIoreqFuzzTest {
  private static final long SEED = TestProperties.longValue("hospes.dmfuzz.seed", 0x5EED_D0D0L);
  private static final int IOREQS = TestProperties.count("hospes.dmfuzz.ioreqs", 1_000_000);
  private static final int RAM = 1 << 20;

  /** A disk of random bytes in memory. */
  private static DiskImage disk(Random rnd, int bytes) {
    MemoryDisk disk = new MemoryDisk(bytes);
    rnd.nextBytes(disk.data());
    return disk;
  }

  @Test
  void randomIoreqsNeverThrowOutOfTheDeviceModel() {
    long t0 = System.nanoTime();
    Random rnd = new Random(SEED);
    FuzzDma dma = new FuzzDma(RAM);
    rnd.nextBytes(dma.ram);
    HvmDeviceModel model = new HvmDeviceModel(OutputStream.nullOutputStream(),
        PlatformInterrupts.NONE, (v, s) -> { }, RAM, 2);
    model.attachXenPlatform();
    Piix3Ide ide = new Piix3Ide(model, dma);
    ide.attach(model);
    ide.attachDisk(0, new AtaDrive(disk(rnd, 1 << 20), "D0", "fuzz"));
    ide.attachDisk(3, new AtaDrive(disk(rnd, 64 << 10), "D3", "fuzz"));
    VirtioPciLegacy blk = new VirtioPciLegacy("virtio-blk", new VirtioBlk(disk(rnd, 1 << 20),
        "vd"), dma);
    model.attachPci(4, blk.function());
    VirtioNet vnet = new VirtioNet("vnet", VirtioNet.mac("00:16:3e:00:00:09"));
    VirtioPciLegacy net = new VirtioPciLegacy("virtio-net", vnet, dma, (a, d) -> { });
    model.attachPci(5, net.function());
    E1000 e1000 = new E1000("e1000", new byte[] {0x52, 0x54, 0, 1, 2, 3}, dma);
    model.attachPci(6, e1000.function());
    firmware(model);
    int[] fixed = {0x1F0, 0x170, 0x3F6, 0x376, 0x3F8, 0x510, 0x10, 0xCF8, 0xCFC, 0xF4};
    Ioreq req = null;
    int i = 0;
    try {
      for (; i < IOREQS; i++) {
        dma.resetBudget();
        int size = new int[] {1, 2, 4}[rnd.nextInt(3)];
        boolean write = rnd.nextBoolean();
        // Small values too: queue numbers, page frames in RAM, start bits.
        long data = switch (rnd.nextInt(4)) {
          case 0 -> rnd.nextInt(4);
          case 1 -> rnd.nextInt(256);
          default -> rnd.nextInt() & 0xFFFF_FFFFL;
        };
        if (i % 2000 == 0) {
          firmware(model); // put the BARs back now and then, so that most accesses land
        }
        int k = rnd.nextInt(100);
        if (k < 3) {
          // A configuration write: BARs anywhere, decoding and mastering on or off.
          int dev = new int[] {0, 1, 3, 4, 5, 6, rnd.nextInt(32)}[rnd.nextInt(7)];
          int reg = rnd.nextBoolean() ? 0x10 + 4 * rnd.nextInt(6) : rnd.nextInt(256) & ~3;
          int value = reg == 0x04 ? rnd.nextInt(8) : rnd.nextInt(4) == 0 ? rnd.nextInt()
              : rnd.nextBoolean() ? IO_BASES[rnd.nextInt(4)] : (int) MEM_BASES[rnd.nextInt(3)];
          pciWrite(model, dev, dev == 1 ? 1 : 0, reg, value);
          continue;
        }
        long address;
        Ioreq.Type type;
        if (k < 70) {
          type = Ioreq.Type.PIO;
          address = k < 45 ? IO_BASES[rnd.nextInt(4)] + rnd.nextInt(64)
              : k < 65 ? fixed[rnd.nextInt(fixed.length)] + rnd.nextInt(8) : rnd.nextInt(0x10000);
        } else {
          type = Ioreq.Type.MMIO;
          address = k < 95 ? MEM_BASES[rnd.nextInt(3)] + rnd.nextInt(0x20000)
              : rnd.nextLong() & 0xFFFF_FFFFL;
        }
        req = new Ioreq(type, address, size, write, data);
        if (model.claimsPort((int) address) || type == Ioreq.Type.MMIO) {
          model.handle(1, req);
        }
      }
    } catch (AssertionError | RuntimeException e) {
      throw new AssertionError("DeviceModelIoreqFuzzTest seed 0x" + Long.toHexString(SEED)
          + ", ioreq " + i + " " + req + ": " + e, e);
    }
    assertThat(model.requests()).isGreaterThan(IOREQS / 2);
    assertThat(dma.accesses).as("DMA the devices tried").isPositive();
    System.out.printf("device model ioreq fuzz: %d ioreqs in %.1f s, %d DMA accesses (%d refused),"
        + " %d virtio notifications, e1000 %s, IDE %s%n", IOREQS, (System.nanoTime() - t0) / 1e9,
        dma.accesses, dma.refused, blk.notifications() + net.notifications(), e1000.stats(),
        ide.stats());
  }

  private static final int[] IO_BASES = {0xC000, 0xC040, 0xC080, 0xC0C0};
  private static final long[] MEM_BASES = {0xF000_0000L, 0xF002_0000L, 0xF004_0000L};

  /** What firmware leaves: the BARs at their places, decoding and bus mastering on. */
  private static void firmware(HvmDeviceModel model) {
    pciWrite(model, 1, 1, 0x20, IO_BASES[0]);
    pciWrite(model, 4, 0, 0x10, IO_BASES[1]);
    pciWrite(model, 5, 0, 0x10, IO_BASES[2]);
    pciWrite(model, 5, 0, 0x14, (int) MEM_BASES[2]);
    pciWrite(model, 6, 0, 0x10, (int) MEM_BASES[0]);
    pciWrite(model, 6, 0, 0x14, IO_BASES[3]);
    for (int dev : new int[] {4, 5, 6}) {
      pciWrite(model, dev, 0, 0x04, 7);
    }
    pciWrite(model, 1, 1, 0x04, 7);
  }

  /** A configuration write through 0xCF8/0xCFC, as the guest makes it. */
  private static void pciWrite(HvmDeviceModel model, int dev, int fn, int reg, int value) {
    int address = 0x8000_0000 | dev << 11 | fn << 8 | reg & 0xFC;
    model.handle(1, new Ioreq(Ioreq.Type.PIO, PciHostBridge.CONFIG_ADDRESS, 4, true,
        address & 0xFFFF_FFFFL));
    model.handle(1, new Ioreq(Ioreq.Type.PIO, PciHostBridge.CONFIG_DATA, 4, true,
        value & 0xFFFF_FFFFL));
  }
}
