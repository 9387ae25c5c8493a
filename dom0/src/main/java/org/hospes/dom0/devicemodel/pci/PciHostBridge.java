package org.hospes.dom0.devicemodel.pci;

import java.util.Map;
import java.util.TreeMap;
import org.hospes.x86.MmioDevice;
import org.hospes.x86.PortDevice;

/**
 * PCI configuration mechanism #1 (PCI Local Bus Specification 3.0, 3.2.2.3.2) as an i440FX
 * host bridge decodes it: CONFIG_ADDRESS is the doubleword at 0xCF8 (bit 31 enables, bits 23-16
 * bus, 15-11 device, 10-8 function, 7-2 register; bits 30-24 and 1-0 read as zero) and
 * CONFIG_DATA the four bytes at 0xCFC-0xCFF, any of which an access may start at. Only
 * doubleword accesses reach CONFIG_ADDRESS: byte and word accesses at 0xCF8-0xCFB go to the ISA
 * bus (all ones, writes dropped), except the PIIX3's reset control register at 0xCF9, which is
 * kept (this machine has no reset line, so its reset request does nothing). With the enable
 * bit clear, or for a function nobody implements, reads give all ones and writes are dropped,
 * so a vendor ID of 0xFFFF says the slot is empty. Bus 0 is the only bus.
 *
 * <p>The bridge also decodes the functions' BARs ({@link #claimsIo}, {@link #claimsMemory}) and
 * connects each function's INTx to the platform as its slot's device number.
 */
public final class PciHostBridge implements PortDevice {
  public static final int CONFIG_ADDRESS = 0xCF8;
  public static final int RESET_CONTROL = 0xCF9;
  public static final int CONFIG_DATA = 0xCFC;
  public static final int PORT_COUNT = 8;
  public static final int ENABLE = 0x8000_0000;
  /**
   * One access to CONFIG_ADDRESS or CONFIG_DATA, in nanoseconds: six clocks of the 33 MHz PCI
   * bus (30 ns each, PCI Local Bus Specification 2.1 onwards): the address phase, DEVSEL# at
   * the slowest decode (three clocks), one data phase and the turnaround. CONFIG_ADDRESS lives
   * in the host bridge itself and does not go out on the bus; it is charged the same, as an
   * estimate of the chipset's round trip, since no published per-access figure was found.
   */
  public static final int CONFIG_ACCESS_NS = 6 * 30;
  /** The bits of CONFIG_ADDRESS that hold something: enable, bus, device, function, register. */
  static final int ADDRESS_MASK = ENABLE | 0x00FF_FFFC;

  private final Map<Integer, PciFunction> functions = new TreeMap<>();
  private final PciFunction.IntxSink intx;
  private PciFunction[] all = new PciFunction[0];
  private int address;

  /** A bridge whose functions' INTx go nowhere. */
  public PciHostBridge() {
    this((device, pin, high) -> { });
  }

  /** A bridge whose functions' INTx pins drive {@code intx}. */
  public PciHostBridge(PciFunction.IntxSink intx) {
    this.intx = intx;
  }
  private int resetControl;

  /** Puts {@code f} at bus 0, {@code device} (0-31), {@code function} (0-7). */
  public void attach(int device, int function, PciFunction f) {
    if (device < 0 || device > 31 || function < 0 || function > 7) {
      throw new IllegalArgumentException("no PCI slot " + device + "." + function);
    }
    if (functions.putIfAbsent(device << 3 | function, f) != null) {
      throw new IllegalArgumentException("PCI slot 00:" + device + "." + function + " is taken");
    }
    f.connect(device, intx);
    all = functions.values().toArray(new PciFunction[0]);
  }

  /**
   * Takes the function at bus 0, {@code device}.{@code function} off the bus (an unplug): its
   * configuration space then reads as an empty slot's and its BARs decode nothing. Nothing if
   * the slot is empty.
   */
  public void detach(int device, int function) {
    PciFunction f = functions.remove(device << 3 | function);
    if (f != null) {
      f.setIrq(false);
      all = functions.values().toArray(new PciFunction[0]);
    }
  }

  /** The attached functions, by slot. */
  public Map<Integer, PciFunction> functions() {
    return java.util.Collections.unmodifiableMap(functions);
  }

