/*
 * What the firmware leaves programmed for a Multiboot kernel: the 8259A pair
 * initialised with IRQ 0-7 at vectors 8-15 and IRQ 8-15 at 0x70-0x77, the
 * timer (IRQ 0) unmasked, and PIT channel 0 in mode 2 (SeaBIOS's choice; IBM's
 * BIOS used mode 3) with count 0 (65536: 18.2 Hz). The kernel touches neither before it looks: it reads the masks
 * and the PIT's read-back status, then waits with STI; HLT for IRQ 0, which
 * arrives at vector 8 (the #DF vector in protected mode, without an error
 * code), and again after a non-specific EOI.
 */
#include "rt.h"
#include "report.h"
#include "sys.h"

volatile uint32_t irq0s;

/* The runtime's vector-8 stub expects #DF's error code; an external interrupt pushes none. */
void irq0_stub(void);
__asm__(".globl irq0_stub\n"
        "irq0_stub:\n"
        "  pushl %eax\n"
        "  incl irq0s\n"
        "  movb $0x20, %al\n"
        "  outb %al, $0x20\n"
        "  popl %eax\n"
        "  iret\n");

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic; (void)mbi;
    say("biosstate: the PIC and PIT as the firmware leaves them\n");
    uint8_t imr1 = inb(0x21), imr2 = inb(0xA1);
    say("masks: master 0x%02x (IRQ 0 %s), slave 0x%02x\n", imr1, imr1 & 1 ? "masked" : "open", imr2);
    outb(0x43, 0xE2);                 /* read-back: status of channel 0, no count latch */
    uint8_t st = inb(0x40);
    say("PIT channel 0: access %u (lobyte/hibyte), mode %u, %s\n", (st >> 4) & 3, (st >> 1) & 7,
        st & 1 ? "BCD" : "binary");
    rt_idt_gate(8, KERNEL_CS, (uint32_t)(uintptr_t)irq0_stub, GATE_INT32);
    __asm__ volatile("sti; hlt; cli" : : : "memory");
    say("STI; HLT woke on vector 8: %s\n", irq0s == 1 ? "yes" : "no");
    __asm__ volatile("sti; hlt; cli" : : : "memory");
    __asm__ volatile("sti; hlt; cli" : : : "memory");
    say("and again after EOI: %s\n", irq0s == 3 ? "yes" : "no");
    return 0;
}
