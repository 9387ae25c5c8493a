package org.hospes.dom0.devicemodel.e1000;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hospes.dom0.devicemodel.e1000.E1000Registers.*;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.hospes.dom0.devicemodel.ArrayGuestDma;
import org.junit.jupiter.api.Test;

/**
 * A TDT write makes the card send from TDH to TDT; a hostile driver can put a whole 1 MiB ring
 * of 64 KiB TSO packets of MSS 1 behind one write. The work of one write is a bounded pass and
 * the rest goes on in deferred passes, in ring order, until every frame has been sent.
 */
class E1000TransmitPassTest {
  private static final byte[] MAC = {0x00, 0x16, 0x3e, 0x00, 0x01, 0x02};
  private static final long TX_RING = 0x1_0000;
  private static final long RX_RING = 0x2000;
  private static final long RX_BUF = 0x3000;
  private static final long TX_BUF = 0x10_0000;

  private final ArrayGuestDma mem = new ArrayGuestDma(4 << 20);
  private final E1000 nic = new E1000("e1000-1.0", MAC, mem);
  private final List<byte[]> sent = new ArrayList<>();
  private final ArrayDeque<Runnable> deferred = new ArrayDeque<>();

  E1000TransmitPassTest() {
    nic.attach((from, frame, off, len) -> sent.add(java.util.Arrays.copyOfRange(frame, off,
        off + len)));
    nic.setDeferral(deferred::add);
  }

  private E1000Driver driver(int txCount) {
    E1000Driver drv = new E1000Driver(nic, mem, TX_RING, txCount, RX_RING, 4, TX_BUF, RX_BUF);
    drv.reset();
    drv.up(RCTL_SECRC);
    drv.w(IMS, ICR_TXQE | ICR_TXDW);
    drv.r(ICR);
    return drv;
  }

  /** Runs deferred passes one at a time (as dom0 would, in its time); returns how many. */
  private int drain() {
    int passes = 0;
    while (!deferred.isEmpty()) {
      deferred.poll().run();
      passes++;
      assertThat(passes).isLessThan(100_000);
    }
    return passes;
  }

  private static int seq(byte[] f) {
    return (f[38] & 0xFF) << 24 | (f[39] & 0xFF) << 16 | (f[40] & 0xFF) << 8 | (f[41] & 0xFF);
  }

  @Test
  void aFullRingGoesOutInPassesInOrderAndNothingIsLost() {
    int n = 16384;
    E1000Driver drv = driver(n);
    // n - 1 legacy frames (a full ring), frame i carrying i in its first bytes after the MACs.
    for (int i = 0; i < n - 1; i++) {
      long buf = TX_BUF + 64L * i;
      mem.put32(buf + 12, i);
      drv.putTx(buf, 60 | (TXD_CMD_EOP | TXD_CMD_RS) << 24, 0);
    }
    drv.w(TDT, drv.txTail);

    // The write did one pass: no more than a pass's descriptors were walked.
    assertThat(sent).hasSize(E1000.TX_DESCRIPTORS_PER_PASS);
    assertThat(drv.r(TDH)).isEqualTo(E1000.TX_DESCRIPTORS_PER_PASS);
    assertThat(deferred).hasSize(1);
    int icr = drv.r(ICR);
    assertThat(icr & ICR_TXDW).isNotZero();
    assertThat(icr & ICR_TXQE).as("the queue is not empty yet").isZero();

    // The driver writes TDT again meanwhile (the same tail): no second pass is queued.
    drv.w(TDT, drv.txTail);
    assertThat(sent).hasSize(E1000.TX_DESCRIPTORS_PER_PASS);
    assertThat(deferred).hasSize(1);

    assertThat(drain()).isEqualTo(3);
    assertThat(sent).hasSize(n - 1);
    for (int i = 0; i < n - 1; i++) {
      byte[] f = sent.get(i);
      assertThat((f[12] & 0xFF) | (f[13] & 0xFF) << 8 | (f[14] & 0xFF) << 16
          | (f[15] & 0xFF) << 24).as("frame %d", i).isEqualTo(i);
      assertThat(mem.ram[(int) (TX_RING + 16L * i + 12)] & TXD_STAT_DD).isEqualTo(TXD_STAT_DD);
    }
    assertThat(drv.r(TDH)).isEqualTo(n - 1);
    assertThat(drv.r(ICR) & ICR_TXQE).isNotZero();
    assertThat(nic.deferredTransmitPasses()).isEqualTo(3);
  }

