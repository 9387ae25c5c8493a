/*
 * blkfront: a PV block device client (public/io/blkif.h, x86_32 layouts) for Hospes PVH guests.
 *
 * blkfront_init() does the xenbus handshake for device/vbd/<devid> (xvda is 51712): it waits
 * for the backend's InitWait, grants a fresh shared ring and its data pages to the backend,
 * allocates an event channel, writes ring-ref, event-channel and protocol, switches to
 * Initialised, waits for the backend's Connected, reads sectors/info/sector-size and switches to
 * Connected. Requests are synchronous: one in flight, answered before the call returns.
 * Data goes through BLKFRONT_PAGES granted bounce pages, so a request moves up to 44 KiB and
 * larger transfers are split. The guest's grant table frame 0 must be mapped (pass it in).
 */
#ifndef HOSPES_BLKFRONT_H
#define HOSPES_BLKFRONT_H

#include "grant.h"
#include "xen.h"

/* Segments per request (BLKIF_MAX_SEGMENTS_PER_REQUEST): one bounce page each. */
#define BLKFRONT_PAGES 11
#define BLKIF_OP_READ 0
#define BLKIF_OP_WRITE 1
#define BLKIF_OP_WRITE_BARRIER 2
#define BLKIF_OP_FLUSH_DISKCACHE 3
#define BLKIF_OP_DISCARD 5
#define BLKIF_RSP_EOPNOTSUPP (-2)
#define BLKIF_RSP_ERROR (-1)
#define BLKIF_RSP_OKAY 0
#define VDISK_READONLY 0x4

struct blkif_request_segment {
    uint32_t gref;
    uint8_t first_sect, last_sect;
    uint16_t pad;
};

struct blkif_request {
    uint8_t operation;
    uint8_t nr_segments;
    uint16_t handle;
    uint64_t id;
    uint64_t sector_number;
    struct blkif_request_segment seg[BLKFRONT_PAGES];
} __attribute__((packed, aligned(4)));

struct blkif_response {
    uint64_t id;
    uint8_t operation;
    uint8_t pad;
    int16_t status;
} __attribute__((packed, aligned(4)));

union blkif_sring_entry {
    struct blkif_request req;
    struct blkif_response rsp;
};

#define BLKIF_RING_SIZE 32
struct blkif_sring {
    uint32_t req_prod, req_event;
    uint32_t rsp_prod, rsp_event;
    uint8_t pad[48];
    union blkif_sring_entry ring[BLKIF_RING_SIZE];
};

_Static_assert(sizeof(struct blkif_request) == 108, "blkif_request (x86_32)");
_Static_assert(sizeof(struct blkif_response) == 12, "blkif_response");
_Static_assert(__builtin_offsetof(struct blkif_sring, ring) == 64, "sring header");

struct blkfront {
    int devid;
    char fe[64];
    char be[96];
    volatile struct grant_entry_v1 *table;
    grant_ref_t ring_ref;
    grant_ref_t data_ref;          /* data page i is data_ref + i */
    volatile struct blkif_sring *ring;
    uint8_t *data;                 /* BLKFRONT_PAGES pages */
    evtchn_port_t port;
    uint32_t req_prod_pvt, rsp_cons;
    uint64_t next_id;
    uint64_t sectors;
    unsigned sector_size;
    int readonly;
    int flush;                     /* feature-flush-cache */
    uint32_t requests, events;
};

/* Connects device devid; table is the guest's grant table frame 0, refs from first_ref on
 * (BLKFRONT_PAGES + 1 of them). Returns 0 or a negative error (the step is printed). */
int blkfront_init(struct blkfront *bf, int devid, volatile struct grant_entry_v1 *table,
                  grant_ref_t first_ref);
/* Whole sectors (512 bytes); return BLKIF_RSP_OKAY (0) or the backend's negative status. */
int blkfront_read(struct blkfront *bf, uint64_t sector, void *buf, uint32_t nsectors);
int blkfront_write(struct blkfront *bf, uint64_t sector, const void *buf, uint32_t nsectors);
/* FLUSH_DISKCACHE: every write answered before it is on stable storage when it returns 0. */
int blkfront_flush(struct blkfront *bf);
/* Closing, then Closed (after the backend says Closing or Closed). */
void blkfront_close(struct blkfront *bf);

#endif
