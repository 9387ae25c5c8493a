/*
 * The Hospes guest SDK runtime: from the entry (src/entry.S) to main() and back to a shutdown,
 * in whichever way the image was started. In ring 0 (Multiboot, PVH) it loads its GDT and IDT
 * and looks for Xen's CPUID leaves: with Xen it installs the hypercall page, maps shared_info
 * and takes event upcalls on a vector; without (native) it fills the hypercall page with stubs
 * that return -ENOSYS, writes the console to COM1 and keeps time with the TSC, calibrated
 * against the PIT. A classic PV start goes to pv/pv-sdk.c. The services above (events,
 * xenstore, console, grants, front-ends) ask the few functions here what differs.
 */
#include "internal.h"

int main(const struct hvm_start_info *si);
void arch_load_gdt(void);
void arch_load_idt(void);
void mm_init(const struct hvm_start_info *si);
extern const uint32_t arch_trap_table[32];
extern uint64_t arch_idt[256];
void arch_upcall_entry(void);
void arch_spurious_entry(void);

enum guest_boot guest_boot;
int arch_pv;
static int have_xen;
const struct hvm_start_info *start_info;
static domid_t my_domid = 0xffff;

/* The start of struct multiboot_info (Multiboot v1, section 3.3). */
struct multiboot_info {
    uint32_t flags;
    uint32_t mem_lower;        /* KiB below 1 MiB (flags bit 0) */
    uint32_t mem_upper;        /* KiB from 1 MiB up to the first hole (flags bit 0) */
    uint32_t boot_device;
    uint32_t cmdline;          /* physical address of a C string (flags bit 2) */
};
#define MULTIBOOT_INFO_MEMORY  (1u << 0)
#define MULTIBOOT_INFO_CMDLINE (1u << 2)
static const struct multiboot_info *mb_info;

/* shared_info is mapped over this page with XENMEM_add_to_physmap; without Xen it stays a
 * zeroed page whose time fields the TSC calibration fills, so the pvclock code serves. */
static char shared_info_page[4096] __attribute__((aligned(4096), section(".bss.page")));

struct trap_frame {
    uint32_t edi, esi, ebp, esp, ebx, edx, ecx, eax;
    uint32_t vector, error, eip, cs, eflags;
};

static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

int guest_has_xen(void)
{
    return have_xen;
}

void guest_require_xen(const char *program)
{
    if (!have_xen) {
        printf("%s: needs Xen's services, and this machine has no hypervisor\n", program);
        guest_shutdown(SHUTDOWN_crash);
    }
}

const char *guest_boot_name(void)
{
    return guest_boot == GUEST_BOOT_PV ? "pv" : guest_boot == GUEST_BOOT_PVH ? "pvh"
                                                                             : "multiboot";
}

/* Xen's CPUID base (scanning 0x40000000..0x4000ff00 as Linux does), or 0 without Xen. */
static uint32_t xen_cpuid_base(void)
{
    for (uint32_t base = XEN_CPUID_FIRST_LEAF; base < XEN_CPUID_FIRST_LEAF + 0x10000;
         base += 0x100) {
        uint32_t a, b, c, d;
        cpuid(base, &a, &b, &c, &d);
        if (b == XEN_CPUID_SIGNATURE_EBX && c == XEN_CPUID_SIGNATURE_ECX &&
            d == XEN_CPUID_SIGNATURE_EDX && a - base >= 2) {
            return base;
        }
    }
    return 0;
}

/* Writes the hypercall page's address to the MSR Xen's leaf 2 names; domid from leaf 4. */
static void install_hypercall_page(uint32_t base)
{
    uint32_t a, b, c, d;
    cpuid(base + 2, &a, &b, &c, &d);
    uint32_t pa = (uint32_t)hypercall_page; /* paging is off: virtual = physical */
    __asm__ volatile("wrmsr" : : "c"(b), "a"(pa), "d"(0));
    cpuid(base, &a, &b, &c, &d);
    if (a - base >= 4) {
        cpuid(base + 4, &a, &b, &c, &d);
        if (a & (1u << 4)) {
            my_domid = (domid_t)c;
        }
    }
}

