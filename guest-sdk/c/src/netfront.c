/*
 * netfront: see <hospes/netfront.h>. The backend is not trusted: every id, offset, length and
 * index it writes is range-checked before it is used, and a response count the ring cannot
 * hold is treated as no responses.
 */
#include <hospes/evtchn.h>
#include <hospes/guest.h>
#include <hospes/mm.h>
#include <hospes/netfront.h>
#include <hospes/time.h>
#include <hospes/xenstore.h>

#define XenbusStateInitialising 1
#define XenbusStateInitWait 2
#define XenbusStateConnected 4
#define XenbusStateClosing 5
#define XenbusStateClosed 6

static void on_event(evtchn_port_t port, void *data)
{
    (void)port;
    struct netfront *nf = data;
    nf->events++;
}

static long read_num(const char *dir, const char *key, long dflt)
{
    char path[160], buf[32];
    snprintf(path, sizeof path, "%s/%s", dir, key);
    if (xs_read(XBT_NULL, path, buf, sizeof buf) < 0) {
        return dflt;
    }
    return strtol(buf, 0, 10);
}

static int write_fe(struct netfront *nf, const char *key, long value)
{
    char path[128], buf[24];
    snprintf(path, sizeof path, "%s/%s", nf->fe, key);
    snprintf(buf, sizeof buf, "%ld", value);
    return xs_write(XBT_NULL, path, buf);
}

