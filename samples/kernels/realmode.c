/*
 * realmode: a trip from protected mode to real mode and back, as firmware and
 * boot loaders make it. The 16-bit code below is copied to 0700:0000; from
 * 32-bit protected mode it goes through a 16-bit code segment (GDT 0x30, base
 * 0x7000), clears CR0.PE with a MOV to CR0 and far-jumps to 0700:xxxx. In real
 * mode it reloads its segments, points IDTR at the real-mode IVT, runs CLI,
 * writes a line to COM1 with OUT (polling the line status register with IN),
 * calls INT 50h through the IVT, reads its flags with PUSHF, waits for the
 * PIT's IRQ 0 (vector 8, as SeaBIOS programs the PIC) with STI; HLT, and reads
 * CR0. Then it loads the GDT with LGDT, sets PE, loads FS with a flat 4 GiB
 * data segment, clears PE again and runs in "big real" mode: FS keeps its
 * 4 GiB limit, so 32-bit offsets reach 2 MiB. A far jump to the 32-bit code
 * segment brings it back. The C side prints what real mode left behind.
 *
 * Under hvm-shadow (no unrestricted guest) the hypervisor runs real mode in
 * VM86 mode and emulates what VM86 mode cannot run; the output is the same
 * as in hvm, in native mode and under QEMU.
 */
#include "rt.h"
#include "report.h"
#include "sys.h"

#define RM_SEG  0x0700u
#define RM_BASE (RM_SEG << 4)
#define BIG_ADDR 0x200000u

extern char rm_blob[], rm_blob_end[], rm_call[], rm_int50[], rm_irq0[];
extern char rm_ticks[], rm_res_int[], rm_res_flags_cli[], rm_res_flags_hlt[], rm_res_cr0[];
extern char rm_res_big[], rm_res_lsr[], rm_gdtr[];

uint32_t rm_saved_esp;
uint8_t rm_saved_idt[6];

