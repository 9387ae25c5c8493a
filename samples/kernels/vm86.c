/*
 * vm86: a virtual-8086 monitor. Real-mode code (assembled with .code16 and
 * copied to 0800:0000) runs in VM86 mode, entered with IRETD from ring 0.
 *
 * At IOPL 0 every IOPL-sensitive instruction traps to the monitor's #GP
 * handler, which decodes it at CS*16+IP and emulates it as an 8086 would:
 * INT n is reflected through the real-mode IVT onto the VM86 stack, IRET
 * pops it again, CLI/STI/PUSHF/POPF work on a virtual IF, and IN/OUT to a port
 * the TSS I/O bitmap denies are printed and skipped (port 0x80 is allowed and
 * runs directly). HLT ends the task. At IOPL 3 the same flag instructions run
 * without the monitor, INT 0x30 goes through a DPL 3 gate straight to a
 * ring-0 handler (which prints the VM86 frame: SS:SP, the data segments the
 * processor pushed, and that DS reads as null), and INT3 through a DPL 0
 * gate is #GP with the gate's error code.
 */
#include "rt.h"
#include "report.h"
#include "sys.h"

#define V86_SEG   0x0800u
#define V86_BASE  (V86_SEG << 4)
#define STACK_SEG 0x0900u
#define STACK_TOP 0x1000u
#define F_IF      0x200u
#define F_VM      0x20000u

extern const char v86_prog[], v86_prog_end[], v86_int10[], v86_iopl3[];
/* The 8086 program: offsets in segment 0x0800 are label - v86_prog. */
__asm__(
    "        .text\n"
    "        .code16\n"
    "        .globl v86_prog\n"
    "v86_prog:\n"
    "        movw $0x1234, %ax\n"
    "        int $0x10\n"               /* reflected to v86_int10, which IRETs */
    "        movw %ax, %bx\n"
    "        cli\n"
    "        pushf\n"
    "        popw %cx\n"                /* virtual flags: IF clear */
    "        sti\n"
    "        pushf\n"
    "        popw %dx\n"                /* IF set */
    "        movb $0x5A, %al\n"
    "        outb %al, $0x80\n"         /* allowed by the bitmap: runs */
    "        outb %al, $0x81\n"         /* denied: the monitor */
    "        inb $0x81, %al\n"
    "        movw %ds:0x200, %si\n"     /* DS = 0x0800: linear 0x8200 */
    "        hlt\n"
    "        .globl v86_int10\n"
    "v86_int10:\n"
    "        addw $0x1111, %ax\n"
    "        iret\n"
    "        .globl v86_iopl3\n"
    "v86_iopl3:\n"
    "        cli\n"
    "        pushf\n"
    "        popw %cx\n"
    "        sti\n"
    "        pushf\n"
    "        popw %dx\n"
    "        movw $0x4321, %ax\n"
    "        int $0x30\n"
    "        int3\n"
    "        hlt\n"
    "        .globl v86_prog_end\n"
    "v86_prog_end:\n"
    "        .code32\n");

/* The VM86 part of the frame: after user_esp and user_ss, ES, DS, FS, GS. */
static uint32_t *v86_segs(struct rt_frame *f) { return rt_v86_segs(f); }
static uint8_t *lin(uint32_t seg, uint32_t off) { return (uint8_t *)(uintptr_t)((seg << 4) + (off & 0xFFFF)); }

static uint32_t virtual_if;
static int traps;

static void v86_push(struct rt_frame *f, uint16_t v)
{
    f->user_esp = (f->user_esp - 2) & 0xFFFF;
    *(volatile uint16_t *)lin(f->user_ss, f->user_esp) = v;
}

static uint16_t v86_pop(struct rt_frame *f)
{
    uint16_t v = *(volatile uint16_t *)lin(f->user_ss, f->user_esp);
    f->user_esp = (f->user_esp + 2) & 0xFFFF;
    return v;
}

static void end_task(struct rt_frame *f) { rt_v86_exit(f); }

