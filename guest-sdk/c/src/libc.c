/* The freestanding C library both Hospes guest runtimes (PVH and PV) share. */
#include <hospes/types.h>

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *p = a, *q = b;
    for (; n; n--, p++, q++) {
        if (*p != *q) {
            return *p - *q;
        }
    }
    return 0;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b || !*a) {
            return (unsigned char)*a - (unsigned char)*b;
        }
    }
    return 0;
}

char *strcpy(char *d, const char *s)
{
    char *r = d;
    while ((*d++ = *s++)) {
    }
    return r;
}

long strtol(const char *s, char **end, int base)
{
    long v = 0;
    int neg = 0;
    while (*s == ' ') {
        s++;
    }
    if (*s == '-') {
        neg = 1;
        s++;
    }
    if (base == 0) {
        base = 10;
    }
    for (;; s++) {
        int d;
        if (*s >= '0' && *s <= '9') {
            d = *s - '0';
        } else if (*s >= 'a' && *s <= 'f') {
            d = *s - 'a' + 10;
        } else {
            break;
        }
        if (d >= base) {
            break;
        }
        v = v * base + d;
    }
    if (end) {
        *end = (char *)s;
    }
    return neg ? -v : v;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n]) {
        n++;
    }
    return n;
}

void *memset(void *d, int c, size_t n)
{
    unsigned char *p = d;
    while (n--) {
        *p++ = (unsigned char)c;
    }
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--) {
        *p++ = *q++;
    }
    return d;
}

/* Divides *v by a small base in place and returns the remainder, with 32-bit
 * divides only (freestanding: no libgcc for 64-bit division). */
static uint32_t divmod_small(unsigned long long *v, uint32_t base)
{
    uint32_t hi = (uint32_t)(*v >> 32), lo = (uint32_t)*v;
    uint32_t qhi = hi / base, r = hi % base, qlo;
    __asm__("divl %4" : "=a"(qlo), "=d"(r) : "a"(lo), "d"(r), "rm"(base));
    *v = ((unsigned long long)qhi << 32) | qlo;
    return r;
}

static int put_unsigned(char *buf, size_t size, size_t pos, unsigned long long v, int base,
                        int width, char pad)
{
    char tmp[24];
    int n = 0;
    do {
        int digit = (int)divmod_small(&v, (uint32_t)base);
        tmp[n++] = (char)(digit < 10 ? '0' + digit : 'a' + digit - 10);
    } while (v);
    while (n < width && n < (int)sizeof(tmp)) {
        tmp[n++] = pad;
    }
    int written = 0;
    while (n) {
        if (pos + written + 1 < size) {
            buf[pos + written] = tmp[n - 1];
        }
        written++;
        n--;
    }
    return written;
}

/* A small vsnprintf: %d %u %x %08x %s %c %%, with l/ll for 64-bit values. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    size_t pos = 0;
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            if (pos + 1 < size) {
                buf[pos] = *f;
            }
            pos++;
            continue;
        }
        f++;
        char pad = ' ';
        int width = 0;
        int longs = 0;
        if (*f == '0') {
            pad = '0';
            f++;
        }
        while (*f >= '0' && *f <= '9') {
            width = width * 10 + (*f++ - '0');
        }
        while (*f == 'l') {
            longs++;
            f++;
        }
        switch (*f) {
        case 'd': {
            long long v = longs >= 2 ? va_arg(ap, long long) : va_arg(ap, int);
            if (v < 0) {
                if (pos + 1 < size) {
                    buf[pos] = '-';
                }
                pos++;
                v = -v;
            }
            pos += put_unsigned(buf, size, pos, (unsigned long long)v, 10, width, pad);
            break;
        }
        case 'u':
        case 'x': {
            unsigned long long v = longs >= 2 ? va_arg(ap, unsigned long long)
                                              : va_arg(ap, unsigned int);
            pos += put_unsigned(buf, size, pos, v, *f == 'u' ? 10 : 16, width, pad);
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s) {
                s = "(null)";
            }
            while (*s) {
                if (pos + 1 < size) {
                    buf[pos] = *s;
                }
                pos++;
                s++;
            }
            break;
        }
        case 'c':
            if (pos + 1 < size) {
                buf[pos] = (char)va_arg(ap, int);
            }
            pos++;
            break;
        case '%':
            if (pos + 1 < size) {
                buf[pos] = '%';
            }
            pos++;
            break;
        default:
            break;
        }
    }
    if (size) {
        buf[pos < size ? pos : size - 1] = 0;
    }
    return (int)pos;
}

