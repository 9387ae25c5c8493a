/* Runtime for the Hospes test kernels: serial console, printf, exit, libc bits. */
#include "rt.h"
#include "sys.h"

#define COM1      0x3F8
#define COM1_LSR  (COM1 + 5)
#define LSR_THRE  0x20
#define DEBUG_EXIT_PORT 0xF4

void serial_init(void)
{
    outb(COM1 + 1, 0x00);   /* IER: no interrupts */
    outb(COM1 + 3, 0x80);   /* LCR: DLAB on */
    outb(COM1 + 0, 0x01);   /* DLL: divisor 1 = 115200 baud */
    outb(COM1 + 1, 0x00);   /* DLM */
    outb(COM1 + 3, 0x03);   /* LCR: 8N1, DLAB off */
    outb(COM1 + 2, 0x07);   /* FCR: enable and clear FIFOs */
    outb(COM1 + 4, 0x03);   /* MCR: DTR, RTS */
}

void serial_putc(char c)
{
    while ((inb(COM1_LSR) & LSR_THRE) == 0) {
        /* wait until the transmit holding register is empty */
    }
    outb(COM1, (uint8_t)c);
}

void puts_raw(const char *s)
{
    while (*s) serial_putc(*s++);
}

void qemu_exit(uint32_t value)
{
    outl(DEBUG_EXIT_PORT, value);
    for (;;) __asm__ volatile("cli; hlt");
}

/* ---- traps: report and fail instead of triple-faulting ------------------ */

struct idt_gate {
    uint16_t offset_lo;
    uint16_t selector;
    uint8_t zero;
    uint8_t type_attr;
    uint16_t offset_hi;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(8)));
static rt_handler handlers[256];
extern const char rt_exc_stub_base[];
extern uint64_t rt_gdt[16];

void rt_idt_gate(int vector, uint16_t selector, uint32_t offset, uint8_t type_attr)
{
    idt[vector].offset_lo = (uint16_t)offset;
    idt[vector].selector = selector;
    idt[vector].zero = 0;
    idt[vector].type_attr = type_attr;
    idt[vector].offset_hi = (uint16_t)(offset >> 16);
}

void rt_idt_stub(int vector, uint8_t type_attr)
{
    rt_idt_gate(vector, 0x08, (uint32_t)(uintptr_t)(rt_exc_stub_base + 16 * vector), type_attr);
}

void rt_idt_init(void) __attribute__((used));
void rt_idt_init(void)
{
    for (int v = 0; v < 256; v++) {
        rt_idt_stub(v, 0x8E);   /* present, ring 0, 32-bit interrupt gate */
    }
    struct { uint16_t limit; uint32_t base; } __attribute__((packed)) desc = {
        sizeof idt - 1, (uint32_t)(uintptr_t)idt
    };
    __asm__ volatile("lidt %0" : : "m"(desc));
}

void rt_on_trap(int vector, rt_handler h)
{
    handlers[vector] = h;
}

void rt_gdt_set(int index, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
    uint64_t d = (limit & 0xFFFFu) | (uint64_t)(base & 0xFFFFFFu) << 16 | (uint64_t)access << 40
                 | (uint64_t)((limit >> 16) & 0xF) << 48 | (uint64_t)(flags & 0xF) << 52
                 | (uint64_t)(base >> 24) << 56;
    rt_gdt[index] = d;
}

uint64_t rt_gdt_get(int index)
{
    return rt_gdt[index];
}

static void rt_exception(const struct rt_frame *f) __attribute__((noreturn));
static void rt_exception(const struct rt_frame *f)
{
    printf("\nUNEXPECTED EXCEPTION %u (error code %x) at eip %08x eflags %08x\n", f->vector, f->error_code,
           f->eip, f->eflags);
    printf("eax %08x ebx %08x ecx %08x edx %08x esi %08x edi %08x ebp %08x\n", f->eax, f->ebx, f->ecx, f->edx,
           f->esi, f->edi, f->ebp);
    qemu_exit(EXIT_FAILURE_VALUE);
}

