/*
 * pv-pagetables: a page-table-heavy classic PV guest, the fork/exit pattern of a PV kernel.
 * Each round builds a fresh address space in free frames (an L3, a private copy of the
 * kernel's L2, a user L2 and L1 mapping 16 pages), pins it with MMUEXT_PIN_L3_TABLE (the
 * hypervisor validates the whole tree), switches to it with MMUEXT_NEW_BASEPTR, writes the
 * user pages, remaps all 16 with one mmu_update batch and checks what it reads, switches back
 * and unpins it (which releases the tree). The tables are written through a scratch mapping
 * moved with update_va_mapping while they are ordinary pages, as a PV kernel must.
 *
 * cmdline: the number of rounds (default 100).
 */
#include <hospes/xen.h>
#include <hospes/pv.h>

long strtol(const char *s, char **end, int base);

#define USER_VA   0x00400000u
#define NPAGES    16
#define XEN_SLOT0 428           /* first L2 slot of the hypervisor hole under L3 slot 3 */

static char scratch[4096] __attribute__((aligned(4096)));

static void fail(const char *what, long rc)
{
    pv_printf("pv-pagetables: %s failed: %ld\n", what, rc);
    pv_shutdown(SHUTDOWN_crash);
}

/* Points the scratch page at machine frame mfn (0: unmapped). */
static void scratch_map(uint32_t mfn)
{
    uint64_t pte = mfn ? ((uint64_t)mfn << 12) | PTE_P | PTE_RW | PTE_A | PTE_D : 0;
    long rc = PV_HYPERCALL(__HYPERVISOR_update_va_mapping, scratch, (uint32_t)pte,
                           (uint32_t)(pte >> 32), UVMF_INVLPG);
    if (rc != 0) {
        fail("update_va_mapping", rc);
    }
}

static long ext(uint32_t cmd, uint32_t arg1)
{
    struct mmuext_op op = { cmd, arg1, 0 };
    return PV_HYPERCALL(__HYPERVISOR_mmuext_op, &op, 1, 0, DOMID_SELF);
}

int main(void)
{
    const char *cmd = pv_start_info->cmd_line;
    long rounds = *cmd ? strtol(cmd, 0, 10) : 100;
    uint32_t pfn = pv_first_free_pfn();
    if (pfn + 4 + NPAGES > pv_start_info->nr_pages) {
        fail("not enough free frames", 0);
    }
    uint32_t l3 = pv_pfn_to_mfn(pfn++), l2k = pv_pfn_to_mfn(pfn++);
    uint32_t l2u = pv_pfn_to_mfn(pfn++), l1u = pv_pfn_to_mfn(pfn++);
    uint32_t data[NPAGES];
    for (int i = 0; i < NPAGES; i++) {
        data[i] = pv_pfn_to_mfn(pfn++);
    }
    const uint64_t *boot_l3 = (const uint64_t *)pv_start_info->pt_base;
    uint32_t boot_l3_mfn = pv_mfn_of(boot_l3);
    const uint32_t *m2p = (const uint32_t *)MACH2PHYS_VIRT_START;
    const uint64_t *boot_l2k = pv_pfn_to_va(m2p[(uint32_t)(boot_l3[3] >> 12)]);
    uint64_t *t = (uint64_t *)scratch;
    long remaps = 0;

    for (long r = 0; r < rounds; r++) {
        /* The tables, written while they are plain writable pages. */
        scratch_map(l1u);
        for (int i = 0; i < 512; i++) {
            t[i] = i < NPAGES
                ? ((uint64_t)data[i] << 12) | PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D : 0;
        }
        scratch_map(l2u);
        for (int i = 0; i < 512; i++) {
            t[i] = i == (USER_VA >> 21) ? ((uint64_t)l1u << 12) | PTE_P | PTE_RW | PTE_US | PTE_A
                                        : 0;
        }
        scratch_map(l2k);
        for (int i = 0; i < 512; i++) {
            t[i] = i < XEN_SLOT0 ? boot_l2k[i] : 0;
        }
        scratch_map(l3);
        for (int i = 0; i < 512; i++) {
            t[i] = 0;
        }
        t[0] = ((uint64_t)l2u << 12) | PTE_P;
        t[3] = ((uint64_t)l2k << 12) | PTE_P;
        scratch_map(0);

        long rc = ext(MMUEXT_PIN_L3_TABLE, l3);
        if (rc != 0) {
            fail("pin L3", rc);
        }
        if ((rc = ext(MMUEXT_NEW_BASEPTR, l3)) != 0) {
            fail("new baseptr", rc);
        }
        volatile uint32_t *user = (volatile uint32_t *)USER_VA;
        for (int i = 0; i < NPAGES; i++) {
            user[i * 1024] = (uint32_t)(r << 8 | i);
        }
        /* Remap: page i now shows data[NPAGES-1-i], in one batch. */
        struct mmu_update req[NPAGES];
        for (int i = 0; i < NPAGES; i++) {
            req[i].ptr = ((uint64_t)l1u << 12) + 8 * i;
            req[i].val = ((uint64_t)data[NPAGES - 1 - i] << 12) | PTE_P | PTE_RW | PTE_US
                         | PTE_A | PTE_D;
        }
        uint32_t done = 0;
        rc = PV_HYPERCALL(__HYPERVISOR_mmu_update, req, NPAGES, &done, DOMID_SELF);
        if (rc != 0 || done != NPAGES) {
            fail("mmu_update", rc);
        }
        remaps += NPAGES;
        ext(MMUEXT_TLB_FLUSH_LOCAL, 0);
        for (int i = 0; i < NPAGES; i++) {
            if (user[i * 1024] != (uint32_t)(r << 8 | (NPAGES - 1 - i))) {
                pv_printf("pv-pagetables: round %ld page %d reads %x\n", r, i, user[i * 1024]);
                pv_shutdown(SHUTDOWN_crash);
            }
        }
        if ((rc = ext(MMUEXT_NEW_BASEPTR, boot_l3_mfn)) != 0) {
            fail("back to the boot tables", rc);
        }
        if ((rc = ext(MMUEXT_UNPIN_TABLE, l3)) != 0) {
            fail("unpin L3", rc);
        }
    }
    pv_printf("pv-pagetables: %ld address spaces built, pinned, used and torn down;"
              " %ld pages remapped\n", rounds, remaps);
    return 0;
}
