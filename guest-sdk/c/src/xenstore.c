/* The xenstore client: one request at a time over the shared ring. */
#include <hospes/guest.h>

static struct xenstore_domain_interface *ring;
static evtchn_port_t port;
static uint32_t req_id;
/* What requests return without a ring: -ENOENT (no store given), -ENOSYS (no hypervisor). */
static int no_ring = -XEN_ENOENT;
uint32_t xs_requests;

#define WATCH_QUEUE 8
static struct {
    char path[128];
    char token[64];
} watch_queue[WATCH_QUEUE];
static volatile int wq_head, wq_tail;

static void xs_event(evtchn_port_t p, void *data)
{
    (void)p;
    (void)data;
}

int xs_init(void)
{
    void *r;
    int rc = arch_store_ring(&r, &port);
    if (rc != 0) {
        no_ring = rc;
        return rc;
    }
    ring = r;
    evtchn_set_handler(port, xs_event, NULL);
    return 0;
}

int xs_available(void)
{
    return ring != NULL;
}

static void put_bytes(const char *data, int len)
{
    int done = 0;
    while (done < len) {
        evtchn_wait_until(ring->req_prod - ring->req_cons < XENSTORE_RING_SIZE);
        uint32_t prod = ring->req_prod;
        while (done < len && prod - ring->req_cons < XENSTORE_RING_SIZE) {
            ring->req[prod & (XENSTORE_RING_SIZE - 1)] = data[done++];
            prod++;
        }
        __asm__ volatile("" ::: "memory");
        ring->req_prod = prod;
        evtchn_send(port);
    }
}

static void get_bytes(char *data, int len)
{
    int done = 0;
    while (done < len) {
        evtchn_wait_until(ring->rsp_prod != ring->rsp_cons);
        uint32_t cons = ring->rsp_cons;
        while (done < len && cons != ring->rsp_prod) {
            char c = ring->rsp[cons & (XENSTORE_RING_SIZE - 1)];
            if (data) {
                data[done] = c;
            }
            done++;
            cons++;
        }
        __asm__ volatile("" ::: "memory");
        ring->rsp_cons = cons;
        evtchn_send(port);
    }
}

static const struct {
    const char *name;
    int err;
} errors[] = {
    { "EINVAL", XEN_EINVAL }, { "EACCES", XEN_EACCES }, { "EEXIST", XEN_EEXIST },
    { "EISDIR", XEN_EISDIR }, { "ENOENT", XEN_ENOENT }, { "ENOMEM", XEN_ENOMEM },
    { "ENOSPC", XEN_ENOSPC }, { "EIO", XEN_EIO }, { "ENOTEMPTY", XEN_ENOTEMPTY },
    { "ENOSYS", XEN_ENOSYS }, { "EROFS", XEN_EROFS }, { "EBUSY", XEN_EBUSY },
    { "EAGAIN", XEN_EAGAIN }, { "EISCONN", XEN_EISCONN }, { "E2BIG", XEN_E2BIG },
    { "EPERM", XEN_EPERM },
};

/* Reads one whole message; queues watch events; returns its type. */
static uint32_t read_message(char *rsp, int rsize, int *len)
{
    struct xsd_sockmsg h;
    get_bytes((char *)&h, sizeof(h));
    if (h.type == XS_WATCH_EVENT) {
        char buf[200];
        int n = h.len < sizeof(buf) ? (int)h.len : (int)sizeof(buf) - 1;
        get_bytes(buf, n);
        if ((int)h.len > n) {
            get_bytes(NULL, (int)h.len - n);
        }
        buf[n] = 0;
        int next = (wq_tail + 1) % WATCH_QUEUE;
        if (next != wq_head) {
            const char *tok = buf + strlen(buf) + 1;
            if (tok >= buf + n) {
                tok = "";
            }
            strcpy(watch_queue[wq_tail].path, buf);
            int tl = (int)strlen(tok);
            if (tl > 63) {
                tl = 63;
            }
            memcpy(watch_queue[wq_tail].token, tok, (size_t)tl);
            watch_queue[wq_tail].token[tl] = 0;
            wq_tail = next;
        }
        return h.type;
    }
    int keep = (int)h.len < rsize - 1 ? (int)h.len : rsize - 1;
    if (keep < 0) {
        keep = 0;
    }
    get_bytes(rsp, keep);
    if ((int)h.len > keep) {
        get_bytes(NULL, (int)h.len - keep);
    }
    if (rsize > 0) {
        rsp[keep] = 0;
    }
    *len = keep;
    return h.type;
}

int xs_talk(uint32_t type, xs_transaction_t tx, const char *req, int reqlen, char *rsp, int rsize)
{
    if (!ring) {
        return no_ring;
    }
    if (reqlen > XENSTORE_PAYLOAD_MAX) {
        return -XEN_E2BIG;
    }
    struct xsd_sockmsg h = { type, ++req_id, tx, (uint32_t)reqlen };
    xs_requests++;
    put_bytes((const char *)&h, sizeof(h));
    put_bytes(req, reqlen);
    for (;;) {
        int len = 0;
        uint32_t t = read_message(rsp, rsize, &len);
        if (t == XS_WATCH_EVENT) {
            continue;
        }
        if (t == XS_ERROR) {
            for (unsigned i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
                if (strcmp(rsp, errors[i].name) == 0) {
                    return -errors[i].err;
                }
            }
            return -XEN_EINVAL;
        }
        return len;
    }
}

