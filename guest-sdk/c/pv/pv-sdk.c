/*
 * The guest SDK's runtime for classic PV32 (PAE) guests: the same services as the PVH runtime
 * (runtime.c), reached the way a PV kernel reaches them, so that one SDK program runs as pv or
 * pvh. From start_info (ESI at entry, pv-head.S): the trap table through set_trap_table, the
 * event and failsafe callbacks through callback_op, shared_info mapped from its machine address
 * with update_va_mapping, the xenstore and console rings from their MFNs (through the read-only
 * M2P), and every page of RAM past the builder's boot mapping mapped through the PV MMU
 * (mmu_update of new L1 tables) for page_alloc and malloc.
 */
#include <hospes/guest.h>
#include <hospes/grant.h>
#include <hospes/pv.h>

#define VIRT_BASE 0xC0000000u
#define MB2 (2u << 20)
#define MB4 (4u << 20)

int main(const struct hvm_start_info *si);
void mm_init_range(uintptr_t first, uintptr_t top);
void evtchn_do_upcall(void);

struct start_info *pv_start_info;
/* A PV guest has no hvm_start_info: main gets NULL, and pv_start_info is the real thing. */
const struct hvm_start_info *start_info;
static char shared_info_page[4096] __attribute__((aligned(4096), section(".bss.page")));
/* The ring-1 stack traps from ring 3 switch to (stack_switch). */
static char kernel_stack[8192] __attribute__((aligned(16)));
static domid_t my_domid = 0xffff;

struct callback_register {
    uint16_t type;
    uint16_t flags;
    uint32_t cs;
    uint32_t eip;
};
#define __HYPERVISOR_callback_op 30
#define CALLBACKOP_register      0
#define CALLBACKTYPE_event       0
#define CALLBACKTYPE_failsafe    1

static inline const uint32_t *m2p(void)
{
    return (const uint32_t *)MACH2PHYS_VIRT_START;
}

void *pv_pfn_to_va(uint32_t pfn)
{
    return (void *)(VIRT_BASE + (pfn << 12));
}

uint32_t pv_pfn_to_mfn(uint32_t pfn)
{
    return ((const uint32_t *)pv_start_info->mfn_list)[pfn];
}

uint32_t pv_mfn_of(const void *va)
{
    return pv_pfn_to_mfn(((uint32_t)va - VIRT_BASE) >> 12);
}

uint32_t virt_to_gfn(const void *va)
{
    return pv_mfn_of(va);
}

static void *mfn_to_va(uint32_t mfn)
{
    return pv_pfn_to_va(m2p()[mfn]);
}

static long update_va_mapping(const void *va, uint64_t pte)
{
    return PV_HYPERCALL(__HYPERVISOR_update_va_mapping, va, (uint32_t)pte,
                        (uint32_t)(pte >> 32), UVMF_INVLPG);
}

static void early_fail(const char *msg)
{
    HYPERVISOR_console_io(CONSOLEIO_write, strlen(msg), msg);
    guest_shutdown(SHUTDOWN_crash);
}

/* ---- events: vcpu_info's upcall mask is a PV kernel's interrupt flag ---- */

void pv_events_off(void)
{
    HYPERVISOR_shared_info->vcpu_info[0].evtchn_upcall_mask = 1;
    __asm__ volatile("" ::: "memory");
}

void pv_events_on(void)
{
    volatile struct vcpu_info *v = &HYPERVISOR_shared_info->vcpu_info[0];
    __asm__ volatile("" ::: "memory");
    v->evtchn_upcall_mask = 0;
    __asm__ volatile("" ::: "memory");
    if (v->evtchn_upcall_pending) {
        /* Any hypercall returns through the event callback now that events are unmasked. */
        HYPERVISOR_xen_version(XENVER_version, NULL);
    }
}

int pv_events_save(void)
{
    volatile struct vcpu_info *v = &HYPERVISOR_shared_info->vcpu_info[0];
    int on = !v->evtchn_upcall_mask;
    v->evtchn_upcall_mask = 1;
    __asm__ volatile("" ::: "memory");
    return on;
}

/* The event callback (pv-head.S's pv_event_entry), entered with events masked. */
void pv_event(struct pv_frame *f)
{
    (void)f;
    evtchn_do_upcall();
}

