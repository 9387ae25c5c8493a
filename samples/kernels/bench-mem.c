/*
 * Benchmark: a load + store loop over a 64 KiB array, 8 instructions per
 * iteration (load, add, store, xor, inc, and, dec, jnz), ITERS iterations (set at
 * build time: make bench ITERS=N). Prints the loop's instruction count and a checksum.
 */
#include "rt.h"
#include "bench-loops.h"

#ifndef ITERS
#define ITERS 100000000u
#endif

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic;
    (void)mbi;
    uint32_t sum = bench_mem_loop(ITERS);
    printf("bench-mem: %u iterations, %llu loop instructions\n", ITERS,
           (uint64_t)ITERS * BENCH_MEM_INSNS_PER_ITER);
    printf("done %08x\n", sum);
    return 0;
}
