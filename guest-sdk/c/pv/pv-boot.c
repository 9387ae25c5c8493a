/*
 * The start of day of a classic PV32 (PAE) guest, shared by the SDK's PV runtime (pv-sdk.c)
 * and the bare PV runtime (pv-runtime.c): the frame helpers over the P2M list and the
 * read-only M2P table, and pv_boot(), which registers the virtual IDT (set_trap_table), the
 * ring-1 stack for traps from ring 3 (stack_switch) and the event and failsafe callbacks
 * (callback_op), and maps shared_info over a page of the guest's with update_va_mapping.
 * The virtual base is the linker script's pv_virt_base: 0 for the SDK's one image, 0xC0000000
 * for the bare runtime.
 */
#include <hospes/xen.h>
#include <hospes/pv.h>

extern char pv_virt_base[];
#define VIRT_BASE ((uint32_t)pv_virt_base)

struct start_info *pv_start_info;

struct callback_register {
    uint16_t type;
    uint16_t flags;
    uint32_t cs;
    uint32_t eip;
};
#define CALLBACKOP_register   0
#define CALLBACKTYPE_event    0
#define CALLBACKTYPE_failsafe 1

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

uint32_t pv_va_to_pfn(const void *va)
{
    return ((uint32_t)va - VIRT_BASE) >> 12;
}

void *pv_mfn_to_va(uint32_t mfn)
{
    return pv_pfn_to_va(m2p()[mfn]);
}

long pv_update_va_mapping(const void *va, uint64_t pte)
{
    return PV_HYPERCALL(__HYPERVISOR_update_va_mapping, va, (uint32_t)pte,
                        (uint32_t)(pte >> 32), UVMF_INVLPG);
}

/* The boot tables map [VIRT_BASE, end of boot area) with one L1 per 2 MiB, in pt_base order. */
uint64_t pv_l1e_ma(const void *va)
{
    const uint64_t *l3 = (const uint64_t *)pv_start_info->pt_base;
    uint32_t a = (uint32_t)va;
    uint64_t l3e = l3[a >> 30];
    const uint64_t *l2 = pv_mfn_to_va((uint32_t)(l3e >> 12));
    uint64_t l2e = l2[(a >> 21) & 511];
    return (l2e & ~0xfffull) + 8 * ((a >> 12) & 511);
}

uint32_t pv_boot_end(void)
{
    /* The boot area ends 512 KiB past the stack, on a 4 MiB boundary (xc_dom_x86.c). */
    uint32_t stack = pv_start_info->pt_base + 4096 * pv_start_info->nr_pt_frames;
    return (stack + 4096 + (512 << 10) + (4 << 20) - 1) & ~((4u << 20) - 1);
}

uint32_t pv_first_free_pfn(void)
{
    return (pv_boot_end() - VIRT_BASE) >> 12;
}

int pv_boot(struct start_info *si, const struct trap_info *extra, int n_extra,
            void *kernel_stack_top, void *shared_info_page)
{
    pv_start_info = si;
    static struct trap_info traps[32 + 8 + 1];
    int n = 0;
    for (int v = 0; v < 32; v++) {
        /* #BP and #OF may be raised from ring 3 (int3, into). */
        uint8_t dpl = (v == 3 || v == 4) ? 3 : 0;
        traps[n++] = (struct trap_info){ v, dpl, FLAT_KERNEL_CS, pv_trap_stubs[v] };
    }
    for (int i = 0; i < n_extra && i < 8; i++) {
        traps[n++] = extra[i];
    }
    traps[n] = (struct trap_info){ 0, 0, 0, 0 };
    struct callback_register event = { CALLBACKTYPE_event, 0, FLAT_KERNEL_CS,
                                       (uint32_t)pv_event_entry };
    struct callback_register failsafe = { CALLBACKTYPE_failsafe, 0, FLAT_KERNEL_CS,
                                          (uint32_t)pv_failsafe_entry };
    if (PV_HYPERCALL(__HYPERVISOR_set_trap_table, traps) != 0
        || PV_HYPERCALL(__HYPERVISOR_stack_switch, FLAT_KERNEL_DS, kernel_stack_top) != 0
        || PV_HYPERCALL(__HYPERVISOR_callback_op, CALLBACKOP_register, &event) != 0
        || PV_HYPERCALL(__HYPERVISOR_callback_op, CALLBACKOP_register, &failsafe) != 0) {
        return -1;
    }
    /* shared_info over a page of ours: the page's own frame is no longer mapped there. */
    if (pv_update_va_mapping(shared_info_page,
                             (uint64_t)si->shared_info | PTE_P | PTE_RW | PTE_A | PTE_D) != 0) {
        return -2;
    }
    return 0;
}
