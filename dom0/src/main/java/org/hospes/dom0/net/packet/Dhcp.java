package org.hospes.dom0.net.packet;

import java.io.ByteArrayOutputStream;

/**
 * A DHCP message (RFC 2131 §2, the BOOTP layout of RFC 951) and its options (RFC 2132). Offsets
 * are from the start of the UDP payload.
 *
 * <pre>
 *  0  1  2  3  4     8     10    12     16     20     24     28        44      108     236    240
 * +--+--+--+--+-----+-----+-----+------+------+------+------+---------+-------+-------+------+--------
 * |op|ht|hl|hp| xid |secs |flags|ciaddr|yiaddr|siaddr|giaddr| chaddr  | sname | file  |cookie| options
 * +--+--+--+--+-----+-----+-----+------+------+------+------+---------+-------+-------+------+--------
 * </pre>
 *
 * Options overloaded into {@code sname}/{@code file} (option 52) are not read: no common client
 * sends them to a server.
 */
public final class Dhcp {

  public static final int OP = 0;
  public static final int HTYPE = 1;
  public static final int HLEN = 2;
  public static final int HOPS = 3;
  public static final int XID = 4;
  public static final int SECS = 8;
  public static final int FLAGS = 10;
  public static final int CIADDR = 12;
  public static final int YIADDR = 16;
  public static final int SIADDR = 20;
  public static final int GIADDR = 24;
  public static final int CHADDR = 28;
  public static final int SNAME = 44;
  public static final int FILE = 108;
  public static final int COOKIE = 236;
  public static final int OPTIONS = 240;
  /** The smallest BOOTP message (RFC 951: a 64-byte vendor area); replies are padded to it. */
  public static final int MIN_SIZE = 300;

  public static final int MAGIC_COOKIE = 0x63825363;
  public static final int OP_BOOTREQUEST = 1;
  public static final int OP_BOOTREPLY = 2;
  public static final int FLAG_BROADCAST = 0x8000;
  public static final int SERVER_PORT = 67;
  public static final int CLIENT_PORT = 68;

  public static final int OPT_PAD = 0;
  public static final int OPT_SUBNET_MASK = 1;
  public static final int OPT_ROUTER = 3;
  public static final int OPT_DNS = 6;
  public static final int OPT_HOST_NAME = 12;
  public static final int OPT_BROADCAST_ADDRESS = 28;
  public static final int OPT_REQUESTED_IP = 50;
  public static final int OPT_LEASE_TIME = 51;
  public static final int OPT_MESSAGE_TYPE = 53;
  public static final int OPT_SERVER_ID = 54;
  public static final int OPT_PARAMETER_LIST = 55;
  public static final int OPT_MESSAGE = 56;
  public static final int OPT_MAX_MESSAGE_SIZE = 57;
  public static final int OPT_RENEWAL_TIME = 58;
  public static final int OPT_REBINDING_TIME = 59;
  public static final int OPT_VENDOR_CLASS = 60;
  public static final int OPT_CLIENT_ID = 61;
  public static final int OPT_END = 255;

  private Dhcp() {}

  /** Whether {@code len} bytes at {@code off} hold a BOOTP header and the DHCP magic cookie. */
  public static boolean isDhcp(byte[] p, int off, int len) {
    return len >= OPTIONS && Bytes.i32(p, off + COOKIE) == MAGIC_COOKIE;
  }

  /**
   * Finds option {@code code} in the options field. Returns {@code (valueOffset << 8) | length}
   * (the value's absolute offset in {@code p} and its length), or -1 if the option is absent or the
   * option list is malformed before it (a length running past the message).
   */
  public static int option(byte[] p, int off, int len, int code) {
    int i = off + OPTIONS;
    int end = off + len;
    while (i < end) {
      int c = Bytes.u8(p, i);
      if (c == OPT_END) {
        return -1;
      }
      if (c == OPT_PAD) {
        i++;
        continue;
      }
      if (i + 1 >= end) {
        return -1;
      }
      int olen = Bytes.u8(p, i + 1);
      if (i + 2 + olen > end) {
        return -1;
      }
      if (c == code) {
        return ((i + 2) << 8) | olen;
      }
      i += 2 + olen;
    }
    return -1;
  }

  public static int optionOffset(int found) {
    return found >>> 8;
  }

  public static int optionLength(int found) {
    return found & 0xff;
  }

  /** The message type option's value, or null if it is absent or malformed. */
  public static DhcpMessageType messageType(byte[] p, int off, int len) {
    int o = option(p, off, len, OPT_MESSAGE_TYPE);
    if (o < 0 || optionLength(o) != 1) {
      return null;
    }
    return DhcpMessageType.of(Bytes.u8(p, optionOffset(o)));
  }

  /** A 4-byte address option's value, or 0 if absent or not 4 bytes long. */
  public static int addressOption(byte[] p, int off, int len, int code) {
    int o = option(p, off, len, code);
    return o >= 0 && optionLength(o) == 4 ? Bytes.i32(p, optionOffset(o)) : 0;
  }

  /**
   * Builds a DHCP message: the fixed BOOTP fields, the magic cookie, then options appended with
   * {@link #option(int, byte...)} and friends, {@code END}, and zero padding to {@link #MIN_SIZE}.
   */
  public static final class Builder {
    private final byte[] fixed = new byte[OPTIONS];
    private final ByteArrayOutputStream options = new ByteArrayOutputStream();

    public Builder(int op, int xid, int flags, int ciaddr, int yiaddr, int siaddr, int giaddr,
        long chaddr) {
      Bytes.put8(fixed, OP, op);
      Bytes.put8(fixed, HTYPE, Arp.HTYPE_ETHERNET);
      Bytes.put8(fixed, HLEN, 6);
      Bytes.put32(fixed, XID, xid);
      Bytes.put16(fixed, FLAGS, flags);
      Bytes.put32(fixed, CIADDR, ciaddr);
      Bytes.put32(fixed, YIADDR, yiaddr);
      Bytes.put32(fixed, SIADDR, siaddr);
      Bytes.put32(fixed, GIADDR, giaddr);
      Bytes.putMac(fixed, CHADDR, chaddr);
      Bytes.put32(fixed, COOKIE, MAGIC_COOKIE);
    }

    public Builder secs(int secs) {
      Bytes.put16(fixed, SECS, secs);
      return this;
    }

    public Builder option(int code, byte... value) {
      return option(code, value, 0, value.length);
    }

    public Builder option(int code, byte[] value, int off, int len) {
      if (len > 255) {
        throw new IllegalArgumentException("DHCP option " + code + " longer than 255 bytes");
      }
      options.write(code);
      options.write(len);
      options.write(value, off, len);
      return this;
    }

    public Builder addressOption(int code, int ip) {
      byte[] v = new byte[4];
      Bytes.put32(v, 0, ip);
      return option(code, v);
    }

    public Builder intOption(int code, int value) {
      return addressOption(code, value);
    }

    public Builder shortOption(int code, int value) {
      return option(code, (byte) (value >>> 8), (byte) value);
    }

    public Builder messageType(DhcpMessageType type) {
      return option(OPT_MESSAGE_TYPE, (byte) type.code());
    }

    public byte[] build() {
      byte[] opts = options.toByteArray();
      byte[] m = new byte[Math.max(MIN_SIZE, OPTIONS + opts.length + 1)];
      System.arraycopy(fixed, 0, m, 0, OPTIONS);
      System.arraycopy(opts, 0, m, OPTIONS, opts.length);
      m[OPTIONS + opts.length] = (byte) OPT_END;
      return m;
    }
  }
}
