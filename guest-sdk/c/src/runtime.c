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

uint32_t virt_to_gfn(const void *va)
{
    return (uint32_t)(uintptr_t)va >> 12;   /* paging is off: the address is guest-physical */
}

static int hvm_ring(uint32_t pfn_param, uint32_t evtchn_param, void **ring, evtchn_port_t *port)
{
    struct xen_hvm_param pfn = { DOMID_SELF, pfn_param, 0 };
    struct xen_hvm_param evt = { DOMID_SELF, evtchn_param, 0 };
    if (HYPERVISOR_hvm_op(HVMOP_get_param, &pfn) != 0 ||
        HYPERVISOR_hvm_op(HVMOP_get_param, &evt) != 0 || pfn.value == 0 ||
        pfn.value == ~0ull || evt.value == 0) {
        return -XEN_ENOENT;
    }
    *ring = (void *)(uintptr_t)(pfn.value << 12);
    *port = (evtchn_port_t)evt.value;
    return 0;
}

int arch_store_ring(void **ring, evtchn_port_t *port)
{
    return hvm_ring(HVM_PARAM_STORE_PFN, HVM_PARAM_STORE_EVTCHN, ring, port);
}

int arch_console_ring(void **ring, evtchn_port_t *port)
{
    return hvm_ring(HVM_PARAM_CONSOLE_PFN, HVM_PARAM_CONSOLE_EVTCHN, ring, port);
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
    /* Started in an HVM domain (hvm, hvm-shadow), the kernel finds a PC whose 8259 pair is as
     * the BIOS left it: unmasked, IRQ 0-7 on vectors 8-15, with the PIT's channel 0 ticking at
     * 18.2 Hz. This runtime takes only event-channel upcalls, so it masks every legacy line,
     * as a Xen-aware kernel that does not use the PIC does; otherwise the first timer tick
     * (after about 55 ms) arrives on vector 8 and looks like a double fault. In PVH there is no
     * PIC and the writes go nowhere. */
    __asm__ volatile("outb %0, $0x21\n\toutb %0, $0xa1" : : "a"((uint8_t)0xff));
    __asm__ volatile("sti" ::: "memory");
    cons_init();
    xs_init();
    int rc = main(si);
    guest_shutdown(rc == 0 ? SHUTDOWN_poweroff : SHUTDOWN_crash);
}

