package org.hospes.dom0.devicemodel.xen;

import org.hospes.dom0.devicemodel.pci.PciFunction;
import org.hospes.x86.MmioDevice;
import org.hospes.x86.PortDevice;

/**
 * Xen's platform PCI device, 5853:0001 ("XenSource, Inc. Xen Platform Device", revision 1,
 * class 0xFF8000, subsystem 5853:0001), the device a Xen-aware HVM guest's platform driver binds
 * to. It does little itself: BAR1, 16 MiB of prefetchable memory that nothing decodes, is the
 * guest-physical space where the guest asks the hypervisor (XENMEM_add_to_physmap) to put its
 * grant-table frames (what the hypervisor maps there never reaches the device model; the rest of
 * the BAR reads all ones and drops writes, counted); its INTA# is the line the hypervisor raises for event channels when the
 * guest picks the PCI INTx callback method; the unplug protocol lives on the fixed ports beside
 * it ({@link UnplugPorts}).
 *
 * <p>It sits at 00:03.0, where Xen guests usually find it (QEMU's emulated VGA takes slot 2
 * first; slot 2 stays free here for a display adapter). INTA# of slot 3 is PCI link
 * (3 + 0) mod 4 = PIRQD#, which firmware routes to IRQ 11. The device model never drives it:
 * the hypervisor raises the pin itself for the PCI INTx callback method, as Xen does.
 *
 * <p>BAR0, 256 bytes of I/O, keeps the older unplug requests that predate the port protocol (the
 * same document's "old SUSE PVonHVM" and "old Novell VMDP" sections): a byte 1 written at offset 4
 * unplugs disks and NICs; at offset 8, 1 unplugs disks and 2 NICs. Offset 0 is the platform
 * flags byte, which Xen's firmware writes to lock its ROM shadow; it is stored and read back and
 * has no other effect here. Every other access reads all ones.
 */
public final class XenPlatformPci {
  public static final int VENDOR = 0x5853;
  public static final int DEVICE = 0x0001;
  public static final int REVISION = 1;
  /** Base class 0xFF (none of the standard ones), subclass 0x80 ("other"), interface 0. */
  public static final int CLASS_CODE = 0xFF_80_00;
  public static final int SLOT = 3;
  public static final int IO_BAR = 0;
  public static final int IO_BAR_SIZE = 256;
  public static final int MEMORY_BAR = 1;
  public static final int MEMORY_BAR_SIZE = 16 << 20;
  /** BAR bit 3: the memory is prefetchable. */
  public static final int BAR_PREFETCHABLE = 0x08;
  /** INTERRUPT_PIN 1: INTA#. */
  public static final int PIN_INTA = 1;
  public static final int FLAGS_OFFSET = 0;
  public static final int SUSE_UNPLUG_OFFSET = 4;
  public static final int VMDP_UNPLUG_OFFSET = 8;

  private final PciFunction function;
  private final Unplugs unplugs;
  private int platformFlags;
  private long ignoredAccesses;

  public XenPlatformPci(Unplugs unplugs) {
    this.unplugs = unplugs;
    this.function = new PciFunction("xen-platform", VENDOR, DEVICE, REVISION, CLASS_CODE, 0x00)
        .reset(PciFunction.SUBSYSTEM_VENDOR_ID, 4, DEVICE << 16 | VENDOR)
        .interruptPin(PIN_INTA)
        .ioBar(IO_BAR, IO_BAR_SIZE, bar0)
        .memoryBar(MEMORY_BAR, MEMORY_BAR_SIZE, true, new Bar1());
  }

  /** The configuration space, for the host bridge. */
  public PciFunction function() {
    return function;
  }

  /** The guest-physical address BAR1 holds (where grant frames go). */
  public long grantSpaceBase() {
    return function.barAddress(MEMORY_BAR);
  }

  /** BAR0's registers, addressed by offset within the BAR (0-255). */
  public PortDevice ioBar() {
    return bar0;
  }

  private final Bar0 bar0 = new Bar0();

  private final class Bar0 implements PortDevice {
    @Override
    public int in(int offset, int size) {
      if (offset == FLAGS_OFFSET && size == 1) {
        return platformFlags;
      }
      ignoredAccesses++;
      return size == 4 ? -1 : (1 << (8 * size)) - 1;
    }

    @Override
    public void out(int offset, int size, int value) {
      int v = value & 0xFF;
      if (offset == FLAGS_OFFSET && size == 1) {
        platformFlags = v;
      } else if (offset == SUSE_UNPLUG_OFFSET && size == 1 && v == 1) {
        unplugs.apply(Unplugs.ALL_IDE_DISKS | Unplugs.ALL_NICS);
      } else if (offset == VMDP_UNPLUG_OFFSET && size == 1 && (v == 1 || v == 2)) {
        unplugs.apply(v == 1 ? Unplugs.ALL_IDE_DISKS : Unplugs.ALL_NICS);
      } else {
        ignoredAccesses++;
      }
    }
  }

  /** BAR1 where no grant frame is mapped: nothing there. */
  private final class Bar1 implements MmioDevice {
    @Override
    public int read(long offset, int size) {
      ignoredAccesses++;
      return size == 4 ? -1 : (1 << (8 * size)) - 1;
    }

    @Override
    public void write(long offset, int size, int value) {
      ignoredAccesses++;
    }
  }

  /** BAR0 and BAR1 accesses that meant nothing. */
  public long ignoredAccesses() {
    return ignoredAccesses;
  }
}
