/*
 * Nanobenchmarks after Adams & Agesen (ASPLOS 2006, figure 4): each operation runs "iters=N"
 * times (default 1000) between two RDTSC reads, and the kernel prints the cycles it saw, in
 * total and per operation, on COM1. Under Hospes the TSC is the virtual clock the cost model
 * advances, so these are the cycles --stats charges for the same instructions.
 *
 *   syscall   ring 3 -> 0 -> 3 through INT 0x80 (a DPL 3 gate whose handler is one IRET)
 *   sysenter  ring 3 -> 0 -> 3 through SYSENTER and SYSEXIT
 *   in        a port read of an emulated device (the 16550's scratch register, COM1 + 7)
 *   cr3       a CR3 write (reload of the same page directory: a full non-global TLB flush)
 *   cr0ts     CR0.TS set then cleared (two CR0 writes)
 *   callret   a near call and return
 *   pgfault   a ring-3 read of a not-present page; the #PF handler sets the PTE's P bit and the
 *             read is restarted (one fresh page per iteration, rounds of up to 1024 pages)
 *   divzero   DIV by zero at ring 0; the #DE handler skips the two-byte DIV
 *   ptemod    a PTE rewritten with its own value, then INVLPG of its page
 *
 * Every line has a fixed width, so runs with different N print the same number of bytes. The
 * output depends on timing, so there is no QEMU golden.
 */
#include "rt.h"
#include "marker.h"
#include "sys.h"

#define P   0x001u
#define RW  0x002u
#define US  0x004u
#define PS  0x080u

#define FAULT_VA   0x40000000u   /* the 4 MiB region served by fault_pt */
#define PTEMOD_IDX 1023u         /* fault_pt's last entry: the page ptemod rewrites */
#define ROUND      1023u         /* pgfault pages per round (PTEMOD_IDX is kept apart) */
#define SCRATCH    0x3FFu

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t fault_pt[1024] __attribute__((aligned(4096)));
static uint8_t target[4096] __attribute__((aligned(4096)));
static uint8_t user_stack[8192] __attribute__((aligned(4096)));
static uint8_t sysenter_stack[1024] __attribute__((aligned(16)));

static volatile uint32_t user_count;
static volatile uint64_t user_cycles;
static uint32_t faults;

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

static void wrmsr(uint32_t msr, uint32_t lo)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"(lo), "d"(0));
}

/* The loops are assembly so that the compiler cannot change what one iteration executes. */
void nb_iret(void);
void nb_sysexit(void);
void nb_ret(void);
void loop_int80(uint32_t n);
void loop_sysenter(uint32_t n);
void loop_in(uint32_t n);
void loop_cr3(uint32_t n);
void loop_cr0ts(uint32_t n);
void loop_callret(uint32_t n);
void loop_divzero(uint32_t n);
void loop_ptemod(uint32_t n, volatile uint32_t *pte, uint32_t va);
void loop_touch(uint32_t n, uint32_t va);
extern char nb_div_insn[];

__asm__(
    "        .text\n"
    "nb_iret:    iret\n"
    "nb_sysexit: sysexit\n"
    "nb_ret:     ret\n"
    "        .globl loop_int80\n"
    "loop_int80:\n"
    "        movl 4(%esp), %ecx\n"
    "1:      int $0x80\n"
    "        decl %ecx\n"
    "        jnz 1b\n"
    "        ret\n"
    /* SYSEXIT returns to EDX with ESP = ECX. */
    "        .globl loop_sysenter\n"
    "loop_sysenter:\n"
    "        pushl %esi\n"
    "        movl 8(%esp), %esi\n"
    "1:      movl %esp, %ecx\n"
    "        movl $2f, %edx\n"
    "        sysenter\n"
    "2:      decl %esi\n"
    "        jnz 1b\n"
    "        popl %esi\n"
    "        ret\n"
    "        .globl loop_in\n"
    "loop_in:\n"
    "        movl 4(%esp), %ecx\n"
    "        movl $0x3ff, %edx\n"
    "1:      inb %dx, %al\n"
    "        decl %ecx\n"
    "        jnz 1b\n"
    "        ret\n"
    "        .globl loop_cr3\n"
    "loop_cr3:\n"
    "        movl 4(%esp), %ecx\n"
    "        movl %cr3, %eax\n"
    "1:      movl %eax, %cr3\n"
    "        decl %ecx\n"
    "        jnz 1b\n"
    "        ret\n"
    "        .globl loop_cr0ts\n"
    "loop_cr0ts:\n"
    "        movl 4(%esp), %ecx\n"
    "        movl %cr0, %eax\n"
    "        movl %eax, %edx\n"
    "        orl $8, %edx\n"
    "        andl $~8, %eax\n"
    "1:      movl %edx, %cr0\n"
    "        movl %eax, %cr0\n"
    "        decl %ecx\n"
    "        jnz 1b\n"
    "        ret\n"
    "        .globl loop_callret\n"
    "loop_callret:\n"
    "        movl 4(%esp), %ecx\n"
    "1:      call nb_ret\n"
    "        decl %ecx\n"
    "        jnz 1b\n"
    "        ret\n"
    /* DIV ECX is F7 F1: the #DE handler adds 2 to the saved EIP. */
    "        .globl loop_divzero\n"
    "        .globl nb_div_insn\n"
    "loop_divzero:\n"
    "        pushl %ebx\n"
    "        movl 8(%esp), %ebx\n"
    "1:      movl $1, %eax\n"
    "        xorl %edx, %edx\n"
    "        xorl %ecx, %ecx\n"
    "nb_div_insn:\n"
    "        divl %ecx\n"
    "        decl %ebx\n"
    "        jnz 1b\n"
    "        popl %ebx\n"
    "        ret\n"
    "        .globl loop_ptemod\n"
    "loop_ptemod:\n"
    "        pushl %ebx\n"
    "        movl 8(%esp), %ecx\n"
    "        movl 12(%esp), %ebx\n"
    "        movl 16(%esp), %edx\n"
    "        movl (%ebx), %eax\n"
    "1:      movl %eax, (%ebx)\n"
    "        invlpg (%edx)\n"
    "        decl %ecx\n"
    "        jnz 1b\n"
    "        popl %ebx\n"
    "        ret\n"
    /* One read per page, page after page. */
    "        .globl loop_touch\n"
    "loop_touch:\n"
    "        movl 4(%esp), %ecx\n"
    "        movl 8(%esp), %edx\n"
    "1:      movl (%edx), %eax\n"
    "        addl $4096, %edx\n"
    "        decl %ecx\n"
    "        jnz 1b\n"
    "        ret\n");

