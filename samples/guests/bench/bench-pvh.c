/*
 * The bench kernels' loops as a PVH guest, for `hospes bench --mode pvh`:
 * the same instructions and output as samples/kernels/bench-alu.c and
 * bench-mem.c, printed on the PV console. Built with -DITERS=N and
 * -DBENCH_ALU or -DBENCH_MEM (hospes bench writes a two-line wrapper).
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

int main(const struct hvm_start_info *si)
{
    (void)si;
#ifdef BENCH_MEM
    uint32_t sum = bench_mem_loop(ITERS);
    printf("bench-mem: %u iterations, %llu loop instructions\n", ITERS,
           (uint64_t)ITERS * BENCH_MEM_INSNS_PER_ITER);
#else
    uint32_t sum = bench_alu_loop(ITERS);
    printf("bench-alu: %u iterations, %llu loop instructions\n", ITERS,
           (uint64_t)ITERS * BENCH_ALU_INSNS_PER_ITER);
#endif
    printf("done %08x\n", sum);
    return 0;
}
