/* Runtime for the Hospes test kernels: serial console, printf, exit, libc bits. */
#include "rt.h"

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

/* ---- exceptions: report and fail instead of triple-faulting ---------- */

struct rt_trap_frame {
    uint32_t edi, esi, ebp, esp_at_pushal, ebx, edx, ecx, eax;
    uint32_t vector, error_code, eip, cs, eflags;
};

struct idt_gate {
    uint16_t offset_lo;
    uint16_t selector;
    uint8_t zero;
    uint8_t type_attr;
    uint16_t offset_hi;
} __attribute__((packed));

static struct idt_gate idt[32] __attribute__((aligned(8)));
extern const char rt_exc_stub_base[];

void rt_idt_init(void) __attribute__((used));
void rt_idt_init(void)
{
    for (int v = 0; v < 32; v++) {
        uint32_t target = (uint32_t)(uintptr_t)(rt_exc_stub_base + 8 * v);
        idt[v].offset_lo = (uint16_t)target;
        idt[v].selector = 0x08;
        idt[v].zero = 0;
        idt[v].type_attr = 0x8E;   /* present, ring 0, 32-bit interrupt gate */
        idt[v].offset_hi = (uint16_t)(target >> 16);
    }
    struct { uint16_t limit; uint32_t base; } __attribute__((packed)) desc = {
        sizeof idt - 1, (uint32_t)(uintptr_t)idt
    };
    __asm__ volatile("lidt %0" : : "m"(desc));
}

void rt_exception(const struct rt_trap_frame *f) __attribute__((used, noreturn));
void rt_exception(const struct rt_trap_frame *f)
{
    printf("\nUNEXPECTED EXCEPTION %u (error code %x) at eip %08x eflags %08x\n", f->vector, f->error_code,
           f->eip, f->eflags);
    printf("eax %08x ebx %08x ecx %08x edx %08x esi %08x edi %08x ebp %08x\n", f->eax, f->ebx, f->ecx, f->edx,
           f->esi, f->edi, f->ebp);
    qemu_exit(EXIT_FAILURE_VALUE);
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
