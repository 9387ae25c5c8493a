package org.hospes.dom0.devicemodel;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.hospes.x86.PortDevice;

/**
 * QEMU's firmware configuration device ({@code fw_cfg}, docs/specs/fw_cfg.rst), the traditional
 * I/O interface: a 16-bit write to the selector port (0x510) picks an item and rewinds it, and
 * each byte read from the data port (0x511) returns its next byte (0 past its end, or for an
 * item that does not exist). As in QEMU, the selector takes only 16-bit writes and the data port
 * only byte reads; other accesses are ignored and read as all ones. Writes to the data port are
 * ignored (QEMU dropped them in 2.4).
 *
 * <p>Items, as QEMU's {@code pc} machine gives them: the "QEMU" signature, the ID (feature
 * bitmap: bit 0, the traditional interface; the DMA interface, bit 1, is not offered), a zero
 * UUID, the RAM size (64-bit little-endian), the no-graphics flag (1: there is no display), the
 * CPU count and the maximum CPU count (16-bit), and the file directory (0x19: a big-endian count,
 * then per file a big-endian size, selector and reserved word and a 56-byte name). Files:
 * {@code etc/e820}, the memory map QEMU gives firmware (20-byte little-endian entries: address,
 * length, type), here one RAM entry from 0, as QEMU's TCG {@code pc} has below 4 GiB.
 */
public final class FwCfg implements PortDevice {
  public static final int SELECTOR_PORT = 0x510;
  public static final int DATA_PORT = 0x511;
  public static final int PORT_COUNT = 2;

  // Item selectors (QEMU's include/standard-headers/linux/qemu_fw_cfg.h).
  public static final int SIGNATURE = 0x00;
  public static final int ID = 0x01;
  public static final int UUID = 0x02;
  public static final int RAM_SIZE = 0x03;
  public static final int NOGRAPHIC = 0x04;
  public static final int NB_CPUS = 0x05;
  public static final int MAX_CPUS = 0x0F;
  public static final int FILE_DIR = 0x19;
  public static final int FILE_FIRST = 0x20;
  /** Feature bit 0 of the ID item: the traditional (port) interface. */
  public static final int FEATURE_TRADITIONAL = 1;
  /** A file directory entry: size, select, reserved, name. */
  public static final int FILE_ENTRY_SIZE = 64;
  public static final int FILE_NAME_SIZE = 56;
  public static final int E820_ENTRY_SIZE = 20;
  public static final int E820_RAM = 1;

  private final Map<Integer, byte[]> items = new HashMap<>();
  private final List<String> fileNames = new ArrayList<>();
  private final List<byte[]> files = new ArrayList<>();
  private byte[] current;
  private int offset;

  /** The items of a machine with {@code ramBytes} of RAM from address 0 and {@code cpus} CPUs. */
  public FwCfg(long ramBytes, int cpus) {
    items.put(SIGNATURE, "QEMU".getBytes(StandardCharsets.US_ASCII));
    items.put(ID, le(4).putInt(FEATURE_TRADITIONAL).array());
    items.put(UUID, new byte[16]);
    items.put(RAM_SIZE, le(8).putLong(ramBytes).array());
    items.put(NOGRAPHIC, le(2).putShort((short) 1).array());
    items.put(NB_CPUS, le(2).putShort((short) cpus).array());
    items.put(MAX_CPUS, le(2).putShort((short) cpus).array());
    addFile("etc/e820", le(E820_ENTRY_SIZE).putLong(0).putLong(ramBytes).putInt(E820_RAM).array());
  }

  /** Adds a named file (a new selector from {@link #FILE_FIRST} on) and rebuilds the directory. */
  public void addFile(String name, byte[] contents) {
    byte[] n = name.getBytes(StandardCharsets.US_ASCII);
    if (n.length >= FILE_NAME_SIZE) {
      throw new IllegalArgumentException("fw_cfg file name too long: " + name);
    }
    items.put(FILE_FIRST + files.size(), contents.clone());
    fileNames.add(name);
    files.add(contents);
    ByteBuffer dir = ByteBuffer.allocate(4 + FILE_ENTRY_SIZE * files.size());
    dir.putInt(files.size());
    for (int i = 0; i < files.size(); i++) {
      byte[] name8 = new byte[FILE_NAME_SIZE];
      byte[] src = fileNames.get(i).getBytes(StandardCharsets.US_ASCII);
      System.arraycopy(src, 0, name8, 0, src.length);
      dir.putInt(files.get(i).length).putShort((short) (FILE_FIRST + i)).putShort((short) 0)
          .put(name8);
    }
    items.put(FILE_DIR, dir.array());
  }

  @Override
  public int in(int port, int size) {
    if (port != DATA_PORT || size != 1) {
      return size == 4 ? -1 : (1 << (8 * size)) - 1;
    }
    if (current == null || offset >= current.length) {
      return 0;
    }
    return current[offset++] & 0xFF;
  }

  @Override
  public void out(int port, int size, int value) {
    if (port != SELECTOR_PORT || size != 2) {
      return;
    }
    // Bit 14 (write channel) and bit 15 (architecture-local items) are part of the key.
    current = items.get(value & 0xFFFF);
    offset = 0;
  }

  private static ByteBuffer le(int size) {
    return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
  }
}
