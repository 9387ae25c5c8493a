/*
 * Demand paging: a 16 MiB virtual region starts with no page present. The
 * #PF handler maps pages on first touch: a read maps the shared zero page
 * read-only, a write (or a write after such a read) gets a fresh zeroed frame
 * from a bump allocator. The program then computes over the memory (a sieve of
 * Eratosthenes, a sparse table, a linked list through scattered pages) and the
 * kernel reports the fault counts, the frames used and the dirty bits.
 */
#include "rt.h"
#include "report.h"
#include "sys.h"

#define P   0x001u
#define RW  0x002u
#define A   0x020u
#define D   0x040u

#define REGION      0x10000000u          /* 16 MiB, page tables pt_region[4] */
#define REGION_SIZE 0x01000000u
#define POOL_START  0x00800000u          /* physical frames handed out on demand */
#define POOL_END    0x02000000u

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt_low[2][1024] __attribute__((aligned(4096)));
static uint32_t pt_region[4][1024] __attribute__((aligned(4096)));
static uint8_t zero_page[4096] __attribute__((aligned(4096)));

static uint32_t next_frame = POOL_START;
static uint32_t read_faults, write_faults, upgrade_faults;

static uint32_t *pte_of(uint32_t va)
{
    uint32_t idx = (va - REGION) >> 12;
    return &pt_region[idx >> 10][idx & 1023];
}

static void on_pf(struct rt_frame *f)
{
    uint32_t va = read_cr2();
    if (va - REGION >= REGION_SIZE || (f->cs & 3) != 0) {
        fail("#PF outside the demand region: eip %08x err %x cr2 %08x", f->eip, f->error_code, va);
    }
    uint32_t *pte = pte_of(va & ~0xFFFu);
    int write = (f->error_code & 2) != 0;
    if (!(f->error_code & 1)) {
        if (!write) {
            /* First touch is a read: share the zero page, read-only. */
            *pte = (uint32_t)(uintptr_t)zero_page | P;
            read_faults++;
            return;          /* IRET re-executes the faulting instruction */
        }
        write_faults++;
    } else if (write && (*pte & ~0xFFFu) == (uint32_t)(uintptr_t)zero_page) {
        upgrade_faults++;    /* write to the shared zero page: give it its own frame */
    } else {
        fail("unexpected #PF err %x at %08x", f->error_code, va);
    }
    if (next_frame >= POOL_END) fail("out of frames");
    uint32_t frame = next_frame;
    next_frame += 4096;
    /* The pool lies above the identity-mapped 8 MiB: zero the frame through its new mapping. */
    *pte = frame | P | RW;
    invlpg((const void *)(va & ~0xFFFu));
    uint32_t *p = (uint32_t *)(va & ~0xFFFu);
    for (int i = 0; i < 1024; i++) p[i] = 0;
}

static int failures;

static void check(const char *what, int ok)
{
    say("%-52s %s\n", what, ok ? "ok" : "WRONG");
    if (!ok) failures++;
}

static void counts(const char *when)
{
    say("%-28s read %4u, write %4u, upgrade %3u, frames %4u\n", when, read_faults, write_faults,
        upgrade_faults, (next_frame - POOL_START) >> 12);
}

struct node {
    struct node *next;
    uint32_t value;
};

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic;
    (void)mbi;
    say("demand: demand paging from a #PF handler\n");
    rt_on_trap(14, on_pf);
    for (uint32_t t = 0; t < 2; t++) {
        for (uint32_t i = 0; i < 1024; i++) pt_low[t][i] = ((t << 22) | (i << 12)) | P | RW;
        pd[t] = (uint32_t)(uintptr_t)pt_low[t] | P | RW;
    }
    for (uint32_t t = 0; t < 4; t++) pd[(REGION >> 22) + t] = (uint32_t)(uintptr_t)pt_region[t] | P | RW;
    write_cr3((uint32_t)(uintptr_t)pd);
    write_cr0(read_cr0() | CR0_PG | CR0_WP);
    counts("paging on:");

    /* 1. A sieve over 2 MiB of untouched memory: the first pass writes every page. */
    uint8_t *composite = (uint8_t *)REGION;
    const uint32_t n = 2u << 20;
    for (uint32_t i = 2; i * i < n; i++) {
        if (composite[i]) continue;
        for (uint32_t j = i * i; j < n; j += i) composite[j] = 1;
    }
    counts("after the sieve:");
    uint32_t primes = 0, last = 0;
    uint64_t sum = 0;
    for (uint32_t i = 2; i < n; i++) {
        if (!composite[i]) {
            primes++;
            sum += i;
            last = i;
        }
    }
    say("primes below 2^21: %u, largest %u, sum %llu\n", primes, last, (unsigned long long)sum);
    check("pi(2^21) = 155611", primes == 155611);
    counts("after reading it back:");

    /* 2. Reads of untouched pages share the zero page; writes then upgrade. */
    volatile uint32_t *sparse = (volatile uint32_t *)(REGION + 0x400000);
    uint32_t zeros = 0;
    for (uint32_t pg = 0; pg < 64; pg++) zeros += sparse[pg * 1024 + 7] == 0;
    check("64 first reads all see zeros", zeros == 64);
    counts("after 64 sparse reads:");
    check("the zero page is still all zeros", zero_page[7 * 4] == 0 && zero_page[4095] == 0);
    for (uint32_t pg = 0; pg < 64; pg += 4) sparse[pg * 1024 + 9] = pg * 3 + 1;
    counts("after 16 writes to them:");
    uint32_t acc = 0;
    for (uint32_t pg = 0; pg < 64; pg++) acc += sparse[pg * 1024 + 9];
    check("the written values read back", acc == 3 * (0 + 4 + 8 + 12 + 16 + 20 + 24 + 28 + 32 + 36 + 40 + 44 + 48 + 52 + 56 + 60) + 16);
    check("the zero page was never written", zero_page[9 * 4] == 0);

    /* 3. A linked list whose nodes are 1 MiB + 40 bytes apart, walking across the region. */
    struct node *head = NULL;
    for (uint32_t i = 0; i < 8; i++) {
        struct node *nd = (struct node *)(REGION + 0x800000 + i * 0x100028u);
        nd->value = i * i;
        nd->next = head;
        head = nd;
    }
    uint32_t total = 0, len = 0;
    for (struct node *nd = head; nd; nd = nd->next) {
        total += nd->value;
        len++;
    }
    say("list of %u nodes, sum of values %u\n", len, total);
    check("list sum is 140", len == 8 && total == 140);
    counts("after the list:");

    /* 4. Accessed and dirty bits over the whole region. */
    uint32_t present = 0, accessed = 0, dirty = 0, readonly = 0;
    for (uint32_t t = 0; t < 4; t++) {
        for (uint32_t i = 0; i < 1024; i++) {
            uint32_t e = pt_region[t][i];
            if (!(e & P)) continue;
            present++;
            accessed += (e & A) != 0;
            dirty += (e & D) != 0;
            readonly += (e & RW) == 0;
        }
    }
    say("present %u, accessed %u, dirty %u, still read-only %u\n", present, accessed, dirty, readonly);
    check("every present page was accessed", present == accessed);
    check("exactly the writable pages are dirty", dirty == present - readonly);

    write_cr0(read_cr0() & ~CR0_PG);
    say("%s: %d failures\n", failures ? "FAILED" : "all ok", failures);
    printf("checksum %08x\n", say_hash);
    return failures ? 1 : 0;
}