void rt_trap(struct rt_frame *f) __attribute__((used));
void rt_trap(struct rt_frame *f)
{
    rt_handler h = handlers[f->vector & 0xFF];
    if (h == NULL) rt_exception(f);
    h(f);
}

/* ---- ring 3 ----------------------------------------------------------------- */

struct rt_tss_block rt_tss_block __attribute__((aligned(128)));
static int tss_ready;

void rt_tss_init(void)
{
    if (tss_ready) return;
    memset(&rt_tss_block.tss, 0, sizeof rt_tss_block.tss);
    rt_tss_block.tss.ss0 = KERNEL_DS;
    /* An I/O bitmap that denies every port, plus the required all-ones byte after it. */
    rt_tss_block.tss.iomap_base = sizeof rt_tss_block.tss;
    memset(rt_tss_block.iomap, 0xFF, sizeof rt_tss_block.iomap);
    rt_gdt_set(RT_TSS_INDEX, (uint32_t)(uintptr_t)&rt_tss_block, sizeof rt_tss_block - 1, 0x89, 0x0);
    ltr(RT_TSS_INDEX << 3);
    tss_ready = 1;
}

void rt_io_allow(uint16_t port, int allowed)
{
    rt_tss_init();
    if (allowed) rt_tss_block.iomap[port >> 3] &= (uint8_t)~(1u << (port & 7));
    else rt_tss_block.iomap[port >> 3] |= (uint8_t)(1u << (port & 7));
}

/*
 * rt_run_user(fn, user_esp): IRET to fn at CPL 3 on the given stack, with
 * EFLAGS = 0x2 (IF=0, IOPL=0). fn ends with rt_user_exit(value) (INT 0x81,
 * DPL 3), which abandons its trap frame and returns value from rt_run_user.
 * ESP0 in the TSS is the kernel stack below rt_run_user's own frame.
 */
uint32_t rt_kernel_esp;
uint32_t rt_user_eflags = 0x2;
__asm__(
    "        .text\n"
    "        .globl rt_run_user_asm\n"
    "rt_run_user_asm:\n"
    "        pushl %ebp\n"
    "        pushl %ebx\n"
    "        pushl %esi\n"
    "        pushl %edi\n"
    "        movl %esp, rt_kernel_esp\n"
    "        movl %esp, rt_tss_block+4\n"
    "        movl 20(%esp), %ecx\n"
    "        movl 24(%esp), %edx\n"
    "        pushl $0x23\n"
    "        pushl %edx\n"
    "        pushl rt_user_eflags\n"
    "        pushl $0x1B\n"
    "        pushl %ecx\n"
    "        movw $0x23, %ax\n"
    "        movw %ax, %ds\n"
    "        movw %ax, %es\n"
    "        iret\n"
    "        .globl rt_user_exit_entry\n"
    "rt_user_exit_entry:\n"
    "        movw $0x10, %cx\n"
    "        movw %cx, %ds\n"
    "        movw %cx, %es\n"
    "        movl rt_kernel_esp, %esp\n"
    "        popl %edi\n"
    "        popl %esi\n"
    "        popl %ebx\n"
    "        popl %ebp\n"
    "        ret\n");

uint32_t rt_run_user_asm(void (*fn)(void), uint32_t user_esp);
extern const char rt_user_exit_entry[];

uint32_t rt_run_user(void (*fn)(void), void *user_stack_top)
{
    rt_tss_init();
    rt_idt_gate(RT_USER_EXIT_VECTOR, KERNEL_CS, (uint32_t)(uintptr_t)rt_user_exit_entry,
                GATE_INT32 | GATE_DPL3);
    return rt_run_user_asm(fn, (uint32_t)(uintptr_t)user_stack_top);
}

/* ---- virtual-8086 mode ---------------------------------------------------- */

