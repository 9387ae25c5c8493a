package org.hospes.dom0.devicemodel.ide;

import org.hospes.dom0.devicemodel.GuestDma;
import org.hospes.dom0.devicemodel.HvmDeviceModel;
import org.hospes.dom0.devicemodel.pci.PciFunction;
import org.hospes.x86.PortDevice;

/**
 * The 82371SB PIIX3's IDE function (8086:7010) at 00:01.1, in compatibility mode as firmware
 * leaves it: class 01h/01h with programming interface 80h (a bus master, both channels on the
 * legacy ports and ISA IRQs, which cannot be switched to native mode). The primary channel
 * decodes 1F0h-1F7h and 3F6h and interrupts on IRQ 14, the secondary 170h-177h and 376h on IRQ
 * 15; BAR4 holds the 16 bytes of bus-master IDE registers (primary at 0, secondary at 8).
 * BARs 0-3 are not implemented, and the function has no INTx pin (PIIX3 datasheet, 2.3).
 *
 * <p>A channel answers only while the function's I/O Space Enable is set and its IDETIM
 * register (40h for the primary, 42h for the secondary) has IDE Decode Enable (bit 15) set;
 * this model starts with both enabled, as the BIOS leaves them (Linux's ata_piix checks them).
 * Otherwise the channel's ports float. IDETIM's timing bits and SIDETIM (44h) are stored only.
 */
public final class Piix3Ide {
  public static final int DEVICE_ID = 0x7010;
  /** Mass storage (01h), IDE (01h), bus master with both channels in compatibility mode. */
  public static final int CLASS_IDE = 0x01_01_80;
  public static final int SLOT = 1;
  public static final int FUNCTION = 1;
  public static final int IDETIM = 0x40;
  public static final int SIDETIM = 0x44;
  public static final int IDE_DECODE_ENABLE = 0x8000;
  public static final int BUS_MASTER_BAR = 4;
  public static final int[] COMMAND_BLOCK = {0x1F0, 0x170};
  public static final int[] CONTROL_BLOCK = {0x3F6, 0x376};
  public static final int[] IRQ = {14, 15};
  /** Four disks: primary master, primary slave, secondary master, secondary slave. */
  public static final int MAX_DISKS = 4;
  /**
   * One PIO cycle on the ATA cable, in nanoseconds: the minimum cycle time t0 of PIO mode 4,
   * the fastest mode the drives here report (IDENTIFY word 64), for data and register transfers
   * alike (ATA/ATAPI-4 onwards, PIO timing table: t0 of 600, 383, 240, 180 and 120 ns for data
   * transfers in modes 0-4; register transfers have 330 ns in mode 2, the same otherwise).
   * A 16-bit data access is one cycle; the controller splits a 32-bit one into two (the cable
   * is 16 bits wide), so REP INSD moves a sector in 128 accesses of 240 ns each. Byte accesses
   * to the task-file registers are one cycle too. On the bare PC this is what a port access to
   * the channel costs; in hvm the exit and the ioreq are charged instead.
   */
  public static final int PIO4_CYCLE_NS = 120;

  private final PciFunction function;
  private final IdeChannel[] channels = new IdeChannel[2];

  /** Where a machine puts a legacy device's fixed ports ({@code IoBus::register} fits). */
  @FunctionalInterface
  public interface Ports {
    void register(int first, int count, PortDevice device);
  }

  /**
   * A controller whose channels interrupt through {@code model}'s ISA IRQs and reach memory
   * through {@code dma}; {@link #attach} puts it on the model's bus and ports.
   */
  public Piix3Ide(HvmDeviceModel model, GuestDma dma) {
    this(irq -> level -> model.interrupts().setIsaIrqLevel(irq, level), dma);
  }

  /**
   * A controller whose channel {@code c} drives the line {@code isaIrq.apply(IRQ[c])} (the bare
   * native machine wires it to its PIC) and reaches memory through {@code dma}.
   */
  public Piix3Ide(java.util.function.IntFunction<org.hospes.dom0.devicemodel.IrqLine> isaIrq,
      GuestDma dma) {
    for (int c = 0; c < 2; c++) {
      channels[c] = new IdeChannel(isaIrq.apply(IRQ[c]), dma);
    }
    function = new PciFunction("PIIX3 IDE", 0x8086, DEVICE_ID, 0x00, CLASS_IDE, 0x00)
        .ioBar(BUS_MASTER_BAR, 16, new PortDevice() {
          @Override
          public int in(int port, int size) {
            return channels[(port >>> 3) & 1].readBusMaster(port & 7, size);
          }

          @Override
          public void out(int port, int size, int value) {
            channels[(port >>> 3) & 1].writeBusMaster(port & 7, size, value);
          }
        })
        .reset(IDETIM, 4, IDE_DECODE_ENABLE | IDE_DECODE_ENABLE << 16)
        .writable(IDETIM, 4, 0xF3FF_F3FF)
        .writable(SIDETIM, 1, 0xFF);
  }