  /** True if a function's I/O BAR decodes {@code port}. */
  public boolean claimsIo(int port) {
    for (PciFunction f : all) {
      if (f.ioBarAt(port) >= 0) {
        return true;
      }
    }
    return false;
  }

  /** True if a function's memory BAR decodes guest-physical {@code gpa}. */
  public boolean claimsMemory(long gpa) {
    for (PciFunction f : all) {
      if (f.memoryBarAt(gpa) >= 0) {
        return true;
      }
    }
    return false;
  }

  /** An I/O BAR access; all ones if no BAR decodes the port. */
  public int ioIn(int port, int size) {
    for (PciFunction f : all) {
      int bar = f.ioBarAt(port);
      if (bar >= 0) {
        return f.ioDevice(bar).in((int) (port - f.barAddress(bar)), size);
      }
    }
    return size == 4 ? -1 : (1 << (8 * size)) - 1;
  }

  public void ioOut(int port, int size, int value) {
    for (PciFunction f : all) {
      int bar = f.ioBarAt(port);
      if (bar >= 0) {
        f.ioDevice(bar).out((int) (port - f.barAddress(bar)), size, value);
        return;
      }
    }
  }

  /** A memory BAR access; all ones if no BAR decodes the address. */
  public int memoryRead(long gpa, int size) {
    for (PciFunction f : all) {
      int bar = f.memoryBarAt(gpa);
      if (bar >= 0) {
        MmioDevice d = f.memoryDevice(bar);
        return d.read(gpa - f.barAddress(bar), size);
      }
    }
    return -1;
  }

  public void memoryWrite(long gpa, int size, int value) {
    for (PciFunction f : all) {
      int bar = f.memoryBarAt(gpa);
      if (bar >= 0) {
        f.memoryDevice(bar).write(gpa - f.barAddress(bar), size, value);
        return;
      }
    }
  }

  /** The function at bus 0 {@code device.function}, or null. */
  public PciFunction function(int device, int function) {
    return functions.get(device << 3 | function);
  }

  @Override
  public int in(int port, int size) {
    int ones = size == 4 ? -1 : (1 << (8 * size)) - 1;
    if (port >= CONFIG_DATA) {
      PciFunction f = selected();
      if (f == null) {
        return ones;
      }
      // Only the bytes up to 0xCFF are CONFIG_DATA's: the rest of an access that starts at
      // 0xCFD-0xCFF is beyond the doubleword (a processor splits such an access there) and
      // nobody decodes it, so it reads all ones; nor may it reach past the register.
      int n = inWindow(port, size);
      int v = f.read(register(port), n);
      return n < size ? v | ones & -1 << (8 * n) : v;
    }
    if (port == CONFIG_ADDRESS && size == 4) {
      return address;
    }
    if (port == RESET_CONTROL && size == 1) {
      return resetControl;
    }
    return ones;
  }

  @Override
  public void out(int port, int size, int value) {
    if (port >= CONFIG_DATA) {
      PciFunction f = selected();
      if (f != null) {
        f.write(register(port), inWindow(port, size), value);
      }
    } else if (port == CONFIG_ADDRESS && size == 4) {
      address = value & ADDRESS_MASK;
    } else if (port == RESET_CONTROL && size == 1) {
      // Bits 1 (hard reset) and 2 (reset CPU); only what the PIIX3 keeps is stored.
      resetControl = value & 0x06;
    }
  }

  /** Byte and word accesses at 0xCF8-0xCFB are the ISA bus's: the default port access. */
  @Override
  public int accessNanos(int port, int size) {
    return port >= CONFIG_DATA || (port == CONFIG_ADDRESS && size == 4) ? CONFIG_ACCESS_NS
        : UNTIMED;
  }

  private PciFunction selected() {
    if ((address & ENABLE) == 0 || (address >>> 16 & 0xFF) != 0) {
      return null;
    }
    return functions.get(address >>> 8 & 0xFF);
  }

  /** The bytes of an access at {@code port} that fall within CONFIG_DATA (0xCFC-0xCFF). */
  private static int inWindow(int port, int size) {
    return Math.min(size, CONFIG_DATA + 4 - port);
  }

  private int register(int port) {
    return (address & 0xFC) + (port - CONFIG_DATA);
  }
}
