package org.hospes.hv.platform;

/**
 * A message-signalled interrupt as a PCI function writes it (SDM vol. 3, 11.11): a dword
 * {@code data} written to {@code address}. The address is in the local APICs' window:
 *
 * <pre>
 *   address 31:20 0xFEE    19:12 destination ID    3 redirection hint    2 destination mode
 *   data    15 trigger mode (1 level)   14 level (assert)   10:8 delivery mode   7:0 vector
 * </pre>
 *
 * The destination mode says whether the destination ID is a physical APIC ID or a logical
 * (flat or cluster) one. The SDM says it is ignored when the redirection hint is 0, but Linux
 * sends logical flat destinations with the hint clear, and QEMU's and Xen's MSI delivery read the
 * mode whatever the hint, as real chipsets must for Linux to work; so does this. Arbitration
 * follows the delivery mode alone (lowest priority or not), as Xen's vmsi_deliver does: the
 * hint is kept but changes nothing.
 */
public record MsiMessage(long address, int data) {
  /** Bits 31:20 of every MSI address: the local APICs' 1 MiB window at 0xFEE00000. */
  public static final long ADDRESS_BASE = 0xFEE0_0000L;
  public static final int ADDRESS_REDIRECTION_HINT = 1 << 3;
  public static final int ADDRESS_DEST_LOGICAL = 1 << 2;
  public static final int DATA_TRIGGER_LEVEL = 1 << 15;
  public static final int DATA_LEVEL_ASSERT = 1 << 14;

  /** The message for these fields (what a driver composes). */
  public static MsiMessage of(int destination, boolean logical, boolean redirectionHint,
      ApicBus.DeliveryMode mode, int vector) {
    long address = ADDRESS_BASE | (destination & 0xFFL) << 12
        | (logical ? ADDRESS_DEST_LOGICAL : 0) | (redirectionHint ? ADDRESS_REDIRECTION_HINT : 0);
    return new MsiMessage(address, mode.code() << 8 | vector & 0xFF);
  }

  /** True if the write goes to the local APICs' window (bits 63:20 = 0xFEE). */
  public boolean toLocalApics() {
    return (address >>> 20) == (ADDRESS_BASE >>> 20);
  }

  public int destination() {
    return (int) (address >>> 12) & 0xFF;
  }

  public boolean logical() {
    return (address & ADDRESS_DEST_LOGICAL) != 0;
  }

  public boolean redirectionHint() {
    return (address & ADDRESS_REDIRECTION_HINT) != 0;
  }

  public int vector() {
    return data & 0xFF;
  }

  public ApicBus.DeliveryMode deliveryMode() {
    return ApicBus.DeliveryMode.of(data >>> 8);
  }

  public boolean levelTriggered() {
    return (data & DATA_TRIGGER_LEVEL) != 0;
  }

  @Override
  public String toString() {
    return String.format("MSI 0x%x <- 0x%x (dest %d %s, %s, vector 0x%x)", address, data,
        destination(), logical() ? "logical" : "physical", deliveryMode(), vector());
  }
}
