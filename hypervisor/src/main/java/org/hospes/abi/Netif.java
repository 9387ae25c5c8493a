package org.hospes.abi;

/**
 * The network interface (public/io/netif.h) with Xen's x86_32 layouts: two shared rings
 * (public/io/ring.h) after a 64-byte header, the transmit ring (guest to backend: 12-byte
 * requests, 4-byte responses) and the receive ring (the guest posts 8-byte buffer requests, the
 * backend fills them and answers with 8-byte responses), the extra-info slot, the flag bits, the
 * status numbers and the slot limit. The frontend (guest) writes requests, req_prod and
 * rsp_event; the backend writes responses, rsp_prod and req_event. Note the RX flags number
 * data_validated and csum_blank the other way round from the TX flags, as the header does.
 */
public final class Netif {
  private Netif() {}

  // ---- shared ring header (ring.h) ----------------------------------------------------------
  public static final int SRING_REQ_PROD = 0;
  public static final int SRING_REQ_EVENT = 4;
  public static final int SRING_RSP_PROD = 8;
  public static final int SRING_RSP_EVENT = 12;
  public static final int SRING_RING = 64;
  /** __CONST_RING_SIZE for both rings: (4096 - 64) / 12 = 336 and / 8 = 504, down to 256. */
  public static final int RING_SIZE = 256;

  // ---- struct netif_tx_request (12 bytes; also the size of a tx ring slot) -------------------
  public static final int TX_ENTRY_SIZE = 12;
  public static final int TXREQ_GREF = 0;
  public static final int TXREQ_OFFSET = 4;
  public static final int TXREQ_FLAGS = 6;
  public static final int TXREQ_ID = 8;
  public static final int TXREQ_SIZE = 10;
  // ---- struct netif_tx_response (4 bytes) ----------------------------------------------------
  public static final int TXRSP_ID = 0;
  public static final int TXRSP_STATUS = 2;

  // ---- struct netif_extra_info (8 bytes; takes a tx slot of its own) -------------------------
  public static final int EXTRA_TYPE = 0;
  public static final int EXTRA_FLAGS = 1;
  public static final int EXTRA_GSO_SIZE = 2;
  public static final int EXTRA_GSO_TYPE = 4;
  public static final int EXTRA_GSO_FEATURES = 6;
  public static final int EXTRA_MCAST_ADDR = 2;
  public static final int EXTRA_TYPE_NONE = 0;
  public static final int EXTRA_TYPE_GSO = 1;
  public static final int EXTRA_TYPE_MCAST_ADD = 2;
  public static final int EXTRA_TYPE_MCAST_DEL = 3;
  public static final int EXTRA_TYPE_HASH = 4;
  /** XEN_NETIF_EXTRA_TYPE_MAX: types at or above it are invalid. */
  public static final int EXTRA_TYPE_MAX = 5;
  public static final int EXTRA_FLAG_MORE = 1;
  public static final int GSO_TYPE_NONE = 0;
  public static final int GSO_TYPE_TCPV4 = 1;
  public static final int GSO_TYPE_TCPV6 = 2;

  // ---- struct netif_rx_request (8 bytes) -----------------------------------------------------
  public static final int RX_ENTRY_SIZE = 8;
  public static final int RXREQ_ID = 0;
  public static final int RXREQ_GREF = 4;
  // ---- struct netif_rx_response (8 bytes) ----------------------------------------------------
  public static final int RXRSP_ID = 0;
  public static final int RXRSP_OFFSET = 2;
  public static final int RXRSP_FLAGS = 4;
  public static final int RXRSP_STATUS = 6;

  // ---- flags ---------------------------------------------------------------------------------
  public static final int NETTXF_CSUM_BLANK = 1;
  public static final int NETTXF_DATA_VALIDATED = 2;
  public static final int NETTXF_MORE_DATA = 4;
  public static final int NETTXF_EXTRA_INFO = 8;
  public static final int NETRXF_DATA_VALIDATED = 1;
  public static final int NETRXF_CSUM_BLANK = 2;
  public static final int NETRXF_MORE_DATA = 4;
  public static final int NETRXF_EXTRA_INFO = 8;
  public static final int NETRXF_GSO_PREFIX = 16;

  // ---- status --------------------------------------------------------------------------------
  public static final int RSP_DROPPED = -2;
  public static final int RSP_ERROR = -1;
  public static final int RSP_OKAY = 0;
  /** The response to an extra-info slot. */
  public static final int RSP_NULL = 1;

  /** XEN_NETIF_NR_SLOTS_MIN: the slots a packet may take that every backend must accept. */
  public static final int NR_SLOTS_MIN = 18;
  /** XEN_NETIF_MAX_TX_SIZE: the largest packet (the first slot's size field is 16 bits). */
  public static final int MAX_TX_SIZE = 0xFFFF;
  public static final int ETH_HLEN = 14;
  public static final int PAGE_SIZE = 4096;

  /** Offset of tx ring slot {@code i} (free-running index) in the shared page. */
  public static int txSlot(int i) {
    return SRING_RING + (i & (RING_SIZE - 1)) * TX_ENTRY_SIZE;
  }

  /** Offset of rx ring slot {@code i} (free-running index) in the shared page. */
  public static int rxSlot(int i) {
    return SRING_RING + (i & (RING_SIZE - 1)) * RX_ENTRY_SIZE;
  }
}
