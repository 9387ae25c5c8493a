/*
 * Looks for another domain's isolation markers (marker.h) with the tag given as "find=NAME"
 * on the command line, everywhere this domain can reach: its own RAM word by word, and the
 * rest of the 32-bit physical space page by page (the first word of each page; a page whose
 * first word is not all ones is scanned word by word). In an HVM domain unbacked addresses
 * read as all ones, so a frame of another domain could only show up in its own RAM or in a
 * page that reads as something else. A marker fills whole pages from offset 0, so a leaked
 * frame of a marker domain has a unit at the start of the page.
 *
 * Prints how many units it found (0 expected) and exits 33 when none, 35 otherwise.
 * "limit=MIB" stops the scan at that many MiB of physical space (default: all 4 GiB).
 */
#include "rt.h"
#include "marker.h"

static uint32_t want_not[MARKER_WORDS];
static uint32_t found, first_found = 0xFFFFFFFFu;

/* True if a unit with the tag sought starts at addr (addr 4-byte aligned). */
static inline int unit_at(uint32_t addr)
{
    for (int i = 1; i < MARKER_WORDS; i++) {
        if (~peek32(addr + 4 * i) != want_not[i]) return 0;
    }
    return 1;
}

/* Scans [start, end) word by word; end is at most 4 GiB - 32. */
static void scan_words(uint32_t start, uint32_t end)
{
    uint32_t first = want_not[0];
    for (uint32_t a = start; a < end; a += 4) {
        if (~peek32(a) == first && unit_at(a)) {
            if (found++ == 0) first_found = a;
        }
    }
}

static uint32_t parse_u32(const char *s)
{
    uint32_t v = 0;
    while (*s >= '0' && *s <= '9') v = v * 10 + (uint32_t)(*s++ - '0');
    return v;
}

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    if (magic != MULTIBOOT_BOOTLOADER_MAGIC || !(mbi->flags & MULTIBOOT_INFO_MEMORY)) {
        printf("memscan: no multiboot memory information\n");
        return 1;
    }
    char tag[MARKER_TAG_MAX + 1], limit_text[8];
    if (!cmdline_value(mbi, "find", tag, sizeof tag)) memcpy(tag, "marker", 7);
    uint64_t limit = 1ull << 32;
    if (cmdline_value(mbi, "limit", limit_text, sizeof limit_text)) {
        uint64_t mib = parse_u32(limit_text);
        if (mib && mib < 4096) limit = mib << 20;
    }
    marker_unit_not(tag, want_not);
    uint32_t ram_top = 0x100000u + mbi->mem_upper * 1024u;
    printf("memscan: looking for markers tagged %s\n", tag);

    scan_words(0, ram_top);
    printf("memscan: own RAM (about %u MiB) scanned word by word\n",
           (ram_top + (512u << 10)) >> 20);

    uint32_t backed = 0;
    uint64_t page = ((uint64_t)ram_top + 0xFFF) & ~0xFFFull;
    for (; page < limit; page += 0x1000) {
        if (peek32((uint32_t)page) != 0xFFFFFFFFu) {
            backed++;
            scan_words((uint32_t)page, (uint32_t)page + 0x1000 - (page + 0x1000 == 1ull << 32
                                                                   ? MARKER_UNIT : 0));
        }
    }
    printf("memscan: %u pages above RAM scanned, %u of them not all ones\n",
           (uint32_t)((limit - (((uint64_t)ram_top + 0xFFF) & ~0xFFFull)) >> 12), backed);
    printf("memscan: found %u foreign markers\n", found);
    if (found) {
        printf("memscan: the first at 0x%08x\n", first_found);
        return 1;
    }
    return 0;
}
