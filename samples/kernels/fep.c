/*
 * fep: Xen's HVM forced-emulation prefix, "ud2; .ascii \"xen\"" before an
 * instruction. Where the hypervisor offers it (Xen's hvm_fep, Hospes's
 * --hvm-fep) the instruction after the prefix runs through the hypervisor's
 * path; elsewhere (QEMU, bare metal, Hospes without the option) the prefix is
 * a plain #UD at its ud2. The kernel finds out which, then runs each case
 * both directly and behind the prefix and says whether the two agree: CPUID,
 * an ADD's result and flags, a read-modify-write of memory, REP MOVSB, port
 * reads of fw_cfg's signature, and two faults that must be reported at the
 * instruction, not at the prefix (#DE from DIV, #UD from a second ud2).
 * Its golden output is QEMU's (no prefix); FepKernelTest checks the rest.
 */
#include "rt.h"
#include "sys.h"

#define FEP "ud2\n.ascii \"xen\"\n"

volatile uint32_t resume, t_vec, t_eip;

static void on_trap(struct rt_frame *f)
{
    t_vec = f->vector;
    t_eip = f->eip;
    f->eip = resume;
}

static int fep_available(void)
{
    uint32_t r;
    t_vec = 0xFF;
    __asm__ volatile("movl $1f, resume\n"
                     "xorl %%eax, %%eax\n"
                     FEP
                     "movl $1, %%eax\n"
                     "1:\n" : "=a"(r) : : "memory");
    return r == 1;
}

static void same(const char *what, uint32_t direct, uint32_t forced)
{
    if (direct == forced) printf("%-28s direct and forced agree\n", what);
    else printf("%-28s direct %x, forced %x\n", what, direct, forced);
}

static uint32_t cpuid0(int forced)
{
    uint32_t a, b, c, d;
    if (forced)
        __asm__ volatile(FEP "cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0));
    else
        __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0));
    return fnv_u32(fnv_u32(fnv_u32(fnv_u32(0x811c9dc5u, a), b), c), d);
}

static uint32_t add_flags(int forced)
{
    uint32_t r = 0x7fffffffu, fl;
    if (forced)
        __asm__ volatile(FEP "addl $1, %0\npushfl\npopl %1" : "+r"(r), "=r"(fl));
    else
        __asm__ volatile("addl $1, %0\npushfl\npopl %1" : "+r"(r), "=r"(fl));
    return fnv_u32(r, fl & 0x8D5);
}

static volatile uint32_t cell;

static uint32_t rmw(int forced)
{
    cell = 0xfffffff5u;
    if (forced)
        __asm__ volatile(FEP "addl $0x11, cell" : : : "memory", "cc");
    else
        __asm__ volatile("addl $0x11, cell" : : : "memory", "cc");
    return cell;
}

static char src[16] = "forced emulation", dst[16];

static uint32_t rep_movsb(int forced)
{
    uint32_t h = 0x811c9dc5u;
    void *s = src, *d = dst;
    uint32_t n = sizeof src;
    memset(dst, 0, sizeof dst);
    if (forced)
        __asm__ volatile(FEP "rep movsb" : "+S"(s), "+D"(d), "+c"(n) : : "memory");
    else
        __asm__ volatile("rep movsb" : "+S"(s), "+D"(d), "+c"(n) : : "memory");
    for (unsigned i = 0; i < sizeof dst; i++) h = fnv_u32(h, (uint8_t)dst[i]);
    return fnv_u32(h, n);
}

static uint32_t fwcfg_signature(int forced)
{
    uint32_t sig = 0;
    outw(0x510, 0);                            /* FW_CFG_SIGNATURE */
    for (int i = 0; i < 4; i++) {
        uint8_t b;
        if (forced) __asm__ volatile(FEP "inb %%dx, %0" : "=a"(b) : "d"((uint16_t)0x511));
        else __asm__ volatile("inb %%dx, %0" : "=a"(b) : "d"((uint16_t)0x511));
        sig |= (uint32_t)b << (8 * i);
    }
    return sig;
}

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic;
    (void)mbi;
    rt_on_trap(0, on_trap);
    rt_on_trap(6, on_trap);

    if (!fep_available()) {
        printf("fep: the prefix raises #UD at its ud2 (no forced emulation here)\n");
        qemu_exit(0x10);
    }
    printf("fep: the prefix runs the instruction after it\n");
    same("cpuid 0", cpuid0(0), cpuid0(1));
    same("add, result and flags", add_flags(0), add_flags(1));
    same("add to memory", rmw(0), rmw(1));
    same("rep movsb", rep_movsb(0), rep_movsb(1));
    same("fw_cfg signature by inb", fwcfg_signature(0), fwcfg_signature(1));

    uint32_t at;
    t_vec = 0xFF;
    __asm__ volatile("movl $1f, resume\n"
                     "movl $2f, %0\n"
                     "xorl %%edx, %%edx\n"
                     "movl $7, %%eax\n"
                     "xorl %%ecx, %%ecx\n"
                     FEP
                     "2: divl %%ecx\n"
                     "1:\n" : "=&r"(at) : : "eax", "ecx", "edx", "memory", "cc");
    printf("div by zero, forced: #%u %s\n", t_vec,
           t_eip == at ? "at the div" : t_eip == at - 5 ? "at the prefix" : "elsewhere");
    t_vec = 0xFF;
    __asm__ volatile("movl $1f, resume\n"
                     "movl $2f, %0\n"
                     FEP
                     "2: ud2\n"
                     "1:\n" : "=&r"(at) : : "memory");
    printf("ud2, forced: #%u %s\n", t_vec,
           t_eip == at ? "at the second ud2" : t_eip == at - 5 ? "at the prefix" : "elsewhere");
    qemu_exit(0x10);
}
