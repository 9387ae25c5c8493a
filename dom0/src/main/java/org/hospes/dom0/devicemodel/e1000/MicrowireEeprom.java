package org.hospes.dom0.devicemodel.e1000;

/**
 * The 82540EM's serial EEPROM: a 93C46-style Microwire part of 64 16-bit words (EECD.EE_SIZE
 * reads 0, so a driver uses 6 address bits), driven by software through EECD's SK, CS and DI
 * bits and answering on DO (8254x developer's manual, 5.3 and 13.4.3), and also readable a
 * word at a time through EERD.
 *
 * <p>Microwire protocol: while CS is high, each rising edge of SK clocks one DI bit in. Leading
 * zeros are ignored; the first 1 is the start bit, then come a 2-bit opcode (10 is READ) and
 * the address, most significant bit first. After a READ's last address bit DO holds the dummy
 * 0, and each further rising edge puts out the next data bit, most significant first; reading
 * continues into the following words as long as CS stays high. Dropping CS ends the command.
 * Writes and erases (opcodes 01, 11 and 00 with their sub-opcodes) are accepted and ignored:
 * the image belongs to the toolstack, and a guest cannot change its MAC address through it.
 *
 * <p>The image: words 0-2 the MAC address (low byte first), 0x04 0xFFFF (default LED
 * settings), 0x08-0x09 the PBA number, 0x0A initialization control 1, 0x0B/0x0C the subsystem
 * ID and vendor, 0x0D/0x0E the device and vendor IDs, 0x0F initialization control 2 (both
 * PAUSE bits: symmetric and asymmetric flow control advertised), and word 0x3F the checksum
 * that makes words 0-0x3F add up to 0xBABA, which Linux's e1000 checks before it takes the card.
 */
public final class MicrowireEeprom {
  public static final int WORDS = 64;
  public static final int ADDRESS_BITS = 6;
  public static final int CHECKSUM_WORD = 0x3F;
  public static final int CHECKSUM_SUM = 0xBABA;

  public static final int OPCODE_READ = 0b10;

  private final int[] words = new int[WORDS];

  private boolean selected;
  private boolean clock;
  private boolean started;
  private int bitsIn;
  private int shift;
  private boolean reading;
  private boolean ignoring;
  private int readAddress;
  private int readBit;
  private boolean dataOut;

  /** The image for a card with this MAC, PCI IDs and subsystem IDs, its checksum made good. */
  public MicrowireEeprom(byte[] mac, int deviceId, int subsystemId, int subsystemVendor) {
    if (mac.length != 6) {
      throw new IllegalArgumentException("a MAC address has 6 bytes, not " + mac.length);
    }
    for (int i = 0; i < 3; i++) {
      words[i] = (mac[2 * i] & 0xFF) | (mac[2 * i + 1] & 0xFF) << 8;
    }
    words[0x04] = 0xFFFF;
    words[0x08] = 0x3000; // PBA number, as Intel's images carry one
    words[0x09] = 0x1000;
    // Initialization control 1: signature 01b (bits 15:14), full duplex, load the PCI IDs.
    words[0x0A] = 0x4000 | 0x2000 | 0x0002 | 0x0001;
    words[0x0B] = subsystemId;
    words[0x0C] = subsystemVendor;
    words[0x0D] = deviceId;
    words[0x0E] = 0x8086;
    // Initialization control 2: bits 13:12 advertise PAUSE and ASM_DIR.
    words[0x0F] = 0x3000;
    for (int i = 0x10; i < CHECKSUM_WORD; i++) {
      words[i] = 0xFFFF; // unprogrammed
    }
    words[0x24] = 0x0000; // initialization control 3, port A: no APM wake-up
    int sum = 0;
    for (int i = 0; i < CHECKSUM_WORD; i++) {
      sum += words[i];
    }
    words[CHECKSUM_WORD] = (CHECKSUM_SUM - sum) & 0xFFFF;
  }

  /** Word {@code address} (taken modulo the size, as the part decodes only its address bits). */
  public int word(int address) {
    return words[address & (WORDS - 1)];
  }

  /** Forgets a command in progress (the MAC's reset). */
  public void reset() {
    selected = false;
    clock = false;
    endCommand();
  }

  /** Software drives CS, SK and DI (EECD bits 1, 0 and 2). */
  public void drive(boolean cs, boolean sk, boolean di) {
    if (!cs) {
      selected = false;
      clock = sk;
      endCommand();
      return;
    }
    if (!selected) {
      selected = true;
      endCommand();
    }
    boolean rising = sk && !clock;
    clock = sk;
    if (rising) {
      clockIn(di);
    }
  }

  /** What DO shows now (EECD bit 3). */
  public boolean dataOut() {
    return selected && dataOut;
  }

  private void endCommand() {
    started = false;
    bitsIn = 0;
    shift = 0;
    reading = false;
    ignoring = false;
    dataOut = false;
  }

  private void clockIn(boolean di) {
    if (ignoring) {
      return;
    }
    if (reading) {
      int w = words[readAddress];
      dataOut = ((w >>> (15 - readBit)) & 1) != 0;
      if (++readBit == 16) {
        readBit = 0;
        readAddress = (readAddress + 1) & (WORDS - 1);
      }
      return;
    }
    if (!started) {
      started = di; // leading zeros before the start bit are ignored
      return;
    }
    shift = shift << 1 | (di ? 1 : 0);
    bitsIn++;
    if (bitsIn == 2 + ADDRESS_BITS) {
      int opcode = shift >>> ADDRESS_BITS;
      if (opcode == OPCODE_READ) {
        reading = true;
        readAddress = shift & (WORDS - 1);
        readBit = 0;
        dataOut = false; // the dummy zero before the data
      } else {
        // EWEN/EWDS/ERAL/WRAL, WRITE, ERASE: the image is read-only. Wait for CS to drop.
        ignoring = true;
      }
    }
  }
}
