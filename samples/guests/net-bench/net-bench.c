/*
 * net-bench: two guests on one network exchange packets through the SDK's netfront and IPv4
 * stack. The sender pings the receiver (round trips in virtual time), streams N UDP datagrams
 * with sequence numbers and a checksum over their payloads, then fetches a page over TCP from
 * the receiver's one-connection HTTP server. The receiver reports what it got: received, lost,
 * bytes, the payload checksum and the throughput in virtual time, so every figure is the same
 * on every run.
 *
 *   ./hospes run-many 'rx=net-bench.elf,mode=pvh,vif=net=bridge:br0,cmdline=role=recv
 *         ip=10.0.0.2/24' 'tx=net-bench.elf,mode=pvh,vif=net=bridge:br0,cmdline=role=send
 *         ip=10.0.0.1/24 peer=10.0.0.2 count=2000 pings=10'
 *
 * role=dhcp instead takes an address from a DHCP server (dom0's NAT gateway), pings the
 * router it names and, with get=PORT, fetches http://ROUTER:PORT/ (the host's, through NAT).
 *
 * The stream is flow-controlled (at most WINDOW datagrams unacknowledged; the receiver acks
 * every ACK_EVERY), so nothing is dropped for lack of receive buffers and "lost" counts only
 * what the network lost.
 */
#include <hospes/grant.h>
#include <hospes/guest.h>
#include <hospes/mm.h>
#include <hospes/net.h>
#include <hospes/netfront.h>
#include <hospes/time.h>

#define UDP_PORT 5001
#define HTTP_PORT 80
#define PAYLOAD 1024
#define WINDOW 64
#define ACK_EVERY 16
#define SEC 1000000000ull

enum { T_DATA = 'D', T_ACK = 'A', T_END = 'E', T_REPORT = 'R' };

struct msg {
    uint8_t magic[2];   /* "NB" */
    uint8_t type;
    uint8_t pad;
    uint32_t seq;       /* DATA: its number; ACK: datagrams received so far; END: N */
    uint32_t a, b, c;   /* END: sender checksum; REPORT: received, lost, checksum */
    uint8_t data[PAYLOAD];
};

static struct netfront nf;
static struct net net;
static struct udp_socket sock;
static struct msg m;

static const char *option(const char *key)
{
    const char *cl = guest_cmdline();
    size_t k = strlen(key);
    for (const char *p = cl; *p; p++) {
        if ((p == cl || p[-1] == ' ') && strncmp(p, key, k) == 0 && p[k] == '=') {
            return p + k + 1;
        }
    }
    return 0;
}

static long num(const char *key, long dflt)
{
    const char *v = option(key);
    return v ? strtol(v, 0, 10) : dflt;
}

static uint64_t div64(uint64_t n, uint64_t d)
{
    uint64_t q = 0, r = 0;
    for (int i = 63; i >= 0; i--) {
        r = r << 1 | ((n >> i) & 1);
        if (r >= d) {
            r -= d;
            q |= 1ull << i;
        }
    }
    return q;
}

static void fill(uint8_t *p, uint32_t seq)
{
    uint32_t x = seq * 2654435761u + 17;
    for (uint32_t i = 0; i < PAYLOAD; i += 4) {
        x = x * 1664525u + 1013904223u;
        *(uint32_t *)(p + i) = x;
    }
}

/* Position-dependent over the stream: order, content and count all change it. */
static uint32_t mix(uint32_t h, const uint8_t *p, uint32_t len)
{
    for (uint32_t i = 0; i < len; i += 4) {
        h = (h << 5 | h >> 27) ^ *(const uint32_t *)(p + i);
    }
    return h;
}

static void ip_text(uint32_t ip, char *buf)
{
    snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, ip >> 16 & 255, ip >> 8 & 255, ip & 255);
}

static void send_msg(uint32_t dst, uint16_t dport, uint8_t type, uint32_t seq, uint32_t a,
                     uint32_t b, uint32_t c, int with_data)
{
    m.magic[0] = 'N';
    m.magic[1] = 'B';
    m.type = type;
    m.seq = seq;
    m.a = a;
    m.b = b;
    m.c = c;
    udp_sendto(&net, UDP_PORT, dst, dport, &m, with_data ? sizeof m : sizeof m - PAYLOAD);
}

static uint32_t http_answer(const uint8_t *req, uint32_t len, const uint8_t **rsp, void *ctx)
{
    static char page[2600];
    (void)ctx;
    int ok = len >= 6 && memcmp(req, "GET / ", 6) == 0;
    int body = 2048;
    int h = snprintf(page, sizeof page, "HTTP/1.0 %s\r\nContent-Length: %d\r\n\r\n",
                     ok ? "200 OK" : "404 Not Found", ok ? body : 0);
    if (ok) {
        for (int i = 0; i < body; i++) {
            page[h + i] = (char)('a' + i % 26);
        }
        h += body;
    }
    *rsp = (const uint8_t *)page;
    return (uint32_t)h;
}

