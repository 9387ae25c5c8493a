/*
 * Time: NOT YET. The pvclock (vcpu_time_info) and VCPUOP singleshot timers
 * are being added to the hypervisor on the `grants` branch; until they reach
 * main, Hospes guests have no sleep or timer API. What works today is the TSC,
 * which the hypervisor keeps equal to its virtual clock (1 GHz nominal).
 */
#ifndef HOSPES_TIME_H
#define HOSPES_TIME_H

#include "types.h"

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

#endif
