package org.hospes.dom0.devicemodel.e1000;

import static org.hospes.dom0.devicemodel.e1000.E1000Registers.*;

import org.hospes.dom0.devicemodel.GuestDma;
import org.hospes.dom0.devicemodel.Unpluggable;
import org.hospes.dom0.devicemodel.pci.PciFunction;
import org.hospes.dom0.net.FrameBacklog;
import org.hospes.dom0.net.SwitchPort;
import org.hospes.x86.MmioDevice;
import org.hospes.x86.PortDevice;

/**
 * An Intel 82540EM Gigabit Ethernet controller (8086:100E, the "PRO/1000 MT Desktop" that
 * QEMU and Xen's device model offer as {@code e1000}) as a port of dom0's virtual switch, after
 * the PCI/PCI-X Family of Gigabit Ethernet Controllers Software Developer's Manual (8254x).
 *
 * <p>PCI: class 0x020000, revision 3, subsystem 8086:001E, INTA#. BAR0 is the 128 KiB register
 * space in memory; BAR1 is 64 bytes of I/O with the indirect IOADDR (0x00) and IODATA (0x04)
 * window onto the same registers (Linux's e1000 resets an 82540 through it).
 *
 * <p>What is there: CTRL (RST resets the MAC, PHY_RST the PHY, SLU brings the link up), STATUS
 * (link up at 1000 Mb/s full duplex once SLU is set), the Microwire EEPROM through EECD (with
 * the REQ/GNT handshake) and EERD ({@link MicrowireEeprom}), the PHY through MDIC
 * ({@link M88e1011Phy}; other MDIO addresses answer with MDIC.E), ICR/ICS/IMS/IMC driving INTA#
 * as the level of (ICR and IMS), reading ICR clearing it; RCTL's enable, unicast/multicast
 * promiscuity, broadcast accept, multicast offset, buffer sizes, long packets and CRC strip;
 * the 16 receive addresses and the 4096-bit multicast table; VLAN stripping (CTRL.VME) and
 * insertion; receive checksum offload (RXCSUM IPOFLD/TUOFLD for IPv4 TCP and UDP, otherwise
 * IXSM); and the legacy receive and transmit descriptor rings with legacy, context and data
 * transmit descriptors ({@link TxPacket}: checksum insertion and TCP segmentation). The
 * statistics registers count good, broadcast, multicast and missed packets and octets and
 * clear when read. Other registers a driver programs (flow control, TIPG, ITR, the delay
 * timers, PBA, LEDCTL, wake-up, MANC, VFTA) keep what is written and do nothing.
 *
 * <p>Time: work happens in the ioreq that caused it, bounded. A write to TDT sends from TDH
 * up to it in passes of at most {@value #TX_DESCRIPTORS_PER_PASS} descriptors (a pass also ends
 * once {@value #TX_FRAMES_PER_PASS} frames went out): the first in the ioreq, each further one
 * as dom0 work of its own ({@link #setDeferral}), in ring order; a frame from the switch goes
 * to the guest's buffers when it arrives. The
 * interrupt delay and throttling timers (TIDV, TADV, RDTR, RADV, ITR) are not modelled: causes
 * are raised at once. While the ring has no free descriptor, frames wait in the packet buffer
 * ({@value #BACKLOG} frames), are written when the driver moves RDT, and beyond that are
 * dropped and counted in MPC with an RXO interrupt.
 *
 * <p>Hostile drivers: a ring of zero length, a head or tail beyond the ring, and descriptors
 * or buffers outside the domain's memory stop that ring's work or fail that frame and are
 * counted; they never throw out of the device.
 */
public final class E1000 implements MmioDevice, SwitchPort, Unpluggable {
  public static final int VENDOR = 0x8086;
  public static final int DEVICE = 0x100E;
  public static final int REVISION = 3;
  public static final int SUBSYSTEM_VENDOR = 0x8086;
  public static final int SUBSYSTEM = 0x001E;
  public static final int MMIO_SIZE = 0x20000;
  public static final int IO_SIZE = 64;
  public static final int BACKLOG = 64;
  private static final int SUBSYSTEM_ID = 0x2E;

