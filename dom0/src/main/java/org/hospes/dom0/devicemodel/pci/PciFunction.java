package org.hospes.dom0.devicemodel.pci;

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

  private final String name;
  private final byte[] config = new byte[SIZE];
  private final byte[] writable = new byte[SIZE];

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
        | COMMAND_SERR);
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
  }

  private void set16(int offset, int v) {
    reset(offset, 2, v);
  }
}
