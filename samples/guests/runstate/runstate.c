/*
 * Runstate and time areas: registers a runstate area and a second
 * vcpu_time_info, sleeps on the singleshot timer and then on a periodic
 * timer, and checks what the hypervisor reported: time spent running and
 * blocked, timer ticks, and the time area agreeing with the clock.
 */
#include <hospes/guest.h>
#include <hospes/evtchn.h>
#include <hospes/time.h>

#define VCPUOP_get_runstate_info 4
#define VCPUOP_register_runstate_memory_area 5
#define VCPUOP_set_periodic_timer 6
#define VCPUOP_stop_periodic_timer 7
#define VCPUOP_register_vcpu_time_memory_area 13

struct runstate {
    uint32_t state;
    uint64_t state_entry_time;
    uint64_t time[4];
} __attribute__((packed));

struct time_info {
    uint32_t version, pad0;
    uint64_t tsc_timestamp, system_time;
    uint32_t mul;
    int8_t shift;
    uint8_t flags, pad1[2];
} __attribute__((packed));

static volatile struct runstate area;
static volatile struct time_info tarea;
static long vcpu_op(int cmd, void *arg)
{
    return hypercall3(24, cmd, 0, (long)arg);
}

int main(const struct hvm_start_info *si)
{
    guest_require_xen("runstate");
    (void)si;
    uint32_t va = (uint32_t)&area;
    printf("runstate area: %ld\n", vcpu_op(VCPUOP_register_runstate_memory_area, &va));
    uint32_t tva = (uint32_t)&tarea;
    printf("time area: %ld\n", vcpu_op(VCPUOP_register_vcpu_time_memory_area, &tva));
    msleep(5);
    uint64_t total = area.time[0] + area.time[1] + area.time[2];
    printf("after a 5 ms sleep: state %u (running), mostly blocked: %s, ran: %s, accounted >= 5 ms: %s\n",
           area.state, area.time[2] >= 4000000ull ? "yes" : "no", area.time[0] > 0 ? "yes" : "no",
           total >= 5000000ull ? "yes" : "no");
    printf("time area filled: %s\n", tarea.mul != 0 && (tarea.version & 1) == 0 ? "yes" : "no");

    /* The SDK's time.c has VIRQ_TIMER bound already and counts its events in timer_ticks. */
    uint32_t start = timer_ticks;
    uint64_t period = 1000000; /* 1 ms */
    printf("periodic timer: %ld\n", vcpu_op(VCPUOP_set_periodic_timer, &period));
    uint64_t short_period = 1000;
    printf("a 1 us period: %ld\n", vcpu_op(VCPUOP_set_periodic_timer, &short_period));
    evtchn_wait_until(timer_ticks - start >= 5);
    vcpu_op(VCPUOP_stop_periodic_timer, NULL);
    uint64_t stopped_at = monotonic_ns();
    uint32_t seen = timer_ticks;
    while (monotonic_ns() < stopped_at + 3000000) { }
    printf("5 periodic ticks, then none for 3 ms: %s\n", timer_ticks == seen ? "yes" : "no");
    struct runstate copy;
    /* The call first: as printf's arguments, copy.state could be read before it is filled. */
    long rc = vcpu_op(VCPUOP_get_runstate_info, &copy);
    printf("get_runstate_info: %ld, state %u\n", rc, copy.state);
    return 0;
}