/* "path\0" or "path\0value" into buf. */
static int join(char *buf, int size, const char *a, const char *b, int nul_after_b)
{
    int la = (int)strlen(a), lb = b ? (int)strlen(b) : 0;
    int n = la + 1 + lb + (b && nul_after_b ? 1 : 0);
    if (n > size) {
        return -XEN_E2BIG;
    }
    memcpy(buf, a, (size_t)la + 1);
    if (b) {
        memcpy(buf + la + 1, b, (size_t)lb);
        if (nul_after_b) {
            buf[la + 1 + lb] = 0;
        }
    }
    return n;
}

static char reqbuf[XENSTORE_PAYLOAD_MAX];
static char scratch[64];

int xs_read(xs_transaction_t tx, const char *path, char *buf, int size)
{
    int n = join(reqbuf, sizeof(reqbuf), path, NULL, 0);
    return n < 0 ? n : xs_talk(XS_READ, tx, reqbuf, n, buf, size);
}

int xs_write(xs_transaction_t tx, const char *path, const char *value)
{
    int n = join(reqbuf, sizeof(reqbuf), path, value, 0);
    int rc = n < 0 ? n : xs_talk(XS_WRITE, tx, reqbuf, n, scratch, sizeof(scratch));
    return rc < 0 ? rc : 0;
}

static int simple(uint32_t type, xs_transaction_t tx, const char *path)
{
    int n = join(reqbuf, sizeof(reqbuf), path, NULL, 0);
    int rc = n < 0 ? n : xs_talk(type, tx, reqbuf, n, scratch, sizeof(scratch));
    return rc < 0 ? rc : 0;
}

int xs_mkdir(xs_transaction_t tx, const char *path)
{
    return simple(XS_MKDIR, tx, path);
}

int xs_rm(xs_transaction_t tx, const char *path)
{
    return simple(XS_RM, tx, path);
}

int xs_directory(xs_transaction_t tx, const char *path, char *buf, int size)
{
    int n = join(reqbuf, sizeof(reqbuf), path, NULL, 0);
    int len = n < 0 ? n : xs_talk(XS_DIRECTORY, tx, reqbuf, n, buf, size);
    if (len < 0) {
        return len;
    }
    int count = 0;
    for (int i = 0; i < len; i++) {
        if (buf[i] == 0) {
            count++;
        }
    }
    return count;
}

int xs_get_perms(xs_transaction_t tx, const char *path, char *buf, int size)
{
    int n = join(reqbuf, sizeof(reqbuf), path, NULL, 0);
    return n < 0 ? n : xs_talk(XS_GET_PERMS, tx, reqbuf, n, buf, size);
}

int xs_set_perms(xs_transaction_t tx, const char *path, const char *const *perms, int count)
{
    int n = join(reqbuf, sizeof(reqbuf), path, NULL, 0);
    if (n < 0) {
        return n;
    }
    for (int i = 0; i < count; i++) {
        int l = (int)strlen(perms[i]) + 1;
        if (n + l > (int)sizeof(reqbuf)) {
            return -XEN_E2BIG;
        }
        memcpy(reqbuf + n, perms[i], (size_t)l);
        n += l;
    }
    int rc = xs_talk(XS_SET_PERMS, tx, reqbuf, n, scratch, sizeof(scratch));
    return rc < 0 ? rc : 0;
}

int xs_get_domain_path(domid_t domid, char *buf, int size)
{
    char id[12];
    snprintf(id, sizeof(id), "%u", (unsigned)domid);
    return xs_talk(XS_GET_DOMAIN_PATH, 0, id, (int)strlen(id) + 1, buf, size);
}

int xs_watch(const char *path, const char *token)
{
    int n = join(reqbuf, sizeof(reqbuf), path, token, 1);
    int rc = n < 0 ? n : xs_talk(XS_WATCH, 0, reqbuf, n, scratch, sizeof(scratch));
    return rc < 0 ? rc : 0;
}

int xs_unwatch(const char *path, const char *token)
{
    int n = join(reqbuf, sizeof(reqbuf), path, token, 1);
    int rc = n < 0 ? n : xs_talk(XS_UNWATCH, 0, reqbuf, n, scratch, sizeof(scratch));
    return rc < 0 ? rc : 0;
}

int xs_watch_pending(void)
{
    if (wq_head != wq_tail) {
        return 1;
    }
    /* A whole event may already sit in the ring. */
    return ring && ring->rsp_prod - ring->rsp_cons >= sizeof(struct xsd_sockmsg);
}

int xs_read_watch(char *path, int psize, char *token, int tsize)
{
    if (!ring) {
        return no_ring;
    }
    while (wq_head == wq_tail) {
        int len;
        char dummy[8];
        read_message(dummy, sizeof(dummy), &len);
    }
    int i = wq_head;
    int pl = (int)strlen(watch_queue[i].path), tl = (int)strlen(watch_queue[i].token);
    if (pl >= psize || tl >= tsize) {
        wq_head = (wq_head + 1) % WATCH_QUEUE;
        return -XEN_E2BIG;
    }
    memcpy(path, watch_queue[i].path, (size_t)pl + 1);
    memcpy(token, watch_queue[i].token, (size_t)tl + 1);
    wq_head = (wq_head + 1) % WATCH_QUEUE;
    return 0;
}

int xs_transaction_start(xs_transaction_t *tx)
{
    char id[16];
    int rc = xs_talk(XS_TRANSACTION_START, 0, "", 1, id, sizeof(id));
    if (rc < 0) {
        return rc;
    }
    *tx = (xs_transaction_t)strtol(id, NULL, 10);
    return 0;
}

int xs_transaction_end(xs_transaction_t tx, int abort)
{
    int rc = xs_talk(XS_TRANSACTION_END, tx, abort ? "F" : "T", 2, scratch, sizeof(scratch));
    return rc < 0 ? rc : 0;
}
