/*
 * Integer arithmetic across widths and signedness, instruction-level flag
 * checks (only architecturally defined flags are shown), 64-bit arithmetic
 * through the runtime's own __udivdi3 & co., bit tricks, overflow builtins,
 * CRC32, a prime sieve, Fibonacci and Collatz. Ends with a checksum.
 */
#include "rt.h"
#include "report.h"

static const uint32_t A32[] = {
    0x00000000, 0x00000001, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x12345678, 0x0000000F, 0x80000001,
};
static const uint32_t B32[] = {
    0x00000000, 0x00000001, 0x00000001, 0xFFFFFFFF, 0x00000001, 0x9ABCDEF0, 0x00000001, 0x80000000,
};
#define NPAIRS ((int)ARRAY_SIZE(A32))

/* Start state of the arithmetic flags: alternately all clear and all set. */
static uint32_t init_flags(int i) { return (i & 1) ? (0x2u | F_ALL) : 0x2u; }

#define OP2_32(insn, r, b, init, f)                                                      \
    __asm__ volatile("pushl %[i]\n\tpopfl\n\t" insn " %[bb], %[rr]\n\tpushfl\n\tpopl %[ff]" \
                     : [rr] "+r"(r), [ff] "=r"(f) : [bb] "r"(b), [i] "r"(init) : "cc")
#define OP2_16(insn, r, b, init, f)                                                          \
    __asm__ volatile("pushl %[i]\n\tpopfl\n\t" insn " %w[bb], %w[rr]\n\tpushfl\n\tpopl %[ff]" \
                     : [rr] "+q"(r), [ff] "=r"(f) : [bb] "q"(b), [i] "r"(init) : "cc")
#define OP2_8(insn, r, b, init, f)                                                           \
    __asm__ volatile("pushl %[i]\n\tpopfl\n\t" insn " %b[bb], %b[rr]\n\tpushfl\n\tpopl %[ff]" \
                     : [rr] "+q"(r), [ff] "=r"(f) : [bb] "q"(b), [i] "r"(init) : "cc")
#define OP1_32(insn, r, init, f)                                                  \
    __asm__ volatile("pushl %[i]\n\tpopfl\n\t" insn " %[rr]\n\tpushfl\n\tpopl %[ff]" \
                     : [rr] "+r"(r), [ff] "=r"(f) : [i] "r"(init) : "cc")
#define SHIFT_CL(insn, r, count, init, f)                                                 \
    __asm__ volatile("pushl %[i]\n\tpopfl\n\t" insn " %%cl, %[rr]\n\tpushfl\n\tpopl %[ff]" \
                     : [rr] "+r"(r), [ff] "=r"(f) : "c"(count), [i] "r"(init) : "cc")
#define SHIFT_1(insn, r, init, f)                                                        \
    __asm__ volatile("pushl %[i]\n\tpopfl\n\t" insn " $1, %[rr]\n\tpushfl\n\tpopl %[ff]" \
                     : [rr] "+r"(r), [ff] "=r"(f) : [i] "r"(init) : "cc")

