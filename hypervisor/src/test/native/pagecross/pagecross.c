/*
 * pagecross: what the host CPU reports for memory accesses that straddle a 4 KiB page
 * boundary (x86-64, Linux). Each shape maps fresh pages, makes one or two of them not present
 * (PROT_NONE) or read-only (PROT_READ after they were written, so the PTE is present), runs one
 * instruction from inline assembly and catches the SIGSEGV: si_addr and the ucontext's CR2 give
 * the faulting linear address, its ERR the #PF error code (the kernel adds U, bit 2, for a
 * user-mode fault and reports the rest as the CPU gave it). The program also checks that a
 * faulting store changed neither page, and prints RSI, RDI, RCX at a REP MOVS fault.
 *
 * Build and run: gcc -O1 -o /tmp/pagecross pagecross.c && /tmp/pagecross
 * PageCrossTest (hypervisor/src/test/java/org/hospes/x86/jit) holds its answers as expected
 * values.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define PAGE 4096

static sigjmp_buf back;
static volatile uintptr_t fault_addr, fault_cr2, fault_rsi, fault_rdi, fault_rcx;
static volatile long fault_err, fault_trap;

static void on_segv(int sig, siginfo_t *si, void *ctx) {
  ucontext_t *uc = ctx;
  (void) sig;
  fault_addr = (uintptr_t) si->si_addr;
  fault_cr2 = uc->uc_mcontext.gregs[REG_CR2];
  fault_err = uc->uc_mcontext.gregs[REG_ERR];
  fault_trap = uc->uc_mcontext.gregs[REG_TRAPNO];
  fault_rsi = uc->uc_mcontext.gregs[REG_RSI];
  fault_rdi = uc->uc_mcontext.gregs[REG_RDI];
  fault_rcx = uc->uc_mcontext.gregs[REG_RCX];
  siglongjmp(back, 1);
}

enum prot { OK, NP, RO };
static const char *prot_name[] = {"ok", "not-present", "read-only"};

static uint8_t *map_pages(int n) {
  uint8_t *p = mmap(NULL, (size_t) n * PAGE, PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    perror("mmap");
    exit(1);
  }
  for (int i = 0; i < n * PAGE; i++) {
    p[i] = (uint8_t) (0x5A ^ i);
  }
  return p;
}

static void protect(uint8_t *page, enum prot how) {
  if (how != OK && mprotect(page, PAGE, how == NP ? PROT_NONE : PROT_READ) != 0) {
    perror("mprotect");
    exit(1);
  }
}

/* The names the Java test uses for CR2: relative to the access's first byte. */
static void report(const char *shape, uint8_t *start, uint8_t *high, int faulted,
    int unchanged) {
  if (!faulted) {
    printf("%-44s no fault\n", shape);
    return;
  }
  const char *where = fault_cr2 == (uintptr_t) start ? "start"
      : fault_cr2 == (uintptr_t) high ? "high-page-base" : "other";
  printf("%-44s trap=%ld err=0x%lx cr2=%s (start%+ld) si_addr==cr2:%s%s\n", shape, fault_trap,
      fault_err, where, (long) (fault_cr2 - (uintptr_t) start),
      fault_addr == fault_cr2 ? "yes" : "no",
      unchanged < 0 ? "" : unchanged ? " memory unchanged" : " MEMORY CHANGED");
}

/* kind: 0 load, 1 store, 2 add [m], r (read-modify-write), 3 xchg, 4 lock cmpxchg, 5 inc */
static const char *kind_name[] = {"load", "store", "add", "xchg", "cmpxchg", "inc"};

static int access_op(int kind, int size, uint8_t *p) {
  uint32_t v = 0x11223344;
  if (sigsetjmp(back, 1)) {
    return 1;
  }
  if (size == 4) {
    switch (kind) {
      case 0: __asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(p) : "memory"); break;
      case 1: __asm__ volatile("movl %0, (%1)" : : "r"(v), "r"(p) : "memory"); break;
      case 2: __asm__ volatile("addl %0, (%1)" : : "r"(v), "r"(p) : "memory", "cc"); break;
      case 3: __asm__ volatile("xchgl %0, (%1)" : "+r"(v) : "r"(p) : "memory"); break;
      case 4: __asm__ volatile("lock cmpxchgl %1, (%2)" : "+a"(v) : "r"(v), "r"(p)
                  : "memory", "cc"); break;
      case 5: __asm__ volatile("incl (%0)" : : "r"(p) : "memory", "cc"); break;
    }
  } else {
    uint16_t w = (uint16_t) v;
    switch (kind) {
      case 0: __asm__ volatile("movw (%1), %0" : "=r"(w) : "r"(p) : "memory"); break;
      case 1: __asm__ volatile("movw %0, (%1)" : : "r"(w), "r"(p) : "memory"); break;
      case 2: __asm__ volatile("addw %0, (%1)" : : "r"(w), "r"(p) : "memory", "cc"); break;
      case 3: __asm__ volatile("xchgw %0, (%1)" : "+r"(w) : "r"(p) : "memory"); break;
      case 4: __asm__ volatile("lock cmpxchgw %1, (%2)" : "+a"(w) : "r"(w), "r"(p)
                  : "memory", "cc"); break;
      case 5: __asm__ volatile("incw (%0)" : : "r"(p) : "memory", "cc"); break;
    }
  }
  return 0;
}

