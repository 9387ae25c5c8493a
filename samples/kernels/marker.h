/*
 * The isolation marker shared by the marker and memscan kernels.
 *
 * A marker unit is 32 bytes at a 32-byte-aligned address: a 16-byte magic followed by a
 * 16-byte tag (the tag text from the command line, zero-padded). The marker kernel fills
 * its free RAM with units; memscan looks for units with a given tag anywhere it can reach.
 *
 * The magic is kept complemented here, so that the memscan kernel's own image never holds
 * the 16 magic bytes in a row: a scan of its own RAM must not find itself.
 */
#ifndef HOSPES_MARKER_H
#define HOSPES_MARKER_H
#include "rt.h"

#define MARKER_UNIT  32
#define MARKER_WORDS (MARKER_UNIT / 4)
#define MARKER_TAG_MAX 16

/* ~"HospesIsolation!" as little-endian words. */
static const uint32_t marker_magic_not[4] = {
    ~0x70736f48u, ~0x49736568u, ~0x616c6f73u, ~0x216e6f69u,
};

/* Finds "key=" in a multiboot command line; copies its value (up to a space) into out. */
static inline int cmdline_value(const struct multiboot_info *mbi, const char *key, char *out,
                                size_t size)
{
    if (!(mbi->flags & 4u) || mbi->cmdline == 0) return 0;
    const char *s = (const char *)mbi->cmdline;
    size_t klen = strlen(key);
    while (*s) {
        while (*s == ' ') s++;
        if (memcmp(s, key, klen) == 0 && s[klen] == '=') {
            s += klen + 1;
            size_t n = 0;
            while (s[n] && s[n] != ' ' && n + 1 < size) {
                out[n] = s[n];
                n++;
            }
            out[n] = 0;
            return 1;
        }
        while (*s && *s != ' ') s++;
    }
    return 0;
}

/* The unit for tag, complemented (see above): word i of the real unit is ~unit_not[i]. */
static inline void marker_unit_not(const char *tag, uint32_t unit_not[MARKER_WORDS])
{
    uint8_t bytes[MARKER_TAG_MAX];
    memset(bytes, 0, sizeof bytes);
    for (size_t i = 0; i < MARKER_TAG_MAX && tag[i]; i++) bytes[i] = (uint8_t)tag[i];
    for (int i = 0; i < 4; i++) unit_not[i] = OPAQUE(marker_magic_not[i]);
    for (int i = 0; i < 4; i++) {
        uint32_t w = bytes[4 * i] | bytes[4 * i + 1] << 8 | bytes[4 * i + 2] << 16
                     | (uint32_t)bytes[4 * i + 3] << 24;
        unit_not[4 + i] = ~w;
    }
}

/* Reads a physical address (paging is off, segments are flat): no C pointer semantics. */
static inline uint32_t peek32(uint32_t addr)
{
    uint32_t v;
    __asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(addr) : "memory");
    return v;
}

static inline void poke32(uint32_t addr, uint32_t v)
{
    __asm__ volatile("movl %0, (%1)" : : "r"(v), "r"(addr) : "memory");
}

#endif
