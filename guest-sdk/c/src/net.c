/*
 * The IPv4 stack: see <hospes/net.h>. Everything a frame says is checked against the frame's
 * real length before it is read; anything malformed is counted in dropped and ignored.
 */
#include <hospes/guest.h>
#include <hospes/net.h>
#include <hospes/time.h>

#define ETH_HLEN 14
#define ARP_LEN 28
#define IP_HLEN 20
#define TCP_HLEN 20
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_RTO_NS 200000000ull

static const uint8_t BROADCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

uint32_t net_csum_add(uint32_t sum, const void *data, uint32_t len)
{
    const uint8_t *p = data;
    for (uint32_t i = 0; i + 1 < len; i += 2) {
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    }
    if (len & 1) {
        sum += (uint32_t)p[len - 1] << 8;
    }
    return sum;
}

uint16_t net_csum_fold(uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t)sum;
}

/* The pseudo-header sum (RFC 768/793) for a UDP or TCP segment of len bytes. */
static uint32_t pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint32_t len)
{
    return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + len;
}

int net_parse_ip(const char *s, uint32_t *ip, const char **end)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        if (*s < '0' || *s > '9') {
            return -1;
        }
        uint32_t part = 0;
        while (*s >= '0' && *s <= '9') {
            part = part * 10 + (uint32_t)(*s++ - '0');
            if (part > 255) {
                return -1;
            }
        }
        v = v << 8 | part;
        if (i < 3 && *s++ != '.') {
            return -1;
        }
    }
    *ip = v;
    if (end) {
        *end = s;
    }
    return 0;
}

/* The value of key=... in cmdline (up to a space), or NULL. */
static const char *option(const char *cmdline, const char *key)
{
    size_t k = strlen(key);
    for (const char *p = cmdline; *p; p++) {
        if ((p == cmdline || p[-1] == ' ') && strncmp(p, key, k) == 0 && p[k] == '=') {
            return p + k + 1;
        }
    }
    return 0;
}

static int ended(const char *e) { return *e == 0 || *e == ' '; }

int net_init(struct net *n, struct netfront *nf, const char *cmdline)
{
    memset(n, 0, sizeof *n);
    n->nf = nf;
    n->seed = 0x9e3779b9u ^ ((uint32_t)nf->mac[4] << 8 | nf->mac[5]);
    n->ping_id = (uint16_t)(0x4800 | nf->mac[5]);
    const char *v = option(cmdline ? cmdline : "", "ip");
    if (v) {
        const char *e;
        uint32_t len = 24;
        if (net_parse_ip(v, &n->ip, &e) != 0) {
            printf("net: bad ip=%s\n", v);
            return -1;
        }
        if (*e == '/') {
            char *after;
            len = (uint32_t)strtol(e + 1, &after, 10);
            if (after == e + 1 || !ended(after) || len > 32) {
                printf("net: bad prefix length in ip=%s\n", v);
                return -1;
            }
        } else if (!ended(e)) {
            printf("net: bad ip=%s\n", v);
            return -1;
        }
        n->mask = len == 0 ? 0 : 0xffffffffu << (32 - len);
    }
    v = option(cmdline ? cmdline : "", "gw");
    if (v) {
        const char *e;
        if (net_parse_ip(v, &n->gw, &e) != 0 || !ended(e)) {
            printf("net: bad gw=%s\n", v);
            return -1;
        }
    }
    return 0;
}

static int send_eth(struct net *n, const uint8_t *dst, uint16_t type, uint32_t len)
{
    memcpy(n->out, dst, 6);
    memcpy(n->out + 6, netfront_mac(n->nf), 6);
    put16(n->out + 12, type);
    uint32_t total = ETH_HLEN + len;
    if (total < 60) {
        memset(n->out + total, 0, 60 - total);   /* Ethernet's minimum frame */
        total = 60;
    }
    return netfront_send(n->nf, n->out, total);
}

