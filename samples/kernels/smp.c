/*
 * SMP bring-up as on a PC: the CPU count from fw_cfg (FW_CFG_NB_CPUS), then
 * INIT and two start-up IPIs to all but self through the BSP's ICR. Each AP
 * starts in real mode at the trampoline (SIPI vector 0x70: CS 0x7000, IP 0),
 * loads the kernel's GDT, enters protected mode, takes a stack by LOCK XADD,
 * enables its local APIC, checks that CPUID.1:EBX[31:24] is its APIC ID,
 * adds (APIC ID + 1) to a shared counter with LOCK XADD, takes a spinlock
 * (XCHG, PAUSE while waiting) 200 times against the BSP and the other APs to
 * increment a plain counter, and IPIs the BSP.
 * Then the BSP sends fixed IPIs by logical flat destination, by the
 * all-excluding-self shorthand, by logical cluster destination (up to 4
 * CPUs) and to itself; each AP answers each one with an IPI back. Only
 * totals are printed, so the output depends on the CPU count alone and
 * QEMU with -smp N must print the same.
 */
#include "rt.h"
#include "report.h"
#include "sys.h"

#define APIC ((volatile uint32_t *)0xFEE00000u)
#define REG(off) APIC[(off) / 4]
#define APIC_ID 0x20
#define APIC_EOI 0xB0
#define APIC_LDR 0xD0
#define APIC_DFR 0xE0
#define APIC_SVR 0xF0
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310

#define VEC_REPLY 0x40
#define VEC_LOGICAL 0x41
#define VEC_ALLBUT 0x42
#define VEC_CLUSTER 0x43
#define VEC_SELF 0x44
#define VEC_NOP 0x45

#define TRAMPOLINE 0x70000u
#define SIPI_VECTOR (TRAMPOLINE >> 12)
#define MAX_CPUS 8
#define WAIT_LIMIT 1000000u
#define LOCK_ROUNDS 200

/* The real-mode trampoline, copied to TRAMPOLINE; its GDTR is filled in by the BSP. */
extern char smp_tramp_start[], smp_tramp_gdtr[], smp_tramp_end[];
__asm__(
    "        .code16\n"
    "        .globl smp_tramp_start, smp_tramp_gdtr, smp_tramp_end\n"
    "smp_tramp_start:\n"
    "        cli\n"
    "        movw    %cs, %ax\n"
    "        movw    %ax, %ds\n"
    "        lgdtl   smp_tramp_gdtr - smp_tramp_start\n"
    "        movl    %cr0, %eax\n"
    "        orl     $1, %eax\n"
    "        movl    %eax, %cr0\n"
    "        ljmpl   $0x08, $ap_entry32\n"
    "        .p2align 2\n"
    "smp_tramp_gdtr:\n"
    "        .word   0\n"
    "        .long   0\n"
    "smp_tramp_end:\n"
    "        .code32\n"
    /* 32-bit entry: data segments, a stack of our own, the kernel's IDT, then C. */
    "ap_entry32:\n"
    "        movw    $0x10, %ax\n"
    "        movw    %ax, %ds\n"
    "        movw    %ax, %es\n"
    "        movw    %ax, %fs\n"
    "        movw    %ax, %gs\n"
    "        movw    %ax, %ss\n"
    "        movl    $1, %eax\n"
    "        lock xaddl %eax, ap_ticket\n"
    "        movl    %eax, %ecx\n"
    "        incl    %ecx\n"
    "        shll    $12, %ecx\n"
    "        leal    ap_stacks(%ecx), %esp\n"
    "        lidt    ap_idtr\n"
    "        pushl   %eax\n"
    "        call    ap_main\n"
    "1:      cli\n"
    "        hlt\n"
    "        jmp     1b\n");

volatile uint32_t ap_ticket;
uint8_t ap_stacks[MAX_CPUS][4096] __attribute__((aligned(16)));
struct { uint16_t limit; uint32_t base; } __attribute__((packed)) ap_idtr;

static volatile uint32_t arrived, id_sum, ids_agree, replies, logical_hits, allbut_hits, cluster_hits,
    self_hits;

static void send_ipi(uint32_t high, uint32_t low);

/* A test-and-test-and-set spinlock whose wait loop uses PAUSE, as Linux's does. */
static volatile uint32_t lock_word;
static uint32_t locked_count;   /* changed only under the lock, without LOCK prefixes */

