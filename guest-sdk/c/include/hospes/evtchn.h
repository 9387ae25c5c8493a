/*
 * Event channels for Hospes guests (the 2-level ABI on shared_info).
 *
 * The runtime maps shared_info, sets HVM_PARAM_CALLBACK_IRQ to the upcall
 * vector (PVH) or registers the event callback (PV), and runs with events
 * enabled: each upcall scans pending_sel and the pending/mask words and calls
 * the handler registered for each port (with the port's pending bit already
 * cleared).
 */
#ifndef HOSPES_EVTCHN_H
#define HOSPES_EVTCHN_H

#include "xen.h"
#include "arch.h"

/* The vector the hypervisor injects for event upcalls. */
#define EVTCHN_UPCALL_VECTOR 0xf3

typedef void (*evtchn_handler_t)(evtchn_port_t port, void *data);

extern struct shared_info *HYPERVISOR_shared_info;

/* Each returns a port (>0) or a negative Xen errno. */
int evtchn_alloc_unbound(domid_t remote);
/* Binds to remote's unbound port; the event Xen raises on bind is consumed. */
int evtchn_bind_interdomain(domid_t remote, evtchn_port_t remote_port);
int evtchn_bind_virq(uint32_t virq);
int evtchn_bind_ipi(void);
/* 0 or a negative errno. */
int evtchn_send(evtchn_port_t port);
int evtchn_close(evtchn_port_t port);
void evtchn_mask(evtchn_port_t port);
int evtchn_unmask(evtchn_port_t port);
void evtchn_clear(evtchn_port_t port);
int evtchn_status(evtchn_port_t port, struct evtchn_status *out);

/* Handlers run in interrupt context (interrupts off), one port at a time. */
void evtchn_set_handler(evtchn_port_t port, evtchn_handler_t fn, void *data);

/* Sleeps (SCHEDOP_block) until an upcall is due, then lets it run. Call with
 * interrupts disabled after checking your condition; returns with them on. */
void evtchn_block(void);

/* Waits until cond is true, blocking between events; cond is evaluated with
 * interrupts off so no event can slip in between the test and the block. */
#define evtchn_wait_until(cond)                               \
    do {                                                      \
        for (;;) {                                            \
            local_irq_disable();                              \
            if (cond) {                                       \
                local_irq_enable();                           \
                break;                                        \
            }                                                 \
            evtchn_block();                                   \
        }                                                     \
    } while (0)

/* Upcalls taken and events dispatched so far. */
extern volatile uint32_t evtchn_upcalls;
extern volatile uint32_t evtchn_events;

#endif
