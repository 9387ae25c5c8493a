/*
 * Benchmark: a load + store loop over a 64 KiB array, 8 instructions per
 * iteration (load, add, store, xor, inc, and, dec, jnz), ITERS iterations (set at
 * build time: make bench ITERS=N). Prints the loop's instruction count and a checksum.
 */
#include "rt.h"

#ifndef ITERS
#define ITERS 100000000u
#endif
#define INSNS_PER_ITER 8u
#define WORDS 16384u

static uint32_t arr[WORDS];

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic;
    (void)mbi;
    uint32_t x = 0, idx = 0, n = ITERS;
    if (n != 0) {
        __asm__ volatile("1:\n\t"
                         "movl (%[arr],%%edx,4), %%eax\n\t"
                         "addl %%ecx, %%eax\n\t"
                         "movl %%eax, (%[arr],%%edx,4)\n\t"
                         "xorl %%eax, %%ebx\n\t"
                         "incl %%edx\n\t"
                         "andl %[mask], %%edx\n\t"
                         "decl %%ecx\n\t"
                         "jnz 1b"
                         : "+b"(x), "+c"(n), "+d"(idx)
                         : [arr] "S"(arr), [mask] "i"(WORDS - 1)
                         : "eax", "cc", "memory");
    }
    uint32_t h = FNV_INIT;
    for (uint32_t i = 0; i < WORDS; i += 64) h = fnv_u32(h, arr[i]);
    printf("bench-mem: %u iterations, %llu loop instructions\n", ITERS, (uint64_t)ITERS * INSNS_PER_ITER);
    printf("done %08x\n", x ^ h);
    return 0;
}
