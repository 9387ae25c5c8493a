/*
 * The local APIC's answers to accesses the SDM calls model-specific: reads
 * and writes narrower than 32 bits, and 32-bit ones that do not start at a
 * register's first byte. Prints what each gave. The native machine answers as
 * QEMU's APIC does (its yardstick); an HVM domain as Xen's vlapic does, so
 * there the lines differ from QEMU's, as they would on Xen.
 */
#include "rt.h"
#include "report.h"

#define APIC ((volatile uint8_t *)0xFEE00000u)
#define R32(off) (*(volatile uint32_t *)(APIC + (off)))
#define R16(off) (*(volatile uint16_t *)(APIC + (off)))
#define R8(off) (*(volatile uint8_t *)(APIC + (off)))

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic; (void)mbi;
    say("apicwidth: narrow and unaligned local APIC accesses\n");
    R32(0xF0) = 0x1FF;
    R32(0x80) = 0x54;
    say("TPR, 32 bits at 0x80: %08x\n", R32(0x80));
    say("TPR, 8 bits at 0x80 and 0x81, 16 bits at 0x80: %02x %02x %04x\n",
        R8(0x80), R8(0x81), R16(0x80));
    say("version, 8 bits at 0x32, 16 bits at 0x32: %02x %04x\n", R8(0x32), R16(0x32));
    say("version, 32 bits at 0x34: %08x\n", R32(0x34));
    say("version, 16 bits at 0x33: %04x\n", R16(0x33));
    R8(0x80) = 0x21;
    say("TPR after an 8-bit write of 0x21 at 0x80: %08x\n", R32(0x80));
    R16(0x80) = 0x1332;
    say("TPR after a 16-bit write of 0x1332 at 0x80: %08x\n", R32(0x80));
    R32(0x84) = 0x33;
    say("TPR after a 32-bit write of 0x33 at 0x84: %08x\n", R32(0x80));
    R32(0x80) = 0;
    say("apicwidth: done\n");
    qemu_exit(0x10);
}
