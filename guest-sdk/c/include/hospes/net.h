/*
 * A small IPv4 stack over netfront for Hospes PVH guests: Ethernet II, ARP (a cache, requests
 * and replies), IPv4 (header checksum checked and made; fragments dropped), ICMP echo (replies
 * to pings, and a ping client), UDP (datagrams by port) and a minimal TCP: a client that
 * connects, sends a request and reads the response until FIN, and a server that accepts one
 * connection. Single-threaded and polled: frames are processed while a call waits.
 *
 * Configuration is static, from the guest's command line: "ip=10.0.0.1/24 gw=10.0.0.254".
 * Addresses are uint32_t in host order (10.0.0.1 is 0x0a000001); ports too.
 *
 *     static struct netfront nf;  static struct net net;
 *     netfront_open(&nf, 0, table, 8);
 *     net_init(&net, &nf, guest_cmdline());
 *     uint64_t rtt;  net_ping(&net, ip4(10,0,0,2), 1, 1000000000ull, &rtt);
 */
#ifndef HOSPES_NET_H
#define HOSPES_NET_H

#include "netfront.h"

#define ETH_P_IP  0x0800
#define ETH_P_ARP 0x0806
#define IPPROTO_ICMP 1
#define IPPROTO_TCP  6
#define IPPROTO_UDP  17
#define NET_ARP_ENTRIES 16
#define UDP_QUEUE 32
#define UDP_MAX_PAYLOAD 1472
#define NET_UDP_SOCKETS 4
#define TCP_MSS 1460

static inline uint32_t ip4(uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
    return a << 24 | b << 16 | c << 8 | d;
}

static inline uint16_t net_htons(uint16_t v) { return (uint16_t)(v << 8 | v >> 8); }
static inline uint32_t net_htonl(uint32_t v)
{
    return v << 24 | (v & 0xff00) << 8 | (v >> 8 & 0xff00) | v >> 24;
}

/* The Internet checksum (RFC 1071) of len bytes, folded, not yet complemented, seeded with sum. */
uint32_t net_csum_add(uint32_t sum, const void *data, uint32_t len);
uint16_t net_csum_fold(uint32_t sum);

struct arp_entry {
    uint32_t ip;
    uint8_t mac[6];
    uint8_t valid;
};

struct udp_datagram {
    uint32_t src;
    uint16_t sport;
    uint16_t len;
    uint8_t data[UDP_MAX_PAYLOAD];
};

struct udp_socket {
    uint16_t port;
    uint32_t head, count;
    uint32_t dropped;            /* arrived while the queue was full */
    struct udp_datagram q[UDP_QUEUE];
};

enum tcp_state { TCP_CLOSED, TCP_LISTEN, TCP_SYN_SENT, TCP_SYN_RECEIVED, TCP_ESTABLISHED,
                 TCP_CLOSE_WAIT, TCP_FIN_WAIT, TCP_DONE };

/* One TCP connection; received data goes into the caller's buffer. */
struct tcp_conn {
    enum tcp_state state;
    uint32_t peer;
    uint16_t lport, rport;
    uint32_t snd_una, snd_nxt, rcv_nxt, iss;
    uint16_t peer_mss;
    uint8_t fin_received, fin_acked;
    uint8_t *rbuf;
    uint32_t rsize, rlen;        /* bytes received in order (rlen may exceed rsize: cut off) */
    const uint8_t *unacked;      /* our data not yet acknowledged, for retransmission */
    uint32_t unacked_len;
    uint32_t retransmits, resets;
};

struct net {
    struct netfront *nf;
    uint32_t ip, mask, gw;
    struct arp_entry arp[NET_ARP_ENTRIES];
    uint32_t arp_next;
    struct udp_socket *udp[NET_UDP_SOCKETS];
    struct tcp_conn *tcp;
    uint16_t ping_id, ping_seq_replied;
    uint8_t ping_replied;
    uint32_t seed;
    uint8_t frame[2048];
    uint8_t out[2048];
    /* Counters. */
    uint32_t rx_frames, arp_requests_answered, arp_replies_seen, icmp_echo_answered,
             bad_checksums, dropped, udp_in, tcp_in;
};

/* Parses ip=A.B.C.D/LEN and gw=A.B.C.D (both optional: ip defaults to none) from cmdline.
 * 0, or -1 with the reason printed for a malformed value. */
int net_init(struct net *n, struct netfront *nf, const char *cmdline);
/* "10.0.0.1" into *ip; 0 or -1. */
int net_parse_ip(const char *s, uint32_t *ip, const char **end);
/* Takes an address, mask and router from a DHCP server (DISCOVER, OFFER, REQUEST, ACK,
 * resent every 500 ms); 0, or -1 by deadline_ns. */
int net_dhcp(struct net *n, uint64_t deadline_ns);
/* Waits for one frame until deadline_ns and processes it; 1 if one was processed, else 0. */
int net_poll(struct net *n, uint64_t deadline_ns);
/* The MAC for ip (or the gateway's for off-link ip), asking with ARP until deadline_ns;
 * 0 or -1. */
int net_resolve(struct net *n, uint32_t ip, uint8_t *mac, uint64_t deadline_ns);
/* Sends a raw IPv4 packet with the given payload; 0 or -1 (no route, ARP timeout, too long). */
int net_send_ip(struct net *n, uint32_t dst, uint8_t proto, const void *payload, uint32_t len);

/* One ICMP echo to dst with sequence seq and a 56-byte payload; waits up to timeout_ns for
 * the reply. 0 with the round trip in *rtt_ns (virtual time), or -1. */
int net_ping(struct net *n, uint32_t dst, uint16_t seq, uint64_t timeout_ns, uint64_t *rtt_ns);

/* Registers s for datagrams to port; 0 or -1 (port taken or no room). */
int udp_bind(struct net *n, struct udp_socket *s, uint16_t port);
void udp_unbind(struct net *n, struct udp_socket *s);
int udp_sendto(struct net *n, uint16_t sport, uint32_t dst, uint16_t dport, const void *data,
               uint32_t len);
/* The next datagram for s, waiting until deadline_ns: its length (cut to size), or -1. */
int udp_recvfrom(struct net *n, struct udp_socket *s, void *buf, uint32_t size, uint32_t *src,
                 uint16_t *sport, uint64_t deadline_ns);

/* Client: connects to dst:port, sends req, reads the response into buf until the peer's FIN
 * (or deadline_ns); returns the response length (cut to size), or -1 if no connection. */
int tcp_request(struct net *n, uint32_t dst, uint16_t port, const void *req, uint32_t reqlen,
                void *buf, uint32_t size, uint64_t deadline_ns);
/* Server: accepts one connection on port, reads until the request holds "\r\n\r\n" (or
 * reqsize bytes), then answer(request, len, ctx) gives the response, which is sent before a
 * FIN. Returns the request length or -1 on timeout. */
typedef uint32_t (*tcp_answer_fn)(const uint8_t *req, uint32_t len, const uint8_t **rsp,
                                  void *ctx);
int tcp_serve_one(struct net *n, uint16_t port, void *reqbuf, uint32_t reqsize,
                  tcp_answer_fn answer, void *ctx, uint64_t deadline_ns);

#endif
