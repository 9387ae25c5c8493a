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

/* Console output through console_io. */
void console_write(const char *s, int len);
int printf(const char *fmt, ...);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* Leaves through SCHEDOP_shutdown; never returns. */
void guest_shutdown(unsigned reason) __attribute__((noreturn));

size_t strlen(const char *s);
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

#endif