static void split_access(int kind, int size, int off, enum prot lo, enum prot hi) {
  uint8_t *m = map_pages(2);
  uint8_t before[2 * PAGE];
  memcpy(before, m, sizeof before);
  protect(m, lo);
  protect(m + PAGE, hi);
  uint8_t *p = m + off;
  int faulted = access_op(kind, size, p);
  mprotect(m, 2 * PAGE, PROT_READ);
  char shape[96];
  snprintf(shape, sizeof shape, "%s%d @0x%x low=%s high=%s", kind_name[kind], size * 8, off,
      prot_name[lo], prot_name[hi]);
  report(shape, p, m + PAGE, faulted, kind == 0 ? -1 : memcmp(before, m, sizeof before) == 0);
  munmap(m, 2 * PAGE);
}

/* PUSH of a word with RSP at 0x1001 of the low page: the two bytes are 0xFFF and 0x1000. */
static void split_push(enum prot lo, enum prot hi) {
  uint8_t *m = map_pages(2);
  uint8_t before[2 * PAGE];
  memcpy(before, m, sizeof before);
  protect(m, lo);
  protect(m + PAGE, hi);
  uint8_t *sp = m + PAGE + 1;
  int faulted = 1;
  if (!sigsetjmp(back, 1)) {
    /* A signal on a bad stack needs its own: the handler runs on the alternate stack. */
    __asm__ volatile("mov %%rsp, %%rbx\n\tmov %0, %%rsp\n\tpushw $0x1234\n\tmov %%rbx, %%rsp"
        : : "r"(sp) : "rbx", "memory");
    faulted = 0;
  }
  mprotect(m, 2 * PAGE, PROT_READ);
  char shape[96];
  snprintf(shape, sizeof shape, "push16 @0xfff low=%s high=%s", prot_name[lo], prot_name[hi]);
  report(shape, sp - 2, m + PAGE, faulted, memcmp(before, m, sizeof before) == 0);
  munmap(m, 2 * PAGE);
}

/*
 * PUSH m16 and POP m16 with the memory operand in one page and the stack in another, each ok
 * or not present: which access the CPU reports when both are bad.
 */
static void stack_mem(int pop, enum prot mem, enum prot stack) {
  uint8_t *m = map_pages(2);
  protect(m, mem);
  protect(m + PAGE, stack);
  uint8_t *operand = m + 0x100, *sp = m + PAGE + 0x800;
  int faulted = 1;
  if (!sigsetjmp(back, 1)) {
    if (pop) {
      __asm__ volatile("mov %%rsp, %%rbx\n\tmov %0, %%rsp\n\tpopw (%1)\n\tmov %%rbx, %%rsp"
          : : "r"(sp), "r"(operand) : "rbx", "memory");
    } else {
      __asm__ volatile("mov %%rsp, %%rbx\n\tmov %0, %%rsp\n\tpushw (%1)\n\tmov %%rbx, %%rsp"
          : : "r"(sp), "r"(operand) : "rbx", "memory");
    }
    faulted = 0;
  }
  char shape[96];
  snprintf(shape, sizeof shape, "%s m16 mem=%s stack=%s", pop ? "pop" : "push", prot_name[mem],
      prot_name[stack]);
  if (!faulted) {
    printf("%-44s no fault\n", shape);
  } else {
    printf("%-44s trap=%ld err=0x%lx cr2=%s\n", shape, fault_trap, fault_err,
        fault_cr2 == (uintptr_t) operand ? "operand"
        : fault_cr2 == (uintptr_t) (pop ? sp : sp - 2) ? "stack" : "other");
  }
  munmap(m, 2 * PAGE);
}