/* No hypervisor: every hypercall slot becomes "mov $-ENOSYS, %eax; ret". */
static void fill_enosys_page(void)
{
    for (int i = 0; i < 4096 / 32; i++) {
        uint8_t *slot = (uint8_t *)hypercall_page + i * 32;
        uint32_t v = (uint32_t)-XEN_ENOSYS;
        slot[0] = 0xb8;
        memcpy(slot + 1, &v, 4);
        slot[5] = 0xc3;
    }
}

/* ---- the bare PC: COM1, the TSC against the PIT, isa-debug-exit ---- */

#define COM1 0x3f8

static void com1_write(const char *s, int n)
{
    for (int i = 0; i < n; i++) {
        while (!(inb(COM1 + 5) & 0x20)) {   /* LSR: transmit holding register empty */
        }
        outb(COM1, (uint8_t)s[i]);
    }
}

static int com1_read(char *buf, int len)
{
    int n = 0;
    while (n < len && (inb(COM1 + 5) & 0x01)) {   /* LSR: data ready */
        buf[n++] = (char)inb(COM1);
    }
    return n;
}

/*
 * The TSC's rate in MHz, counted over 11,932 ticks of PIT channel 2 (10 ms at 1,193,182 Hz) in
 * mode 0, whose output reads back in port 0x61 bit 5, as Linux's pit_calibrate_tsc does.
 * Rounded to a whole MHz; deterministic, since the PIT counts the same virtual clock.
 */
static uint32_t calibrate_tsc_mhz(void)
{
    outb(0x61, (inb(0x61) & ~0x02) | 0x01);   /* gate 2 on, speaker off */
    outb(0x43, 0xb0);                         /* channel 2, lobyte/hibyte, mode 0, binary */
    outb(0x42, 11932 & 0xff);
    outb(0x42, 11932 >> 8);
    uint64_t t0 = rdtsc();
    for (uint32_t i = 0; !(inb(0x61) & 0x20); i++) {
        if (i > 100000000u) {
            return 1000;   /* no PIT output: assume the nominal 1 GHz */
        }
    }
    uint32_t cycles = (uint32_t)(rdtsc() - t0);
    uint32_t mhz = (cycles + 5000) / 10000;
    return mhz ? mhz : 1;
}

/*
 * Without Xen: the pvclock's scale for the TSC, ns = ((tsc << shift) * mul) >> 32, in the
 * stand-in shared_info. Calibrated on first use (10 ms of PIT), so that a program that never
 * asks the time does not pay for it.
 */
void native_clock_init(void)
{
    static int calibrated;
    if (calibrated++) {
        return;
    }
    uint32_t mhz = calibrate_tsc_mhz();
    int8_t shift = 0;
    while ((1000ull << 32 >> shift) >= ((uint64_t)mhz << 32)) {
        shift++;
    }
    uint64_t num = 1000ull << 32 >> shift;
    uint32_t mul, rem;
    __asm__("divl %4" : "=a"(mul), "=d"(rem)
            : "a"((uint32_t)num), "d"((uint32_t)(num >> 32)), "rm"(mhz));
    struct vcpu_time_info *t = &HYPERVISOR_shared_info->vcpu_info[0].time;
    t->tsc_to_system_mul = mul;
    t->tsc_shift = shift;
}

static void native_exit(unsigned reason) __attribute__((noreturn));
static void native_exit(unsigned reason)
{
    /* Poweroff: a HLT nothing can end (status 0 on Hospes's PC); anything else through
     * QEMU's isa-debug-exit with value 1 (status 3, as a crashed domain's run). */
    if (reason != SHUTDOWN_poweroff) {
        outb(0xf4, 1);
    }
    for (;;) {
        __asm__ volatile("cli; hlt");
    }
}

