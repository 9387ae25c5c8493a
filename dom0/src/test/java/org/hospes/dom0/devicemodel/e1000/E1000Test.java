package org.hospes.dom0.devicemodel.e1000;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.hospes.dom0.devicemodel.e1000.E1000Registers.*;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;
import org.hospes.dom0.devicemodel.ArrayGuestDma;
import org.hospes.dom0.devicemodel.HvmDeviceModel;
import org.hospes.dom0.devicemodel.PlatformInterrupts;
import org.hospes.dom0.devicemodel.pci.PciFunction;
import org.hospes.dom0.devicemodel.pci.PciHostBridge;
import org.hospes.dom0.devicemodel.xen.UnplugPorts;
import org.hospes.dom0.net.LearningSwitch;
import org.hospes.dom0.toolstack.E1000Devices;
import org.hospes.hv.ioreq.Ioreq;
import org.junit.jupiter.api.Test;

/**
 * The 82540EM as Linux's e1000 drives it: identity, EEPROM, PHY, interrupts, both rings and
 * the offloads, the address filter, and a hostile driver.
 */
class E1000Test {
  private static final byte[] MAC = {0x00, 0x16, 0x3e, 0x00, 0x01, 0x02};
  private static final long TX_RING = 0x1000;
  private static final long RX_RING = 0x2000;
  private static final long TX_BUF = 0x10000;
  private static final long RX_BUF = 0x40000;

  private final ArrayGuestDma mem = new ArrayGuestDma(1 << 20);
  private final E1000 nic = new E1000("e1000-1.0", MAC, mem);
  private final List<byte[]> sent = new ArrayList<>();
  private final E1000Driver drv = new E1000Driver(nic, mem, TX_RING, 16, RX_RING, 16, TX_BUF,
      RX_BUF);

  E1000Test() {
    nic.attach((from, frame, off, len) -> sent.add(Arrays.copyOfRange(frame, off, off + len)));
  }

  @Test
  void itIsAn82540emWithAMemoryAndAnIoBar() {
    PciFunction f = nic.function();
    assertThat(f.read(PciFunction.VENDOR_ID, 2)).isEqualTo(0x8086);
    assertThat(f.read(PciFunction.DEVICE_ID, 2)).isEqualTo(0x100E);
    assertThat(f.read(PciFunction.REVISION_ID, 4)).isEqualTo(0x0200_0003);
    assertThat(f.read(PciFunction.SUBSYSTEM_VENDOR_ID, 4)).isEqualTo(0x001E_8086);
    assertThat(f.read(PciFunction.INTERRUPT_PIN, 1)).isEqualTo(1);
    assertThat(f.barSize(0)).isEqualTo(128 * 1024);
    assertThat(f.barIsIo(0)).isFalse();
    assertThat(f.barSize(1)).isEqualTo(64);
    assertThat(f.barIsIo(1)).isTrue();
  }

  @Test
  void theEepromCarriesTheMacAndAChecksumLinuxAccepts() {
    drv.reset();
    int sum = 0;
    int[] words = new int[64];
    for (int i = 0; i < 64; i++) {
      words[i] = drv.eepromRead(i);
      sum += words[i];
    }
    assertThat(sum & 0xFFFF).isEqualTo(0xBABA);
    assertThat(words[0]).isEqualTo(0x1600);
    assertThat(words[1]).isEqualTo(0x003e);
    assertThat(words[2]).isEqualTo(0x0201);
    assertThat(words[0x0D]).isEqualTo(0x100E);
    // EERD reads the same words.
    drv.w(EERD, 2 << EERD_ADDR_SHIFT | EERD_START);
    int eerd = drv.r(EERD);
    assertThat(eerd & EERD_DONE).isNotZero();
    assertThat(eerd >>> EERD_DATA_SHIFT).isEqualTo(0x0201);
    // Without REQ there is no grant, and PRES says an EEPROM is there.
    assertThat(drv.r(EECD) & (EECD_GNT | EECD_PRES)).isEqualTo(EECD_PRES);
  }

