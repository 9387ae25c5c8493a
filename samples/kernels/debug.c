/*
 * Debug features (SDM vol. 3, chapter 18): single-step with EFLAGS.TF (the
 * trap comes after each instruction; a MOV SS holds it back over the next
 * one; a faulting instruction reports only its fault), an instruction
 * breakpoint in DR0 (a fault before the instruction; the handler sets RF in
 * the saved EFLAGS so the return runs it), data breakpoints in DR1 (write
 * only and read/write, 4 bytes, a trap after the access). The #DB handler
 * records EIP as an offset into the probed code and DR6's B0-B3, BD and BS
 * bits, then clears DR6 as a kernel's handler does.
 *
 * Not here, because QEMU's TCG differs from the SDM (the processor's
 * DebugRegistersTest pins them instead): DR7.GD (QEMU never raises the
 * general-detect #DB), and a second hit of an instruction breakpoint after a
 * return with RF set (QEMU does not stop there again until DR7 is rewritten).
 */
#include "rt.h"
#include "report.h"
#include "sys.h"

#define DR6_BITS 0x600Fu

static inline void write_dr(int n, uint32_t v)
{
    switch (n) {
    case 0: __asm__ volatile("mov %0, %%dr0" : : "r"(v)); break;
    case 1: __asm__ volatile("mov %0, %%dr1" : : "r"(v)); break;
    case 6: __asm__ volatile("mov %0, %%dr6" : : "r"(v)); break;
    default: __asm__ volatile("mov %0, %%dr7" : : "r"(v)); break;
    }
}

static inline uint32_t read_dr6(void) { uint32_t v; __asm__ volatile("mov %%dr6, %0" : "=r"(v)); return v; }

#define MAX_EVENTS 16
static volatile uint32_t ev_eip[MAX_EVENTS], ev_dr6[MAX_EVENTS];
static volatile int events;
static volatile uint32_t probe_base;
/* Set RF in the saved EFLAGS (after an instruction breakpoint). */
static volatile int set_rf;
static volatile uint32_t watched;

static void on_debug(struct rt_frame *f)
{
    uint32_t dr6 = read_dr6();
    if (events < MAX_EVENTS) {
        ev_eip[events] = f->eip - probe_base;
        ev_dr6[events] = dr6 & DR6_BITS;
    }
    events++;
    write_dr(6, 0);
    if (set_rf) f->eflags |= 1u << 16;
}

static int failures;
static uint32_t ud_eip;

static void on_ud(struct rt_frame *f)
{
    ud_eip = f->eip - probe_base;
    f->eip += 2;
}

static void report(const char *what)
{
    say("%s: %d #DB", what, events);
    for (int i = 0; i < events && i < MAX_EVENTS; i++) say(" [+%u dr6 %x]", ev_eip[i], ev_dr6[i]);
    say("\n");
    events = 0;
}

/* The probes: each is a label followed by code; offsets are from the label. */
void step_plain(void);
void step_movss(void);
void step_ud2(void);
void bp_target(void);
void bp_after(void);
void data_store(void);
void data_load(void);

__asm__(
    "        .text\n"
    /* pushf/or/popf sets TF; four instructions; popf clears TF (trap after it too). */
    "        .globl step_plain\n"
    "step_plain:\n"
    "        pushfl\n"
    "        orl $0x100, (%esp)\n"
    "        popfl\n"
    "        incl %eax\n"
    "        nop\n"
    "        addl $3, %eax\n"
    "        pushfl\n"
    "        andl $~0x100, (%esp)\n"
    "        popfl\n"
    "        nop\n"
    "        ret\n"
    "        .globl step_movss\n"
    "step_movss:\n"
    "        pushfl\n"
    "        orl $0x100, (%esp)\n"
    "        popfl\n"
    "        movw %ss, %cx\n"
    "        movw %cx, %ss\n"
    "        nop\n"
    "        pushl %ss\n"
    "        popl %ss\n"
    "        incl %eax\n"
    "        pushfl\n"
    "        andl $~0x100, (%esp)\n"
    "        popfl\n"
    "        ret\n"
    "        .globl step_ud2\n"
    "step_ud2:\n"
    "        pushfl\n"
    "        orl $0x100, (%esp)\n"
    "        popfl\n"
    "        ud2\n"
    "        pushfl\n"
    "        andl $~0x100, (%esp)\n"
    "        popfl\n"
    "        ret\n"
    "        .globl bp_target\n"
    "bp_target:\n"
    "        nop\n"
    "        incl %eax\n"
    "        .globl bp_after\n"
    "bp_after:\n"
    "        incl %eax\n"
    "        ret\n"
    "        .globl data_store\n"
    "data_store:\n"
    "        movb %al, watched+2\n"
    "        nop\n"
    "        ret\n"
    "        .globl data_load\n"
    "data_load:\n"
    "        movl watched, %eax\n"
    "        nop\n"
    "        ret\n");

static void run_probe(void (*fn)(void))
{
    probe_base = (uint32_t)(uintptr_t)fn;
    events = 0;
    __asm__ volatile("call *%0" : : "r"(fn) : "eax", "ecx", "memory", "cc");
}

static void check(int ok, const char *what)
{
    if (!ok) {
        say("FAIL: %s\n", what);
        failures++;
    }
}

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic;
    (void)mbi;
    say("debug: single-step, instruction and data breakpoints\n");
    rt_on_trap(1, on_debug);
    rt_on_trap(6, on_ud);
    write_dr(6, 0);

    run_probe(step_plain);
    report("single-step over inc/nop/add/pushf/and/popf");
    run_probe(step_movss);
    report("single-step with mov ss and pop ss");
    run_probe(step_ud2);
    say("ud2 faulted at +%u\n", ud_eip);
    report("single-step into ud2");

    /* DR0 = bp_target + 1 (the INC), L0, R/W 00, LEN 00. */
    write_dr(0, (uint32_t)(uintptr_t)bp_target + 1);
    write_dr(7, 0x1);
    set_rf = 1;
    run_probe(bp_target);
    set_rf = 0;
    report("instruction breakpoint");
    /* On the second INC, the DR7 write in between re-arms it for QEMU too. */
    write_dr(0, (uint32_t)(uintptr_t)bp_after);
    write_dr(7, 0x1);
    set_rf = 1;
    run_probe(bp_target);
    set_rf = 0;
    report("instruction breakpoint moved to the next instruction");
    write_dr(7, 0);
    run_probe(bp_target);
    report("instruction breakpoint disabled");

    /* DR1 = &watched, L1, LEN 4 bytes; write only, then read/write. */
    write_dr(1, (uint32_t)(uintptr_t)&watched);
    write_dr(7, 0x4 | (1u << 20) | (3u << 22));
    run_probe(data_store);
    report("write breakpoint, byte store into the range");
    run_probe(data_load);
    report("write breakpoint, load");
    write_dr(7, 0x4 | (3u << 20) | (3u << 22));
    run_probe(data_load);
    report("read/write breakpoint, load");
    write_dr(7, 0);
    write_dr(1, 0);
    write_dr(0, 0);
    check(read_dr6() == 0xFFFF0FF0u, "DR6 reads 0xffff0ff0 after a write of 0");

    say("checksum %08x\n", say_hash);
    if (failures) {
        say("%d failures\n", failures);
        qemu_exit(EXIT_FAILURE_VALUE);
    }
    qemu_exit(EXIT_SUCCESS_VALUE);
}
