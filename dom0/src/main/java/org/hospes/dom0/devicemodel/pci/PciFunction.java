package org.hospes.dom0.devicemodel.pci;

import org.hospes.x86.MmioDevice;
import org.hospes.x86.PortDevice;

/**
 * The 256-byte configuration space of one PCI function with a type 0 header (PCI Local Bus
 * Specification 3.0, section 6.1), as software sees it through a host bridge: a value per byte
 * and a mask of the bits software may write. Reads outside the function's registers return 0, as
 * reserved registers do; writes change only writable bits.
 *
 * <p>A base address register claims a naturally aligned window of {@code size} (a power of two)
 * bytes: its low bits are read-only (bit 0 = 1 for I/O space; bits 2-1 = 00 for a 32-bit memory
 * BAR), and the address bits below the size read as zero, so writing all ones and reading back
 * gives {@code ~(size - 1)} plus the type bits: the sizing the specification describes (6.2.5.1).
 * A BAR may have a device behind it ({@link #ioBar}, {@link #memoryBar}), which the host bridge
 * reaches at the address the guest programmed while the command register enables that space;
 * the device sees offsets within its BAR.
 *
 * <p>The function's INTx pin ({@link #interruptPin}) is driven with {@link #setIrq}: the level
 * shows in the status register's interrupt bit and reaches the platform, through the link the
 * bridge's slot swizzles it to, unless the command register's Interrupt Disable bit is set.
 */
public final class PciFunction {
  public static final int SIZE = 256;

  public static final int VENDOR_ID = 0x00;
  public static final int DEVICE_ID = 0x02;
  public static final int COMMAND = 0x04;
  public static final int STATUS = 0x06;
  public static final int REVISION_ID = 0x08;
  public static final int CLASS_PROG = 0x09;
  public static final int CACHE_LINE_SIZE = 0x0C;
  public static final int LATENCY_TIMER = 0x0D;
  public static final int HEADER_TYPE = 0x0E;
  public static final int BAR0 = 0x10;
  public static final int SUBSYSTEM_VENDOR_ID = 0x2C;
  /** The offset of the first capability, valid when status bit 4 is set (PCI 3.0, 6.7). */
  public static final int CAPABILITIES_POINTER = 0x34;
  public static final int INTERRUPT_LINE = 0x3C;
  public static final int INTERRUPT_PIN = 0x3D;

  /** Header type bit 7: the device has functions besides 0. */
  public static final int HEADER_MULTI_FUNCTION = 0x80;
  public static final int BAR_IO = 0x01;

  // Command register bits software may set on a function that decodes nothing by BARs.
  public static final int COMMAND_IO = 0x0001;
  public static final int COMMAND_MEMORY = 0x0002;
  public static final int COMMAND_MASTER = 0x0004;
  public static final int COMMAND_PARITY = 0x0040;
  public static final int COMMAND_SERR = 0x0100;
  /** Command bit 10: the function may not assert INTx (PCI 2.3). */
  public static final int COMMAND_INTX_DISABLE = 0x0400;
  /** Status bit 3: the function's INTx is asserted, whatever the command register says. */
  public static final int STATUS_INTERRUPT = 0x0008;
  /** Status bit 4: the capabilities pointer at 0x34 heads a list. */
  public static final int STATUS_CAPABILITIES = 0x0010;
  public static final int BAR_PREFETCHABLE = 0x08;

  /** Where a function's INTx goes: set by the bridge the function is attached to. */
  @FunctionalInterface
  public interface IntxSink {
    void set(int device, int intx, boolean high);
  }

  /** Told after software wrote configuration space, for registers with side effects. */
  @FunctionalInterface
  public interface WriteListener {
    void written(int offset, int size, int value);
  }

  private final String name;
  private final byte[] config = new byte[SIZE];
  private final byte[] writable = new byte[SIZE];
  private final int[] barBytes = new int[6];
  private final PortDevice[] ioDevice = new PortDevice[6];
  private final MmioDevice[] memoryDevice = new MmioDevice[6];
  private WriteListener listener;
  private IntxSink intx;
  private int slot = -1;
  private boolean irqLevel;
  private boolean intxDriven;
  /** The last capability in the list, 0 while there is none. */
  private int lastCapability;