static void flags_binary(void)
{
    say("== flags: two-operand ALU (32-bit) ==\n");
    static const struct { const char *name; uint32_t mask; int kind; } ops[] = {
        { "add", F_ALL, 0 }, { "adc", F_ALL, 1 }, { "sub", F_ALL, 2 }, { "sbb", F_ALL, 3 },
        { "cmp", F_ALL, 4 }, { "and", F_ALL & ~F_AF, 5 }, { "or", F_ALL & ~F_AF, 6 },
        { "xor", F_ALL & ~F_AF, 7 }, { "test", F_ALL & ~F_AF, 8 }, { "imul", F_CF | F_OF, 9 },
        { "xadd", F_ALL, 10 },
    };
    for (unsigned o = 0; o < ARRAY_SIZE(ops); o++) {
        for (int i = 0; i < NPAIRS; i++) {
            uint32_t a = OPAQUE(A32[i]), b = OPAQUE(B32[i]), r = a, f, init = init_flags(i);
            switch (ops[o].kind) {
            case 0: OP2_32("addl", r, b, init, f); break;
            case 1: OP2_32("adcl", r, b, init, f); break;
            case 2: OP2_32("subl", r, b, init, f); break;
            case 3: OP2_32("sbbl", r, b, init, f); break;
            case 4: OP2_32("cmpl", r, b, init, f); break;
            case 5: OP2_32("andl", r, b, init, f); break;
            case 6: OP2_32("orl", r, b, init, f); break;
            case 7: OP2_32("xorl", r, b, init, f); break;
            case 8: OP2_32("testl", r, b, init, f); break;
            case 9: OP2_32("imull", r, b, init, f); break;
            default: {
                uint32_t bb = b;
                __asm__ volatile("pushl %[i]\n\tpopfl\n\txaddl %[bb], %[rr]\n\tpushfl\n\tpopl %[ff]"
                                 : [rr] "+r"(r), [bb] "+r"(bb), [ff] "=r"(f) : [i] "r"(init) : "cc");
                r ^= bb; /* fold the old destination (now in bb) into the result */
                break;
            }
            }
            say("%-5s %08x,%08x -> %08x %s\n", ops[o].name, a, b, r, fl(f, ops[o].mask));
        }
    }

    say("== flags: 16-bit and 8-bit ==\n");
    static const uint32_t a16[] = { 0x7FFF, 0x8000, 0xFFFF, 0x00FF, 0x1234 };
    static const uint32_t b16[] = { 0x0001, 0x0001, 0x0001, 0x0001, 0xF00F };
    for (int i = 0; i < (int)ARRAY_SIZE(a16); i++) {
        uint32_t init = init_flags(i), f;
        uint32_t r = OPAQUE(0xABCD0000u | a16[i]), b = OPAQUE(b16[i]);
        OP2_16("addw", r, b, init, f);
        say("addw %04x,%04x -> %08x %s\n", a16[i], b16[i], r, fl(f, F_ALL));
        r = OPAQUE(0xABCD0000u | a16[i]);
        OP2_16("subw", r, b, init, f);
        say("subw %04x,%04x -> %08x %s\n", a16[i], b16[i], r, fl(f, F_ALL));
        r = OPAQUE(0xABCDEF00u | (a16[i] & 0xFF));
        OP2_8("addb", r, b, init, f);
        say("addb %02x,%02x -> %08x %s\n", a16[i] & 0xFF, b16[i] & 0xFF, r, fl(f, F_ALL));
        r = OPAQUE(0xABCDEF00u | (a16[i] & 0xFF));
        OP2_8("sbbb", r, b, init, f);
        say("sbbb %02x,%02x -> %08x %s\n", a16[i] & 0xFF, b16[i] & 0xFF, r, fl(f, F_ALL));
    }
}

static void flags_unary(void)
{
    say("== flags: one-operand ==\n");
    for (int i = 0; i < NPAIRS; i++) {
        uint32_t a = OPAQUE(A32[i]), init = init_flags(i), r, f;
        r = a; OP1_32("negl", r, init, f);
        say("neg  %08x -> %08x %s\n", a, r, fl(f, F_ALL));
        r = a; OP1_32("incl", r, init, f);
        say("inc  %08x -> %08x %s\n", a, r, fl(f, F_ALL));
        r = a; OP1_32("decl", r, init, f);
        say("dec  %08x -> %08x %s\n", a, r, fl(f, F_ALL));
        r = a; OP1_32("notl", r, init, f);
        say("not  %08x -> %08x %s\n", a, r, fl(f, F_ALL));
        r = a; __asm__("bswap %0" : "+r"(r));
        say("bswap %08x -> %08x\n", a, r);
    }
}

