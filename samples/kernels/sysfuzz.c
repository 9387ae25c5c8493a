/*
 * sysfuzz: random system-level sequences for the differential oracle
 * (samples/.../SystemDiffTest runs it under qemu-system-i386 and under Hospes
 * and compares the serial output line by line).
 *
 * The command line "seed=N steps=M" picks the sequence: a xorshift generator
 * seeded with N draws M steps, each one of
 *   seg    a random descriptor in GDT entries 8-13, a random selector (some
 *          null, past the GDT limit, in the LDT, any RPL) loaded into DS, ES,
 *          FS, GS or SS at CPL 0 or 3, then LAR and LSL of it and, where the
 *          access is within the limit and the type allows it, a read through it;
 *   far    JMP or CALL far from CPL 0 or 3 to a random code descriptor (entry
 *          14), or CALL through a random call gate (entry 15) to ring 0 with
 *          0-3 parameters (copied to the inner stack from CPL 3; LRET n
 *          releases them, on both stacks): what the landing found above its
 *          return address, and how far the caller's ESP moved;
 *          (the LDT, GDT entry 7, holds four more random descriptors);
 *   int    INT 0x40-0x43 from ring 3 through gates of random type, DPL and P;
 *   page   a random PTE (P, R/W, U/S, frame) in a 16-page window, a random
 *          PDE U/S/R/W and CR0.WP, INVLPG, then a read or write from CPL 0
 *          or 3; the PTE and PDE after it (accessed and dirty bits);
 *   large  a 4 MiB page switched between two frames with random U/S and R/W,
 *          INVLPG of another address inside it, then an access;
 *   shadow the timer's IRQ 0 made pending with IF=0, then STI (one more
 *          instruction runs first) or POPF (the interrupt comes at once);
 *   v86    a random run of CLI, STI, PUSHF, POPF, INT 0x40-0x43 (the gates
 *          step_int left), INT3, OUT to port 0x80 and NOP in virtual-8086 mode
 *          at IOPL 0 or 3, ended by HLT: each event the monitor saw (vector,
 *          error code, IP) or handler hit, and the flags and SP at the end;
 *   step   EFLAGS.TF over a random run of NOP, INC, PUSHF/POPF, MOV SS and
 *          PUSH SS/POP SS written into a buffer: where each single-step #DB
 *          came (an SS load holds it back over the next instruction);
 *   task   a task switch from CPL 0 or 3 by JMP or CALL to a TSS descriptor
 *          (GDT entry 6: available or busy, any DPL and RPL, present or not,
 *          a limit that may be too small, sometimes a busy 16-bit TSS, an LDT
 *          or a call gate), by
 *          CALL through a task gate (entry 15) or by INT 0x44 through an IDT
 *          task gate; the new task records the registers and EFLAGS it was
 *          given and its TR, then returns by IRET (nested) or JMP to the old
 *          TSS: the fault or what it saw, its back link, both busy bits and
 *          the EIP and EFLAGS saved in each TSS;
 *   idt    INT 0x85, or UD2 (an exception: EXT in the error code of a fault
 *          delivering it), from CPL 0 or 3 through a random gate (interrupt,
 *          trap or no gate type; DPL; P) to a random target (kernel or user
 *          code, data, null, past the GDT, or a random code descriptor in
 *          entry 14), sometimes past the IDT limit, sometimes with the #GP gate
 *          not present (#DF): the fault, or the CS:SS and frame the handler saw;
 *   io     IN/OUT of a byte at COM1's scratch register (0x3FF) from CPL 0
 *          or 3, IOPL 0 or 3, its bitmap bit random; a word or dword ending
 *          at or crossing 0x3FF with one covered port denied (#GP); or REP
 *          INSB/OUTSB there, either direction, from or into a buffer that may
 *          run into a page that is not present: the fault, ECX and how far
 *          EDI/ESI moved, the buffer and the scratch register after;
 *   pae    with CR4.PAE set and EFER.NXE random: a random 64-bit PTE (P, R/W,
 *          U/S, XD, a pool frame, sometimes a reserved bit: 36-51, or 63 with
 *          EFER.NXE clear) under a random PDE (XD, not present, a reserved
 *          bit, or a 2 MiB page with bits 13-20 sometimes set), then a read,
 *          a write or an instruction fetch (a CALL to a RET there) from CPL 0
 *          or 3: the fault (I/D in its error code), the value, and the PTE's
 *          and PDE's A and D bits after;
 *   sys    one system instruction from CPL 0 or 3: VERR/VERW of a random
 *          selector, BOUND (16 and 32 bits, signed bounds around the index),
 *          SLDT/STR/SMSW to a register (16 and 32 bits) or memory, SGDT/SIDT
 *          (16 and 32 bits), LMSW and CLTS (CR0's MP, EM and TS random before),
 *          MOV to or from DR0-DR7, SYSENTER with a random SYSENTER_CS (0: #GP)
 *          and status flags, then SYSEXIT back when it came from CPL 3, or
 *          SYSEXIT at CPL 3 (#GP).
 * "only=KIND" on the command line makes every step one of that kind.
 * Each step prints one line: its parameters and what happened (values read,
 * the selector loaded, the fault vector, error code and CR2). Every 16 steps a
 * hash of the page pool is printed (memory written by the steps).
 *
 * Where QEMU's TCG is known to differ from the SDM, the step avoids it and the
 * case is recorded here:
 *   - Two SS loads in a row: the SDM leaves it open whether the second one
 *     holds #DB back again; the step generator never writes them back to back.
 *   - TCG does not set the accessed bit of a code descriptor when a far JMP or
 *     CALL loads CS: descriptors are printed without it (shown()).
 *   - TCG does not check data-segment limits and types, nor null selectors, on
 *     use (see SegmentationTest): reads are made only within the limit, through
 *     readable, non-null segments.
 *   - A read through SS after loading a random SS is not made: a fault would be
 *     delivered on that stack.
 *   - TCG does not implement DR7.GD (general detect): no #DB on a debug-register
 *     access with GD set. GD is never set here (DebugRegistersTest checks it).
 *   - TCG keeps DR7 bits 12, 14 and 15 as written (they read as 0 on hardware);
 *     they are never written. Breakpoint enables stay clear.
 *   - TCG stores a 24-bit base for SGDT/SIDT with a 16-bit operand; the SDM
 *     stores all 32 bits (DescriptorTableStoreTest). The tables here are below
 *     16 MiB, where the two agree.
 *   - TCG leaves EXT clear in the error code of a fault that a hardware
 *     exception's delivery meets (the SDM sets it: 6.13); the idt step does not
 *     show the bit for its UD2 cases.
 *   - TCG reports a reserved-bit #PF (RSVD set) with P clear; the SDM sets P,
 *     since only a present entry has reserved bits. The pae step clears P in
 *     such error codes before it prints them (ExecuteDisableTest pins P=1).
 *   - TCG does not check the PDPTEs' reserved bits when MOV CR3 loads them
 *     with PAE paging on (the SDM: #GP); the pae step never sets them
 *     (PdpteLoadTest checks it). Nor does TCG check bits 52-62 of PAE
 *     entries: they are never set.
 *   - Not a QEMU error: QEMU's qemu32 CPUID has DE and Hospes's has not, so
 *     CR4.DE is never set (setting it is #GP on Hospes; DR4/DR5 alias DR6/DR7).
 *   - Not a QEMU error: without an LLDT, LDTR keeps its reset state (base 0,
 *     limit 0xFFFF), so TI=1 selectors read whatever the firmware left at
 *     linear 0 (SeaBIOS's IVT under QEMU). The kernel loads its own LDT so the
 *     outcome does not depend on the firmware. (LAR/LSL are not run after SS
 *     loads: a leftover of tracing that difference.)
 */
#include "rt.h"
#include "sys.h"
#include "marker.h"

#define P   0x001u
#define RW  0x002u
#define US  0x004u
#define PS  0x080u
#define A   0x020u
#define D   0x040u
#define XD  (1ull << 63)
#define MSR_EFER 0xC0000080u
#define EFER_NXE 0x800u

#define PLAY_VA   0x00800000u
#define LARGE_VA  0x00C00000u
#define LARGE_PA0 0x01000000u
#define LARGE_PA1 0x01400000u

extern uint64_t rt_gdt[];
/* The LDT (GDT entry 7, selector 0x38): four random descriptors. */
static uint64_t ldt[4] __attribute__((aligned(8)));

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt_low[1024] __attribute__((aligned(4096)));
static uint32_t pt_play[1024] __attribute__((aligned(4096)));
static uint8_t pool[16][4096] __attribute__((aligned(4096)));
static uint8_t arena[0x20000] __attribute__((aligned(4096)));
static uint8_t user_stack[8192] __attribute__((aligned(4096)));

static uint32_t rng;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}
static uint32_t below(uint32_t n) { return rnd() % n; }

/* ---- fault capture: a probe sets probe_resume; a fault records and resumes there ---- */

volatile uint32_t probe_resume;
volatile uint32_t f_vec, f_err, f_cr2, f_ring;
volatile uint32_t g_sel, g_off, g_access, g_seen, g_val, g_va, g_write;
volatile uint32_t g_far[2], g_back[2];
volatile uint32_t int_ring, int_if, int_ss, int_hits;

/* The VM86 step: the length of the instruction at each IP, and what the monitor saw. */
#define V86_SEG 0x0800u
static uint8_t v86_len[64];
static char v86_log[256];
static uint32_t v86_log_len;

static void v86_event(struct rt_frame *f)
{
    uint32_t ip = f->eip & 0xFFFF;
    v86_log_len += (uint32_t)snprintf(v86_log + v86_log_len, sizeof v86_log - v86_log_len, " %u/%x@%u",
                                      f->vector, f->error_code, ip);
    if (ip >= sizeof v86_len || v86_len[ip] == 0) {    /* HLT (or anything unforeseen): the end */
        int_ss = f->user_esp & 0xFFFF;
        int_if = f->eflags;
        rt_v86_exit(f);
        return;
    }
    f->eip += v86_len[ip];
}

static void on_fault(struct rt_frame *f)
{
    if (f->eflags & 0x20000u) {
        v86_event(f);
        return;
    }
    if (!probe_resume) {
        printf("unexpected exception %u err %x at %x\n", f->vector, f->error_code, f->eip);
        qemu_exit(EXIT_FAILURE_VALUE);
    }
    f_vec = f->vector;
    f_err = f->error_code;
    f_cr2 = f->vector == 14 ? read_cr2() : 0;
    f_ring = f->cs & 3;
    f->eip = probe_resume;
}