  /**
   * Transmit descriptors one pass handles at most. A TDT (or TCTL) write runs one pass in the
   * ioreq; what is left goes on in further passes, each deferred dom0 work of its own
   * ({@link #setDeferral}). A 1 MiB ring is 65,536 descriptors.
   */
  public static final int TX_DESCRIPTORS_PER_PASS = 4096;
  /**
   * Frames after which a pass takes no further descriptor. One packet is not split, so a pass
   * ends at most one packet's frames beyond it (a 64 KiB TSO packet of MSS 1: 65,536), and a
   * ring of such packets goes out packet by packet rather than in one write's 2x10^9 frames.
   */
  public static final int TX_FRAMES_PER_PASS = 4096;

  /** Where the device model puts a transmit pass to run later, in its own time. */
  @FunctionalInterface
  public interface Deferral {
    /** Runs {@code pass} later, after what is already pending. */
    void later(Runnable pass);
  }

  private static final int DESC = 16;
  /** The largest frame a buffer chain takes: 16 KiB (RCTL.LPE with BSEX buffers). */
  private static final int MAX_RX = 16384;
  /** Without RCTL.LPE: 1522 bytes with a VLAN tag and the FCS. */
  private static final int MAX_STANDARD = 1522;

  private final String name;
  private final String pciName;
  private final PciFunction pci;
  private final GuestDma dma;
  private final MicrowireEeprom eeprom;
  private final M88e1011Phy phy = new M88e1011Phy();
  private final int[] regs = new int[MMIO_SIZE / 4];
  private final TxPacket tx = new TxPacket();
  private final byte[] desc = new byte[DESC];
  private final byte[] rxFrame = new byte[MAX_RX + 8];
  private final FrameBacklog backlog = new FrameBacklog(BACKLOG, this::receive);
  private final byte[] mac;
  private final PortDevice ioWindow = new IoWindow();
  private final TxPacket.Sender sender = this::sendFrame;
  private final java.util.zip.CRC32 crc = new java.util.zip.CRC32();
  private int ioAddr;
  private boolean unplugged;
  /** Null: the passes run one after another at once (a card outside a device model). */
  private Deferral deferral;
  /** A pass is waiting in {@link #deferral}: the one that will go on from TDH. */
  private boolean txPassPending;
  private long txPasses;
  private long txDeferredPasses;
  private FrameSink toSwitch;

  // What the device model counts (not guest-visible).
  private long mmioReads;
  private long mmioWrites;
  private long ioAccesses;
  private long interrupts;
  private long txFrames;
  private long txBytes;
  private long rxFrames;
  private long rxBytes;
  private long rxFiltered;
  private long rxDropped;
  private long dmaErrors;
  private long ringErrors;
  private long txDropped;
  private long unknownRegisters;

  /**
   * @param name the switch port's name ({@code e1000D.N})
   * @param mac the card's address (its EEPROM's words 0-2), six bytes
   * @param dma the domain's memory
   */
  public E1000(String name, byte[] mac, GuestDma dma) {
    if (mac.length != 6) {
      throw new IllegalArgumentException("a MAC address has 6 bytes, not " + mac.length);
    }
    this.name = name;
    this.mac = mac.clone();
    this.dma = dma;
    this.pciName = "e1000 " + name;
    this.eeprom = new MicrowireEeprom(mac, DEVICE, SUBSYSTEM, SUBSYSTEM_VENDOR);
    this.pci = new PciFunction(pciName, VENDOR, DEVICE, REVISION, 0x020000, 0)
        .reset(PciFunction.SUBSYSTEM_VENDOR_ID, 2, SUBSYSTEM_VENDOR)
        .reset(SUBSYSTEM_ID, 2, SUBSYSTEM)
        .memoryBar(0, MMIO_SIZE, false, this)
        .ioBar(1, IO_SIZE, ioWindow)
        .interruptPin(1);
    reset();
  }

  /** The PCI function to attach to the bus. */
  public PciFunction function() {
    return pci;
  }

  /** What BAR1 decodes: IOADDR at 0 and IODATA at 4. */
  public PortDevice ioWindow() {
    return ioWindow;
  }