void pv_trap(struct pv_frame *f)
{
    char buf[160];
    int n = f->vector == (uint32_t)-2
        ? snprintf(buf, sizeof(buf), "guest: failsafe callback at eip=0x%08x\n", f->eip)
        : snprintf(buf, sizeof(buf),
                   "guest: exception %u (error 0x%x) at eip=0x%08x eax=0x%x esp=0x%x\n",
                   f->vector, f->error, f->eip, f->eax, f->esp0);
    /* As the PVH runtime: after what the guest printed on the PV console, if it has one. */
    static int reporting;
    if (reporting++ == 0 && cons_available()) {
        console_write(buf, n);
    } else {
        xen_console_write(buf, n);
    }
    guest_shutdown(SHUTDOWN_crash);
}

/* ---- services the generic code asks the runtime for ---- */

int arch_store_ring(void **ring, evtchn_port_t *port)
{
    if (pv_start_info->store_mfn == 0 || pv_start_info->store_evtchn == 0) {
        return -XEN_ENOENT;
    }
    *ring = mfn_to_va(pv_start_info->store_mfn);
    *port = pv_start_info->store_evtchn;
    return 0;
}

int arch_console_ring(void **ring, evtchn_port_t *port)
{
    if (pv_start_info->console_mfn == 0 || pv_start_info->console_evtchn == 0) {
        return -XEN_ENOENT;
    }
    *ring = mfn_to_va(pv_start_info->console_mfn);
    *port = pv_start_info->console_evtchn;
    return 0;
}

long gnttab_map_table_frame(uint32_t idx, uint32_t gfn)
{
    if (idx >= 32) {
        return -XEN_EINVAL;
    }
    uint32_t frames[32];
    struct gnttab_setup_table op = { GNTTAB_DOMID_SELF, idx + 1, 0, (uint32_t)frames };
    long rc = HYPERVISOR_grant_table_op(GNTTABOP_setup_table, &op, 1);
    if (rc != 0) {
        return rc;
    }
    if (op.status != GNTST_okay) {
        return -XEN_EINVAL;
    }
    return update_va_mapping(mfn_to_va(gfn),
                             ((uint64_t)frames[idx] << 12) | PTE_P | PTE_RW | PTE_A | PTE_D);
}

int gnttab_unmap(uint32_t gpa, grant_handle_t handle)
{
    struct gnttab_unmap_grant_ref op = { .host_addr = gpa, .handle = handle };
    long rc = HYPERVISOR_grant_table_op(GNTTABOP_unmap_grant_ref, &op, 1);
    if (rc != 0) {
        return GNTST_general_error;
    }
    uint32_t pfn = (gpa - VIRT_BASE) >> 12;
    if (op.status == GNTST_okay && gpa >= VIRT_BASE && pfn < pv_start_info->nr_pages) {
        /* Unmapping cleared the L1 entry: put our own frame back, as PVH's physmap does. */
        update_va_mapping(pv_pfn_to_va(pfn),
                          ((uint64_t)pv_pfn_to_mfn(pfn) << 12) | PTE_P | PTE_RW | PTE_A | PTE_D);
    }
    return op.status;
}

const char *guest_cmdline(void)
{
    return pv_start_info->cmd_line;
}

/* A PV guest sees no Xen CPUID leaf 4 (it is HVM's): it asks xenstore, as PV Linux does. */
domid_t guest_domid(void)
{
    if (my_domid == 0xffff && xs_available()) {
        char buf[16];
        if (xs_read(XBT_NULL, "domid", buf, sizeof(buf)) > 0) {
            my_domid = (domid_t)strtol(buf, NULL, 10);
        }
    }
    return my_domid;
}

void guest_shutdown(unsigned reason)
{
    struct sched_shutdown s = { reason };
    for (;;) {
        HYPERVISOR_sched_op(SCHEDOP_shutdown, &s);
    }
}

void pv_shutdown(unsigned reason)
{
    guest_shutdown(reason);
}

int pv_printf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    console_write(buf, n < (int)sizeof(buf) ? n : (int)sizeof(buf) - 1);
    return n;
}

/*
 * The builder maps [VIRT_BASE, boot end) only; boot end is the first 4 MiB boundary at least
 * 512 KiB past the boot stack (xc_dom_x86.c), and the space after the stack page is free.
 * Maps the rest of RAM 2 MiB at a time: an L1 table is filled in a free page that is mapped
 * writable, mapped read-only (a page table must have no writable mapping), and hooked into
 * the boot L2 with mmu_update, which validates it. Each new 2 MiB supplies later L1 tables.
 * Hands [first free page, end of RAM) to page_alloc.
 */