static void clear_fault(void) { f_vec = 0xFF; f_err = 0; f_cr2 = 0; f_ring = 0; }

static void fault_text(char *buf, size_t n)
{
    if (f_vec == 0xFF) snprintf(buf, n, "ok");
    else if (f_vec == 14) snprintf(buf, n, "#%u/%x cr2=%x ring%u", f_vec, f_err, f_cr2, f_ring);
    else snprintf(buf, n, "#%u/%x ring%u", f_vec, f_err, f_ring);
}

/*
 * Segment probes: load g_sel into the register, record the selector it holds
 * in g_seen, read a dword at g_off through it when g_access, restore it.
 * EAX returns the value read (0 if none). Operands are fetched into registers
 * before the load, since the load may change DS.
 */
#define SEGPROBE(name, reg)                                   \
    "        .globl " #name "\n"                              \
    #name ":\n"                                               \
    "        pushl %ebx\n"                                    \
    "        pushl %esi\n"                                    \
    "        movl g_off, %ecx\n"                              \
    "        movl g_access, %esi\n"                           \
    "        movzwl g_sel, %edx\n"                            \
    "        movw %" #reg ", %bx\n"                           \
    "        xorl %eax, %eax\n"                               \
    "        movl $1f, probe_resume\n"                        \
    "        movw %dx, %" #reg "\n"                           \
    "        xorl %edx, %edx\n"                               \
    "        movw %" #reg ", %dx\n"                           \
    "        testl %esi, %esi\n"                              \
    "        jz 1f\n"                                         \
    "        movl %" #reg ":(%ecx), %eax\n"                   \
    "1:      movw %bx, %" #reg "\n"                           \
    "        movl %edx, g_seen\n"                             \
    "        popl %esi\n"                                     \
    "        popl %ebx\n"                                     \
    "        ret\n"

#define LANDGATE(name, release)                               \
    "        .globl " #name "\n"                              \
    #name ":\n"                                               \
    "        xorl %edx, %edx\n"                               \
    "        movw %ss, %dx\n"                                 \
    "        shll $16, %edx\n"                                \
    "        movw %cs, %dx\n"                                 \
    "        movl %edx, g_seen\n"                             \
    "        movl 8(%esp), %edx\n"                            \
    "        movl %edx, g_pa\n"                               \
    "        movl 12(%esp), %edx\n"                           \
    "        movl %edx, g_pa+4\n"                             \
    "        movl 16(%esp), %edx\n"                           \
    "        movl %edx, g_pa+8\n"                             \
    "        lret " release "\n"

uint32_t probe_ds(void), probe_es(void), probe_fs(void), probe_gs(void), probe_ss(void);
uint32_t probe_lar(void), probe_lsl(void);
uint32_t probe_ljmp(void), probe_lcall(void), probe_gate(void), probe_lcall_p(void);
uint32_t probe_int40(void), probe_int41(void), probe_int42(void), probe_int43(void);
uint32_t probe_read(void), probe_write(void), probe_fetch(void);
void land_jmp(void), land_call(void);
void land_gate0(void), land_gate1(void), land_gate2(void), land_gate3(void);
volatile uint32_t g_p[3], g_pa[3], g_esp0;
volatile int32_t g_espd;

__asm__(
    "        .text\n"
    SEGPROBE(probe_ds, ds)
    SEGPROBE(probe_es, es)
    SEGPROBE(probe_fs, fs)
    SEGPROBE(probe_gs, gs)
    /* SS: load, record, restore at once (no access through a random stack). */
    "        .globl probe_ss\n"
    "probe_ss:\n"
    "        pushl %ebx\n"
    "        movzwl g_sel, %edx\n"
    "        movw %ss, %bx\n"
    "        movl $1f, probe_resume\n"
    "        movw %dx, %ss\n"
    "        xorl %edx, %edx\n"
    "        movw %ss, %dx\n"
    "        movw %bx, %ss\n"
    "1:      movl %edx, g_seen\n"
    "        xorl %eax, %eax\n"
    "        popl %ebx\n"
    "        ret\n"
    /* LAR / LSL: EAX = result, g_seen = ZF. */
    "        .globl probe_lar\n"
    "probe_lar:\n"
    "        movl g_sel, %ecx\n"
    "        xorl %eax, %eax\n"
    "        larl %ecx, %eax\n"
    "        setz %dl\n"
    "        movzbl %dl, %edx\n"
    "        movl %edx, g_seen\n"
    "        ret\n"
    "        .globl probe_lsl\n"
    "probe_lsl:\n"
    "        movl g_sel, %ecx\n"
    "        xorl %eax, %eax\n"
    "        lsll %ecx, %eax\n"
    "        setz %dl\n"
    "        movzbl %dl, %edx\n"
    "        movl %edx, g_seen\n"
    "        ret\n"
    /* Far JMP to g_far; the landing records CS and jumps back through g_back. */
    "        .globl probe_ljmp\n"
    "probe_ljmp:\n"
    "        movl $0xFFFF, g_seen\n"
    "        movl $1f, probe_resume\n"
    "        movl $1f, g_back\n"
    "        ljmp *g_far\n"
    "1:      ret\n"
    "        .globl land_jmp\n"
    "land_jmp:\n"
    "        xorl %edx, %edx\n"
    "        movw %cs, %dx\n"
    "        movl %edx, g_seen\n"
    "        ljmp *g_back\n"
    /* Far CALL to g_far (a code segment or a call gate); the landing records CS
       (and SS for a gate) and returns with LRET. */
    "        .globl probe_lcall\n"
    "probe_lcall:\n"
    "        movl $0xFFFF, g_seen\n"
    "        movl $1f, probe_resume\n"
    "        lcall *g_far\n"
    "1:      ret\n"
    "        .globl land_call\n"
    "land_call:\n"
    "        xorl %edx, %edx\n"
    "        movw %cs, %dx\n"
    "        movl %edx, g_seen\n"
    "        lret\n"
    /* CALL through a gate with N parameters: the caller pushes three dwords (g_p[2], g_p[1],
       g_p[0]) and records how far ESP moved when the call is back; the landing N records
       SS:CS and the three dwords above the return address (the copied parameters and, past
       them, the caller's ESP and SS), and returns with LRET 4*N. */
    "        .globl probe_lcall_p\n"
    "probe_lcall_p:\n"
    "        movl $0xFFFF, g_seen\n"
    "        movl %esp, g_esp0\n"
    "        pushl g_p+8\n"
    "        pushl g_p+4\n"
    "        pushl g_p\n"
    "        movl $1f, probe_resume\n"
    "        lcall *g_far\n"
    "1:      movl %esp, %eax\n"
    "        subl g_esp0, %eax\n"
    "        movl %eax, g_espd\n"
    "        movl g_esp0, %esp\n"
    "        ret\n"
    LANDGATE(land_gate0, "")
    LANDGATE(land_gate1, "$4")
    LANDGATE(land_gate2, "$8")
    LANDGATE(land_gate3, "$12")
    /* INT n: the handler (on_int) records ring, IF and the saved SS. */
    "        .globl probe_int40\n"
    "probe_int40:\n"
    "        movl $1f, probe_resume\n"
    "        int $0x40\n"
    "1:      ret\n"
    "        .globl probe_int41\n"
    "probe_int41:\n"
    "        movl $1f, probe_resume\n"
    "        int $0x41\n"
    "1:      ret\n"
    "        .globl probe_int42\n"
    "probe_int42:\n"
    "        movl $1f, probe_resume\n"
    "        int $0x42\n"
    "1:      ret\n"
    "        .globl probe_int43\n"
    "probe_int43:\n"
    "        movl $1f, probe_resume\n"
    "        int $0x43\n"
    "1:      ret\n"
    /* Paging probes: read or write the dword at g_va. */
    "        .globl probe_read\n"
    "probe_read:\n"
    "        movl g_va, %ecx\n"
    "        xorl %eax, %eax\n"
    "        movl $1f, probe_resume\n"
    "        movl (%ecx), %eax\n"
    "1:      ret\n"
    "        .globl probe_write\n"
    "probe_write:\n"
    "        movl g_va, %ecx\n"
    "        movl g_val, %edx\n"
    "        xorl %eax, %eax\n"
    "        movl $1f, probe_resume\n"
    "        movl %edx, (%ecx)\n"
    "1:      ret\n"
    /* An instruction fetch at g_va, where a RET waits. A fault of the fetch comes after the
       CALL pushed its return address (1b), so the resumed RET at 1 returns to 1 first. */
    "        .globl probe_fetch\n"
    "probe_fetch:\n"
    "        movl g_va, %ecx\n"
    "        xorl %eax, %eax\n"
    "        movl $1f, probe_resume\n"
    "        call *%ecx\n"
    "1:      ret\n");

/* ---- running a probe at CPL 0 or 3 ---- */

static uint32_t (*user_probe)(void);
static volatile uint32_t user_result;

static void user_entry(void)
{
    user_result = user_probe();
    rt_user_exit(0);
}

static uint32_t run_probe(uint32_t (*probe)(void), int ring3)
{
    clear_fault();
    uint32_t r;
    if (ring3) {
        user_probe = probe;
        rt_run_user(user_entry, user_stack + sizeof user_stack);
        r = user_result;
    } else {
        r = probe();
    }
    probe_resume = 0;
    return r;
}

/* ---- descriptors ---- */

/*
 * A GDT entry as printed: the accessed bit of code descriptors is left out, since QEMU's TCG
 * does not set it when a far transfer loads CS (the SDM says the processor sets it on every
 * segment-register load; SegmentationTest pins that).
 */
static uint64_t shown(uint32_t sel)
{
    uint64_t d = sel & 4 ? ldt[(sel >> 3) & 3] : rt_gdt[(sel >> 3) & 15];
    return (d >> 43) & 1 ? d & ~(1ull << 40) : d;
}

static void gdt_raw(int index, uint32_t lo, uint32_t hi)
{
    rt_gdt[index] = (uint64_t)hi << 32 | lo;
}