  /** The MAC's reset (power-on and CTRL.RST): registers to their defaults, rings stopped. */
  private void reset() {
    java.util.Arrays.fill(regs, 0);
    regs[CTRL / 4] = CTRL_FD;
    regs[EECD / 4] = EECD_PRES | EECD_FWE_DISABLED;
    regs[VET / 4] = 0x8100;
    regs[LEDCTL / 4] = 0x07068302;
    regs[PBA / 4] = 0x0030; // 48 KiB receive, 16 KiB transmit packet buffer
    regs[RXCSUM / 4] = 14; // PCSS: the packet checksum starts after the Ethernet header
    regs[TIPG / 4] = 0;
    regs[MANC / 4] = 0;
    // The receive address 0 comes from the EEPROM, valid.
    regs[RA / 4] = (mac[0] & 0xFF) | (mac[1] & 0xFF) << 8 | (mac[2] & 0xFF) << 16
        | (mac[3] & 0xFF) << 24;
    regs[RA / 4 + 1] = (mac[4] & 0xFF) | (mac[5] & 0xFF) << 8 | RAH_AV;
    tx.clear();
    tx.ipcss = tx.ipcso = tx.ipcse = tx.tucss = tx.tucso = tx.tucse = 0;
    tx.tucmd = tx.hdrlen = tx.mss = 0;
    eeprom.reset();
    backlog.clear();
    updateIrq();
  }

  // ---- registers ----

  @Override
  public int read(long offset, int size) {
    mmioReads++;
    int at = (int) offset;
    int v = readRegister(at & ~3);
    int shift = 8 * (at & 3);
    v >>>= shift;
    return size == 4 ? v : v & ((1 << (8 * size)) - 1);
  }

  @Override
  public void write(long offset, int size, int value) {
    mmioWrites++;
    int at = (int) offset;
    if (size == 4 && (at & 3) == 0) {
      writeRegister(at, value);
      return;
    }
    // The manual defines doubleword accesses only; a narrower write merges into what is held.
    int base = at & ~3;
    int shift = 8 * (at & 3);
    int mask = (size == 4 ? -1 : (1 << (8 * size)) - 1) << shift;
    writeRegister(base, (regs[base / 4] & ~mask) | ((value << shift) & mask));
  }

  private int readRegister(int r) {
    if (unplugged || r < 0 || r >= MMIO_SIZE) {
      return -1;
    }
    switch (r) {
      case STATUS:
        return status();
      case EECD: {
        int v = regs[EECD / 4] & ~(EECD_DO | EECD_GNT);
        if ((v & EECD_REQ) != 0) {
          v |= EECD_GNT; // nothing else owns the EEPROM: granted at once
        }
        return eeprom.dataOut() ? v | EECD_DO : v;
      }
      case ICR: {
        int v = regs[ICR / 4];
        regs[ICR / 4] = 0;
        updateIrq();
        return v;
      }
      case ICS:
        return 0; // write-only
      case IMC:
        return 0; // write-only
      case RDH:
      case RDT:
      case TDH:
      case TDT:
        return regs[r / 4] & 0xFFFF;
      default:
        break;
    }
    if (r >= STATS_FIRST && r < STATS_END) {
      int v = regs[r / 4];
      regs[r / 4] = 0;
      return v;
    }
    if (!known(r)) {
      unknownRegisters++;
      return 0;
    }
    return regs[r / 4];
  }

  private int status() {
    int s = STATUS_FD | STATUS_SPEED_1000 | STATUS_ASDV_1000;
    if ((regs[CTRL / 4] & CTRL_SLU) != 0) {
      s |= STATUS_LU;
    }
    return s;
  }

  /** True if the link is up (the driver set CTRL.SLU; the cable is always in). */
  public boolean linkUp() {
    return (status() & STATUS_LU) != 0;
  }

  private void writeRegister(int r, int v) {
    if (unplugged || r < 0 || r >= MMIO_SIZE) {
      return;
    }
    switch (r) {
      case CTRL -> writeCtrl(v);
      case STATUS -> { } // read-only
      case EECD -> {
        int held = regs[EECD / 4] & ~EECD_WRITABLE;
        regs[EECD / 4] = held | (v & EECD_WRITABLE);
        eeprom.drive((v & EECD_CS) != 0, (v & EECD_SK) != 0, (v & EECD_DI) != 0);
      }
      case EERD -> {
        if ((v & EERD_START) != 0) {
          int addr = (v >>> EERD_ADDR_SHIFT) & 0xFF;
          regs[EERD / 4] = eeprom.word(addr) << EERD_DATA_SHIFT | addr << EERD_ADDR_SHIFT
              | EERD_DONE;
        }
      }
      case MDIC -> writeMdic(v);
      case ICR -> {
        // Writing ones clears those causes.
        regs[ICR / 4] &= ~v;
        updateIrq();
      }
      case ICS -> raise(v & ICR_VALID);
      case IMS -> {
        regs[IMS / 4] |= v & ICR_VALID;
        updateIrq();
      }
      case IMC -> {
        regs[IMS / 4] &= ~v;
        updateIrq();
      }
      case RCTL -> {
        boolean was = (regs[RCTL / 4] & RCTL_EN) != 0;
        regs[RCTL / 4] = v;
        if (!was && (v & RCTL_EN) != 0) {
          drainBacklog();
        }
      }
      case TCTL -> {
        regs[TCTL / 4] = v;
        if ((v & TCTL_EN) != 0) {
          transmit();
        }
      }
      case RDLEN, TDLEN -> regs[r / 4] = v & 0x000F_FF80; // 128-byte multiples, 1 MiB at most
      case RDBAL, TDBAL -> regs[r / 4] = v & ~0xF; // 16-byte aligned
      case RDH, TDH -> regs[r / 4] = v & 0xFFFF;
      case RDT -> {
        regs[RDT / 4] = v & 0xFFFF;
        drainBacklog();
      }
      case TDT -> {
        regs[TDT / 4] = v & 0xFFFF;
        transmit();
      }
      default -> {
        if (r >= STATS_FIRST && r < STATS_END) {
          return; // read-only counters
        }
        if (!known(r)) {
          unknownRegisters++;
          return;
        }
        regs[r / 4] = v;
      }
    }
  }

