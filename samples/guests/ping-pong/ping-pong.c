/*
 * ping-pong: two PVH guests connect an interdomain event channel through
 * xenstore and bounce a counter over it.
 *
 *   ping: cmdline "ping peer=<domid> count=<n>"
 *   pong: cmdline "pong peer=<domid>"
 *
 * Handshake: ping allocates an unbound port for the peer and grants it a
 * page (grant ref 8 in its grant table), and publishes port, grant ref and
 * count in /local/domain/<ping>/data/pingpong/, readable by the peer; pong
 * watches that node, binds to the port, maps the granted page and writes
 * /local/domain/<pong>/data/pingpong/ready, which ping watches.
 *
 * The bounce: the counter lives in the shared page. Ping sets it to 2i+1 and
 * sends an event; pong checks it, sets it to 2i+2 and sends one back; ping
 * checks that. At the end pong unmaps the page, publishes how many events it
 * received, and ping checks both that and the counter, then takes the grant
 * back.
 */
#include <hospes/guest.h>
#include <hospes/grant.h>

#define GREF 8

struct shared {
    volatile uint32_t counter;
    volatile uint32_t errors;
};

static volatile uint32_t received;

static void on_event(evtchn_port_t port, void *data)
{
    (void)port;
    (void)data;
    received++;
}

static long arg(const char *name, long dflt)
{
    const char *c = guest_cmdline();
    size_t n = strlen(name);
    for (const char *p = c; *p; p++) {
        if ((p == c || p[-1] == ' ') && strncmp(p, name, n) == 0 && p[n] == '=') {
            return strtol(p + n + 1, NULL, 10);
        }
    }
    return dflt;
}

static void fail(const char *what, int rc)
{
    printf("%s failed: %d\n", what, rc);
    guest_shutdown(SHUTDOWN_crash);
}

/* Waits until path can be read (watching it), into buf. */
static void await_node(const char *path, char *buf, int size)
{
    char p[128], t[32];
    int rc = xs_watch(path, "await");
    if (rc < 0) {
        fail("watch", rc);
    }
    while (xs_read(XBT_NULL, path, buf, size) < 0) {
        xs_read_watch(p, sizeof(p), t, sizeof(t));
    }
    xs_unwatch(path, "await");
}