  /**
   * A function with these identifiers; the command register's I/O, memory, bus-master, parity
   * and SERR# bits, the cache line size, latency timer and interrupt line are writable.
   *
   * @param classCode base class, subclass and programming interface, as 0xBBSSPP
   */
  public PciFunction(String name, int vendor, int device, int revision, int classCode,
      int headerType) {
    this.name = name;
    set16(VENDOR_ID, vendor);
    set16(DEVICE_ID, device);
    config[REVISION_ID] = (byte) revision;
    config[CLASS_PROG] = (byte) classCode;
    config[CLASS_PROG + 1] = (byte) (classCode >> 8);
    config[CLASS_PROG + 2] = (byte) (classCode >> 16);
    config[HEADER_TYPE] = (byte) headerType;
    writable(COMMAND, 2, COMMAND_IO | COMMAND_MEMORY | COMMAND_MASTER | COMMAND_PARITY
        | COMMAND_SERR | COMMAND_INTX_DISABLE);
    writable(CACHE_LINE_SIZE, 1, 0xFF);
    writable(LATENCY_TIMER, 1, 0xFF);
    writable(INTERRUPT_LINE, 1, 0xFF);
  }

  public String name() {
    return name;
  }

  /** Sets {@code size} bytes at {@code offset} as the device resets them. */
  public PciFunction reset(int offset, int size, int value) {
    for (int i = 0; i < size; i++) {
      config[offset + i] = (byte) (value >>> (8 * i));
    }
    return this;
  }

  /** Makes bits of {@code size} bytes at {@code offset} writable by software. */
  public PciFunction writable(int offset, int size, int mask) {
    for (int i = 0; i < size; i++) {
      writable[offset + i] = (byte) (mask >>> (8 * i));
    }
    return this;
  }

  /**
   * Base address register {@code index} (0-5) decoding {@code size} bytes of I/O or 32-bit
   * memory space; it starts unassigned (address 0).
   */
  public PciFunction bar(int index, int size, boolean io) {
    if (index < 0 || index > 5 || Integer.bitCount(size) != 1 || size < (io ? 4 : 16)) {
      throw new IllegalArgumentException("bad BAR " + index + " of " + size + " bytes");
    }
    int at = BAR0 + 4 * index;
    reset(at, 4, io ? BAR_IO : 0);
    writable(at, 4, -size);
    return this;
  }

  /** An I/O BAR of {@code size} bytes with {@code device} behind it (it sees the offset as port). */
  public PciFunction ioBar(int index, int size, PortDevice device) {
    bar(index, size, true);
    barBytes[index] = size;
    ioDevice[index] = device;
    return this;
  }

  /** A 32-bit memory BAR of {@code size} bytes with {@code device} behind it. */
  public PciFunction memoryBar(int index, int size, boolean prefetchable, MmioDevice device) {
    bar(index, size, false);
    if (prefetchable) {
      reset(BAR0 + 4 * index, 4, BAR_PREFETCHABLE);
    }
    barBytes[index] = size;
    memoryDevice[index] = device;
    return this;
  }

  /** The size of BAR {@code index}, 0 if it is not implemented. */
  public int barSize(int index) {
    int v = writable[BAR0 + 4 * index] & 0xFF | (writable[BAR0 + 4 * index + 1] & 0xFF) << 8
        | (writable[BAR0 + 4 * index + 2] & 0xFF) << 16 | writable[BAR0 + 4 * index + 3] << 24;
    return v == 0 ? 0 : -v;
  }

  /** True if BAR {@code index} decodes I/O space. */
  public boolean barIsIo(int index) {
    return (config[BAR0 + 4 * index] & BAR_IO) != 0;
  }

  /** The I/O BAR with a device that decodes {@code port} while I/O decoding is on, or -1. */
  int ioBarAt(int port) {
    return (read(COMMAND, 2) & COMMAND_IO) == 0 ? -1 : barAt(ioDevice, port);
  }

  /** The memory BAR with a device that decodes {@code gpa} while memory decoding is on, or -1. */
  int memoryBarAt(long gpa) {
    return (read(COMMAND, 2) & COMMAND_MEMORY) == 0 ? -1 : barAt(memoryDevice, gpa);
  }

