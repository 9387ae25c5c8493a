package org.hospes.dom0.devicemodel.virtio;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.hospes.dom0.devicemodel.ArrayGuestDma;
import org.hospes.dom0.devicemodel.pci.PciFunction;
import org.hospes.dom0.devicemodel.virtio.TestDriver.Seg;
import org.junit.jupiter.api.Test;

class VirtioNetTest {
  private static final long SEED = 0x4E7_0013L;
  private static final int RAM = 1 << 20;
  private static final long INDIRECT = 0x20000;
  private static final long TXBUF = 0x40000;
  private static final long RXBUF = 0x80000;

  private final ArrayGuestDma mem = new ArrayGuestDma(RAM);
  private final List<byte[]> sent = new ArrayList<>();
  private final VirtioNet nic = new VirtioNet("virtio1.0", VirtioNet.mac("00:16:3e:00:01:00"));
  private final VirtioPciLegacy dev = new VirtioPciLegacy("virtio-net test", nic, mem);

  VirtioNetTest() {
    nic.attach((from, frame, off, len) -> sent.add(Arrays.copyOfRange(frame, off, off + len)));
  }

  private static byte[] frame(Random rnd, int len) {
    byte[] f = new byte[len];
    rnd.nextBytes(f);
    return f;
  }

  @Test
  void itIsATransitionalNetworkDeviceWithItsMacAndLinkUp() {
    PciFunction f = dev.function();
    assertThat(f.read(PciFunction.DEVICE_ID, 2)).isEqualTo(0x1000);
    assertThat(f.read(0x2E, 2)).isEqualTo(1);
    assertThat(f.read(PciFunction.CLASS_PROG + 1, 2)).isEqualTo(0x0200);
    assertThat(f.barSize(0)).isEqualTo(32);
    assertThat(dev.in(VirtioPciLegacy.DEVICE_FEATURES, 4))
        .isEqualTo(1 << 5 | 1 << 16 | 1 << 28);
    byte[] mac = new byte[6];
    for (int i = 0; i < 6; i++) {
      mac[i] = (byte) dev.in(VirtioPciLegacy.CONFIG + i, 1);
    }
    assertThat(mac).containsExactly(0x00, 0x16, 0x3e, 0x00, 0x01, 0x00);
    assertThat(dev.in(VirtioPciLegacy.CONFIG + 6, 2)).isEqualTo(VirtioNet.S_LINK_UP);
  }

  @Test
  void transmittedChainsReachTheSwitchWithoutTheirHeaderWhateverTheirLayout() {
    Random rnd = new Random(SEED);
    LegacyDriver drv = new LegacyDriver(dev, mem, -1, INDIRECT);
    TestDriver tx = drv.queues[VirtioNet.TX];
    List<byte[]> model = new ArrayList<>();
    for (int round = 0; round < 500; round++) {
      tx.resetIndirectArea(INDIRECT + 0x4000);
      byte[] f = frame(rnd, 14 + rnd.nextInt(1500));
      byte[] stream = new byte[VirtioNet.HEADER + f.length];
      System.arraycopy(f, 0, stream, VirtioNet.HEADER, f.length);
      System.arraycopy(stream, 0, mem.ram, (int) TXBUF, stream.length);
      int cut = 1 + rnd.nextInt(stream.length - 1);
      Seg[] segs = rnd.nextBoolean()
          ? new Seg[] {new Seg(TXBUF, stream.length, false)}
          : new Seg[] {new Seg(TXBUF, cut, false), new Seg(TXBUF + cut, stream.length - cut,
              false)};
      if (rnd.nextBoolean()) {
        tx.addIndirect(segs, rnd);
      } else {
        tx.add(segs, rnd);
      }
      drv.kick(VirtioNet.TX);
      model.add(f);
      assertThat(tx.takeUsed()).as("seed %x round %d", SEED, round).hasSize(1);
    }
    assertThat(sent).hasSize(model.size());
    for (int i = 0; i < model.size(); i++) {
      assertThat(sent.get(i)).as("seed %x frame %d", SEED, i).isEqualTo(model.get(i));
    }
    assertThat(nic.txFrames).isEqualTo(500);
    assertThat(nic.txErrors).isZero();
  }

