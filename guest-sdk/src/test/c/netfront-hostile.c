/*
 * Run against NetfrontHostileBackendTest's scripted backend: receives for a while, sends one
 * frame after each good one, and reports what netfront made of the responses.
 */
#include <hospes/grant.h>
#include <hospes/guest.h>
#include <hospes/mm.h>
#include <hospes/netfront.h>
#include <hospes/time.h>

static struct netfront nf;
static uint8_t frame[2048];

int main(void)
{
    struct grant_entry_v1 *table = page_alloc(1);
    gnttab_map_table_frame(0, (uint32_t)table >> 12);
    if (netfront_open(&nf, 0, table, 8) != 0) {
        return 1;
    }
    printf("hostile: connected\n");
    uint64_t end = monotonic_ns() + 50000000ull;
    while (monotonic_ns() < end) {
        if (!netfront_wait(&nf, end)) {
            continue;
        }
        int len;
        while ((len = netfront_recv(&nf, frame, sizeof frame)) > 0) {
            printf("hostile: frame of %d bytes, byte 14 = %02x\n", len, frame[14]);
            netfront_send(&nf, frame, (uint32_t)len);
        }
    }
    /* Sending after hostile tx responses must still find buffers. */
    int sent = 0;
    for (int i = 0; i < 3; i++) {
        sent += netfront_send(&nf, frame, 60) == 0;
    }
    printf("hostile: rx %u, tx %u, bad responses %u, rx errors %u, sent %d more\n",
           nf.rx_packets, nf.tx_packets, nf.bad_responses, nf.rx_errors, sent);
    return 0;
}
