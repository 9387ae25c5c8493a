package org.hospes.hv.platform;

/**
 * Where an I/O APIC's redirection entries (and, later, MSIs) send their messages: the local
 * APICs of a domain's vCPUs, chosen by destination as on the system bus (SDM vol. 3, 11.6.2).
 * The I/O APIC knows nothing about vCPUs; the platform that wires it does.
 */
public interface ApicBus {

  /**
   * Delivers one interrupt message.
   *
   * @param gsi the I/O APIC input (global system interrupt) whose redirection entry sent it:
   *     a platform may route some inputs specially, as Xen routes the PIT's (GSI 2)
   * @param destination the 8-bit destination field
   * @param logical destination mode: logical (true) or physical (false)
   * @param mode the delivery mode ({@link DeliveryMode})
   * @param vector the vector (fixed and lowest-priority modes)
   * @param level true for a level-triggered interrupt: the accepting APIC sets its TMR bit and
   *     broadcasts its EOI
   * @return true if some local APIC accepted it
   */
  boolean deliver(int gsi, int destination, boolean logical, DeliveryMode mode, int vector,
      boolean level);

  /** The delivery modes of the redirection entry and the ICR (SDM vol. 3, 11.6.1), by number. */
  enum DeliveryMode {
    FIXED(0), LOWEST_PRIORITY(1), SMI(2), RESERVED_3(3), NMI(4), INIT(5), RESERVED_6(6),
    EXTINT(7);

    private static final DeliveryMode[] BY_CODE = values();
    private final int code;

    DeliveryMode(int code) {
      this.code = code;
    }

    public int code() {
      return code;
    }

    /** The mode with this 3-bit number. */
    public static DeliveryMode of(int code) {
      return BY_CODE[code & 7];
    }
  }
}
