/*
 * Time: Xen system time from the pvclock (vcpu_time_info in vcpu_info), and
 * sleeping on the vCPU's singleshot timer (VCPUOP_set_singleshot_timer),
 * which raises VIRQ_TIMER. System time is in nanoseconds since the domain's
 * hypervisor started; in Hospes it is virtual time (1 GHz nominal), so runs
 * are deterministic.
 */
#ifndef HOSPES_TIME_H
#define HOSPES_TIME_H

#include "types.h"

#define VCPUOP_set_singleshot_timer  8
#define VCPUOP_stop_singleshot_timer 9
#define VCPU_SSHOTTMR_future 1

struct vcpu_set_singleshot_timer {
    uint64_t timeout_abs_ns;
    uint32_t flags;
} __attribute__((packed, aligned(4)));

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* Xen system time now, in ns (the pvclock, version-checked). */
uint64_t monotonic_ns(void);
/* Arms the singleshot timer for absolute system time deadline_ns; 0 or -errno
 * (-XEN_ETIME with VCPU_SSHOTTMR_future when it has passed). */
int timer_set(uint64_t deadline_ns, uint32_t flags);
int timer_stop(void);
/* Sleeps (blocking) until system time reaches deadline_ns / for ns. */
void sleep_until(uint64_t deadline_ns);
void sleep_ns(uint64_t ns);
void msleep(uint32_t ms);
/* Timer interrupts (VIRQ_TIMER events) taken so far. */
extern volatile uint32_t timer_ticks;

#endif
