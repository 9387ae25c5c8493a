/*
 * events: event channels in one guest, one image for every mode: an IPI port sent to itself,
 * and the singleshot timer's VIRQ behind msleep. Handlers run in the upcall (the vector in
 * ring 0, PV's event callback), events masked. On the bare machine there are none: it says so
 * and fails.
 */
#include <hospes/guest.h>

static volatile int hits;

static void on_event(evtchn_port_t port, void *data)
{
    (void)data;
    hits++;
    printf("event %d on port %u\n", hits, port);
}

int main(const struct hvm_start_info *si)
{
    (void)si;
    int port = evtchn_bind_ipi();
    if (port == -XEN_ENOSYS) {
        printf("events: no hypervisor, so no event channels (-ENOSYS)\n");
        return 1;
    }
    if (port < 0) {
        printf("bind_ipi: %d\n", port);
        return 1;
    }
    evtchn_set_handler((evtchn_port_t)port, on_event, NULL);
    for (int i = 0; i < 3; i++) {
        evtchn_send((evtchn_port_t)port);
        evtchn_wait_until(hits > i);
    }
    /* A masked port keeps its event pending until unmasked. */
    evtchn_mask((evtchn_port_t)port);
    evtchn_send((evtchn_port_t)port);
    printf("masked: %d events so far\n", hits);
    evtchn_unmask((evtchn_port_t)port);
    evtchn_wait_until(hits > 3);
    uint64_t t0 = monotonic_ns();
    msleep(15);
    uint64_t slept = monotonic_ns() - t0;
    printf("slept 15 ms: %s, %u timer tick(s)\n", slept >= 15000000ull ? "yes" : "no",
           (unsigned)timer_ticks);
    evtchn_close((evtchn_port_t)port);
    printf("events: %d handled\n", hits);
    return 0;
}
