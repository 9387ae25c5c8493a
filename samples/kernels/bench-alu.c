/*
 * Benchmark: a tight ALU loop of 6 instructions per iteration
 * (add, xor, rol, inc, dec, jnz), ITERS iterations (set at build time:
 * make bench ITERS=N). Prints the loop's instruction count and a checksum.
 */
#include "rt.h"

#ifndef ITERS
#define ITERS 100000000u
#endif
#define INSNS_PER_ITER 6u

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic;
    (void)mbi;
    uint32_t a = 1, b = 0x9E3779B9u, c = 0, n = ITERS;
    if (n != 0) {
        __asm__ volatile("1:\n\t"
                         "addl %%edx, %%eax\n\t"
                         "xorl %%eax, %%ebx\n\t"
                         "roll $3, %%ebx\n\t"
                         "incl %%edx\n\t"
                         "decl %%ecx\n\t"
                         "jnz 1b"
                         : "+a"(a), "+b"(b), "+c"(n), "+d"(c) : : "cc");
    }
    printf("bench-alu: %u iterations, %llu loop instructions\n", ITERS, (uint64_t)ITERS * INSNS_PER_ITER);
    printf("done %08x\n", a ^ (b * 31u) ^ c);
    return 0;
}
