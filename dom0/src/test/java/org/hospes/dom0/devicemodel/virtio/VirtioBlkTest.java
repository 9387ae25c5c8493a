package org.hospes.dom0.devicemodel.virtio;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Random;
import org.hospes.dom0.devicemodel.ArrayGuestDma;
import org.hospes.dom0.devicemodel.pci.PciFunction;
import org.hospes.dom0.devicemodel.virtio.TestDriver.Seg;
import org.hospes.dom0.disk.MemoryDisk;
import org.junit.jupiter.api.Test;

class VirtioBlkTest {
  private static final long SEED = 0xB1C_0013L;
  private static final int RAM = 1 << 20;
  private static final long INDIRECT = 0x20000;
  private static final long HDR = 0x30000;
  private static final long DATA = 0x40000;
  private static final int ALL = -1;

  private final ArrayGuestDma mem = new ArrayGuestDma(RAM);

  private VirtioPciLegacy device(MemoryDisk disk) {
    return new VirtioPciLegacy("virtio-blk test", new VirtioBlk(disk, "hospes-disk-0"), mem);
  }

  private long header(long at, int type, long sector) {
    mem.put32(at, type);
    mem.put32(at + 4, 0);
    mem.put64(at + 8, sector);
    return at;
  }

  @Test
  void itIsATransitionalBlockDeviceWithItsCapacityAndLimitsInTheLegacyConfig() {
    VirtioPciLegacy dev = device(new MemoryDisk(8 << 20));
    PciFunction f = dev.function();
    assertThat(f.read(PciFunction.VENDOR_ID, 2)).isEqualTo(0x1AF4);
    assertThat(f.read(PciFunction.DEVICE_ID, 2)).isEqualTo(0x1001);
    assertThat(f.read(PciFunction.REVISION_ID, 1)).isZero(); // legacy ABI version 0
    assertThat(f.read(PciFunction.SUBSYSTEM_VENDOR_ID, 2)).isEqualTo(0x1AF4);
    assertThat(f.read(0x2E, 2)).isEqualTo(2);
    assertThat(f.read(PciFunction.INTERRUPT_PIN, 1)).isEqualTo(1);
    assertThat(f.barIsIo(0)).isTrue();
    assertThat(f.barSize(0)).isEqualTo(64);
    int features = dev.in(VirtioPciLegacy.DEVICE_FEATURES, 4);
    assertThat(features).isEqualTo(1 << 1 | 1 << 2 | 1 << 6 | 1 << 9 | 1 << 28);
    long capacity = 0;
    for (int i = 0; i < 8; i++) {
      capacity |= (long) dev.in(VirtioPciLegacy.CONFIG + i, 1) << (8 * i);
    }
    assertThat(capacity).isEqualTo(16384);
    assertThat(dev.in(VirtioPciLegacy.CONFIG + 8, 4)).isEqualTo(65536);
    assertThat(dev.in(VirtioPciLegacy.CONFIG + 12, 4)).isEqualTo(126);
    assertThat(dev.in(VirtioPciLegacy.CONFIG + 20, 4)).isEqualTo(512);
    dev.out(VirtioPciLegacy.QUEUE_SELECT, 2, 0);
    assertThat(dev.in(VirtioPciLegacy.QUEUE_SIZE, 2)).isEqualTo(128);
    dev.out(VirtioPciLegacy.QUEUE_SELECT, 2, 1);
    assertThat(dev.in(VirtioPciLegacy.QUEUE_SIZE, 2)).isZero();
    assertThat(device(new MemoryDisk(4096, true)).in(VirtioPciLegacy.DEVICE_FEATURES, 4) & 1 << 5)
        .isNotZero();
  }

