package org.hospes.dom0.devicemodel;

import java.util.Objects;
import org.hospes.x86.PortDevice;

/**
 * QEMU's {@code isa-debug-exit}: a write to its port ends the run. Test kernels use it to report
 * pass or fail without a shutdown path. As in QEMU, writing V makes the exit status
 * {@code (V << 1) | 1}, so a kernel can never produce status 0 this way and a clean status can
 * never be mistaken for a successful guest.
 *
 * <p>The device does not stop anything itself: it tells its {@link Listener}, which asks the
 * processor to stop after the current instruction (the i8042 in Firecracker signals an event in
 * the same way rather than calling the VMM).
 */
public final class IsaDebugExit implements PortDevice {

  /** The port QEMU test setups use ({@code -device isa-debug-exit,iobase=0xf4,iosize=4}). */
  public static final int DEFAULT_PORT = 0xF4;
  /** Ports claimed, so that byte, word and dword writes at the base all land here. */
  public static final int PORT_COUNT = 4;

  /** Told when the guest writes the port. */
  @FunctionalInterface
  public interface Listener {
    /** {@code value} is the written value; {@code exitStatus} is {@code (value << 1) | 1}. */
    void exitRequested(int value, int exitStatus);
  }

  private final Listener listener;

  public IsaDebugExit(Listener listener) {
    this.listener = Objects.requireNonNull(listener, "listener");
  }

  /** The exit status QEMU reports for a write of {@code value}, computed in 32 bits as QEMU does. */
  public static int exitStatusFor(int value) {
    return (value << 1) | 1;
  }

  @Override
  public int in(int port, int size) {
    // Write-only; reads see an idle bus value of zero rather than a floating one, as in QEMU.
    return 0;
  }

  @Override
  public void out(int port, int size, int value) {
    int v = switch (size) {
      case 1 -> value & 0xFF;
      case 2 -> value & 0xFFFF;
      default -> value;
    };
    listener.exitRequested(v, exitStatusFor(v));
  }
}
