/*
 * Host side of the x87 differential test (FpuDiffTest). Built at test time into target/;
 * never committed as a binary.
 *
 * Reads fixed-size case records from stdin until EOF and writes one result record per case:
 *
 *   case:   u8 state[108]   32-bit FSAVE image loaded with FRSTOR
 *           u8 mem[128]     operand buffer; the instruction addresses it as [rsi]
 *           u32 eflags, u32 eax
 *           u8 len, u8 code[15]   the one x87 instruction under test
 *   result: u32 signal (0 = completed), u8 state[108] (FNSAVE afterwards), u8 mem[128],
 *           u32 eflags, u32 eax
 *
 * The instruction runs in 64-bit mode, where an x87 instruction with a ModRM of [esi] means
 * [rsi] and every other field has its 32-bit meaning.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

void run_case(void *state, void *mem, uint64_t *regs, void *code);
__asm__(
    ".text\n"
    ".globl run_case\n"
    "run_case:\n"
    "  push %rbx\n"
    "  push %r12\n"
    "  push %r13\n"
    "  mov %rdx, %r12\n"
    "  mov %rcx, %r13\n"
    "  frstor (%rdi)\n"
    "  pushq (%r12)\n"
    "  popfq\n"
    "  mov 8(%r12), %rax\n"
    "  call *%r13\n"
    "  mov %rax, 8(%r12)\n"
    "  pushfq\n"
    "  popq (%r12)\n"
    "  fnsave (%rdi)\n"
    "  pop %r13\n"
    "  pop %r12\n"
    "  pop %rbx\n"
    "  ret\n");

enum { IN_SIZE = 108 + 128 + 4 + 4 + 16, OUT_SIZE = 4 + 108 + 128 + 4 + 4 };

static sigjmp_buf recover;
static volatile sig_atomic_t caught;

static void on_signal(int sig) {
  caught = sig;
  siglongjmp(recover, 1);
}

int main(void) {
  unsigned char *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (code == MAP_FAILED) {
    perror("mmap");
    return 2;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_NODEFER;
  sigaction(SIGFPE, &sa, NULL);
  sigaction(SIGILL, &sa, NULL);
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);

  static unsigned char in[IN_SIZE], out[OUT_SIZE];
  static unsigned char state[108] __attribute__((aligned(16)));
  static unsigned char mem[128] __attribute__((aligned(16)));
  while (fread(in, 1, IN_SIZE, stdin) == IN_SIZE) {
    memcpy(state, in, 108);
    memcpy(mem, in + 108, 128);
    uint32_t fl, ax;
    memcpy(&fl, in + 236, 4);
    memcpy(&ax, in + 240, 4);
    int len = in[244];
    memcpy(code, in + 245, len);
    code[len] = 0xC3;
    uint64_t regs[2] = {(uint64_t)(fl & 0x8D5) | 0x202, ax};
    caught = 0;
    if (sigsetjmp(recover, 1) == 0) {
      run_case(state, mem, regs, code);
    } else {
      __asm__ volatile("fninit");
      memset(state, 0, sizeof state);
    }
    uint32_t sig = caught;
    memcpy(out, &sig, 4);
    memcpy(out + 4, state, 108);
    memcpy(out + 112, mem, 128);
    uint32_t flo = (uint32_t)regs[0], axo = (uint32_t)regs[1];
    memcpy(out + 240, &flo, 4);
    memcpy(out + 244, &axo, 4);
    if (fwrite(out, 1, OUT_SIZE, stdout) != OUT_SIZE) {
      return 3;
    }
  }
  fflush(stdout);
  return 0;
}