uint32_t rt_v86_kernel_esp;
__asm__(
    "        .text\n"
    "        .globl rt_run_v86_asm\n"
    "rt_run_v86_asm:\n"
    "        pushl %ebp\n"
    "        pushl %ebx\n"
    "        pushl %esi\n"
    "        pushl %edi\n"
    "        movl %esp, rt_v86_kernel_esp\n"
    "        movl %esp, rt_tss_block+4\n"
    "        movl 20(%esp), %ecx\n"          /* cs */
    "        movl 24(%esp), %edx\n"          /* ip */
    "        movl 28(%esp), %eax\n"          /* eflags */
    "        pushl $0x0070\n"                /* GS */
    "        pushl $0x0060\n"                /* FS */
    "        pushl %ecx\n"                   /* DS = CS */
    "        pushl $0x0050\n"                /* ES */
    "        pushl $0x0900\n"                /* SS */
    "        pushl $0x1000\n"                /* ESP */
    "        pushl %eax\n"                   /* EFLAGS with VM */
    "        pushl %ecx\n"                   /* CS */
    "        pushl %edx\n"                   /* EIP */
    "        xorl %eax, %eax\n"              /* the task starts with clean registers */
    "        xorl %ebx, %ebx\n"
    "        xorl %ecx, %ecx\n"
    "        xorl %edx, %edx\n"
    "        xorl %esi, %esi\n"
    "        xorl %edi, %edi\n"
    "        xorl %ebp, %ebp\n"
    "        iret\n"
    "        .globl rt_v86_exit_entry\n"
    "rt_v86_exit_entry:\n"
    "        movw $0x10, %cx\n"
    "        movw %cx, %ds\n"
    "        movw %cx, %es\n"
    "        movl rt_v86_kernel_esp, %esp\n"
    "        popl %edi\n"
    "        popl %esi\n"
    "        popl %ebx\n"
    "        popl %ebp\n"
    "        ret\n");

void rt_run_v86_asm(uint32_t cs, uint32_t ip, uint32_t eflags);
extern const char rt_v86_exit_entry[];

void rt_run_v86(uint32_t cs, uint32_t ip, uint32_t eflags)
{
    rt_tss_init();
    rt_run_v86_asm(cs, ip, eflags);
}

void rt_v86_exit(struct rt_frame *f)
{
    /* Back in the kernel with its own flags: no VM, IOPL 0, and no IF or TF the task set. */
    f->eflags &= ~(0x20000u | 0x3000u | 0x200u | 0x100u);
    f->cs = KERNEL_CS;
    f->eip = (uint32_t)(uintptr_t)rt_v86_exit_entry;
}

/* ---- 8259A interrupt controllers ---------------------------------------- */

void pic_init(uint8_t base)
{
    outb(0x21, 0xFF);
    outb(0xA1, 0xFF);
    outb(0x20, 0x11);          /* ICW1: edge triggered, cascade, ICW4 */
    outb(0x21, base);          /* ICW2: master vectors */
    outb(0x21, 0x04);          /* ICW3: slave on IR2 */
    outb(0x21, 0x01);          /* ICW4: 8086 mode, normal EOI */
    outb(0xA0, 0x11);
    outb(0xA1, base + 8);
    outb(0xA1, 0x02);          /* ICW3: slave identity */
    outb(0xA1, 0x01);
    outb(0x21, 0xFB);          /* everything masked but the cascade */
    outb(0xA1, 0xFF);
}

void pic_mask(int irq, int masked)
{
    uint16_t port = irq < 8 ? 0x21 : 0xA1;
    uint8_t bit = (uint8_t)(1u << (irq & 7));
    uint8_t m = inb(port);
    outb(port, masked ? (uint8_t)(m | bit) : (uint8_t)(m & ~bit));
}

void pic_eoi(int irq)
{
    if (irq >= 8) outb(0xA0, 0x20);
    outb(0x20, 0x20);
}

uint16_t pic_read_irr(void)
{
    outb(0x20, 0x0A);
    outb(0xA0, 0x0A);
    return (uint16_t)(inb(0x20) | inb(0xA0) << 8);
}

uint16_t pic_read_isr(void)
{
    outb(0x20, 0x0B);
    outb(0xA0, 0x0B);
    uint16_t v = (uint16_t)(inb(0x20) | inb(0xA0) << 8);
    outb(0x20, 0x0A);
    outb(0xA0, 0x0A);
    return v;
}