void early_console_write(const char *s, int len)
{
    if (guest_boot == GUEST_BOOT_MULTIBOOT) {
        com1_write(s, len);
    } else {
        xen_console_write(s, len);
    }
}

int early_console_read(char *buf, int len)
{
    return guest_boot == GUEST_BOOT_MULTIBOOT ? com1_read(buf, len) : 0;
}

/* ---- shutdown and faults ---- */

void guest_shutdown(unsigned reason)
{
    if (!have_xen) {
        native_exit(reason);
    }
    struct sched_shutdown s = { reason };
    for (;;) {
        HYPERVISOR_sched_op(SCHEDOP_shutdown, &s);
    }
}

void guest_report_fault(const char *buf, int n)
{
    /* The PV console when there is one, so the report stays in order with what the guest
     * printed and reaches the toolstack's console log; otherwise, and for a fault taken while
     * reporting one, COM1 on a PC start and console_io (the hypervisor's log) elsewhere. */
    static int reporting;
    if (reporting++ == 0 && cons_available()) {
        console_write(buf, n);
    } else {
        early_console_write(buf, n);
    }
    guest_shutdown(SHUTDOWN_crash);
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
    guest_report_fault(buf, n);
}

/* ---- what the services ask for ---- */

/* Maps shared_info and asks for event upcalls on EVTCHN_UPCALL_VECTOR. */
static int events_init(void)
{
    struct xen_add_to_physmap xatp = { DOMID_SELF, 0, XENMAPSPACE_shared_info, 0,
                                       (uint32_t)(uintptr_t)shared_info_page >> 12 };
    if (HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp) != 0) {
        return -1;
    }
    struct xen_hvm_param p = { DOMID_SELF, HVM_PARAM_CALLBACK_IRQ,
                               ((uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << 56) |
                                   EVTCHN_UPCALL_VECTOR };
    return HYPERVISOR_hvm_op(HVMOP_set_param, &p) == 0 ? 0 : -1;
}

uint32_t virt_to_gfn(const void *va)
{
    if (arch_pv) {
        return pv_mfn_of(va);   /* a PV guest is not translated: the machine frame */
    }
    return (uint32_t)(uintptr_t)va >> 12;   /* paging is off: the address is guest-physical */
}

static int hvm_ring(uint32_t pfn_param, uint32_t evtchn_param, void **ring, evtchn_port_t *port)
{
    if (!have_xen) {
        return -XEN_ENOSYS;
    }
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
    return arch_pv ? pv_store_ring(ring, port)
                   : hvm_ring(HVM_PARAM_STORE_PFN, HVM_PARAM_STORE_EVTCHN, ring, port);
}

int arch_console_ring(void **ring, evtchn_port_t *port)
{
    return arch_pv ? pv_console_ring(ring, port)
                   : hvm_ring(HVM_PARAM_CONSOLE_PFN, HVM_PARAM_CONSOLE_EVTCHN, ring, port);
}

long gnttab_map_table_frame(uint32_t idx, uint32_t gfn)
{
    if (arch_pv) {
        return pv_gnttab_map_table_frame(idx, gfn);
    }
    struct xen_add_to_physmap xatp = { GNTTAB_DOMID_SELF, 1, XENMAPSPACE_grant_table, idx, gfn };
    return HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp);
}

int gnttab_unmap(uint32_t gpa, grant_handle_t handle)
{
    if (arch_pv) {
        return pv_gnttab_unmap(gpa, handle);
    }
    struct gnttab_unmap_grant_ref op = { .host_addr = gpa, .handle = handle };
    long rc = HYPERVISOR_grant_table_op(GNTTABOP_unmap_grant_ref, &op, 1);
    return rc != 0 ? GNTST_general_error : op.status;
}

