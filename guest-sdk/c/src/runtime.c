/* The Hospes guest SDK runtime: hypercall page, console, printf, shutdown. */
#include <hospes/guest.h>

int main(const struct hvm_start_info *si);
void arch_load_gdt(void);
void arch_load_idt(void);
void mm_init(const struct hvm_start_info *si);
extern const uint32_t arch_trap_table[32];
extern uint64_t arch_idt[256];
void arch_upcall_entry(void);
void arch_spurious_entry(void);

const struct hvm_start_info *start_info;
static domid_t my_domid = 0xffff;

/* shared_info is mapped over this page with XENMEM_add_to_physmap. */
static char shared_info_page[4096] __attribute__((aligned(4096), section(".bss.page")));

struct trap_frame {
    uint32_t edi, esi, ebp, esp, ebx, edx, ecx, eax;
    uint32_t vector, error, eip, cs, eflags;
};

static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

/* Finds Xen's CPUID leaves (scanning 0x40000000..0x4000ff00 as Linux does) and
 * writes the hypercall page's address to the MSR they name. */
static int install_hypercall_page(void)
{
    for (uint32_t base = XEN_CPUID_FIRST_LEAF; base < XEN_CPUID_FIRST_LEAF + 0x10000; base += 0x100) {
        uint32_t a, b, c, d;
        cpuid(base, &a, &b, &c, &d);
        if (b == XEN_CPUID_SIGNATURE_EBX && c == XEN_CPUID_SIGNATURE_ECX &&
            d == XEN_CPUID_SIGNATURE_EDX && a - base >= 2) {
            uint32_t pages, msr;
            cpuid(base + 2, &pages, &msr, &c, &d);
            uint32_t pa = (uint32_t)hypercall_page; /* paging is off: virtual = physical */
            __asm__ volatile("wrmsr" : : "c"(msr), "a"(pa), "d"(0));
            return 0;
        }
    }
    return -1;
}

void guest_shutdown(unsigned reason)
{
    struct sched_shutdown s = { reason };
    for (;;) {
        HYPERVISOR_sched_op(SCHEDOP_shutdown, &s);
    }
}

static void set_gate(int vector, uint32_t handler)
{
    arch_idt[vector] = (uint64_t)((handler & 0xffff) | (0x08u << 16)) |
                       ((uint64_t)((handler & 0xffff0000u) | 0x8e00u) << 32);
}

void guest_trap(struct trap_frame *f)
{
    char buf[160];
    int n = snprintf(buf, sizeof(buf),
                     "guest: exception %u (error 0x%x) at eip=0x%08x eax=0x%x esp=0x%x\n",
                     f->vector, f->error, f->eip, f->eax, f->esp);
    /* The PV console when there is one, so the report stays in order with what the guest
     * printed and reaches the toolstack's console log; console_io (the hypervisor's log)
     * otherwise, and for a fault taken while reporting one. */
    static int reporting;
    if (reporting++ == 0 && cons_available()) {
        console_write(buf, n);
    } else {
        xen_console_write(buf, n);
    }
    guest_shutdown(SHUTDOWN_crash);
}

/* Maps shared_info and asks for event upcalls on EVTCHN_UPCALL_VECTOR. */
static int events_init(void)
{
    struct xen_add_to_physmap xatp = { DOMID_SELF, 0, XENMAPSPACE_shared_info, 0,
                                       (uint32_t)(uintptr_t)shared_info_page >> 12 };
    if (HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp) != 0) {
        return -1;
    }
    HYPERVISOR_shared_info = (struct shared_info *)shared_info_page;
    struct xen_hvm_param p = { DOMID_SELF, HVM_PARAM_CALLBACK_IRQ,
                               ((uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << 56) |
                                   EVTCHN_UPCALL_VECTOR };
    return HYPERVISOR_hvm_op(HVMOP_set_param, &p) == 0 ? 0 : -1;
}

const char *guest_cmdline(void)
{
    return start_info && start_info->cmdline_paddr
               ? (const char *)(uintptr_t)start_info->cmdline_paddr : "";
}

domid_t guest_domid(void)
{
    return my_domid;
}

void guest_start(const struct hvm_start_info *si)
{
    start_info = si;
    arch_load_gdt();
    for (int v = 0; v < 256; v++) {
        set_gate(v, v < 32 ? arch_trap_table[v] : (uint32_t)arch_spurious_entry);
    }
    set_gate(EVTCHN_UPCALL_VECTOR, (uint32_t)arch_upcall_entry);
    arch_load_idt();
    if (install_hypercall_page() != 0) {
        for (;;) {
            __asm__ volatile("cli; hlt");
        }
    }
    mm_init(si);
    for (uint32_t base = XEN_CPUID_FIRST_LEAF; base < XEN_CPUID_FIRST_LEAF + 0x10000; base += 0x100) {
        uint32_t a, b, c, d;
        cpuid(base, &a, &b, &c, &d);
        if (b == XEN_CPUID_SIGNATURE_EBX && a - base >= 4) {
            cpuid(base + 4, &a, &b, &c, &d);
            if (a & (1u << 4)) {
                my_domid = (domid_t)c;
            }
            break;
        }
    }
    if (events_init() != 0) {
        static const char msg[] = "guest: cannot set up event channels\n";
        xen_console_write(msg, sizeof(msg) - 1);
        guest_shutdown(SHUTDOWN_crash);
    }
    __asm__ volatile("sti" ::: "memory");
    cons_init();
    xs_init();
    int rc = main(si);
    guest_shutdown(rc == 0 ? SHUTDOWN_poweroff : SHUTDOWN_crash);
}


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

int printf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    console_write(buf, n < (int)sizeof(buf) ? n : (int)sizeof(buf) - 1);
    return n;
}