  @Test
  void thePhyIsAnM88e1011WithLinkUpAndOnlyAtAddressOne() {
    assertThat(drv.phyRead(1, M88e1011Phy.ID1)).isEqualTo(0x0141);
    assertThat(drv.phyRead(1, M88e1011Phy.ID2)).isEqualTo(0x0C20);
    int status = drv.phyRead(1, M88e1011Phy.STATUS);
    assertThat(status & (M88e1011Phy.SR_LINK_STATUS | M88e1011Phy.SR_AUTONEG_COMPLETE))
        .isEqualTo(M88e1011Phy.SR_LINK_STATUS | M88e1011Phy.SR_AUTONEG_COMPLETE);
    assertThat(drv.phyRead(2, M88e1011Phy.ID1)).isEqualTo(-1);
    drv.phyWrite(M88e1011Phy.AUTONEG_ADV, 0x0DE1);
    assertThat(drv.phyRead(1, M88e1011Phy.AUTONEG_ADV)).isEqualTo(0x0DE1);
    drv.phyWrite(M88e1011Phy.CONTROL, 0x1340); // autoneg enable + restart
    assertThat(drv.phyRead(1, M88e1011Phy.CONTROL) & M88e1011Phy.CR_RESTART_AUTONEG).isZero();
    drv.phyWrite(M88e1011Phy.ID1, 0x1234); // read-only
    assertThat(drv.phyRead(1, M88e1011Phy.ID1)).isEqualTo(0x0141);
    // The PHY's hardware reset restores its defaults.
    drv.w(CTRL, drv.r(CTRL) | CTRL_PHY_RST);
    drv.w(CTRL, drv.r(CTRL) & ~CTRL_PHY_RST);
    assertThat(drv.phyRead(1, M88e1011Phy.AUTONEG_ADV)).isEqualTo(0x01E1);
  }

  @Test
  void interruptsAreTheLevelOfIcrAndImsAndReadingIcrClearsThem() {
    PciFunction f = nic.function();
    assertThat(drv.r(STATUS) & STATUS_LU).isZero();
    drv.w(CTRL, CTRL_SLU);
    assertThat(drv.r(STATUS) & (STATUS_LU | STATUS_FD | STATUS_SPEED_1000))
        .isEqualTo(STATUS_LU | STATUS_FD | STATUS_SPEED_1000);
    assertThat(f.irqLevel()).isFalse(); // LSC is pending but masked
    drv.w(IMS, ICR_LSC);
    assertThat(f.irqLevel()).isTrue();
    assertThat(drv.r(IMS)).isEqualTo(ICR_LSC);
    assertThat(drv.r(ICR) & ICR_LSC).isNotZero();
    assertThat(f.irqLevel()).isFalse();
    assertThat(drv.r(ICR)).isZero();
    drv.w(ICS, ICR_LSC | ICR_RXT0);
    assertThat(f.irqLevel()).isTrue();
    drv.w(IMC, ICR_LSC);
    assertThat(f.irqLevel()).isFalse();
    assertThat(drv.r(ICR)).isEqualTo(ICR_LSC | ICR_RXT0);
    assertThat(nic.stats().interrupts()).isEqualTo(2);
  }

