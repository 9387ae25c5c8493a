/*
 * The HPET at 0xFED00000: capabilities and period, the main counter stopped
 * and running, and comparators in legacy replacement mode on the 8259A pair:
 * timer 0 periodic and one-shot on IRQ 0 (the PIT's line, which the HPET then
 * owns), timer 1 level-triggered one-shot (its status bit). Prints only speed-independent facts.
 * Without an HPET (all ones at its window) it says so and stops.
 */
#include "rt.h"
#include "report.h"
#include "sys.h"

#define HPET ((volatile uint32_t *)0xFED00000u)
#define R(off) HPET[(off) / 4]
#define T_CONF(n) (0x100 + 0x20 * (n))
#define T_CMP(n) (0x108 + 0x20 * (n))
#define SPIN_LIMIT 200000000u

static volatile uint32_t irq0s;
static uint32_t at_tick[12], at_cmp[12];

static void on_irq0(struct rt_frame *f)
{
    (void)f;
    if (irq0s < 12) {
        at_tick[irq0s] = R(0xF0);
        at_cmp[irq0s] = R(T_CMP(0));   /* periodic: the next deadline */
    }
    irq0s++;
    pic_eoi(0);
}

static void check(const char *what, int ok) { say("%-58s %s\n", what, ok ? "yes" : "NO"); }

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic; (void)mbi;
    say("hpet: the High Precision Event Timer\n");
    uint32_t cap = R(0x000), period = R(0x004);
    if (cap == 0xFFFFFFFFu) {
        say("no HPET\n");
        return 0;
    }
    say("capabilities 0x%08x, period %u fs\n", cap, period);
    say("timers: %u, 64-bit counter: %u, legacy route capable: %u\n", ((cap >> 8) & 0x1F) + 1,
        (cap >> 13) & 1, (cap >> 15) & 1);
    say("timer 0 config 0x%04x (periodic capable, 64-bit)\n", R(T_CONF(0)) & 0xFFFF);
    say("general config 0x%x\n", R(0x010));
    uint32_t c1 = R(0xF0);
    for (volatile int i = 0; i < 10000; i++) { }
    check("the counter stands still while disabled", R(0xF0) == c1);

    pic_init(0x20);
    for (int irq = 0; irq < 16; irq++) pic_mask(irq, 1);
    rt_on_trap(0x20, on_irq0);
    pic_mask(0, 0);

    R(0x010) = 3;                                   /* enable, legacy replacement */
    uint32_t a = R(0xF0);
    for (volatile int i = 0; i < 10000; i++) { }
    check("the counter runs once enabled", R(0xF0) != a);

    /* Timer 0 periodic, 1 ms (100000 ticks of 10 ns). Each comparator write
     * clears TN_VAL_SET, so it is set again before the low half; the second
     * low write sets the period. */
    R(T_CONF(0)) = (1u << 2) | (1u << 3) | (1u << 6);
    R(T_CMP(0) + 4) = 0;
    R(T_CONF(0)) = (1u << 2) | (1u << 3) | (1u << 6);
    R(T_CMP(0)) = R(0xF0) + 100000;
    R(T_CMP(0)) = 100000;
    sti();
    for (uint32_t i = 0; i < SPIN_LIMIT && irq0s < 11; i++) __asm__ volatile("hlt");
    cli();
    check("timer 0 periodic: at least 11 interrupts on IRQ 0", irq0s >= 11);
    /* Only what host load cannot change under QEMU, whose HPET follows the host's clock: a late
     * interrupt (a busy host) skips whole periods, so the comparator moves on by at least ten
     * periods, and no interrupt comes before the deadline that raised it. */
    check("ten periods move the comparator on by >= 1,000,000 ticks",
          at_cmp[10] - at_cmp[0] >= 1000000u && (at_cmp[10] - at_cmp[0]) % 100000u == 0);
    int on_time = 1;
    for (int k = 1; k <= 10; k++) on_time &= (int32_t)(at_tick[k] - at_cmp[k - 1]) >= 0;
    check("no periodic interrupt comes before its deadline", on_time);

    R(T_CONF(0)) = 0;                               /* stop it */
    sti();
    for (volatile uint32_t i = 0; i < 100000; i++) { }
    cli();
    uint32_t before = irq0s;
    /* One-shot: the comparator is set with the interrupt off (a half-written
     * comparator behind the counter fires at once, as QEMU's does), then on. */
    R(T_CMP(0)) = R(0xF0) + 50000;
    R(T_CMP(0) + 4) = 0;
    R(T_CONF(0)) = 1u << 2;
    sti();
    for (uint32_t i = 0; i < SPIN_LIMIT && irq0s == before; i++) { }
    for (volatile uint32_t i = 0; i < 2000000; i++) { }
    cli();
    /* The PIT still counts at 18.2 Hz: in legacy mode its output no longer reaches IRQ 0. */
    check("timer 0 one-shot fires exactly once (the PIT is cut off)", irq0s == before + 1);

    /* Timer 1, level-triggered one-shot with its line (IRQ 8) masked: its status bit. */
    pic_mask(8, 1);
    R(T_CONF(1)) = 1u << 1;
    R(T_CMP(1)) = R(0xF0) + 30000;
    R(T_CMP(1) + 4) = 0;
    R(T_CONF(1)) = (1u << 1) | (1u << 2);
    for (uint32_t i = 0; i < SPIN_LIMIT && !(R(0x020) & 2); i++) { }
    check("timer 1 level-triggered sets its status bit", (R(0x020) & 2) != 0);
    R(0x020) = 2;
    check("writing 1 clears it", (R(0x020) & 2) == 0);
    R(0x010) = 0;
    return 0;
}
