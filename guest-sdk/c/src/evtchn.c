/* Event channels: the upcall handler, port operations, handler registry. */
#include "internal.h"

struct shared_info *HYPERVISOR_shared_info;
volatile uint32_t evtchn_upcalls;
volatile uint32_t evtchn_events;

static struct {
    evtchn_handler_t fn;
    void *data;
} handlers[NR_EVENT_CHANNELS];

void evtchn_do_upcall(void)
{
    struct shared_info *s = HYPERVISOR_shared_info;
    struct vcpu_info *v = &s->vcpu_info[0];
    evtchn_upcalls++;
    v->evtchn_upcall_pending = 0;
    __asm__ volatile("" ::: "memory");
    uint32_t sel = __atomic_exchange_n(&v->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
    while (sel) {
        int w = __builtin_ctz(sel);
        sel &= sel - 1;
        uint32_t bits = s->evtchn_pending[w] & ~s->evtchn_mask[w];
        while (bits) {
            int b = __builtin_ctz(bits);
            bits &= bits - 1;
            evtchn_port_t port = (evtchn_port_t)(w * 32 + b);
            __atomic_fetch_and(&s->evtchn_pending[w], ~(1u << b), __ATOMIC_SEQ_CST);
            evtchn_events++;
            if (handlers[port].fn) {
                handlers[port].fn(port, handlers[port].data);
            }
        }
    }
}

void evtchn_set_handler(evtchn_port_t port, evtchn_handler_t fn, void *data)
{
    if (port < NR_EVENT_CHANNELS) {
        handlers[port].fn = fn;
        handlers[port].data = data;
    }
}

void evtchn_block(void)
{
    if (!guest_has_xen()) {
        /* Nothing will ever arrive: say so rather than wait for ever. */
        static const char msg[] =
            "guest: waiting for an event, but there is no hypervisor (no event channels)\n";
        guest_report_fault(msg, sizeof(msg) - 1);
    }
    /* Interrupts are off: an event that arrived since the caller's check
     * has set upcall_pending, and SCHEDOP_block then returns at once. */
    if (!HYPERVISOR_shared_info->vcpu_info[0].evtchn_upcall_pending) {
        HYPERVISOR_sched_op(SCHEDOP_block, NULL);
    }
    local_irq_enable();
}

int evtchn_alloc_unbound(domid_t remote)
{
    struct evtchn_alloc_unbound op = { DOMID_SELF, remote, 0 };
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &op);
    return rc < 0 ? (int)rc : (int)op.port;
}

int evtchn_bind_interdomain(domid_t remote, evtchn_port_t remote_port)
{
    struct evtchn_bind_interdomain op = { remote, remote_port, 0 };
    int on = local_irq_save();
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &op);
    if (rc == 0) {
        evtchn_clear(op.local_port);
    }
    local_irq_restore(on);
    return rc < 0 ? (int)rc : (int)op.local_port;
}

int evtchn_bind_virq(uint32_t virq)
{
    struct evtchn_bind_virq op = { virq, 0, 0 };
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &op);
    return rc < 0 ? (int)rc : (int)op.port;
}

int evtchn_bind_ipi(void)
{
    struct evtchn_bind_ipi op = { 0, 0 };
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_ipi, &op);
    return rc < 0 ? (int)rc : (int)op.port;
}

int evtchn_send(evtchn_port_t port)
{
    struct evtchn_send op = { port };
    return (int)HYPERVISOR_event_channel_op(EVTCHNOP_send, &op);
}

int evtchn_close(evtchn_port_t port)
{
    struct evtchn_close op = { port };
    evtchn_set_handler(port, NULL, NULL);
    return (int)HYPERVISOR_event_channel_op(EVTCHNOP_close, &op);
}

void evtchn_mask(evtchn_port_t port)
{
    __atomic_fetch_or(&HYPERVISOR_shared_info->evtchn_mask[port / 32], 1u << (port % 32),
                      __ATOMIC_SEQ_CST);
}

int evtchn_unmask(evtchn_port_t port)
{
    struct evtchn_unmask op = { port };
    return (int)HYPERVISOR_event_channel_op(EVTCHNOP_unmask, &op);
}

void evtchn_clear(evtchn_port_t port)
{
    __atomic_fetch_and(&HYPERVISOR_shared_info->evtchn_pending[port / 32], ~(1u << (port % 32)),
                       __ATOMIC_SEQ_CST);
}

int evtchn_status(evtchn_port_t port, struct evtchn_status *out)
{
    memset(out, 0, sizeof(*out));
    out->dom = DOMID_SELF;
    out->port = port;
    return (int)HYPERVISOR_event_channel_op(EVTCHNOP_status, out);
}