  @Test
  void legacyDescriptorsReachTheSwitchAndAreWrittenBack() {
    drv.reset();
    drv.up(RCTL_SECRC);
    drv.r(ICR);
    Random rnd = new Random(1);
    List<byte[]> expect = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      byte[] f = new byte[60 + rnd.nextInt(1454)];
      rnd.nextBytes(f);
      expect.add(f);
      drv.sendLegacy(f, i % 16);
      long d = TX_RING + 16L * ((drv.txTail + 15) % 16);
      assertThat(mem.ram[(int) d + 12] & TXD_STAT_DD).isEqualTo(TXD_STAT_DD);
    }
    assertThat(sent).hasSize(40);
    for (int i = 0; i < 40; i++) {
      assertThat(sent.get(i)).isEqualTo(expect.get(i));
    }
    assertThat(drv.r(TDH)).isEqualTo(drv.txTail);
    assertThat(drv.r(ICR) & (ICR_TXDW | ICR_TXQE)).isEqualTo(ICR_TXDW | ICR_TXQE);
    assertThat(drv.r(GPTC)).isEqualTo(40);
    assertThat(drv.r(GPTC)).isZero(); // statistics clear when read
  }

  @Test
  void aPacketOverSeveralDescriptorsIsOneFrameAndShortOnesArePadded() {
    drv.reset();
    drv.up(RCTL_SECRC);
    byte[] f = new byte[300];
    new Random(2).nextBytes(f);
    System.arraycopy(f, 0, mem.ram, (int) TX_BUF, 300);
    drv.putTx(TX_BUF, 100, 0);
    drv.putTx(TX_BUF + 100, 150, 0);
    drv.putTx(TX_BUF + 250, 50 | (TXD_CMD_EOP | TXD_CMD_RS) << 24, 0);
    drv.w(TDT, drv.txTail);
    byte[] small = new byte[42];
    Arrays.fill(small, (byte) 7);
    drv.sendLegacy(small, 5);
    assertThat(sent).hasSize(2);
    assertThat(sent.get(0)).isEqualTo(f);
    assertThat(sent.get(1)).hasSize(60);
    assertThat(Arrays.copyOf(sent.get(1), 42)).isEqualTo(small);
  }

  @Test
  void framesLandInReceiveBuffersWithTheirFcsUnlessStripped() {
    drv.reset();
    drv.up(0);
    byte[] f = frame(MAC, 200, 3);
    nic.deliver(f, 0, f.length);
    List<byte[]> got = drv.received();
    assertThat(got).hasSize(1);
    assertThat(got.get(0)).hasSize(204);
    assertThat(Arrays.copyOf(got.get(0), 200)).isEqualTo(f);
    CRC32 crc = new CRC32();
    crc.update(f);
    long fcs = (got.get(0)[200] & 0xFF) | (got.get(0)[201] & 0xFF) << 8
        | (got.get(0)[202] & 0xFF) << 16 | (long) (got.get(0)[203] & 0xFF) << 24;
    assertThat(fcs).isEqualTo(crc.getValue());
    assertThat(drv.r(ICR) & ICR_RXT0).isNotZero();
    drv.w(RCTL, drv.r(RCTL) | RCTL_SECRC);
    nic.deliver(f, 0, f.length);
    assertThat(drv.received().get(0)).isEqualTo(f);
    assertThat(drv.r(GPRC)).isEqualTo(2);
  }

  @Test
  void theAddressFilterTakesItsOwnBroadcastAndHashedMulticast() {
    drv.reset();
    drv.up(RCTL_SECRC);
    byte[] other = frame(new byte[] {0x00, 0x16, 0x3e, 9, 9, 9}, 80, 4);
    nic.deliver(other, 0, other.length);
    byte[] mcast = frame(new byte[] {0x01, 0x00, 0x5e, 0x00, 0x00, (byte) 0xfb}, 80, 5);
    nic.deliver(mcast, 0, mcast.length);
    assertThat(drv.received()).isEmpty();
    assertThat(nic.stats().rxFiltered()).isEqualTo(2);
    // Linux's e1000_hash_mc_addr with MO 0: bits 47:36 of the address.
    int hash = ((mcast[4] & 0xFF) >> 4 | (mcast[5] & 0xFF) << 4) & 0xFFF;
    drv.w(MTA + 4 * (hash >>> 5), 1 << (hash & 31));
    nic.deliver(mcast, 0, mcast.length);
    byte[] bcast = frame(new byte[] {-1, -1, -1, -1, -1, -1}, 80, 6);
    nic.deliver(bcast, 0, bcast.length);
    assertThat(drv.received()).containsExactly(mcast, bcast);
    drv.w(RCTL, drv.r(RCTL) | RCTL_UPE);
    nic.deliver(other, 0, other.length);
    assertThat(drv.received()).containsExactly(other);
  }

  @Test
  void framesWaitInThePacketBufferUntilTheDriverPostsDescriptors() {
    drv.reset();
    drv.up(RCTL_SECRC);
    List<byte[]> expect = new ArrayList<>();
    for (int i = 0; i < 15 + E1000.BACKLOG + 3; i++) {
      byte[] f = frame(MAC, 64 + i, 100 + i);
      expect.add(f);
      nic.deliver(f, 0, f.length);
    }
    // 15 posted, 64 wait, 3 are missed.
    assertThat(drv.r(MPC)).isEqualTo(3);
    assertThat(drv.r(ICR) & ICR_RXO).isNotZero();
    List<byte[]> got = new ArrayList<>();
    for (int round = 0; round < 10 && got.size() < 15 + E1000.BACKLOG; round++) {
      got.addAll(drv.received());
    }
    assertThat(got).hasSize(15 + E1000.BACKLOG);
    for (int i = 0; i < got.size(); i++) {
      assertThat(got.get(i)).isEqualTo(expect.get(i));
    }
  }

  @Test
  void receiveChecksumOffloadChecksIpv4TcpAndFlagsABadOne() {
    drv.reset();
    drv.up(RCTL_SECRC);
    drv.w(RXCSUM, RXCSUM_IPOFLD | RXCSUM_TUOFLD | 14);
    byte[] good = tcpPacket(MAC, 100, 1000, 0x18);
    finishChecksums(good);
    nic.deliver(good, 0, good.length);
    byte[] bad = good.clone();
    bad[bad.length - 1] ^= 1;
    nic.deliver(bad, 0, bad.length);
    int s0 = mem.ram[(int) RX_RING + 12] & 0xFF;
    int e0 = mem.ram[(int) RX_RING + 13] & 0xFF;
    int s1 = mem.ram[(int) RX_RING + 16 + 12] & 0xFF;
    int e1 = mem.ram[(int) RX_RING + 16 + 13] & 0xFF;
    int checked = RXD_STAT_IPCS | RXD_STAT_TCPCS;
    assertThat(s0 & (checked | RXD_STAT_IXSM)).isEqualTo(checked);
    assertThat(e0).isZero();
    assertThat(s1 & checked).isEqualTo(checked);
    assertThat(e1).isEqualTo(RXD_ERR_TCPE);
    assertThat(drv.received()).hasSize(2);
    // With the offloads off the card says so (IXSM) and the driver checks for itself.
    drv.w(RXCSUM, 14);
    nic.deliver(good, 0, good.length);
    long d = RX_RING + 16L * 2;
    assertThat(mem.ram[(int) d + 12] & (checked | RXD_STAT_IXSM)).isEqualTo(RXD_STAT_IXSM);
  }

  @Test
  void contextDescriptorsInsertTcpChecksumsAndSegmentLargeSends() {
    drv.reset();
    drv.up(RCTL_SECRC);
    int payload = 3000;
    int mss = 1000;
    byte[] pkt = tcpPacket(new byte[] {0x00, 0x16, 0x3e, 7, 7, 7}, payload, 0x1000_0000, 0x19);
    // As Linux's e1000_tso: tot_len and the IP checksum zero, the TCP checksum seeded with the
    // pseudo-header sum without the length.
    pkt[16] = 0;
    pkt[17] = 0;
    pkt[24] = 0;
    pkt[25] = 0;
    int seed = pseudoSum(pkt, 0);
    pkt[50] = (byte) (seed >>> 8);
    pkt[51] = (byte) seed;
    System.arraycopy(pkt, 0, mem.ram, (int) TX_BUF, pkt.length);
    int hdr = 54;
    // Context: IPCSS 14, IPCSO 24, IPCSE 33; TUCSS 34, TUCSO 50, TUCSE 0; TSE|TCP|IP, HDRLEN, MSS.
    long ctx = TX_RING + 16L * drv.txTail;
    drv.putTx(0, 0, 0);
    mem.ram[(int) ctx] = 14;
    mem.ram[(int) ctx + 1] = 24;
    mem.put16(ctx + 2, 33);
    mem.ram[(int) ctx + 4] = 34;
    mem.ram[(int) ctx + 5] = 50;
    mem.put16(ctx + 6, 0);
    mem.put32(ctx + 8, payload | (TUCMD_TSE | TUCMD_TCP | TUCMD_IP | TXD_CMD_DEXT) << 24);
    mem.ram[(int) ctx + 13] = (byte) hdr;
    mem.put16(ctx + 14, mss);
    // Two data descriptors: the header with part of the payload, then the rest.
    int dcmd = TXD_CMD_DEXT | TXD_CMD_TSE | TXD_CMD_IFCS;
    int popts = (TXD_POPTS_IXSM | TXD_POPTS_TXSM) << 8;
    drv.putTx(TX_BUF, 1000 | TXD_DTYP_DATA << 20 | dcmd << 24, popts);
    drv.putTx(TX_BUF + 1000, (pkt.length - 1000) | TXD_DTYP_DATA << 20
        | (dcmd | TXD_CMD_EOP | TXD_CMD_RS) << 24, popts);
    drv.w(TDT, drv.txTail);
    assertThat(sent).hasSize(3);
    for (int i = 0; i < 3; i++) {
      byte[] s = sent.get(i);
      assertThat(s).hasSize(hdr + mss);
      assertThat(u16(s, 16)).isEqualTo(s.length - 14); // tot_len
      assertThat(u16(s, 18)).isEqualTo(0x4242 + i); // IP id counts segments
      assertThat(sum(s, 14, 20)).isEqualTo(0xFFFF); // IP header checksum
      long seq = (long) u16(s, 38) << 16 | u16(s, 40);
      assertThat(seq).isEqualTo(0x1000_0000L + (long) i * mss);
      assertThat(s[47] & 0x09).isEqualTo(i == 2 ? 0x09 : 0); // FIN and PSH only at the end
      assertThat(tcpChecksumOk(s)).isTrue();
      assertThat(Arrays.copyOfRange(s, hdr, s.length))
          .isEqualTo(Arrays.copyOfRange(pkt, hdr + i * mss, hdr + (i + 1) * mss));
    }
    // Without TSE: one frame, TCP checksum inserted from the seeded full pseudo-header.
    sent.clear();
    byte[] one = tcpPacket(new byte[] {0x00, 0x16, 0x3e, 7, 7, 7}, 500, 5, 0x18);
    int ipSum = sum(one, 14, 20);
    one[24] = (byte) (~ipSum >>> 8);
    one[25] = (byte) ~ipSum;
    int seeded = pseudoSum(one, one.length - 34);
    one[50] = (byte) (seeded >>> 8);
    one[51] = (byte) seeded;
    System.arraycopy(one, 0, mem.ram, (int) TX_BUF, one.length);
    long c2 = TX_RING + 16L * drv.txTail;
    drv.putTx(0, 0, 0);
    mem.ram[(int) c2 + 4] = 34;
    mem.ram[(int) c2 + 5] = 50;
    mem.put32(c2 + 8, (TUCMD_TCP | TXD_CMD_DEXT) << 24);
    drv.putTx(TX_BUF, one.length | TXD_DTYP_DATA << 20
        | (TXD_CMD_DEXT | TXD_CMD_EOP | TXD_CMD_RS) << 24, TXD_POPTS_TXSM << 8);
    drv.w(TDT, drv.txTail);
    assertThat(sent).hasSize(1);
    assertThat(tcpChecksumOk(sent.get(0))).isTrue();
  }

  @Test
  void vlanTagsAreInsertedOnTransmitAndStrippedOnReceive() {
    drv.reset();
    drv.up(RCTL_SECRC);
    drv.w(CTRL, drv.r(CTRL) | CTRL_VME);
    byte[] f = frame(MAC, 100, 9);
    System.arraycopy(f, 0, mem.ram, (int) TX_BUF, f.length);
    drv.putTx(TX_BUF, f.length | (TXD_CMD_EOP | TXD_CMD_RS | TXD_CMD_VLE) << 24, 0x0123 << 16);
    drv.w(TDT, drv.txTail);
    byte[] tagged = sent.get(0);
    assertThat(tagged).hasSize(104);
    assertThat(u16(tagged, 12)).isEqualTo(0x8100);
    assertThat(u16(tagged, 14)).isEqualTo(0x0123);
    nic.deliver(tagged, 0, tagged.length);
    long d = RX_RING;
    assertThat(mem.ram[(int) d + 12] & RXD_STAT_VP).isEqualTo(RXD_STAT_VP);
    assertThat(mem.u16(d + 14)).isEqualTo(0x0123);
    assertThat(drv.received().get(0)).isEqualTo(f);
  }

  @Test
  void aHostileDriverCannotThrowOutOfTheDevice() {
    Random rnd = new Random(0xE1000L);
    int[] regs = {CTRL, EECD, EERD, MDIC, ICR, ICS, IMS, IMC, RCTL, TCTL, RDBAL, RDBAH, RDLEN,
        RDH, RDT, TDBAL, TDBAH, TDLEN, TDH, TDT, RXCSUM, VET, MTA, RA, RA + 4};
    assertThatCode(() -> {
      for (int i = 0; i < 20_000; i++) {
        int choice = rnd.nextInt(10);
        if (choice < 5) {
          int reg = regs[rnd.nextInt(regs.length)];
          int v = rnd.nextInt(4) == 0 ? rnd.nextInt() : rnd.nextInt(64);
          if ((reg == TCTL || reg == RCTL) && rnd.nextBoolean()) {
            v |= RCTL_EN;
          }
          if (reg == CTRL) {
            v &= ~CTRL_RST | (rnd.nextInt(50) == 0 ? -1 : 0);
          }
          nic.write(reg, 4, v);
        } else if (choice < 7) {
          nic.read(rnd.nextInt(E1000.MMIO_SIZE), 1 << rnd.nextInt(3));
          nic.write(rnd.nextInt(E1000.MMIO_SIZE), 1 << rnd.nextInt(3), rnd.nextInt());
        } else if (choice < 8) {
          // Garbage descriptors (and buffer addresses anywhere) in both rings.
          int at = rnd.nextInt(0x2000);
          mem.put32(TX_RING + (at & ~3), rnd.nextInt());
        } else {
          byte[] f = new byte[rnd.nextInt(2000)];
          rnd.nextBytes(f);
          if (f.length >= 6 && rnd.nextBoolean()) {
            System.arraycopy(MAC, 0, f, 0, 6);
          }
          nic.deliver(f, 0, f.length);
        }
        nic.ioWindow().out(rnd.nextInt(8) & ~3, 4, rnd.nextInt());
        nic.ioWindow().in(rnd.nextInt(64), 1 + rnd.nextInt(4));
      }
    }).doesNotThrowAnyException();
    assertThat(nic.stats().mmioWrites()).isPositive();
    assertThat(nic.stats().dmaErrors() + nic.stats().ringErrors()).isPositive();
  }

  @Test
  void theUnplugProtocolTakesTheCardOffTheBusAndTheNetwork() {
    HvmDeviceModel dm = new HvmDeviceModel(new ByteArrayOutputStream(), PlatformInterrupts.NONE,
        (value, status) -> { }, 64 << 20);
    dm.attachXenPlatform();
    LearningSwitch net = new LearningSwitch("br0", false, () -> 0L);
    int slot = E1000Devices.plug(dm, nic, net, nic);
    assertThat(slot).isEqualTo(E1000Devices.FIRST_SLOT);
    assertThat(config(dm, slot, PciFunction.VENDOR_ID)).isEqualTo(0x100E_8086);
    assertThat(net.ports()).contains(nic);
    // Linux's xen_unplug_emulated_devices: magic, version, product, then the mask (NICs).
    assertThat(io(dm, UnplugPorts.BASE, 2)).isEqualTo(0x49d2);
    dm.handle(1, new Ioreq(Ioreq.Type.PIO, UnplugPorts.BASE + 2, 2, true, 3));
    dm.handle(1, new Ioreq(Ioreq.Type.PIO, UnplugPorts.BASE, 4, true, 0));
    dm.handle(1, new Ioreq(Ioreq.Type.PIO, UnplugPorts.BASE, 2, true, 2));
    assertThat(nic.unplugged()).isTrue();
    assertThat(config(dm, slot, PciFunction.VENDOR_ID)).isEqualTo(-1);
    assertThat(net.ports()).doesNotContain(nic);
    assertThat(dm.unplugs().unplugged()).containsExactly(nic);
  }

  // ---- helpers ----

  private static int config(HvmDeviceModel dm, int slot, int register) {
    dm.handle(1, new Ioreq(Ioreq.Type.PIO, PciHostBridge.CONFIG_ADDRESS, 4, true,
        (PciHostBridge.ENABLE | slot << 11 | register) & 0xFFFF_FFFFL));
    return (int) dm.handle(1, new Ioreq(Ioreq.Type.PIO, PciHostBridge.CONFIG_DATA, 4, false, 0));
  }

  private static int io(HvmDeviceModel dm, int port, int size) {
    return (int) dm.handle(1, new Ioreq(Ioreq.Type.PIO, port, size, false, 0));
  }

  private static byte[] frame(byte[] dst, int len, int seed) {
    byte[] f = new byte[len];
    new Random(seed).nextBytes(f);
    System.arraycopy(dst, 0, f, 0, 6);
    f[6] = 0x02; // a unicast source
    f[12] = 0x08;
    f[13] = (byte) 0x99;
    return f;
  }

  /** Ethernet + IPv4 (id 0x4242) + TCP (20 bytes), the payload counting up. */
  private static byte[] tcpPacket(byte[] dst, int payload, int seq, int flags) {
    byte[] p = new byte[54 + payload];
    System.arraycopy(dst, 0, p, 0, 6);
    System.arraycopy(MAC, 0, p, 6, 6);
    p[12] = 0x08;
    p[13] = 0x00;
    p[14] = 0x45;
    put16(p, 16, 40 + payload);
    put16(p, 18, 0x4242);
    p[22] = 64;
    p[23] = 6;
    p[26] = 10;
    p[29] = 15;
    p[30] = 10;
    p[33] = 2;
    put16(p, 34, 40000);
    put16(p, 36, 80);
    put16(p, 38, seq >>> 16);
    put16(p, 40, seq);
    p[46] = 0x50;
    p[47] = (byte) flags;
    put16(p, 48, 65535);
    for (int i = 0; i < payload; i++) {
      p[54 + i] = (byte) i;
    }
    return p;
  }

  private static void finishChecksums(byte[] p) {
    int ip = sum(p, 14, 20);
    put16(p, 24, ~ip);
    int tcp = pseudoSum(p, p.length - 34);
    put16(p, 50, tcp);
    int all = sum(p, 34, p.length - 34);
    put16(p, 50, ~all);
  }

  /** The pseudo-header sum (addresses, protocol, and {@code length}), folded, not inverted. */
  private static int pseudoSum(byte[] p, int length) {
    long s = sum(p, 26, 8) + 6 + length;
    while ((s >>> 16) != 0) {
      s = (s & 0xFFFF) + (s >>> 16);
    }
    return (int) s;
  }

  private static boolean tcpChecksumOk(byte[] s) {
    int len = u16(s, 16) - 20;
    long t = pseudoSum(s, len) + sum(s, 34, len);
    while ((t >>> 16) != 0) {
      t = (t & 0xFFFF) + (t >>> 16);
    }
    return t == 0xFFFF;
  }

  private static int sum(byte[] b, int from, int n) {
    long s = 0;
    for (int i = 0; i < n; i += 2) {
      s += (b[from + i] & 0xFF) << 8 | (i + 1 < n ? b[from + i + 1] & 0xFF : 0);
    }
    while ((s >>> 16) != 0) {
      s = (s & 0xFFFF) + (s >>> 16);
    }
    return (int) s;
  }

  private static int u16(byte[] b, int at) {
    return (b[at] & 0xFF) << 8 | (b[at + 1] & 0xFF);
  }

  private static void put16(byte[] b, int at, int v) {
    b[at] = (byte) (v >>> 8);
    b[at + 1] = (byte) v;
  }
}
