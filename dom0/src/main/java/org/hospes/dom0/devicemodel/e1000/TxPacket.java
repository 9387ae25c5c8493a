package org.hospes.dom0.devicemodel.e1000;

import static org.hospes.dom0.devicemodel.e1000.E1000Registers.TUCMD_IP;
import static org.hospes.dom0.devicemodel.e1000.E1000Registers.TUCMD_TCP;
import static org.hospes.dom0.devicemodel.e1000.E1000Registers.TXD_POPTS_IXSM;
import static org.hospes.dom0.devicemodel.e1000.E1000Registers.TXD_POPTS_TXSM;

/**
 * The packet the transmit unit is gathering from descriptors, and what it does to it at the
 * end (8254x manual, 3.3 and 8.2): checksum insertion, TCP segmentation and VLAN tag
 * insertion. The offload parameters come from the last context descriptor (IPCSS/IPCSO/IPCSE,
 * TUCSS/TUCSO/TUCSE, TUCMD, HDRLEN, MSS) or, for a legacy descriptor, its own CSO and CSS.
 *
 * <p>A checksum is the 16-bit one's complement of the one's complement sum from its start
 * offset to its end offset inclusive (0 = the end of the packet), stored big-endian at its
 * offset; whatever the field held before is part of the sum, which is how a driver seeds the
 * TCP/UDP pseudo-header. TCP segmentation splits the payload after HDRLEN bytes into MSS-sized
 * pieces, each sent behind a copy of the header in which the device fixes, per segment: the
 * IPv4 total length and identification (+1 per segment) or the IPv6 payload length, the TCP
 * sequence number (+ the bytes sent before), FIN and PSH (only on the last segment), and the
 * TCP checksum (the seeded pseudo-header sum plus this segment's TCP length), then inserts the
 * checksums POPTS asks for.
 *
 * <p>Nothing here trusts the offsets: a field or range outside the packet is not touched.
 */
final class TxPacket {
  /** Headers plus the largest payload a TSO context can describe in practice (64 KiB). */
  static final int MAX = 0x10000 + 256;
  static final int MIN_FRAME = 60;

  final byte[] data = new byte[MAX];
  int length;
  boolean overflow;
  /** Options of the packet's first data descriptor: POPTS, TSE, VLE with its tag. */
  boolean started;
  int popts;
  boolean tse;
  boolean vle;
  int vlanTag;
  boolean legacyChecksum;
  int legacyCso;
  int legacyCss;

  // The context (kept across packets until the next context descriptor).
  int ipcss;
  int ipcso;
  int ipcse;
  int tucss;
  int tucso;
  int tucse;
  int tucmd;
  int hdrlen;
  int mss;

  private final byte[] segment = new byte[MAX + 4];

  /** Where finished frames go. */
  @FunctionalInterface
  interface Sender {
    void send(byte[] frame, int length);
  }

  void clear() {
    length = 0;
    overflow = false;
    started = false;
    popts = 0;
    tse = false;
    vle = false;
    legacyChecksum = false;
  }

  /** Room for {@code n} more bytes; false (and the packet marked bad) if it is too long. */
  boolean reserve(int n) {
    if (overflow || n > MAX - length) {
      overflow = true;
      return false;
    }
    return true;
  }

  /**
   * Sends the finished packet: as it is (with the legacy or context checksums), or as TCP
   * segments. Returns the number of frames sent.
   */
  int finish(int vlanEthertype, boolean pad, Sender out) {
    if (overflow || length == 0) {
      return 0;
    }
    if (tse) {
      return segment(vlanEthertype, pad, out);
    }
    if (legacyChecksum) {
      insertChecksum(data, length, legacyCss, legacyCso, 0);
    } else {
      if ((popts & TXD_POPTS_IXSM) != 0) {
        insertChecksum(data, length, ipcss, ipcso, ipcse);
      }
      if ((popts & TXD_POPTS_TXSM) != 0) {
        insertChecksum(data, length, tucss, tucso, tucse);
      }
    }
    emit(data, length, vlanEthertype, pad, out);
    return 1;
  }

