package org.hospes.dom0.net.packet;

/**
 * The TCP header (RFC 793 §3.1, RFC 9293). Offsets are from the start of the TCP header.
 *
 * <pre>
 *  0       2       4               8               12  13  14      16      18      20
 * +-------+-------+---------------+---------------+---+---+-------+-------+-------+--------
 * | sport | dport | sequence      | acknowledgment|off|flg| window| cksum | urg   | options
 * +-------+-------+---------------+---------------+---+---+-------+-------+-------+--------
 * </pre>
 */
public final class Tcp {

  public static final int SRC_PORT = 0;
  public static final int DST_PORT = 2;
  public static final int SEQ = 4;
  public static final int ACK = 8;
  public static final int DATA_OFFSET = 12;
  public static final int FLAGS = 13;
  public static final int WINDOW = 14;
  public static final int CHECKSUM = 16;
  public static final int URGENT = 18;
  public static final int HEADER = 20;

  public static final int FIN = 0x01;
  public static final int SYN = 0x02;
  public static final int RST = 0x04;
  public static final int PSH = 0x08;
  public static final int ACK_FLAG = 0x10;
  public static final int URG = 0x20;

  public static final int OPT_END = 0;
  public static final int OPT_NOP = 1;
  public static final int OPT_MSS = 2;

  private Tcp() {}

  /**
   * Parses and checks a segment in an IP payload of {@code len} bytes into {@code seg}: a data
   * offset of 20..60 that fits, and a correct checksum over the pseudo-header. The MSS option is
   * read if present and well formed; any other option, or a malformed option list, is skipped
   * (the option walk stops at a length that does not fit rather than trusting it). Returns false
   * if the segment must be dropped.
   */
  public static boolean parse(byte[] p, int off, int len, int srcIp, int dstIp, Segment seg) {
    if (len < HEADER) {
      return false;
    }
    int doff = (Bytes.u8(p, off + DATA_OFFSET) >>> 4) * 4;
    if (doff < HEADER || doff > len) {
      return false;
    }
    int sum = Checksum.pseudoHeader(srcIp, dstIp, IpProtocol.TCP.code(), len);
    if (Checksum.finish(Checksum.add(sum, p, off, len)) != 0) {
      return false;
    }
    seg.srcPort = Bytes.u16(p, off + SRC_PORT);
    seg.dstPort = Bytes.u16(p, off + DST_PORT);
    seg.seq = Bytes.i32(p, off + SEQ);
    seg.ack = Bytes.i32(p, off + ACK);
    seg.flags = Bytes.u8(p, off + FLAGS);
    seg.window = Bytes.u16(p, off + WINDOW);
    seg.data = p;
    seg.dataOff = off + doff;
    seg.dataLen = len - doff;
    seg.mss = -1;
    int i = off + HEADER;
    int end = off + doff;
    while (i < end) {
      int kind = Bytes.u8(p, i);
      if (kind == OPT_END) {
        break;
      }
      if (kind == OPT_NOP) {
        i++;
        continue;
      }
      if (i + 1 >= end) {
        break;
      }
      int olen = Bytes.u8(p, i + 1);
      if (olen < 2 || i + olen > end) {
        break;
      }
      if (kind == OPT_MSS && olen == 4) {
        seg.mss = Bytes.u16(p, i + 2);
      }
      i += olen;
    }
    return true;
  }

  /**
   * A whole Ethernet/IPv4/TCP frame. With {@code mss >= 0} the header carries an MSS option (4
   * bytes, data offset 6 words), which is how SYN and SYN-ACK segments go out.
   */
  public static byte[] frame(long ethDst, long ethSrc, int id, int src, int sport, int dst,
      int dport, int seq, int ack, int flags, int window, int mss, byte[] data, int dataOff,
      int dataLen) {
    int hlen = mss >= 0 ? HEADER + 4 : HEADER;
    int tlen = hlen + dataLen;
    byte[] f = Ipv4.frame(ethDst, ethSrc, id, IpProtocol.TCP.code(), src, dst, tlen);
    int o = Ipv4.payloadOffset();
    Bytes.put16(f, o + SRC_PORT, sport);
    Bytes.put16(f, o + DST_PORT, dport);
    Bytes.put32(f, o + SEQ, seq);
    Bytes.put32(f, o + ACK, ack);
    Bytes.put8(f, o + DATA_OFFSET, (hlen / 4) << 4);
    Bytes.put8(f, o + FLAGS, flags);
    Bytes.put16(f, o + WINDOW, window);
    if (mss >= 0) {
      Bytes.put8(f, o + HEADER, OPT_MSS);
      Bytes.put8(f, o + HEADER + 1, 4);
      Bytes.put16(f, o + HEADER + 2, mss);
    }
    if (dataLen > 0) {
      System.arraycopy(data, dataOff, f, o + hlen, dataLen);
    }
    int sum = Checksum.pseudoHeader(src, dst, IpProtocol.TCP.code(), tlen);
    sum = Checksum.add(sum, f, o, tlen);
    Bytes.put16(f, o + CHECKSUM, Checksum.finish(sum));
    return f;
  }

  /** {@code a < b} in sequence-number space (RFC 793 §3.3: modulo 2^32). */
  public static boolean seqLt(int a, int b) {
    return a - b < 0;
  }

  public static boolean seqLeq(int a, int b) {
    return a - b <= 0;
  }

  /**
   * A parsed segment: a reusable holder the parser fills, so that reading a frame allocates
   * nothing. {@code data} is the caller's frame array; nothing here outlives the call.
   */
  public static final class Segment {
    public int srcPort;
    public int dstPort;
    public int seq;
    public int ack;
    public int flags;
    public int window;
    /** The MSS option's value, or -1 if absent. */
    public int mss;
    public byte[] data;
    public int dataOff;
    public int dataLen;

    public boolean has(int flag) {
      return (flags & flag) != 0;
    }

    /** Sequence space the segment occupies: data, plus one for SYN and one for FIN. */
    public int seqLength() {
      return dataLen + ((flags & SYN) != 0 ? 1 : 0) + ((flags & FIN) != 0 ? 1 : 0);
    }
  }
}