static void on_gp(struct rt_frame *f)
{
    if (!(f->eflags & F_VM)) {
        say("#GP(%x) outside VM86 at %08x\n", f->error_code, f->eip);
        qemu_exit(EXIT_FAILURE_VALUE);
    }
    traps++;
    uint8_t *ip = lin(f->cs, f->eip);
    uint32_t *segs = v86_segs(f);
    if (f->error_code != 0) {
        say("  #GP(%x) at %04x:%04x: the gate refused, skipping the instruction\n", f->error_code, f->cs, f->eip);
        f->eip += ip[0] == 0xCD ? 2 : 1;
        return;
    }
    switch (ip[0]) {
    case 0xCD: {                               /* INT n: reflect through the IVT */
        uint8_t n = ip[1];
        volatile uint16_t *ivt = (volatile uint16_t *)(uintptr_t)OPAQUE(n * 4u);
        say("  int %02x (AX=%04x) reflected to %04x:%04x\n", n, f->eax & 0xFFFF, ivt[1], ivt[0]);
        v86_push(f, (uint16_t)((f->eflags & ~F_IF) | virtual_if));
        v86_push(f, (uint16_t)f->cs);
        v86_push(f, (uint16_t)(f->eip + 2));
        virtual_if = 0;
        f->cs = ivt[1];
        f->eip = ivt[0];
        return;
    }
    case 0xCF: {                               /* IRET */
        uint16_t nip = v86_pop(f), ncs = v86_pop(f), nfl = v86_pop(f);
        say("  iret to %04x:%04x (AX=%04x)\n", ncs, nip, f->eax & 0xFFFF);
        f->eip = nip;
        f->cs = ncs;
        virtual_if = nfl & F_IF;
        return;
    }
    case 0xFA: say("  cli\n"); virtual_if = 0; f->eip += 1; return;
    case 0xFB: say("  sti\n"); virtual_if = F_IF; f->eip += 1; return;
    case 0x9C:                                 /* PUSHF: the virtual IF */
        say("  pushf\n");
        v86_push(f, (uint16_t)((f->eflags & 0x0FD5u) | 0x2u | virtual_if));
        f->eip += 1;
        return;
    case 0x9D: {
        uint16_t v = v86_pop(f);
        say("  popf %04x\n", v);
        virtual_if = v & F_IF;
        f->eflags = (f->eflags & ~0x0FD5u) | (v & 0x0DD5u);
        f->eip += 1;
        return;
    }
    case 0xE6: say("  outb %02x to port %02x (denied)\n", f->eax & 0xFF, ip[1]); f->eip += 2; return;
    case 0xE4:
        say("  inb from port %02x (denied): monitor answers 0x42\n", ip[1]);
        f->eax = (f->eax & ~0xFFu) | 0x42;
        f->eip += 2;
        return;
    case 0xF4:
        say("  hlt: end of task; AX=%04x BX=%04x CX=%04x DX=%04x SI=%04x SS:SP=%04x:%04x ES=%04x DS=%04x FS=%04x GS=%04x\n",
            f->eax & 0xFFFF, f->ebx & 0xFFFF, f->ecx & 0xFFFF, f->edx & 0xFFFF, f->esi & 0xFFFF, f->user_ss,
            f->user_esp, segs[0], segs[1], segs[2], segs[3]);
        end_task(f);
        return;
    default:
        say("  unexpected #GP(0) at %04x:%04x opcode %02x\n", f->cs, f->eip, ip[0]);
        qemu_exit(EXIT_FAILURE_VALUE);
    }
}

static void on_int30(struct rt_frame *f)
{
    uint16_t ds;
    __asm__ volatile("movw %%ds, %0" : "=r"(ds));
    uint32_t *segs = v86_segs(f);
    say("  int 30 in ring 0: AX=%04x from %04x:%04x, VM %u, IF %u, SS:SP=%04x:%04x ES=%04x DS=%04x FS=%04x GS=%04x\n",
        f->eax & 0xFFFF, f->cs, f->eip, (f->eflags & F_VM) != 0, (f->eflags & F_IF) != 0, f->user_ss, f->user_esp,
        segs[0], segs[1], segs[2], segs[3]);
    say("  the stub saw DS %x, ES %x on entry (nulled by the processor)\n", f->ds, f->es);
    (void)ds;
}

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic;
    (void)mbi;
    say("vm86: a virtual-8086 monitor\n");
    uint32_t len = (uint32_t)(v86_prog_end - v86_prog);
    memcpy((void *)(uintptr_t)V86_BASE, v86_prog, len);
    *(volatile uint16_t *)(uintptr_t)(V86_BASE + 0x200) = 0xC0DE;
    /* IVT entry 0x10 at linear 0x40 (OPAQUE: GCC treats a constant address 0 as null). */
    volatile uint16_t *ivt = (volatile uint16_t *)(uintptr_t)OPAQUE(0x40u);
    ivt[0] = (uint16_t)(v86_int10 - v86_prog);
    ivt[1] = V86_SEG;
    /* The IOPL 3 task runs STI: no interrupt line may be open (the BIOS leaves IRQ 0 running). */
    pic_init(0x20);
    rt_tss_init();
    rt_io_allow(0x80, 1);
    rt_on_trap(13, on_gp);
    rt_on_trap(0x30, on_int30);
    rt_idt_stub(0x30, GATE_INT32 | GATE_DPL3);

    say("IOPL 0:\n");
    rt_run_v86(V86_SEG, 0, F_VM | 0x2);
    say("  %d traps to the monitor\n", traps);

    traps = 0;
    say("IOPL 3:\n");
    rt_run_v86(V86_SEG, (uint32_t)(v86_iopl3 - v86_prog), F_VM | 0x3002);
    say("  %d traps to the monitor\n", traps);
    say("checksum %08x\n", say_hash);
    qemu_exit(EXIT_SUCCESS_VALUE);
}
