/*
 * The classic PV32 (PAE) interface of Xen's public headers, as far as Hospes's PV guest
 * runtime uses it: start_info, the virtual IDT, the PV MMU and the PV-only hypercalls
 * (xen.h, arch-x86/xen-x86_32.h). The kernel runs in ring 1; its hypercalls go through the
 * hypercall page (mov $nr,%eax; int $0x82; ret).
 */
#ifndef HOSPES_PV_H
#define HOSPES_PV_H

#include <hospes/types.h>
#include <hospes/xen.h>

#define __HYPERVISOR_set_trap_table     0
#define __HYPERVISOR_mmu_update         1
#define __HYPERVISOR_set_gdt            2
#define __HYPERVISOR_stack_switch       3
#define __HYPERVISOR_set_callbacks      4
#define __HYPERVISOR_fpu_taskswitch     5
#define __HYPERVISOR_update_descriptor 10
#define __HYPERVISOR_memory_op         12
#define __HYPERVISOR_update_va_mapping 14
#define __HYPERVISOR_set_timer_op      15
#define __HYPERVISOR_xen_version       17
#define __HYPERVISOR_console_io        18
#define __HYPERVISOR_vm_assist         21
#define __HYPERVISOR_iret              23
#define __HYPERVISOR_mmuext_op         26
#define __HYPERVISOR_sched_op          29
#define __HYPERVISOR_callback_op 30
#define __HYPERVISOR_event_channel_op  32
#define __HYPERVISOR_physdev_op        33

/* Xen's flat segments for a PV32 guest (arch-x86/xen-x86_32.h). */
#define FLAT_RING1_CS 0xe019
#define FLAT_RING1_DS 0xe021
#define FLAT_RING3_CS 0xe02b
#define FLAT_RING3_DS 0xe033
#define FLAT_KERNEL_CS FLAT_RING1_CS
#define FLAT_KERNEL_DS FLAT_RING1_DS
#define FIRST_RESERVED_GDT_ENTRY (14 * 512)

#define HYPERVISOR_VIRT_START 0xf5800000u
#define MACH2PHYS_VIRT_START  0xf5800000u

/* start_info (x86_32, 1112 bytes). */
struct start_info {
    char magic[32];
    uint32_t nr_pages;
    uint32_t shared_info;            /* machine address */
    uint32_t flags;
    uint32_t store_mfn;
    uint32_t store_evtchn;
    uint32_t console_mfn;
    uint32_t console_evtchn;
    uint32_t pt_base;                /* virtual address of the L3 */
    uint32_t nr_pt_frames;
    uint32_t mfn_list;               /* virtual address of the P2M list */
    uint32_t mod_start;
    uint32_t mod_len;
    char cmd_line[1024];
    uint32_t first_p2m_pfn;
    uint32_t nr_p2m_frames;
};

/* trap_info (x86_32): flags bits 1:0 DPL, bit 2 masks events on entry. */
struct trap_info {
    uint8_t vector;
    uint8_t flags;
    uint16_t cs;
    uint32_t address;
};

struct mmu_update {
    uint64_t ptr;                    /* machine address of the entry | command */
    uint64_t val;
};
#define MMU_NORMAL_PT_UPDATE 0
#define MMU_MACHPHYS_UPDATE  1

struct mmuext_op {
    uint32_t cmd;
    uint32_t arg1;                   /* mfn or linear address */
    uint32_t arg2;
};
#define MMUEXT_PIN_L1_TABLE     0
#define MMUEXT_PIN_L2_TABLE     1
#define MMUEXT_PIN_L3_TABLE     2
#define MMUEXT_UNPIN_TABLE      4
#define MMUEXT_NEW_BASEPTR      5
#define MMUEXT_TLB_FLUSH_LOCAL  6
#define MMUEXT_INVLPG_LOCAL     7

#define UVMF_NONE      0
#define UVMF_TLB_FLUSH 1
#define UVMF_INVLPG    2

#define DOMID_SELF 0x7ff0

