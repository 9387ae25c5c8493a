/*
 * say(): printf that also folds every printed byte into a running FNV-1a hash,
 * so a kernel can end with one checksum over everything it reported.
 * fl(): renders EFLAGS arithmetic bits as "OSZAPC" letters: upper case = set,
 * '-' = clear, '.' = architecturally undefined for that instruction (not shown).
 */
#ifndef HOSPES_REPORT_H
#define HOSPES_REPORT_H
#include "rt.h"

#define F_CF 0x001u
#define F_PF 0x004u
#define F_AF 0x010u
#define F_ZF 0x040u
#define F_SF 0x080u
#define F_OF 0x800u
#define F_ALL (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)

static uint32_t say_hash = FNV_INIT;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static void say(const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    for (const char *p = line; *p; p++) {
        say_hash ^= (uint8_t)*p;
        say_hash *= 16777619u;
    }
    puts_raw(line);
}

static const char *fl(uint32_t flags, uint32_t mask) __attribute__((unused));
static const char *fl(uint32_t flags, uint32_t mask)
{
    static char buf[7];
    static const uint32_t bits[6] = { F_OF, F_SF, F_ZF, F_AF, F_PF, F_CF };
    static const char names[] = "OSZAPC";
    for (int i = 0; i < 6; i++) {
        if (!(mask & bits[i])) buf[i] = '.';
        else buf[i] = (flags & bits[i]) ? names[i] : '-';
    }
    buf[6] = '\0';
    return buf;
}

#endif