__asm__(
    "        .text\n"
    "        .code32\n"
    "        .globl rm_call\n"
    /* void rm_call(void): the real-mode trip; returns here in 32-bit protected mode. */
    "rm_call:\n"
    "        pushfl\n"
    "        pushal\n"
    "        cli\n"
    "        movl    %esp, rm_saved_esp\n"
    "        sidt    rm_saved_idt\n"
    "        ljmpl   $0x30, $(rm_pm16 - rm_blob)\n"
    "rm_back32:\n"
    "        movw    $0x10, %ax\n"
    "        movw    %ax, %ds\n"
    "        movw    %ax, %es\n"
    "        movw    %ax, %fs\n"
    "        movw    %ax, %gs\n"
    "        movw    %ax, %ss\n"
    "        movl    rm_saved_esp, %esp\n"
    "        lidt    rm_saved_idt\n"
    "        popal\n"
    "        popfl\n"
    "        ret\n"
    /* The 16-bit code, run at 0700:0000 (offsets are label - rm_blob). */
    "        .code16\n"
    "        .globl rm_blob\n"
    "rm_blob:\n"
    "rm_pm16:\n"                          /* 16-bit protected mode, CS base 0x7000 */
    "        movw    $0x38, %ax\n"
    "        movw    %ax, %ds\n"
    "        movw    %ax, %es\n"
    "        movw    %ax, %fs\n"
    "        movw    %ax, %gs\n"
    "        movw    %ax, %ss\n"
    "        movl    %cr0, %eax\n"
    "        andl    $0xFFFFFFFE, %eax\n"
    "        movl    %eax, %cr0\n"       /* real mode, CS still the descriptor's */
    "        ljmp    $0x0700, $(rm_real - rm_blob)\n"
    "rm_real:\n"
    "        movw    %cs, %ax\n"
    "        movw    %ax, %ds\n"
    "        movw    %ax, %es\n"
    "        movw    %ax, %ss\n"
    "        movw    $0x0FF0, %sp\n"
    "        xorw    %ax, %ax\n"
    "        movw    %ax, %fs\n"
    "        movw    %ax, %gs\n"
    "        lidtl   rm_idtr - rm_blob\n"
    "        cli\n"
    "        movw    $(rm_msg - rm_blob), %si\n"
    "        call    rm_puts\n"
    "        movw    $0x3FD, %dx\n"
    "        inb     %dx, %al\n"
    "        movb    %al, rm_res_lsr - rm_blob\n"
    "        movw    $0x1234, %ax\n"
    "        int     $0x50\n"
    "        movw    %ax, rm_res_int - rm_blob\n"
    "        pushfw\n"
    "        popw    %ax\n"
    "        movw    %ax, rm_res_flags_cli - rm_blob\n"
    "        sti\n"
    "        hlt\n"                      /* IRQ 0 through the IVT */
    "        cli\n"
    "        pushfw\n"
    "        popw    %ax\n"
    "        movw    %ax, rm_res_flags_hlt - rm_blob\n"
    "        movl    %cr0, %eax\n"
    "        movl    %eax, rm_res_cr0 - rm_blob\n"
    /* Big real: FS gets a 4 GiB limit in protected mode and keeps it in real mode. */
    "        lgdtl   rm_gdtr - rm_blob\n"
    "        movl    %cr0, %eax\n"
    "        orl     $1, %eax\n"
    "        movl    %eax, %cr0\n"
    "        ljmp    $0x30, $(rm_pm16b - rm_blob)\n"
    "rm_pm16b:\n"
    "        movw    $0x40, %ax\n"
    "        movw    %ax, %fs\n"
    "        movl    %cr0, %eax\n"
    "        andl    $0xFFFFFFFE, %eax\n"
    "        movl    %eax, %cr0\n"
    "        ljmp    $0x0700, $(rm_big - rm_blob)\n"
    "rm_big:\n"
    "        xorw    %ax, %ax\n"
    "        movw    %ax, %fs\n"         /* base 0, the 4 GiB limit stays */
    "        movl    $0x200000, %ebx\n"
    "        movl    %fs:(%ebx), %eax\n"
    "        movl    %eax, rm_res_big - rm_blob\n"
    "        notl    %eax\n"
    "        movl    %eax, %fs:4(%ebx)\n"
    "        movl    %cr0, %eax\n"
    "        orl     $1, %eax\n"
    "        movl    %eax, %cr0\n"
    "        ljmpl   $0x08, $rm_back32\n"
    /* INT 50h: AX += 0x1111. */
    "        .globl rm_int50\n"
    "rm_int50:\n"
    "        addw    $0x1111, %ax\n"
    "        iret\n"
    /* IRQ 0: count it, EOI to the master PIC. */
    "        .globl rm_irq0\n"
    "rm_irq0:\n"
    "        pushw   %ax\n"
    "        incw    %cs:rm_ticks - rm_blob\n"
    "        movb    $0x20, %al\n"
    "        outb    %al, $0x20\n"
    "        popw    %ax\n"
    "        iret\n"
    /* DS:SI, NUL-terminated, to COM1 once its transmitter holding register is empty. */
    "rm_puts:\n"
    "        lodsb\n"
    "        testb   %al, %al\n"
    "        jz      3f\n"
    "        movb    %al, %ah\n"
    "        movw    $0x3FD, %dx\n"
    "2:      inb     %dx, %al\n"
    "        testb   $0x20, %al\n"
    "        jz      2b\n"
    "        movb    %ah, %al\n"
    "        movw    $0x3F8, %dx\n"
    "        outb    %al, %dx\n"
    "        jmp     rm_puts\n"
    "3:      ret\n"
    "rm_msg: .asciz \"real mode: this line went out through OUT to COM1\\n\"\n"
    "        .p2align 2\n"
    "rm_idtr: .word 0x3FF\n"
    "        .long   0\n"
    "        .p2align 2\n"
    "        .globl rm_gdtr\n"
    "rm_gdtr: .word 0\n"
    "        .long   0\n"
    "        .p2align 2\n"
    "        .globl rm_ticks, rm_res_int, rm_res_flags_cli, rm_res_flags_hlt, rm_res_cr0, rm_res_big, rm_res_lsr\n"
    "rm_res_cr0: .long 0\n"
    "rm_res_big: .long 0\n"
    "rm_ticks: .word 0\n"
    "rm_res_int: .word 0\n"
    "rm_res_flags_cli: .word 0\n"
    "rm_res_flags_hlt: .word 0\n"
    "rm_res_lsr: .byte 0\n"
    "        .globl rm_blob_end\n"
    "rm_blob_end:\n"
    "        .code32\n");

