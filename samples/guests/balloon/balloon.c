/*
 * Ballooning and SCHEDOP_poll from a PVH guest: gives pages back with
 * XENMEM_decrease_reservation, checks the reservation shrank and the pages
 * are gone (they read as all ones), populates them again (zeroed), and polls
 * event-channel ports: at once when one is pending, until a timeout when none is.
 */
#include <hospes/guest.h>
#include <hospes/evtchn.h>
#include <hospes/mm.h>
#include <hospes/time.h>

#define XENMEM_decrease_reservation 1
#define XENMEM_current_reservation  3
#define XENMEM_maximum_reservation  4
#define XENMEM_populate_physmap     6
#define SCHEDOP_poll 3

struct reservation {
    uint32_t *extent_start;
    uint32_t nr_extents;
    uint32_t extent_order;
    uint32_t mem_flags;
    uint16_t domid;
} __attribute__((packed, aligned(4)));

struct sched_poll {
    uint32_t *ports;
    uint32_t nr_ports;
    uint64_t timeout;
} __attribute__((packed, aligned(4)));

static long reservation(int cmd)
{
    uint16_t self = 0x7ff0;
    return HYPERVISOR_memory_op(cmd, &self);
}

int main(const struct hvm_start_info *si)
{
    guest_require_xen("balloon");
    (void)si;
    long max = reservation(XENMEM_maximum_reservation);
    long before = reservation(XENMEM_current_reservation);
    uint8_t *pages = page_alloc(4);
    memset(pages, 0x5a, 4 * 4096);
    uint32_t gfns[4];
    for (int i = 0; i < 4; i++) gfns[i] = ((uint32_t)pages >> 12) + i;
    struct reservation r = { gfns, 4, 0, 0, 0x7ff0 };
    long released = HYPERVISOR_memory_op(XENMEM_decrease_reservation, &r);
    long after = reservation(XENMEM_current_reservation);
    printf("balloon: max %ld pages, %ld populated, released %ld, now %ld\n",
           max, before, released, after);
    printf("balloon: a released page reads %08x\n", *(volatile uint32_t *)pages);
    long filled = HYPERVISOR_memory_op(XENMEM_populate_physmap, &r);
    printf("balloon: populated %ld again, now %ld, first word %08x\n", filled,
           reservation(XENMEM_current_reservation), *(volatile uint32_t *)pages);
    uint32_t bad = 0x7fffffff;
    struct reservation rb = { &bad, 1, 0, 0, 0x7ff0 };
    printf("balloon: releasing a page it does not have: %ld done\n",
           HYPERVISOR_memory_op(XENMEM_decrease_reservation, &rb));

    int port = evtchn_bind_ipi();
    evtchn_mask(port);
    evtchn_send(port);
    uint32_t ports[1] = { (uint32_t)port };
    struct sched_poll p = { ports, 1, 0 };
    printf("poll: a pending masked port returns %ld\n", HYPERVISOR_sched_op(SCHEDOP_poll, &p));
    evtchn_clear(port);
    uint64_t t0 = monotonic_ns();
    p.timeout = t0 + 2000000;
    /* Other events (the console's) may end a poll early, as on Xen: poll again, as Linux does. */
    long rc;
    int polls = 0;
    do {
        rc = HYPERVISOR_sched_op(SCHEDOP_poll, &p);
        polls++;
    } while (rc == 0 && monotonic_ns() < p.timeout && polls < 1000);
    uint64_t waited = monotonic_ns() - t0;
    printf("poll: nothing pending, 2 ms timeout: returns %ld, slept past the timeout: %s\n", rc,
           waited >= 2000000 && polls < 1000 ? "yes" : "no");
    uint32_t none = 4000;
    struct sched_poll pb = { &none, 1, 0 };
    printf("poll: an invalid port gives %ld\n", HYPERVISOR_sched_op(SCHEDOP_poll, &pb));
    return 0;
}