  @Test
  void randomReadsAndWritesInRandomSegmentsMatchAModelDisk() {
    Random rnd = new Random(SEED);
    MemoryDisk disk = new MemoryDisk(1 << 20);
    byte[] model = new byte[1 << 20];
    VirtioPciLegacy dev = device(disk);
    LegacyDriver drv = new LegacyDriver(dev, mem, ALL, INDIRECT);
    TestDriver q = drv.queues[0];
    for (int round = 0; round < 1500; round++) {
      q.resetIndirectArea(INDIRECT);
      boolean write = rnd.nextBoolean();
      int sectors = 1 + rnd.nextInt(64);
      long sector = rnd.nextInt((1 << 20) / 512 - sectors + 1);
      int bytes = sectors * 512;
      // The data split at random byte boundaries into 1-8 segments.
      int parts = 1 + rnd.nextInt(8);
      int[] cut = rnd.ints(parts - 1, 1, bytes).sorted().distinct().toArray();
      Seg[] segs = new Seg[cut.length + 3];
      segs[0] = new Seg(header(HDR, write ? VirtioBlk.T_OUT : VirtioBlk.T_IN, sector), 16,
          false);
      int prev = 0;
      for (int i = 0; i <= cut.length; i++) {
        int end = i < cut.length ? cut[i] : bytes;
        segs[1 + i] = new Seg(DATA + prev, end - prev, !write);
        prev = end;
      }
      segs[segs.length - 1] = new Seg(HDR + 16, 1, true);
      mem.ram[(int) HDR + 16] = (byte) 0x55;
      if (write) {
        byte[] data = new byte[bytes];
        rnd.nextBytes(data);
        System.arraycopy(data, 0, mem.ram, (int) DATA, bytes);
        System.arraycopy(data, 0, model, (int) sector * 512, bytes);
      }
      int head = rnd.nextBoolean() ? q.addIndirect(segs, rnd) : q.add(segs, rnd);
      drv.kick(0);
      String at = String.format("seed %x round %d", SEED, round);
      assertThat(mem.ram[(int) HDR + 16]).as(at).isEqualTo((byte) VirtioBlk.S_OK);
      List<int[]> used = q.takeUsed();
      assertThat(used).as(at).hasSize(1);
      assertThat(used.get(0)[0]).as(at).isEqualTo(head);
      assertThat(used.get(0)[1]).as(at).isEqualTo(write ? 1 : bytes + 1);
      if (!write) {
        assertThat(java.util.Arrays.copyOfRange(mem.ram, (int) DATA, (int) DATA + bytes))
            .as(at).isEqualTo(java.util.Arrays.copyOfRange(model, (int) sector * 512,
                (int) sector * 512 + bytes));
      }
      assertThat(dev.in(VirtioPciLegacy.ISR_STATUS, 1)).as(at).isEqualTo(1);
    }
    assertThat(disk.data()).isEqualTo(model);
    VirtioBlk blk = (VirtioBlk) dev.device();
    assertThat(blk.reads + blk.writes).isEqualTo(1500);
    assertThat(blk.errors).isZero();
    assertThat(dev.needsResets()).isZero();
  }

  private int request(LegacyDriver drv, Random rnd, Seg... segs) {
    drv.queues[0].add(segs, rnd);
    drv.kick(0);
    List<int[]> used = drv.queues[0].takeUsed();
    assertThat(used).hasSize(1);
    return used.get(0)[1];
  }

  @Test
  void flushGetIdAndUnknownTypesAnswerAsTheSpecificationSays() {
    Random rnd = new Random(SEED + 1);
    MemoryDisk disk = new MemoryDisk(1 << 16);
    LegacyDriver drv = new LegacyDriver(device(disk), mem, ALL, INDIRECT);
    assertThat(request(drv, rnd, new Seg(header(HDR, VirtioBlk.T_FLUSH, 0), 16, false),
        new Seg(HDR + 16, 1, true))).isEqualTo(1);
    assertThat(mem.ram[(int) HDR + 16]).isEqualTo((byte) VirtioBlk.S_OK);
    assertThat(disk.flushes()).isEqualTo(1);
    java.util.Arrays.fill(mem.ram, (int) DATA, (int) DATA + 20, (byte) 0x77);
    assertThat(request(drv, rnd, new Seg(header(HDR, VirtioBlk.T_GET_ID, 0), 16, false),
        new Seg(DATA, 20, true), new Seg(HDR + 16, 1, true))).isEqualTo(21);
    assertThat(new String(mem.ram, (int) DATA, 20, java.nio.charset.StandardCharsets.US_ASCII))
        .isEqualTo("hospes-disk-0\0\0\0\0\0\0\0");
    assertThat(request(drv, rnd, new Seg(header(HDR, 11, 0), 16, false),
        new Seg(HDR + 16, 1, true))).isEqualTo(1);
    assertThat(mem.ram[(int) HDR + 16]).isEqualTo((byte) VirtioBlk.S_UNSUPP);
  }