static uint32_t off(const char *label) { return (uint32_t)(label - rm_blob); }
static volatile uint16_t *at16(const char *label) { return (volatile uint16_t *)(uintptr_t)(RM_BASE + off(label)); }
static volatile uint32_t *at32(const char *label) { return (volatile uint32_t *)(uintptr_t)(RM_BASE + off(label)); }

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic;
    (void)mbi;
    say("realmode: protected mode to real mode and back\n");
    uint32_t len = (uint32_t)(rm_blob_end - rm_blob);
    if (len > 0xE00)
        fail("real-mode code too long: %u bytes\n", len);
    memcpy((void *)(uintptr_t)RM_BASE, rm_blob, len);
    /* 0x30: 16-bit code at 0x7000; 0x38: 16-bit data at 0x7000; 0x40: flat 4 GiB data. */
    rt_gdt_set(6, RM_BASE, 0xFFFF, 0x9A, 0x0);
    rt_gdt_set(7, RM_BASE, 0xFFFF, 0x92, 0x0);
    rt_gdt_set(8, 0, 0xFFFFF, 0x92, 0x8);
    __asm__ volatile("sgdt %0" : "=m"(*(volatile uint8_t(*)[6])(uintptr_t)(RM_BASE + off(rm_gdtr))));
    /* IVT entries 50h and 8 (OPAQUE: GCC treats a constant address 0 as null). */
    volatile uint16_t *ivt = (volatile uint16_t *)(uintptr_t)OPAQUE(0u);
    ivt[0x50 * 2] = (uint16_t)off(rm_int50);
    ivt[0x50 * 2 + 1] = RM_SEG;
    ivt[8 * 2] = (uint16_t)off(rm_irq0);
    ivt[8 * 2 + 1] = RM_SEG;
    *(volatile uint32_t *)(uintptr_t)BIG_ADDR = 0x5EA1B16u;
    *(volatile uint32_t *)(uintptr_t)(BIG_ADDR + 4) = 0;

    ((void (*)(void))rm_call)();

    say("back in protected mode\n");
    say("INT 50h through the IVT: AX 1234 -> %04x\n", *at16(rm_res_int));
    say("line status by IN: transmitter empty %u\n", (*(volatile uint8_t *)(uintptr_t)(RM_BASE + off(rm_res_lsr)) >> 5) & 1);
    say("PUSHF after CLI: IF %u IOPL %u NT %u\n", (*at16(rm_res_flags_cli) >> 9) & 1,
        (*at16(rm_res_flags_cli) >> 12) & 3, (*at16(rm_res_flags_cli) >> 14) & 1);
    say("PUSHF after STI; HLT; CLI: IF %u IOPL %u\n", (*at16(rm_res_flags_hlt) >> 9) & 1,
        (*at16(rm_res_flags_hlt) >> 12) & 3);
    say("IRQ 0 taken in real mode: %s\n", *at16(rm_ticks) > 0 ? "yes" : "no");
    say("CR0 read in real mode: PE %u PG %u\n", *at32(rm_res_cr0) & 1, *at32(rm_res_cr0) >> 31);
    say("big real: read %08x at 2 MiB through FS\n", *at32(rm_res_big));
    say("big real: wrote %08x at 2 MiB + 4\n", *(volatile uint32_t *)(uintptr_t)(BIG_ADDR + 4));
    say("checksum %08x\n", say_hash);
    qemu_exit(EXIT_SUCCESS_VALUE);
}
