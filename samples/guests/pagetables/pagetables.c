/*
 * pagetables: the page-table work of samples/guests/pv-pagetables, as a PVH (or HVM) guest
 * that owns its MMU, so the same pattern can be measured under EPT, shadow paging and the PV
 * MMU. Each round fills a fresh address space's tables in four frames (an L1 mapping 16 pages,
 * a user L2, a copy of the kernel's L2, an L3: the same 1,540 entries the PV sample writes),
 * switches to it with MOV CR3, writes the user pages, remaps all 16 by rewriting their PTEs,
 * flushes the TLB (MOV CR3 again), checks what it reads, and switches back. Where the PV guest
 * asks the hypervisor (pin, new base pointer, mmu_update, flush, unpin), this one writes its
 * tables and CR3 itself: EPT lets it, shadow paging traps and rebuilds.
 *
 * The kernel runs on an identity map of its 16 MiB (4 KiB pages, as the PV guest's boot
 * tables) built at start; paging is off at PVH entry. cmdline: the number of rounds (default 100).
 */
#include <hospes/guest.h>

#define USER_VA   0x40400000u   /* L3 slot 1: the identity-mapped kernel keeps slot 0 */
#define NPAGES    16

#define PTE_P  0x001ull
#define PTE_RW 0x002ull
#define PTE_US 0x004ull
#define PTE_A  0x020ull
#define PTE_D  0x040ull

#define ID_MIB    16            /* identity-mapped RAM, with 4 KiB pages */

static uint64_t boot_l3[512] __attribute__((aligned(4096)));
static uint64_t boot_l2k[512] __attribute__((aligned(4096)));
static uint64_t boot_l1k[ID_MIB / 2][512] __attribute__((aligned(4096)));

static inline void write_cr3(uint32_t v)
{
    __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

/* PAE paging over the identity map (boot_l3 slot 0 = boot_l2k). */
static void paging_on(void)
{
    for (int t = 0; t < ID_MIB / 2; t++) {
        for (int i = 0; i < 512; i++) {
            boot_l1k[t][i] = ((uint64_t)(t * 512 + i) << 12) | PTE_P | PTE_RW | PTE_A | PTE_D;
        }
        boot_l2k[t] = (uint32_t)boot_l1k[t] | PTE_P | PTE_RW | PTE_A;
    }
    boot_l3[0] = (uint32_t)boot_l2k | PTE_P;
    uint32_t cr0, cr4;
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    __asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | (1u << 5)) : "memory"); /* PAE */
    write_cr3((uint32_t)boot_l3);
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    __asm__ volatile("mov %0, %%cr0" : : "r"(cr0 | 0x80000000u) : "memory"); /* PG */
}

int main(const struct hvm_start_info *si)
{
    guest_require_xen("pagetables");
    (void)si;
    const char *cmd = guest_cmdline();
    long rounds = *cmd ? strtol(cmd, 0, 10) : 100;
    paging_on();
    uint64_t *l3 = page_alloc(1), *l2k = page_alloc(1), *l2u = page_alloc(1), *l1u = page_alloc(1);
    char *data = page_alloc(NPAGES);
    if (!l3 || !l2k || !l2u || !l1u || !data) {
        printf("pagetables: not enough memory\n");
        return 1;
    }
    long remaps = 0;
    for (long r = 0; r < rounds; r++) {
        for (int i = 0; i < 512; i++) {
            l1u[i] = i < NPAGES
                ? (uint32_t)(data + i * 4096) | PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D : 0;
        }
        for (int i = 0; i < 512; i++) {
            l2u[i] = i == ((USER_VA >> 21) & 511) ? (uint32_t)l1u | PTE_P | PTE_RW | PTE_US | PTE_A
                                                  : 0;
        }
        for (int i = 0; i < 512; i++) {
            l2k[i] = boot_l2k[i];
        }
        for (int i = 0; i < 512; i++) {
            l3[i] = 0;
        }
        l3[0] = (uint32_t)l2k | PTE_P;
        l3[1] = (uint32_t)l2u | PTE_P;
        write_cr3((uint32_t)l3);
        volatile uint32_t *user = (volatile uint32_t *)USER_VA;
        for (int i = 0; i < NPAGES; i++) {
            user[i * 1024] = (uint32_t)(r << 8 | i);
        }
        /* Remap: page i now shows data page NPAGES-1-i. */
        for (int i = 0; i < NPAGES; i++) {
            l1u[i] = (uint32_t)(data + (NPAGES - 1 - i) * 4096) | PTE_P | PTE_RW | PTE_US | PTE_A
                     | PTE_D;
        }
        remaps += NPAGES;
        write_cr3((uint32_t)l3);
        for (int i = 0; i < NPAGES; i++) {
            if (user[i * 1024] != (uint32_t)(r << 8 | (NPAGES - 1 - i))) {
                printf("pagetables: round %ld page %d reads %x\n", r, i, user[i * 1024]);
                return 1;
            }
        }
        write_cr3((uint32_t)boot_l3);
    }
    printf("pagetables: %ld address spaces built, switched to, used and torn down;"
           " %ld pages remapped\n", rounds, remaps);
    return 0;
}