/* A random code, data or system descriptor over the arena (limit in bytes). */
static void random_descriptor(int index, uint32_t *base, uint32_t *limit, uint8_t *access,
                              uint8_t *flags)
{
    uint32_t k = below(100);
    uint8_t acc;
    if (k < 55) acc = 0x10 | (below(4) == 0 ? 4 : 0) | (below(10) < 7 ? 2 : 0) | (rnd() & 1);
    else if (k < 85) acc = 0x18 | (below(4) == 0 ? 4 : 0) | (below(2) ? 2 : 0) | (rnd() & 1);
    else acc = below(16);
    acc |= (uint8_t)(below(4) << 5);
    if (below(10) != 0) acc |= 0x80;
    *base = (uint32_t)(uintptr_t)arena + below(0x8000);
    *limit = below(4) == 0 ? below(16) : below(0x10000);
    *flags = below(2) ? 0x4 : 0x0;             /* D/B; G=0: the limit is in bytes */
    *access = acc;
    rt_gdt_set(index, *base, *limit, acc, *flags);
    if (below(10) < 3) {
        /* Into the LDT instead (the GDT entry is built, then moved). */
        ldt[below(4)] = rt_gdt[index];
        rt_gdt[index] = 0;
    }
}

static uint32_t random_selector(void)
{
    uint32_t k = below(10);
    uint32_t index = k < 6 ? 8 + below(6) : k < 8 ? below(5) : k < 9 ? 0 : 16 + below(4);
    if (below(5) == 0) return below(6) << 3 | 4 | below(4);   /* LDT: entries 0-3, 4-5 past it */
    return index << 3 | below(4);
}

static void step_seg(uint32_t n)
{
    uint32_t base, limit;
    uint8_t access, flags;
    random_descriptor(8 + below(6), &base, &limit, &access, &flags);
    int reg = below(5);
    int ring3 = below(2);
    uint32_t sel = random_selector();
    if (reg == 4 && ring3) reg = 3;            /* SS at CPL 3 would need a ring-3 SS */
    g_sel = sel;
    g_access = 0;
    g_off = 0;
    /* The descriptor the selector names, if it is one of the random ones. */
    uint32_t idx = sel >> 3;
    int known = (sel & 4) ? idx < 4 : idx >= 8 && idx <= 13;
    if (known && reg != 4) {
        uint64_t d = sel & 4 ? ldt[idx] : rt_gdt[idx];
        uint8_t acc = (uint8_t)(d >> 40);
        uint32_t lim = (uint32_t)(d & 0xFFFF) | (uint32_t)((d >> 48) & 0xF) << 16;
        int sys = !(acc & 0x10), code = acc & 0x08, rd = code ? (acc & 2) : 1;
        int down = !code && (acc & 4);
        uint32_t upper = (d >> 54) & 1 ? 0xFFFFFFFFu : 0xFFFFu;
        if (!sys && rd) {
            if (!down && lim >= 3) {
                g_off = below(lim - 2);
                g_access = 1;
            } else if (down && upper - lim > 4) {
                uint32_t room = upper - lim - 4;
                g_off = lim + 1 + below(room < 0x8000 ? room : 0x8000);
                g_access = 1;
            }
        }
    }
    static uint32_t (*const probes[5])(void) = {probe_es, probe_ds, probe_fs, probe_gs, probe_ss};
    static const char names[5][3] = {"es", "ds", "fs", "gs", "ss"};
    uint32_t v = run_probe(probes[reg], ring3);
    char ft[64];
    fault_text(ft, sizeof ft);
    uint32_t seen = g_seen;
    uint32_t lar = 0, lar_zf = 0, lsl = 0, lsl_zf = 0;
    if (reg != 4) {
        lar = run_probe(probe_lar, ring3);
        lar_zf = g_seen;
        lsl = run_probe(probe_lsl, ring3);
        lsl_zf = g_seen;
    }
    printf("%04u seg ring%d %s=%x desc[%u]=%08x%08x off=%x%s -> %s sel=%x val=%x lar=%u:%x lsl=%u:%x\n",
           n, ring3 ? 3 : 0, names[reg], sel, (sel >> 3), (uint32_t)(shown(sel) >> 32),
           (uint32_t)shown(sel), g_off, g_access ? "" : "(no read)", ft, seen, v,
           lar_zf, lar_zf ? lar : 0, lsl_zf, lsl_zf ? lsl : 0);
}

static void step_far(uint32_t n)
{
    int kind = below(3);                       /* 0 jmp, 1 call, 2 call gate */
    int ring3 = below(2);
    uint32_t landing, params = 0;
    uint32_t sel;
    if (kind < 2) {
        uint8_t acc;
        uint32_t k = below(10);
        if (k < 8) acc = 0x18 | (below(3) == 0 ? 4 : 0) | (below(2) ? 2 : 0);
        else acc = 0x12;                       /* a data segment: #GP */
        acc |= (uint8_t)(below(4) << 5);
        if (below(10) != 0) acc |= 0x80;
        rt_gdt_set(14, 0, 0xFFFFF, acc, 0xC);
        sel = 14 << 3 | below(4);
        landing = (uint32_t)(uintptr_t)(kind == 0 ? land_jmp : land_call);
        g_back[1] = ring3 ? USER_CS : KERNEL_CS;
    } else {
        static void (*const lands[4])(void) = {land_gate0, land_gate1, land_gate2, land_gate3};
        params = below(4);
        landing = (uint32_t)(uintptr_t)lands[params];
        uint32_t dpl = below(4), present = below(10) != 0;
        gdt_raw(15, (KERNEL_CS << 16) | (landing & 0xFFFF),
                (landing & 0xFFFF0000u) | present << 15 | dpl << 13 | 0x0C00 | params);
        sel = 15 << 3 | below(4);
        for (int i = 0; i < 3; i++) g_p[i] = rnd();
        g_pa[0] = g_pa[1] = g_pa[2] = 0;
        g_espd = 0;
    }
    g_far[0] = landing;
    g_far[1] = sel;
    run_probe(kind == 0 ? probe_ljmp : kind == 1 ? probe_lcall : probe_lcall_p, ring3);
    char ft[64];
    fault_text(ft, sizeof ft);
    printf("%04u far ring%d %s %x desc=%08x%08x -> %s landed=%x", n, ring3 ? 3 : 0,
           kind == 0 ? "jmp" : kind == 1 ? "call" : "callgate", sel,
           (uint32_t)(shown(sel) >> 32), (uint32_t)shown(sel), ft, g_seen);
    if (kind == 2) {
        /* Above the return address of an inner call: the parameters, then the caller's ESP
           and SS, then the kernel stack's own contents (not shown). */
        int inner = ring3 && g_seen != 0xFFFF;
        uint32_t shown_words = inner && params + 2 < 3 ? params + 2 : 3;
        printf(" params=%u espd=%d pa=", params, g_espd);
        for (uint32_t i = 0; i < shown_words; i++) {
            uint32_t v = g_pa[i];
            /* The caller's ESP is shown relative to the user stack's top. */
            if (inner && i == params) v = (uint32_t)(uintptr_t)(user_stack + sizeof user_stack) - v;
            printf("%s%x", i ? "," : "", v);
        }
    }
    printf("\n");
}

static void on_int(struct rt_frame *f)
{
    if (f->eflags & 0x20000u) {
        v86_log_len += (uint32_t)snprintf(v86_log + v86_log_len, sizeof v86_log - v86_log_len, " int%x@%u",
                                          f->vector, f->eip & 0xFFFF);
        return;
    }
    int_ring = f->cs & 3;
    int_if = (read_eflags() >> 9) & 1;
    int_ss = (f->cs & 3) ? f->user_ss : 0;
    int_hits++;
}

static void step_int(uint32_t n)
{
    int v = below(4);
    uint8_t type = below(2) ? GATE_INT32 : GATE_TRAP32;
    uint8_t dpl = below(3) ? 3 : below(3);
    uint8_t ta = (uint8_t)((type & 0x7F) | dpl << 5 | (below(10) != 0 ? 0x80 : 0));
    rt_idt_stub(0x40 + v, ta);
    static uint32_t (*const probes[4])(void) = {probe_int40, probe_int41, probe_int42, probe_int43};
    int_hits = 0;
    int_ring = int_if = int_ss = 0;
    rt_user_eflags = 0x202;                    /* IF=1 (the PIC masks every line) */
    run_probe(probes[v], 1);
    rt_user_eflags = 0x2;
    char ft[64];
    fault_text(ft, sizeof ft);
    printf("%04u int ring3 0x%x gate=%02x -> %s hits=%u from=ring%u if=%u ss=%x\n", n, 0x40 + v, ta,
           ft, int_hits, int_ring, int_if, int_ss);
}

static void step_page(uint32_t n)
{
    uint32_t i = below(16);
    uint32_t pte = (below(100) < 85 ? P : 0) | (below(3) ? RW : 0) | (below(3) ? US : 0);
    pte |= (uint32_t)(uintptr_t)pool[below(16)];
    pt_play[i] = pte;
    uint32_t va = PLAY_VA + i * 4096 + below(1024) * 4;
    if (below(5) == 0) {
        pd[PLAY_VA >> 22] = (uint32_t)(uintptr_t)pt_play | P | (below(4) ? RW : 0) | (below(4) ? US : 0);
        write_cr3(read_cr3());
    } else {
        invlpg((void *)(uintptr_t)(PLAY_VA + i * 4096 + below(1024) * 4));
    }
    if (below(8) == 0) write_cr0(read_cr0() ^ CR0_WP);
    int ring3 = below(2), write = below(2);
    g_va = va;
    g_val = rnd();
    uint32_t v = run_probe(write ? probe_write : probe_read, ring3);
    char ft[64];
    fault_text(ft, sizeof ft);
    printf("%04u page ring%d %s %x pte=%x pde=%x wp=%u -> %s val=%x pte'=%x pde'=%x\n", n, ring3 ? 3 : 0,
           write ? "write" : "read", va, pte, pd[PLAY_VA >> 22] & 0xFFF, (read_cr0() >> 16) & 1, ft,
           write ? g_val : v, pt_play[i], pd[PLAY_VA >> 22] & 0xFFF);
}

static void step_large(uint32_t n)
{
    uint32_t pa = below(2) ? LARGE_PA1 : LARGE_PA0;
    uint32_t pde = pa | PS | P | (below(3) ? RW : 0) | (below(3) ? US : 0);
    pd[LARGE_VA >> 22] = pde;
    invlpg((void *)(uintptr_t)(LARGE_VA + below(1024) * 4096));
    int ring3 = below(2), write = below(3) == 0;
    g_va = LARGE_VA + below(1024) * 4096 + below(1024) * 4;
    g_val = rnd();
    uint32_t v = run_probe(write ? probe_write : probe_read, ring3);
    char ft[64];
    fault_text(ft, sizeof ft);
    printf("%04u large ring%d %s %x pde=%x -> %s val=%x pde'=%x\n", n, ring3 ? 3 : 0,
           write ? "write" : "read", g_va, pde, ft, write ? g_val : v, pd[LARGE_VA >> 22] & 0xFFF);
}