static void arp_learn(struct net *n, uint32_t ip, const uint8_t *mac)
{
    for (int i = 0; i < NET_ARP_ENTRIES; i++) {
        if (n->arp[i].valid && n->arp[i].ip == ip) {
            memcpy(n->arp[i].mac, mac, 6);
            return;
        }
    }
    struct arp_entry *e = &n->arp[n->arp_next++ % NET_ARP_ENTRIES];
    e->ip = ip;
    memcpy(e->mac, mac, 6);
    e->valid = 1;
}

static void send_arp(struct net *n, uint16_t op, const uint8_t *tha, uint32_t tpa,
                     const uint8_t *dst)
{
    uint8_t *a = n->out + ETH_HLEN;
    put16(a, 1);              /* Ethernet */
    put16(a + 2, ETH_P_IP);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, op);
    memcpy(a + 8, netfront_mac(n->nf), 6);
    put32(a + 14, n->ip);
    memcpy(a + 18, tha, 6);
    put32(a + 24, tpa);
    send_eth(n, dst, ETH_P_ARP, ARP_LEN);
}

static void arp_input(struct net *n, const uint8_t *a, uint32_t len)
{
    if (len < ARP_LEN || get16(a) != 1 || get16(a + 2) != ETH_P_IP || a[4] != 6 || a[5] != 4) {
        n->dropped++;
        return;
    }
    uint16_t op = get16(a + 6);
    uint32_t spa = get32(a + 14), tpa = get32(a + 24);
    if (tpa != n->ip || n->ip == 0) {
        return;
    }
    arp_learn(n, spa, a + 8);
    if (op == 1) {
        n->arp_requests_answered++;
        uint8_t sha[6];
        memcpy(sha, a + 8, 6);
        send_arp(n, 2, sha, spa, sha);
    } else if (op == 2) {
        n->arp_replies_seen++;
    }
}

static int arp_lookup(struct net *n, uint32_t ip, uint8_t *mac)
{
    for (int i = 0; i < NET_ARP_ENTRIES; i++) {
        if (n->arp[i].valid && n->arp[i].ip == ip) {
            memcpy(mac, n->arp[i].mac, 6);
            return 0;
        }
    }
    return -1;
}

int net_resolve(struct net *n, uint32_t ip, uint8_t *mac, uint64_t deadline_ns)
{
    if (ip == 0xffffffffu) {
        memcpy(mac, BROADCAST, 6);
        return 0;
    }
    uint32_t hop = ip;
    if (n->mask && (ip & n->mask) != (n->ip & n->mask)) {
        if (!n->gw) {
            return -1;
        }
        hop = n->gw;
    }
    while (arp_lookup(n, hop, mac) != 0) {
        uint64_t now = monotonic_ns();
        if (now >= deadline_ns) {
            return -1;
        }
        static const uint8_t zero[6];
        send_arp(n, 1, zero, hop, BROADCAST);
        uint64_t retry = now + 100000000ull < deadline_ns ? now + 100000000ull : deadline_ns;
        while (arp_lookup(n, hop, mac) != 0 && net_poll(n, retry)) {
        }
    }
    return 0;
}

/* Builds the IPv4 header at out+14 for a payload already at out+34; sends. */
static int send_ip_built(struct net *n, uint32_t dst, uint8_t proto, uint32_t len)
{
    uint8_t mac[6];
    /* Resolving can process frames (and overwrite n->out): keep the payload aside. */
    static uint8_t keep[2048];
    if (len > sizeof keep - ETH_HLEN - IP_HLEN) {
        return -1;
    }
    int cached = 0;
    uint32_t hop = (n->mask && (dst & n->mask) != (n->ip & n->mask)) ? n->gw : dst;
    if (dst == 0xffffffffu || arp_lookup(n, hop, mac) == 0) {
        cached = 1;
    }
    if (!cached) {
        memcpy(keep, n->out + ETH_HLEN + IP_HLEN, len);
        if (net_resolve(n, dst, mac, monotonic_ns() + 1000000000ull) != 0) {
            return -1;
        }
        memcpy(n->out + ETH_HLEN + IP_HLEN, keep, len);
    } else if (dst == 0xffffffffu) {
        memcpy(mac, BROADCAST, 6);
    }
    uint8_t *ip = n->out + ETH_HLEN;
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + 2, (uint16_t)(IP_HLEN + len));
    static uint16_t ident;
    put16(ip + 4, ++ident);
    put16(ip + 6, 0x4000);    /* DF: we never fragment */
    ip[8] = 64;
    ip[9] = proto;
    put16(ip + 10, 0);
    put32(ip + 12, n->ip);
    put32(ip + 16, dst);
    put16(ip + 10, (uint16_t)~net_csum_fold(net_csum_add(0, ip, IP_HLEN)));
    return send_eth(n, mac, ETH_P_IP, IP_HLEN + len);
}

