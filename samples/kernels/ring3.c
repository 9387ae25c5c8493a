/*
 * Ring 3: a user task entered with IRET (the TSS gives the ring-0 stack in
 * SS0:ESP0) makes system calls through an INT 0x80 trap gate with DPL 3. It
 * then tries privileged things one at a time: CLI/STI/HLT with IOPL 0, a
 * control-register read, INT to a DPL 0 gate, I/O to ports the TSS I/O bitmap
 * denies (and to one it allows), and a touch of a supervisor page. For each
 * fault the kernel reports the vector, the error code and the ring the fault
 * came from, then resumes the task after the faulting instruction.
 */
#include "rt.h"
#include "report.h"
#include "sys.h"

#define P   0x001u
#define RW  0x002u
#define US  0x004u

#define SUPERVISOR_VA 0x40000000u
#define SYS_WRITE  1
#define SYS_INFO   2
#define SYS_ADD    3

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt_low[1024] __attribute__((aligned(4096)));
static uint32_t pt_sup[1024] __attribute__((aligned(4096)));
static volatile uint32_t secret[1024] __attribute__((aligned(4096)));
static uint8_t user_stack[8192] __attribute__((aligned(4096)));

static int failures;
static uint32_t syscalls;

/* ---- what the user task runs ------------------------------------------ */

/* Set by a probe before its one instruction; a fault resumes there. */
volatile uint32_t probe_resume;
/* Name of the probe running, for the kernel's report. */
const char *volatile probe_name;

uint32_t u_cli(void);
uint32_t u_sti(void);
uint32_t u_hlt(void);
uint32_t u_read_cr0(void);
uint32_t u_int30(void);
uint32_t u_int3(void);
uint32_t u_in(uint32_t port);
uint32_t u_inw(uint32_t port);
uint32_t u_out(uint32_t port, uint32_t value);
uint32_t u_read(uint32_t va);
uint32_t u_write(uint32_t va);
uint32_t u_sysenter(uint32_t a, uint32_t b);
void sysenter_entry(void);
volatile uint32_t sysenter_cs, sysenter_ss, sysenter_flags, sysenter_calls;

/* Each probe returns 0 if its instruction completed, or what the handler put in EAX. */
__asm__(
    "        .text\n"
    "        .globl u_cli\n"
    "u_cli:  xorl %eax, %eax\n"
    "        movl $1f, probe_resume\n"
    "        cli\n"
    "1:      ret\n"
    "        .globl u_sti\n"
    "u_sti:  xorl %eax, %eax\n"
    "        movl $1f, probe_resume\n"
    "        sti\n"
    "1:      ret\n"
    "        .globl u_hlt\n"
    "u_hlt:  xorl %eax, %eax\n"
    "        movl $1f, probe_resume\n"
    "        hlt\n"
    "1:      ret\n"
    "        .globl u_read_cr0\n"
    "u_read_cr0:\n"
    "        xorl %eax, %eax\n"
    "        movl $1f, probe_resume\n"
    "        movl %cr0, %ecx\n"
    "1:      ret\n"
    "        .globl u_int30\n"
    "u_int30:\n"
    "        xorl %eax, %eax\n"
    "        movl $1f, probe_resume\n"
    "        int $0x30\n"
    "1:      ret\n"
    "        .globl u_int3\n"
    "u_int3: xorl %eax, %eax\n"
    "        movl $0, probe_resume\n"
    "        int3\n"
    "        ret\n"
    "        .globl u_in\n"
    "u_in:   movl 4(%esp), %edx\n"
    "        xorl %eax, %eax\n"
    "        movl $1f, probe_resume\n"
    "        inb %dx, %al\n"
    "        orl $0x100, %eax\n"
    "1:      ret\n"
    "        .globl u_inw\n"
    "u_inw:  movl 4(%esp), %edx\n"
    "        xorl %eax, %eax\n"
    "        movl $1f, probe_resume\n"
    "        inw %dx, %ax\n"
    "        orl $0x10000, %eax\n"
    "1:      ret\n"
    "        .globl u_out\n"
    "u_out:  movl 4(%esp), %edx\n"
    "        movl 8(%esp), %eax\n"
    "        movl $1f, probe_resume\n"
    "        outb %al, %dx\n"
    "        xorl %eax, %eax\n"
    "1:      ret\n"
    "        .globl u_read\n"
    "u_read: movl 4(%esp), %edx\n"
    "        movl $1f, probe_resume\n"
    "        movl (%edx), %eax\n"
    "1:      ret\n"
    /* SYSENTER with the arguments in EAX/EBX, the user ESP in ECX and the
       return EIP in EDX, as SYSEXIT expects them. */
    "        .globl u_sysenter\n"
    "u_sysenter:\n"
    "        pushl %ebx\n"
    "        movl 8(%esp), %eax\n"
    "        movl 12(%esp), %ebx\n"
    "        movl %esp, %ecx\n"
    "        movl $1f, %edx\n"
    "        sysenter\n"
    "1:      popl %ebx\n"
    "        ret\n"
    /* The kernel side: records CS, SS and EFLAGS, returns 3 * EAX + EBX. */
    "        .globl sysenter_entry\n"
    "sysenter_entry:\n"
    "        movw %cs, sysenter_cs\n"
    "        movw %ss, sysenter_ss\n"
    "        pushfl\n"
    "        popl sysenter_flags\n"
    "        incl sysenter_calls\n"
    "        leal (%eax,%eax,2), %eax\n"
    "        addl %ebx, %eax\n"
    "        sysexit\n"
    "        .globl u_write\n"
    "u_write:\n"
    "        movl 4(%esp), %edx\n"
    "        movl $1f, probe_resume\n"
    "        movl %eax, (%edx)\n"
    "        xorl %eax, %eax\n"
    "1:      ret\n");

