package org.hospes.dom0.net.packet;

/** Values of the DHCP Message Type option (RFC 2132 §9.6). */
public enum DhcpMessageType {
  DISCOVER(1),
  OFFER(2),
  REQUEST(3),
  DECLINE(4),
  ACK(5),
  NAK(6),
  RELEASE(7),
  INFORM(8);

  private static final DhcpMessageType[] BY_CODE = new DhcpMessageType[9];

  static {
    for (DhcpMessageType t : values()) {
      BY_CODE[t.code] = t;
    }
  }

  private final int code;

  DhcpMessageType(int code) {
    this.code = code;
  }

  public int code() {
    return code;
  }

  /** The type with this code, or null. */
  public static DhcpMessageType of(int code) {
    return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
  }
}