int net_send_ip(struct net *n, uint32_t dst, uint8_t proto, const void *payload, uint32_t len)
{
    if (len > NETFRONT_MTU_FRAME - ETH_HLEN - IP_HLEN) {
        return -1;
    }
    memcpy(n->out + ETH_HLEN + IP_HLEN, payload, len);
    return send_ip_built(n, dst, proto, len);
}

static void icmp_input(struct net *n, uint32_t src, const uint8_t *p, uint32_t len)
{
    if (len < 8 || net_csum_fold(net_csum_add(0, p, len)) != 0xffff) {
        n->bad_checksums++;
        return;
    }
    if (p[0] == 8 && p[1] == 0) {            /* echo request: the same data back */
        uint8_t *r = n->out + ETH_HLEN + IP_HLEN;
        memcpy(r, p, len);
        r[0] = 0;
        put16(r + 2, 0);
        put16(r + 2, (uint16_t)~net_csum_fold(net_csum_add(0, r, len)));
        n->icmp_echo_answered++;
        send_ip_built(n, src, IPPROTO_ICMP, len);
    } else if (p[0] == 0 && get16(p + 4) == n->ping_id) {
        n->ping_seq_replied = get16(p + 6);
        n->ping_replied = 1;
    }
}

static void udp_input(struct net *n, uint32_t src, uint32_t dst, const uint8_t *p, uint32_t len)
{
    if (len < 8 || get16(p + 4) < 8 || get16(p + 4) > len) {
        n->dropped++;
        return;
    }
    len = get16(p + 4);
    if (get16(p + 6) != 0 &&
        net_csum_fold(net_csum_add(pseudo_sum(src, dst, IPPROTO_UDP, len), p, len)) != 0xffff) {
        n->bad_checksums++;
        return;
    }
    n->udp_in++;
    uint16_t dport = get16(p + 2);
    for (int i = 0; i < NET_UDP_SOCKETS; i++) {
        struct udp_socket *s = n->udp[i];
        if (s && s->port == dport) {
            if (s->count == UDP_QUEUE || len - 8 > UDP_MAX_PAYLOAD) {
                s->dropped++;
                return;
            }
            struct udp_datagram *d = &s->q[(s->head + s->count++) % UDP_QUEUE];
            d->src = src;
            d->sport = get16(p);
            d->len = (uint16_t)(len - 8);
            memcpy(d->data, p + 8, len - 8);
            return;
        }
    }
    n->dropped++;
}

static void tcp_input(struct net *n, uint32_t src, uint32_t dst, const uint8_t *p, uint32_t len);

static void ip_input(struct net *n, const uint8_t *ip, uint32_t len)
{
    if (len < IP_HLEN || ip[0] >> 4 != 4) {
        n->dropped++;
        return;
    }
    uint32_t hl = (uint32_t)(ip[0] & 15) * 4;
    uint32_t total = get16(ip + 2);
    if (hl < IP_HLEN || total < hl || total > len) {
        n->dropped++;
        return;
    }
    if (net_csum_fold(net_csum_add(0, ip, hl)) != 0xffff) {
        n->bad_checksums++;
        return;
    }
    if ((get16(ip + 6) & 0x3fff) != 0) {      /* MF or a fragment offset: not reassembled */
        n->dropped++;
        return;
    }
    uint32_t src = get32(ip + 12), dst = get32(ip + 16);
    /* Unconfigured (before DHCP's ACK) every unicast is taken: the offer comes to yiaddr. */
    if (dst != n->ip && dst != 0xffffffffu && n->ip != 0) {
        return;
    }
    const uint8_t *p = ip + hl;
    uint32_t plen = total - hl;
    switch (ip[9]) {
    case IPPROTO_ICMP: icmp_input(n, src, p, plen); break;
    case IPPROTO_UDP: udp_input(n, src, dst, p, plen); break;
    case IPPROTO_TCP: tcp_input(n, src, dst, p, plen); break;
    default: n->dropped++; break;
    }
}