static void flags_shifts(void)
{
    say("== flags: shifts and rotates ==\n");
    static const uint32_t counts[] = { 1, 4, 31, 32, 33 };
    static const uint32_t vals[] = { 0x80000001, 0x40000000, 0xFFFFFFFF, 0x12345678 };
    static const char *const names[] = { "shl", "shr", "sar", "rol", "ror", "rcl", "rcr" };
    int k = 0;
    for (unsigned v = 0; v < ARRAY_SIZE(vals); v++) {
        for (unsigned c = 0; c < ARRAY_SIZE(counts); c++) {
            for (unsigned n = 0; n < ARRAY_SIZE(names); n++, k++) {
                uint32_t r = OPAQUE(vals[v]), f, init = init_flags(k), cnt = OPAQUE(counts[c]);
                switch (n) {
                case 0: SHIFT_CL("shll", r, cnt, init, f); break;
                case 1: SHIFT_CL("shrl", r, cnt, init, f); break;
                case 2: SHIFT_CL("sarl", r, cnt, init, f); break;
                case 3: SHIFT_CL("roll", r, cnt, init, f); break;
                case 4: SHIFT_CL("rorl", r, cnt, init, f); break;
                case 5: SHIFT_CL("rcll", r, cnt, init, f); break;
                default: SHIFT_CL("rcrl", r, cnt, init, f); break;
                }
                uint32_t m = cnt & 31;
                uint32_t mask;
                if (m == 0) mask = F_ALL;                               /* flags unaffected */
                else if (n <= 2) mask = F_ALL & ~F_AF & (m == 1 ? ~0u : ~F_OF);
                else mask = F_ALL & (m == 1 ? ~0u : ~F_OF);             /* rotates: only CF (+OF) change */
                say("%s %08x,%-2u -> %08x %s\n", names[n], vals[v], counts[c], r, fl(f, mask));
            }
        }
        /* The dedicated shift-by-one encodings (D1 /n). */
        uint32_t r, f, init = init_flags(v);
        r = OPAQUE(vals[v]); SHIFT_1("shll", r, init, f);
        say("shl1 %08x -> %08x %s\n", vals[v], r, fl(f, F_ALL & ~F_AF));
        r = OPAQUE(vals[v]); SHIFT_1("sarl", r, init, f);
        say("sar1 %08x -> %08x %s\n", vals[v], r, fl(f, F_ALL & ~F_AF));
        r = OPAQUE(vals[v]); SHIFT_1("rcrl", r, init, f);
        say("rcr1 %08x -> %08x %s\n", vals[v], r, fl(f, F_ALL));

        /* Double-precision shifts. */
        for (unsigned c = 0; c < 3; c++) {
            uint32_t cnt = OPAQUE(counts[c]), other = OPAQUE(0xCAFEBABEu);
            uint32_t mask = F_ALL & ~F_AF & (cnt == 1 ? ~0u : ~F_OF);
            r = OPAQUE(vals[v]);
            __asm__ volatile("pushl %[i]\n\tpopfl\n\tshldl %%cl, %[o], %[rr]\n\tpushfl\n\tpopl %[ff]"
                             : [rr] "+r"(r), [ff] "=r"(f) : [o] "r"(other), "c"(cnt), [i] "r"(init) : "cc");
            say("shld %08x,cafebabe,%-2u -> %08x %s\n", vals[v], counts[c], r, fl(f, mask));
            r = OPAQUE(vals[v]);
            __asm__ volatile("pushl %[i]\n\tpopfl\n\tshrdl %%cl, %[o], %[rr]\n\tpushfl\n\tpopl %[ff]"
                             : [rr] "+r"(r), [ff] "=r"(f) : [o] "r"(other), "c"(cnt), [i] "r"(init) : "cc");
            say("shrd %08x,cafebabe,%-2u -> %08x %s\n", vals[v], counts[c], r, fl(f, mask));
        }
    }
}