  /** Puts the function at 00:01.1 and claims the legacy ports of both channels. */
  public void attach(HvmDeviceModel model) {
    attach(model.pci(), model::registerPorts);
  }

  /**
   * Puts the function at 00:01.1 of {@code pci} and the legacy ports of both channels on
   * {@code ports} (the native machine's own bus: no device model in between).
   */
  public void attach(org.hospes.dom0.devicemodel.pci.PciHostBridge pci, Ports ports) {
    pci.attach(SLOT, FUNCTION, function);
    for (int c = 0; c < 2; c++) {
      int ch = c;
      int base = COMMAND_BLOCK[c];
      ports.register(base, 8, new PortDevice() {
        @Override
        public int in(int port, int size) {
          return decodes(ch) ? channels[ch].readRegister(port - base, size) : floating(size);
        }

        @Override
        public void out(int port, int size, int value) {
          if (decodes(ch)) {
            channels[ch].writeRegister(port - base, size, value);
          }
        }

        @Override
        public int accessNanos(int port, int size) {
          return pioNanos(size);
        }
      });
      ports.register(CONTROL_BLOCK[c], 1, new PortDevice() {
        @Override
        public int in(int port, int size) {
          return decodes(ch) ? channels[ch].readAltStatus() : floating(size);
        }

        @Override
        public void out(int port, int size, int value) {
          if (decodes(ch)) {
            channels[ch].writeControl(value);
          }
        }

        @Override
        public int accessNanos(int port, int size) {
          return pioNanos(size);
        }
      });
    }
  }

  /** Bus time of one access of {@code size} bytes to a channel's ports: 16-bit cycles. */
  static int pioNanos(int size) {
    return size == 4 ? 2 * PIO4_CYCLE_NS : PIO4_CYCLE_NS;
  }

  private static int floating(int size) {
    return size == 1 ? 0xFF : size == 2 ? 0xFFFF : -1;
  }

  /** True while channel {@code c}'s legacy ports decode (I/O space and IDE decode enabled). */
  boolean decodes(int c) {
    return (function.read(PciFunction.COMMAND, 2) & PciFunction.COMMAND_IO) != 0
        && (function.read(IDETIM + 2 * c, 2) & IDE_DECODE_ENABLE) != 0;
  }

  public PciFunction function() {
    return function;
  }

  public IdeChannel channel(int c) {
    return channels[c];
  }

  /**
   * Connects {@code drive} at {@code position} 0-3 (hda primary master, hdb primary slave, hdc
   * secondary master, hdd secondary slave).
   */
  public void attachDisk(int position, AtaDrive drive) {
    if (position < 0 || position >= MAX_DISKS) {
      throw new IllegalArgumentException("IDE has four disk positions (hda..hdd), not "
          + position);
    }
    if (channels[position >>> 1].drive(position & 1) != null) {
      throw new IllegalArgumentException("IDE position hd" + (char) ('a' + position)
          + " already has a disk");
    }
    channels[position >>> 1].attach(position & 1, drive);
  }

  /**
   * The disk at {@code position} as Xen's unplug protocol sees it: an IDE disk (mask bit 0;
   * bit 2 too unless it is hda, the primary master) which, once unplugged, leaves its position
   * empty, so the channel answers as one without that drive and the image is left to the PV
   * back-end. The toolstack registers one per disk with
   * {@link HvmDeviceModel#registerUnpluggable}.
   */
  public org.hospes.dom0.devicemodel.Unpluggable unpluggable(int position) {
    if (position < 0 || position >= MAX_DISKS
        || channels[position >>> 1].drive(position & 1) == null) {
      throw new IllegalArgumentException("no IDE disk at position " + position);
    }
    AtaDrive drive = channels[position >>> 1].drive(position & 1);
    String name = "IDE disk hd" + (char) ('a' + position);
    return new org.hospes.dom0.devicemodel.Unpluggable() {
      @Override
      public Kind unplugKind() {
        return Kind.IDE_DISK;
      }

      @Override
      public boolean primaryMaster() {
        return position == 0;
      }

      @Override
      public String unplugName() {
        return name;
      }

      @Override
      public void unplug() {
        // Only the drive registered here: a later disk at the same position is another device.
        if (channels[position >>> 1].drive(position & 1) == drive) {
          channels[position >>> 1].attach(position & 1, null);
        }
      }
    };
  }

  /**
   * Removes every disk (Xen's emulated-device unplug, for a PVHVM guest that takes the same
   * images through its PV drivers); the channels then float as empty ones do.
   */
  public void unplugDisks() {
    for (IdeChannel c : channels) {
      c.attach(0, null);
      c.attach(1, null);
    }
  }

  /** Both channels' counts together. */
  public IdeStats stats() {
    IdeStats s = new IdeStats();
    s.add(channels[0].stats());
    s.add(channels[1].stats());
    return s;
  }
}
