/*
 * efer: what this processor says about NX (CPUID 0x80000001:EDX[20]) and what WRMSR does with
 * IA32_EFER.NXE. With NX the write sticks; without it bit 11 is reserved and the write raises
 * #GP(0) (SDM vol. 4, IA32_EFER; QEMU ignores the write instead). Every Hospes mode has NX,
 * shadow-paged HVM vCPUs too (their PAE shadows carry XD): EferKernelTest.
 */
#include "rt.h"
#include "sys.h"

#define EFER 0xC0000080u

volatile uint32_t resume, t_vec, t_err;

static void on_gp(struct rt_frame *f)
{
    t_vec = f->vector;
    t_err = f->error_code;
    f->eip = resume;
}

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic;
    (void)mbi;
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000001u));
    printf("cpuid 0x80000001: nx=%u\n", (d >> 20) & 1);
    rt_on_trap(13, on_gp);
    t_vec = 0xFF;
    __asm__ volatile("movl $1f, resume\n"
                     "wrmsr\n"
                     "1:" : : "c"(EFER), "a"(1u << 11), "d"(0) : "memory");
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(EFER));
    if (t_vec == 0xFF) printf("wrmsr efer.nxe: no fault, efer %x\n", lo);
    else printf("wrmsr efer.nxe: #%u error %x, efer %x\n", t_vec, t_err, lo);
    t_vec = 0xFF;
    __asm__ volatile("movl $1f, resume\n"
                     "wrmsr\n"
                     "1:" : : "c"(EFER), "a"(0), "d"(0) : "memory");
    printf("wrmsr efer 0: %s\n", t_vec == 0xFF ? "no fault" : "fault");
    qemu_exit(0x10);
}
