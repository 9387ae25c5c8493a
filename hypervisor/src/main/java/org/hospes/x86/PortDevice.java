package org.hospes.x86;

/** A device on the I/O-port bus. It sees the port number it was addressed by and the access size. */
public interface PortDevice {

  /** {@link #accessNanos}: the device does not say; the bus charges its default port access. */
  int UNTIMED = -1;

  /** Reads {@code size} (1, 2 or 4) bytes from {@code port}; unused high bits must be zero. */
  int in(int port, int size);

  /** Writes the low {@code size} bytes of {@code value} to {@code port}. */
  void out(int port, int size, int value);

  /**
   * How long one access of {@code size} bytes to {@code port} keeps the processor waiting on the
   * device's bus, in nanoseconds, or {@link #UNTIMED}. Asked once per port and size when the
   * port is claimed ({@link IoBus#register}), so it must not depend on the device's state. A
   * bare machine's processor charges it to its clock ({@link IoBus#setPricing}); where the
   * access exits to a hypervisor, the exit is charged instead and this is not asked about.
   */
  default int accessNanos(int port, int size) {
    return UNTIMED;
  }
}
