/*
 * The runtime of Hospes's classic PV32 guests: from start_info to main(). It registers the
 * virtual IDT (set_trap_table), the ring-1 stack for traps from ring 3 (stack_switch) and the
 * event and failsafe callbacks (set_callbacks); maps shared_info with update_va_mapping; and
 * writes the console ring found through start_info (its MFN, turned into a virtual address
 * through the read-only M2P table at MACH2PHYS_VIRT_START and the boot mapping).
 */
#include <hospes/xen.h>
#include <hospes/pv.h>

#define VIRT_BASE 0xC0000000u

int main(void);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

struct start_info *pv_start_info;
volatile struct shared_info *pv_shared_info;
static char shared_info_page[4096] __attribute__((aligned(4096), section(".bss.page")));
static char kernel_stack[8192] __attribute__((aligned(16)));
static volatile struct xencons_interface *console;

/* Handlers a guest may set; NULL means "report and shut down". */
void (*pv_trap_hook)(struct pv_frame *f);
void (*pv_event_hook)(uint32_t port);

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

/* The boot tables map [VIRT_BASE, end of boot area) with one L1 per 2 MiB, in pt_base order. */
uint64_t pv_l1e_ma(const void *va)
{
    const uint64_t *l3 = (const uint64_t *)pv_start_info->pt_base;
    uint32_t a = (uint32_t)va;
    uint64_t l3e = l3[a >> 30];
    uint32_t l2pfn = m2p()[(uint32_t)(l3e >> 12)];
    const uint64_t *l2 = pv_pfn_to_va(l2pfn);
    uint64_t l2e = l2[(a >> 21) & 511];
    return (l2e & ~0xfffull) + 8 * ((a >> 12) & 511);
}

uint32_t pv_first_free_pfn(void)
{
    /* The boot area ends 512 KiB past the stack, on a 4 MiB boundary (xc_dom_x86.c). */
    uint32_t stack = pv_start_info->pt_base + 4096 * pv_start_info->nr_pt_frames;
    uint32_t end = (stack + 4096 + (512 << 10) + (4 << 20) - 1) & ~((4u << 20) - 1);
    return (end - VIRT_BASE) >> 12;
}

static void console_write(const char *s, int n)
{
    if (!console) {
        PV_HYPERCALL(__HYPERVISOR_console_io, 0, n, s);
        return;
    }
    while (n > 0) {
        uint32_t prod = console->out_prod;
        uint32_t space = sizeof(console->out) - (prod - console->out_cons);
        if (space == 0) {
            PV_HYPERCALL(__HYPERVISOR_sched_op, SCHEDOP_yield, 0);
            continue;
        }
        while (space > 0 && n > 0) {
            console->out[prod++ & (sizeof(console->out) - 1)] = *s++;
            space--;
            n--;
        }
        __asm__ volatile("" ::: "memory");
        console->out_prod = prod;
        struct evtchn_send send = { pv_start_info->console_evtchn };
        PV_HYPERCALL(__HYPERVISOR_event_channel_op, EVTCHNOP_send, &send);
    }
}

int pv_printf(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(buf) - 1) {
        n = sizeof(buf) - 1;
    }
    console_write(buf, n);
    return n;
}

void pv_shutdown(unsigned reason)
{
    /* Let dom0's console backend take the ring's last bytes first. */
    for (int i = 0; console && console->out_cons != console->out_prod && i < 1000; i++) {
        PV_HYPERCALL(__HYPERVISOR_sched_op, SCHEDOP_yield, 0);
    }
    struct sched_shutdown s = { reason };
    for (;;) {
        PV_HYPERCALL(__HYPERVISOR_sched_op, SCHEDOP_shutdown, &s);
    }
}

void pv_trap(struct pv_frame *f)
{
    if (pv_trap_hook) {
        pv_trap_hook(f);
        return;
    }
    pv_printf("unexpected trap %d error %#x at %04x:%08x\n", (int)f->vector, f->error,
              f->cs & 0xffff, f->eip);
    pv_shutdown(SHUTDOWN_crash);
}

/* The event callback: 2-level scan of pending_sel, then the pending and unmasked ports. */
void pv_event(struct pv_frame *f)
{
    (void)f;
    volatile struct vcpu_info *vi = &pv_shared_info->vcpu_info[0];
    vi->evtchn_upcall_pending = 0;
    uint32_t sel = __atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
    while (sel) {
        int w = __builtin_ctz(sel);
        sel &= sel - 1;
        uint32_t bits = pv_shared_info->evtchn_pending[w] & ~pv_shared_info->evtchn_mask[w];
        while (bits) {
            int b = __builtin_ctz(bits);
            bits &= bits - 1;
            __atomic_and_fetch(&pv_shared_info->evtchn_pending[w], ~(1u << b),
                               __ATOMIC_SEQ_CST);
            if (pv_event_hook) {
                pv_event_hook(w * 32 + b);
            }
        }
    }
}

void pv_start(struct start_info *si)
{
    pv_start_info = si;
    static struct trap_info traps[36];
    int n = 0;
    for (int v = 0; v < 32; v++) {
        /* #BP and #OF may be raised from ring 3 (int3, into). */
        uint8_t dpl = (v == 3 || v == 4) ? 3 : 0;
        traps[n++] = (struct trap_info){ v, dpl, FLAT_KERNEL_CS, pv_trap_stubs[v] };
    }
    /* The system call gate, callable from ring 3. */
    traps[n++] = (struct trap_info){ 0x80, 3, FLAT_KERNEL_CS, pv_trap_stubs[0x80] };
    /* 0x81 only from the kernel: ring 3 gets #GP. */
    traps[n++] = (struct trap_info){ 0x81, 1, FLAT_KERNEL_CS, pv_trap_stubs[0x81] };
    traps[n] = (struct trap_info){ 0, 0, 0, 0 };
    if (PV_HYPERCALL(__HYPERVISOR_set_trap_table, traps) != 0
        || PV_HYPERCALL(__HYPERVISOR_stack_switch, FLAT_KERNEL_DS,
                        kernel_stack + sizeof(kernel_stack)) != 0
        || PV_HYPERCALL(__HYPERVISOR_set_callbacks, FLAT_KERNEL_CS, pv_event_entry,
                        FLAT_KERNEL_CS, pv_failsafe_entry) != 0) {
        PV_HYPERCALL(__HYPERVISOR_console_io, 0, 22, "pv: trap setup failed\n");
        pv_shutdown(SHUTDOWN_crash);
    }
    /* shared_info over a page of ours: the old frame's writable mapping goes. */
    uint64_t pte = (uint64_t)si->shared_info | PTE_P | PTE_RW | PTE_A | PTE_D;
    if (PV_HYPERCALL(__HYPERVISOR_update_va_mapping, shared_info_page, (uint32_t)pte,
                     (uint32_t)(pte >> 32), UVMF_INVLPG) != 0) {
        PV_HYPERCALL(__HYPERVISOR_console_io, 0, 27, "pv: cannot map shared_info\n");
        pv_shutdown(SHUTDOWN_crash);
    }
    pv_shared_info = (volatile struct shared_info *)shared_info_page;
    console = pv_pfn_to_va(m2p()[si->console_mfn]);
    pv_shutdown(main() == 0 ? SHUTDOWN_poweroff : SHUTDOWN_crash);
}
