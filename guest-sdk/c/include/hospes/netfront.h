/*
 * netfront: a PV network interface client (public/io/netif.h, x86_32 layouts) for Hospes PVH
 * guests.
 *
 * netfront_open() does the xenbus handshake for device/vif/<devid>: it reads backend and mac,
 * waits for the backend's InitWait, grants a tx and an rx shared ring, allocates an event
 * channel, writes tx-ring-ref, rx-ring-ref, event-channel, request-rx-copy=1,
 * feature-rx-notify=1 and feature-sg=0 (frames fit one page), switches to Connected and waits
 * for the backend's Connected. NETFRONT_RX_BUFS granted pages are posted for receiving and
 * reposted as frames are taken; frames are sent from NETFRONT_TX_BUFS granted pages, each
 * reclaimed when its tx response comes back. Indices and notifications follow ring.h
 * (RING_PUSH_REQUESTS_AND_CHECK_NOTIFY, RING_FINAL_CHECK_FOR_RESPONSES with rsp_event).
 *
 * Responses are checked before use: an id that is not outstanding, an rx offset or length
 * reaching past the page, or a response count the ring cannot hold is counted in bad_responses
 * and skipped, never followed. The guest's grant table frame 0 must be mapped (pass it in).
 */
#ifndef HOSPES_NETFRONT_H
#define HOSPES_NETFRONT_H

#include "grant.h"
#include "xen.h"

#define NETFRONT_RX_BUFS 128
#define NETFRONT_TX_BUFS 64
/* Grant refs used from first_ref on: two rings, then the buffers. */
#define NETFRONT_GRANTS (2 + NETFRONT_RX_BUFS + NETFRONT_TX_BUFS)
#define NETFRONT_MTU_FRAME 1514

#define NETTXF_csum_blank     (1 << 0)
#define NETTXF_data_validated (1 << 1)
#define NETTXF_more_data      (1 << 2)
#define NETTXF_extra_info     (1 << 3)
#define NETRXF_data_validated (1 << 0)
#define NETRXF_csum_blank     (1 << 1)
#define NETRXF_more_data      (1 << 2)
#define NETRXF_extra_info     (1 << 3)
#define NETRXF_gso_prefix     (1 << 4)

#define NETIF_RSP_DROPPED (-2)
#define NETIF_RSP_ERROR   (-1)
#define NETIF_RSP_OKAY    0
#define NETIF_RSP_NULL    1

struct netif_tx_request {
    uint32_t gref;
    uint16_t offset;
    uint16_t flags;
    uint16_t id;
    uint16_t size;
};

struct netif_tx_response {
    uint16_t id;
    int16_t status;
};

struct netif_rx_request {
    uint16_t id;
    uint16_t pad;
    uint32_t gref;
};

struct netif_rx_response {
    uint16_t id;
    uint16_t offset;
    uint16_t flags;
    int16_t status;
};

#define NETIF_RING_SIZE 256

union netif_tx_entry {
    struct netif_tx_request req;
    struct netif_tx_response rsp;
};

union netif_rx_entry {
    struct netif_rx_request req;
    struct netif_rx_response rsp;
};

struct netif_tx_sring {
    uint32_t req_prod, req_event;
    uint32_t rsp_prod, rsp_event;
    uint8_t pad[48];
    union netif_tx_entry ring[NETIF_RING_SIZE];
};

struct netif_rx_sring {
    uint32_t req_prod, req_event;
    uint32_t rsp_prod, rsp_event;
    uint8_t pad[48];
    union netif_rx_entry ring[NETIF_RING_SIZE];
};

_Static_assert(sizeof(struct netif_tx_request) == 12, "netif_tx_request");
_Static_assert(sizeof(struct netif_tx_response) == 4, "netif_tx_response");
_Static_assert(sizeof(struct netif_rx_request) == 8, "netif_rx_request");
_Static_assert(sizeof(struct netif_rx_response) == 8, "netif_rx_response");
_Static_assert(sizeof(union netif_tx_entry) == 12, "tx entry");
_Static_assert(__builtin_offsetof(struct netif_tx_sring, ring) == 64, "tx sring header");
_Static_assert(sizeof(struct netif_tx_sring) <= 4096, "tx sring in a page");
_Static_assert(sizeof(struct netif_rx_sring) <= 4096, "rx sring in a page");

struct netfront {
    int devid;
    char fe[64];
    char be[96];
    uint8_t mac[6];
    domid_t backend_id;
    volatile struct grant_entry_v1 *table;
    grant_ref_t tx_ring_ref, rx_ring_ref, rx_ref, tx_ref;  /* buffer i: rx_ref + i, tx_ref + i */
    volatile struct netif_tx_sring *tx;
    volatile struct netif_rx_sring *rx;
    uint8_t *rx_pages;          /* NETFRONT_RX_BUFS pages */
    uint8_t *tx_pages;          /* NETFRONT_TX_BUFS pages */
    evtchn_port_t port;
    uint32_t tx_req_prod_pvt, tx_rsp_cons;
    uint32_t rx_req_prod_pvt, rx_rsp_cons;
    uint8_t tx_busy[NETFRONT_TX_BUFS];   /* buffer id in flight */
    uint8_t rx_posted[NETFRONT_RX_BUFS]; /* buffer id owned by the backend */
    uint16_t tx_free[NETFRONT_TX_BUFS];  /* stack of free tx ids */
    uint32_t tx_nfree;
    /* Counters. */
    uint32_t tx_packets, rx_packets, tx_errors, rx_errors, bad_responses, events, notifies;
    uint64_t tx_bytes, rx_bytes;
};

/* Connects device/vif/devid; table is the guest's grant table frame 0, refs from first_ref on
 * (NETFRONT_GRANTS of them). Returns 0 or a negative error (the step is printed). */
int netfront_open(struct netfront *nf, int devid, volatile struct grant_entry_v1 *table,
                  grant_ref_t first_ref);
/* Queues one Ethernet frame (14..NETFRONT_MTU_FRAME bytes). 0, or -1 if it is too long or
 * every tx buffer is still in flight after waiting for the backend. */
int netfront_send(struct netfront *nf, const void *frame, uint32_t len);
/* Takes the next received frame into buf (up to size bytes, the rest cut off) and reposts its
 * buffer; returns its length, or 0 when none is waiting. Also reclaims finished tx buffers. */
int netfront_recv(struct netfront *nf, void *buf, uint32_t size);
/* Non-zero when a received frame is waiting; re-arms rsp_event otherwise (call with
 * interrupts off before blocking, as netfront_wait does). */
int netfront_poll(struct netfront *nf);
/* Blocks until a frame is waiting or system time reaches deadline_ns; non-zero if a frame is. */
int netfront_wait(struct netfront *nf, uint64_t deadline_ns);
const uint8_t *netfront_mac(const struct netfront *nf);
/* Closing, then Closed (after the backend says Closing or Closed). */
void netfront_close(struct netfront *nf);

#endif