int net_poll(struct net *n, uint64_t deadline_ns)
{
    int len = netfront_recv(n->nf, n->frame, sizeof n->frame);
    if (len == 0) {
        if (!netfront_wait(n->nf, deadline_ns)) {
            return 0;
        }
        len = netfront_recv(n->nf, n->frame, sizeof n->frame);
        if (len == 0) {
            return 1;   /* a bad response was consumed: still progress */
        }
    }
    n->rx_frames++;
    if (len < ETH_HLEN) {
        n->dropped++;
        return 1;
    }
    const uint8_t *mac = netfront_mac(n->nf);
    if (memcmp(n->frame, mac, 6) != 0 && memcmp(n->frame, BROADCAST, 6) != 0) {
        return 1;
    }
    uint16_t type = get16(n->frame + 12);
    if (type == ETH_P_ARP) {
        arp_input(n, n->frame + ETH_HLEN, (uint32_t)len - ETH_HLEN);
    } else if (type == ETH_P_IP) {
        ip_input(n, n->frame + ETH_HLEN, (uint32_t)len - ETH_HLEN);
    }
    return 1;
}

int net_ping(struct net *n, uint32_t dst, uint16_t seq, uint64_t timeout_ns, uint64_t *rtt_ns)
{
    uint64_t t0 = monotonic_ns(), deadline = t0 + timeout_ns;
    uint8_t mac[6];
    if (net_resolve(n, dst, mac, deadline) != 0) {
        return -1;
    }
    t0 = monotonic_ns();
    uint8_t *p = n->out + ETH_HLEN + IP_HLEN;
    p[0] = 8;
    p[1] = 0;
    put16(p + 2, 0);
    put16(p + 4, n->ping_id);
    put16(p + 6, seq);
    for (int i = 0; i < 56; i++) {
        p[8 + i] = (uint8_t)(0x10 + i);
    }
    put16(p + 2, (uint16_t)~net_csum_fold(net_csum_add(0, p, 64)));
    n->ping_replied = 0;
    if (send_ip_built(n, dst, IPPROTO_ICMP, 64) != 0) {
        return -1;
    }
    while (!(n->ping_replied && n->ping_seq_replied == seq)) {
        if (!net_poll(n, deadline) && monotonic_ns() >= deadline) {
            return -1;
        }
    }
    *rtt_ns = monotonic_ns() - t0;
    return 0;
}

int udp_bind(struct net *n, struct udp_socket *s, uint16_t port)
{
    int free = -1;
    for (int i = 0; i < NET_UDP_SOCKETS; i++) {
        if (n->udp[i] && n->udp[i]->port == port) {
            return -1;
        }
        if (!n->udp[i] && free < 0) {
            free = i;
        }
    }
    if (free < 0) {
        return -1;
    }
    s->port = port;
    s->head = s->count = s->dropped = 0;
    n->udp[free] = s;
    return 0;
}

int udp_sendto(struct net *n, uint16_t sport, uint32_t dst, uint16_t dport, const void *data,
               uint32_t len)
{
    if (len > UDP_MAX_PAYLOAD) {
        return -1;
    }
    uint8_t *u = n->out + ETH_HLEN + IP_HLEN;
    put16(u, sport);
    put16(u + 2, dport);
    put16(u + 4, (uint16_t)(8 + len));
    put16(u + 6, 0);
    memcpy(u + 8, data, len);
    uint16_t c = (uint16_t)~net_csum_fold(
        net_csum_add(pseudo_sum(n->ip, dst, IPPROTO_UDP, 8 + len), u, 8 + len));
    put16(u + 6, c == 0 ? 0xffff : c);   /* 0 would mean "no checksum" */
    return send_ip_built(n, dst, IPPROTO_UDP, 8 + len);
}

