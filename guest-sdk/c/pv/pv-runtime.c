/*
 * The bare runtime of Hospes's classic PV32 guests (make pv), for programs about the PV ABI
 * itself: from start_info to main(void). The start of day (trap table, ring-1 stack, callbacks,
 * shared_info) is pv-boot.c's, as in the SDK; this runtime adds the system call gates, a
 * console_write on the ring found through start_info (its MFN, turned into a virtual address
 * through the read-only M2P table) and hooks for the program's own trap and event handlers.
 */
#include <hospes/xen.h>
#include <hospes/pv.h>

int main(void);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

volatile struct shared_info *pv_shared_info;
static char shared_info_page[4096] __attribute__((aligned(4096), section(".bss.page")));
static char kernel_stack[8192] __attribute__((aligned(16)));
static volatile struct xencons_interface *console;

/* Handlers a guest may set; NULL means "report and shut down". */
void (*pv_trap_hook)(struct pv_frame *f);
void (*pv_event_hook)(uint32_t port);

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
    static const struct trap_info gates[] = {
        /* The system call gate, callable from ring 3. */
        { 0x80, 3, FLAT_KERNEL_CS, 0 },
        /* 0x81 only from the kernel: ring 3 gets #GP. */
        { 0x81, 1, FLAT_KERNEL_CS, 0 },
    };
    struct trap_info extra[2] = { gates[0], gates[1] };
    extra[0].address = pv_trap_stubs[0x80];
    extra[1].address = pv_trap_stubs[0x81];
    int rc = pv_boot(si, extra, 2, kernel_stack + sizeof(kernel_stack), shared_info_page);
    if (rc != 0) {
        static const char trap_msg[] = "pv: trap setup failed\n";
        static const char si_msg[] = "pv: cannot map shared_info\n";
        const char *m = rc == -1 ? trap_msg : si_msg;
        PV_HYPERCALL(__HYPERVISOR_console_io, 0, rc == -1 ? sizeof(trap_msg) - 1
                     : sizeof(si_msg) - 1, m);
        pv_shutdown(SHUTDOWN_crash);
    }
    pv_shared_info = (volatile struct shared_info *)shared_info_page;
    console = pv_mfn_to_va(si->console_mfn);
    pv_shutdown(main() == 0 ? SHUTDOWN_poweroff : SHUTDOWN_crash);
}