  private int segment(int vlanEthertype, boolean pad, Sender out) {
    int hdr = hdrlen;
    if (mss == 0 || hdr <= 0 || hdr > length || hdr > 255) {
      return 0; // a context a real device would send garbage for: drop it
    }
    int payload = length - hdr;
    int frames = 0;
    int sent = 0;
    boolean ipv4 = (tucmd & TUCMD_IP) != 0;
    boolean tcp = (tucmd & TUCMD_TCP) != 0;
    do {
      int chunk = Math.min(mss, payload - sent);
      boolean last = sent + chunk >= payload;
      System.arraycopy(data, 0, segment, 0, hdr);
      System.arraycopy(data, hdr + sent, segment, hdr, chunk);
      int len = hdr + chunk;
      if (ipv4) {
        put16(segment, len, ipcss + 2, len - ipcss);
        put16(segment, len, ipcss + 4, get16(segment, len, ipcss + 4) + frames);
      } else {
        put16(segment, len, ipcss + 4, len - ipcss - 40);
      }
      if (tcp) {
        if (tucss + 8 <= len) {
          int seq = get16(segment, len, tucss + 4) << 16 | get16(segment, len, tucss + 6);
          seq += sent;
          put16(segment, len, tucss + 4, seq >>> 16);
          put16(segment, len, tucss + 6, seq);
        }
        if (!last && tucss + 13 < len) {
          segment[tucss + 13] &= (byte) ~0x09; // FIN and PSH only on the last segment
        }
      } else {
        put16(segment, len, tucss + 4, len - tucss); // UDP length
      }
      if ((popts & TXD_POPTS_TXSM) != 0 && tucso + 2 <= len) {
        // The seeded pseudo-header sum leaves out the length: add this segment's.
        int seeded = get16(segment, len, tucso) + (len - tucss);
        put16(segment, len, tucso, (seeded & 0xFFFF) + (seeded >>> 16));
      }
      if ((popts & TXD_POPTS_IXSM) != 0) {
        insertChecksum(segment, len, ipcss, ipcso, ipcse);
      }
      if ((popts & TXD_POPTS_TXSM) != 0) {
        insertChecksum(segment, len, tucss, tucso, tucse);
      }
      emit(segment, len, vlanEthertype, pad, out);
      frames++;
      sent += chunk;
    } while (sent < payload);
    return frames;
  }

  /** Inserts the VLAN tag if asked, pads short frames if asked, and sends. */
  private void emit(byte[] frame, int len, int vlanEthertype, boolean pad, Sender out) {
    byte[] f = frame;
    int n = len;
    if (vle && len >= 12) {
      // 802.1Q: the tag goes after the two addresses. A whole packet is tagged into the
      // segment buffer; a segment (already there) is shifted up in place.
      if (frame == segment) {
        System.arraycopy(segment, 12, segment, 16, len - 12);
      } else {
        System.arraycopy(frame, 0, segment, 0, 12);
        System.arraycopy(frame, 12, segment, 16, len - 12);
      }
      segment[12] = (byte) (vlanEthertype >>> 8);
      segment[13] = (byte) vlanEthertype;
      segment[14] = (byte) (vlanTag >>> 8);
      segment[15] = (byte) vlanTag;
      f = segment;
      n = len + 4;
    }
    if (pad && n < MIN_FRAME) {
      java.util.Arrays.fill(f, n, MIN_FRAME, (byte) 0);
      n = MIN_FRAME;
    }
    out.send(f, n);
  }

  /** Stores the checksum of {@code [css, cse]} (cse 0: to the end) at {@code cso}. */
  static void insertChecksum(byte[] b, int len, int css, int cso, int cse) {
    int end = cse == 0 ? len - 1 : Math.min(cse, len - 1);
    if (css < 0 || css > end || cso < 0 || cso + 2 > len) {
      return;
    }
    int sum = ~onesComplementSum(b, css, end - css + 1) & 0xFFFF;
    b[cso] = (byte) (sum >>> 8);
    b[cso + 1] = (byte) sum;
  }

  /** The folded 16-bit one's complement sum of {@code n} bytes (big-endian words). */
  static int onesComplementSum(byte[] b, int from, int n) {
    long sum = 0;
    int i = from;
    int end = from + n;
    for (; i + 1 < end; i += 2) {
      sum += (b[i] & 0xFF) << 8 | (b[i + 1] & 0xFF);
    }
    if (i < end) {
      sum += (b[i] & 0xFF) << 8;
    }
    while ((sum >>> 16) != 0) {
      sum = (sum & 0xFFFF) + (sum >>> 16);
    }
    return (int) sum;
  }

  private static int get16(byte[] b, int len, int at) {
    if (at < 0 || at + 2 > len) {
      return 0;
    }
    return (b[at] & 0xFF) << 8 | (b[at + 1] & 0xFF);
  }

  private static void put16(byte[] b, int len, int at, int v) {
    if (at < 0 || at + 2 > len) {
      return;
    }
    b[at] = (byte) (v >>> 8);
    b[at + 1] = (byte) v;
  }
}
