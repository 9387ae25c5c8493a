/*
 * What differs between the ways one SDK image runs: started in ring 0 with paging off
 * (Multiboot on a bare PC or in an HVM domain, PVH; physical = virtual, interrupts through an
 * IDT) or as a classic PV32 guest (ring 1, paging on over the PV domain builder's tables at
 * VIRT_BASE 0, so the same addresses; the PV MMU; events through the event callback). The
 * runtime finds out at entry (arch_pv). Code written against these runs in every mode, which
 * is how the SDK's own services (events, xenstore, console, grants, blkfront, netfront) do it.
 */
#ifndef HOSPES_ARCH_H
#define HOSPES_ARCH_H

#include "xen.h"

/*
 * The frame number other domains and the hypervisor know a page of ours by: in grant entries,
 * in GNTTABOP_copy and in gnttab_map_table_frame. In PVH the guest frame (va >> 12); in PV the
 * machine frame, through the P2M list (a PV guest is not translated, as Xen's pfn_to_gfn).
 */
uint32_t virt_to_gfn(const void *va);

/* The xenstore and console rings dom0 gave the domain: 0, or -XEN_ENOENT when it has none. */
int arch_store_ring(void **ring, evtchn_port_t *port);
int arch_console_ring(void **ring, evtchn_port_t *port);

/*
 * "Interrupts" off and on: in PVH the processor's IF (cli/sti); in PV the event mask in
 * vcpu_info (a ring-1 kernel has no IF of its own), and turning events on delivers a pending
 * upcall at once, as Linux's xen_irq_enable does with a hypercall that returns through the
 * event callback.
 */
/* Non-zero when the guest runs as a classic PV guest (ring 1); set at entry. */
extern int arch_pv;
void pv_events_on(void);
void pv_events_off(void);
int pv_events_save(void);   /* non-zero if events were on; turns them off */

static inline void local_irq_disable(void)
{
    if (arch_pv) {
        pv_events_off();
    } else {
        __asm__ volatile("cli" ::: "memory");
    }
}

static inline void local_irq_enable(void)
{
    if (arch_pv) {
        pv_events_on();
    } else {
        __asm__ volatile("sti" ::: "memory");
    }
}

static inline int local_irq_save(void)
{
    if (arch_pv) {
        return pv_events_save();
    }
    uint32_t flags;
    __asm__ volatile("pushfl; popl %0; cli" : "=r"(flags) :: "memory");
    return (flags & 0x200) != 0;
}

#define local_irq_restore(on) do { if (on) local_irq_enable(); } while (0)

#endif
