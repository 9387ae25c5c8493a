package org.hospes.dom0.devicemodel.e1000;

import static org.hospes.dom0.devicemodel.e1000.E1000Registers.RXD_ERR_IPE;
import static org.hospes.dom0.devicemodel.e1000.E1000Registers.RXD_ERR_TCPE;
import static org.hospes.dom0.devicemodel.e1000.E1000Registers.RXD_STAT_IPCS;
import static org.hospes.dom0.devicemodel.e1000.E1000Registers.RXD_STAT_TCPCS;

/**
 * Receive checksum offload (8254x manual, 3.2.9, RXCSUM.IPOFLD and TUOFLD): for an IPv4
 * packet the card checks the header checksum (status IPCS; error IPE if it is wrong) and, for
 * an unfragmented TCP or UDP packet, the checksum over the pseudo-header and the segment
 * (status TCPCS; error TCPE). A UDP checksum of zero means the sender computed none, and is not
 * an error. Other packets get neither status bit, so a driver checks them itself.
 */
final class RxChecksum {
  private RxChecksum() {}

  /** Status bits in bits 7:0 and error bits in bits 15:8, for a frame of {@code len} bytes. */
  static int check(byte[] f, int len, boolean ipOffload, boolean tuOffload) {
    int l3 = 14;
    int type = u16(f, 12);
    if (type == 0x8100 && len >= 18) {
      l3 = 18;
      type = u16(f, 16);
    }
    if (type != 0x0800 || len < l3 + 20 || (f[l3] & 0xF0) != 0x40) {
      return 0;
    }
    int ihl = (f[l3] & 0x0F) * 4;
    int total = u16(f, l3 + 2);
    if (ihl < 20 || total < ihl || l3 + total > len) {
      return 0;
    }
    int status = 0;
    int errors = 0;
    if (ipOffload) {
      status |= RXD_STAT_IPCS;
      if (TxPacket.onesComplementSum(f, l3, ihl) != 0xFFFF) {
        errors |= RXD_ERR_IPE;
      }
    }
    int proto = f[l3 + 9] & 0xFF;
    boolean fragment = (u16(f, l3 + 6) & 0x3FFF) != 0;
    if (tuOffload && !fragment && (proto == 6 || proto == 17)) {
      int l4 = l3 + ihl;
      int l4len = total - ihl;
      if (proto == 17 && l4len >= 8 && u16(f, l4 + 6) == 0) {
        status |= RXD_STAT_TCPCS; // no UDP checksum sent: nothing to check
      } else if (l4len >= (proto == 6 ? 20 : 8)) {
        status |= RXD_STAT_TCPCS;
        long sum = TxPacket.onesComplementSum(f, l3 + 12, 8) + proto + l4len
            + TxPacket.onesComplementSum(f, l4, l4len);
        while ((sum >>> 16) != 0) {
          sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        if (sum != 0xFFFF) {
          errors |= RXD_ERR_TCPE;
        }
      }
    }
    return status | errors << 8;
  }

  private static int u16(byte[] f, int at) {
    return (f[at] & 0xFF) << 8 | (f[at + 1] & 0xFF);
  }
}
