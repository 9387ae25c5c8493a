/*
 * The Hospes guest SDK runtime: entry, console output and shutdown. A guest defines
 *
 *     int main(const struct hvm_start_info *si);
 *
 * and links with the SDK into one image that boots in every mode (native, hvm, hvm-shadow,
 * pvhvm, pvh, pv); returning 0 from main powers the guest off, anything else crashes it (a
 * non-zero exit status in every mode). si is the PVH start info, NULL when the guest was not
 * started through PVH.
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

/* How the guest was started, as the runtime found out at entry (src/entry.S). */
enum guest_boot {
    GUEST_BOOT_MULTIBOOT = 1,   /* a Multiboot loader: the bare PC (native), or an HVM domain */
    GUEST_BOOT_PVH = 2,         /* Xen's PVH entry: pvh, and hvm, hvm-shadow, pvhvm */
    GUEST_BOOT_PV = 3,          /* a classic PV domain builder: ring 1 */
};
extern enum guest_boot guest_boot;
/* "multiboot", "pvh" or "pv". */
const char *guest_boot_name(void);
/*
 * Non-zero when a Xen hypervisor is there (its CPUID leaves in ring 0; always in PV). Without
 * one (native) the program still runs, with the console on COM1 and time from the TSC, and
 * every service that needs Xen (hypercalls, event channels, xenstore, grants, blkfront,
 * netfront, timers) returns -XEN_ENOSYS.
 */
int guest_has_xen(void);
/*
 * For programs that need Xen's services: without a hypervisor, prints "PROGRAM: needs Xen's
 * services, and this machine has no hypervisor" and ends the run as a failure (status 3);
 * with one, returns.
 */
void guest_require_xen(const char *program);

/* The PVH start info the guest was booted with (NULL if none), and its command line. */
extern const struct hvm_start_info *start_info;
const char *guest_cmdline(void);
/* Our domain id (CPUID leaf 4, or xenstore's "domid"). */
domid_t guest_domid(void);

#endif
