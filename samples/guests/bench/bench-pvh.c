/*
 * The bench kernels' loops as an SDK guest, for `hospes bench --mode pvh` and the default
 * study's cpu-bound workload in every mode: the same instructions and output as
 * samples/kernels/bench-alu.c and bench-mem.c. Built with -DITERS=N and -DBENCH_ALU or
 * -DBENCH_MEM (hospes bench writes a two-line wrapper); `iters=N` on the command line
 * overrides ITERS.
 */
#include <hospes/guest.h>

#define FNV_INIT 2166136261u
/* FNV-1a over the four bytes of v, as the Multiboot kernels' runtime does. */
static inline uint32_t fnv_u32(uint32_t h, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        h ^= (v >> (8 * i)) & 0xFF;
        h *= 16777619u;
    }
    return h;
}

#include "../../kernels/bench-loops.h"

#ifndef ITERS
#define ITERS 100000000u
#endif

/* iters=N from the command line, else ITERS. */
static uint32_t iterations(void)
{
    const char *c = guest_cmdline();
    for (; *c; c++) {
        if (strncmp(c, "iters=", 6) == 0 && (c == guest_cmdline() || c[-1] == ' ')) {
            long n = strtol(c + 6, NULL, 10);
            return n > 0 ? (uint32_t)n : ITERS;
        }
    }
    return ITERS;
}

int main(const struct hvm_start_info *si)
{
    (void)si;
    uint32_t iters = iterations();
#ifdef BENCH_MEM
    uint32_t sum = bench_mem_loop(iters);
    printf("bench-mem: %u iterations, %llu loop instructions\n", iters,
           (uint64_t)iters * BENCH_MEM_INSNS_PER_ITER);
#else
    uint32_t sum = bench_alu_loop(iters);
    printf("bench-alu: %u iterations, %llu loop instructions\n", iters,
           (uint64_t)iters * BENCH_ALU_INSNS_PER_ITER);
#endif
    printf("done %08x\n", sum);
    return 0;
}