static void flags_misc(void)
{
    say("== flags: mul/div/bit ops/BCD ==\n");
    for (int i = 0; i < NPAIRS; i++) {
        uint32_t a = OPAQUE(A32[i]), b = OPAQUE(B32[i] | 3u), lo, hi, f, init = init_flags(i);
        __asm__ volatile("pushl %[i]\n\tpopfl\n\tmull %[b]\n\tpushfl\n\tpopl %[f]"
                         : "=a"(lo), "=d"(hi), [f] "=r"(f) : "a"(a), [b] "r"(b), [i] "r"(init) : "cc");
        say("mul  %08x,%08x -> %08x:%08x %s\n", a, b, hi, lo, fl(f, F_CF | F_OF));
        __asm__ volatile("pushl %[i]\n\tpopfl\n\timull %[b]\n\tpushfl\n\tpopl %[f]"
                         : "=a"(lo), "=d"(hi), [f] "=r"(f) : "a"(a), [b] "r"(b), [i] "r"(init) : "cc");
        say("imul %08x,%08x -> %08x:%08x %s\n", a, b, hi, lo, fl(f, F_CF | F_OF));
        uint32_t q, r;
        __asm__ volatile("divl %[b]" : "=a"(q), "=d"(r) : "a"(a), "d"(0u), [b] "r"(b));
        say("div  %08x/%08x -> q %08x r %08x\n", a, b, q, r);
        int32_t sa = (int32_t)a, sb = (int32_t)b;
        int32_t sq, sr;
        if (sa == -2147483647 - 1 && sb == -1) sb = -3; /* INT_MIN / -1 would raise #DE */
        __asm__ volatile("cltd\n\tidivl %[b]" : "=a"(sq), "=d"(sr) : "a"(sa), [b] "r"(sb));
        say("idiv %d/%d -> q %d r %d\n", sa, sb, sq, sr);

        uint32_t nz = a | 0x100u, idx;
        __asm__ volatile("pushl %[i]\n\tpopfl\n\tbsfl %[s], %[d]\n\tpushfl\n\tpopl %[f]"
                         : [d] "=r"(idx), [f] "=r"(f) : [s] "r"(nz), [i] "r"(init) : "cc");
        say("bsf  %08x -> %u %s\n", nz, idx, fl(f, F_ZF));
        __asm__ volatile("pushl %[i]\n\tpopfl\n\tbsrl %[s], %[d]\n\tpushfl\n\tpopl %[f]"
                         : [d] "=r"(idx), [f] "=r"(f) : [s] "r"(nz), [i] "r"(init) : "cc");
        say("bsr  %08x -> %u %s\n", nz, idx, fl(f, F_ZF));
        uint32_t zero = OPAQUE(0u);
        __asm__ volatile("pushl %[i]\n\tpopfl\n\tbsfl %[s], %[d]\n\tpushfl\n\tpopl %[f]"
                         : [d] "=r"(idx), [f] "=r"(f) : [s] "r"(zero), [i] "r"(init) : "cc");
        say("bsf  00000000 -> %s\n", fl(f, F_ZF));

        uint32_t bit = OPAQUE((uint32_t)i * 9u + 3u), v = a;
        __asm__ volatile("pushl %[i]\n\tpopfl\n\tbtl %[n], %[v]\n\tpushfl\n\tpopl %[f]"
                         : [f] "=r"(f) : [v] "r"(v), [n] "r"(bit), [i] "r"(init) : "cc");
        say("bt   %08x,%u %s\n", a, bit, fl(f, F_CF | F_ZF));
        __asm__ volatile("pushl %[i]\n\tpopfl\n\tbtsl %[n], %[v]\n\tpushfl\n\tpopl %[f]"
                         : [v] "+r"(v), [f] "=r"(f) : [n] "r"(bit), [i] "r"(init) : "cc");
        say("bts  %08x,%u -> %08x %s\n", a, bit, v, fl(f, F_CF | F_ZF));
        __asm__ volatile("pushl %[i]\n\tpopfl\n\tbtcl %[n], %[v]\n\tpushfl\n\tpopl %[f]"
                         : [v] "+r"(v), [f] "=r"(f) : [n] "r"(bit + 1), [i] "r"(init) : "cc");
        say("btc  %u -> %08x %s\n", bit + 1, v, fl(f, F_CF | F_ZF));
        __asm__ volatile("pushl %[i]\n\tpopfl\n\tbtrl %[n], %[v]\n\tpushfl\n\tpopl %[f]"
                         : [v] "+r"(v), [f] "=r"(f) : [n] "r"(bit), [i] "r"(init) : "cc");
        say("btr  %u -> %08x %s\n", bit, v, fl(f, F_CF | F_ZF));

        /* Packed BCD adjust after add and subtract; OF is undefined. */
        uint32_t x = OPAQUE(0x1900u | (A32[i] & 0xFF)), y = OPAQUE(B32[i] & 0x99);
        __asm__ volatile("pushl %[i]\n\tpopfl\n\taddb %b[y], %%al\n\tdaa\n\tpushfl\n\tpopl %[f]"
                         : "+a"(x), [f] "=r"(f) : [y] "q"(y), [i] "r"(init) : "cc");
        say("daa  -> %08x %s\n", x, fl(f, F_ALL & ~F_OF));
        __asm__ volatile("pushl %[i]\n\tpopfl\n\tsubb %b[y], %%al\n\tdas\n\tpushfl\n\tpopl %[f]"
                         : "+a"(x), [f] "=r"(f) : [y] "q"(y), [i] "r"(init) : "cc");
        say("das  -> %08x %s\n", x, fl(f, F_ALL & ~F_OF));
        uint32_t m = OPAQUE(A32[i] & 0xFFFF);
        __asm__ volatile("aam\n\tpushfl\n\tpopl %[f]" : "+a"(m), [f] "=r"(f) : : "cc");
        say("aam  -> %04x %s\n", m & 0xFFFF, fl(f, F_SF | F_ZF | F_PF));
        __asm__ volatile("aad\n\tpushfl\n\tpopl %[f]" : "+a"(m), [f] "=r"(f) : : "cc");
        say("aad  -> %04x %s\n", m & 0xFFFF, fl(f, F_SF | F_ZF | F_PF));

        /* setcc, cmov, sign/zero extension. */
        uint32_t lt, below, cm;
        __asm__ volatile("cmpl %[b], %[a]\n\tsetl %b[lt]\n\tsetb %b[bl]\n\tmovl %[a], %[cm]\n\tcmovgl %[b], %[cm]"
                         : [lt] "=&q"(lt), [bl] "=&q"(below), [cm] "=&r"(cm) : [a] "r"(a), [b] "r"(b) : "cc");
        say("cmp %08x,%08x: setl %u setb %u cmovg %08x\n", a, b, lt & 1, below & 1, cm);
        uint32_t sx8, zx8, sx16, cw;
        __asm__("movsbl %b1, %0" : "=r"(sx8) : "q"(a));
        __asm__("movzbl %b1, %0" : "=r"(zx8) : "q"(a));
        __asm__("movswl %w1, %0" : "=r"(sx16) : "r"(a >> 8));
        __asm__("cwtl" : "=a"(cw) : "a"(a >> 12));
        say("movsb %08x movzb %08x movsw %08x cwde %08x\n", sx8, zx8, sx16, cw);
    }
}

