/*
 * Double faults through a task gate, as Linux i386 handles them: IDT vector 8
 * is a task gate to a TSS of its own, so the #DF handler gets a fresh stack
 * whatever state the faulting task's stack is in.
 *
 *  0. Software task switches first: CALL to a TSS (nested: back link, NT, IRET
 *     returns) and JMP to a TSS (not nested; the task JMPs back).
 *  1. A #GP whose IDT gate is not present: delivering it raises #NP, two
 *     contributory faults make a #DF. The handler fixes the gate, points the
 *     old task's saved EIP past the faulting instruction and returns to it
 *     with IRET (EFLAGS.NT set: a task switch back through the back link).
 *  2. A #GP in ring 3 while the TSS's ESP0 points into a not-present page:
 *     the switch to the ring-0 stack faults (#PF), so does delivering that
 *     #PF, and the #DF task finds the faulting task's ring-3 state intact. It
 *     repairs ESP0 and returns to ring 3 through the back link.
 *  3. A kernel stack overflow: ESP runs into a not-present page, the #PF
 *     cannot push its frame, a second #PF makes a #DF. The handler prints the
 *     back link and the saved EIP/ESP of the faulting task, and exits.
 */
#include "rt.h"
#include "report.h"
#include "sys.h"

#define P   0x001u
#define RW  0x002u
#define US  0x004u

#define STACK_VA  0x40000000u     /* not present; the page above it is the overflowing stack */
#define DF_TSS_INDEX 6
#define DF_TSS_SEL (DF_TSS_INDEX << 3)
#define B_TSS_INDEX 7
#define B_TSS_SEL (B_TSS_INDEX << 3)
#define MAIN_TSS_SEL (RT_TSS_INDEX << 3)

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt_low[1024] __attribute__((aligned(4096)));
static uint32_t pt_stack[1024] __attribute__((aligned(4096)));
static uint8_t overflow_page[4096] __attribute__((aligned(4096)));
static uint8_t df_stack[8192] __attribute__((aligned(16)));
static struct tss32 df_tss __attribute__((aligned(128)));
static struct tss32 b_tss __attribute__((aligned(128)));
static uint8_t b_stack[4096] __attribute__((aligned(16)));
static volatile uint32_t b_runs, b_link, b_nt, b_tr, b_ebx;
void task_b_entry(void);
void call_task_b(void);
void jmp_task_b(void);

static int failures;
static int round_no;

void df_task_entry(void);
void gp_with_broken_gate(void);
void overflow_stack(void);
void user_bad_esp0(void);
extern const char gp_fault_insn[], gp_resume[], overflow_push[], user_cli[], user_after_cli[];
static uint8_t user_stack[4096] __attribute__((aligned(16)));
volatile uint32_t user_esp_at_cli;
extern uint32_t rt_kernel_esp;      /* rt_run_user's kernel stack: the ESP0 it installs */

__asm__(
    "        .text\n"
    /* The #DF task starts here with the error code on its stack; after IRET
       the next double fault resumes at the jmp. */
    "        .globl df_task_entry\n"
    "df_task_entry:\n"
    "        call df_handler\n"
    "        addl $4, %esp\n"
    "        iret\n"
    "        jmp df_task_entry\n"
    /* Task B: reports, then returns the way it was entered (IRET if nested). */
    "        .globl task_b_entry\n"
    "task_b_entry:\n"
    "        call task_b\n"
    "        testl %eax, %eax\n"
    "        jz 1f\n"
    "        iret\n"
    "        jmp task_b_entry\n"
    "1:      ljmp $0x28, $0\n"
    "        jmp task_b_entry\n"
    "        .globl call_task_b\n"
    "call_task_b:\n"
    "        pushl %ebx\n"
    "        movl $0xB0B0, %ebx\n"
    "        lcall $0x38, $0\n"
    "        popl %ebx\n"
    "        ret\n"
    "        .globl jmp_task_b\n"
    "jmp_task_b:\n"
    "        pushl %ebx\n"
    "        movl $0xB1B1, %ebx\n"
    "        ljmp $0x38, $0\n"
    "        popl %ebx\n"
    "        ret\n"
    /* Loads a selector beyond the GDT limit into DS: #GP(0x7ff8). */
    "        .globl gp_with_broken_gate\n"
    "gp_with_broken_gate:\n"
    "        movl $0x7ff8, %eax\n"
    "        .globl gp_fault_insn\n"
    "gp_fault_insn:\n"
    "        movw %ax, %ds\n"
    "        .globl gp_resume\n"
    "gp_resume:\n"
    "        ret\n"
    /* Moves ESP 16 bytes above a not-present page and pushes until it faults. */
    /* Ring 3: point ESP0 at a not-present page, then CLI (#GP at IOPL 0). */
    "        .globl user_bad_esp0\n"
    "user_bad_esp0:\n"
    "        movl $0x40000800, rt_tss_block+4\n"
    "        movl %esp, user_esp_at_cli\n"
    "        .globl user_cli\n"
    "user_cli:\n"
    "        cli\n"
    "        .globl user_after_cli\n"
    "user_after_cli:\n"
    "        movl $0x42, %eax\n"
    "        int $0x81\n"
    "        .globl overflow_stack\n"
    "overflow_stack:\n"
    "        movl $0x40001010, %esp\n"
    "        .globl overflow_push\n"
    "overflow_push:\n"
    "        pushl $0x5A5A5A5A\n"
    "        jmp overflow_push\n");