  private static boolean known(int r) {
    return switch (r) {
      case CTRL, STATUS, EECD, EERD, CTRL_EXT, MDIC, FCAL, FCAH, FCT, VET, ICR, ITR, ICS, IMS,
          IMC, RCTL, FCTTV, TXCW, RXCW, TCTL, TIPG, LEDCTL, PBA, FCRTL, FCRTH, RDBAL, RDBAH,
          RDLEN, RDH, RDT, RDTR, RXDCTL, RADV, RSRPD, TDBAL, TDBAH, TDLEN, TDH, TDT, TIDV,
          TXDCTL, TADV, RXCSUM, WUC, WUFC, WUS, MANC -> true;
      default -> (r >= MTA && r < MTA + 512) || (r >= RA && r < RA + 128)
          || (r >= VFTA && r < VFTA + 512);
    };
  }

  private void writeCtrl(int v) {
    if ((v & CTRL_RST) != 0) {
      reset(); // RST clears itself; the PCI configuration stays
      return;
    }
    boolean linkWas = linkUp();
    boolean phyReset = (regs[CTRL / 4] & CTRL_PHY_RST) != 0;
    regs[CTRL / 4] = v;
    if (phyReset && (v & CTRL_PHY_RST) == 0) {
      phy.reset(); // the PHY comes out of reset with its defaults
    }
    if (linkUp() != linkWas) {
      raise(ICR_LSC);
    }
  }

  private void writeMdic(int v) {
    int phyAddr = (v >>> MDIC_PHY_SHIFT) & 31;
    int reg = (v >>> MDIC_REG_SHIFT) & 31;
    int op = v & (3 << 26);
    int result = v & ~(MDIC_READY | MDIC_ERROR);
    if (phyAddr != M88e1011Phy.ADDRESS || (op != MDIC_OP_READ && op != MDIC_OP_WRITE)) {
      result |= MDIC_ERROR; // nobody answers at that address
    } else if (op == MDIC_OP_READ) {
      result = (result & ~0xFFFF) | phy.read(reg);
    } else {
      phy.write(reg, v & 0xFFFF);
    }
    regs[MDIC / 4] = result | MDIC_READY;
    raise(ICR_MDAC);
  }

  private void raise(int causes) {
    if (causes == 0) {
      return;
    }
    regs[ICR / 4] |= causes;
    updateIrq();
  }

  private void updateIrq() {
    boolean level = !unplugged && (regs[ICR / 4] & regs[IMS / 4]) != 0;
    if (level && !pci.irqLevel()) {
      interrupts++;
    }
    pci.setIrq(level);
  }

  /** IOADDR and IODATA, the I/O BAR's window onto the registers (8254x manual, 13.2). */
  private final class IoWindow implements PortDevice {
    @Override
    public int in(int port, int size) {
      ioAccesses++;
      if (unplugged) {
        return -1;
      }
      int v = switch (port & ~3) {
        case 0 -> ioAddr;
        case 4 -> readRegister(ioAddr & ~3 & (MMIO_SIZE - 1));
        default -> 0;
      };
      v >>>= 8 * (port & 3);
      return size == 4 ? v : v & ((1 << (8 * size)) - 1);
    }