static uint32_t sys3(uint32_t nr, uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b) : "memory");
    return r;
}

static void uputs(const char *s)
{
    sys3(SYS_WRITE, (uint32_t)(uintptr_t)s, strlen(s));
}

#define FAULTED 0xFA000000u

static void user_main(void)
{
    uint32_t cs, ss, fl;
    __asm__ volatile("movl %%cs, %0; movl %%ss, %1; pushfl; popl %2" : "=r"(cs), "=r"(ss), "=r"(fl));
    uputs("hello from user mode\n");
    char line[64];
    snprintf(line, sizeof line, "user CS %x SS %x, IOPL %u, IF %u\n", cs, ss, (fl >> 12) & 3, (fl >> 9) & 1);
    uputs(line);
    uint32_t info = sys3(SYS_INFO, 0, 0);
    snprintf(line, sizeof line, "the kernel saw the call from ring %u, user SS %x\n", info & 3, info >> 16);
    uputs(line);
    snprintf(line, sizeof line, "sys_add(40, 2) = %u\n", sys3(SYS_ADD, 40, 2));
    uputs(line);

    probe_name = "cli";
    u_cli();
    probe_name = "sti";
    u_sti();
    probe_name = "hlt";
    u_hlt();
    probe_name = "mov %cr0, %ecx";
    u_read_cr0();
    probe_name = "int $0x30 (DPL 0 gate)";
    u_int30();
    probe_name = "int3 (DPL 3 trap gate)";
    u_int3();

    /* POPF at CPL 3 with IOPL 0 leaves IF alone without faulting. */
    uint32_t after;
    __asm__ volatile("pushfl; orl $0x200, (%%esp); popfl; pushfl; popl %0" : "=r"(after));
    snprintf(line, sizeof line, "popf with IF set: IF still %u, no fault\n", (after >> 9) & 1);
    uputs(line);

    probe_name = "inb from 0x3F8 (denied)";
    u_in(0x3F8);
    probe_name = "outb to 0x3FF (allowed)";
    uint32_t r = u_out(0x3FF, 0xA5);
    probe_name = "inb from 0x3FF (allowed)";
    uint32_t v = u_in(0x3FF);
    snprintf(line, sizeof line, "allowed port 0x3FF: out %s, in %s, value %x\n", r == 0 ? "ok" : "FAULTED",
             (v & 0x100) ? "ok" : "FAULTED", v & 0xFF);
    uputs(line);
    probe_name = "inw from 0x3FE (0x3FE denied)";
    u_inw(0x3FE);
    probe_name = "outb to 0x80 (denied)";
    u_out(0x80, 0);

    probe_name = "read of a supervisor page";
    u_read(SUPERVISOR_VA + 0x10);
    probe_name = "write to a supervisor page";
    u_write(SUPERVISOR_VA + 0x20);

    uint32_t se = u_sysenter(14, 5);
    uint32_t cs_after;
    __asm__ volatile("movl %%cs, %0" : "=r"(cs_after));
    snprintf(line, sizeof line, "sysenter/sysexit: 3*14+5 = %u, back in CS %x\n", se, cs_after);
    uputs(line);

    probe_name = NULL;
    uputs("user task done\n");
    rt_user_exit(7);
}

