/*
 * Self-modifying code. Each case prints what the patched code returned and
 * whether that matches real hardware (a store to code that has been fetched or
 * decoded, even the very next instruction, is seen by the following fetch).
 * An emulator that caches decoded blocks must invalidate them, including the
 * block it is executing.
 */
#include "rt.h"
#include "report.h"

/* Assembly helpers, all cdecl; each patches code in its own block. */
uint32_t smc_next_insn(uint32_t value);
uint32_t smc_ahead(uint32_t value);
uint32_t smc_loop(uint32_t count);
uint32_t smc_branch(uint32_t disp);
uint32_t smc_movs_patch(uint32_t value);
uint32_t smc_byte_patch(uint32_t value);

__asm__(
    "        .text\n"
    /* Store into the immediate of the instruction that follows the store. */
    "        .globl smc_next_insn\n"
    "smc_next_insn:\n"
    "        movl 4(%esp), %ecx\n"
    "        movl %ecx, 1f+1\n"
    "1:      movl $0x11111111, %eax\n"
    "        ret\n"

    /* Store into an instruction three instructions ahead in the same block. */
    "        .globl smc_ahead\n"
    "smc_ahead:\n"
    "        movl 4(%esp), %ecx\n"
    "        xorl %eax, %eax\n"
    "        movl %ecx, 2f+1\n"
    "        addl $1, %eax\n"
    "        addl $2, %eax\n"
    "2:      movl $0x0, %edx\n"
    "        addl %edx, %eax\n"
    "        ret\n"

    /* A loop whose body bumps the 32-bit immediate of its own first instruction. */
    "        .globl smc_loop\n"
    "smc_loop:\n"
    "        movl 4(%esp), %ecx\n"
    "        xorl %eax, %eax\n"
    "        movl $0, 3f+1\n"
    "3:      .byte 0x05\n"              /* addl $imm32, %eax */
    "        .long 0\n"
    "        incl 3b+1\n"
    "        decl %ecx\n"
    "        jnz 3b\n"
    "        ret\n"

    /* Patch the rel8 of the jump that follows, choosing one of three returns. */
    "        .globl smc_branch\n"
    "smc_branch:\n"
    "        movl 4(%esp), %ecx\n"
    "        movb %cl, 4f+1\n"
    "4:      .byte 0xEB, 0x00\n"        /* jmp rel8 */
    "        movl $1, %eax\n"
    "        ret\n"
    "        movl $2, %eax\n"
    "        ret\n"
    "        movl $3, %eax\n"
    "        ret\n"

    /* A string move (movsl) writes the immediate of the next instruction. */
    "        .globl smc_movs_patch\n"
    "smc_movs_patch:\n"
    "        pushl %esi\n"
    "        pushl %edi\n"
    "        leal 12(%esp), %esi\n"
    "        movl $5f+1, %edi\n"
    "        cld\n"
    "        movsl\n"
    "5:      movl $0x22222222, %eax\n"
    "        popl %edi\n"
    "        popl %esi\n"
    "        ret\n"

    /* Byte stores turn 'addl %ecx, %eax' into 'subl %ecx, %eax' or 'xorl %ecx, %eax' just ahead. */
    "        .globl smc_byte_patch\n"
    "smc_byte_patch:\n"
    "        movl 4(%esp), %edx\n"
    "        movl $1000, %eax\n"
    "        movl $58, %ecx\n"
    "        movb %dl, 6f\n"
    "6:      addl %ecx, %eax\n"         /* 01 C8; 0x29 = sub, 0x31 = xor */
    "        ret\n");

/* Position-independent template: mov $imm32, %eax; ret */
static const uint8_t tmpl_mov_ret[] = { 0xB8, 0x44, 0x33, 0x22, 0x11, 0xC3 };
/* mov 4(%esp), %eax; add $imm8, %eax; ret */
static const uint8_t tmpl_add[] = { 0x8B, 0x44, 0x24, 0x04, 0x83, 0xC0, 0x05, 0xC3 };