  @Test
  void badRequestsFailWithIoerrAndTheQueueGoesOn() {
    Random rnd = new Random(SEED + 2);
    MemoryDisk ro = new MemoryDisk(1 << 16, true);
    VirtioPciLegacy dev = device(ro);
    LegacyDriver drv = new LegacyDriver(dev, mem, ALL, INDIRECT);
    Seg status = new Seg(HDR + 16, 1, true);
    // A write to a read-only disk.
    request(drv, rnd, new Seg(header(HDR, VirtioBlk.T_OUT, 0), 16, false),
        new Seg(DATA, 512, false), status);
    assertThat(mem.ram[(int) HDR + 16]).isEqualTo((byte) VirtioBlk.S_IOERR);
    // Past the capacity (128 sectors), and a sector number that overflows.
    for (long sector : new long[] {128, 127, Long.MAX_VALUE / 256, -1}) {
      mem.ram[(int) HDR + 16] = 0x55;
      request(drv, rnd, new Seg(header(HDR, VirtioBlk.T_IN, sector), 16, false),
          new Seg(DATA, 1024, true), status);
      assertThat(mem.ram[(int) HDR + 16]).as("sector %d", sector)
          .isEqualTo((byte) VirtioBlk.S_IOERR);
    }
    // Data outside the domain's memory, a huge length, part of a sector, a short header.
    mem.ram[(int) HDR + 16] = 0x55;
    request(drv, rnd, new Seg(header(HDR, VirtioBlk.T_IN, 0), 16, false),
        new Seg(RAM - 256, 512, true), status);
    assertThat(mem.ram[(int) HDR + 16]).isEqualTo((byte) VirtioBlk.S_IOERR);
    request(drv, rnd, new Seg(header(HDR, VirtioBlk.T_IN, 0), 16, false),
        new Seg(DATA, 0xFFFF_FE00, true), status);
    assertThat(mem.ram[(int) HDR + 16]).isEqualTo((byte) VirtioBlk.S_IOERR);
    mem.ram[(int) HDR + 16] = 0x55;
    request(drv, rnd, new Seg(header(HDR, VirtioBlk.T_IN, 0), 16, false),
        new Seg(DATA, 100, true), status);
    assertThat(mem.ram[(int) HDR + 16]).isEqualTo((byte) VirtioBlk.S_IOERR);
    mem.ram[(int) HDR + 16] = 0x55;
    request(drv, rnd, new Seg(HDR, 8, false), status);
    assertThat(mem.ram[(int) HDR + 16]).isEqualTo((byte) VirtioBlk.S_IOERR);
    // No room for the status byte: returned with nothing written.
    assertThat(request(drv, rnd, new Seg(header(HDR, VirtioBlk.T_IN, 0), 16, false)))
        .isZero();
    // A good read still works.
    mem.ram[(int) HDR + 16] = 0x55;
    request(drv, rnd, new Seg(header(HDR, VirtioBlk.T_IN, 0), 16, false),
        new Seg(DATA, 512, true), status);
    assertThat(mem.ram[(int) HDR + 16]).isEqualTo((byte) VirtioBlk.S_OK);
    assertThat(((VirtioBlk) dev.device()).errors).isEqualTo(10);
    assertThat(dev.needsResets()).isZero();
  }

  @Test
  void theIsrReadClearsItAndDeassertsIntxAndNoInterruptSuppressesIt() {
    Random rnd = new Random(SEED + 3);
    VirtioPciLegacy dev = device(new MemoryDisk(1 << 16));
    LegacyDriver drv = new LegacyDriver(dev, mem, ALL, INDIRECT);
    request(drv, rnd, new Seg(header(HDR, VirtioBlk.T_FLUSH, 0), 16, false),
        new Seg(HDR + 16, 1, true));
    assertThat(dev.function().irqLevel()).isTrue();
    assertThat(dev.function().read(PciFunction.STATUS, 2) & PciFunction.STATUS_INTERRUPT)
        .isNotZero();
    assertThat(dev.in(VirtioPciLegacy.ISR_STATUS, 1)).isEqualTo(1);
    assertThat(dev.function().irqLevel()).isFalse();
    assertThat(dev.in(VirtioPciLegacy.ISR_STATUS, 1)).isZero();
    drv.queues[0].setNoInterrupt(true);
    request(drv, rnd, new Seg(header(HDR, VirtioBlk.T_FLUSH, 0), 16, false),
        new Seg(HDR + 16, 1, true));
    assertThat(dev.function().irqLevel()).isFalse();
    assertThat(dev.suppressedInterrupts()).isEqualTo(1);
  }

  @Test
  void aBrokenQueueSetsNeedsResetAndAResetBringsTheDeviceBack() {
    Random rnd = new Random(SEED + 4);
    VirtioPciLegacy dev = device(new MemoryDisk(1 << 16));
    LegacyDriver drv = new LegacyDriver(dev, mem, ALL, INDIRECT);
    TestDriver q = drv.queues[0];
    // A chain that loops: descriptor 0 -> 1 -> 0.
    mem.put64(q.desc, HDR);
    mem.put32(q.desc + 8, 16);
    mem.put16(q.desc + 12, VirtioConstants.VIRTQ_DESC_F_NEXT);
    mem.put16(q.desc + 14, 1);
    mem.put64(q.desc + 16, HDR);
    mem.put32(q.desc + 24, 16);
    mem.put16(q.desc + 28, VirtioConstants.VIRTQ_DESC_F_NEXT);
    mem.put16(q.desc + 30, 0);
    q.publish(0);
    drv.kick(0);
    assertThat(dev.status() & VirtioConstants.STATUS_DEVICE_NEEDS_RESET).isNotZero();
    assertThat(dev.lastError()).contains("longer than the queue size");
    assertThat(dev.in(VirtioPciLegacy.ISR_STATUS, 1)).isEqualTo(VirtioPciLegacy.ISR_CONFIG);
    // The driver cannot clear NEEDS_RESET, and the queue stays idle.
    dev.out(VirtioPciLegacy.DEVICE_STATUS, 1, 7);
    assertThat(dev.status() & VirtioConstants.STATUS_DEVICE_NEEDS_RESET).isNotZero();
    drv.kick(0);
    assertThat(dev.needsResets()).isEqualTo(1);
    java.util.Arrays.fill(mem.ram, 4096, 4 * 4096, (byte) 0);
    LegacyDriver again = new LegacyDriver(dev, mem, ALL, INDIRECT);
    assertThat(dev.status()).isEqualTo(7);
    assertThat(request(again, rnd, new Seg(header(HDR, VirtioBlk.T_FLUSH, 0), 16, false),
        new Seg(HDR + 16, 1, true))).isEqualTo(1);
  }
}