static int wait_backend(struct netfront *nf, int s1, int s2)
{
    char path[128], p[128], t[16];
    snprintf(path, sizeof path, "%s/state", nf->be);
    if (xs_watch(path, "nbe") < 0) {
        return -1;
    }
    int s;
    for (;;) {
        s = (int)read_num(nf->be, "state", 0);
        if (s == s1 || s == s2) {
            break;
        }
        xs_read_watch(p, sizeof p, t, sizeof t);
    }
    xs_unwatch(path, "nbe");
    return s;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* "00:16:3e:00:00:0a" into six bytes; 0 or -1. */
static int parse_mac(const char *s, uint8_t *mac)
{
    for (int i = 0; i < 6; i++) {
        int h = hexval(s[0]), l = hexval(s[1]);
        if (h < 0 || l < 0 || (i < 5 && s[2] != ':')) {
            return -1;
        }
        mac[i] = (uint8_t)(h << 4 | l);
        s += 3;
    }
    return 0;
}

/* RING_PUSH_REQUESTS_AND_CHECK_NOTIFY: publish, then notify if the backend's req_event lies in
 * the newly published range. */
static void push_requests(struct netfront *nf, volatile uint32_t *req_prod,
                          volatile uint32_t *req_event, uint32_t now)
{
    uint32_t old = *req_prod;
    __sync_synchronize();
    *req_prod = now;
    __sync_synchronize();
    if ((uint32_t)(now - *req_event) < (uint32_t)(now - old)) {
        nf->notifies++;
        evtchn_send(nf->port);
    }
}

static void post_rx(struct netfront *nf, uint16_t id)
{
    volatile struct netif_rx_request *r =
        &nf->rx->ring[nf->rx_req_prod_pvt % NETIF_RING_SIZE].req;
    r->id = id;
    r->gref = nf->rx_ref + id;
    nf->rx_posted[id] = 1;
    nf->rx_req_prod_pvt++;
}

int netfront_open(struct netfront *nf, int devid, volatile struct grant_entry_v1 *table,
                  grant_ref_t first_ref)
{
    memset(nf, 0, sizeof *nf);
    nf->devid = devid;
    nf->table = table;
    snprintf(nf->fe, sizeof nf->fe, "device/vif/%d", devid);
    char path[128], mac[32];
    snprintf(path, sizeof path, "%s/backend", nf->fe);
    if (xs_read(XBT_NULL, path, nf->be, sizeof nf->be) < 0) {
        printf("netfront: no %s\n", path);
        return -1;
    }
    snprintf(path, sizeof path, "%s/mac", nf->fe);
    if (xs_read(XBT_NULL, path, mac, sizeof mac) < 0 || parse_mac(mac, nf->mac) != 0) {
        printf("netfront: no valid %s\n", path);
        return -1;
    }
    nf->backend_id = (domid_t)read_num(nf->fe, "backend-id", 0);
    write_fe(nf, "state", XenbusStateInitialising);
    if (wait_backend(nf, XenbusStateInitWait, XenbusStateConnected) < 0) {
        return -2;
    }
    nf->tx = page_alloc(1);
    nf->rx = page_alloc(1);
    nf->rx_pages = page_alloc(NETFRONT_RX_BUFS);
    nf->tx_pages = page_alloc(NETFRONT_TX_BUFS);
    if (!nf->tx || !nf->rx || !nf->rx_pages || !nf->tx_pages) {
        printf("netfront: out of memory\n");
        return -3;
    }
    /* SHARED_RING_INIT and FRONT_RING_INIT. */
    memset((void *)nf->tx, 0, 4096);
    memset((void *)nf->rx, 0, 4096);
    nf->tx->req_event = nf->tx->rsp_event = 1;
    nf->rx->req_event = nf->rx->rsp_event = 1;
    nf->tx_ring_ref = first_ref;
    nf->rx_ring_ref = first_ref + 1;
    nf->rx_ref = first_ref + 2;
    nf->tx_ref = nf->rx_ref + NETFRONT_RX_BUFS;
    domid_t be = nf->backend_id;
    gnttab_grant_access(table, nf->tx_ring_ref, be, virt_to_gfn((const void *)nf->tx), 0);
    gnttab_grant_access(table, nf->rx_ring_ref, be, virt_to_gfn((const void *)nf->rx), 0);
    for (int i = 0; i < NETFRONT_RX_BUFS; i++) {
        gnttab_grant_access(table, nf->rx_ref + i, be, virt_to_gfn((const char *)nf->rx_pages + i * 4096), 0);
    }
    for (int i = 0; i < NETFRONT_TX_BUFS; i++) {
        /* The backend only reads what we send. */
        gnttab_grant_access(table, nf->tx_ref + i, be, virt_to_gfn((const char *)nf->tx_pages + i * 4096), 1);
        nf->tx_free[nf->tx_nfree++] = (uint16_t)(NETFRONT_TX_BUFS - 1 - i);
    }
    int port = evtchn_alloc_unbound(be);
    if (port < 0) {
        return port;
    }
    nf->port = (evtchn_port_t)port;
    evtchn_set_handler(nf->port, on_event, nf);
    for (int i = 0; i < NETFRONT_RX_BUFS; i++) {
        post_rx(nf, (uint16_t)i);
    }
    __sync_synchronize();
    nf->rx->req_prod = nf->rx_req_prod_pvt;
    write_fe(nf, "tx-ring-ref", nf->tx_ring_ref);
    write_fe(nf, "rx-ring-ref", nf->rx_ring_ref);
    write_fe(nf, "event-channel", nf->port);
    write_fe(nf, "request-rx-copy", 1);
    write_fe(nf, "feature-rx-notify", 1);
    write_fe(nf, "feature-sg", 0);
    write_fe(nf, "feature-gso-tcpv4", 0);
    write_fe(nf, "state", XenbusStateConnected);
    if (wait_backend(nf, XenbusStateConnected, XenbusStateClosing) != XenbusStateConnected) {
        char err[128];
        snprintf(path, sizeof path, "%s/error", nf->be);
        if (xs_read(XBT_NULL, path, err, sizeof err) < 0) {
            strcpy(err, "no reason given");
        }
        printf("netfront: the backend refused the connection: %s\n", err);
        return -4;
    }
    return 0;
}

/* Takes tx responses: each valid, outstanding id's buffer is free again. */
static void reclaim_tx(struct netfront *nf)
{
    for (;;) {
        uint32_t prod = nf->tx->rsp_prod;
        __sync_synchronize();
        if ((uint32_t)(prod - nf->tx_rsp_cons) > (uint32_t)(nf->tx_req_prod_pvt - nf->tx_rsp_cons)) {
            nf->bad_responses++;   /* more responses than requests: ignore the index */
            return;
        }
        while (nf->tx_rsp_cons != prod) {
            volatile struct netif_tx_response *r =
                &nf->tx->ring[nf->tx_rsp_cons % NETIF_RING_SIZE].rsp;
            uint16_t id = r->id;
            int16_t status = r->status;
            nf->tx_rsp_cons++;
            if (status == NETIF_RSP_NULL) {
                continue;   /* the slot of an extra_info segment */
            }
            if (id >= NETFRONT_TX_BUFS || !nf->tx_busy[id]) {
                nf->bad_responses++;
                continue;
            }
            nf->tx_busy[id] = 0;
            nf->tx_free[nf->tx_nfree++] = id;
            if (status != NETIF_RSP_OKAY) {
                nf->tx_errors++;
            }
        }
        /* RING_FINAL_CHECK_FOR_RESPONSES: only ask for an event while buffers are out. */
        nf->tx->rsp_event = nf->tx_rsp_cons + 1;
        __sync_synchronize();
        if (nf->tx->rsp_prod == nf->tx_rsp_cons) {
            return;
        }
    }
}

int netfront_send(struct netfront *nf, const void *frame, uint32_t len)
{
    if (len < 14 || len > NETFRONT_MTU_FRAME) {
        return -1;
    }
    reclaim_tx(nf);
    if (nf->tx_nfree == 0) {
        uint64_t deadline = monotonic_ns() + 100000000ull;
        while (nf->tx_nfree == 0 && monotonic_ns() < deadline) {
            uint32_t ev = nf->events;
            timer_set(deadline, 0);
            local_irq_disable();
            reclaim_tx(nf);
            if (nf->tx_nfree == 0 && nf->events == ev) {
                evtchn_block();
            } else {
                local_irq_enable();
            }
            reclaim_tx(nf);
        }
        if (nf->tx_nfree == 0) {
            nf->tx_errors++;
            return -1;
        }
    }
    uint16_t id = nf->tx_free[--nf->tx_nfree];
    nf->tx_busy[id] = 1;
    memcpy(nf->tx_pages + (uint32_t)id * PAGE_SIZE, frame, len);
    volatile struct netif_tx_request *r =
        &nf->tx->ring[nf->tx_req_prod_pvt % NETIF_RING_SIZE].req;
    r->gref = nf->tx_ref + id;
    r->offset = 0;
    r->flags = 0;   /* checksums are whole: neither csum_blank nor data_validated */
    r->id = id;
    r->size = (uint16_t)len;
    nf->tx_req_prod_pvt++;
    push_requests(nf, &nf->tx->req_prod, &nf->tx->req_event, nf->tx_req_prod_pvt);
    nf->tx_packets++;
    nf->tx_bytes += len;
    return 0;
}

/* Non-zero when rx responses wait; a rsp_prod past what was posted is hostile and reads as none. */
static int rx_pending(struct netfront *nf)
{
    uint32_t prod = nf->rx->rsp_prod;
    __sync_synchronize();
    if ((uint32_t)(prod - nf->rx_rsp_cons) > (uint32_t)(nf->rx_req_prod_pvt - nf->rx_rsp_cons)) {
        nf->bad_responses++;
        return 0;
    }
    return prod != nf->rx_rsp_cons;
}

int netfront_poll(struct netfront *nf)
{
    if (rx_pending(nf)) {
        return 1;
    }
    nf->rx->rsp_event = nf->rx_rsp_cons + 1;
    __sync_synchronize();
    return rx_pending(nf);
}

int netfront_recv(struct netfront *nf, void *buf, uint32_t size)
{
    reclaim_tx(nf);
    int got = 0;
    while (!got && rx_pending(nf)) {
        uint32_t total = 0;
        int bad = 0, more;
        do {
            volatile struct netif_rx_response *r =
                &nf->rx->ring[nf->rx_rsp_cons % NETIF_RING_SIZE].rsp;
            uint16_t id = r->id, off = r->offset, flags = r->flags;
            int16_t status = r->status;
            nf->rx_rsp_cons++;
            more = (flags & NETRXF_more_data) != 0;
            if (id >= NETFRONT_RX_BUFS || !nf->rx_posted[id]) {
                nf->bad_responses++;
                bad = 1;
                continue;   /* not ours to repost */
            }
            nf->rx_posted[id] = 0;
            if (flags & NETRXF_extra_info) {
                bad = 1;    /* we offered no GSO: an extra slot would be a protocol error */
            }
            if (status < 0) {
                nf->rx_errors++;
                bad = 1;
            } else if ((uint32_t)off + (uint32_t)status > PAGE_SIZE) {
                nf->bad_responses++;
                bad = 1;
            } else if (!bad) {
                uint32_t n = (uint32_t)status;
                if (total < size) {
                    uint32_t c = size - total < n ? size - total : n;
                    memcpy((uint8_t *)buf + total,
                           nf->rx_pages + (uint32_t)id * PAGE_SIZE + off, c);
                }
                total += n;
            }
            post_rx(nf, id);
        } while (more && rx_pending(nf));
        if (!bad && total > 0) {
            nf->rx_packets++;
            nf->rx_bytes += total;
            got = (int)(total < size ? total : size);
        }
    }
    push_requests(nf, &nf->rx->req_prod, &nf->rx->req_event, nf->rx_req_prod_pvt);
    return got;
}

int netfront_wait(struct netfront *nf, uint64_t deadline_ns)
{
    for (;;) {
        if (netfront_poll(nf)) {
            return 1;
        }
        if (monotonic_ns() >= deadline_ns) {
            return 0;
        }
        uint32_t ev = nf->events;
        uint32_t ticks = timer_ticks;
        if (timer_set(deadline_ns, VCPU_SSHOTTMR_future) != 0) {
            return netfront_poll(nf);
        }
        local_irq_disable();
        if (nf->events == ev && timer_ticks == ticks && !netfront_poll(nf)) {
            evtchn_block();
        } else {
            local_irq_enable();
        }
    }
}

const uint8_t *netfront_mac(const struct netfront *nf)
{
    return nf->mac;
}

void netfront_close(struct netfront *nf)
{
    write_fe(nf, "state", XenbusStateClosing);
    wait_backend(nf, XenbusStateClosing, XenbusStateClosed);
    write_fe(nf, "state", XenbusStateClosed);
}