static volatile uint32_t tick_eip, tick_hits;
static void on_tick(struct rt_frame *f)
{
    /* Only the first delivery counts: under QEMU the PIT runs in real time, so an edge latched
     * before the probe and the probe's own edge can both land, or not, by host timing. Masking
     * IRQ 0 here makes the probe see exactly one interrupt, wherever the shadow lets it in. */
    if (tick_hits++ == 0)
        tick_eip = f->eip;
    pic_mask(0, 1);
    pic_eoi(0);
}

void shadow_sti(void), shadow_popf(void);
extern const char shadow_sti_start[], shadow_popf_start[];
__asm__(
    "        .globl shadow_sti\n"
    "shadow_sti:\n"
    "        xorl %ecx, %ecx\n"
    "shadow_sti_start:\n"
    "        sti\n"
    "        incl %ecx\n"
    "        incl %ecx\n"
    "        cli\n"
    "        movl %ecx, g_seen\n"
    "        ret\n"
    "        .globl shadow_popf\n"
    "shadow_popf:\n"
    "        xorl %ecx, %ecx\n"
    "        pushl $0x202\n"
    "shadow_popf_start:\n"
    "        popfl\n"
    "        incl %ecx\n"
    "        incl %ecx\n"
    "        cli\n"
    "        movl %ecx, g_seen\n"
    "        ret\n");

static void step_shadow(uint32_t n)
{
    int popf = below(2);
    pic_mask(0, 0);
    outb(0x43, 0x30);                          /* channel 0, lobyte/hibyte, mode 0 */
    outb(0x40, 50);
    outb(0x40, 0);
    uint32_t spins = 0;
    while (!(pic_read_irr() & 1) && spins < 10000000u) spins++;
    tick_hits = 0;
    if (popf) shadow_popf();
    else shadow_sti();
    pic_mask(0, 1);
    const char *start = popf ? shadow_popf_start : shadow_sti_start;
    printf("%04u shadow %s -> irr=%u hits=%u at=+%d ecx=%u\n", n, popf ? "popf" : "sti",
           spins < 10000000u, tick_hits, (int)(tick_eip - (uint32_t)(uintptr_t)start), g_seen);
}

static void step_v86(uint32_t n)
{
    uint8_t *code = (uint8_t *)(uintptr_t)(V86_SEG << 4);
    uint32_t iopl = below(2) ? 0 : 3;
    uint32_t at = 0;
    char shape[16];
    uint32_t count = 2 + below(6);
    for (uint32_t i = 0; i < sizeof v86_len; i++) v86_len[i] = 0;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t k = below(8);
        uint32_t start = at;
        switch (k) {
        case 0: code[at++] = 0xFA; break;                                   /* cli */
        case 1: code[at++] = 0xFB; break;                                   /* sti */
        case 2: code[at++] = 0x9C; break;                                   /* pushf */
        case 3: code[at++] = 0x9C; v86_len[at - 1] = 1; start = at; code[at++] = 0x9D; break; /* pushf; popf */
        case 4: code[at++] = 0xCD; code[at++] = (uint8_t)(0x40 + below(4)); break;   /* int 0x4n */
        case 5: code[at++] = 0xCC; break;                                   /* int3 */
        case 6: code[at++] = 0xE6; code[at++] = 0x80; break;                /* out 0x80, al */
        default: code[at++] = 0x90; break;                                  /* nop */
        }
        v86_len[start] = (uint8_t)(at - start);
        shape[i] = "cspPi3on"[k];
    }
    shape[count] = 0;
    code[at++] = 0xF4;                                                      /* hlt */
    v86_log_len = 0;
    v86_log[0] = 0;
    int_ss = int_if = 0;
    rt_run_v86(V86_SEG, 0, 0x20002u | iopl << 12);
    printf("%04u v86 iopl=%u %s ->%s end sp=%x flags=%x\n", n, iopl, shape, v86_log, int_ss, int_if);
}

/* Code written by step_trap: TF on, the random body, TF off, RET. */
static uint8_t tf_code[96] __attribute__((aligned(16)));
static volatile uint32_t tf_eips[24], tf_hits;

static void on_step(struct rt_frame *f)
{
    if (tf_hits < 24) tf_eips[tf_hits] = f->eip - (uint32_t)(uintptr_t)tf_code;
    tf_hits++;
}

static void step_trap(uint32_t n)
{
    static const uint8_t tf_on[] = {0x9C, 0x81, 0x0C, 0x24, 0x00, 0x01, 0x00, 0x00, 0x9D};
    static const uint8_t tf_off[] = {0x9C, 0x81, 0x24, 0x24, 0xFF, 0xFE, 0xFF, 0xFF, 0x9D, 0xC3};
    char shape[24];
    uint32_t at = 0, len = 0;
    for (uint32_t i = 0; i < sizeof tf_on; i++) tf_code[at++] = tf_on[i];
    int last_ss = 0;
    uint32_t count = 3 + below(8);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t k = below(5);
        if (last_ss && k >= 3) k = 0;
        switch (k) {
        case 0: tf_code[at++] = 0x90; shape[len++] = 'n'; break;                 /* nop */
        case 1: tf_code[at++] = 0x41; shape[len++] = 'i'; break;                 /* inc %ecx */
        case 2: tf_code[at++] = 0x9C; tf_code[at++] = 0x9D; shape[len++] = 'f'; break; /* pushf; popf */
        case 3:                                                                  /* mov %ss,%ax; mov %ax,%ss */
            tf_code[at++] = 0x66; tf_code[at++] = 0x8C; tf_code[at++] = 0xD0;
            tf_code[at++] = 0x8E; tf_code[at++] = 0xD0;
            shape[len++] = 'm';
            break;
        default: tf_code[at++] = 0x16; tf_code[at++] = 0x17; shape[len++] = 'p'; break; /* push/pop %ss */
        }
        last_ss = k >= 3;
    }
    shape[len] = 0;
    for (uint32_t i = 0; i < sizeof tf_off; i++) tf_code[at++] = tf_off[i];
    tf_hits = 0;
    __asm__ volatile("call *%0" : : "r"(tf_code) : "eax", "ecx", "memory", "cc");
    printf("%04u step %s -> %u #DB at", n, shape, tf_hits);
    for (uint32_t i = 0; i < tf_hits && i < 24; i++) printf(" %u", tf_eips[i]);
    printf("\n");
}

/* ---- task switches ---- */

#define TASK_INDEX 6
#define TASK_VECTOR 0x44
static struct tss32 b_tss __attribute__((aligned(128)));
static uint8_t b_stack[4096] __attribute__((aligned(16)));
volatile uint32_t tb_regs[8], tb_tr, tb_jmp_back, tb_runs;
uint32_t probe_task_jmp(void), probe_task_call(void), probe_task_int(void);
void task_entry(void);

__asm__(
    "        .text\n"
    /* The new task: records what it was given (EAX ECX EDX EBX EBP ESI EDI EFLAGS, TR),
       then goes back by JMP to the runtime's TSS or by IRET through the back link. */
    "        .globl task_entry\n"
    "task_entry:\n"
    "        movl %eax, tb_regs\n"
    "        movl %ecx, tb_regs+4\n"
    "        movl %edx, tb_regs+8\n"
    "        movl %ebx, tb_regs+12\n"
    "        movl %ebp, tb_regs+16\n"
    "        movl %esi, tb_regs+20\n"
    "        movl %edi, tb_regs+24\n"
    "        pushfl\n"
    "        popl tb_regs+28\n"
    "        xorl %eax, %eax\n"
    "        strw %ax\n"
    "        movl %eax, tb_tr\n"
    "        incl tb_runs\n"
    "        cmpl $0, tb_jmp_back\n"
    "        jz 1f\n"
    "        ljmp $0x28, $0\n"
    "        jmp task_entry\n"
    "1:      iret\n"
    "        jmp task_entry\n"
    "        .globl probe_task_jmp\n"
    "probe_task_jmp:\n"
    "        movl $1f, probe_resume\n"
    "        ljmp *g_far\n"
    "1:      ret\n"
    "        .globl probe_task_call\n"
    "probe_task_call:\n"
    "        movl $1f, probe_resume\n"
    "        lcall *g_far\n"
    "1:      ret\n"
    "        .globl probe_task_int\n"
    "probe_task_int:\n"
    "        movl $1f, probe_resume\n"
    "        int $0x44\n"
    "1:      ret\n");

static uint32_t busy(int index) { return (uint32_t)(rt_gdt[index] >> 41) & 1; }