/* Runs with IF=1: spins until the timer handler has counted five ticks taken in ring 3. */
static volatile uint32_t user_ticks, user_tick_frames_ok;

static void user_spin(void)
{
    uint32_t spins = 0;
    while (user_ticks < 5 && spins < 100000000u) spins++;
    rt_user_exit(user_ticks);
}

/* Runs with IOPL=3: CLI, STI and any port are allowed. */
static void user_iopl3(void)
{
    uint32_t fl;
    __asm__ volatile("cli; pushfl; popl %0; sti" : "=r"(fl));
    probe_name = "inb from 0x3FD with IOPL 3";
    uint32_t lsr = u_in(0x3FD);
    probe_name = NULL;
    rt_user_exit(((fl >> 9) & 1) | (lsr & 0x100) << 1);
}

/* ---- the kernel side ------------------------------------------------------ */

static void on_syscall(struct rt_frame *f)
{
    syscalls++;
    switch (f->eax) {
    case SYS_WRITE: {
        const char *s = (const char *)(uintptr_t)f->ebx;
        for (uint32_t i = 0; i < f->ecx; i++) {
            char c[2] = {s[i], 0};
            say("%s", c);
        }
        f->eax = f->ecx;
        break;
    }
    case SYS_INFO:
        f->eax = (f->cs & 3) | f->user_ss << 16;
        if (f->user_esp < (uint32_t)(uintptr_t)user_stack ||
            f->user_esp > (uint32_t)(uintptr_t)(user_stack + sizeof user_stack)) {
            say("user ESP not on the user stack\n");
            failures++;
        }
        break;
    case SYS_ADD:
        f->eax = f->ebx + f->ecx;
        break;
    default:
        f->eax = (uint32_t)-1;
        break;
    }
}

static void on_user_timer(struct rt_frame *f)
{
    if ((f->cs & 3) == 3 && f->user_ss == USER_DS && (f->eflags & 0x200)) user_tick_frames_ok++;
    user_ticks++;
    pic_eoi(0);
}

static void wrmsr(uint32_t msr, uint32_t lo)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"(lo), "d"(0));
}

static const char *vec_name(uint32_t v)
{
    switch (v) {
    case 3: return "#BP";
    case 13: return "#GP";
    case 14: return "#PF";
    default: return "?";
    }
}