int udp_recvfrom(struct net *n, struct udp_socket *s, void *buf, uint32_t size, uint32_t *src,
                 uint16_t *sport, uint64_t deadline_ns)
{
    while (s->count == 0) {
        if (!net_poll(n, deadline_ns) && monotonic_ns() >= deadline_ns) {
            return -1;
        }
    }
    struct udp_datagram *d = &s->q[s->head];
    s->head = (s->head + 1) % UDP_QUEUE;
    s->count--;
    uint32_t len = d->len < size ? d->len : size;
    memcpy(buf, d->data, len);
    if (src) {
        *src = d->src;
    }
    if (sport) {
        *sport = d->sport;
    }
    return (int)len;
}

/* ---- TCP ------------------------------------------------------------------------------- */

static int seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }

static int tcp_send(struct net *n, struct tcp_conn *c, uint8_t flags, uint32_t seq,
                    const void *data, uint32_t len)
{
    uint8_t *t = n->out + ETH_HLEN + IP_HLEN;
    uint32_t hl = (flags & TCP_SYN) ? TCP_HLEN + 4 : TCP_HLEN;
    put16(t, c->lport);
    put16(t + 2, c->rport);
    put32(t + 4, seq);
    put32(t + 8, (flags & TCP_ACK) ? c->rcv_nxt : 0);
    t[12] = (uint8_t)((hl / 4) << 4);
    t[13] = flags;
    put16(t + 14, 8192);
    put16(t + 16, 0);
    put16(t + 18, 0);
    if (flags & TCP_SYN) {
        t[20] = 2;            /* MSS option */
        t[21] = 4;
        put16(t + 22, TCP_MSS);
    }
    memcpy(t + hl, data, len);
    put16(t + 16, (uint16_t)~net_csum_fold(
        net_csum_add(pseudo_sum(n->ip, c->peer, IPPROTO_TCP, hl + len), t, hl + len)));
    return send_ip_built(n, c->peer, IPPROTO_TCP, hl + len);
}

static void tcp_reset_reply(struct net *n, uint32_t src, const uint8_t *p, uint32_t seglen)
{
    if (p[13] & TCP_RST) {
        return;
    }
    struct tcp_conn tmp = { .peer = src, .lport = get16(p + 2), .rport = get16(p) };
    if (p[13] & TCP_ACK) {
        tcp_send(n, &tmp, TCP_RST, get32(p + 8), 0, 0);
    } else {
        tmp.rcv_nxt = get32(p + 4) + seglen;
        tcp_send(n, &tmp, TCP_RST | TCP_ACK, 0, 0, 0);
    }
}