static int receiver(void)
{
    if (udp_bind(&net, &sock, UDP_PORT) != 0) {
        return 1;
    }
    uint32_t next = 0, received = 0, dup = 0, h = 0, n = 0;
    uint64_t bytes = 0, t0 = 0, t1 = 0;
    uint32_t src;
    uint16_t sport;
    for (;;) {
        int len = udp_recvfrom(&net, &sock, &m, sizeof m, &src, &sport,
                               monotonic_ns() + 60 * SEC);
        if (len < 0) {
            printf("net-bench: receiver timed out after %u datagrams\n", received);
            return 1;
        }
        if (len < (int)(sizeof m - PAYLOAD) || m.magic[0] != 'N' || m.magic[1] != 'B') {
            continue;
        }
        if (m.type == T_DATA && len == (int)sizeof m) {
            if (m.seq < next) {
                dup++;
                continue;
            }
            if (received == 0) {
                t0 = monotonic_ns();
            }
            next = m.seq + 1;
            received++;
            bytes += PAYLOAD;
            h = mix(h, m.data, PAYLOAD);
            t1 = monotonic_ns();
            if (received % ACK_EVERY == 0) {
                send_msg(src, sport, T_ACK, received, 0, 0, 0, 0);
            }
        } else if (m.type == T_END) {
            n = m.seq;
            uint32_t sender_sum = m.a;
            uint32_t lost = n - received;
            uint64_t ns = t1 - t0;
            uint32_t kbps = ns ? (uint32_t)div64(bytes * SEC, ns * 1024) : 0;
            printf("net-bench: udp received %u of %u, lost %u, duplicates %u, bytes %u, "
                   "checksum %08x (%s), %u KiB/s (virtual)\n", received, n, lost, dup,
                   (uint32_t)bytes, h, h == sender_sum ? "matches" : "MISMATCH", kbps);
            send_msg(src, sport, T_REPORT, n, received, lost, h, 0);
            break;
        }
    }
    static uint8_t req[512];
    int r = tcp_serve_one(&net, HTTP_PORT, req, sizeof req, http_answer, 0,
                          monotonic_ns() + 60 * SEC);
    if (r < 0) {
        printf("net-bench: no HTTP request\n");
        return 1;
    }
    printf("net-bench: served one HTTP request of %d bytes\n", r);
    return 0;
}

static int sender(uint32_t peer)
{
    uint32_t pings = (uint32_t)num("pings", 10), count = (uint32_t)num("count", 1000);
    uint64_t rtt;
    /* The peer may still be booting: wait for its first answer before measuring. */
    int up = 0;
    for (int i = 0; i < 100 && !up; i++) {
        up = net_ping(&net, peer, 0, SEC / 10, &rtt) == 0;
    }
    if (!up) {
        printf("net-bench: the peer never answered\n");
        return 1;
    }
    uint32_t got = 0;
    uint64_t min = ~0ull, max = 0, sum = 0;
    for (uint32_t i = 1; i <= pings; i++) {
        if (net_ping(&net, peer, (uint16_t)i, SEC, &rtt) == 0) {
            got++;
            sum += rtt;
            min = rtt < min ? rtt : min;
            max = rtt > max ? rtt : max;
        }
    }
    char p[16];
    ip_text(peer, p);
    printf("net-bench: ping %s: %u sent, %u received, rtt min/avg/max %u/%u/%u ns (virtual)\n",
           p, pings, got, got ? (uint32_t)min : 0, got ? (uint32_t)div64(sum, got) : 0,
           (uint32_t)max);

    if (udp_bind(&net, &sock, UDP_PORT) != 0) {
        return 1;
    }
    uint32_t acked = 0, h = 0;
    uint64_t t0 = monotonic_ns();
    static struct msg in;
    for (uint32_t seq = 0; seq < count; seq++) {
        while (seq - acked >= WINDOW) {
            int len = udp_recvfrom(&net, &sock, &in, sizeof in, 0, 0, monotonic_ns() + SEC);
            if (len < 0) {
                printf("net-bench: no ack after %u datagrams\n", seq);
                return 1;
            }
            if (in.type == T_ACK && in.seq > acked) {
                acked = in.seq;
            }
        }
        fill(m.data, seq);
        h = mix(h, m.data, PAYLOAD);
        send_msg(peer, UDP_PORT, T_DATA, seq, 0, 0, 0, 1);
    }
    uint64_t ns = monotonic_ns() - t0;
    printf("net-bench: udp sent %u datagrams of %u bytes, checksum %08x, %u KiB/s (virtual)\n",
           count, PAYLOAD, h, ns ? (uint32_t)div64((uint64_t)count * PAYLOAD * SEC, ns * 1024)
                                 : 0);
    int reported = 0;
    for (int tries = 0; tries < 5 && !reported; tries++) {
        send_msg(peer, UDP_PORT, T_END, count, h, 0, 0, 0);
        uint64_t deadline = monotonic_ns() + SEC;
        int len;
        while ((len = udp_recvfrom(&net, &sock, &in, sizeof in, 0, 0, deadline)) >= 0) {
            if (in.type == T_REPORT) {
                printf("net-bench: receiver reports %u received, %u lost, checksum %08x (%s)\n",
                       in.a, in.b, in.c, in.c == h ? "matches" : "MISMATCH");
                reported = 1;
                break;
            }
        }
    }
    if (!reported) {
        printf("net-bench: no report from the receiver\n");
        return 1;
    }
    static char page[4096];
    const char *get = "GET / HTTP/1.0\r\nHost: peer\r\n\r\n";
    int len = tcp_request(&net, peer, HTTP_PORT, get, strlen(get), page, sizeof page - 1,
                          monotonic_ns() + 10 * SEC);
    if (len < 0) {
        printf("net-bench: TCP connection to port 80 failed\n");
        return 1;
    }
    page[len] = 0;
    const char *body = page;
    while (*body && strncmp(body, "\r\n\r\n", 4) != 0) {
        body++;
    }
    body = *body ? body + 4 : body;
    uint32_t blen = (uint32_t)(page + len - body);
    uint32_t bsum = mix(0, (const uint8_t *)body, blen & ~3u);
    char *eol = page;
    while (*eol && *eol != '\r') {
        eol++;
    }
    *eol = 0;
    printf("net-bench: http GET / -> \"%s\", %d bytes, body %u bytes, checksum %08x\n", page,
           len, blen, bsum);
    printf("net-bench: netfront tx %u rx %u, bad responses %u, bad checksums %u\n",
           nf.tx_packets, nf.rx_packets, nf.bad_responses, net.bad_checksums);
    return 0;
}