static void on_fault(struct rt_frame *f)
{
    if ((f->cs & 3) == 0 || probe_name == NULL) {
        fail("kernel-mode %s err %x at eip %08x", vec_name(f->vector), f->error_code, f->eip);
    }
    if (f->vector == 14) {
        uint32_t cr2 = read_cr2();
        say("  %-32s -> %s err=%x cr2=%08x from ring %u\n", probe_name, vec_name(f->vector), f->error_code,
            cr2, f->cs & 3);
    } else if (f->vector == 3) {
        say("  %-32s -> %s (a trap: resumes after it) from ring %u\n", probe_name, vec_name(f->vector),
            f->cs & 3);
        return;
    } else {
        say("  %-32s -> %s err=%x from ring %u\n", probe_name, vec_name(f->vector), f->error_code, f->cs & 3);
    }
    if (probe_resume == 0) fail("no resume point");
    f->eip = probe_resume;
    f->eax = FAULTED | f->vector;
    probe_resume = 0;
}

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic;
    (void)mbi;
    say("ring3: user mode, system calls and protection faults\n");

    for (uint32_t i = 0; i < 1024; i++) pt_low[i] = (i << 12) | P | RW | US;
    /* The ring-0 stack (the runtime's boot stack, where ESP0 points) is supervisor-only, as in
     * a real kernel: the pushes of a ring 3 -> 0 transition are supervisor accesses. */
    extern const char rt_stack_top[];
    uint32_t top = (uint32_t)(uintptr_t)rt_stack_top;
    for (uint32_t va = top - 65536; va < top; va += 4096) pt_low[va >> 12] &= ~US;
    pd[0] = (uint32_t)(uintptr_t)pt_low | P | RW | US;
    pd[SUPERVISOR_VA >> 22] = (uint32_t)(uintptr_t)pt_sup | P | RW | US;
    pt_sup[0] = (uint32_t)(uintptr_t)secret | P | RW;    /* supervisor only */
    secret[4] = 0x5EC2E7;
    write_cr3((uint32_t)(uintptr_t)pd);
    write_cr0(read_cr0() | CR0_PG | CR0_WP);

    rt_idt_stub(0x80, GATE_TRAP32 | GATE_DPL3);
    rt_idt_stub(3, GATE_TRAP32 | GATE_DPL3);
    rt_on_trap(0x80, on_syscall);
    rt_on_trap(3, on_fault);
    rt_on_trap(13, on_fault);
    rt_on_trap(14, on_fault);
    rt_io_allow(0x3FF, 1);
    static uint8_t sysenter_stack[4096] __attribute__((aligned(16)));
    wrmsr(0x174, KERNEL_CS);
    wrmsr(0x175, (uint32_t)(uintptr_t)(sysenter_stack + sizeof sysenter_stack));
    wrmsr(0x176, (uint32_t)(uintptr_t)sysenter_entry);

    uint32_t rc = rt_run_user(user_main, user_stack + sizeof user_stack);
    say("back in ring 0: the task exited with %u after %u system calls\n", rc, syscalls);
    say("sysenter entry ran %u time(s) with CS %x SS %x IF %u\n", sysenter_calls, sysenter_cs & 0xFFFF,
        sysenter_ss & 0xFFFF, (sysenter_flags >> 9) & 1);
    if (sysenter_calls != 1 || (sysenter_cs & 0xFFFF) != KERNEL_CS || (sysenter_ss & 0xFFFF) != KERNEL_DS) failures++;

    say("== timer interrupts while in ring 3 ==\n");
    pic_init(0x20);
    rt_on_trap(0x20, on_user_timer);
    outb(0x43, 0x34);
    outb(0x40, 0xA9);                       /* 1193: about 1 kHz */
    outb(0x40, 0x04);
    pic_mask(0, 0);
    rt_user_eflags = 0x202;                 /* IF=1, IOPL=0 */
    uint32_t got = rt_run_user(user_spin, user_stack + sizeof user_stack);
    pic_mask(0, 1);
    say("the spinning task saw at least 5 ticks: %s\n", got >= 5 ? "yes" : "NO");
    say("every tick interrupted ring 3 with IF=1 and the user SS saved: %s\n",
        user_tick_frames_ok == user_ticks ? "yes" : "NO");
    if (got < 5 || user_tick_frames_ok != user_ticks) failures++;

    say("== IOPL 3 ==\n");
    rt_user_eflags = 0x3002;
    uint32_t io = rt_run_user(user_iopl3, user_stack + sizeof user_stack);
    say("cli at IOPL 3 cleared IF: %s; inb from a denied port: %s\n", (io & 1) == 0 ? "yes" : "NO",
        (io & 0x200) ? "allowed" : "FAULTED");
    if ((io & 1) != 0 || !(io & 0x200)) failures++;

    uint32_t cs;
    __asm__ volatile("movl %%cs, %0" : "=r"(cs));
    say("kernel CS %x, secret intact: %s\n", cs, secret[4] == 0x5EC2E7 && secret[8] == 0 ? "yes" : "NO");
    if (rc != 7 || secret[8] != 0) failures++;

    write_cr0(read_cr0() & ~CR0_PG);
    say("%s: %d failures\n", failures ? "FAILED" : "all ok", failures);
    printf("checksum %08x\n", say_hash);
    return failures ? 1 : 0;
}