static void tcp_input(struct net *n, uint32_t src, uint32_t dst, const uint8_t *p, uint32_t len)
{
    if (len < TCP_HLEN ||
        net_csum_fold(net_csum_add(pseudo_sum(src, dst, IPPROTO_TCP, len), p, len)) != 0xffff) {
        n->bad_checksums++;
        return;
    }
    uint32_t hl = (uint32_t)(p[12] >> 4) * 4;
    if (hl < TCP_HLEN || hl > len) {
        n->dropped++;
        return;
    }
    n->tcp_in++;
    uint8_t flags = p[13];
    uint32_t seq = get32(p + 4), ack = get32(p + 8);
    const uint8_t *data = p + hl;
    uint32_t dlen = len - hl;
    uint32_t seglen = dlen + ((flags & TCP_SYN) ? 1 : 0) + ((flags & TCP_FIN) ? 1 : 0);
    struct tcp_conn *c = n->tcp;
    if (!c || c->lport != get16(p + 2) ||
        (c->state != TCP_LISTEN && (c->peer != src || c->rport != get16(p)))) {
        tcp_reset_reply(n, src, p, seglen);
        return;
    }
    if (flags & TCP_RST) {
        if (c->state != TCP_LISTEN) {
            c->resets++;
            c->state = TCP_DONE;
        }
        return;
    }
    if (c->state == TCP_LISTEN) {
        if (!(flags & TCP_SYN) || (flags & TCP_ACK)) {
            tcp_reset_reply(n, src, p, seglen);
            return;
        }
        c->peer = src;
        c->rport = get16(p);
        c->rcv_nxt = seq + 1;
        c->iss = n->seed = n->seed * 1664525u + 1013904223u;
        c->snd_una = c->iss;
        c->snd_nxt = c->iss + 1;
        c->state = TCP_SYN_RECEIVED;
        tcp_send(n, c, TCP_SYN | TCP_ACK, c->iss, 0, 0);
        return;
    }
    if (c->state == TCP_SYN_SENT) {
        if ((flags & (TCP_SYN | TCP_ACK)) != (TCP_SYN | TCP_ACK) || ack != c->snd_nxt) {
            return;
        }
        c->rcv_nxt = seq + 1;
        c->snd_una = ack;
        c->peer_mss = TCP_MSS;
        c->state = TCP_ESTABLISHED;
        return;   /* the caller's request carries the ACK */
    }
    if (flags & TCP_ACK) {
        if (!seq_lt(c->snd_nxt, ack) && seq_lt(c->snd_una, ack)) {
            uint32_t acked = ack - c->snd_una;
            if (c->state == TCP_SYN_RECEIVED) {
                c->state = TCP_ESTABLISHED;
                acked--;   /* our SYN */
            }
            if (acked > c->unacked_len) {   /* our FIN */
                c->fin_acked = 1;
                acked = c->unacked_len;
            }
            c->unacked += acked;
            c->unacked_len -= acked;
            c->snd_una = ack;
        }
    }
    if (seq != c->rcv_nxt) {
        if (seglen) {
            tcp_send(n, c, TCP_ACK, c->snd_nxt, 0, 0);   /* out of order: say what we want */
        }
        return;
    }
    if (dlen) {
        if (c->rlen < c->rsize) {
            uint32_t k = c->rsize - c->rlen < dlen ? c->rsize - c->rlen : dlen;
            memcpy(c->rbuf + c->rlen, data, k);
        }
        c->rlen += dlen;
        c->rcv_nxt += dlen;
    }
    if (flags & TCP_FIN) {
        c->rcv_nxt++;
        c->fin_received = 1;
    }
    if (seglen) {
        tcp_send(n, c, TCP_ACK, c->snd_nxt, 0, 0);
    }
}

/* Sends data (split at the MSS) and keeps it for retransmission until it is acknowledged. */
static void tcp_write(struct net *n, struct tcp_conn *c, const uint8_t *data, uint32_t len)
{
    c->unacked = data;
    c->unacked_len = len;
    for (uint32_t off = 0; off < len; off += TCP_MSS) {
        uint32_t k = len - off < TCP_MSS ? len - off : TCP_MSS;
        tcp_send(n, c, TCP_ACK | TCP_PSH, c->snd_nxt, data + off, k);
        c->snd_nxt += k;
    }
}

/* Polls until cond or deadline; resends what is unacknowledged every TCP_RTO_NS. */
#define TCP_WAIT(n, c, cond, deadline)                                                       \
    do {                                                                                     \
        uint64_t rto = monotonic_ns() + TCP_RTO_NS;                                          \
        while (!(cond) && (c)->state != TCP_DONE) {                                          \
            uint64_t now = monotonic_ns();                                                   \
            if (now >= (deadline)) {                                                         \
                break;                                                                       \
            }                                                                                \
            if (now >= rto) {                                                                \
                tcp_retransmit(n, c);                                                        \
                rto = now + TCP_RTO_NS;                                                      \
            }                                                                                \
            net_poll(n, rto < (deadline) ? rto : (deadline));                                \
        }                                                                                    \
    } while (0)

