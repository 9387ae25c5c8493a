/*
 * Tiny freestanding runtime shared by the Hospes test kernels:
 * COM1 serial output, a small printf, memory/string helpers, and exit through
 * QEMU's isa-debug-exit device (port 0xF4).
 */
#ifndef HOSPES_RT_H
#define HOSPES_RT_H

typedef unsigned char      uint8_t;
typedef signed char        int8_t;
typedef unsigned short     uint16_t;
typedef signed short       int16_t;
typedef unsigned int       uint32_t;
typedef signed int         int32_t;
typedef unsigned long long uint64_t;
typedef signed long long   int64_t;
typedef unsigned int       size_t;
typedef unsigned int       uintptr_t;
typedef __builtin_va_list  va_list;

#define va_start(ap, last) __builtin_va_start(ap, last)
#define va_arg(ap, type)   __builtin_va_arg(ap, type)
#define va_end(ap)         __builtin_va_end(ap)

#define NULL ((void *)0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Exit values written to port 0xF4; QEMU exits with (value << 1) | 1. */
#define EXIT_SUCCESS_VALUE 0x10   /* process status 33 */
#define EXIT_FAILURE_VALUE 0x11   /* process status 35 */

/* Multiboot v1 information block (only the fields the kernels read). */
struct multiboot_info {
    uint32_t flags;
    uint32_t mem_lower;
    uint32_t mem_upper;
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count;
    uint32_t mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length;
    uint32_t mmap_addr;
};
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u
#define MULTIBOOT_INFO_MEMORY      0x00000001u

/* Each kernel defines this. Return 0 for success. */
int kmain(uint32_t magic, const struct multiboot_info *mbi);

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

/* Hide a value from the optimiser so the arithmetic really runs in the guest. */
#define OPAQUE(x) ({ __typeof__((x) + 0) o_ = (x); __asm__ volatile("" : "+g"(o_)); o_; })

void serial_init(void);
void serial_putc(char c);
void puts_raw(const char *s);
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
void qemu_exit(uint32_t value) __attribute__((noreturn));
void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Plain C versions; gcc may also emit calls to these on its own. */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);

/* A 32-bit FNV-1a accumulator the kernels use for their checksums. */
static inline uint32_t fnv_u32(uint32_t h, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        h ^= (v >> (8 * i)) & 0xFF;
        h *= 16777619u;
    }
    return h;
}
#define FNV_INIT 2166136261u

#endif
