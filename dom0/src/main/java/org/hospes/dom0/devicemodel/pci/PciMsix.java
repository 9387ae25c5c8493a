package org.hospes.dom0.devicemodel.pci;

import org.hospes.x86.MmioDevice;

/**
 * A PCI function's MSI-X capability (PCI Local Bus Specification 3.0, 6.8.2) with its table and
 * pending bit array in a 32-bit memory BAR of their own, as QEMU's virtio-pci lays them out: the
 * table at offset 0 of the BAR, the PBA at {@link #PBA_OFFSET}.
 *
 * <pre>
 *   capability +0  ID 0x11, next pointer
 *              +2  message control: 15 MSI-X enable, 14 function mask, 10:0 table size - 1
 *              +4  table offset (31:3) | BIR (2:0)
 *              +8  PBA offset (31:3)   | BIR (2:0)
 *   table entry (16 bytes): +0 message address (1:0 read as 0), +4 upper address,
 *                           +8 message data, +12 vector control (bit 0 mask, 1 at reset)
 * </pre>
 *
 * <p>The device signals a vector with {@link #signal}: while MSI-X is enabled it sends the
 * entry's message (a memory write by the function, so only while bus mastering is on), or, if
 * the vector or the whole function is masked, sets the vector's pending bit and sends it when
 * software unmasks it. While MSI-X is disabled the device uses INTx instead ({@code signal}
 * returns false). Software can write any address and data into the table; what they mean is
 * the hypervisor's business, which drops what does not reach a local APIC.
 */
public final class PciMsix implements MmioDevice {
  public static final int CAP_ID = 0x11;
  public static final int CONTROL = 2;
  public static final int TABLE = 4;
  public static final int PBA = 8;
  public static final int CAP_LENGTH = 12;
  public static final int CONTROL_ENABLE = 1 << 15;
  public static final int CONTROL_FUNCTION_MASK = 1 << 14;
  public static final int ENTRY_SIZE = 16;
  public static final int ENTRY_ADDRESS = 0;
  public static final int ENTRY_UPPER_ADDRESS = 4;
  public static final int ENTRY_DATA = 8;
  public static final int ENTRY_VECTOR_CONTROL = 12;
  public static final int VECTOR_MASKED = 1;
  /** Where the PBA starts in the BAR (the table's 2 KiB hold 128 vectors). */
  public static final int PBA_OFFSET = 0x800;
  public static final int BAR_SIZE = 0x1000;
  public static final int MAX_VECTORS = 128;

  /** Where the function's message writes go (the device model's inject_msi). */
  @FunctionalInterface
  public interface MessageSink {
    void send(long address, int data);
  }

  private final PciFunction function;
  private final int cap;
  private final int vectors;
  /** Four dwords per entry: address, upper address, data, vector control. */
  private final int[] table;
  private final long[] pending;
  private final MessageSink sink;
  private long messages;
  private long blocked;

  /**
   * Adds the capability at {@code capOffset} of {@code function}, with {@code vectors} table
   * entries in memory BAR {@code bar} (4 KiB), sending through {@code sink}.
   */
  public PciMsix(PciFunction function, int capOffset, int vectors, int bar, MessageSink sink) {
    if (vectors < 1 || vectors > MAX_VECTORS) {
      throw new IllegalArgumentException("MSI-X table of " + vectors + " vectors");
    }
    this.function = function;
    this.cap = capOffset;
    this.vectors = vectors;
    this.table = new int[vectors * 4];
    this.pending = new long[(vectors + 63) / 64];
    this.sink = sink;
    for (int v = 0; v < vectors; v++) {
      table[v * 4 + 3] = VECTOR_MASKED;
    }
    function.capability(capOffset, CAP_ID)
        .reset(capOffset + CONTROL, 2, vectors - 1)
        .writable(capOffset + CONTROL, 2, CONTROL_ENABLE | CONTROL_FUNCTION_MASK)
        .reset(capOffset + TABLE, 4, bar)
        .reset(capOffset + PBA, 4, PBA_OFFSET | bar)
        .memoryBar(bar, BAR_SIZE, false, this)
        .onWrite((offset, size, value) -> {
          if (offset < capOffset + CONTROL + 2 && offset + size > capOffset + CONTROL) {
            deliverPending();
          }
        });
  }

