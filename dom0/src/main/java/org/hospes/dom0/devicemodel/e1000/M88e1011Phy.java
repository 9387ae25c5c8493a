package org.hospes.dom0.devicemodel.e1000;

/**
 * The 82540EM's copper PHY as software sees it through MDIC: a Marvell 88E1011 at MDIO address
 * 1 (PHY identifier 0x0141_0C20, revision 0, which Linux's e1000 recognizes as
 * M88E1011_I_PHY_ID), its cable always plugged into a 1000BASE-T full-duplex partner. IEEE 802.3
 * clause 22 registers 0-10 and 15, and the Marvell-specific ones at 0x10-0x1A.
 *
 * <p>Auto-negotiation completes at once: setting Restart Auto-Negotiation (or resetting the PHY)
 * leaves the link up, resolved at 1000 Mb/s full duplex, with the partner advertising every
 * speed and both PAUSE bits. Reset (control bit 15) and restart (bit 9) clear themselves.
 * Read-only registers ignore writes; registers the PHY does not have read as zero.
 */
public final class M88e1011Phy {
  public static final int ADDRESS = 1;

  public static final int CONTROL = 0x00;
  public static final int STATUS = 0x01;
  public static final int ID1 = 0x02;
  public static final int ID2 = 0x03;
  public static final int AUTONEG_ADV = 0x04;
  public static final int LP_ABILITY = 0x05;
  public static final int AUTONEG_EXP = 0x06;
  public static final int NEXT_PAGE_TX = 0x07;
  public static final int LP_NEXT_PAGE = 0x08;
  public static final int CONTROL_1000T = 0x09;
  public static final int STATUS_1000T = 0x0A;
  public static final int EXT_STATUS = 0x0F;
  public static final int SPEC_CONTROL = 0x10;
  public static final int SPEC_STATUS = 0x11;
  public static final int INT_ENABLE = 0x12;
  public static final int INT_STATUS = 0x13;
  public static final int EXT_SPEC_CONTROL = 0x14;
  public static final int RX_ERRORS = 0x15;
  public static final int LED_CONTROL = 0x18;

  public static final int CR_RESET = 0x8000;
  public static final int CR_SPEED_1000 = 0x0040;
  public static final int CR_AUTONEG_ENABLE = 0x1000;
  public static final int CR_RESTART_AUTONEG = 0x0200;
  public static final int CR_FULL_DUPLEX = 0x0100;

  public static final int SR_EXTENDED_CAPS = 0x0001;
  public static final int SR_LINK_STATUS = 0x0004;
  public static final int SR_AUTONEG_CAPS = 0x0008;
  public static final int SR_AUTONEG_COMPLETE = 0x0020;
  public static final int SR_PREAMBLE_SUPPRESS = 0x0040;
  public static final int SR_EXTENDED_STATUS = 0x0100;
  public static final int SR_10T_HD = 0x0800;
  public static final int SR_10T_FD = 0x1000;
  public static final int SR_100X_HD = 0x2000;
  public static final int SR_100X_FD = 0x4000;

  /** Speed 1000 (bits 15:14 = 10), full duplex, speed and duplex resolved, link up. */
  public static final int PSSR_1000_FD_LINK = 0x8000 | 0x2000 | 0x0800 | 0x0400;

  private static final int[] RESET = new int[32];
  private static final boolean[] WRITABLE = new boolean[32];

  static {
    RESET[CONTROL] = CR_AUTONEG_ENABLE | CR_FULL_DUPLEX | CR_SPEED_1000;
    RESET[ID1] = 0x0141;
    RESET[ID2] = 0x0C20;
    RESET[AUTONEG_ADV] = 0x01E1; // 10/100 half and full, IEEE 802.3 selector
    // The partner: 10/100 half and full, both PAUSE bits, acknowledge.
    RESET[LP_ABILITY] = 0x4000 | 0x0C00 | 0x01E0 | 0x0001;
    RESET[AUTONEG_EXP] = 0x0001; // the partner negotiates
    RESET[NEXT_PAGE_TX] = 0x2001;
    RESET[CONTROL_1000T] = 0x0300; // 1000BASE-T half and full advertised
    // Local and remote receivers OK, partner 1000BASE-T full and half.
    RESET[STATUS_1000T] = 0x2000 | 0x1000 | 0x0800 | 0x0400;
    RESET[EXT_STATUS] = 0x3000; // 1000BASE-T full and half capable
    RESET[SPEC_CONTROL] = 0x0068;
    RESET[EXT_SPEC_CONTROL] = 0x0D60;
    RESET[LED_CONTROL] = 0x4100;
    for (int r : new int[] {CONTROL, AUTONEG_ADV, NEXT_PAGE_TX, CONTROL_1000T, SPEC_CONTROL,
        INT_ENABLE, EXT_SPEC_CONTROL, LED_CONTROL, 0x16, 0x19, 0x1A, 0x1D, 0x1E}) {
      WRITABLE[r] = true;
    }
  }

  private final int[] regs = new int[32];
  private long reads;
  private long writes;

  public M88e1011Phy() {
    reset();
  }

  /** Power-on and hardware (CTRL.PHY_RST) reset: every register back to its default. */
  public void reset() {
    System.arraycopy(RESET, 0, regs, 0, regs.length);
  }

  public int read(int reg) {
    reads++;
    int r = reg & 31;
    return switch (r) {
      case STATUS -> SR_EXTENDED_CAPS | SR_LINK_STATUS | SR_AUTONEG_CAPS | SR_AUTONEG_COMPLETE
          | SR_PREAMBLE_SUPPRESS | SR_EXTENDED_STATUS | SR_10T_HD | SR_10T_FD | SR_100X_HD
          | SR_100X_FD;
      case SPEC_STATUS -> PSSR_1000_FD_LINK;
      case INT_STATUS -> {
        int v = regs[INT_STATUS];
        regs[INT_STATUS] = 0; // clear on read
        yield v;
      }
      default -> regs[r];
    };
  }

  public void write(int reg, int value) {
    writes++;
    int r = reg & 31;
    if (!WRITABLE[r]) {
      return;
    }
    int v = value & 0xFFFF;
    if (r == CONTROL) {
      // Reset and restart clear themselves: negotiation with the partner completes at once
      // and the written configuration stays (a software reset keeps it, as the 88E1011 does).
      v &= ~(CR_RESET | CR_RESTART_AUTONEG);
    }
    regs[r] = v;
  }

  public long reads() {
    return reads;
  }

  public long writes() {
    return writes;
  }
}
