/*
 * The Hospes guest SDK runtime for 32-bit PVH guests: entry, console output
 * and shutdown. A guest defines
 *
 *     int main(const struct hvm_start_info *si);
 *
 * and links with the SDK; returning from main powers the guest off.
 */
#ifndef HOSPES_GUEST_H
#define HOSPES_GUEST_H

#include "types.h"
#include "xen.h"
#include "arch.h"
#include "evtchn.h"
#include "xenstore.h"
#include "console.h"
#include "mm.h"
#include "time.h"

/* Console output: the PV console ring if the domain has one, else console_io. */
void console_write(const char *s, int len);
int printf(const char *fmt, ...);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* Leaves through SCHEDOP_shutdown; never returns. */
void guest_shutdown(unsigned reason) __attribute__((noreturn));

size_t strlen(const char *s);
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strcpy(char *d, const char *s);
/* Decimal parsing with an end pointer (NULL allowed). */
long strtol(const char *s, char **end, int base);
int snprintf(char *buf, size_t size, const char *fmt, ...);

/* The start info the guest was booted with, and its command line ("" if none). */
extern const struct hvm_start_info *start_info;
const char *guest_cmdline(void);
/* Our domain id (CPUID leaf 4, or xenstore's "domid"). */
domid_t guest_domid(void);

#endif