static void step_task(uint32_t n)
{
    int kind = below(4);                       /* 0 jmp, 1 call, 2 call gate, 3 int gate */
    int ring3 = below(2);
    /* The new task's state: kernel segments, random registers and status flags. */
    for (uint32_t i = 0; i < sizeof b_tss; i++) ((uint8_t *)&b_tss)[i] = 0;
    b_tss.cr3 = read_cr3();
    b_tss.eip = (uint32_t)(uintptr_t)task_entry;
    b_tss.eflags = 0x2 | (rnd() & 0xCD5);      /* status flags, DF; IF and TF clear */
    b_tss.eax = rnd(); b_tss.ecx = rnd(); b_tss.edx = rnd(); b_tss.ebx = rnd();
    b_tss.ebp = rnd(); b_tss.esi = rnd(); b_tss.edi = rnd();
    b_tss.esp = (uint32_t)(uintptr_t)(b_stack + sizeof b_stack);
    b_tss.cs = KERNEL_CS;
    b_tss.ss = b_tss.ds = b_tss.es = KERNEL_DS;
    b_tss.fs = below(2) ? KERNEL_DS : 0;
    b_tss.gs = below(2) ? KERNEL_DS : 0;
    b_tss.ldt = 0x38;
    b_tss.iomap_base = sizeof b_tss;
    /* The runtime's TSS is where the old task's state goes, and what JMP and IRET come back to. */
    rt_tss_block.tss.cr3 = read_cr3();
    rt_tss_block.tss.ldt = 0x38;
    uint32_t k = below(20);
    uint8_t type = k < 15 ? 0x9 : k < 17 ? 0xB : k < 18 ? 0x2 : k < 19 ? 0xC : 0x3;
    uint8_t access = (uint8_t)(type | below(4) << 5 | (below(12) != 0 ? 0x80 : 0));
    uint32_t limit = below(8) != 0 ? sizeof b_tss - 1 : below(2) ? 0x66 : 0x2B;
    rt_gdt_set(TASK_INDEX, (uint32_t)(uintptr_t)&b_tss, limit, access, 0);
    uint32_t sel = TASK_INDEX << 3 | below(4);
    uint32_t gate = 0;
    if (kind == 2) {
        uint32_t dpl = below(4), present = below(10) != 0;
        gdt_raw(15, sel << 16, present << 15 | dpl << 13 | 0x0500);
        gate = 15 << 3 | below(4);
    } else if (kind == 3) {
        uint8_t ta = (uint8_t)(GATE_TASK & 0x7F) | (uint8_t)(below(3) ? 3 : below(3)) << 5;
        if (below(10) != 0) ta |= 0x80;
        rt_idt_gate(TASK_VECTOR, (uint16_t)sel, 0, ta);
        gate = ta;
    }
    g_far[0] = 0;
    g_far[1] = kind == 2 ? gate : sel;
    tb_jmp_back = kind == 0;
    tb_runs = 0;
    tb_tr = 0;
    for (int i = 0; i < 8; i++) tb_regs[i] = 0;
    rt_tss_block.tss.eip = 0;
    rt_tss_block.tss.eflags = 0;
    uint32_t (*probe)(void) = kind == 0 ? probe_task_jmp : kind == 3 ? probe_task_int : probe_task_call;
    run_probe(probe, ring3);
    uint32_t a_eip = rt_tss_block.tss.eip;
    char ft[64];
    fault_text(ft, sizeof ft);
    static const char *const names[4] = {"jmp", "call", "callgate", "int"};
    printf("%04u task ring%d %s sel=%x gate=%x desc=%08x%08x -> %s runs=%u tr=%x regs=%x,%x,%x,%x,%x,%x,%x"
           " fl=%x link=%x busy=%u,%u a.eip=+%x a.fl=%x b.eip=+%x b.fl=%x\n",
           n, ring3 ? 3 : 0, names[kind], sel, gate, (uint32_t)(rt_gdt[TASK_INDEX] >> 32),
           (uint32_t)rt_gdt[TASK_INDEX], ft, tb_runs, tb_tr, tb_regs[0], tb_regs[1], tb_regs[2],
           tb_regs[3], tb_regs[4], tb_regs[5], tb_regs[6], tb_regs[7], b_tss.link,
           busy(RT_TSS_INDEX), busy(TASK_INDEX), a_eip ? a_eip - (uint32_t)(uintptr_t)probe : 0,
           rt_tss_block.tss.eflags,
           tb_runs ? b_tss.eip - (uint32_t)(uintptr_t)task_entry : 0, tb_runs ? b_tss.eflags : 0);
    /* Put TR's descriptor back to busy whatever happened (a fault leaves it so anyway). */
    rt_gdt[RT_TSS_INDEX] |= 1ull << 41;
}

/* ---- system instructions ---- */

volatile uint32_t g_a;
volatile uint32_t g_mem[2] __attribute__((aligned(8)));
volatile uint32_t g_bounds[2] __attribute__((aligned(8)));
volatile uint32_t se_cs, se_ss, se_esp, se_fl, se_ucs, se_uss, se_uesp, se_ufl, se_user, se_sp;
static uint8_t se_stack[1024] __attribute__((aligned(16)));

uint32_t probe_verr(void), probe_verw(void), probe_bound32(void), probe_bound16(void);
uint32_t probe_sldt32(void), probe_sldt16(void), probe_str32(void), probe_str16(void);
uint32_t probe_smsw32(void), probe_smsw16(void), probe_sldtm(void), probe_strm(void);
uint32_t probe_smswm(void), probe_sgdt32(void), probe_sgdt16(void), probe_sidt32(void);
uint32_t probe_sidt16(void), probe_lmsw(void), probe_clts(void);
uint32_t probe_sysenter(void), probe_sysexit(void);
void sysenter_land(void), sysexit_land(void);

/* A probe that loads EAX from g_a, runs one instruction (resuming after it on a fault) and
   returns EAX. */
#define REGPROBE(name, insn)                                  \
    "        .globl " #name "\n"                              \
    #name ":\n"                                               \
    "        movl g_a, %eax\n"                                \
    "        movl $1f, probe_resume\n"                        \
    "        " insn "\n"                                      \
    "1:      ret\n"
