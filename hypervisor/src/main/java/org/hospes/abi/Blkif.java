package org.hospes.abi;

/**
 * The block device I/O interface (public/io/blkif.h) with Xen's x86_32 layouts: the shared ring
 * (public/io/ring.h) of 32 slots of 108 bytes after a 64-byte header, the request variants
 * (read/write, discard, indirect), the response, operation and status numbers, and the
 * {@code info} bits. The frontend (guest) writes requests and req_prod/rsp_event; the backend
 * writes responses and rsp_prod/req_event. Offsets were checked against gcc -m32's layout of
 * the public header.
 */
public final class Blkif {
  private Blkif() {}

  // ---- shared ring header (ring.h: struct blkif_sring) --------------------------------------
  public static final int SRING_REQ_PROD = 0;
  public static final int SRING_REQ_EVENT = 4;
  public static final int SRING_RSP_PROD = 8;
  public static final int SRING_RSP_EVENT = 12;
  /** The ring slots start after the indices and 48 bytes of padding. */
  public static final int SRING_RING = 64;
  /** sizeof(union blkif_sring_entry) on x86_32: the request is the larger member. */
  public static final int ENTRY_SIZE = 108;
  /** __CONST_RING_SIZE(blkif, 4096): (4096 - 64) / 108 = 37, rounded down to a power of two. */
  public static final int RING_SIZE = 32;

  // ---- struct blkif_request (x86_32: 108 bytes) ---------------------------------------------
  public static final int REQ_OPERATION = 0;
  public static final int REQ_NR_SEGMENTS = 1;
  public static final int REQ_HANDLE = 2;
  public static final int REQ_ID = 4;
  public static final int REQ_SECTOR = 12;
  public static final int REQ_SEG = 20;
  /** struct blkif_request_segment: gref u32 @0, first_sect u8 @4, last_sect u8 @5 (8 bytes). */
  public static final int SEG_GREF = 0;
  public static final int SEG_FIRST_SECT = 4;
  public static final int SEG_LAST_SECT = 5;
  public static final int SEG_SIZE = 8;
  public static final int MAX_SEGMENTS_PER_REQUEST = 11;

  // ---- struct blkif_request_discard ----------------------------------------------------------
  public static final int DISCARD_FLAG = 1;
  public static final int DISCARD_NR_SECTORS = 20;
  public static final int DISCARD_SECURE = 1;

  // ---- struct blkif_request_indirect (x86_32: 64 bytes) --------------------------------------
  public static final int IND_OP = 1;
  public static final int IND_NR_SEGMENTS = 2;
  public static final int IND_HANDLE = 20;
  public static final int IND_GREFS = 24;
  public static final int MAX_INDIRECT_PAGES_PER_REQUEST = 8;
  /** Segments per indirect page: 4096 / 8. */
  public static final int SEGS_PER_INDIRECT_FRAME = 512;

  // ---- struct blkif_response (12 bytes) ------------------------------------------------------
  public static final int RSP_ID = 0;
  public static final int RSP_OPERATION = 8;
  public static final int RSP_STATUS = 10;

  // ---- operations ----------------------------------------------------------------------------
  public static final int OP_READ = 0;
  public static final int OP_WRITE = 1;
  public static final int OP_WRITE_BARRIER = 2;
  public static final int OP_FLUSH_DISKCACHE = 3;
  public static final int OP_RESERVED_1 = 4;
  public static final int OP_DISCARD = 5;
  public static final int OP_INDIRECT = 6;

  // ---- status --------------------------------------------------------------------------------
  public static final int RSP_EOPNOTSUPP = -2;
  public static final int RSP_ERROR = -1;
  public static final int RSP_OKAY = 0;

  // ---- the backend's "info" key ----------------------------------------------------------------
  public static final int VDISK_CDROM = 0x1;
  public static final int VDISK_REMOVABLE = 0x2;
  public static final int VDISK_READONLY = 0x4;

  /** Sectors are 512 bytes in every blkif field, whatever sector-size says. */
  public static final int SECTOR_SHIFT = 9;
  public static final int SECTORS_PER_PAGE = 4096 >> SECTOR_SHIFT;

  /** Offset of slot {@code idx} (a free-running index) in the shared ring page. */
  public static int slot(int idx) {
    return SRING_RING + (idx & (RING_SIZE - 1)) * ENTRY_SIZE;
  }

  /** The {@code protocol} key the x86_32 layouts are named by (XEN_IO_PROTO_ABI_X86_32). */
  public static final String PROTOCOL_X86_32 = "x86_32-abi";
  public static final String PROTOCOL_X86_64 = "x86_64-abi";

  /** xvd major 202: xvda is 202 << 8 = 51712, xvdb 51728, ... (xl's vdev to devid for xvdX). */
  public static final int XVD_MAJOR = 202;

  /** The devid xl computes from a vdev name "xvdX" (X = a..p), or -1. */
  public static int devidOf(String vdev) {
    if (vdev == null || !vdev.matches("xvd[a-p]")) {
      return -1;
    }
    return (XVD_MAJOR << 8) | ((vdev.charAt(3) - 'a') << 4);
  }
}