static void on_pf(struct rt_frame *f)
{
    uint32_t cr2 = read_cr2();
    uint32_t idx = (cr2 - FAULT_VA) >> 12;
    if (cr2 < FAULT_VA || idx >= ROUND || (f->error_code & P)) {
        printf("nanobench: unexpected #PF at %x, error code %x, eip %x\n", cr2, f->error_code, f->eip);
        qemu_exit(1);
    }
    fault_pt[idx] |= P;
    faults++;
}

static void on_de(struct rt_frame *f)
{
    if (f->eip != (uint32_t)(uintptr_t)nb_div_insn) {
        printf("nanobench: unexpected #DE at eip %x\n", f->eip);
        qemu_exit(1);
    }
    f->eip += 2;
}

/* What the ring-3 task runs: the loop chosen by user_op, timed from ring 3. */
enum { U_INT80, U_SYSENTER, U_TOUCH };
static volatile int user_op;

static void user_main(void)
{
    uint32_t n = user_count;
    uint64_t t0 = rdtsc();
    if (user_op == U_INT80) loop_int80(n);
    else if (user_op == U_SYSENTER) loop_sysenter(n);
    else loop_touch(n, FAULT_VA);
    user_cycles = rdtsc() - t0;
    rt_user_exit(0);
}

static uint64_t in_user(int op, uint32_t n)
{
    user_op = op;
    user_count = n;
    rt_run_user(user_main, user_stack + sizeof user_stack);
    return user_cycles;
}

static void report(const char *op, uint32_t n, uint64_t cycles)
{
    uint64_t per = cycles / n;
    uint32_t tenths = (uint32_t)((cycles * 10 / n) % 10);
    printf("%-9s %8u ops %14llu cycles %10llu.%u per op\n", op, n, cycles, per, tenths);
}

typedef void (*loop_fn)(uint32_t);

static void kernel_op(const char *name, loop_fn fn, uint32_t n)
{
    uint64_t t0 = rdtsc();
    fn(n);
    report(name, n, rdtsc() - t0);
}

static uint64_t pgfault_round(uint32_t n)
{
    for (uint32_t i = 0; i < ROUND; i++) fault_pt[i] &= ~P;
    write_cr3(read_cr3());
    return in_user(U_TOUCH, n);
}

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic;
    uint32_t n = 1000;
    char arg[12];
    if (mbi && cmdline_value(mbi, "iters", arg, sizeof arg)) {
        n = 0;
        for (const char *p = arg; *p >= '0' && *p <= '9'; p++) n = n * 10 + (uint32_t)(*p - '0');
        if (n == 0) n = 1;
    }

    /* 64 MiB identity-mapped with 4 MiB pages, user-accessible; FAULT_VA through fault_pt. */
    for (uint32_t i = 0; i < 16; i++) pd[i] = (i << 22) | P | RW | US | PS;
    pd[FAULT_VA >> 22] = (uint32_t)(uintptr_t)fault_pt | P | RW | US;
    for (uint32_t i = 0; i < 1024; i++) fault_pt[i] = (uint32_t)(uintptr_t)target | RW | US;
    fault_pt[PTEMOD_IDX] |= P;
    write_cr3((uint32_t)(uintptr_t)pd);
    write_cr4(read_cr4() | CR4_PSE);
    write_cr0(read_cr0() | CR0_PG);

    rt_tss_init();
    rt_idt_gate(0x80, KERNEL_CS, (uint32_t)(uintptr_t)nb_iret, GATE_INT32 | GATE_DPL3);
    wrmsr(0x174, KERNEL_CS);
    wrmsr(0x175, (uint32_t)(uintptr_t)(sysenter_stack + sizeof sysenter_stack));
    wrmsr(0x176, (uint32_t)(uintptr_t)nb_sysexit);
    rt_on_trap(14, on_pf);
    rt_on_trap(0, on_de);

    printf("nanobench: %8u iterations per op\n", n);
    report("syscall", n, in_user(U_INT80, n));
    report("sysenter", n, in_user(U_SYSENTER, n));
    kernel_op("in", loop_in, n);
    kernel_op("cr3", loop_cr3, n);
    kernel_op("cr0ts", loop_cr0ts, n);
    kernel_op("callret", loop_callret, n);
    uint64_t pf = 0;
    for (uint32_t done = 0; done < n; done += ROUND) {
        pf += pgfault_round(n - done < ROUND ? n - done : ROUND);
    }
    report("pgfault", n, pf);
    kernel_op("divzero", loop_divzero, n);
    uint64_t t0 = rdtsc();
    loop_ptemod(n, &fault_pt[PTEMOD_IDX], FAULT_VA + (PTEMOD_IDX << 12));
    report("ptemod", n, rdtsc() - t0);
    printf("nanobench: %8u page faults handled\n", faults);
    return faults == n ? 0 : 1;
}