void rt_start(uint32_t magic, const struct multiboot_info *mbi) __attribute__((noreturn, used));
void rt_start(uint32_t magic, const struct multiboot_info *mbi)
{
    serial_init();
    int rc = kmain(magic, mbi);
    qemu_exit(rc == 0 ? EXIT_SUCCESS_VALUE : EXIT_FAILURE_VALUE);
}

/* ---- formatted output --------------------------------------------------- */

struct sink {
    char *buf;      /* NULL: write to the serial port */
    size_t size;
    size_t len;     /* characters produced so far */
};

static void sink_put(struct sink *s, char c)
{
    if (s->buf == NULL) {
        serial_putc(c);
    } else if (s->len + 1 < s->size) {
        s->buf[s->len] = c;
    }
    s->len++;
}

static void sink_pad(struct sink *s, char c, int n)
{
    while (n-- > 0) sink_put(s, c);
}

/* Formats v in base (10 or 16) into tmp, returns the digit count (written backwards). */
static int utoa_rev(uint64_t v, unsigned base, int upper, char *tmp)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    int n = 0;
    do {
        tmp[n++] = digits[v % base];
        v /= base;
    } while (v != 0);
    return n;
}

/*
 * Supports %d %i %u %x %X %c %s %p %%, the flags '-', '0', '+' and ' ', a width
 * (number or '*'), and the length modifiers l (32-bit) and ll (64-bit).
 */
static int format(struct sink *s, const char *fmt, va_list ap)
{
    char tmp[24];
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            sink_put(s, *fmt);
            continue;
        }
        fmt++;
        int left = 0, zero = 0, width = 0, longlong = 0;
        char sign = 0;
        for (;; fmt++) {
            if (*fmt == '-') left = 1;
            else if (*fmt == '0') zero = 1;
            else if (*fmt == '+') sign = '+';
            else if (*fmt == ' ' && sign != '+') sign = ' ';
            else break;
        }
        if (*fmt == '*') {
            width = va_arg(ap, int);
            if (width < 0) { left = 1; width = -width; }
            fmt++;
        } else {
            while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
        }
        while (*fmt == 'l') { longlong += 1; fmt++; }
        longlong = longlong >= 2;

        char conv = *fmt;
        if (conv == '\0') break;
        const char *str = tmp;
        int len = 0, neg = 0;
        switch (conv) {
        case 'd': case 'i': {
            int64_t v = longlong ? va_arg(ap, int64_t) : (int64_t)va_arg(ap, int32_t);
            uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
            neg = v < 0 || sign;
            if (!sign || v < 0) sign = '-';
            len = utoa_rev(mag, 10, 0, tmp);
            break;
        }
        case 'u': case 'x': case 'X': case 'p': {
            uint64_t v = longlong ? va_arg(ap, uint64_t) : (uint64_t)va_arg(ap, uint32_t);
            len = utoa_rev(v, conv == 'u' ? 10 : 16, conv == 'X', tmp);
            break;
        }
        case 'c':
            tmp[0] = (char)va_arg(ap, int);
            len = 1;
            break;
        case 's':
            str = va_arg(ap, const char *);
            if (str == NULL) str = "(null)";
            len = (int)strlen(str);
            break;
        default:
            tmp[0] = conv;
            len = 1;
            break;
        }

        int numeric = conv == 'd' || conv == 'i' || conv == 'u' || conv == 'x' || conv == 'X' || conv == 'p';
        int total = len + neg;
        if (!left && !(zero && numeric)) sink_pad(s, ' ', width - total);
        if (neg) sink_put(s, sign);
        if (!left && zero && numeric) sink_pad(s, '0', width - total);
        if (numeric) {
            for (int i = len - 1; i >= 0; i--) sink_put(s, tmp[i]);
        } else {
            for (int i = 0; i < len; i++) sink_put(s, str[i]);
        }
        if (left) sink_pad(s, ' ', width - total);
    }
    return (int)s->len;
}

int vprintf(const char *fmt, va_list ap)
{
    struct sink s = { NULL, 0, 0 };
    return format(&s, fmt, ap);
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct sink s = { buf, size, 0 };
    int n = format(&s, fmt, ap);
    if (size > 0) buf[s.len < size ? s.len : size - 1] = '\0';
    return n;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    puts_raw("FAIL: ");
    vprintf(fmt, ap);
    va_end(ap);
    serial_putc('\n');
    qemu_exit(EXIT_FAILURE_VALUE);
}