static void widths(void)
{
    say("== C arithmetic across widths ==\n");
    static const int32_t sv[] = { 0, 1, -1, 7, -7, 100, -100, 2147483647, -2147483647 - 1, 65537 };
    for (unsigned i = 0; i < ARRAY_SIZE(sv); i++) {
        int32_t a = OPAQUE(sv[i]);
        int32_t b = OPAQUE(sv[(i + 3) % ARRAY_SIZE(sv)]);
        uint8_t u8 = (uint8_t)((uint8_t)a + (uint8_t)b);
        int8_t s8 = (int8_t)((uint8_t)a * (uint8_t)3);
        uint16_t u16 = (uint16_t)((uint16_t)a - (uint16_t)b);
        int16_t s16 = (int16_t)(uint16_t)((uint32_t)a * 1000u);
        say("a=%d b=%d: u8(a+b)=%u s8(a*3)=%d u16(a-b)=%u s16(a*1000)=%d\n", a, b, u8, s8, u16, s16);
        uint32_t ua = (uint32_t)a, ub = (uint32_t)b;
        say("  sum=%d diff=%d prod=%08x uprod=%u\n", (int32_t)(ua + ub), (int32_t)(ua - ub),
            ua * ub, ua * 3u);
        if (b != 0 && !(a == -2147483647 - 1 && b == -1)) {
            say("  a/b=%d a%%b=%d ua/ub=%u ua%%ub=%u\n", a / b, a % b, ua / ub, ua % ub);
        }
        int8_t c8 = (int8_t)OPAQUE(-100);
        int8_t d8 = (int8_t)OPAQUE(7);
        int16_t c16 = (int16_t)OPAQUE(-30000);
        say("  i8 -100/7=%d -100%%7=%d i16 -30000/%d=%d u8 200/7=%u\n", c8 / d8, c8 % d8, a | 1,
            c16 / (int16_t)(a | 1), (uint8_t)OPAQUE(200) / (uint8_t)OPAQUE(7));
        say("  a>>3=%d (u)a>>3=%u a<<5=%08x\n", a >> 3, ua >> 3, ua << 5);
    }
}