static void check(const char *what, int ok)
{
    say("%-52s %s\n", what, ok ? "yes" : "NO");
    if (!ok) failures++;
}

static uint32_t desc_type(int index)
{
    return (uint32_t)(rt_gdt_get(index) >> 40) & 0xF;
}

uint32_t task_b(void) __attribute__((used));
uint32_t task_b(void)
{
    uint16_t tr;
    __asm__ volatile("str %0" : "=r"(tr));
    b_runs++;
    b_tr = tr;
    b_link = b_tss.link;
    b_nt = (read_eflags() >> 14) & 1;
    b_ebx = rt_tss_block.tss.ebx;      /* the caller's EBX, saved in its TSS */
    return b_nt;
}

void df_handler(uint32_t error_code) __attribute__((used));
void df_handler(uint32_t error_code)
{
    struct tss32 *old = &rt_tss_block.tss;
    uint16_t tr;
    __asm__ volatile("str %0" : "=r"(tr));
    uint32_t fl = read_eflags();
    say("#DF task: TR %x, back link %x, NT %u, error code %u\n", tr, df_tss.link, (fl >> 14) & 1, error_code);
    check("old TSS descriptor busy", desc_type(RT_TSS_INDEX) == 0xB);
    check("#DF TSS descriptor busy", desc_type(DF_TSS_INDEX) == 0xB);
    check("running on the #DF task's own stack",
          (uint32_t)(uintptr_t)&fl > (uint32_t)(uintptr_t)df_stack &&
              (uint32_t)(uintptr_t)&fl < (uint32_t)(uintptr_t)(df_stack + sizeof df_stack));
    if (round_no == 1) {
        check("saved EIP is the faulting mov to DS", old->eip == (uint32_t)(uintptr_t)gp_fault_insn);
        check("saved DS is still the kernel's", old->ds == KERNEL_DS);
        check("saved EAX holds the bad selector", old->eax == 0x7ff8);
        /* Repair the gate, skip the faulting instruction and return to the task. */
        rt_idt_stub(13, GATE_INT32);
        old->eip = (uint32_t)(uintptr_t)gp_resume;
        return;
    }
    if (round_no == 2) {
        say("saved CS %x SS %x, CR2 %08x\n", old->cs, old->ss, read_cr2());
        check("saved EIP is the CLI in ring 3", old->eip == (uint32_t)(uintptr_t)user_cli);
        check("saved ESP is the user stack pointer", old->esp == user_esp_at_cli);
        check("saved EFLAGS has IF clear, IOPL 0", (old->eflags & 0x3200) == 0);
        /* Repair ESP0 and resume the user task after its CLI. */
        rt_tss_block.tss.esp0 = rt_kernel_esp;
        old->eip = (uint32_t)(uintptr_t)user_after_cli;
        return;
    }
    say("saved EIP: %s, saved ESP %08x, CR2 %08x\n",
        old->eip == (uint32_t)(uintptr_t)overflow_push ? "the faulting push" : "ELSEWHERE", old->esp, read_cr2());
    check("saved ESP is where the push faulted", old->esp == STACK_VA + 0x1000);
    const uint32_t *bottom = (const uint32_t *)overflow_page;   /* mapped at STACK_VA + 0x1000 */
    check("the four pushes before the fault landed", bottom[0] == 0x5A5A5A5A && bottom[3] == 0x5A5A5A5A);
    say("%s: %d failures\n", failures ? "FAILED" : "all ok", failures);
    printf("checksum %08x\n", say_hash);
    qemu_exit(failures ? EXIT_FAILURE_VALUE : EXIT_SUCCESS_VALUE);
}

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic;
    (void)mbi;
    say("doublefault: #DF through a task gate\n");

    for (uint32_t i = 0; i < 1024; i++) pt_low[i] = (i << 12) | P | RW | US;
    pd[0] = (uint32_t)(uintptr_t)pt_low | P | RW | US;
    pd[STACK_VA >> 22] = (uint32_t)(uintptr_t)pt_stack | P | RW;
    pt_stack[1] = (uint32_t)(uintptr_t)overflow_page | P | RW;  /* pt_stack[0] not present */
    write_cr3((uint32_t)(uintptr_t)pd);
    write_cr0(read_cr0() | CR0_PG);

    /* The running task's TSS (the CPU saves our state there on the switch). */
    rt_tss_init();
    rt_tss_block.tss.cr3 = read_cr3();
    /* The #DF task. */
    memset(&df_tss, 0, sizeof df_tss);
    df_tss.cr3 = read_cr3();
    df_tss.eip = (uint32_t)(uintptr_t)df_task_entry;
    df_tss.eflags = 0x2;
    df_tss.esp = (uint32_t)(uintptr_t)(df_stack + sizeof df_stack);
    df_tss.cs = KERNEL_CS;
    df_tss.ss = df_tss.ds = df_tss.es = df_tss.fs = df_tss.gs = KERNEL_DS;
    df_tss.iomap_base = sizeof df_tss;
    rt_gdt_set(DF_TSS_INDEX, (uint32_t)(uintptr_t)&df_tss, sizeof df_tss - 1, 0x89, 0x0);
    rt_idt_gate(8, DF_TSS_SEL, 0, GATE_TASK);
    check("TR is the main TSS, available #DF TSS",
          desc_type(RT_TSS_INDEX) == 0xB && desc_type(DF_TSS_INDEX) == 0x9);

    say("== 0: software task switches ==\n");
    memset(&b_tss, 0, sizeof b_tss);
    b_tss.cr3 = read_cr3();
    b_tss.eip = (uint32_t)(uintptr_t)task_b_entry;
    b_tss.eflags = 0x2;
    b_tss.esp = (uint32_t)(uintptr_t)(b_stack + sizeof b_stack);
    b_tss.cs = KERNEL_CS;
    b_tss.ss = b_tss.ds = b_tss.es = b_tss.fs = b_tss.gs = KERNEL_DS;
    b_tss.iomap_base = sizeof b_tss;
    rt_gdt_set(B_TSS_INDEX, (uint32_t)(uintptr_t)&b_tss, sizeof b_tss - 1, 0x89, 0x0);
    write_cr0(read_cr0() & ~0x8u);
    call_task_b();
    say("CALL to a TSS: task B ran %u time, TR %x, back link %x, NT %u, caller's EBX %x\n", b_runs, b_tr,
        b_link, b_nt, b_ebx);
    check("after IRET: TR is the main TSS, B available again",
          desc_type(B_TSS_INDEX) == 0x9 && desc_type(RT_TSS_INDEX) == 0xB);
    check("the task switch set CR0.TS", (read_cr0() & 0x8u) != 0);
    b_tss.link = 0;
    jmp_task_b();
    say("JMP to a TSS: task B ran %u times, TR %x, back link %x, NT %u, caller's EBX %x\n", b_runs, b_tr,
        b_link, b_nt, b_ebx);
    check("after B jumped back: main busy, B available",
          desc_type(B_TSS_INDEX) == 0x9 && desc_type(RT_TSS_INDEX) == 0xB);
    __asm__ volatile("clts");

    say("== 1: #GP while the #GP gate is not present ==\n");
    round_no = 1;
    rt_idt_stub(13, GATE_INT32 & ~0x80);     /* clear P */
    gp_with_broken_gate();
    say("back in the faulting task after IRET through the back link\n");
    uint16_t tr;
    __asm__ volatile("str %0" : "=r"(tr));
    uint32_t fl = read_eflags();
    check("TR is the main TSS again, NT clear", tr == MAIN_TSS_SEL && ((fl >> 14) & 1) == 0);
    check("#DF TSS no longer busy", desc_type(DF_TSS_INDEX) == 0x9);
    check("the #DF task's EIP was saved after its IRET", df_tss.eip != (uint32_t)(uintptr_t)df_task_entry);

    say("== 2: #GP in ring 3 with ESP0 in a not-present page ==\n");
    round_no = 2;
    uint32_t rc = rt_run_user(user_bad_esp0, user_stack + sizeof user_stack);
    say("the user task finished after the repair: %s\n", rc == 0x42 ? "yes" : "NO");
    if (rc != 0x42) failures++;

    say("== 3: kernel stack overflow into a not-present page ==\n");
    round_no = 3;
    overflow_stack();
    fail("the overflow returned");
}