  private int barAt(Object[] devices, long address) {
    for (int i = 0; i < 6; i++) {
      if (devices[i] != null) {
        long base = barAddress(i);
        if (base != 0 && address - base >= 0 && address - base < barBytes[i]) {
          return i;
        }
      }
    }
    return -1;
  }

  PortDevice ioDevice(int index) {
    return ioDevice[index];
  }

  MmioDevice memoryDevice(int index) {
    return memoryDevice[index];
  }

  /** Sets the INTx pin the function uses: 1-4 for INTA#-INTD#, 0 for none. */
  public PciFunction interruptPin(int pin) {
    if (pin < 0 || pin > 4) {
      throw new IllegalArgumentException("no interrupt pin " + pin);
    }
    config[INTERRUPT_PIN] = (byte) pin;
    return this;
  }

  /**
   * Calls {@code l} after every configuration write, after the listeners added before it (the
   * function's own and its capabilities').
   */
  public PciFunction onWrite(WriteListener l) {
    WriteListener before = listener;
    this.listener = before == null ? l : (offset, size, value) -> {
      before.written(offset, size, value);
      l.written(offset, size, value);
    };
    return this;
  }

  /**
   * Appends a capability with ID {@code id} at {@code offset} (dword aligned, in the
   * device-specific area 0x40-0xFB) to the capability list: the status register's Capabilities
   * List bit and pointer 0x34 head the list, each capability's byte 1 points at the next (0 ends
   * it). The capability's own registers are the caller's to set up.
   */
  public PciFunction capability(int offset, int id) {
    if (offset < 0x40 || offset > 0xFB || (offset & 3) != 0 || offset <= lastCapability) {
      throw new IllegalArgumentException(String.format("bad capability offset 0x%x", offset));
    }
    config[offset] = (byte) id;
    config[offset + 1] = 0;
    if (lastCapability == 0) {
      config[CAPABILITIES_POINTER] = (byte) offset;
      reset(STATUS, 2, read(STATUS, 2) | STATUS_CAPABILITIES);
    } else {
      config[lastCapability + 1] = (byte) offset;
    }
    lastCapability = offset;
    return this;
  }

  /** Connects the function's INTx to {@code sink} as device {@code slot} (by the host bridge). */
  void connect(int slot, IntxSink sink) {
    this.slot = slot;
    this.intx = sink;
  }

  /** The device drives its interrupt line (level-triggered, as PCI INTx is). */
  public void setIrq(boolean high) {
    irqLevel = high;
    int status = read(STATUS, 2);
    reset(STATUS, 2, high ? status | STATUS_INTERRUPT : status & ~STATUS_INTERRUPT);
    updateIntx();
  }

  /** The level the device drives, whatever the command register masks. */
  public boolean irqLevel() {
    return irqLevel;
  }

  private void updateIntx() {
    int pin = config[INTERRUPT_PIN] & 0xFF;
    boolean level = irqLevel && (read(COMMAND, 2) & COMMAND_INTX_DISABLE) == 0;
    if (pin == 0 || intx == null || level == intxDriven) {
      return;
    }
    intxDriven = level;
    intx.set(slot, pin - 1, level);
  }

  /** The address BAR {@code index} holds, type bits cleared. */
  public long barAddress(int index) {
    int v = read(BAR0 + 4 * index, 4);
    return (v & BAR_IO) != 0 ? v & 0xFFFF_FFFCL : v & 0xFFFF_FFF0L;
  }

  /** Reads {@code size} (1, 2 or 4) bytes at {@code offset}, which the access may not cross. */
  public int read(int offset, int size) {
    int v = 0;
    for (int i = 0; i < size; i++) {
      v |= (config[offset + i] & 0xFF) << (8 * i);
    }
    return v;
  }

  /** Writes {@code size} bytes at {@code offset}: only the writable bits change. */
  public void write(int offset, int size, int value) {
    for (int i = 0; i < size; i++) {
      int m = writable[offset + i];
      config[offset + i] = (byte) ((config[offset + i] & ~m) | ((value >>> (8 * i)) & m));
    }
    if (offset <= COMMAND + 1 && offset + size > COMMAND) {
      updateIntx();
    }
    if (listener != null) {
      listener.written(offset, size, value);
    }
  }

  private void set16(int offset, int v) {
    reset(offset, 2, v);
  }
}