    @Override
    public void out(int port, int size, int value) {
      ioAccesses++;
      if (size != 4 || unplugged) {
        return; // only doubleword accesses are defined
      }
      switch (port) {
        case 0 -> ioAddr = value & 0x7FFFF;
        case 4 -> writeRegister(ioAddr & ~3 & (MMIO_SIZE - 1), value);
        default -> { }
      }
    }
  }

  // ---- transmit ----

  /**
   * Transmit work beyond one pass ({@value #TX_DESCRIPTORS_PER_PASS} descriptors, or
   * {@value #TX_FRAMES_PER_PASS} frames) goes to {@code d}: the device model gives it dom0
   * work of its own, so that no single ioreq of a hostile driver's makes dom0 walk a whole
   * ring of TSO packets. Without one, the passes run at once, one after another.
   */
  public void setDeferral(Deferral d) {
    this.deferral = d;
  }

  /** The ring as the driver left it with TDT: one pass now, the rest deferred. */
  private void transmit() {
    if (txPassPending) {
      // A deferred pass goes on from TDH, in order, up to whatever TDT is by then.
      return;
    }
    if (deferral == null) {
      while (transmitPass()) {
        // Passes one after another: nothing to wait for.
      }
    } else if (transmitPass()) {
      txPassPending = true;
      txDeferredPasses++;
      deferral.later(this::deferredPass);
    }
  }

  private void deferredPass() {
    txPassPending = false;
    if (!unplugged) {
      transmit();
    }
  }

  /**
   * Sends from TDH towards TDT, at most one pass's work; returns true when descriptors are left
   * for another pass.
   */
  private boolean transmitPass() {
    if ((regs[TCTL / 4] & TCTL_EN) == 0) {
      return false;
    }
    int n = regs[TDLEN / 4] / DESC;
    int head = regs[TDH / 4];
    int tail = regs[TDT / 4];
    if (head == tail) {
      return false;
    }
    if (n == 0 || head >= n || tail >= n) {
      ringErrors++;
      return false;
    }
    txPasses++;
    long base = (regs[TDBAH / 4] & 0xFFFF_FFFFL) << 32 | (regs[TDBAL / 4] & 0xFFFF_FFFFL);
    int causes = 0;
    long framesBefore = txFrames;
    boolean more = false;
    for (int guard = 0; head != tail && guard < n; guard++) {
      if (guard == TX_DESCRIPTORS_PER_PASS || txFrames - framesBefore >= TX_FRAMES_PER_PASS) {
        more = true;
        break;
      }
      long at = base + (long) head * DESC;
      try {
        dma.read(at, desc, 0, DESC);
        int cmd = txDescriptor();
        if ((cmd & TXD_CMD_RS) != 0) {
          desc[12] |= TXD_STAT_DD;
          dma.write(at + 12, desc, 12, 1);
          causes |= ICR_TXDW;
        }
      } catch (IllegalArgumentException e) {
        // The ring itself is outside the domain's memory: the fetch fails (a master abort)
        // and the unit stops here, as it would, until the driver moves the tail again.
        dmaErrors++;
        tx.clear();
        break;
      }
      head = (head + 1) % n;
      regs[TDH / 4] = head;
    }
    if (head == tail) {
      causes |= ICR_TXQE;
    }
    raise(causes);
    return more;
  }

  /** Transmit passes run, and how many of them were deferred (for tests and reports). */
  public long transmitPasses() {
    return txPasses;
  }

  public long deferredTransmitPasses() {
    return txDeferredPasses;
  }

