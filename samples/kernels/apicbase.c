/*
 * IA32_APIC_BASE (MSR 0x1B) as the SDM and Xen 4.17 define it: reserved bits
 * and x2APIC (not offered) raise #GP, the window cannot move while enabled,
 * the BSP flag reads back, clearing the global enable bit makes the APIC
 * vanish (CPUID.1:EDX.APIC clear, its window reads all ones, nothing is
 * delivered, its timer stops) and setting it again brings it back in its
 * power-up state. No golden: QEMU 7.2 cannot re-enable an APIC once disabled
 * ("if disabled, cannot be enabled again" in its apic_set_base), so the test
 * (ApicBaseTest) pins this output instead.
 */
#include "rt.h"
#include "report.h"
#include "sys.h"

#define APIC ((volatile uint32_t *)0xFEE00000u)
#define REG(off) APIC[(off) / 4]
#define VEC_TIMER 0x40
#define VEC_IPI 0x41
#define MSR_APIC_BASE 0x1B
#define EN (1u << 11)
#define BSP (1u << 8)

static volatile uint32_t gps, ticks, ipis;
static int failures;

static void check(const char *what, int ok)
{
    say("%-58s %s\n", what, ok ? "yes" : "NO");
    if (!ok) failures++;
}

/* RDMSR and WRMSR are two bytes long: a #GP skips the instruction. */
static void on_gp(struct rt_frame *f) { gps++; f->eip += 2; }
static void on_timer(struct rt_frame *f) { (void)f; ticks++; REG(0xB0) = 0; }
static void on_ipi(struct rt_frame *f) { (void)f; ipis++; REG(0xB0) = 0; }

static uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo = 0, hi = 0;
    __asm__ volatile("rdmsr" : "+a"(lo), "+d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

/* Returns 1 if the write raised #GP. */
static int wrmsr(uint32_t msr, uint64_t v)
{
    uint32_t before = gps;
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
    return gps != before;
}

static int cpuid_apic(void)
{
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    return (d >> 9) & 1;
}

static void spin(void) { for (volatile uint32_t i = 0; i < 300000; i++) { } }

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic; (void)mbi;
    say("apicbase: IA32_APIC_BASE\n");
    pic_init(0x20);
    for (int irq = 0; irq < 16; irq++) pic_mask(irq, 1);
    rt_on_trap(13, on_gp);
    rt_on_trap(VEC_TIMER, on_timer);
    rt_on_trap(VEC_IPI, on_ipi);
    rt_idt_stub(VEC_TIMER, GATE_INT32);
    rt_idt_stub(VEC_IPI, GATE_INT32);

    uint64_t reset = rdmsr(MSR_APIC_BASE);
    check("reset value 0xFEE00900 (base, enabled, BSP)", reset == 0xFEE00900u);
    check("CPUID.1:EDX.APIC set", cpuid_apic());
    check("reserved bit 0 raises #GP", wrmsr(MSR_APIC_BASE, reset | 1));
    check("reserved bit 9 raises #GP", wrmsr(MSR_APIC_BASE, reset | (1u << 9)));
    check("x2APIC enable (bit 10, not offered) raises #GP", wrmsr(MSR_APIC_BASE, reset | (1u << 10)));
    check("a base above MAXPHYADDR (bit 36) raises #GP", wrmsr(MSR_APIC_BASE, reset | (1ull << 36)));
    check("moving the enabled window raises #GP", wrmsr(MSR_APIC_BASE, 0xFED00000u | EN | BSP));
    check("the value is unchanged after the refused writes", rdmsr(MSR_APIC_BASE) == reset);
    check("rewriting the reset value is accepted", !wrmsr(MSR_APIC_BASE, reset));

    REG(0xF0) = 0x1FF;
    REG(0x80) = 0x20;
    REG(0x3E0) = 0x3;
    REG(0x320) = VEC_TIMER | (1u << 17);
    REG(0x380) = 5000;
    sti();
    for (uint32_t i = 0; i < 50000000u && ticks < 3; i++) { }
    cli();
    check("the APIC timer runs while enabled", ticks >= 3);

    check("clearing the global enable bit is accepted", !wrmsr(MSR_APIC_BASE, 0xFEE00000u | BSP));
    check("it reads back clear", rdmsr(MSR_APIC_BASE) == (0xFEE00000u | BSP));
    check("CPUID.1:EDX.APIC reads 0", !cpuid_apic());
    check("the window reads all ones (version)", REG(0x30) == 0xFFFFFFFFu);
    check("the window reads all ones (SVR)", REG(0xF0) == 0xFFFFFFFFu);
    uint32_t t0 = ticks;
    REG(0x300) = VEC_IPI | (1u << 18);
    sti();
    spin();
    cli();
    check("no timer interrupt while disabled", ticks == t0);
    check("a self-IPI written to the window is not delivered", ipis == 0);
    check("moving the base while disabled is accepted", !wrmsr(MSR_APIC_BASE, 0xFED00000u | BSP));
    check("enabling at a moved base raises #GP", wrmsr(MSR_APIC_BASE, 0xFED00000u | EN | BSP));

    check("setting the global enable bit again is accepted", !wrmsr(MSR_APIC_BASE, reset));
    check("CPUID.1:EDX.APIC is back", cpuid_apic());
    uint32_t ver = REG(0x30);
    check("the version register answers again", (ver & 0xFF) >= 0x10 && (ver & 0xFF) <= 0x15);
    check("SVR is in its power-up state (0xFF, software-disabled)", REG(0xF0) == 0xFF);
    check("TPR is 0", REG(0x80) == 0);
    check("the timer LVT is masked", REG(0x320) == 0x10000);
    check("the timer's initial count is 0", REG(0x380) == 0);
    t0 = ticks;
    sti();
    spin();
    cli();
    check("the old timer does not come back", ticks == t0);

    check("BSP flag cleared reads back clear", !wrmsr(MSR_APIC_BASE, 0xFEE00000u | EN) &&
          rdmsr(MSR_APIC_BASE) == (0xFEE00000u | EN));
    check("BSP flag set again reads back set", !wrmsr(MSR_APIC_BASE, reset) &&
          rdmsr(MSR_APIC_BASE) == reset);

    REG(0xF0) = 0x1FF;
    sti();
    REG(0x300) = VEC_IPI | (1u << 18);
    spin();
    cli();
    check("software-enabled again, a self-IPI arrives once", ipis == 1);
    say("%s\n", failures ? "apicbase: FAILED" : "apicbase: all checks passed");
    return failures ? 1 : 0;
}
