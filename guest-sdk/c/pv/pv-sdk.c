/*
 * The SDK runtime's classic PV32 (PAE) side: the same services as in ring 0 (src/runtime.c),
 * reached the way a PV kernel reaches them, so that one SDK image runs as pv too. From
 * start_info (ESI at entry): the start of day of pv-boot.c (trap table, callbacks, shared_info),
 * the xenstore and console rings from their MFNs (through the read-only M2P), and every page
 * of RAM past the builder's boot mapping mapped through the PV MMU (mmu_update of new L1
 * tables) for page_alloc and malloc. The image's VIRT_BASE is 0: a pointer's value is the
 * pseudo-physical address, as in ring 0.
 */
#include "../src/internal.h"

#define MB2 (2u << 20)

static char shared_info_page[4096] __attribute__((aligned(4096), section(".bss.page")));
/* The ring-1 stack traps from ring 3 switch to (stack_switch). */
static char kernel_stack[8192] __attribute__((aligned(16)));
static domid_t my_domid = 0xffff;

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

/* The event callback (pv-traps.S's pv_event_entry), entered with events masked. */
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
    guest_report_fault(buf, n);
}

/* ---- services the generic code asks the runtime for ---- */

int pv_store_ring(void **ring, evtchn_port_t *port)
{
    if (pv_start_info->store_mfn == 0 || pv_start_info->store_evtchn == 0) {
        return -XEN_ENOENT;
    }
    *ring = pv_mfn_to_va(pv_start_info->store_mfn);
    *port = pv_start_info->store_evtchn;
    return 0;
}

int pv_console_ring(void **ring, evtchn_port_t *port)
{
    if (pv_start_info->console_mfn == 0 || pv_start_info->console_evtchn == 0) {
        return -XEN_ENOENT;
    }
    *ring = pv_mfn_to_va(pv_start_info->console_mfn);
    *port = pv_start_info->console_evtchn;
    return 0;
}

long pv_gnttab_map_table_frame(uint32_t idx, uint32_t gfn)
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
    return pv_update_va_mapping(pv_mfn_to_va(gfn),
                                ((uint64_t)frames[idx] << 12) | PTE_P | PTE_RW | PTE_A | PTE_D);
}

int pv_gnttab_unmap(uint32_t gpa, grant_handle_t handle)
{
    struct gnttab_unmap_grant_ref op = { .host_addr = gpa, .handle = handle };
    long rc = HYPERVISOR_grant_table_op(GNTTABOP_unmap_grant_ref, &op, 1);
    if (rc != 0) {
        return GNTST_general_error;
    }
    uint32_t pfn = pv_va_to_pfn((const void *)gpa);
    if (op.status == GNTST_okay && pfn < pv_start_info->nr_pages) {
        /* Unmapping cleared the L1 entry: put our own frame back, as PVH's physmap does. */
        pv_update_va_mapping(pv_pfn_to_va(pfn),
                             ((uint64_t)pv_pfn_to_mfn(pfn) << 12) | PTE_P | PTE_RW | PTE_A
                                 | PTE_D);
    }
    return op.status;
}

const char *pv_cmdline(void)
{
    return pv_start_info->cmd_line;
}

/* A PV guest sees no Xen CPUID leaf 4 (it is HVM's): it asks xenstore, as PV Linux does. */
domid_t pv_domid(void)
{
    if (my_domid == 0xffff && xs_available()) {
        char buf[16];
        if (xs_read(XBT_NULL, "domid", buf, sizeof(buf)) > 0) {
            my_domid = (domid_t)strtol(buf, NULL, 10);
        }
    }
    return my_domid;
}

/*
 * The builder maps [VIRT_BASE, boot end) only (pv_boot_end), and the space after the stack page
 * is free. Maps the rest of RAM 2 MiB at a time: an L1 table is filled in a free page that is
 * mapped writable, mapped read-only (a page table must have no writable mapping), and hooked
 * into the boot L2 of its GiB with mmu_update, which validates it. Each new 2 MiB supplies
 * later L1 tables. Hands [first free page, end of mapped RAM) to page_alloc.
 */
static void map_ram(const struct start_info *si)
{
    uint32_t stack = si->pt_base + 4096 * si->nr_pt_frames;
    uint32_t next = stack + 4096;
    uint32_t mapped = pv_boot_end();
    uint64_t ram_end64 = (uint64_t)(uint32_t)pv_pfn_to_va(0) + (uint64_t)si->nr_pages * 4096;
    uint32_t ram_end = ram_end64 > HYPERVISOR_VIRT_START ? HYPERVISOR_VIRT_START
                                                          : (uint32_t)ram_end64;
    const uint64_t *l3 = (const uint64_t *)si->pt_base;
    while (mapped < ram_end && next < mapped) {
        uint64_t l3e = l3[mapped >> 30];
        if (!(l3e & PTE_P)) {
            break;   /* a GiB the builder gave no L2: stop there */
        }
        uint64_t l2_ma = l3e & 0x000ffffffffff000ull;
        uint64_t *l1 = (uint64_t *)next;
        next += 4096;
        for (int i = 0; i < 512; i++) {
            uint32_t va = mapped + (uint32_t)i * 4096;
            l1[i] = va < ram_end
                ? ((uint64_t)pv_pfn_to_mfn(pv_va_to_pfn((const void *)va)) << 12) | PTE_P
                      | PTE_RW | PTE_A | PTE_D
                : 0;
        }
        uint64_t l1_mfn = pv_mfn_of(l1);
        struct mmu_update u = { (l2_ma + 8 * ((mapped >> 21) & 511)) | MMU_NORMAL_PT_UPDATE,
                                (l1_mfn << 12) | PTE_P | PTE_RW | PTE_A | PTE_D };
        if (pv_update_va_mapping(l1, (l1_mfn << 12) | PTE_P | PTE_A) != 0
            || PV_HYPERCALL(__HYPERVISOR_mmu_update, &u, 1, NULL, DOMID_SELF) != 0) {
            early_fail("guest: cannot map RAM through the PV MMU\n");
        }
        mapped += MB2;
    }
    mm_init_range(next, mapped < ram_end ? mapped : ram_end);
}

void pv_sdk_start(struct start_info *si)
{
    switch (pv_boot(si, NULL, 0, kernel_stack + sizeof(kernel_stack), shared_info_page)) {
    case 0:
        break;
    case -1:
        early_fail("guest: cannot set up traps and callbacks\n");
        break;
    default:
        early_fail("guest: cannot map shared_info\n");
    }
    HYPERVISOR_shared_info = (struct shared_info *)shared_info_page;
    map_ram(si);
    /* The builder starts us with events masked: they come on now, as ring 0's sti. */
    pv_events_on();
    cons_init();
    xs_init();
    /* Our domid before main, so guest_domid() is as cheap as PVH's CPUID; the program's own
     * xenstore requests are counted from zero, as in PVH, where the runtime makes none. */
    guest_domid();
    xs_requests = 0;
    guest_run_main(NULL);
}