static void spin_lock(void)
{
    uint32_t one = 1;
    for (;;) {
        __asm__ volatile("xchgl %0, %1" : "+r"(one), "+m"(lock_word) : : "memory");
        if (one == 0) return;
        while (lock_word) __asm__ volatile("pause" ::: "memory");
        one = 1;
    }
}

static void spin_unlock(void)
{
    __asm__ volatile("movl $0, %0" : "=m"(lock_word) : : "memory");
}

static void locked_increments(void)
{
    for (int i = 0; i < LOCK_ROUNDS; i++) {
        spin_lock();
        uint32_t v = locked_count;
        for (volatile int k = 0; k < 20; k++) { }
        /* Now and then a device access and a wake-up IPI to the others under the lock: in
         * a domain on one physical CPU the holder then gives way, and the others spin
         * (PAUSE) meanwhile. fw_cfg reads past the end of the selected item return 0. */
        if (i % 8 == 0) {
            (void)inb(0x511);
            send_ipi(0, (3u << 18) | VEC_NOP);
        }
        locked_count = v + 1;
        spin_unlock();
    }
}

static inline uint32_t xadd(volatile uint32_t *p, uint32_t v)
{
    __asm__ volatile("lock xaddl %0, %1" : "+r"(v), "+m"(*p) : : "memory");
    return v;
}

static void send_ipi(uint32_t high, uint32_t low)
{
    REG(APIC_ICR_HI) = high;
    REG(APIC_ICR_LO) = low;
    while (REG(APIC_ICR_LO) & (1u << 12)) { }
}

static uint32_t cpuid_apic_id(void)
{
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    return b >> 24;
}

static void reply(void)
{
    send_ipi(0, VEC_REPLY);          /* physical, fixed, to APIC ID 0 */
}

static void on_spurious(struct rt_frame *f) { (void)f; }  /* no EOI for spurious vectors */
static void on_nop(struct rt_frame *f) { (void)f; REG(APIC_EOI) = 0; }
static void on_reply(struct rt_frame *f) { (void)f; replies++; REG(APIC_EOI) = 0; }
static void on_self(struct rt_frame *f) { (void)f; self_hits++; REG(APIC_EOI) = 0; }
static void on_logical(struct rt_frame *f) { (void)f; xadd(&logical_hits, 1); REG(APIC_EOI) = 0; reply(); }

static void on_allbut(struct rt_frame *f)
{
    (void)f;
    /* Next, the cluster model: cluster 0, member bit = APIC ID (IDs 0-3); counted after. */
    uint32_t id = REG(APIC_ID) >> 24;
    REG(APIC_DFR) = 0x0FFFFFFFu;
    REG(APIC_LDR) = (id < 4 ? 1u << id : 0) << 24;
    xadd(&allbut_hits, 1);
    REG(APIC_EOI) = 0;
    reply();
}

static void on_cluster(struct rt_frame *f) { (void)f; xadd(&cluster_hits, 1); REG(APIC_EOI) = 0; reply(); }

void ap_main(uint32_t index) __attribute__((used, noreturn));
void ap_main(uint32_t index)
{
    (void)index;
    REG(APIC_SVR) = 0x1FF;
    uint32_t id = REG(APIC_ID) >> 24;
    if (cpuid_apic_id() == id) xadd(&ids_agree, 1);
    /* Flat logical model: one bit per APIC ID. */
    REG(APIC_DFR) = 0xFFFFFFFFu;
    REG(APIC_LDR) = (id < 8 ? 1u << id : 0) << 24;
    xadd(&id_sum, id + 1);
    locked_increments();
    xadd(&arrived, 1);
    reply();
    for (;;) __asm__ volatile("sti; hlt");
}

/*
 * Waits (halted between interrupts) until *counter reaches target. The APs bump
 * their counter before they IPI the BSP, and IPIs of one vector sent together
 * merge in the IRR, so the counter is what is waited on, not the IPIs.
 */
static int wait_until(volatile uint32_t *counter, uint32_t target)
{
    uint32_t spins = 0;
    cli();
    while (*counter < target && spins++ < WAIT_LIMIT) __asm__ volatile("sti; hlt; cli");
    sti();
    return *counter >= target;
}

static uint32_t popcount(uint32_t v)
{
    uint32_t n = 0;
    for (; v; v &= v - 1) n++;
    return n;
}

