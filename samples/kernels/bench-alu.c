/*
 * Benchmark: a tight ALU loop of 6 instructions per iteration
 * (add, xor, rol, inc, dec, jnz), ITERS iterations (set at build time:
 * make bench ITERS=N). Prints the loop's instruction count and a checksum.
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
    uint32_t sum = bench_alu_loop(ITERS);
    printf("bench-alu: %u iterations, %llu loop instructions\n", ITERS,
           (uint64_t)ITERS * BENCH_ALU_INSNS_PER_ITER);
    printf("done %08x\n", sum);
    return 0;
}
