/*
 * blkfront: see <hospes/blkfront.h>. Ring indices follow ring.h: the frontend publishes
 * req_prod after the requests (a barrier between), notifies when the backend's req_event says
 * it is waiting, and re-arms rsp_event before sleeping.
 */
#include <hospes/blkfront.h>
#include <hospes/evtchn.h>
#include <hospes/guest.h>
#include <hospes/mm.h>
#include <hospes/xenstore.h>

#define XenbusStateInitWait 2
#define XenbusStateInitialised 3
#define XenbusStateConnected 4
#define XenbusStateClosing 5
#define XenbusStateClosed 6

static void on_event(evtchn_port_t port, void *data)
{
    (void)port;
    struct blkfront *bf = data;
    bf->events++;
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

/* Waits (through a watch) until the backend's state is one of the two given. */
static int wait_backend(struct blkfront *bf, int s1, int s2)
{
    char path[128], p[128], t[16];
    snprintf(path, sizeof path, "%s/state", bf->be);
    if (xs_watch(path, "be") < 0) {
        return -1;
    }
    int s;
    for (;;) {
        s = (int)read_num(bf->be, "state", 0);
        if (s == s1 || s == s2) {
            break;
        }
        xs_read_watch(p, sizeof p, t, sizeof t);
    }
    xs_unwatch(path, "be");
    return s;
}

static int write_fe(struct blkfront *bf, const char *key, long value)
{
    char path[128], buf[24];
    snprintf(path, sizeof path, "%s/%s", bf->fe, key);
    snprintf(buf, sizeof buf, "%ld", value);
    return xs_write(XBT_NULL, path, buf);
}

int blkfront_init(struct blkfront *bf, int devid, volatile struct grant_entry_v1 *table,
                  grant_ref_t first_ref)
{
    memset(bf, 0, sizeof *bf);
    bf->devid = devid;
    bf->table = table;
    snprintf(bf->fe, sizeof bf->fe, "device/vbd/%d", devid);
    char path[128];
    snprintf(path, sizeof path, "%s/backend", bf->fe);
    if (xs_read(XBT_NULL, path, bf->be, sizeof bf->be) < 0) {
        printf("blkfront: no %s\n", path);
        return -1;
    }
    long backend_id = read_num(bf->fe, "backend-id", 0);
    if (wait_backend(bf, XenbusStateInitWait, XenbusStateConnected) < 0) {
        return -2;
    }
    bf->ring = page_alloc(1);
    bf->data = page_alloc(BLKFRONT_PAGES);
    if (!bf->ring || !bf->data) {
        return -3;
    }
    memset((void *)bf->ring, 0, 4096);
    bf->ring->req_event = 1;   /* SHARED_RING_INIT */
    bf->ring->rsp_event = 1;
    bf->ring_ref = first_ref;
    bf->data_ref = first_ref + 1;
    gnttab_grant_access(table, bf->ring_ref, backend_id, virt_to_gfn((const void *)bf->ring), 0);
    for (int i = 0; i < BLKFRONT_PAGES; i++) {
        gnttab_grant_access(table, bf->data_ref + i, backend_id,
                            virt_to_gfn((const char *)bf->data + i * 4096), 0);
    }
    int port = evtchn_alloc_unbound((domid_t)backend_id);
    if (port < 0) {
        return port;
    }
    bf->port = (evtchn_port_t)port;
    evtchn_set_handler(bf->port, on_event, bf);
    write_fe(bf, "ring-ref", bf->ring_ref);
    write_fe(bf, "event-channel", bf->port);
    snprintf(path, sizeof path, "%s/protocol", bf->fe);
    xs_write(XBT_NULL, path, "x86_32-abi");
    write_fe(bf, "state", XenbusStateInitialised);
    if (wait_backend(bf, XenbusStateConnected, XenbusStateClosing) != XenbusStateConnected) {
        printf("blkfront: the backend refused the connection\n");
        return -4;
    }
    bf->sectors = (uint64_t)read_num(bf->be, "sectors", 0);
    bf->sector_size = (unsigned)read_num(bf->be, "sector-size", 512);
    bf->readonly = (read_num(bf->be, "info", 0) & VDISK_READONLY) != 0;
    bf->flush = read_num(bf->be, "feature-flush-cache", 0) == 1;
    write_fe(bf, "state", XenbusStateConnected);
    return 0;
}

/* Publishes one request and waits for its response; returns the status. */
static int submit(struct blkfront *bf)
{
    uint32_t old = bf->ring->req_prod;
    uint32_t now = ++bf->req_prod_pvt;
    __sync_synchronize();
    bf->ring->req_prod = now;
    __sync_synchronize();
    if ((uint32_t)(now - bf->ring->req_event) < (uint32_t)(now - old)) {
        evtchn_send(bf->port);
    }
    bf->requests++;
    for (;;) {
        local_irq_disable();
        if (bf->ring->rsp_prod != bf->rsp_cons) {
            local_irq_enable();
            break;
        }
        bf->ring->rsp_event = bf->rsp_cons + 1;
        __sync_synchronize();
        if (bf->ring->rsp_prod != bf->rsp_cons) {
            local_irq_enable();
            break;
        }
        evtchn_block();
    }
    __sync_synchronize();
    volatile struct blkif_response *rsp =
        &bf->ring->ring[bf->rsp_cons % BLKIF_RING_SIZE].rsp;
    int status = rsp->status;
    bf->rsp_cons++;
    return status;
}

static volatile struct blkif_request *next_slot(struct blkfront *bf)
{
    volatile struct blkif_request *r = &bf->ring->ring[bf->req_prod_pvt % BLKIF_RING_SIZE].req;
    memset((void *)r, 0, sizeof *r);
    r->handle = (uint16_t)bf->devid;
    r->id = ++bf->next_id;
    return r;
}

/* One READ or WRITE of up to BLKFRONT_PAGES pages' worth of sectors through the bounce pages. */
static int rw(struct blkfront *bf, int op, uint64_t sector, uint8_t *buf, uint32_t n)
{
    volatile struct blkif_request *r = next_slot(bf);
    r->operation = (uint8_t)op;
    r->sector_number = sector;
    uint32_t segs = (n + 7) / 8;
    r->nr_segments = (uint8_t)segs;
    for (uint32_t i = 0; i < segs; i++) {
        uint32_t left = n - i * 8;
        r->seg[i].gref = bf->data_ref + i;
        r->seg[i].first_sect = 0;
        r->seg[i].last_sect = (uint8_t)((left >= 8 ? 8 : left) - 1);
    }
    if (op == BLKIF_OP_WRITE) {
        memcpy(bf->data, buf, n * 512);
    }
    int status = submit(bf);
    if (status == BLKIF_RSP_OKAY && op == BLKIF_OP_READ) {
        memcpy(buf, bf->data, n * 512);
    }
    return status;
}

static int transfer(struct blkfront *bf, int op, uint64_t sector, uint8_t *buf, uint32_t n)
{
    while (n > 0) {
        uint32_t chunk = n > BLKFRONT_PAGES * 8 ? BLKFRONT_PAGES * 8 : n;
        int status = rw(bf, op, sector, buf, chunk);
        if (status != BLKIF_RSP_OKAY) {
            return status;
        }
        sector += chunk;
        buf += chunk * 512;
        n -= chunk;
    }
    return BLKIF_RSP_OKAY;
}

int blkfront_read(struct blkfront *bf, uint64_t sector, void *buf, uint32_t nsectors)
{
    return transfer(bf, BLKIF_OP_READ, sector, buf, nsectors);
}

int blkfront_write(struct blkfront *bf, uint64_t sector, const void *buf, uint32_t nsectors)
{
    return transfer(bf, BLKIF_OP_WRITE, sector, (uint8_t *)buf, nsectors);
}

int blkfront_flush(struct blkfront *bf)
{
    volatile struct blkif_request *r = next_slot(bf);
    r->operation = BLKIF_OP_FLUSH_DISKCACHE;
    return submit(bf);
}

void blkfront_close(struct blkfront *bf)
{
    write_fe(bf, "state", XenbusStateClosing);
    wait_backend(bf, XenbusStateClosing, XenbusStateClosed);
    write_fe(bf, "state", XenbusStateClosed);
}
