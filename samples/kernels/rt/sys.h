/*
 * System-level helpers for the test kernels that exercise the processor's
 * protection, paging and interrupt machinery: the trap frame and handler
 * registration, GDT/IDT/TSS editing, control registers, and the PIC and PIT.
 *
 * The runtime's GDT (rt/entry.S) holds: 0x08 ring-0 code, 0x10 ring-0 data,
 * 0x18 ring-3 code, 0x20 ring-3 data (all flat 4 GiB), and entries 5-15 free.
 */
#ifndef HOSPES_SYS_H
#define HOSPES_SYS_H
#include "rt.h"

#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define USER_CS   0x1B
#define USER_DS   0x23

/* What the common trap path saves; a handler may change any field. */
struct rt_frame {
    uint32_t es, ds;
    uint32_t edi, esi, ebp, esp_at_pushal, ebx, edx, ecx, eax;
    uint32_t vector, error_code, eip, cs, eflags;
    uint32_t user_esp, user_ss;     /* only present when (cs & 3) != 0 */
};

typedef void (*rt_handler)(struct rt_frame *f);

/* Runs h for vector (instead of reporting it as unexpected); NULL restores the default. */
void rt_on_trap(int vector, rt_handler h);

/* IDT gate types (type_attr byte: P, DPL, type). */
#define GATE_INT32   0x8E
#define GATE_TRAP32  0x8F
#define GATE_TASK    0x85
#define GATE_DPL3    0x60

/* Points vector's gate at the runtime's stub for it, with the given type_attr byte. */
void rt_idt_stub(int vector, uint8_t type_attr);
/* Writes a raw gate: selector, offset and type_attr (task gates: offset 0). */
void rt_idt_gate(int vector, uint16_t selector, uint32_t offset, uint8_t type_attr);
/* Sets GDT entry index (selector index << 3): base, limit (bytes or 4K units), access and flags nibble. */
void rt_gdt_set(int index, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags);
/* Reads GDT entry index as a 64-bit descriptor. */
uint64_t rt_gdt_get(int index);

/* 32-bit TSS (SDM vol. 3, figure 8-2). */
struct tss32 {
    uint16_t link, r0;
    uint32_t esp0;
    uint16_t ss0, r1;
    uint32_t esp1;
    uint16_t ss1, r2;
    uint32_t esp2;
    uint16_t ss2, r3;
    uint32_t cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint16_t es, r4, cs, r5, ss, r6, ds, r7, fs, r8, gs, r9, ldt, r10;
    uint16_t trap, iomap_base;
} __attribute__((packed));

static inline uint32_t read_cr0(void) { uint32_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline uint32_t read_cr2(void) { uint32_t v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline uint32_t read_cr3(void) { uint32_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline uint32_t read_cr4(void) { uint32_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr0(uint32_t v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline void write_cr3(uint32_t v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline void write_cr4(uint32_t v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }
static inline void invlpg(const volatile void *p) { __asm__ volatile("invlpg (%0)" : : "r"(p) : "memory"); }
static inline void sti(void) { __asm__ volatile("sti" : : : "memory"); }
static inline void cli(void) { __asm__ volatile("cli" : : : "memory"); }
static inline void ltr(uint16_t sel) { __asm__ volatile("ltr %0" : : "r"(sel)); }
static inline uint32_t read_eflags(void) { uint32_t v; __asm__ volatile("pushfl; popl %0" : "=r"(v)); return v; }

#define CR0_PG (1u << 31)
#define CR0_WP (1u << 16)
#define CR4_PSE (1u << 4)
#define CR4_PAE (1u << 5)
#define CR4_PGE (1u << 7)

/* The runtime's TSS (GDT entry 5, selector 0x28), loaded into TR by rt_tss_init(). */
#define RT_TSS_INDEX 5
#define RT_USER_EXIT_VECTOR 0x81
struct rt_tss_block {
    struct tss32 tss;
    uint8_t iomap[8192 + 1];     /* one bit per port (1 = denied), then a 0xFF byte */
} __attribute__((packed));
extern struct rt_tss_block rt_tss_block;
void rt_tss_init(void);
/* Lets CPL 3 use one I/O port (or denies it again); every port starts denied. */
void rt_io_allow(uint16_t port, int allowed);
/*
 * Runs fn at CPL 3 (code 0x1B, data 0x23) on user_stack_top until it calls
 * rt_user_exit(value); returns value. The task starts with EFLAGS =
 * rt_user_eflags (default 0x2: IF=0, IOPL=0). The pages fn touches must be
 * user-accessible when paging is on.
 */
extern uint32_t rt_user_eflags;
uint32_t rt_run_user(void (*fn)(void), void *user_stack_top);
static inline void __attribute__((noreturn)) rt_user_exit(uint32_t value)
{
    __asm__ volatile("int $0x81" : : "a"(value) : "memory");
    __builtin_unreachable();
}

/*
 * Runs 8086 code in virtual-8086 mode at cs:ip with the given EFLAGS (VM set,
 * IOPL as wanted), on stack 0900:1000 with ES/DS/FS/GS = 0x50/cs/0x60/0x70,
 * general registers zero, until a trap handler calls rt_v86_exit(frame).
 * ESP0 in the runtime's TSS is the kernel stack below rt_run_v86's frame.
 */
void rt_run_v86(uint32_t cs, uint32_t ip, uint32_t eflags);
/* From a trap handler for an event taken in VM86 mode: rt_run_v86 returns. */
void rt_v86_exit(struct rt_frame *f);
/* The VM86 part of a frame from VM86 mode: ES, DS, FS, GS after user_ss. */
static inline uint32_t *rt_v86_segs(struct rt_frame *f) { return &f->user_ss + 1; }

/* The 8259A pair: vectors base..base+7 and base+8..base+15, all lines masked. */
void pic_init(uint8_t base);
void pic_mask(int irq, int masked);
void pic_eoi(int irq);
uint16_t pic_read_irr(void);
uint16_t pic_read_isr(void);

#endif