  /** Handles the descriptor in {@link #desc}; returns its command byte. */
  private int txDescriptor() {
    long buffer = le64(0);
    int lower = le32(8);
    int upper = le32(12);
    int cmd = lower >>> 24;
    if ((cmd & TXD_CMD_DEXT) == 0) {
      // Legacy: length, CSO, CMD; STA, CSS, special.
      int len = lower & 0xFFFF;
      if (!tx.started) {
        tx.started = true;
        tx.legacyChecksum = (cmd & TXD_CMD_IC) != 0;
        tx.legacyCso = (lower >>> 16) & 0xFF;
        tx.legacyCss = (upper >>> 8) & 0xFF;
      }
      gather(buffer, len);
      if ((cmd & TXD_CMD_EOP) != 0) {
        tx.vle = (cmd & TXD_CMD_VLE) != 0;
        tx.vlanTag = upper >>> 16;
        endPacket();
      }
      return cmd;
    }
    int dtyp = (lower >>> 20) & 0xF;
    if (dtyp == TXD_DTYP_CONTEXT) {
      tx.ipcss = desc[0] & 0xFF;
      tx.ipcso = desc[1] & 0xFF;
      tx.ipcse = (desc[2] & 0xFF) | (desc[3] & 0xFF) << 8;
      tx.tucss = desc[4] & 0xFF;
      tx.tucso = desc[5] & 0xFF;
      tx.tucse = (desc[6] & 0xFF) | (desc[7] & 0xFF) << 8;
      tx.tucmd = cmd;
      tx.hdrlen = desc[13] & 0xFF;
      tx.mss = (desc[14] & 0xFF) | (desc[15] & 0xFF) << 8;
      return cmd;
    }
    if (dtyp != TXD_DTYP_DATA) {
      ringErrors++; // a reserved descriptor type: skipped
      return cmd;
    }
    int len = lower & 0xFFFFF;
    if (!tx.started) {
      tx.started = true;
      tx.popts = (upper >>> 8) & 0xFF;
      tx.tse = (cmd & TXD_CMD_TSE) != 0;
    }
    gather(buffer, len);
    if ((cmd & TXD_CMD_EOP) != 0) {
      tx.vle = (cmd & TXD_CMD_VLE) != 0;
      tx.vlanTag = upper >>> 16;
      endPacket();
    }
    return cmd;
  }

  private void gather(long buffer, int len) {
    if (len == 0 || !tx.reserve(len)) {
      return;
    }
    try {
      dma.read(buffer, tx.data, tx.length, len);
      tx.length += len;
    } catch (IllegalArgumentException e) {
      dmaErrors++;
      tx.overflow = true; // the packet is lost, the ring goes on
    }
  }

  private void endPacket() {
    if (tx.overflow) {
      txDropped++;
    } else {
      tx.finish(regs[VET / 4] & 0xFFFF, (regs[TCTL / 4] & TCTL_PSP) != 0, sender);
    }
    tx.clear();
  }

  private void sendFrame(byte[] frame, int length) {
    txFrames++;
    txBytes += length;
    count(GPTC, 1);
    count(TPT, 1);
    countOctets(GOTCL, GOTCH, length + 4);
    countOctets(TOTL, TOTH, length + 4);
    if (length >= 6 && (frame[0] & 1) != 0) {
      count((frame[0] & 0xFF) == 0xFF && isBroadcast(frame, 0) ? BPTC : MPTC, 1);
    }
    FrameSink s = toSwitch;
    if (s != null) {
      s.send(this, frame, 0, length);
    }
  }

  // ---- receive ----

  @Override
  public void deliver(byte[] frame, int offset, int length) {
    if (unplugged || (regs[RCTL / 4] & RCTL_EN) == 0 || !linkUp() || length < 14) {
      rxDropped++;
      return;
    }
    if (!accepts(frame, offset, length)) {
      rxFiltered++;
      return;
    }
    switch (backlog.offer(frame, offset, length)) {
      case RECEIVED -> { }
      case QUEUED -> count(RNBC, 1); // no buffers: it waits in the packet buffer
      case DROPPED -> {
        rxDropped++;
        count(MPC, 1);
        raise(ICR_RXO);
      }
    }
  }

  private void drainBacklog() {
    if ((regs[RCTL / 4] & RCTL_EN) == 0) {
      return;
    }
    backlog.drain();
  }

  /** The destination filter (8254x manual, 3.2.1): exact addresses, multicast hash, modes. */
  private boolean accepts(byte[] f, int off, int len) {
    int rctl = regs[RCTL / 4];
    boolean multicast = (f[off] & 1) != 0;
    if (multicast) {
      if (isBroadcast(f, off)) {
        return (rctl & (RCTL_BAM | RCTL_MPE)) != 0;
      }
      if ((rctl & RCTL_MPE) != 0) {
        return true;
      }
      int shift = switch ((rctl >>> RCTL_MO_SHIFT) & 3) {
        case 0 -> 4;
        case 1 -> 3;
        case 2 -> 2;
        default -> 0;
      };
      int hash = (((f[off + 4] & 0xFF) | (f[off + 5] & 0xFF) << 8) >>> shift) & 0xFFF;
      return (regs[MTA / 4 + (hash >>> 5)] & (1 << (hash & 31))) != 0;
    }
    if ((rctl & RCTL_UPE) != 0) {
      return true;
    }
    int lo = (f[off] & 0xFF) | (f[off + 1] & 0xFF) << 8 | (f[off + 2] & 0xFF) << 16
        | (f[off + 3] & 0xFF) << 24;
    int hi = (f[off + 4] & 0xFF) | (f[off + 5] & 0xFF) << 8;
    for (int i = 0; i < 16; i++) {
      int ral = regs[RA / 4 + 2 * i];
      int rah = regs[RA / 4 + 2 * i + 1];
      // RAH bits 17:16 select destination (00) or source matching; only destination is used.
      if ((rah & RAH_AV) != 0 && ((rah >>> 16) & 3) == 0 && ral == lo && (rah & 0xFFFF) == hi) {
        return true;
      }
    }
    return false;
  }

