/*
 * Host side of the FXRSTOR/FXSAVE differential test (FxSaveDiffTest). Built at test time into
 * target/; never committed as a binary.
 *
 * Reads 512-byte FXSAVE images from stdin until EOF. For each: FXRSTOR it, FXSAVE into a
 * cleared area, then FNSAVE (which shows the full tag word the processor derives from the
 * registers) and write one record:
 *
 *   result: u32 signal (0 = completed, else the signal FXRSTOR raised), u8 fxsave[512],
 *           u8 fnsave[108]
 *
 * FXRSTOR and FXSAVE without REX.W use the 32-bit layout in 64-bit mode.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static sigjmp_buf recover;
static volatile sig_atomic_t caught;

static void on_signal(int sig) {
  caught = sig;
  siglongjmp(recover, 1);
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_NODEFER;
  sigaction(SIGFPE, &sa, NULL);
  sigaction(SIGILL, &sa, NULL);
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);

  static unsigned char in[512] __attribute__((aligned(16)));
  static unsigned char fx[512] __attribute__((aligned(16)));
  static unsigned char env[108] __attribute__((aligned(16)));
  static unsigned char out[4 + 512 + 108];
  unsigned int clean_mxcsr = 0x1F80;
  while (fread(in, 1, sizeof in, stdin) == sizeof in) {
    memset(fx, 0, sizeof fx);
    memset(env, 0, sizeof env);
    caught = 0;
    if (sigsetjmp(recover, 1) == 0) {
      __asm__ volatile("fxrstor (%0)\n\t"
                       "fxsave (%1)\n\t"
                       "fnsave (%2)\n\t"
                       "ldmxcsr (%3)"
                       : : "r"(in), "r"(fx), "r"(env), "r"(&clean_mxcsr) : "memory");
    } else {
      __asm__ volatile("fninit\n\tldmxcsr (%0)" : : "r"(&clean_mxcsr));
    }
    uint32_t sig = caught;
    memcpy(out, &sig, 4);
    memcpy(out + 4, fx, 512);
    memcpy(out + 516, env, 108);
    if (fwrite(out, 1, sizeof out, stdout) != sizeof out) {
      return 3;
    }
  }
  fflush(stdout);
  return 0;
}