static void map_ram(const struct start_info *si)
{
    uint32_t stack = si->pt_base + 4096 * si->nr_pt_frames;
    uint32_t next = stack + 4096;
    uint32_t mapped = (stack + 4096 + (512u << 10) + MB4 - 1) & ~(MB4 - 1);
    uint64_t ram_end64 = VIRT_BASE + (uint64_t)si->nr_pages * 4096;
    uint32_t ram_end = ram_end64 > HYPERVISOR_VIRT_START ? HYPERVISOR_VIRT_START
                                                          : (uint32_t)ram_end64;
    const uint64_t *l3 = (const uint64_t *)si->pt_base;
    uint64_t l2_ma = l3[3] & 0x000ffffffffff000ull;   /* VIRT_BASE is the fourth GiB */
    while (mapped < ram_end && next < mapped) {
        uint64_t *l1 = (uint64_t *)next;
        next += 4096;
        for (int i = 0; i < 512; i++) {
            uint32_t va = mapped + (uint32_t)i * 4096;
            l1[i] = va < ram_end
                ? ((uint64_t)pv_pfn_to_mfn((va - VIRT_BASE) >> 12) << 12) | PTE_P | PTE_RW
                      | PTE_A | PTE_D
                : 0;
        }
        uint64_t l1_mfn = pv_mfn_of(l1);
        struct mmu_update u = { (l2_ma + 8 * ((mapped >> 21) & 511)) | MMU_NORMAL_PT_UPDATE,
                                (l1_mfn << 12) | PTE_P | PTE_RW | PTE_A | PTE_D };
        if (update_va_mapping(l1, (l1_mfn << 12) | PTE_P | PTE_A) != 0
            || PV_HYPERCALL(__HYPERVISOR_mmu_update, &u, 1, NULL, DOMID_SELF) != 0) {
            early_fail("guest: cannot map RAM through the PV MMU\n");
        }
        mapped += MB2;
    }
    mm_init_range(next, mapped < ram_end ? mapped : ram_end);
}

void pv_start(struct start_info *si)
{
    pv_start_info = si;
    static struct trap_info traps[34];
    int n = 0;
    for (int v = 0; v < 32; v++) {
        /* #BP and #OF may be raised from ring 3 (int3, into). */
        uint8_t dpl = (v == 3 || v == 4) ? 3 : 0;
        traps[n++] = (struct trap_info){ v, dpl, FLAT_KERNEL_CS, pv_trap_stubs[v] };
    }
    traps[n] = (struct trap_info){ 0, 0, 0, 0 };
    struct callback_register event = { CALLBACKTYPE_event, 0, FLAT_KERNEL_CS,
                                       (uint32_t)pv_event_entry };
    struct callback_register failsafe = { CALLBACKTYPE_failsafe, 0, FLAT_KERNEL_CS,
                                          (uint32_t)pv_failsafe_entry };
    if (PV_HYPERCALL(__HYPERVISOR_set_trap_table, traps) != 0
        || PV_HYPERCALL(__HYPERVISOR_stack_switch, FLAT_KERNEL_DS,
                        kernel_stack + sizeof(kernel_stack)) != 0
        || PV_HYPERCALL(__HYPERVISOR_callback_op, CALLBACKOP_register, &event) != 0
        || PV_HYPERCALL(__HYPERVISOR_callback_op, CALLBACKOP_register, &failsafe) != 0) {
        early_fail("guest: cannot set up traps and callbacks\n");
    }
    /* shared_info over a page of ours (the page's own frame is no longer mapped there). */
    if (update_va_mapping(shared_info_page,
                          (uint64_t)si->shared_info | PTE_P | PTE_RW | PTE_A | PTE_D) != 0) {
        early_fail("guest: cannot map shared_info\n");
    }
    HYPERVISOR_shared_info = (struct shared_info *)shared_info_page;
    map_ram(si);
    /* The builder starts us with events masked: they come on now, as PVH's sti. */
    pv_events_on();
    cons_init();
    xs_init();
    /* Our domid before main, so guest_domid() is as cheap as PVH's CPUID; the program's own
     * xenstore requests are counted from zero, as in PVH, where the runtime makes none. */
    guest_domid();
    xs_requests = 0;
    int rc = main(NULL);
    guest_shutdown(rc == 0 ? SHUTDOWN_poweroff : SHUTDOWN_crash);
}