  private static boolean isBroadcast(byte[] f, int off) {
    for (int i = 0; i < 6; i++) {
      if (f[off + i] != (byte) 0xFF) {
        return false;
      }
    }
    return true;
  }

  /** The receive buffer size RCTL selects. */
  private int bufferSize() {
    int rctl = regs[RCTL / 4];
    int bsize = (rctl >>> RCTL_BSIZE_SHIFT) & 3;
    if ((rctl & RCTL_BSEX) != 0) {
      return bsize == 0 ? 2048 : 32768 >>> bsize; // 00 is reserved; 16384, 8192, 4096
    }
    return 2048 >>> bsize;
  }

  /**
   * Writes one frame into the ring; false if there are not enough free descriptors (the frame
   * stays in the packet buffer). A frame the card cannot take is consumed and counted.
   */
  private boolean receive(byte[] frame, int offset, int length) {
    int rctl = regs[RCTL / 4];
    int n = regs[RDLEN / 4] / DESC;
    int head = regs[RDH / 4];
    int tail = regs[RDT / 4];
    if (n == 0 || head >= n || tail >= n) {
      if (n != 0) {
        ringErrors++;
      }
      return false;
    }
    // Build what lands in memory: the frame, VLAN tag stripped, padded to 60, FCS unless SECRC.
    int special = 0;
    int status = RXD_STAT_DD;
    int len = length;
    int vet = regs[VET / 4] & 0xFFFF;
    boolean tagged = length >= 18 && ((frame[offset + 12] & 0xFF) << 8
        | (frame[offset + 13] & 0xFF)) == vet;
    int maxLen = (rctl & RCTL_LPE) != 0 ? MAX_RX - 4 : MAX_STANDARD - 4;
    if (length > maxLen) {
      rxDropped++; // a long packet without LPE: the MAC discards it
      return true;
    }
    if (tagged && (regs[CTRL / 4] & CTRL_VME) != 0) {
      special = (frame[offset + 14] & 0xFF) << 8 | (frame[offset + 15] & 0xFF);
      System.arraycopy(frame, offset, rxFrame, 0, 12);
      System.arraycopy(frame, offset + 16, rxFrame, 12, length - 16);
      len = length - 4;
      status |= RXD_STAT_VP;
    } else {
      System.arraycopy(frame, offset, rxFrame, 0, length);
    }
    if (len < TxPacket.MIN_FRAME) {
      java.util.Arrays.fill(rxFrame, len, TxPacket.MIN_FRAME, (byte) 0);
      len = TxPacket.MIN_FRAME;
    }
    int wireLen = len + 4;
    if ((rctl & RCTL_SECRC) == 0) {
      crc.reset();
      crc.update(rxFrame, 0, len);
      int fcs = (int) crc.getValue(); // sent least significant byte first
      rxFrame[len] = (byte) fcs;
      rxFrame[len + 1] = (byte) (fcs >>> 8);
      rxFrame[len + 2] = (byte) (fcs >>> 16);
      rxFrame[len + 3] = (byte) (fcs >>> 24);
      len += 4;
    }
    int bufSize = bufferSize();
    int needed = (len + bufSize - 1) / bufSize;
    int free = (tail - head + n) % n;
    if (free < needed) {
      return false;
    }
    int errors = 0;
    int rxcsum = regs[RXCSUM / 4];
    if ((rxcsum & (RXCSUM_IPOFLD | RXCSUM_TUOFLD)) == 0) {
      status |= RXD_STAT_IXSM;
    } else {
      int r = RxChecksum.check(rxFrame, wireLen - 4, (rxcsum & RXCSUM_IPOFLD) != 0,
          (rxcsum & RXCSUM_TUOFLD) != 0);
      status |= r & 0xFF;
      errors |= r >>> 8;
    }
    int pcss = rxcsum & 0xFF;
    int packetChecksum = pcss < wireLen - 4
        ? TxPacket.onesComplementSum(rxFrame, pcss, wireLen - 4 - pcss) : 0;
    long base = (regs[RDBAH / 4] & 0xFFFF_FFFFL) << 32 | (regs[RDBAL / 4] & 0xFFFF_FFFFL);
    int done = 0;
    boolean failed = false;
    for (int i = 0; i < needed; i++) {
      long at = base + (long) head * DESC;
      int chunk = Math.min(bufSize, len - done);
      boolean last = i == needed - 1;
      try {
        dma.read(at, desc, 0, 8);
        long buffer = le64(0);
        dma.write(buffer, rxFrame, done, chunk);
        desc[8] = (byte) chunk;
        desc[9] = (byte) (chunk >>> 8);
        desc[10] = (byte) packetChecksum;
        desc[11] = (byte) (packetChecksum >>> 8);
        desc[12] = (byte) (last ? status | RXD_STAT_EOP : RXD_STAT_DD);
        desc[13] = (byte) (last ? errors : 0);
        desc[14] = (byte) special;
        desc[15] = (byte) (special >>> 8);
        dma.write(at + 8, desc, 8, 8);
      } catch (IllegalArgumentException e) {
        dmaErrors++;
        failed = true; // the frame is lost; its descriptors are used up
      }
      done += chunk;
      head = (head + 1) % n;
      regs[RDH / 4] = head;
    }
    if (!failed) {
      rxFrames++;
      rxBytes += length;
      count(GPRC, 1);
      count(TPR, 1);
      countOctets(GORCL, GORCH, wireLen);
      countOctets(TORL, TORH, wireLen);
      if ((frame[offset] & 1) != 0) {
        count(isBroadcast(frame, offset) ? BPRC : MPRC, 1);
      }
    }
    int causes = ICR_RXT0;
    int freeNow = (tail - head + n) % n;
    int rdmts = (rctl >>> RCTL_RDMTS_SHIFT) & 3;
    if (rdmts < 3 && freeNow <= n >>> (rdmts + 1)) {
      causes |= ICR_RXDMT0; // free descriptors fell to the threshold: 1/2, 1/4 or 1/8
    }
    raise(causes);
    return true;
  }

