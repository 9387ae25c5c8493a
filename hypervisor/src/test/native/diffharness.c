/*
 * Reference harness for Hospes' differential tests of the user-level x86 instruction set.
 *
 * Built at test time twice from this one file: as a 64-bit host program (instructions run on the
 * host CPU in 64-bit mode, memory operands carry 0x67 so addresses wrap at 32 bits) and as a
 * static 32-bit program run under qemu-i386 (forms that 64-bit mode lacks).
 *
 * How one case runs: the code region is filled with HLT (F4). The case's bytes are written at the
 * instruction address, the scratch window and the registers are loaded, and the harness jumps to
 * the instruction. Whatever path execution takes, it ends at a HLT, which in user mode raises
 * #GP and so SIGSEGV; SIGFPE (#DE), SIGILL (#UD) and real page faults end a case the same way.
 * The signal handler takes the final registers, EFLAGS and EIP from the signal context and
 * long-jumps back to the loop, which reports them with the scratch window.
 *
 * A second HLT-filled region below 64 KiB (lowCodeAddr) is where 16-bit-operand jumps, calls and
 * returns land once EIP is truncated to 16 bits; the pages around it stay unmapped, so a truncated
 * EIP that misses it ends in a page fault whose address is compared.
 *
 * The 32-bit harness also loads ES, DS, FS and GS from the case before it jumps (segment-loading
 * forms run at CPL 3 against QEMU's Linux GDT: 0x23 user code, 0x2B user data, 0x33 glibc's TLS),
 * and reports all six selectors and the exception error code (the #GP selector, the #PF bits)
 * from the signal context. The handler first puts GS back: glibc's TLS and pointer guard live
 * behind it, and siglongjmp reads the guard. The 64-bit harness reports zero selectors.
 *
 * Protocol (all little-endian, on stdin/stdout):
 *   header  u32 magic 'HDF2', count, scratchAddr, scratchSize, codeAddr, codeSize, insnAddr, codeMax,
 *           lowCodeAddr, lowCodeSize
 *   case    u32 codeLen, u32 codeAddr (within the code region), u8 code[codeMax], u32 regs[8] (EAX..EDI),
 *           u32 eflags, u32 sregs[4] (ES, DS, FS, GS), u8 scratch[scratchSize]
 *   result  i32 signo, i32 si_code, u32 eip, u32 regs[8], u32 eflags, u32 faultAddr, u32 err,
 *           u32 sregs[6] (ES, CS, SS, DS, FS, GS), u8 scratch[scratchSize]
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define MAGIC 0x32464448u /* "HDF2" */

/* Layout known to the entry stub: regs[8] at 0, eflags at 32, target at 40, sregs[4] at 48. */
struct entry_state {
  uint32_t regs[8];
  uint32_t eflags;
  uint32_t pad;
  uint64_t target;
  uint32_t sregs[4]; /* ES, DS, FS, GS: loaded by the 32-bit stub only */
};

struct entry_state hd_state;
static sigjmp_buf g_jmp;
static int32_t g_signo, g_code;
static uint32_t g_eip, g_regs[8], g_eflags, g_addr, g_err, g_sregs[6];
/* The harness's own FS and GS, restored first thing in the signal handler. */
uint32_t hd_fs, hd_gs;

void hd_enter(void);

#if defined(__x86_64__)
__asm__(
    ".text\n"
    ".globl hd_enter\n"
    "hd_enter:\n"
    "  movl hd_state+32(%rip), %eax\n"
    "  pushq %rax\n"
    "  popfq\n"
    "  movl hd_state+0(%rip), %eax\n"
    "  movl hd_state+4(%rip), %ecx\n"
    "  movl hd_state+8(%rip), %edx\n"
    "  movl hd_state+12(%rip), %ebx\n"
    "  movl hd_state+16(%rip), %esp\n"
    "  movl hd_state+20(%rip), %ebp\n"
    "  movl hd_state+24(%rip), %esi\n"
    "  movl hd_state+28(%rip), %edi\n"
    "  jmp *hd_state+40(%rip)\n");
#elif defined(__i386__)
__asm__(
    ".text\n"
    ".globl hd_enter\n"
    "hd_enter:\n"
    "  pushl hd_state+32\n"
    "  popfl\n"
    /* DS may become null here: everything after it goes through SS (always 0x2B, flat). */
    "  movl %ss:hd_state+48, %eax\n"
    "  movl %eax, %es\n"
    "  movl %ss:hd_state+56, %eax\n"
    "  movl %eax, %fs\n"
    "  movl %ss:hd_state+60, %eax\n"
    "  movl %eax, %gs\n"
    "  movl %ss:hd_state+52, %eax\n"
    "  movl %eax, %ds\n"
    "  movl %ss:hd_state+0, %eax\n"
    "  movl %ss:hd_state+4, %ecx\n"
    "  movl %ss:hd_state+8, %edx\n"
    "  movl %ss:hd_state+12, %ebx\n"
    "  movl %ss:hd_state+16, %esp\n"
    "  movl %ss:hd_state+20, %ebp\n"
    "  movl %ss:hd_state+24, %esi\n"
    "  movl %ss:hd_state+28, %edi\n"
    "  jmp *%ss:hd_state+40\n");