  @Test
  void framesPostedWhileAPassIsDeferredFollowInOrder() {
    int n = 8192;
    E1000Driver drv = driver(n);
    for (int i = 0; i < 6000; i++) {
      long buf = TX_BUF + 64L * i;
      mem.put32(buf + 12, i);
      drv.putTx(buf, 60 | (TXD_CMD_EOP | TXD_CMD_RS) << 24, 0);
    }
    drv.w(TDT, drv.txTail);
    assertThat(sent).hasSize(E1000.TX_DESCRIPTORS_PER_PASS);
    for (int i = 6000; i < 8000; i++) {
      long buf = TX_BUF + 64L * i;
      mem.put32(buf + 12, i);
      drv.putTx(buf, 60 | (TXD_CMD_EOP | TXD_CMD_RS) << 24, 0);
    }
    drv.w(TDT, drv.txTail);
    drain();
    assertThat(sent).hasSize(8000);
    for (int i = 0; i < 8000; i++) {
      assertThat(mem.u32(TX_BUF + 64L * i + 12)).isEqualTo(i);
      byte[] f = sent.get(i);
      assertThat((f[12] & 0xFF) | (f[13] & 0xFF) << 8).as("frame %d", i).isEqualTo(i & 0xFFFF);
    }
  }

  @Test
  void tsoPacketsOfMssOneEndAPassOnceItsFramesAreSent() {
    int n = 256;
    E1000Driver drv = driver(n);
    int hdr = 54;
    int payload = 1000;
    int packets = 40;
    // Context: IPCSS 14, IPCSO 24, IPCSE 33; TUCSS 34, TUCSO 50; TSE|TCP|IP, HDRLEN 54, MSS 1.
    long ctx = TX_RING + 16L * drv.txTail;
    drv.putTx(0, 0, 0);
    mem.ram[(int) ctx] = 14;
    mem.ram[(int) ctx + 1] = 24;
    mem.put16(ctx + 2, 33);
    mem.ram[(int) ctx + 4] = 34;
    mem.ram[(int) ctx + 5] = 50;
    mem.put32(ctx + 8, payload | (TUCMD_TSE | TUCMD_TCP | TUCMD_IP | TXD_CMD_DEXT) << 24);
    mem.ram[(int) ctx + 13] = (byte) hdr;
    mem.put16(ctx + 14, 1);
    int dcmd = TXD_CMD_DEXT | TXD_CMD_TSE | TXD_CMD_IFCS | TXD_CMD_EOP | TXD_CMD_RS;
    for (int k = 0; k < packets; k++) {
      long buf = TX_BUF + 0x1000L * k;
      mem.ram[(int) buf + 12] = 0x08; // IPv4
      mem.ram[(int) buf + 14] = 0x45;
      mem.ram[(int) buf + 23] = 6; // TCP
      // Packet k's sequence numbers start at k << 20 (big-endian at TCP offset 4).
      mem.ram[(int) buf + 38] = (byte) (k >>> 4);
      mem.ram[(int) buf + 39] = (byte) (k << 4);
      mem.ram[(int) buf + 46] = 0x50;
      drv.putTx(buf, (hdr + payload) | TXD_DTYP_DATA << 20 | dcmd << 24, 0);
    }
    drv.w(TDT, drv.txTail);

    // The pass ended after the packet that took it past its frames, not after the ring.
    int perPass = ((E1000.TX_FRAMES_PER_PASS + payload - 1) / payload) * payload;
    assertThat(sent).hasSize(perPass);
    assertThat(deferred).hasSize(1);

    int passes = drain();
    assertThat(passes).isEqualTo((packets * payload + perPass - 1) / perPass - 1);
    assertThat(sent).hasSize(packets * payload);
    for (int i = 0; i < sent.size(); i++) {
      int k = i / payload;
      assertThat(seq(sent.get(i))).as("frame %d", i).isEqualTo((k << 20) + i % payload);
      assertThat(sent.get(i)).hasSize(60); // 55 bytes, padded (TCTL.PSP)
    }
    assertThat(drv.r(TDH)).isEqualTo(packets + 1);
  }

  @Test
  void withoutADeferralThePassesRunAtOnce() {
    nic.setDeferral(null);
    int n = 16384;
    E1000Driver drv = driver(n);
    for (int i = 0; i < n - 1; i++) {
      drv.putTx(TX_BUF + 64L * i, 60 | (TXD_CMD_EOP | TXD_CMD_RS) << 24, 0);
    }
    drv.w(TDT, drv.txTail);
    assertThat(sent).hasSize(n - 1);
    assertThat(nic.transmitPasses()).isEqualTo(4);
  }

  @Test
  void aDeferredPassAfterAResetOrUnplugSendsNothing() {
    int n = 16384;
    E1000Driver drv = driver(n);
    for (int i = 0; i < n - 1; i++) {
      drv.putTx(TX_BUF + 64L * i, 60 | (TXD_CMD_EOP | TXD_CMD_RS) << 24, 0);
    }
    drv.w(TDT, drv.txTail);
    drv.reset();
    drain();
    assertThat(sent).hasSize(E1000.TX_DESCRIPTORS_PER_PASS);
  }
}