int main(const struct hvm_start_info *si)
{
    guest_require_xen("ping-pong");
    (void)si;
    char path[128], buf[64];
    int ping = strncmp(guest_cmdline(), "ping", 4) == 0;
    domid_t me = guest_domid();
    domid_t peer = (domid_t)arg("peer", 0);
    if (!xs_available() || peer == 0) {
        printf("ping-pong: needs xenstore and peer=<domid>\n");
        return 1;
    }
    if (ping) {
        uint32_t count = (uint32_t)arg("count", 1000000);
        int port = evtchn_alloc_unbound(peer);
        if (port < 0) {
            fail("alloc_unbound", port);
        }
        /* Grant table frame 0 goes over a page of ours; the shared page is another. */
        struct grant_entry_v1 *table = page_alloc(1);
        struct shared *sh = page_alloc(1);
        long rc = gnttab_map_table_frame(0, virt_to_gfn(table));
        if (rc != 0) {
            fail("grant table", (int)rc);
        }
        gnttab_grant_access(table, GREF, peer, virt_to_gfn(sh), 0);
        evtchn_set_handler((evtchn_port_t)port, on_event, NULL);
        char peer_perm[8], own_perm[8];
        snprintf(own_perm, sizeof(own_perm), "n%u", me);
        snprintf(peer_perm, sizeof(peer_perm), "r%u", peer);
        const char *perms[] = { own_perm, peer_perm };
        snprintf(buf, sizeof(buf), "%u", count);
        xs_write(XBT_NULL, "data/pingpong/count", buf);
        xs_set_perms(XBT_NULL, "data/pingpong/count", perms, 2);
        snprintf(buf, sizeof(buf), "%d", GREF);
        xs_write(XBT_NULL, "data/pingpong/gref", buf);
        xs_set_perms(XBT_NULL, "data/pingpong/gref", perms, 2);
        snprintf(buf, sizeof(buf), "%d", port);
        xs_write(XBT_NULL, "data/pingpong/port", buf);
        xs_set_perms(XBT_NULL, "data/pingpong/port", perms, 2);
        printf("ping: offered port %d and grant %d to domain %u\n", port, GREF, peer);
        snprintf(path, sizeof(path), "/local/domain/%u/data/pingpong/ready", peer);
        await_node(path, buf, sizeof(buf));
        printf("ping: pong is ready, bouncing %u times\n", count);
        uint32_t bad = 0;
        for (uint32_t i = 0; i < count; i++) {
            sh->counter = 2 * i + 1;
            evtchn_send((evtchn_port_t)port);
            evtchn_wait_until(received > i);
            if (sh->counter != 2 * i + 2) {
                bad++;
            }
        }
        snprintf(path, sizeof(path), "/local/domain/%u/data/pingpong/received", peer);
        await_node(path, buf, sizeof(buf));
        uint32_t theirs = (uint32_t)strtol(buf, NULL, 10);
        int ok = received == count && theirs == count && bad == 0 && sh->errors == 0 &&
                 sh->counter == 2 * count;
        printf("ping: %u round trips, pong received %u, shared counter %u: %s\n",
               (unsigned)received, theirs, (unsigned)sh->counter, ok ? "ok" : "MISMATCH");
        if (gnttab_end_access(table, GREF) != 0) {
            printf("ping: grant still mapped by pong\n");
            ok = 0;
        }
        return ok ? 0 : 1;
    }
    snprintf(path, sizeof(path), "/local/domain/%u/data/pingpong/port", peer);
    await_node(path, buf, sizeof(buf));
    int rport = (int)strtol(buf, NULL, 10);
    snprintf(path, sizeof(path), "/local/domain/%u/data/pingpong/count", peer);
    if (xs_read(XBT_NULL, path, buf, sizeof(buf)) < 0) {
        fail("read count", -1);
    }
    uint32_t count = (uint32_t)strtol(buf, NULL, 10);
    snprintf(path, sizeof(path), "/local/domain/%u/data/pingpong/gref", peer);
    if (xs_read(XBT_NULL, path, buf, sizeof(buf)) < 0) {
        fail("read gref", -1);
    }
    grant_ref_t gref = (grant_ref_t)strtol(buf, NULL, 10);
    struct shared *sh = page_alloc(1);
    grant_handle_t handle;
    int st = gnttab_map(peer, gref, (uint32_t)sh, 0, &handle);
    if (st != GNTST_okay) {
        fail("map grant", st);
    }
    int port = evtchn_bind_interdomain(peer, (evtchn_port_t)rport);
    if (port < 0) {
        fail("bind_interdomain", port);
    }
    evtchn_set_handler((evtchn_port_t)port, on_event, NULL);
    char own_perm[8], peer_perm[8];
    snprintf(own_perm, sizeof(own_perm), "n%u", me);
    snprintf(peer_perm, sizeof(peer_perm), "r%u", peer);
    const char *perms[] = { own_perm, peer_perm };
    xs_write(XBT_NULL, "data/pingpong/ready", "1");
    xs_set_perms(XBT_NULL, "data/pingpong/ready", perms, 2);
    printf("pong: bound port %d to domain %u port %d, mapped grant %u, answering %u events\n",
           port, peer, rport, gref, count);
    for (uint32_t i = 0; i < count; i++) {
        evtchn_wait_until(received > i);
        if (sh->counter != 2 * i + 1) {
            sh->errors++;
        }
        sh->counter = 2 * i + 2;
        evtchn_send((evtchn_port_t)port);
    }
    st = gnttab_unmap((uint32_t)sh, handle);
    if (st != GNTST_okay) {
        fail("unmap grant", st);
    }
    snprintf(buf, sizeof(buf), "%u", (unsigned)received);
    xs_write(XBT_NULL, "data/pingpong/received", buf);
    xs_set_perms(XBT_NULL, "data/pingpong/received", perms, 2);
    printf("pong: received %u events\n", (unsigned)received);
    return 0;
}
