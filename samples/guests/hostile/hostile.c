/*
 * A hostile PVH guest: 100,000 hypercalls with random numbers and random
 * arguments (pointers anywhere, huge counts, bad sub-operations), then a
 * checksum of its own memory. Every result must be 0, a positive value, or
 * a documented negative errno; it reports any other value.
 *
 * sched_op is left out: a random SCHEDOP_shutdown or SCHEDOP_block would end
 * or park this guest before it finishes, which is allowed behaviour but not
 * what this test measures. For the same reason a multicall's count is kept
 * below 256 (see below).
 */
#include <hospes/guest.h>

#define CALLS 100000

static uint32_t state = 0x12345678u;

static uint32_t next(void)
{
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
}

static int documented(long rc)
{
    static const int errnos[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18,
        19, 22, 23, 24, 28, 30, 31, 33, 34, 35, 36, 37, 38, 39, 61, 62, 74, 75, 84, 85, 88,
        95, 98, 99, 105, 106, 107, 110 };
    if (rc >= 0) {
        return 1;
    }
    for (unsigned i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++) {
        if (rc == -errnos[i]) {
            return 1;
        }
    }
    return 0;
}

int main(const struct hvm_start_info *si)
{
    guest_require_xen("hostile");
    (void)si;
    /* Random hypercalls can bind ports or set the callback vector to anything:
     * this guest takes no interrupts, so nothing random is ever delivered. */
    __asm__ volatile("cli");
    unsigned bad = 0, errors = 0;
    for (unsigned i = 0; i < CALLS; i++) {
        int nr = (int)(next() % 64);
        if (nr == __HYPERVISOR_sched_op || nr == 23) {
            nr = __HYPERVISOR_xen_version;  /* 23 is the PV-only iret slot (ud2) */
        }
        long a1 = (long)next(), a2 = (long)next(), a3 = (long)next();
        if (next() & 1) {
            a1 &= 0xff;   /* small sub-operation numbers reach the real handlers */
        }
        if (nr == __HYPERVISOR_console_io && (a1 & 0xff) == CONSOLEIO_write) {
            a2 &= 0x3f;   /* keep the console readable */
        }
        if (nr == __HYPERVISOR_multicall) {
            /* As on Xen, an HVM guest's multicall count has no limit and each entry's
             * result is written back into the list: a huge count over a list in low memory
             * would walk all of this guest's memory and rewrite its own code. */
            a2 &= 0xff;
        }
        long rc = hypercall3(nr, a1, a2, a3);
        if (rc < 0) {
            errors++;
        }
        if (!documented(rc)) {
            bad++;
        }
    }
    uint32_t sum = 0;
    for (const uint8_t *p = (const uint8_t *)0x100000; p < (const uint8_t *)0x110000; p++) {
        sum = sum * 31 + *p;
    }
    printf("\nhostile: %u hypercalls, %u errors, %u undocumented results, checksum %08x\n",
           CALLS, errors, bad, sum);
    return bad == 0 ? 0 : 1;
}