static void delay(void)
{
    for (int i = 0; i < 200; i++) (void)REG(APIC_ID);
}

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic; (void)mbi;
    say("smp: INIT-SIPI-SIPI and IPIs\n");
    uint16_t ncpus;
    outw(0x510, 0x05);
    ncpus = inb(0x511);
    ncpus |= (uint16_t)inb(0x511) << 8;
    say("fw_cfg CPUs: %u\n", ncpus);
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    if (!(d & (1u << 9))) {
        say("no local APIC\n");
        return 0;
    }
    if (ncpus < 1 || ncpus > MAX_CPUS) {
        say("unsupported CPU count\n");
        return 1;
    }
    uint32_t aps = ncpus - 1;
    /* The firmware leaves the PIT's IRQ 0 unmasked at vector 8: only IPIs are wanted here. */
    outb(0x21, 0xFF);
    outb(0xA1, 0xFF);
    rt_on_trap(0xFF, on_spurious);
    REG(APIC_SVR) = 0x1FF;
    say("BSP APIC ID: register %u, CPUID %u\n", REG(APIC_ID) >> 24, cpuid_apic_id());
    rt_on_trap(VEC_REPLY, on_reply);
    rt_on_trap(VEC_LOGICAL, on_logical);
    rt_on_trap(VEC_ALLBUT, on_allbut);
    rt_on_trap(VEC_CLUSTER, on_cluster);
    rt_on_trap(VEC_SELF, on_self);
    rt_on_trap(VEC_NOP, on_nop);

    uint32_t len = smp_tramp_end - smp_tramp_start;
    memcpy((void *)TRAMPOLINE, smp_tramp_start, len);
    __asm__ volatile("sgdt %0" : "=m"(*(uint8_t (*)[6])(TRAMPOLINE + (smp_tramp_gdtr - smp_tramp_start))));
    __asm__ volatile("sidt %0" : "=m"(ap_idtr));

    if (aps > 0) {
        send_ipi(0, 0x000C4500);                    /* INIT, all excluding self */
        delay();
        send_ipi(0, 0x000C4600 | SIPI_VECTOR);      /* start-up */
        delay();
        send_ipi(0, 0x000C4600 | SIPI_VECTOR);      /* the second one is ignored by started APs */
    }
    locked_increments();
    int ok = wait_until(&arrived, aps);
    say("APs started: %u (%s)\n", ap_ticket, ok ? "all replied" : "TIMEOUT");
    say("sum of (APIC ID + 1) over the APs: %u\n", id_sum);
    say("APs whose CPUID APIC ID matches the register: %u\n", ids_agree);
    say("increments under the spinlock: %u (of %u)\n", locked_count, LOCK_ROUNDS * ncpus);

    if (aps > 0) {
        uint32_t mask = ((1u << ncpus) - 1) & ~1u;
        /* The logical destinations are the APs' own to set: wait until every one has. */
        send_ipi(mask << 24, (1u << 11) | VEC_LOGICAL);          /* logical, flat */
        ok = wait_until(&logical_hits, aps);
        say("logical flat IPI: %u APs took it (%s)\n", logical_hits, ok ? "replied" : "TIMEOUT");
        send_ipi(0, (3u << 18) | VEC_ALLBUT);                    /* all excluding self */
        ok = wait_until(&allbut_hits, aps);
        say("all-but-self IPI: %u APs took it (%s)\n", allbut_hits, ok ? "replied" : "TIMEOUT");
        uint32_t members = (ncpus >= 4 ? 0xE : mask) & 0xE;
        uint32_t expect = popcount(members);
        send_ipi(members << 24, (1u << 11) | VEC_CLUSTER);       /* logical, cluster 0 */
        ok = wait_until(&cluster_hits, expect);
        say("logical cluster IPI: %u APs took it (%s)\n", cluster_hits, ok ? "replied" : "TIMEOUT");
    }
    sti();
    send_ipi(0, (1u << 18) | VEC_SELF);
    for (volatile int i = 0; i < 1000; i++) { }
    cli();
    say("self IPI: %u\n", self_hits);
    int pass = ap_ticket == aps && locked_count == LOCK_ROUNDS * ncpus && id_sum == aps * (aps + 3) / 2 && ids_agree == aps
        && logical_hits == aps && allbut_hits == aps && self_hits == 1
        && cluster_hits == (uint32_t)popcount(aps ? (ncpus >= 4 ? 0xEu : ((1u << ncpus) - 2)) : 0);
    say("%s\n", pass ? "smp: all checks passed" : "smp: FAILED");
    return pass ? 0 : 1;
}