#else
#error "x86 only"
#endif

static void on_signal(int sig, siginfo_t *si, void *ctx) {
  /* Linux clears DF on signal entry; qemu-i386 7.2 does not, and glibc's string functions assume
   * DF=0, so clear it before anything else. */
  __asm__ volatile("cld");
#if defined(__i386__)
  /* The kernel (and QEMU) enter the handler with DS, ES and SS = __USER_DS but FS and GS as the
   * case left them. */
  __asm__ volatile("movl hd_fs, %%eax\n\tmovl %%eax, %%fs\n\tmovl hd_gs, %%eax\n\tmovl %%eax, %%gs"
                   ::: "eax", "memory");
#endif
  ucontext_t *uc = (ucontext_t *)ctx;
  greg_t *g = uc->uc_mcontext.gregs;
  g_signo = sig;
  g_code = si->si_code;
  g_addr = (uint32_t)(uintptr_t)si->si_addr;
#if defined(__x86_64__)
  g_regs[0] = (uint32_t)g[REG_RAX];
  g_regs[1] = (uint32_t)g[REG_RCX];
  g_regs[2] = (uint32_t)g[REG_RDX];
  g_regs[3] = (uint32_t)g[REG_RBX];
  g_regs[4] = (uint32_t)g[REG_RSP];
  g_regs[5] = (uint32_t)g[REG_RBP];
  g_regs[6] = (uint32_t)g[REG_RSI];
  g_regs[7] = (uint32_t)g[REG_RDI];
  g_eip = (uint32_t)g[REG_RIP];
  g_eflags = (uint32_t)g[REG_EFL];
  g_err = (uint32_t)g[REG_ERR];
  memset(g_sregs, 0, sizeof g_sregs);
#else
  g_regs[0] = (uint32_t)g[REG_EAX];
  g_regs[1] = (uint32_t)g[REG_ECX];
  g_regs[2] = (uint32_t)g[REG_EDX];
  g_regs[3] = (uint32_t)g[REG_EBX];
  g_regs[4] = (uint32_t)g[REG_UESP];
  g_regs[5] = (uint32_t)g[REG_EBP];
  g_regs[6] = (uint32_t)g[REG_ESI];
  g_regs[7] = (uint32_t)g[REG_EDI];
  g_eip = (uint32_t)g[REG_EIP];
  g_eflags = (uint32_t)g[REG_EFL];
  g_err = (uint32_t)g[REG_ERR];
  g_sregs[0] = (uint32_t)g[REG_ES] & 0xFFFF;
  g_sregs[1] = (uint32_t)g[REG_CS] & 0xFFFF;
  g_sregs[2] = (uint32_t)g[REG_SS] & 0xFFFF;
  g_sregs[3] = (uint32_t)g[REG_DS] & 0xFFFF;
  g_sregs[4] = (uint32_t)g[REG_FS] & 0xFFFF;
  g_sregs[5] = (uint32_t)g[REG_GS] & 0xFFFF;
#endif
  siglongjmp(g_jmp, 1);
}

static void die(const char *what) {
  fprintf(stderr, "diffharness: %s\n", what);
  exit(2);
}

#if defined(__i386__)
/* struct user_desc of <asm/ldt.h>, for modify_ldt. */
struct ldt_entry {
  uint32_t entry_number, base_addr, limit;
  uint32_t seg_32bit : 1, contents : 2, read_exec_only : 1, limit_in_pages : 1,
      seg_not_present : 1, useable : 1;
};

/*
 * The LDT the segment-loading forms use (EmulatorRunner builds the same descriptors): flat
 * 4 GiB, DPL 3 (Linux forces it), selectors 0x07 + 8 * i.
 *   0 data read/write          1 data read-only (no SS)       2 data read/write, not present
 *   3 code execute-only        4 code execute/read            5 conforming code, not present
 *   6 data expand-down, read/write
 * Linux (and QEMU) refuse a present conforming code segment. Function 0x11 is the new mode
 * (func 1 is the old one, which honours no "useable" bit and refuses conforming code at all).
 */
