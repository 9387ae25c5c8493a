/*
 * Fills the domain's free RAM with isolation markers (marker.h): 32-byte units of a magic and
 * the tag from the command line ("tag=NAME", default "marker"), at every 32-byte boundary of
 * low memory above the first page and of everything above the kernel image up to the top of
 * RAM. Then it checks them all and exits 33. With "hold=1" it stays alive instead, so that
 * another domain can look for the markers while they exist: it waits with HLT (interrupts on,
 * none programmed, so it blocks without using the CPU), checks the markers again whenever it
 * wakes, and exits 35 if one changed.
 */
#include "rt.h"
#include "marker.h"

extern char __image_end[];

struct range { uint32_t start, end; };

static uint32_t unit[MARKER_WORDS];

static void fill(struct range r)
{
    for (uint32_t a = r.start; a < r.end; a += MARKER_UNIT) {
        for (int i = 0; i < MARKER_WORDS; i++) poke32(a + 4 * i, unit[i]);
    }
}

/* Number of units in r that are not intact. */
static uint32_t check(struct range r)
{
    uint32_t bad = 0;
    for (uint32_t a = r.start; a < r.end; a += MARKER_UNIT) {
        for (int i = 0; i < MARKER_WORDS; i++) {
            if (peek32(a + 4 * i) != unit[i]) {
                bad++;
                break;
            }
        }
    }
    return bad;
}

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    if (magic != MULTIBOOT_BOOTLOADER_MAGIC || !(mbi->flags & MULTIBOOT_INFO_MEMORY)) {
        printf("marker: no multiboot memory information\n");
        return 1;
    }
    char tag[MARKER_TAG_MAX + 1], hold[8];
    if (!cmdline_value(mbi, "tag", tag, sizeof tag)) memcpy(tag, "marker", 7);
    int holding = cmdline_value(mbi, "hold", hold, sizeof hold) && hold[0] == '1';
    uint32_t unit_not[MARKER_WORDS];
    marker_unit_not(tag, unit_not);
    for (int i = 0; i < MARKER_WORDS; i++) unit[i] = ~unit_not[i];

    struct range ranges[2] = {
        {0x1000, mbi->mem_lower * 1024u & ~0xFFFu},
        {((uint32_t)__image_end + 0xFFFu) & ~0xFFFu, 0x100000u + mbi->mem_upper * 1024u},
    };
    uint32_t ram_mib = (mbi->mem_upper + 1024 + 512) / 1024;
    /* From here on the multiboot information is gone: it was in low memory. */
    for (int i = 0; i < 2; i++) fill(ranges[i]);
    /* Rounded as in hello: loaders report memory a little differently. */
    printf("marker: tag %s, RAM about %u MiB marked\n", tag, ram_mib);
    uint32_t bad = check(ranges[0]) + check(ranges[1]);
    printf("marker: %u units changed\n", bad);
    if (bad) return 1;
    if (!holding) return 0;
    printf("marker: holding\n");
    /* Close what the firmware left open (the PIT on IRQ 0) so nothing wakes us. */
    outb(0x21, 0xFF);
    outb(0xA1, 0xFF);
    for (;;) {
        /* Every interrupt is masked: this blocks until the domain is destroyed. */
        __asm__ volatile("sti; hlt; cli" : : : "memory");
        bad = check(ranges[0]) + check(ranges[1]);
        if (bad) {
            printf("marker: %u units changed while holding\n", bad);
            return 1;
        }
    }
}