static uint8_t codebuf[256] __attribute__((aligned(16)));

typedef uint32_t (*fn0)(void);
typedef uint32_t (*fn1)(uint32_t);

static int failures;

static void check(const char *what, uint32_t got, uint32_t want)
{
    say("%-44s %08x %s\n", what, got, got == want ? "ok" : "MISMATCH");
    if (got != want) failures++;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic;
    (void)mbi;
    say("smc: self-modifying code test kernel\n");

    say("== code copied into a buffer ==\n");
    memcpy(codebuf, tmpl_mov_ret, sizeof tmpl_mov_ret);
    fn0 f0 = (fn0)(void *)codebuf;
    check("call copied mov/ret", f0(), 0x11223344);
    put32(codebuf + 1, 0xCAFEF00D);
    check("patch immediate, call again", f0(), 0xCAFEF00D);
    uint32_t sum = 0;
    for (uint32_t i = 0; i < 200; i++) {
        put32(codebuf + 1, i * 3);
        sum += f0();
    }
    check("200 patch+call rounds, sum", sum, 3 * 199 * 200 / 2);

    memcpy(codebuf + 32, tmpl_add, sizeof tmpl_add);
    fn1 f1 = (fn1)(void *)(codebuf + 32);
    check("add $5 template on 100", f1(100), 105);
    codebuf[32 + 5] = 0xE8;   /* add -> sub */
    check("opcode patched to sub", f1(100), 95);
    codebuf[32 + 6] = 0x7F;   /* imm8 = 127 */
    check("then imm8 patched to 127", f1(100), (uint32_t)(100 - 127));
    codebuf[32 + 5] = 0xF0;   /* sub -> xor */
    check("then opcode patched to xor", f1(100), 100 ^ 127);

    /* Move the function to another address and run both copies. */
    memcpy(codebuf + 64, codebuf + 32, sizeof tmpl_add);
    codebuf[64 + 6] = 1;
    check("moved copy (xor $1)", ((fn1)(void *)(codebuf + 64))(100), 101);
    check("original still xor $127", f1(100), 100 ^ 127);

    say("== patching the running block ==\n");
    check("store to the next instruction's imm", smc_next_insn(0xA5A5A5A5), 0xA5A5A5A5);
    check("again with a new value", smc_next_insn(0x5A5A5A5A), 0x5A5A5A5A);
    uint32_t acc = 0;
    for (uint32_t i = 1; i <= 50; i++) acc += smc_next_insn(i * 1000);
    check("50 calls, sum", acc, 1000 * 50 * 51 / 2);
    check("store three instructions ahead", smc_ahead(1000), 1003);
    check("three ahead, second value", smc_ahead(77), 80);
    check("loop bumping its own immediate, n=10", smc_loop(10), 45);
    check("loop bumping its own immediate, n=1000", smc_loop(1000), 999 * 1000 / 2);
    check("jump rel8 patched to 0", smc_branch(0), 1);
    check("jump rel8 patched to 6", smc_branch(6), 2);
    check("jump rel8 patched to 12", smc_branch(12), 3);
    check("jump rel8 patched back to 0", smc_branch(0), 1);
    check("movsl writes the next immediate", smc_movs_patch(0x0BADC0DE), 0x0BADC0DE);
    check("movsl again", smc_movs_patch(0x600DF00D), 0x600DF00D);
    check("byte store: add -> sub", smc_byte_patch(0x29), 1000 - 58);
    check("byte store: sub -> xor", smc_byte_patch(0x31), 1000 ^ 58);
    check("byte store: back to add", smc_byte_patch(0x01), 1058);

    say("%s: %d mismatches\n", failures ? "FAILED" : "all ok", failures);
    printf("checksum %08x\n", say_hash);
    return failures ? 1 : 0;
}
