package org.hospes.dom0.devicemodel.e1000;

import static org.hospes.dom0.devicemodel.e1000.E1000Registers.*;

import java.util.ArrayList;
import java.util.List;
import org.hospes.dom0.devicemodel.ArrayGuestDma;

/**
 * The driver's side of an {@link E1000} in a {@link ArrayGuestDma}, doing what Linux's e1000 does:
 * the reset through the I/O window, the EEPROM read by bit-banging EECD (e1000_shift_out_ee_bits
 * and e1000_shift_in_ee_bits), PHY access through MDIC, and the legacy receive and transmit
 * rings with their head and tail.
 */
final class E1000Driver {
  final E1000 nic;
  final ArrayGuestDma mem;
  final long txRing;
  final long rxRing;
  final long txBuffers;
  final long rxBuffers;
  final int txCount;
  final int rxCount;
  int txTail;
  int rxTail;
  int rxNext;

  E1000Driver(E1000 nic, ArrayGuestDma mem, long txRing, int txCount, long rxRing, int rxCount,
      long txBuffers, long rxBuffers) {
    this.nic = nic;
    this.mem = mem;
    this.txRing = txRing;
    this.rxRing = rxRing;
    this.txCount = txCount;
    this.rxCount = rxCount;
    this.txBuffers = txBuffers;
    this.rxBuffers = rxBuffers;
  }

  int r(int reg) {
    return nic.read(reg, 4);
  }

  void w(int reg, int v) {
    nic.write(reg, 4, v);
  }

  /** Linux's 82540 reset: CTRL.RST through IOADDR/IODATA, then clear the interrupt state. */
  void reset() {
    w(IMC, -1);
    w(RCTL, 0);
    w(TCTL, TCTL_PSP);
    ioWrite(0, CTRL);
    ioWrite(4, r(CTRL) | CTRL_RST);
    w(IMC, -1);
    r(ICR);
  }

  private void ioWrite(int port, int value) {
    ioPort().out(port, 4, value);
  }

  org.hospes.x86.PortDevice ioPort() {
    return nic.ioWindow();
  }

  // ---- EEPROM, Microwire, as e1000_hw.c does it ----

  int eepromRead(int address) {
    int eecd = r(EECD) | EECD_REQ;
    w(EECD, eecd);
    if ((r(EECD) & EECD_GNT) == 0) {
      throw new IllegalStateException("EEPROM not granted");
    }
    eecd = r(EECD) & ~(EECD_DI | EECD_SK);
    w(EECD, eecd);
    eecd |= EECD_CS;
    w(EECD, eecd);
    shiftOut(0b110, 3);
    shiftOut(address, MicrowireEeprom.ADDRESS_BITS);
    int data = shiftIn(16);
    // standby, then release
    eecd = r(EECD) & ~(EECD_CS | EECD_SK);
    w(EECD, eecd);
    eecd = r(EECD) & ~(EECD_CS | EECD_DI);
    w(EECD, eecd);
    w(EECD, eecd | EECD_SK);
    w(EECD, eecd);
    w(EECD, eecd & ~EECD_REQ);
    return data;
  }

  private void shiftOut(int data, int count) {
    int eecd = r(EECD) & ~EECD_DO;
    for (int mask = 1 << (count - 1); mask != 0; mask >>>= 1) {
      eecd &= ~EECD_DI;
      if ((data & mask) != 0) {
        eecd |= EECD_DI;
      }
      w(EECD, eecd);
      w(EECD, eecd | EECD_SK);
      w(EECD, eecd);
    }
    w(EECD, eecd & ~EECD_DI);
  }

  private int shiftIn(int count) {
    int eecd = r(EECD) & ~(EECD_DO | EECD_DI);
    int data = 0;
    for (int i = 0; i < count; i++) {
      data <<= 1;
      eecd |= EECD_SK;
      w(EECD, eecd);
      eecd = r(EECD) & ~EECD_DI;
      if ((eecd & EECD_DO) != 0) {
        data |= 1;
      }
      eecd &= ~EECD_SK;
      w(EECD, eecd);
    }
    return data;
  }

  // ---- PHY ----

  /** MDIC read; -1 if the PHY reports an error. */
  int phyRead(int phy, int reg) {
    w(MDIC, reg << MDIC_REG_SHIFT | phy << MDIC_PHY_SHIFT | MDIC_OP_READ);
    int m = r(MDIC);
    if ((m & MDIC_READY) == 0) {
      throw new IllegalStateException("MDIC not ready");
    }
    return (m & MDIC_ERROR) != 0 ? -1 : m & 0xFFFF;
  }

  void phyWrite(int reg, int value) {
    w(MDIC, value & 0xFFFF | reg << MDIC_REG_SHIFT | 1 << MDIC_PHY_SHIFT | MDIC_OP_WRITE);
  }

  // ---- rings ----

  /** Programs both rings, posts every receive buffer but one (as Linux does) and enables. */
  void up(int rctlExtra) {
    w(TDBAL, (int) txRing);
    w(TDBAH, 0);
    w(TDLEN, txCount * 16);
    w(TDH, 0);
    w(TDT, 0);
    w(TCTL, TCTL_EN | TCTL_PSP);
    w(RDBAL, (int) rxRing);
    w(RDBAH, 0);
    w(RDLEN, rxCount * 16);
    w(RDH, 0);
    w(RDT, 0);
    for (int i = 0; i < rxCount; i++) {
      mem.put64(rxRing + 16L * i, rxBuffers + 2048L * i);
      mem.put64(rxRing + 16L * i + 8, 0);
    }
    w(CTRL, r(CTRL) | CTRL_SLU);
    w(RCTL, RCTL_EN | RCTL_BAM | rctlExtra);
    rxTail = rxCount - 1;
    w(RDT, rxTail);
    w(IMS, ICR_TXDW | ICR_RXT0 | ICR_RXDMT0 | ICR_LSC | ICR_RXSEQ);
  }

  /** Writes one descriptor at the tail (not yet handed over). */
  void putTx(long buffer, int lower, int upper) {
    long d = txRing + 16L * txTail;
    mem.put64(d, buffer);
    mem.put32(d + 8, lower);
    mem.put32(d + 12, upper);
    txTail = (txTail + 1) % txCount;
  }

  /** A legacy descriptor for {@code frame}, copied to a buffer; EOP and RS. */
  void sendLegacy(byte[] frame, int slot) {
    long buf = txBuffers + 0x1000L * slot;
    System.arraycopy(frame, 0, mem.ram, (int) buf, frame.length);
    putTx(buf, frame.length | (TXD_CMD_EOP | TXD_CMD_IFCS | TXD_CMD_RS) << 24, 0);
    w(TDT, txTail);
  }

  /** The frames the device has written to the ring since the last call (status DD), reposted. */
  List<byte[]> received() {
    List<byte[]> out = new ArrayList<>();
    while (true) {
      long d = rxRing + 16L * rxNext;
      int status = mem.ram[(int) d + 12] & 0xFF;
      if ((status & RXD_STAT_DD) == 0) {
        break;
      }
      int len = mem.u16(d + 8);
      long buf = mem.u32(d);
      byte[] f = new byte[len];
      System.arraycopy(mem.ram, (int) buf, f, 0, len);
      out.add(f);
      mem.ram[(int) d + 12] = 0;
      rxNext = (rxNext + 1) % rxCount;
      rxTail = (rxTail + 1) % rxCount;
    }
    w(RDT, rxTail);
    return out;
  }
}
