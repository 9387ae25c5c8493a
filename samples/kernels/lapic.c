/*
 * The local APIC: finds it through CPUID and IA32_APIC_BASE, enables it,
 * reads its version, runs its timer periodic and one-shot, counts timer
 * interrupts over a busy loop and across HLT, checks ISR/EOI/TPR and sends a
 * self-IPI. Without a local APIC (the native machine, shadow paging) it says
 * so and stops. Prints only speed-independent facts, so Hospes in virtual time
 * and QEMU in real time must agree.
 */
#include "rt.h"
#include "report.h"
#include "sys.h"

#define APIC ((volatile uint32_t *)0xFEE00000u)
#define REG(off) APIC[(off) / 4]
#define VEC_TIMER 0x40
#define VEC_IPI 0x41
#define SPIN_LIMIT 200000000u

static volatile uint32_t ticks, ipis, isr_in_timer;
static int failures;

static void check(const char *what, int ok)
{
    say("%-58s %s\n", what, ok ? "yes" : "NO");
    if (!ok) failures++;
}

static void on_timer(struct rt_frame *f)
{
    (void)f;
    if (ticks == 0) isr_in_timer = REG(0x100 + (VEC_TIMER / 32) * 0x10);
    ticks++;
    REG(0xB0) = 0;
}

static void on_spurious(struct rt_frame *f)
{
    (void)f;  /* spurious interrupts take no EOI */
}

static void on_ipi(struct rt_frame *f)
{
    (void)f;
    ipis++;
    REG(0xB0) = 0;
}

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic; (void)mbi;
    say("lapic: the local APIC\n");
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    if (!(d & (1u << 9))) {
        say("no local APIC\n");
        return 0;
    }
    uint64_t base = rdmsr(0x1B);
    check("IA32_APIC_BASE is 0xFEE00000, enabled, BSP", (base & 0xFFFFF900u) == 0xFEE00900u);
    uint32_t ver = REG(0x30);
    check("version register: integrated APIC (0x10..0x15)", (ver & 0xFF) >= 0x10 && (ver & 0xFF) <= 0x15);
    check("at least 4 LVT entries", ((ver >> 16) & 0xFF) >= 3);
    /* Firmware may leave the PIT running on an unmasked PIC: keep it quiet. */
    pic_init(0x20);
    for (int irq = 0; irq < 16; irq++) pic_mask(irq, 1);
    rt_on_trap(VEC_TIMER, on_timer);
    rt_on_trap(VEC_IPI, on_ipi);
    rt_idt_stub(VEC_TIMER, GATE_INT32);
    rt_idt_stub(VEC_IPI, GATE_INT32);
    rt_on_trap(0xFF, on_spurious);
    rt_idt_stub(0xFF, GATE_INT32);
    REG(0xF0) = 0x1FF;                       /* SVR: enable, spurious vector 0xFF */
    check("SVR reads back enabled", (REG(0xF0) & 0x1FF) == 0x1FF);
    REG(0x80) = 0;                           /* TPR */
    REG(0x3E0) = 0x3;                        /* divide by 16 */
    REG(0x320) = VEC_TIMER | (1u << 17);     /* periodic */
    REG(0x380) = 20000;
    uint32_t c1 = REG(0x390);
    for (volatile int i = 0; i < 1000; i++) { }
    uint32_t c2 = REG(0x390);
    check("current count runs down", c1 > 0 && c2 <= 20000);
    sti();
    for (uint32_t i = 0; i < SPIN_LIMIT && ticks < 20; i++) { }
    check("at least 20 periodic timer interrupts", ticks >= 20);
    check("ISR held the timer vector inside its handler", (isr_in_timer >> (VEC_TIMER & 31)) & 1);
    uint32_t before = ticks;
    for (int i = 0; i < 5; i++) __asm__ volatile("hlt");
    check("HLT woke on the APIC timer", ticks >= before + 5);
    cli();
    REG(0x320) = VEC_TIMER | (1u << 16);     /* masked */
    sti();                                   /* let one already in IRR through */
    for (volatile uint32_t i = 0; i < 100000; i++) { }
    cli();
    before = ticks;
    sti();
    for (volatile uint32_t i = 0; i < 2000000; i++) { }
    cli();
    check("a masked timer delivers nothing", ticks == before);
    REG(0x320) = VEC_TIMER;                  /* one-shot */
    REG(0x380) = 1000;
    sti();
    for (uint32_t i = 0; i < SPIN_LIMIT && ticks == before; i++) { }
    for (volatile uint32_t i = 0; i < 2000000; i++) { }
    cli();
    check("one-shot mode fires exactly once", ticks == before + 1);
    check("one-shot current count reached 0", REG(0x390) == 0);
    REG(0x80) = 0x50;                        /* TPR above the IPI's class: held */
    REG(0x310) = 0;
    REG(0x300) = VEC_IPI | (1u << 18);       /* fixed, shorthand self */
    sti();
    for (volatile int i = 0; i < 1000; i++) { }
    check("a self-IPI below TPR waits in IRR", ipis == 0 && ((REG(0x200 + (VEC_IPI / 32) * 0x10) >> (VEC_IPI & 31)) & 1));
    REG(0x80) = 0;
    for (volatile int i = 0; i < 1000; i++) { }
    cli();
    check("lowering TPR delivers it", ipis == 1);
    check("ISR is empty after EOI", REG(0x100 + (VEC_IPI / 32) * 0x10) == 0);
    /* With IF=1 and TPR 0 the IPI arrives right after the ICR write, and once only. */
    sti();
    REG(0x300) = VEC_IPI | (1u << 18);
    for (volatile int i = 0; i < 100000; i++) { }
    cli();
    check("a self-IPI with interrupts on is delivered exactly once", ipis == 2);
    sti();
    for (int k = 0; k < 10; k++) REG(0x300) = VEC_IPI | (1u << 18);
    for (volatile int i = 0; i < 100000; i++) { }
    cli();
    check("ten self-IPIs in a row are ten deliveries", ipis == 12);
    say("%s\n", failures ? "lapic: FAILED" : "lapic: all checks passed");
    return failures ? 1 : 0;
}