static void tcp_retransmit(struct net *n, struct tcp_conn *c)
{
    c->retransmits++;
    if (c->state == TCP_SYN_SENT) {
        tcp_send(n, c, TCP_SYN, c->iss, 0, 0);
        return;
    }
    uint32_t len = c->unacked_len < TCP_MSS ? c->unacked_len : TCP_MSS;
    if (len) {
        tcp_send(n, c, TCP_ACK | TCP_PSH, c->snd_una, c->unacked, len);
    } else if (c->snd_nxt != c->snd_una && !c->fin_acked) {
        tcp_send(n, c, TCP_ACK | TCP_FIN, c->snd_nxt - 1, 0, 0);
    }
}

static void tcp_finish(struct net *n, struct tcp_conn *c, uint64_t deadline_ns)
{
    if (c->state != TCP_DONE) {
        tcp_send(n, c, TCP_ACK | TCP_FIN, c->snd_nxt, 0, 0);
        c->snd_nxt++;
        /* Both FINs: ours acknowledged and the peer's seen, so a late FIN meets no reset. */
        uint64_t linger = monotonic_ns() + 2000000000ull;
        TCP_WAIT(n, c, c->fin_acked && c->fin_received,
                 linger < deadline_ns ? linger : deadline_ns);
    }
    n->tcp = 0;
}

int tcp_request(struct net *n, uint32_t dst, uint16_t port, const void *req, uint32_t reqlen,
                void *buf, uint32_t size, uint64_t deadline_ns)
{
    static struct tcp_conn conn;
    struct tcp_conn *c = &conn;
    memset(c, 0, sizeof *c);
    n->seed = n->seed * 1664525u + 1013904223u;
    c->peer = dst;
    c->rport = port;
    c->lport = (uint16_t)(49152 + (n->seed >> 16) % 16384);
    c->iss = n->seed;
    c->snd_una = c->iss;
    c->snd_nxt = c->iss + 1;
    c->rbuf = buf;
    c->rsize = size;
    c->state = TCP_SYN_SENT;
    n->tcp = c;
    if (tcp_send(n, c, TCP_SYN, c->iss, 0, 0) != 0) {
        n->tcp = 0;
        return -1;
    }
    TCP_WAIT(n, c, c->state == TCP_ESTABLISHED, deadline_ns);
    if (c->state != TCP_ESTABLISHED) {
        n->tcp = 0;
        return -1;
    }
    tcp_write(n, c, req, reqlen);
    TCP_WAIT(n, c, c->fin_received && c->unacked_len == 0, deadline_ns);
    tcp_finish(n, c, deadline_ns);
    return (int)(c->rlen < size ? c->rlen : size);
}

int tcp_serve_one(struct net *n, uint16_t port, void *reqbuf, uint32_t reqsize,
                  tcp_answer_fn answer, void *ctx, uint64_t deadline_ns)
{
    static struct tcp_conn conn;
    struct tcp_conn *c = &conn;
    memset(c, 0, sizeof *c);
    c->lport = port;
    c->state = TCP_LISTEN;
    c->rbuf = reqbuf;
    c->rsize = reqsize;
    n->tcp = c;
#define REQUEST_COMPLETE(c)                                                                  \
    ((c)->fin_received || (c)->rlen >= (c)->rsize ||                                         \
     ((c)->rlen >= 4 && memcmp((c)->rbuf + (c)->rlen - 4, "\r\n\r\n", 4) == 0))
    TCP_WAIT(n, c, c->state == TCP_ESTABLISHED && REQUEST_COMPLETE(c), deadline_ns);
    if (c->state != TCP_ESTABLISHED) {
        n->tcp = 0;
        return -1;
    }
    const uint8_t *rsp;
    uint32_t len = answer(c->rbuf, c->rlen < reqsize ? c->rlen : reqsize, &rsp, ctx);
    tcp_write(n, c, rsp, len);
    TCP_WAIT(n, c, c->unacked_len == 0, deadline_ns);
    tcp_finish(n, c, deadline_ns);
    return (int)c->rlen;
}

void udp_unbind(struct net *n, struct udp_socket *s)
{
    for (int i = 0; i < NET_UDP_SOCKETS; i++) {
        if (n->udp[i] == s) {
            n->udp[i] = 0;
        }
    }
}

/* ---- DHCP (RFC 2131): DISCOVER, OFFER, REQUEST, ACK -------------------------------------- */

