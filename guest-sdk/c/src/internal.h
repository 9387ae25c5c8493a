/*
 * Between the SDK runtime's parts (not for guests): the start-of-day pieces runtime.c calls,
 * and the classic PV side (pv/pv-sdk.c) it dispatches to when the guest runs in ring 1.
 */
#ifndef HOSPES_SDK_INTERNAL_H
#define HOSPES_SDK_INTERNAL_H

#include <hospes/guest.h>
#include <hospes/grant.h>
#include <hospes/pv.h>

void mm_init_range(uintptr_t first, uintptr_t top);
void evtchn_do_upcall(void);
/* Console output before (or without) a PV console ring: COM1 on a PC start, else console_io. */
void early_console_write(const char *s, int len);
/* Without Xen: calibrates the TSC against the PIT for monotonic_ns, once. */
void native_clock_init(void);
/* Writes a fault report where the guest's output goes, then crashes the domain. */
void guest_report_fault(const char *buf, int n) __attribute__((noreturn));

/* Port I/O for the parts that drive PC hardware (COM1 and the PIT in runtime.c, IDE in ata.c). */
static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

/* pv/pv-sdk.c */
void pv_sdk_start(struct start_info *si) __attribute__((noreturn));
int pv_store_ring(void **ring, evtchn_port_t *port);
int pv_console_ring(void **ring, evtchn_port_t *port);
long pv_gnttab_map_table_frame(uint32_t idx, uint32_t gfn);
int pv_gnttab_unmap(uint32_t gpa, grant_handle_t handle);
const char *pv_cmdline(void);
domid_t pv_domid(void);

/* Runs main and shuts down with its result. */
void guest_run_main(const struct hvm_start_info *si) __attribute__((noreturn));

#endif