int main(void)
{
    guest_require_xen("net-bench");
    struct grant_entry_v1 *table = page_alloc(1);
    if (!table || gnttab_map_table_frame(0, virt_to_gfn(table)) != 0) {
        printf("net-bench: cannot map the grant table\n");
        return 1;
    }
    if (netfront_open(&nf, 0, table, 8) != 0) {
        return 1;
    }
    if (net_init(&net, &nf, guest_cmdline()) != 0) {
        return 1;
    }
    const char *role = option("role");
    if (role && strncmp(role, "dhcp", 4) == 0) {
        /* A DHCP lease (dom0's NAT gateway speaks DHCP), then a ping to the router. */
        if (net_dhcp(&net, monotonic_ns() + 10 * SEC) != 0) {
            printf("net-bench: no DHCP lease\n");
            return 1;
        }
        char a[16], g[16];
        ip_text(net.ip, a);
        ip_text(net.gw, g);
        uint64_t rtt;
        int ok = net_ping(&net, net.gw, 1, SEC, &rtt) == 0;
        printf("net-bench: dhcp address %s mask %08x router %s, ping router %s\n", a, net.mask,
               g, ok ? "ok" : "FAILED");
        long port = num("get", 0);
        if (ok && port > 0) {
            /* An HTTP GET through the gateway: its address stands for the host's loopback. */
            static char page[4096];
            const char *req = "GET / HTTP/1.0\r\nHost: 10.0.2.2\r\n\r\n";
            int len = tcp_request(&net, net.gw, (uint16_t)port, req, strlen(req), page,
                                  sizeof page - 1, monotonic_ns() + 30 * SEC);
            if (len < 0) {
                printf("net-bench: GET from the router's port %ld failed\n", port);
                ok = 0;
            } else {
                page[len] = 0;
                char *body = page;
                while (*body && strncmp(body, "\r\n\r\n", 4) != 0) {
                    body++;
                }
                char *eol = page;
                while (*eol && *eol != '\r') {
                    eol++;
                }
                *eol = 0;
                printf("net-bench: GET -> \"%s\", body \"%s\"\n", page, *body ? body + 4 : "");
            }
        }
        netfront_close(&nf);
        return ok ? 0 : 1;
    }
    const uint8_t *mac = netfront_mac(&nf);
    char ip[16];
    ip_text(net.ip, ip);
    printf("net-bench: vif0 %02x:%02x:%02x:%02x:%02x:%02x ip %s\n", mac[0], mac[1], mac[2],
           mac[3], mac[4], mac[5], ip);
    int rc;
    if (role && strncmp(role, "recv", 4) == 0) {
        rc = receiver();
    } else {
        uint32_t peer;
        const char *v = option("peer");
        if (!v || net_parse_ip(v, &peer, 0) != 0) {
            printf("net-bench: role=send needs peer=A.B.C.D\n");
            return 1;
        }
        rc = sender(peer);
    }
    netfront_close(&nf);
    return rc;
}