  private void postRx(TestDriver rx, Random rnd, int n, int bytes) {
    for (int i = 0; i < n; i++) {
      rx.add(new Seg[] {new Seg(RXBUF + 2048L * i, bytes, true)}, rnd);
    }
  }

  @Test
  void framesFromTheSwitchFillReceiveBuffersAndWaitInABacklogWhenThereAreNone() {
    Random rnd = new Random(SEED + 1);
    byte[] early = frame(rnd, 60);
    nic.deliver(early, 0, early.length); // before DRIVER_OK: dropped, as with the link down
    assertThat(nic.rxDropped).isEqualTo(1);
    LegacyDriver drv = new LegacyDriver(dev, mem, -1, INDIRECT);
    TestDriver rx = drv.queues[VirtioNet.RX];
    List<byte[]> frames = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      frames.add(frame(rnd, 42 + rnd.nextInt(1472)));
    }
    // Three buffers posted, ten frames: three received, seven wait.
    postRx(rx, rnd, 3, 2048);
    drv.kick(VirtioNet.RX);
    for (byte[] f : frames) {
      nic.deliver(f, 0, f.length);
    }
    List<int[]> used = rx.takeUsed();
    assertThat(used).hasSize(3);
    assertThat(dev.in(VirtioPciLegacy.ISR_STATUS, 1)).isEqualTo(1);
    for (int i = 0; i < 3; i++) {
      long buf = RXBUF + 2048L * i;
      assertThat(used.get(i)[1]).isEqualTo(VirtioNet.HEADER + frames.get(i).length);
      assertThat(Arrays.copyOfRange(mem.ram, (int) buf, (int) buf + VirtioNet.HEADER))
          .containsOnly(0);
      assertThat(Arrays.copyOfRange(mem.ram, (int) buf + VirtioNet.HEADER,
          (int) buf + VirtioNet.HEADER + frames.get(i).length)).isEqualTo(frames.get(i));
    }
    // Seven more buffers and a kick drain the backlog in order.
    postRx(rx, rnd, 7, 2048);
    drv.kick(VirtioNet.RX);
    used = rx.takeUsed();
    assertThat(used).hasSize(7);
    for (int i = 0; i < 7; i++) {
      assertThat(used.get(i)[1]).isEqualTo(VirtioNet.HEADER + frames.get(3 + i).length);
    }
    assertThat(nic.rxFrames).isEqualTo(10);
    // A frame larger than its buffer is dropped, the buffer returned empty.
    postRx(rx, rnd, 1, 64);
    byte[] big = frame(rnd, 100);
    nic.deliver(big, 0, big.length);
    assertThat(rx.takeUsed().get(0)[1]).isZero();
    assertThat(nic.rxTooBig).isEqualTo(1);
  }

  @Test
  void theBacklogIsBoundedAndTheRestDropped() {
    Random rnd = new Random(SEED + 2);
    new LegacyDriver(dev, mem, -1, INDIRECT);
    byte[] f = frame(rnd, 60);
    for (int i = 0; i < VirtioNet.BACKLOG + 5; i++) {
      nic.deliver(f, 0, f.length);
    }
    assertThat(nic.rxDropped).isEqualTo(5);
  }

  @Test
  void runtFramesAndTransmitBuffersOutsideMemoryAreCountedNotSent() {
    Random rnd = new Random(SEED + 3);
    LegacyDriver drv = new LegacyDriver(dev, mem, -1, INDIRECT);
    TestDriver tx = drv.queues[VirtioNet.TX];
    tx.add(new Seg[] {new Seg(TXBUF, VirtioNet.HEADER + 10, false)}, rnd);
    tx.add(new Seg[] {new Seg(RAM - 20, VirtioNet.HEADER + 60, false)}, rnd);
    drv.kick(VirtioNet.TX);
    assertThat(tx.takeUsed()).hasSize(2);
    assertThat(sent).isEmpty();
    assertThat(nic.txErrors).isEqualTo(2);
    assertThat(dev.needsResets()).isZero();
  }
}
