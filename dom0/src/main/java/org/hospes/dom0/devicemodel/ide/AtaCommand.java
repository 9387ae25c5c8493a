package org.hospes.dom0.devicemodel.ide;

/**
 * The ATA commands the emulated disk executes, with their opcodes (ATA/ATAPI-6, T13/1410D,
 * section 8; the 48-bit forms of the 48-bit Address feature set). The "without retry" opcodes
 * of ATA-1..4 (0x21, 0x31, 0xC9, 0xCB) are aliases that ATA-6 made obsolete; they run as their
 * retrying forms, as drives still accept them. Any other opcode is aborted (ABRT).
 */
public enum AtaCommand {
  READ_SECTORS(0x20),
  READ_SECTORS_NO_RETRY(0x21),
  READ_SECTORS_EXT(0x24),
  READ_DMA_EXT(0x25),
  READ_MULTIPLE_EXT(0x29),
  WRITE_SECTORS(0x30),
  WRITE_SECTORS_NO_RETRY(0x31),
  WRITE_SECTORS_EXT(0x34),
  WRITE_DMA_EXT(0x35),
  WRITE_MULTIPLE_EXT(0x39),
  EXECUTE_DEVICE_DIAGNOSTIC(0x90),
  IDENTIFY_PACKET_DEVICE(0xA1),
  READ_MULTIPLE(0xC4),
  WRITE_MULTIPLE(0xC5),
  SET_MULTIPLE_MODE(0xC6),
  READ_DMA(0xC8),
  READ_DMA_NO_RETRY(0xC9),
  WRITE_DMA(0xCA),
  WRITE_DMA_NO_RETRY(0xCB),
  STANDBY_IMMEDIATE(0xE0),
  IDLE_IMMEDIATE(0xE1),
  STANDBY(0xE2),
  IDLE(0xE3),
  CHECK_POWER_MODE(0xE5),
  SLEEP(0xE6),
  FLUSH_CACHE(0xE7),
  FLUSH_CACHE_EXT(0xEA),
  IDENTIFY_DEVICE(0xEC),
  SET_FEATURES(0xEF);

  private static final AtaCommand[] BY_CODE = new AtaCommand[256];

  static {
    for (AtaCommand c : values()) {
      BY_CODE[c.code] = c;
    }
  }

  private final int code;

  AtaCommand(int code) {
    this.code = code;
  }

  public int code() {
    return code;
  }

  /** The command with opcode {@code code} (0-255), or null if the disk does not implement it. */
  public static AtaCommand of(int code) {
    return BY_CODE[code & 0xFF];
  }

  /** True for the commands of the 48-bit Address feature set (registers read twice, HOB). */
  public boolean lba48() {
    return switch (this) {
      case READ_SECTORS_EXT, READ_DMA_EXT, READ_MULTIPLE_EXT, WRITE_SECTORS_EXT, WRITE_DMA_EXT,
          WRITE_MULTIPLE_EXT -> true;
      default -> false;
    };
  }
}
