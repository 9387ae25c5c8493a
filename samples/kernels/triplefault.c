/*
 * Loads an empty IDT (limit 0) and executes UD2: the #UD cannot be delivered (#GP), neither
 * can the #GP (#DF), nor the #DF: a triple fault, which resets a bare PC (QEMU -no-reboot
 * exits with status 0) and crashes an HVM domain.
 */
#include "rt.h"

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic;
    (void)mbi;
    printf("triplefault: loading an empty IDT and faulting\n");
    struct __attribute__((packed)) { uint16_t limit; uint32_t base; } idtr = {0, 0};
    __asm__ volatile("lidt %0\n\tud2" : : "m"(idtr) : "memory");
    printf("triplefault: still alive?\n");
    return 1;
}