#define DHCP_LEN 240   /* the fixed part up to and including the magic cookie */

static uint32_t dhcp_build(struct net *n, uint8_t *m, uint32_t xid, uint8_t type, uint32_t req,
                           uint32_t server)
{
    memset(m, 0, 300);
    m[0] = 1;                 /* BOOTREQUEST */
    m[1] = 1;                 /* Ethernet */
    m[2] = 6;
    put32(m + 4, xid);
    put16(m + 10, 0x8000);    /* broadcast: we cannot take unicast before we have an address */
    memcpy(m + 28, netfront_mac(n->nf), 6);
    put32(m + 236, 0x63825363);
    uint8_t *o = m + DHCP_LEN;
    *o++ = 53; *o++ = 1; *o++ = type;
    if (req) {
        *o++ = 50; *o++ = 4; put32(o, req); o += 4;
    }
    if (server) {
        *o++ = 54; *o++ = 4; put32(o, server); o += 4;
    }
    *o++ = 55; *o++ = 3; *o++ = 1; *o++ = 3; *o++ = 6;   /* mask, router, DNS */
    *o++ = 255;
    return (uint32_t)(o - m) < 300 ? 300 : (uint32_t)(o - m);
}

/* Reads the options of a reply: its type, or -1 if malformed. */
static int dhcp_parse(const uint8_t *m, uint32_t len, uint32_t *server, uint32_t *mask,
                      uint32_t *router)
{
    int type = -1;
    uint32_t i = DHCP_LEN;
    while (i < len && m[i] != 255) {
        if (m[i] == 0) {
            i++;
            continue;
        }
        if (i + 1 >= len || i + 2 + m[i + 1] > len) {
            return -1;
        }
        uint8_t code = m[i], l = m[i + 1];
        const uint8_t *v = m + i + 2;
        if (code == 53 && l == 1) {
            type = v[0];
        } else if (code == 54 && l == 4) {
            *server = get32(v);
        } else if (code == 1 && l == 4) {
            *mask = get32(v);
        } else if (code == 3 && l >= 4) {
            *router = get32(v);
        }
        i += 2u + l;
    }
    return type;
}

int net_dhcp(struct net *n, uint64_t deadline_ns)
{
    static struct udp_socket s;
    static uint8_t msg[600];
    if (udp_bind(n, &s, 68) != 0) {
        return -1;
    }
    n->ip = 0;
    n->seed = n->seed * 1664525u + 1013904223u;
    uint32_t xid = n->seed;
    uint32_t offered = 0, server = 0;
    int rc = -1;
    uint8_t want = 2;   /* OFFER, then ACK */
    while (monotonic_ns() < deadline_ns && rc != 0) {
        uint32_t len = want == 2 ? dhcp_build(n, msg, xid, 1, 0, 0)
                                 : dhcp_build(n, msg, xid, 3, offered, server);
        udp_sendto(n, 68, 0xffffffffu, 67, msg, len);
        uint64_t retry = monotonic_ns() + 500000000ull;
        if (retry > deadline_ns) {
            retry = deadline_ns;
        }
        int got;
        while ((got = udp_recvfrom(n, &s, msg, sizeof msg, 0, 0, retry)) >= 0) {
            if (got < DHCP_LEN || msg[0] != 2 || get32(msg + 4) != xid ||
                get32(msg + 236) != 0x63825363 || memcmp(msg + 28, netfront_mac(n->nf), 6)) {
                continue;
            }
            uint32_t sv = 0, mk = 0, rt = 0;
            int type = dhcp_parse(msg, (uint32_t)got, &sv, &mk, &rt);
            if (type == 2 && want == 2) {
                offered = get32(msg + 16);
                server = sv;
                want = 5;
                break;      /* send the REQUEST */
            }
            if (type == 5 && want == 5) {
                n->ip = get32(msg + 16);
                n->mask = mk ? mk : 0xffffff00u;
                n->gw = rt;
                rc = 0;
                break;
            }
            if (type == 6 && want == 5) {   /* NAK: start over */
                want = 2;
                break;
            }
        }
    }
    udp_unbind(n, &s);
    return rc;
}