  public int vectors() {
    return vectors;
  }

  /** MSI-X enable (message control bit 15): the function signals by messages, not INTx. */
  public boolean enabled() {
    return (function.read(cap + CONTROL, 2) & CONTROL_ENABLE) != 0;
  }

  public boolean functionMasked() {
    return (function.read(cap + CONTROL, 2) & CONTROL_FUNCTION_MASK) != 0;
  }

  /**
   * The device signals {@code vector}. False while MSI-X is disabled (the device uses INTx);
   * true otherwise, whether the message went out, was left pending by a mask, or had no entry
   * (a vector beyond the table: nothing is sent).
   */
  public boolean signal(int vector) {
    if (!enabled()) {
      return false;
    }
    if (vector < 0 || vector >= vectors) {
      blocked++;
      return true;
    }
    if (functionMasked() || (table[vector * 4 + 3] & VECTOR_MASKED) != 0) {
      pending[vector >>> 6] |= 1L << vector;
      return true;
    }
    send(vector);
    return true;
  }

  private void send(int vector) {
    if ((function.read(PciFunction.COMMAND, 2) & PciFunction.COMMAND_MASTER) == 0) {
      // A message is a memory write by the function: without bus mastering it never leaves.
      blocked++;
      return;
    }
    messages++;
    long address = (table[vector * 4] & 0xFFFF_FFFFL) | (long) table[vector * 4 + 1] << 32;
    sink.send(address, table[vector * 4 + 2]);
  }

  /** Sends the pending vectors software has unmasked, lowest first. */
  private void deliverPending() {
    if (!enabled() || functionMasked()) {
      return;
    }
    for (int v = 0; v < vectors; v++) {
      if (isPending(v) && (table[v * 4 + 3] & VECTOR_MASKED) == 0) {
        pending[v >>> 6] &= ~(1L << v);
        send(v);
      }
    }
  }

  public boolean isPending(int vector) {
    return (pending[vector >>> 6] & 1L << vector) != 0;
  }

  /** Messages sent. */
  public long messages() {
    return messages;
  }

  /** Signals that sent nothing: bus mastering off, or a vector beyond the table. */
  public long blocked() {
    return blocked;
  }

  @Override
  public int read(long offset, int size) {
    int v;
    int at = (int) offset & ~3;
    if (offset < (long) vectors * ENTRY_SIZE) {
      v = table[at >>> 2];
    } else if (offset >= PBA_OFFSET && offset < PBA_OFFSET + 8L * pending.length) {
      long bits = pending[(at - PBA_OFFSET) >>> 3];
      v = (int) ((at & 4) == 0 ? bits : bits >>> 32);
    } else {
      // Reserved space of the BAR reads as zero.
      return 0;
    }
    v >>>= 8 * (offset & 3);
    return size == 4 ? v : v & ((1 << (8 * size)) - 1);
  }

  @Override
  public void write(long offset, int size, int value) {
    if (offset >= (long) vectors * ENTRY_SIZE || offset < 0) {
      // The PBA is read-only; the rest of the BAR is reserved.
      return;
    }
    int index = (int) offset >>> 2;
    int shift = 8 * ((int) offset & 3);
    int mask = size == 4 ? -1 : ((1 << (8 * size)) - 1) << shift;
    int merged = (table[index] & ~mask) | (value << shift & mask);
    switch (index & 3) {
      case 0 -> table[index] = merged & ~3;
      case 3 -> table[index] = merged & VECTOR_MASKED;
      default -> table[index] = merged;
    }
    if ((index & 3) == 3 && (merged & VECTOR_MASKED) == 0) {
      deliverPending();
    }
  }
}
