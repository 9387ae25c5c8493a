package org.hospes.dom0.net.packet;

/** The IPv4 protocol numbers the gateway handles (IANA "Assigned Internet Protocol Numbers"). */
public enum IpProtocol {
  ICMP(1),
  TCP(6),
  UDP(17);

  private final int code;

  IpProtocol(int code) {
    this.code = code;
  }

  public int code() {
    return code;
  }
}