const char *guest_cmdline(void)
{
    if (arch_pv) {
        return pv_cmdline();
    }
    if (start_info && start_info->cmdline_paddr) {
        return (const char *)(uintptr_t)start_info->cmdline_paddr;
    }
    if (mb_info && (mb_info->flags & MULTIBOOT_INFO_CMDLINE) && mb_info->cmdline) {
        return (const char *)(uintptr_t)mb_info->cmdline;
    }
    return "";
}

domid_t guest_domid(void)
{
    return arch_pv ? pv_domid() : my_domid;
}

/* RAM for page_alloc after a Multiboot start: from the image's end up to mem_upper's top. */
static void mm_init_multiboot(const struct multiboot_info *mb)
{
    extern char _end[];
    uintptr_t first = ((uintptr_t)_end + PAGE_SIZE - 1) & ~(uintptr_t)(PAGE_SIZE - 1);
    uint64_t top = (mb->flags & MULTIBOOT_INFO_MEMORY)
        ? 0x100000ull + (uint64_t)mb->mem_upper * 1024 : first;
    if (top > 0xfffff000ull) {
        top = 0xfffff000ull;
    }
    /* The loader puts its boot information in low memory; nothing of it lies above us. */
    mm_init_range(first, top < first ? first : (uintptr_t)top);
}

void guest_run_main(const struct hvm_start_info *si)
{
    int rc = main(si);
    if (rc != 0) {
        /* Neither a crash shutdown nor isa-debug-exit 1 carries the value, so the toolstack
         * cannot say it: the runtime does, on the console, the same line in every mode.
         * Without it the bare PC's run ended with status 3 and nothing said. */
        printf("guest: main returned %d; shutting down as crashed\n", rc);
    }
    guest_shutdown(rc == 0 ? SHUTDOWN_poweroff : SHUTDOWN_crash);
}

void guest_start(int how, void *info)
{
    guest_boot = (enum guest_boot)how;
    if (how == GUEST_BOOT_PV) {
        arch_pv = 1;
        have_xen = 1;
        pv_sdk_start(info);
    }
    if (how == GUEST_BOOT_PVH) {
        start_info = info;
    } else {
        mb_info = info;
    }
    arch_load_gdt();
    for (int v = 0; v < 256; v++) {
        set_gate(v, v < 32 ? arch_trap_table[v] : (uint32_t)arch_spurious_entry);
    }
    set_gate(EVTCHN_UPCALL_VECTOR, (uint32_t)arch_upcall_entry);
    arch_load_idt();
    uint32_t base = xen_cpuid_base();
    if (base) {
        install_hypercall_page(base);
        have_xen = 1;
    } else {
        fill_enosys_page();
    }
    if (start_info) {
        mm_init(start_info);
    } else {
        mm_init_multiboot(mb_info);
    }
    /* Started in an HVM domain or on the bare PC, the kernel finds the 8259 pair as the BIOS
     * left it: unmasked, IRQ 0-7 on vectors 8-15, with the PIT's channel 0 ticking at 18.2 Hz.
     * This runtime takes only event-channel upcalls, so it masks every legacy line, as a
     * Xen-aware kernel that does not use the PIC does; otherwise the first timer tick (after
     * about 55 ms) arrives on vector 8 and looks like a double fault. In PVH there is no PIC
     * and the writes go nowhere. */
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    HYPERVISOR_shared_info = (struct shared_info *)shared_info_page;
    if (have_xen) {
        if (events_init() != 0) {
            static const char msg[] = "guest: cannot set up event channels\n";
            early_console_write(msg, sizeof(msg) - 1);
            guest_shutdown(SHUTDOWN_crash);
        }
        __asm__ volatile("sti" ::: "memory");
    }
    /* Without Xen interrupts stay off: without event channels nothing would take them. */
    cons_init();
    xs_init();
    guest_run_main(start_info);
}