/* MOV from and to DRn: EAX = DRn, or DRn = g_a. */
#define DRPROBES(n)                                           \
    REGPROBE(probe_rdr##n, "movl %db" #n ", %eax")           \
    REGPROBE(probe_wdr##n, "movl %eax, %db" #n)
uint32_t probe_rdr0(void), probe_rdr1(void), probe_rdr2(void), probe_rdr3(void);
uint32_t probe_rdr4(void), probe_rdr5(void), probe_rdr6(void), probe_rdr7(void);
uint32_t probe_wdr0(void), probe_wdr1(void), probe_wdr2(void), probe_wdr3(void);
uint32_t probe_wdr4(void), probe_wdr5(void), probe_wdr6(void), probe_wdr7(void);

__asm__(
    "        .text\n"
    REGPROBE(probe_verr, "movl g_sel, %ecx; xorl %eax, %eax; verr %cx; setz %al")
    REGPROBE(probe_verw, "movl g_sel, %ecx; xorl %eax, %eax; verw %cx; setz %al")
    REGPROBE(probe_bound32, "bound %eax, g_bounds")
    REGPROBE(probe_bound16, "bound %ax, g_bounds")
    REGPROBE(probe_sldt32, "sldt %eax")
    REGPROBE(probe_sldt16, "sldt %ax")
    REGPROBE(probe_str32, "str %eax")
    REGPROBE(probe_str16, "str %ax")
    REGPROBE(probe_smsw32, "smsw %eax")
    REGPROBE(probe_smsw16, "smsw %ax")
    REGPROBE(probe_sldtm, "sldt g_mem")
    REGPROBE(probe_strm, "str g_mem")
    REGPROBE(probe_smswm, "smsw g_mem")
    REGPROBE(probe_sgdt32, "sgdtl g_mem")
    REGPROBE(probe_sgdt16, "sgdtw g_mem")
    REGPROBE(probe_sidt32, "sidtl g_mem")
    REGPROBE(probe_sidt16, "sidtw g_mem")
    REGPROBE(probe_lmsw, "lmsw %ax")
    REGPROBE(probe_clts, "clts")
    REGPROBE(probe_sysexit, "sysexit")
    DRPROBES(0) DRPROBES(1) DRPROBES(2) DRPROBES(3)
    DRPROBES(4) DRPROBES(5) DRPROBES(6) DRPROBES(7)
    /* SYSENTER from CPL 0 or 3. The landing (CPL 0, CS and SS from the MSR) records what it
       was given; from CPL 3 it goes back by SYSEXIT to sysexit_land (ESP as it was), which
       records that and ends the user run; from CPL 0 it reloads the kernel's SS and ESP and
       jumps back to se_resume. */
    "        .globl probe_sysenter\n"
    "probe_sysenter:\n"
    "        movl $se_resume, probe_resume\n"
    "        pushl g_a\n"
    "        popfl\n"
    "        movl %esp, se_sp\n"
    "        sysenter\n"
    "se_resume:\n"
    "        ret\n"
    "        .globl sysenter_land\n"
    "sysenter_land:\n"
    "        pushfl\n"
    "        popl se_fl\n"
    "        movl %esp, se_esp\n"
    "        xorl %eax, %eax\n"
    "        movw %cs, %ax\n"
    "        movl %eax, se_cs\n"
    "        movw %ss, %ax\n"
    "        movl %eax, se_ss\n"
    "        cmpl $0, se_user\n"
    "        jz 2f\n"
    "        movl se_sp, %ecx\n"
    "        movl $sysexit_land, %edx\n"
    "        sysexit\n"
    "2:      movw $0x10, %ax\n"
    "        movw %ax, %ss\n"
    "        movl se_sp, %esp\n"
    "        ljmp $0x08, $se_resume\n"
    "        .globl sysexit_land\n"
    "sysexit_land:\n"
    "        movl %esp, se_uesp\n"
    "        pushfl\n"
    "        popl se_ufl\n"
    "        xorl %eax, %eax\n"
    "        movw %cs, %ax\n"
    "        movl %eax, se_ucs\n"
    "        movw %ss, %ax\n"
    "        movl %eax, se_uss\n"
    "        xorl %eax, %eax\n"
    "        int $0x81\n");

static uint32_t (*const rdr[8])(void) = {probe_rdr0, probe_rdr1, probe_rdr2, probe_rdr3,
                                         probe_rdr4, probe_rdr5, probe_rdr6, probe_rdr7};
static uint32_t (*const wdr[8])(void) = {probe_wdr0, probe_wdr1, probe_wdr2, probe_wdr3,
                                         probe_wdr4, probe_wdr5, probe_wdr6, probe_wdr7};

static void wrmsr32(uint32_t msr, uint32_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"(v), "d"(0) : "memory");
}

static uint32_t rdmsr32(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return lo;
}

static uint32_t read_dr(int n)
{
    uint32_t v = 0;
    switch (n) {
    case 0: __asm__ volatile("movl %%db0, %0" : "=r"(v)); break;
    case 1: __asm__ volatile("movl %%db1, %0" : "=r"(v)); break;
    case 2: __asm__ volatile("movl %%db2, %0" : "=r"(v)); break;
    case 3: __asm__ volatile("movl %%db3, %0" : "=r"(v)); break;
    case 6: __asm__ volatile("movl %%db6, %0" : "=r"(v)); break;
    default: __asm__ volatile("movl %%db7, %0" : "=r"(v)); break;
    }
    return v;
}

/* A value near the bounds (signed, of the operand's width) that BOUND compares. */
static int32_t near(int32_t v, int wide)
{
    int32_t x = v + (int32_t)below(7) - 3;
    return wide ? x : (int16_t)x;
}

/* One random system instruction from CPL 0 or 3: verr/verw, bound, sldt/str/smsw (register
   and memory forms), sgdt/sidt, lmsw, clts, MOV DR or SYSENTER/SYSEXIT. */
static void step_sys(uint32_t n)
{
    int ring3 = below(3) == 0;
    uint32_t k = below(100);
    char ft[64];
    if (k < 14) {                                /* verr / verw of a random selector */
        uint32_t base, limit;
        uint8_t access, flags;
        random_descriptor(8 + below(6), &base, &limit, &access, &flags);
        int w = below(2);
        g_sel = random_selector();
        uint32_t zf = run_probe(w ? probe_verw : probe_verr, ring3);
        fault_text(ft, sizeof ft);
        printf("%04u sys ring%d %s %x desc=%08x%08x -> %s zf=%u\n", n, ring3 ? 3 : 0,
               w ? "verw" : "verr", g_sel, (uint32_t)(shown(g_sel) >> 32), (uint32_t)shown(g_sel),
               ft, zf);
    } else if (k < 28) {                         /* bound */
        int wide = below(2);
        int32_t index = (int32_t)(below(4) == 0 ? rnd() : below(2) ? below(64) : 0x7FFE + below(4));
        if (!wide) index = (int16_t)index;
        int32_t lo = near(index, wide), hi = near(index, wide);
        if (below(4) == 0) { int32_t t = lo; lo = hi; hi = t; }
        if (wide) { g_bounds[0] = (uint32_t)lo; g_bounds[1] = (uint32_t)hi; }
        else g_bounds[0] = ((uint32_t)hi << 16) | ((uint32_t)lo & 0xFFFF);
        g_a = (uint32_t)index;
        run_probe(wide ? probe_bound32 : probe_bound16, ring3);
        fault_text(ft, sizeof ft);
        printf("%04u sys ring%d bound%d %x in [%x, %x] -> %s\n", n, ring3 ? 3 : 0, wide ? 32 : 16,
               (uint32_t)index, (uint32_t)lo, (uint32_t)hi, ft);
    } else if (k < 46) {                         /* stores of system registers */
        static uint32_t (*const probes[13])(void) = {
            probe_sldt32, probe_sldt16, probe_str32, probe_str16, probe_smsw32, probe_smsw16,
            probe_sldtm, probe_strm, probe_smswm, probe_sgdt32, probe_sgdt16, probe_sidt32,
            probe_sidt16};
        static const char names[13][8] = {"sldt32", "sldt16", "str32", "str16", "smsw32",
                                          "smsw16", "sldtm", "strm", "smswm", "sgdt32", "sgdt16",
                                          "sidt32", "sidt16"};
        uint32_t which = below(13);
        uint32_t cr0 = read_cr0();
        write_cr0((cr0 & ~0xEu) | (rnd() & 0xEu));   /* MP, EM, TS for SMSW to see */
        g_a = rnd();
        g_mem[0] = rnd();
        g_mem[1] = rnd();
        uint32_t r = run_probe(probes[which], ring3);
        write_cr0(cr0);
        fault_text(ft, sizeof ft);
        printf("%04u sys ring%d %s -> %s eax=%x mem=%08x%08x\n", n, ring3 ? 3 : 0, names[which], ft,
               r, g_mem[1], g_mem[0]);
    } else if (k < 58) {                         /* lmsw / clts, then CR0 */
        int clts = below(2);
        uint32_t cr0 = read_cr0();
        write_cr0((cr0 & ~0xEu) | (rnd() & 0xEu));
        uint32_t before = read_cr0();
        g_a = rnd();
        run_probe(clts ? probe_clts : probe_lmsw, ring3);
        uint32_t after = read_cr0();
        write_cr0(cr0);
        fault_text(ft, sizeof ft);
        printf("%04u sys ring%d %s %x cr0=%x -> %s cr0=%x\n", n, ring3 ? 3 : 0,
               clts ? "clts" : "lmsw", clts ? 0 : g_a & 0xFFFF, before, ft, after);
    } else if (k < 82) {                         /* MOV DR */
        /* Neither CR4.DE nor DR7.GD is tried here: Hospes's CPUID has no DE (so setting
           CR4.DE is #GP, and DR4/DR5 always alias DR6/DR7), and QEMU's TCG does not implement
           general detect (DebugRegistersTest checks it against the SDM). Breakpoints stay
           disabled (L0-3, G0-3 clear), and DR7 bits 11, 12, 14 and 15 are not written: QEMU's
           TCG keeps what is written there. */
        int reg = below(8), write = below(2);
        uint32_t v = rnd();
        if (reg == 4 || reg == 6) v &= 0xE00Fu;
        else if (reg == 5 || reg == 7) v &= 0xFFFF0300u;
        g_a = v;
        uint32_t r = run_probe(write ? wdr[reg] : rdr[reg], ring3);
        fault_text(ft, sizeof ft);
        uint32_t dr6 = read_dr(6), dr7 = read_dr(7), drn = reg < 4 ? read_dr(reg) : 0;
        __asm__ volatile("movl %0, %%db7" : : "r"(0x400u));
        __asm__ volatile("movl %0, %%db6" : : "r"(0xFFFF0FF0u));
        printf("%04u sys ring%d %s dr%d %x -> %s read=%x dr6=%x dr7=%x dr%d=%x\n",
               n, ring3 ? 3 : 0, write ? "write" : "read", reg, write ? v : 0, ft,
               write ? 0 : r, dr6, dr7, reg < 4 ? reg : 0, drn);
    } else if (k < 95) {                         /* SYSENTER (and SYSEXIT back) */
        uint32_t c = below(10);
        uint32_t cs = c < 2 ? 0 : c < 6 ? KERNEL_CS : c < 7 ? KERNEL_CS | 3 : c < 8 ? 0x30 : 0x48 | below(4);
        uint32_t esp = (uint32_t)(uintptr_t)(se_stack + sizeof se_stack) - 4 * below(4);
        wrmsr32(0x174, cs);
        wrmsr32(0x175, esp);
        wrmsr32(0x176, (uint32_t)(uintptr_t)sysenter_land);
        /* Status flags (not DF: the kernel's C code runs after a fault with the flags the
           probe left), and IF from CPL 3 only (the kernel keeps it clear). */
        uint32_t fl = 0x2 | (rnd() & 0x8D5u) | (ring3 && below(2) ? 0x200 : 0);
        se_cs = se_ss = se_esp = se_fl = se_ucs = se_uss = se_uesp = se_ufl = 0;
        se_user = ring3;
        g_a = fl;
        rt_user_eflags = fl & 0x200 ? 0x202 : 0x2;
        run_probe(probe_sysenter, ring3);
        rt_user_eflags = 0x2;
        fault_text(ft, sizeof ft);
        printf("%04u sys ring%d sysenter cs=%x/%x esp=-%x fl=%x -> %s k=%x:%x esp=-%x fl=%x u=%x:%x"
               " esp=%x fl=%x\n", n, ring3 ? 3 : 0, cs, rdmsr32(0x174),
               (uint32_t)(uintptr_t)(se_stack + sizeof se_stack) - rdmsr32(0x175), fl, ft,
               se_cs, se_ss, se_esp ? (uint32_t)(uintptr_t)(se_stack + sizeof se_stack) - se_esp : 0,
               se_fl, se_ucs, se_uss, se_uesp ? se_sp - se_uesp : 0, se_ufl);
    } else {                                     /* SYSEXIT at CPL 3: #GP */
        wrmsr32(0x174, below(4) ? KERNEL_CS : 0);
        run_probe(probe_sysexit, 1);
        fault_text(ft, sizeof ft);
        printf("%04u sys ring3 sysexit cs=%x -> %s\n", n, rdmsr32(0x174), ft);
    }
}

/* ---- interrupt-gate checks ---- */

/* Above the runtime's user-exit vector (0x81), so that a limit ending at this gate still lets
   a CPL-3 probe end its run. */
#define IDT_VECTOR 0x85
#define IDT_CS_INDEX 14
extern const char rt_exc_stub_base[];
volatile uint32_t g_adv, g_frame[3];
uint32_t probe_int85(void), probe_ud2(void);
void intv_land(void);

__asm__(
    "        .text\n"
    "        .globl probe_int85\n"
    "probe_int85:\n"
    "        movl $1f, probe_resume\n"
    "        int $0x85\n"
    "1:      ret\n"
    "        .globl probe_ud2\n"
    "probe_ud2:\n"
    "        movl $1f, probe_resume\n"
    "        ud2\n"
    "1:      ret\n"
    /* The gate's handler, at whatever CPL its code segment gives: records SS:CS and the
       frame (EIP, CS, EFLAGS), steps over UD2 (g_adv), counts the hit and returns. */
    "        .globl intv_land\n"
    "intv_land:\n"
    "        pushl %eax\n"
    "        xorl %eax, %eax\n"
    "        movw %ss, %ax\n"
    "        shll $16, %eax\n"
    "        movw %cs, %ax\n"
    "        movl %eax, g_seen\n"
    "        movl 4(%esp), %eax\n"
    "        movl %eax, g_frame\n"
    "        addl g_adv, %eax\n"
    "        movl %eax, 4(%esp)\n"
    "        movl 8(%esp), %eax\n"
    "        movl %eax, g_frame+4\n"
    "        movl 12(%esp), %eax\n"
    "        movl %eax, g_frame+8\n"
    "        incl int_hits\n"
    "        popl %eax\n"
    "        iret\n");

static void load_idt_limit(uint16_t limit)
{
    struct { uint16_t limit; uint32_t base; } __attribute__((packed)) d;
    __asm__ volatile("sidt %0" : "=m"(d));
    d.limit = limit;
    __asm__ volatile("lidt %0" : : "m"(d));
}

/*
 * INT 0x85 (or UD2, whose #UD is an event the program did not ask for: EXT set in the error
 * code of a fault during its delivery) from CPL 0 or 3 through a random gate: type (interrupt,
 * trap, or a type that is no gate here), DPL, P, and a target selector that is the kernel's
 * code, the user's, a data segment, null, past the GDT, or entry 14 holding a random code
 * descriptor (DPL, conforming, present) or a data one; sometimes the IDT limit ends just at or
 * before the gate, and sometimes the #GP gate is not present (a fault delivering the fault is
 * then #DF).
 */
static void step_idt(uint32_t n)
{
    int ring3 = below(2), ud = below(4) == 0;
    uint32_t vector = ud ? 6 : IDT_VECTOR;
    uint32_t t = below(10);
    uint8_t type = t < 5 ? 0xE : t < 8 ? 0xF : t < 9 ? 0xC : below(2) ? 0x0 : 0x9;
    uint8_t ta = (uint8_t)(type | (below(3) ? 3u : below(3)) << 5 | (below(12) != 0 ? 0x80 : 0));
    uint32_t k = below(12);
    uint32_t sel = k < 5 ? KERNEL_CS : k < 6 ? USER_CS : k < 7 ? KERNEL_DS : k < 8 ? 0 + below(4)
                 : k < 9 ? (16 + below(8)) << 3 : IDT_CS_INDEX << 3 | below(4);
    /* Entry 14: flat code (or data), random DPL, conforming and present bits. */
    uint8_t acc = below(10) ? (uint8_t)(0x1A | (below(3) == 0 ? 4 : 0)) : 0x12;
    acc |= (uint8_t)(below(4) << 5 | (below(10) != 0 ? 0x80 : 0));
    rt_gdt_set(IDT_CS_INDEX, 0, 0xFFFFF, acc, 0xC);
    /* 0: the limit ends at the gate's last byte, 1: short of it (not for #UD, whose #GP and
       #DF gates would be past the limit too: a triple fault). */
    uint32_t lim = ud ? 2 : below(8);
    int df = below(10) == 0;
    rt_idt_gate((int)vector, (uint16_t)sel, (uint32_t)(uintptr_t)intv_land, ta);
    rt_on_trap(8, on_fault);
    if (df) rt_idt_gate(13, KERNEL_CS, (uint32_t)(uintptr_t)(rt_exc_stub_base + 16 * 13), 0x0E);
    int_hits = 0;
    g_seen = 0;
    g_frame[0] = g_frame[1] = g_frame[2] = 0;
    g_adv = ud ? 2 : 0;
    if (lim < 2) load_idt_limit((uint16_t)(vector * 8 + 7 - lim * 4));
    uint32_t (*probe)(void) = ud ? probe_ud2 : probe_int85;
    run_probe(probe, ring3);
    load_idt_limit(256 * 8 - 1);
    rt_idt_gate(13, KERNEL_CS, (uint32_t)(uintptr_t)(rt_exc_stub_base + 16 * 13), 0x8E);
    rt_idt_gate((int)vector, KERNEL_CS, (uint32_t)(uintptr_t)(rt_exc_stub_base + 16 * vector), 0x8E);
    if (ud) rt_on_trap(6, on_fault);
    rt_on_trap(8, NULL);
    /* QEMU's TCG never sets EXT in the error code of a fault met delivering an exception;
       the SDM does (6.13), and so does Hospes (ExceptionDeliveryErrorCodeTest). Not shown. */
    if (ud && f_vec >= 10 && f_vec <= 13) f_err &= ~1u;
    char ft[64];
    fault_text(ft, sizeof ft);
    printf("%04u idt ring%d %s gate=%02x sel=%x desc=%08x%08x lim=%s%s -> %s hits=%u ss:cs=%x"
           " frame=+%x,%x,%x\n", n, ring3 ? 3 : 0, ud ? "ud2" : "int85", ta, sel,
           (uint32_t)(shown(sel) >> 32), (uint32_t)shown(sel),
           lim == 0 ? "gate" : lim == 1 ? "short" : "full", df ? " no#GPgate" : "", ft, int_hits,
           g_seen, int_hits ? g_frame[0] - (uint32_t)(uintptr_t)probe : 0, g_frame[1], g_frame[2]);
}

/* ---- I/O instructions and the I/O permission bitmap ---- */

#define SCR_PORT 0x3FF                         /* COM1's scratch register: a byte that keeps */
volatile uint32_t g_port, g_cnt, g_ptr;
uint32_t probe_inb_dx(void), probe_outb_dx(void), probe_inw_dx(void), probe_outw_dx(void);
uint32_t probe_inl_dx(void), probe_outl_dx(void), probe_insb(void), probe_outsb(void);

/* DX = g_port, EAX = g_a; ECX = g_cnt, EDI/ESI = g_ptr for the string forms (REP, with DF as
   g_val's bit 10), which leave ECX and EDI/ESI in g_cnt and g_ptr, faulted or not. */
#define IOPROBE(name, insn)                                   \
    "        .globl " #name "\n"                              \
    #name ":\n"                                               \
    "        movl g_port, %edx\n"                             \
    "        movl g_a, %eax\n"                                \
    "        movl $1f, probe_resume\n"                        \
    "        " insn "\n"                                      \
    "1:      ret\n"
#define STRPROBE(name, insn, ptr)                             \
    "        .globl " #name "\n"                              \
    #name ":\n"                                               \
    "        pushl %edi\n"                                    \
    "        pushl %esi\n"                                    \
    "        movl g_port, %edx\n"                             \
    "        movl g_cnt, %ecx\n"                              \
    "        movl g_ptr, %" ptr "\n"                          \
    "        testl $0x400, g_val\n"                           \
    "        jz 2f\n"                                         \
    "        std\n"                                           \
    "2:      movl $1f, probe_resume\n"                        \
    "        " insn "\n"                                      \
    "1:      cld\n"                                           \
    "        movl %ecx, g_cnt\n"                              \
    "        movl %" ptr ", g_ptr\n"                          \
    "        popl %esi\n"                                     \
    "        popl %edi\n"                                     \
    "        ret\n"

__asm__(
    "        .text\n"
    IOPROBE(probe_inb_dx, "inb %dx, %al")
    IOPROBE(probe_outb_dx, "outb %al, %dx")
    IOPROBE(probe_inw_dx, "inw %dx, %ax")
    IOPROBE(probe_outw_dx, "outw %ax, %dx")
    IOPROBE(probe_inl_dx, "inl %dx, %eax")
    IOPROBE(probe_outl_dx, "outl %eax, %dx")
    STRPROBE(probe_insb, "rep insb", "edi")
    STRPROBE(probe_outsb, "rep outsb", "esi"));

/*
 * I/O from CPL 0 or 3, at IOPL 0 or 3 (the bitmap is consulted only at CPL 3 above IOPL):
 * IN or OUT of a byte at the scratch register, whose bit in the bitmap is random; a word or
 * dword at ports that end at or cross 0x3FF, at CPL 3 and IOPL 0, with one covered port's bit
 * set (so always #GP(0): an allowed one would touch the UART's other registers); or REP
 * INSB / OUTSB of 0-5 bytes at the scratch register, either direction, into or out of a
 * buffer that may end at a page whose successor is not present (a #PF part way). Then the
 * scratch register as CPL 0 reads it.
 */
static void step_io(uint32_t n)
{
    int ring3 = below(2), iopl3 = below(4) == 0;
    uint32_t k = below(10);
    char ft[64];
    for (uint32_t p = 0x3F8; p <= 0x400; p++) rt_io_allow((uint16_t)p, 0);
    outb(SCR_PORT, (uint8_t)rnd());
    rt_user_eflags = iopl3 ? 0x3002 : 0x2;
    if (k < 4) {                                 /* IN / OUT of a byte */
        int out = below(2), allowed = below(2);
        rt_io_allow(SCR_PORT, allowed);
        g_port = SCR_PORT;
        g_a = rnd();
        uint32_t r = run_probe(out ? probe_outb_dx : probe_inb_dx, ring3);
        fault_text(ft, sizeof ft);
        printf("%04u io ring%d iopl=%u bit=%u %s 3ff %x -> %s al=%x scr=%x\n", n, ring3 ? 3 : 0,
               iopl3 ? 3 : 0, !allowed, out ? "outb" : "inb", out ? g_a & 0xFF : 0, ft,
               out ? 0 : r & 0xFF, inb(SCR_PORT));
    } else if (k < 6) {                          /* a word or dword with a denied port */
        int wide = below(2), out = below(2);
        uint32_t len = wide ? 4 : 2;
        uint32_t port = 0x400 - len + below(2);  /* ends at 0x3FF or crosses to 0x400 */
        uint32_t denied = port + below(len);
        for (uint32_t p = port; p < port + len; p++) rt_io_allow((uint16_t)p, p != denied);
        g_port = port;
        g_a = rnd();
        rt_user_eflags = 0x2;
        static uint32_t (*const probes[4])(void) = {probe_inw_dx, probe_outw_dx, probe_inl_dx,
                                                   probe_outl_dx};
        run_probe(probes[wide * 2 + out], 1);
        fault_text(ft, sizeof ft);
        printf("%04u io ring3 iopl=0 %s%u %x denied=%x -> %s scr=%x\n", n, out ? "out" : "in",
               len * 8, port, denied, ft, inb(SCR_PORT));
    } else {                                     /* REP INSB / OUTSB */
        int out = below(2), allowed = below(3) != 0;
        rt_io_allow(SCR_PORT, allowed);
        uint32_t count = below(6), down = below(3) == 0, edge = below(2);
        uint8_t *buf;
        uint32_t page = below(15);
        if (edge) {
            /* Up (DF=0): the buffer ends in page and page+1 is not present; down (DF=1): it
               starts page+1 and page is not present. */
            pt_play[page] = down ? 0 : (uint32_t)(uintptr_t)pool[page] | P | RW | US;
            pt_play[page + 1] = down ? (uint32_t)(uintptr_t)pool[page + 1] | P | RW | US : 0;
            invlpg((void *)(uintptr_t)(PLAY_VA + page * 4096));
            invlpg((void *)(uintptr_t)(PLAY_VA + (page + 1) * 4096));
            buf = (uint8_t *)(uintptr_t)(PLAY_VA + (page + 1) * 4096
                                         + (down ? (int)below(3) : -1 - (int)below(3)));
        } else {
            buf = arena + 0x100 + below(0x100);
        }
        if (!edge) for (int i = -6; i < 6; i++) buf[i] = (uint8_t)rnd();
        g_port = SCR_PORT;
        g_cnt = count;
        g_ptr = (uint32_t)(uintptr_t)buf;
        g_val = down ? 0x400 : 0;
        uint32_t start = g_ptr;
        run_probe(out ? probe_outsb : probe_insb, ring3);
        fault_text(ft, sizeof ft);
        printf("%04u io ring%d iopl=%u bit=%u rep %s n=%u df=%u at=%s%x -> %s ecx=%x moved=%d scr=%x",
               n, ring3 ? 3 : 0, iopl3 ? 3 : 0, !allowed, out ? "outsb" : "insb", count, down,
               edge ? "edge-" : "", (uint32_t)(uintptr_t)buf & 0xFFF, ft, g_cnt,
               (int)(g_ptr - start), inb(SCR_PORT));
        if (!edge) {
            printf(" buf=");
            for (int i = -5; i < 6; i++) printf("%02x", buf[i]);
        }
        printf("\n");
        if (edge) {
            pt_play[page] = (uint32_t)(uintptr_t)pool[page] | P | RW | US;
            pt_play[page + 1] = (uint32_t)(uintptr_t)pool[page + 1] | P | RW | US;
            invlpg((void *)(uintptr_t)(PLAY_VA + page * 4096));
            invlpg((void *)(uintptr_t)(PLAY_VA + (page + 1) * 4096));
        }
    }
    rt_user_eflags = 0x2;
    for (uint32_t p = 0x3F8; p <= 0x400; p++) rt_io_allow((uint16_t)p, 0);
}

/* ---- PAE paging ---- */

static uint64_t pae_pdpt[4] __attribute__((aligned(32)));
static uint64_t pae_pd0[512] __attribute__((aligned(4096)));
static uint64_t pae_pt[512] __attribute__((aligned(4096)));
static int pae_ready;

/* 0-8 MiB identity in 2 MiB user pages (the kernel, its stacks and the pool), the 2 MiB at
   PLAY_VA through pae_pt, pdpt entries 1-3 not present. */
static void pae_init(void)
{
    for (uint32_t k = 0; k < 4; k++) pae_pd0[k] = (uint64_t)(k << 21) | PS | P | RW | US;
    pae_pdpt[0] = (uint32_t)(uintptr_t)pae_pd0 | P;
    pae_ready = 1;
}

static void set_paging(int pae)
{
    uint32_t cr0 = read_cr0();
    write_cr0(cr0 & ~CR0_PG);
    write_cr4(pae ? read_cr4() | CR4_PAE : read_cr4() & ~CR4_PAE);
    write_cr3(pae ? (uint32_t)(uintptr_t)pae_pdpt : (uint32_t)(uintptr_t)pd);
    write_cr0(cr0);
}

/* A reserved bit of a PAE entry: 36-51 (past MAXPHYADDR) or 63 (XD, with EFER.NXE clear). */
static uint64_t pae_reserved_bit(void)
{
    return below(4) == 0 ? 1ull << 63 : 1ull << (36 + below(16));
}

/*
 * With PAE paging: a random PTE in the window (P, R/W, U/S, a pool frame, sometimes a
 * reserved bit), a random PDE over it (R/W, U/S, sometimes not present or a reserved bit, or
 * a 2 MiB page with bits 13-20 sometimes set), CR0.WP as step_page left it; then a read or
 * write from CPL 0 or 3, and the PTE and PDE after it (accessed and dirty bits). Bits 52-62,
 * which the SDM reserves in PAE entries and QEMU's TCG ignores there, are left alone; so are
 * the PDPTEs' reserved bits, which QEMU does not check at MOV CR3 (PdpteLoadTest pins them).
 */
static void step_pae(uint32_t n)
{
    if (!pae_ready) pae_init();
    char ft[64];
    uint32_t nxe = below(2);
    uint32_t i = below(16);
    uint64_t pte = (below(100) < 85 ? P : 0) | (below(3) ? RW : 0) | (below(3) ? US : 0);
    uint32_t frame = (uint32_t)(uintptr_t)pool[below(16)];
    pte |= frame;
    if (nxe && below(3) == 0) pte |= XD;
    if (below(8) == 0) pte |= pae_reserved_bit();
    for (uint32_t k = 0; k < 16; k++) pae_pt[k] = (uint32_t)(uintptr_t)pool[k] | P | RW | US;
    pae_pt[i] = pte;
    uint32_t kind = below(10);
    uint64_t pde;
    if (kind < 7) {
        pde = (uint32_t)(uintptr_t)pae_pt | P | (below(4) ? RW : 0) | (below(4) ? US : 0);
        if (nxe && below(4) == 0) pde |= XD;
        if (kind == 6) pde |= pae_reserved_bit();
    } else if (kind < 9) {
        /* A 2 MiB page over the pool's first 2 MiB-aligned block below it (frames 0-2 MiB). */
        pde = PS | P | (below(3) ? RW : 0) | (below(3) ? US : 0);
        if (nxe && below(3) == 0) pde |= XD;
        if (kind == 8) pde |= (uint64_t)1 << (13 + below(8));
    } else {
        pde = (uint32_t)(uintptr_t)pae_pt | RW | US;   /* not present */
    }
    pae_pd0[PLAY_VA >> 21] = pde;
    uint32_t va = PLAY_VA + i * 4096 + below(1024) * 4;
    int ring3 = below(2), access = below(3), write = access == 1;
    g_va = va;
    g_val = rnd();
    if (access == 2) {
        /* The RET the fetch would run, at the physical address va maps (through the
           identity mapping, paging as the kernel runs it). */
        uint32_t pa = kind == 7 || kind == 8 ? va - PLAY_VA : frame | (va & 0xFFF);
        *(volatile uint8_t *)(uintptr_t)pa = 0xC3;
    }
    uint32_t read_first = access == 2 && below(2);
    wrmsr32(MSR_EFER, nxe ? EFER_NXE : 0);
    set_paging(1);
    /* Sometimes a read before the fetch: a TLB or shadow entry filled for the data access must
       still refuse the fetch of an execute-disabled page. Its own outcome is not printed. */
    if (read_first) run_probe(probe_read, ring3);
    uint32_t v = run_probe(access == 2 ? probe_fetch : write ? probe_write : probe_read, ring3);
    set_paging(0);
    wrmsr32(MSR_EFER, 0);
    /* QEMU reports a reserved-bit #PF with P clear; the SDM sets P (the entry was present). */
    if (f_vec == 14 && (f_err & 8)) f_err &= ~1u;
    fault_text(ft, sizeof ft);
    uint64_t pte2 = pae_pt[i], pde2 = pae_pd0[PLAY_VA >> 21];
    printf("%04u pae nxe=%u ring%d %s %x pte=%08x%08x pde=%08x%08x wp=%u -> %s val=%x pte'=%x"
           " pde'=%x\n", n, nxe, ring3 ? 3 : 0, access == 2 ? "fetch" : write ? "write" : "read",
           va, (uint32_t)(pte >> 32), (uint32_t)pte,
           (uint32_t)(pde >> 32), (uint32_t)pde, (read_cr0() >> 16) & 1, ft,
           write ? g_val : (pde & PS) || access == 2 ? 0 : v, (uint32_t)pte2 & 0xFFF,
           (uint32_t)pde2 & 0xFFF);
}

static void digest(uint32_t n)
{
    uint32_t h = FNV_INIT;
    for (int f = 0; f < 16; f++)
        for (int k = 0; k < 4096; k += 4) h = fnv_u32(h, *(uint32_t *)&pool[f][k]);
    printf("%04u memory pool=%08x\n", n, h);
}

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic;
    char buf[24];
    uint32_t seed = 1, steps = 100;
    if (cmdline_value(mbi, "seed", buf, sizeof buf)) {
        seed = 0;
        for (char *p = buf; *p; p++) seed = seed * 10 + (uint32_t)(*p - '0');
    }
    if (cmdline_value(mbi, "steps", buf, sizeof buf)) {
        steps = 0;
        for (char *p = buf; *p; p++) steps = steps * 10 + (uint32_t)(*p - '0');
    }
    /* only=KIND: every step of that kind (for a closer look at one); its first k. */
    static const char kinds[13][7] = {"seg", "far", "int", "page", "large", "shadow", "step",
                                      "v86", "task", "idt", "io", "pae", "sys"};
    static const uint8_t first_k[13] = {0, 26, 39, 48, 60, 64, 67, 69, 71, 77, 83, 88, 94};
    uint32_t only = 100;
    if (cmdline_value(mbi, "only", buf, sizeof buf)) {
        for (int i = 0; i < 13; i++) {
            int same = 1;
            for (int j = 0; j < 7 && (kinds[i][j] || buf[j]); j++) same &= kinds[i][j] == buf[j];
            if (same) only = first_k[i];
        }
        if (only == 100) {
            printf("sysfuzz: unknown step kind %s\n", buf);
            qemu_exit(EXIT_FAILURE_VALUE);
        }
    }
    rng = seed * 2654435761u + 0x9E3779B9u;
    if (rng == 0) rng = 1;
    printf("sysfuzz seed=%u steps=%u\n", seed, steps);

    for (uint32_t i = 0; i < sizeof arena; i++) arena[i] = (uint8_t)(i * 7 + (i >> 8) * 13);
    for (int f = 0; f < 16; f++)
        for (int k = 0; k < 4096; k += 4) *(uint32_t *)&pool[f][k] = (uint32_t)(f << 24 | k);
    for (int v = 0; v < 20; v++)
        if (v != 2 && v != 8 && v != 9 && v != 15 && v != 18) rt_on_trap(v, on_fault);
    for (int v = 0x40; v < 0x44; v++) rt_on_trap(v, on_int);
    rt_on_trap(0x20, on_tick);
    rt_on_trap(1, on_step);
    pic_init(0x20);
    rt_tss_init();
    rt_gdt_set(7, (uint32_t)(uintptr_t)ldt, sizeof ldt - 1, 0x82, 0);
    __asm__ volatile("lldt %w0" : : "r"(0x38));

    for (uint32_t i = 0; i < 1024; i++) pt_low[i] = i << 12 | P | RW | US;
    for (uint32_t i = 0; i < 16; i++) pt_play[i] = (uint32_t)(uintptr_t)pool[i] | P | RW | US;
    pd[0] = (uint32_t)(uintptr_t)pt_low | P | RW | US;
    pd[PLAY_VA >> 22] = (uint32_t)(uintptr_t)pt_play | P | RW | US;
    write_cr4(read_cr4() | CR4_PSE);
    write_cr3((uint32_t)(uintptr_t)pd);
    write_cr0(read_cr0() | CR0_PG);
    /* Signatures in the two 4 MiB frames, written through the large mapping. */
    for (int which = 0; which < 2; which++) {
        pd[LARGE_VA >> 22] = (which ? LARGE_PA1 : LARGE_PA0) | PS | P | RW;
        write_cr3(read_cr3());
        for (uint32_t off = 0; off < 0x400000; off += 0x1000)
            for (uint32_t w = 0; w < 0x1000; w += 0x100)
                *(volatile uint32_t *)(uintptr_t)(LARGE_VA + off + w) = (which + 1) << 28 | off | w;
    }

    for (uint32_t n = 0; n < steps; n++) {
        uint32_t k = only != 100 ? only : below(100);
        if (k < 26) step_seg(n);
        else if (k < 39) step_far(n);
        else if (k < 48) step_int(n);
        else if (k < 60) step_page(n);
        else if (k < 64) step_large(n);
        else if (k < 67) step_shadow(n);
        else if (k < 69) step_trap(n);
        else if (k < 71) step_v86(n);
        else if (k < 77) step_task(n);
        else if (k < 83) step_idt(n);
        else if (k < 88) step_io(n);
        else if (k < 94) step_pae(n);
        else step_sys(n);
        if (n % 16 == 15) digest(n);
    }
    digest(steps);
    printf("sysfuzz done\n");
    return 0;
}