static void install_ldt(void) {
  static const uint8_t spec[7][3] = {/* contents, read_exec_only, seg_not_present */
    {0, 0, 0}, {0, 1, 0}, {0, 0, 1}, {2, 1, 0}, {2, 0, 0}, {3, 0, 1}, {1, 0, 0}};
  for (uint32_t i = 0; i < 7; i++) {
    struct ldt_entry d = {.entry_number = i, .base_addr = 0, .limit = 0xFFFFF, .seg_32bit = 1,
                          .contents = spec[i][0], .read_exec_only = spec[i][1],
                          .limit_in_pages = 1, .seg_not_present = spec[i][2], .useable = 1};
    if (syscall(SYS_modify_ldt, 0x11, &d, sizeof d) != 0) die("modify_ldt");
  }
}
#endif

static void read_exact(void *p, size_t n) {
  if (fread(p, 1, n, stdin) != n) die("short read on stdin");
}

static void *map_fixed(uint32_t addr, uint32_t size, int prot) {
  void *p = mmap((void *)(uintptr_t)addr, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                 -1, 0);
  if (p == MAP_FAILED || p != (void *)(uintptr_t)addr) die("cannot map a fixed low address");
  return p;
}

int main(void) {
  static char altstack[1 << 16];
  static char inbuf[1 << 20], outbuf[1 << 20];
  setvbuf(stdin, inbuf, _IOFBF, sizeof inbuf);
  setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);

  uint32_t h[10];
  read_exact(h, sizeof h);
  if (h[0] != MAGIC) die("bad magic");
  uint32_t count = h[1], scratch_addr = h[2], scratch_size = h[3], code_addr = h[4],
           code_size = h[5], insn_addr = h[6], code_max = h[7], low_addr = h[8], low_size = h[9];
  if (insn_addr < code_addr || insn_addr + code_max > code_addr + code_size) die("bad layout");

  uint32_t scratch_page = scratch_addr & ~0xFFFu;
  uint32_t scratch_map = ((scratch_addr + scratch_size + 0xFFFu) & ~0xFFFu) - scratch_page;
  uint8_t *scratch = (uint8_t *)map_fixed(scratch_page, scratch_map, PROT_READ | PROT_WRITE) +
                     (scratch_addr - scratch_page);
  uint8_t *code = map_fixed(code_addr, code_size, PROT_READ | PROT_WRITE | PROT_EXEC);
  memset(code, 0xF4, code_size);
  memset(map_fixed(low_addr, low_size, PROT_READ | PROT_EXEC | PROT_WRITE), 0xF4, low_size);
#if defined(__i386__)
  __asm__ volatile("movl %%fs, %0\n\tmovl %%gs, %1" : "=r"(hd_fs), "=r"(hd_gs));
  install_ldt();
#endif

  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  if (sigaltstack(&ss, NULL) != 0) die("sigaltstack");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  int sigs[] = {SIGSEGV, SIGILL, SIGFPE, SIGBUS, SIGTRAP, SIGALRM};
  for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    if (sigaction(sigs[i], &sa, NULL) != 0) die("sigaction");
  }

  uint8_t *buf = malloc(code_max > scratch_size ? code_max : scratch_size);
  if (!buf) die("out of memory");
  int trace = getenv("DIFFHARNESS_TRACE") != NULL;
  for (uint32_t c = 0; c < count; c++) {
    if (trace) {
      fprintf(stderr, "case %u\n", c);
    }
    uint32_t len;
    uint32_t at;
    read_exact(&len, 4);
    read_exact(&at, 4);
    if (len > code_max) die("code too long");
    if (at < code_addr || at + len > code_addr + code_size) die("code outside the code region");
    uint8_t *insn = code + (at - code_addr);
    read_exact(buf, code_max);
    memcpy(insn, buf, len);
    read_exact(hd_state.regs, 32);
    read_exact(&hd_state.eflags, 4);
    read_exact(hd_state.sregs, 16);
    read_exact(scratch, scratch_size);
    hd_state.target = at;
    g_signo = 0;
    if (sigsetjmp(g_jmp, 0) == 0) {
      alarm(2); /* a case that never reaches a HLT ends with SIGALRM */
      hd_enter();
    }
    alarm(0);
    memset(insn, 0xF4, len);
    fwrite(&g_signo, 4, 1, stdout);
    fwrite(&g_code, 4, 1, stdout);
    fwrite(&g_eip, 4, 1, stdout);
    fwrite(g_regs, 4, 8, stdout);
    fwrite(&g_eflags, 4, 1, stdout);
    fwrite(&g_addr, 4, 1, stdout);
    fwrite(&g_err, 4, 1, stdout);
    fwrite(g_sregs, 4, 6, stdout);
    fwrite(scratch, 1, scratch_size, stdout);
  }
  fflush(stdout);
  return 0;
}