#define PTE_P  0x001ull
#define PTE_RW 0x002ull
#define PTE_US 0x004ull
#define PTE_A  0x020ull
#define PTE_D  0x040ull

#define PHYSDEVOP_set_iopl 6
#define VMASST_TYPE_writable_pagetables 2
#define VMASST_TYPE_pae_extended_cr3    3

extern char hypercall_page[4096];

/* Hypercalls with up to five arguments; nr must be a constant. */
#define _pv_hypercall(nr, a1, a2, a3, a4, a5) ({                                  \
    long __res, __b = (long)(a1), __c = (long)(a2), __d = (long)(a3),              \
         __s = (long)(a4), __di = (long)(a5);                                      \
    __asm__ volatile("call hypercall_page + %c[off]"                               \
                     : "=a"(__res), "+b"(__b), "+c"(__c), "+d"(__d), "+S"(__s),    \
                       "+D"(__di)                                                  \
                     : [off] "i"((nr) * 32)                                        \
                     : "memory");                                                  \
    __res; })

#define PV_HYPERCALL(nr, ...) _pv_hypercall_n(nr, ##__VA_ARGS__, 0, 0, 0, 0, 0)
#define _pv_hypercall_n(nr, a1, a2, a3, a4, a5, ...) _pv_hypercall(nr, a1, a2, a3, a4, a5)

/* The start of day both PV runtimes share (pv-boot.c). */
extern struct start_info *pv_start_info;
/* Machine frame of a virtual address in the boot mapping (through the P2M list). */
uint32_t pv_mfn_of(const void *va);
/* The L1 entry's machine address for va, in the boot page tables. */
uint64_t pv_l1e_ma(const void *va);
/* The first virtual address past the builder's boot mapping. */
uint32_t pv_boot_end(void);
/* Frames past the boot area the guest may use as it likes: [first, nr_pages). */
uint32_t pv_first_free_pfn(void);
void *pv_pfn_to_va(uint32_t pfn);
uint32_t pv_va_to_pfn(const void *va);
uint32_t pv_pfn_to_mfn(uint32_t pfn);
/* A machine frame's virtual address, through the read-only M2P table. */
void *pv_mfn_to_va(uint32_t mfn);
long pv_update_va_mapping(const void *va, uint64_t pte);
/*
 * Records si as pv_start_info; registers the trap table (vectors 0-31 to pv_trap_stubs, plus
 * up to 8 extra entries), the ring-1 stack, the event and failsafe callbacks; maps shared_info
 * at shared_info_page. 0, or -1 (traps and callbacks) or -2 (shared_info) on failure.
 */
int pv_boot(struct start_info *si, const struct trap_info *extra, int n_extra,
            void *kernel_stack_top, void *shared_info_page);

/* The bare runtime (pv-runtime.c, make pv); SDK programs use printf and guest_shutdown. */
extern volatile struct shared_info *pv_shared_info;
int pv_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pv_shutdown(unsigned reason) __attribute__((noreturn));

/* Trap entry stubs (pv-traps.S) and the frame they give C handlers. */
struct pv_frame {
    uint32_t edi, esi, ebp, esp0, ebx, edx, ecx, eax;
    uint32_t vector, error;
    uint32_t eip, cs, eflags, esp, ss;   /* esp, ss only from ring 3 */
};
/* Called by the stubs; returns normally to resume through the iret hypercall. */
void pv_trap(struct pv_frame *f);
void pv_event(struct pv_frame *f);
extern uint32_t pv_trap_stubs[256];
void pv_event_entry(void);
void pv_failsafe_entry(void);
/* A sysenter callback: pv_trap sees vector -3 and a frame with EIP 0 and ESP 0 (Xen saves no
 * return address); by convention the caller left its EIP in EDX and its ESP in ECX. */
void pv_sysenter_entry(void);
/* Enters ring 3 at eip with esp, through the iret hypercall. */
void pv_enter_user(uint32_t eip, uint32_t esp) __attribute__((noreturn));

#endif
