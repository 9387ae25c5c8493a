package org.hospes.x86;

/** A device on the I/O-port bus. It sees the port number it was addressed by and the access size. */
public interface PortDevice {

  /** Reads {@code size} (1, 2 or 4) bytes from {@code port}; unused high bits must be zero. */
  int in(int port, int size);

  /** Writes the low {@code size} bytes of {@code value} to {@code port}. */
  void out(int port, int size, int value);
}