static void sixty_four(void)
{
    say("== 64-bit ==\n");
    static const uint64_t v64[] = {
        0, 1, 0xFFFFFFFFull, 0x100000000ull, 0x123456789ABCDEFull, 0xFFFFFFFFFFFFFFFFull,
        0x8000000000000000ull, 10000000000000000000ull, 0x00000003FFFFFFFDull, 0x7FFFFFFFFFFFFFFFull,
    };
    static const uint64_t d64[] = {
        1, 3, 10, 0xFFFFFFFFull, 0x100000000ull, 0x123456789ull, 7, 0xFFFFFFFFFFFFFFFFull,
        1000000007ull, 0x8000000000000001ull,
    };
    for (unsigned i = 0; i < ARRAY_SIZE(v64); i++) {
        for (unsigned j = 0; j < ARRAY_SIZE(d64); j += 3) {
            uint64_t a = OPAQUE(v64[i]), d = OPAQUE(d64[(i + j) % ARRAY_SIZE(d64)]);
            int64_t sa = (int64_t)a, sd = (int64_t)d;
            say("%016llx / %016llx: q=%llx r=%llx sq=%lld sr=%lld\n", a, d, a / d, a % d,
                (sa == (-9223372036854775807LL - 1) && sd == -1) ? 0 : sa / sd,
                (sa == (-9223372036854775807LL - 1) && sd == -1) ? 0 : sa % sd);
        }
        uint64_t a = OPAQUE(v64[i]), b = OPAQUE(v64[(i + 1) % ARRAY_SIZE(v64)]);
        uint32_t s = OPAQUE((uint32_t)(i * 7) % 64);
        say("  a*b=%016llx a+b=%016llx a-b=%016llx a<<%u=%016llx a>>%u=%016llx sar=%016llx\n",
            a * b, a + b, a - b, s, a << s, s, a >> s, (uint64_t)((int64_t)a >> s));
        say("  cmp: %d %d %d %d\n", a < b, (int64_t)a < (int64_t)b, a == b, a >= b);
    }
    int64_t neg = OPAQUE(-1234567890123LL);
    say("  -1234567890123 /1000=%lld %%1000=%lld /-7=%lld %%-7=%lld\n", neg / 1000, neg % 1000,
        neg / -7, neg % -7);
    say("  decimal 2^64-1 = %llu, INT64_MIN = %lld\n", OPAQUE(0xFFFFFFFFFFFFFFFFull),
        (int64_t)OPAQUE(0x8000000000000000ull));
}

static uint32_t popcount_loop(uint32_t x)
{
    uint32_t n = 0;
    while (x) { n += x & 1; x >>= 1; }
    return n;
}

static uint32_t popcount_kernighan(uint32_t x)
{
    uint32_t n = 0;
    while (x) { x &= x - 1; n++; }
    return n;
}

static uint32_t clz_loop(uint32_t x)
{
    uint32_t n = 0;
    for (uint32_t m = 0x80000000u; m && !(x & m); m >>= 1) n++;
    return n;
}

static uint32_t ctz_loop(uint32_t x)
{
    if (!x) return 32;
    uint32_t n = 0;
    while (!(x & 1)) { x >>= 1; n++; }
    return n;
}

static uint32_t reverse_bits(uint32_t x)
{
    x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
    x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
    x = ((x >> 4) & 0x0F0F0F0Fu) | ((x & 0x0F0F0F0Fu) << 4);
    x = ((x >> 8) & 0x00FF00FFu) | ((x & 0x00FF00FFu) << 8);
    return (x >> 16) | (x << 16);
}

static uint32_t rotl(uint32_t x, uint32_t r) { r &= 31; return r ? (x << r) | (x >> (32 - r)) : x; }

static void bit_tricks(void)
{
    say("== bit tricks ==\n");
    uint32_t x = OPAQUE(0x9E3779B9u);
    for (int i = 0; i < 12; i++) {
        uint32_t bsr = 0;
        if (x) __asm__("bsrl %1, %0" : "=r"(bsr) : "rm"(x));
        uint32_t np = x - 1;
        np |= np >> 1; np |= np >> 2; np |= np >> 4; np |= np >> 8; np |= np >> 16; np++;
        say("%08x pop=%u/%u clz=%u(bsr %u) ctz=%u rev=%08x rotl7=%08x nextpow2=%08x parity=%u\n", x,
            popcount_loop(x), popcount_kernighan(x), clz_loop(x), 31 - bsr, ctz_loop(x), reverse_bits(x),
            rotl(x, 7), np, popcount_loop(x) & 1);
        x = x * 1103515245u + 12345u;
        x >>= (i & 3) * 5;
    }
}