  // ---- helpers ----

  private void count(int reg, int by) {
    regs[reg / 4] += by;
  }

  private void countOctets(int lo, int hi, int by) {
    long v = (regs[lo / 4] & 0xFFFF_FFFFL) | (long) regs[hi / 4] << 32;
    v += by;
    regs[lo / 4] = (int) v;
    regs[hi / 4] = (int) (v >>> 32);
  }

  private int le32(int at) {
    return (desc[at] & 0xFF) | (desc[at + 1] & 0xFF) << 8 | (desc[at + 2] & 0xFF) << 16
        | (desc[at + 3] & 0xFF) << 24;
  }

  private long le64(int at) {
    return (le32(at) & 0xFFFF_FFFFL) | (long) le32(at + 4) << 32;
  }

  // ---- the switch port ----

  @Override
  public String name() {
    return name;
  }

  @Override
  public void attach(FrameSink sink) {
    this.toSwitch = sink;
  }

  // ---- unplug ----

  @Override
  public Kind unplugKind() {
    return Kind.NIC;
  }

  @Override
  public String unplugName() {
    return pciName;
  }

  /** Set by the toolstack: what else the unplug does (leave the bus, leave the network). */
  private Runnable onUnplug = () -> { };

  public void onUnplug(Runnable r) {
    this.onUnplug = java.util.Objects.requireNonNull(r);
  }

  @Override
  public void unplug() {
    if (unplugged) {
      return;
    }
    unplugged = true;
    backlog.clear();
    pci.setIrq(false);
    onUnplug.run();
  }

  public boolean unplugged() {
    return unplugged;
  }

  // ---- counts ----

  public M88e1011Phy phy() {
    return phy;
  }

  public MicrowireEeprom eeprom() {
    return eeprom;
  }

  /** The device model's counts for this card. */
  public E1000Stats stats() {
    return new E1000Stats(mmioReads, mmioWrites, ioAccesses, interrupts, txFrames, txBytes,
        rxFrames, rxBytes, rxFiltered, rxDropped, txDropped, dmaErrors, ringErrors,
        unknownRegisters);
  }
}
