/* pvclock and the singleshot timer. */
#include "internal.h"

volatile uint32_t timer_ticks;
static int timer_port;

uint64_t monotonic_ns(void)
{
    if (!guest_has_xen()) {
        native_clock_init();
    }
    volatile struct vcpu_time_info *t = &HYPERVISOR_shared_info->vcpu_info[0].time;
    uint32_t version, mul;
    uint64_t stamp, system, delta;
    int8_t shift;
    do {
        version = t->version;
        __asm__ volatile("" ::: "memory");
        stamp = t->tsc_timestamp;
        system = t->system_time;
        mul = t->tsc_to_system_mul;
        shift = t->tsc_shift;
        delta = rdtsc() - stamp;
        __asm__ volatile("" ::: "memory");
    } while ((version & 1) || version != t->version);
    if (shift >= 0) {
        delta <<= shift;
    } else {
        delta >>= -shift;
    }
    /* (delta * mul) >> 32 with 32-bit multiplies only. */
    uint64_t lo = (uint64_t)(uint32_t)delta * mul;
    uint64_t hi = (uint64_t)(uint32_t)(delta >> 32) * mul;
    return system + hi + (lo >> 32);
}

static void on_timer(evtchn_port_t port, void *data)
{
    (void)port;
    (void)data;
    timer_ticks++;
}

static int timer_init(void)
{
    if (timer_port <= 0) {
        int p = evtchn_bind_virq(VIRQ_TIMER);
        if (p < 0) {
            return p;
        }
        timer_port = p;
        evtchn_set_handler((evtchn_port_t)p, on_timer, NULL);
    }
    return 0;
}

int timer_set(uint64_t deadline_ns, uint32_t flags)
{
    int rc = timer_init();
    if (rc < 0) {
        return rc;
    }
    struct vcpu_set_singleshot_timer t = { deadline_ns, flags };
    return (int)hypercall3(__HYPERVISOR_vcpu_op, VCPUOP_set_singleshot_timer, 0, (long)&t);
}

int timer_stop(void)
{
    return (int)hypercall3(__HYPERVISOR_vcpu_op, VCPUOP_stop_singleshot_timer, 0, 0);
}

void sleep_until(uint64_t deadline_ns)
{
    if (!guest_has_xen()) {
        /* No timers without a hypervisor: spin on the TSC (deterministic in virtual time). */
        while (monotonic_ns() < deadline_ns) {
            __asm__ volatile("pause");
        }
        return;
    }
    while (monotonic_ns() < deadline_ns) {
        uint32_t ticks = timer_ticks;
        if (timer_set(deadline_ns, VCPU_SSHOTTMR_future) != 0) {
            return;   /* already past, or no timers */
        }
        evtchn_wait_until(timer_ticks != ticks);
    }
}

void sleep_ns(uint64_t ns)
{
    sleep_until(monotonic_ns() + ns);
}

void msleep(uint32_t ms)
{
    sleep_ns((uint64_t)ms * 1000000u);
}