static void overflow(void)
{
    say("== overflow builtins ==\n");
    static const int32_t s[] = { 2147483647, -2147483647 - 1, 1, -1, 65536, 46341, -46341 };
    for (unsigned i = 0; i < ARRAY_SIZE(s); i++) {
        for (unsigned j = 0; j < ARRAY_SIZE(s); j += 2) {
            int32_t a = OPAQUE(s[i]), b = OPAQUE(s[j]), r1, r2, r3;
            uint32_t ur;
            int o1 = __builtin_add_overflow(a, b, &r1);
            int o2 = __builtin_sub_overflow(a, b, &r2);
            int o3 = __builtin_mul_overflow(a, b, &r3);
            int o4 = __builtin_add_overflow((uint32_t)a, (uint32_t)b, &ur);
            int64_t w;
            int o5 = __builtin_mul_overflow((int64_t)a * 65536, (int64_t)b * 65536, &w);
            say("%d,%d: add %d/%d sub %d/%d mul %d/%d uadd %u/%d mul64 %lld/%d\n", a, b, r1, o1, r2, o2,
                r3, o3, ur, o4, w, o5);
        }
    }
}

static uint32_t crc_table[256];

static uint32_t crc32_bitwise(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    while (n--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

static uint32_t crc32_table(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    while (n--) c = crc_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
    return ~c;
}

static void crc(void)
{
    say("== crc32 ==\n");
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
        crc_table[i] = c;
    }
    static const char *const texts[] = { "", "a", "123456789", "The quick brown fox jumps over the lazy dog" };
    for (unsigned i = 0; i < ARRAY_SIZE(texts); i++) {
        const uint8_t *p = (const uint8_t *)texts[i];
        say("crc32(\"%s\") = %08x / %08x\n", texts[i], crc32_bitwise(p, strlen(texts[i])),
            crc32_table(p, strlen(texts[i])));
    }
    static uint8_t big[8192];
    uint32_t seed = 1;
    for (unsigned i = 0; i < sizeof big; i++) { seed = seed * 1664525u + 1013904223u; big[i] = (uint8_t)(seed >> 24); }
    say("crc32(8 KiB LCG bytes) = %08x / %08x\n", crc32_bitwise(big, sizeof big), crc32_table(big, sizeof big));
}

static uint8_t composite[30001];

static void primes(void)
{
    say("== sieve ==\n");
    uint32_t n = OPAQUE(30000u), count = 0, sum = 0, last = 0;
    for (uint32_t i = 2; i * i <= n; i++) {
        if (!composite[i]) {
            for (uint32_t j = i * i; j <= n; j += i) composite[j] = 1;
        }
    }
    say("primes below 100:");
    for (uint32_t i = 2; i <= n; i++) {
        if (!composite[i]) {
            count++;
            sum += i;
            last = i;
            if (i < 100) say(" %u", i);
        }
    }
    say("\nprimes <= %u: count %u, sum %u, largest %u\n", n, count, sum, last);
}

static void fibonacci(void)
{
    say("== fibonacci ==\n");
    uint64_t a = 0, b = 1;
    for (uint32_t i = 0; i <= OPAQUE(93u); i++) {
        if (i % 10 == 0 || i >= 90) say("fib(%u) = %llu\n", i, a);
        uint64_t t = a + b;
        a = b;
        b = t;
    }
    uint32_t x = 0, y = 1;
    for (uint32_t i = 0; i < OPAQUE(100000u); i++) {
        uint32_t t = (x + y) % 1000000007u;
        x = y;
        y = t;
    }
    say("fib(100000) mod 1000000007 = %u\n", x);
}

static void collatz(void)
{
    say("== collatz ==\n");
    uint32_t best = 1, best_len = 0;
    uint64_t peak = 0;
    for (uint32_t start = 1; start < OPAQUE(20000u); start++) {
        uint64_t v = start;
        uint32_t len = 0;
        while (v != 1) {
            v = (v & 1) ? 3 * v + 1 : v >> 1;
            if (v > peak) peak = v;
            len++;
        }
        if (len > best_len) { best_len = len; best = start; }
        if (start == 27 || start == 97 || start == 871) say("collatz(%u) takes %u steps\n", start, len);
    }
    say("longest below 20000: %u with %u steps; highest value reached %llu\n", best, best_len, peak);
}

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic;
    (void)mbi;
    say("arith: integer arithmetic test kernel\n");
    widths();
    flags_binary();
    flags_unary();
    flags_shifts();
    flags_misc();
    sixty_four();
    bit_tricks();
    overflow();
    crc();
    primes();
    fibonacci();
    collatz();
    uint32_t h = say_hash;
    printf("checksum %08x\n", h);
    return 0;
}
