/*
 * The benchmark loops, shared by the Multiboot kernels (bench-alu.c,
 * bench-mem.c) and their PVH builds (samples/guests/bench/bench-pvh.c), so
 * every mode of `hospes bench` runs the same instructions and prints the same
 * checksum. The includer provides uint32_t, fnv_u32() and FNV_INIT.
 */
#ifndef HOSPES_BENCH_LOOPS_H
#define HOSPES_BENCH_LOOPS_H

#define BENCH_ALU_INSNS_PER_ITER 6u
#define BENCH_MEM_INSNS_PER_ITER 8u
#define BENCH_MEM_WORDS 16384u

/* add, xor, rol, inc, dec, jnz per iteration; returns the checksum. */
static inline uint32_t bench_alu_loop(uint32_t n)
{
    uint32_t a = 1, b = 0x9E3779B9u, c = 0;
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
    return a ^ (b * 31u) ^ c;
}

static uint32_t bench_mem_arr[BENCH_MEM_WORDS];

/* load, add, store, xor, inc, and, dec, jnz over a 64 KiB array; returns the checksum. */
static inline uint32_t bench_mem_loop(uint32_t n)
{
    uint32_t x = 0, idx = 0;
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
                         : [arr] "S"(bench_mem_arr), [mask] "i"(BENCH_MEM_WORDS - 1)
                         : "eax", "cc", "memory");
    }
    uint32_t h = FNV_INIT;
    for (uint32_t i = 0; i < BENCH_MEM_WORDS; i += 64) h = fnv_u32(h, bench_mem_arr[i]);
    return x ^ h;
}

#endif