/* ---- memory and strings ----------------------------------------------- */

void *memcpy(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    while (n--) *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (d < s) {
        while (n--) *d++ = *s++;
    } else if (d > s) {
        d += n;
        s += n;
        while (n--) *--d = *--s;
    }
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    uint8_t *d = dst;
    while (n--) *d++ = (uint8_t)c;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;
    for (; n; n--, x++, y++) {
        if (*x != *y) return *x < *y ? -1 : 1;
    }
    return 0;
}

size_t strlen(const char *s)
{
    const char *p = s;
    while (*p) p++;
    return (size_t)(p - s);
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) { a++; b++; }
    return (uint8_t)*a - (uint8_t)*b;
}

/* ---- 64-bit division helpers (what libgcc would provide) -------------- */

uint64_t __udivmoddi4(uint64_t n, uint64_t d, uint64_t *rem);
uint64_t __udivdi3(uint64_t n, uint64_t d);
uint64_t __umoddi3(uint64_t n, uint64_t d);
int64_t __divdi3(int64_t n, int64_t d);
int64_t __moddi3(int64_t n, int64_t d);
int64_t __divmoddi4(int64_t n, int64_t d, int64_t *rem);

uint64_t __udivmoddi4(uint64_t n, uint64_t d, uint64_t *rem)
{
    uint64_t q;
    uint64_t r;
    if (d == 0) {
        /* Same as hardware: divide by zero raises #DE. */
        volatile uint32_t zero = 0;
        q = 1u / zero;
        r = 0;
    } else if ((d >> 32) == 0) {
        /* Two 64-by-32 hardware divides: high word first, then the low word with the remainder. */
        uint32_t d32 = (uint32_t)d;
        uint32_t hi = (uint32_t)(n >> 32), lo = (uint32_t)n;
        uint32_t qhi = hi / d32;
        uint32_t rhi = hi % d32;
        uint32_t qlo, rlo;
        __asm__("divl %4" : "=a"(qlo), "=d"(rlo) : "a"(lo), "d"(rhi), "rm"(d32));
        q = ((uint64_t)qhi << 32) | qlo;
        r = rlo;
    } else {
        /* Divisor above 2^32: the quotient fits in 32 bits; plain shift-and-subtract. */
        q = 0;
        r = 0;
        for (int i = 63; i >= 0; i--) {
            r = (r << 1) | ((n >> i) & 1);
            if (r >= d) {
                r -= d;
                q |= (uint64_t)1 << i;
            }
        }
    }
    if (rem) *rem = r;
    return q;
}

uint64_t __udivdi3(uint64_t n, uint64_t d) { return __udivmoddi4(n, d, NULL); }

uint64_t __umoddi3(uint64_t n, uint64_t d)
{
    uint64_t r;
    __udivmoddi4(n, d, &r);
    return r;
}

int64_t __divdi3(int64_t n, int64_t d)
{
    int neg = (n < 0) ^ (d < 0);
    uint64_t un = n < 0 ? 0 - (uint64_t)n : (uint64_t)n;
    uint64_t ud = d < 0 ? 0 - (uint64_t)d : (uint64_t)d;
    uint64_t q = __udivmoddi4(un, ud, NULL);
    return (int64_t)(neg ? 0 - q : q);
}

int64_t __moddi3(int64_t n, int64_t d)
{
    uint64_t un = n < 0 ? 0 - (uint64_t)n : (uint64_t)n;
    uint64_t ud = d < 0 ? 0 - (uint64_t)d : (uint64_t)d;
    uint64_t r;
    __udivmoddi4(un, ud, &r);
    return (int64_t)(n < 0 ? 0 - r : r);
}

int64_t __divmoddi4(int64_t n, int64_t d, int64_t *rem)
{
    int64_t q = __divdi3(n, d);
    if (rem) *rem = (int64_t)((uint64_t)n - (uint64_t)q * (uint64_t)d);
    return q;
}
