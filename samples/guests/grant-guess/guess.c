/*
 * Grant isolation: this guest guesses other domains' grant references. For
 * domains 1..3 and every ref of 8 table frames (plus some past the largest
 * table), it tries a writable map, a read-only map, a copy from and a copy to.
 * Only what was granted to it may succeed; it reports every success and a
 * checksum of the buffer the copies wrote into.
 */
#include <hospes/guest.h>
#include <hospes/grant.h>

#define MAP_GPA 0xE00000u
#define REFS (8 * GNTTAB_ENTRIES_PER_FRAME)

static uint8_t buf[4096] __attribute__((aligned(4096)));
static const uint32_t far_refs[] = { 32767, 32768, 65535, 0x7fffffffu, 0xffffffffu };

static unsigned successes, attempts;

static void try_ref(gnt_domid_t dom, grant_ref_t ref)
{
    grant_handle_t h;
    int st;
    for (int ro = 0; ro < 2; ro++) {
        attempts++;
        st = gnttab_map(dom, ref, MAP_GPA, ro, &h);
        if (st == GNTST_okay) {
            successes++;
            printf("map%s dom %u ref %u ok: %x\n", ro ? " ro" : "", dom, ref,
                   *(volatile uint32_t *)MAP_GPA);
            if (gnttab_unmap(MAP_GPA, h) != GNTST_okay) {
                printf("unmap failed\n");
            }
        }
    }
    attempts++;
    if (gnttab_copy_from(dom, ref, 0, buf, 16) == GNTST_okay) {
        successes++;
        printf("copy from dom %u ref %u ok: %x\n", dom, ref, *(uint32_t *)buf);
    }
    attempts++;
    if (gnttab_copy_to(dom, ref, 0, buf + 64, 16) == GNTST_okay) {
        successes++;
        printf("copy to dom %u ref %u ok\n", dom, ref);
    }
}

int main(const struct hvm_start_info *si)
{
    guest_require_xen("grant-guess");
    (void)si;
    *(volatile uint32_t *)MAP_GPA = 0x0dd5eed;
    for (gnt_domid_t dom = 1; dom <= 3; dom++) {
        for (grant_ref_t ref = 0; ref < REFS; ref++) {
            try_ref(dom, ref);
        }
        for (unsigned i = 0; i < sizeof(far_refs) / sizeof(far_refs[0]); i++) {
            try_ref(dom, far_refs[i]);
        }
    }
    uint32_t sum = 0;
    for (unsigned i = 0; i < sizeof(buf); i++) {
        sum = sum * 31 + buf[i];
    }
    printf("guess: %u attempts, %u succeeded, buffer sum %x, own page %x\n", attempts,
           successes, sum, *(volatile uint32_t *)MAP_GPA);
    return 0;
}