/* MOVSD from a source page to a destination page, each ok or not present. */
static void movs_pages(enum prot src, enum prot dst) {
  uint8_t *m = map_pages(2);
  protect(m, src);
  protect(m + PAGE, dst);
  uint8_t *s = m + 0x100, *d = m + PAGE + 0x200;
  int faulted = 1;
  if (!sigsetjmp(back, 1)) {
    __asm__ volatile("movsl" : "+S"(s), "+D"(d) : : "memory");
    faulted = 0;
  }
  char shape[96];
  snprintf(shape, sizeof shape, "movsd src=%s dst=%s", prot_name[src], prot_name[dst]);
  if (!faulted) {
    printf("%-44s no fault\n", shape);
  } else {
    printf("%-44s trap=%ld err=0x%lx cr2=%s\n", shape, fault_trap, fault_err,
        fault_cr2 == (uintptr_t) (m + 0x100) ? "source"
        : fault_cr2 == (uintptr_t) (m + PAGE + 0x200) ? "destination" : "other");
  }
  munmap(m, 2 * PAGE);
}

/*
 * REP MOVSD, ECX = 4, ascending: the source is at 0xFF8 of a good page and its high page is
 * bad (or the destination's is): elements 0 and 1 copy, element 2 (0x1000) faults.
 */
static void rep_movs_cross(int bad_dst, int split) {
  uint8_t *m = map_pages(4);
  protect(m + (bad_dst ? 3 : 1) * PAGE, NP);
  int off = split ? 0xFFA : 0xFF8;
  uint8_t *s = m + off, *d = m + 2 * PAGE + off;
  uint64_t n = 4;
  int faulted = 1;
  if (!sigsetjmp(back, 1)) {
    __asm__ volatile("cld\n\trep movsl" : "+S"(s), "+D"(d), "+c"(n) : : "memory");
    faulted = 0;
  }
  char shape[96];
  snprintf(shape, sizeof shape, "rep movsd x4 @0x%x bad %s high page", off,
      bad_dst ? "destination's" : "source's");
  if (!faulted) {
    printf("%-44s no fault\n", shape);
  } else {
    uint8_t *bad = m + (bad_dst ? 3 : 1) * PAGE;
    printf("%-44s trap=%ld err=0x%lx cr2=%s rsi=start%+ld rdi=start%+ld rcx=%lu"
        " dst copied=%d\n", shape, fault_trap, fault_err,
        fault_cr2 == (uintptr_t) bad ? "high-page-base" : "other",
        (long) (fault_rsi - (uintptr_t) (m + off)),
        (long) (fault_rdi - (uintptr_t) (m + 2 * PAGE + off)), (unsigned long) fault_rcx,
        memcmp(m + off, m + 2 * PAGE + off, (uint8_t *) fault_rdi - (m + 2 * PAGE + off))
            == 0);
  }
  munmap(m, 4 * PAGE);
}

int main(void) {
  static uint8_t altstack[1 << 16];
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
  sigaltstack(&ss, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigaction(SIGSEGV, &sa, NULL);
  enum prot shapes[][2] = {{NP, OK}, {OK, NP}, {NP, NP}, {RO, OK}, {OK, RO}, {RO, RO},
      {RO, NP}, {NP, RO}};
  for (int kind = 0; kind < 6; kind++) {
    for (int size = 2; size <= 4; size += 2) {
      for (unsigned s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        if (kind == 0 && (shapes[s][0] == RO || shapes[s][1] == RO)
            && shapes[s][0] != NP && shapes[s][1] != NP) {
          continue; /* loads from read-only pages do not fault */
        }
        split_access(kind, size, size == 4 ? 0xFFD : 0xFFF, shapes[s][0], shapes[s][1]);
      }
    }
  }
  split_access(1, 4, 0xFFE, OK, RO);
  split_access(1, 4, 0xFFF, OK, NP);
  for (unsigned s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    split_push(shapes[s][0], shapes[s][1]);
  }
  stack_mem(0, NP, NP);
  stack_mem(0, OK, NP);
  stack_mem(1, NP, NP);
  stack_mem(1, NP, OK);
  stack_mem(1, RO, NP);
  movs_pages(NP, NP);
  movs_pages(NP, OK);
  movs_pages(OK, NP);
  movs_pages(RO, NP);
  rep_movs_cross(0, 0);
  rep_movs_cross(1, 0);
  rep_movs_cross(0, 1);
  rep_movs_cross(1, 1);
  return 0;
}
