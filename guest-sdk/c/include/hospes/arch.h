/*
 * What differs between the SDK's two runtimes, PVH (paging off, physical = virtual, interrupts
 * through an IDT) and classic PV32 (ring 1 at VIRT_BASE 0xC0000000, page tables through the PV
 * MMU, events through the event callback). The PV build defines HOSPES_PV. Code written
 * against these runs in both, which is how the SDK's own services (events, xenstore, console,
 * grants, blkfront, netfront) do it.
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
#ifdef HOSPES_PV
void pv_events_on(void);
void pv_events_off(void);
int pv_events_save(void);   /* non-zero if events were on; turns them off */
#define local_irq_disable() pv_events_off()
#define local_irq_enable()  pv_events_on()
#define local_irq_save()    pv_events_save()
#define local_irq_restore(on) do { if (on) pv_events_on(); } while (0)
#else
#define local_irq_disable() __asm__ volatile("cli" ::: "memory")
#define local_irq_enable()  __asm__ volatile("sti" ::: "memory")
static inline int local_irq_save(void)
{
    uint32_t flags;
    __asm__ volatile("pushfl; popl %0; cli" : "=r"(flags) :: "memory");
    return (flags & 0x200) != 0;
}
#define local_irq_restore(on) do { if (on) local_irq_enable(); } while (0)
#endif

#endif
