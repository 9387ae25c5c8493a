/*
 * pv-traps: a classic PV32 guest kernel that checks ring compression from the inside. In ring 1
 * it takes a #PF and a #GP to its own handlers (Xen's bounce frames), enters ring 3 through the
 * iret hypercall and makes an int 0x80 system call through its virtual IDT, has an int 0x81
 * (kernel-only gate) refused from ring 3 with #GP(0x40a), reads the Xen CPUID leaves through
 * the forced-emulation prefix, sleeps on a timer event delivered through the event callback,
 * and tries what a hostile kernel would (set_gdt, update_descriptor, set_trap_table abuse).
 * It loads an LDT with MMUEXT_SET_LDT (a selector with TI=1 faults before) and reads through
 * an LDT data segment. From ring 3 it also makes a SYSENTER: first with no sysenter callback (Xen gives #GP(0)),
 * then through the callback it registers with callback_op, events masked.
 */
#include <hospes/xen.h>
#include <hospes/pv.h>

extern void (*pv_trap_hook)(struct pv_frame *f);
extern void (*pv_event_hook)(uint32_t port);

static volatile int stage;
/* How long the instruction is that a ring-1 #GP is expected on (hlt by default). */
static volatile uint32_t gp_skip = 1;
static volatile uint32_t seen_cr2;
static char user_stack[4096] __attribute__((aligned(16)));
static char desc_page[4096] __attribute__((aligned(4096)));

#define PROBE_VA 0x10000000u   /* never mapped */

/* callback_register (x86_32): type, flags, then xen_callback_t {cs, eip}. */
struct sysenter_callback {
    uint16_t type, flags;
    uint32_t cs, eip;
};
#define CALLBACKOP_REGISTER 0
#define CALLBACKTYPE_SYSENTER 5
#define CALLBACKF_MASK_EVENTS 1

/* SYSENTER with the caller's EIP in EDX and ESP in ECX (Linux's convention); EAX comes back. */
static uint32_t user_sysenter(uint32_t eax)
{
    __asm__ volatile("pushl %%ebp\n"
                     "movl %%esp, %%ecx\n"
                     "movl $1f, %%edx\n"
                     "sysenter\n"
                     "1: popl %%ebp" : "+a"(eax) : : "ecx", "edx", "memory");
    return eax;
}

static void user_main(void)
{
    /* Ring 3: flat user data segments, then the system calls. */
    __asm__ volatile("movl %0, %%eax; movl %%eax, %%ds; movl %%eax, %%es"
                     :: "i"(FLAT_RING3_DS) : "eax");
    /* No sysenter callback yet: #GP(0), which the kernel turns into the callback's answer. */
    uint32_t r1 = user_sysenter(7);
    /* The kernel registers the callback (an int 0x80 asks it to), then SYSENTER reaches it. */
    __asm__ volatile("movl $1, %%eax; int $0x80" ::: "eax", "memory");
    uint32_t r2 = user_sysenter(8);
    __asm__ volatile("int $0x80" : : "a"(100 + r1), "b"(r2) : "memory");
    __asm__ volatile("movl $42, %%eax; int $0x80" ::: "eax", "memory");
    /* A kernel-only gate: #GP(0x81 << 3 | 2). */
    __asm__ volatile("int $0x81" ::: "memory");
    for (;;) {
    }
}

static char nx_page[4096] __attribute__((aligned(4096)));
static volatile uint32_t nx_error = 0xffffffffu, nx_cr2;

static void trap(struct pv_frame *f)
{
    uint32_t cs = f->cs & 0xffff;
    switch (f->vector) {
    case 14:
        if (f->eip == (uint32_t)nx_page) {
            /* The fetch of the NX page (nx below): back to the JMP's target in ECX. */
            nx_error = f->error;
            nx_cr2 = pv_shared_info->vcpu_info[0].arch.cr2;
            f->eip = f->ecx;
            return;
        }
        seen_cr2 = pv_shared_info->vcpu_info[0].arch.cr2;
        pv_printf("#PF error %x cr2 %08x from ring %u (upcall mask %u)\n", f->error,
                  (unsigned)seen_cr2, cs & 3, (f->cs >> 16) & 0xff);
        f->eip += 2;            /* movl (%eax), %eax */
        return;
    case 13:
        if ((cs & 3) == 3 && f->eip == 0) {
            /* SYSENTER without a callback: #GP(0) with sysenter_entry's null frame. */
            pv_printf("#GP error %x from sysenter (frame eip %x cs %x)\n", f->error, f->eip,
                      f->cs & 0xffff);
            f->eax *= 10;
            f->eip = f->edx;
            f->esp = f->ecx;
            f->cs = FLAT_RING3_CS;
            f->ss = FLAT_RING3_DS;
            return;
        }
        pv_printf("#GP error %x from ring %u\n", f->error, cs & 3);
        if ((cs & 3) == 3) {
            pv_printf("back in ring 1 from ring 3; esp %s\n",
                      f->esp > (uint32_t)user_stack && f->esp <= (uint32_t)user_stack + 4096
                          ? "on the user stack" : "elsewhere");
            stage = 3;
            /* Leave user mode for good: continue main on its own stack (longjmp-like). */
            pv_shutdown(SHUTDOWN_poweroff);
        }
        f->eip += gp_skip;
        gp_skip = 1;
        return;
    case 0x80:
        if (f->eax == 1) {
            struct sysenter_callback cb = { CALLBACKTYPE_SYSENTER, CALLBACKF_MASK_EVENTS,
                                            FLAT_KERNEL_CS, (uint32_t)pv_sysenter_entry };
            pv_printf("callback_op register sysenter: %ld\n",
                      PV_HYPERCALL(__HYPERVISOR_callback_op, CALLBACKOP_REGISTER, &cb));
            return;
        }
        if (f->eax >= 100) {
            pv_printf("sysenter results: %u through #GP, %u through the callback\n",
                      f->eax - 100, f->ebx);
            return;
        }
        pv_printf("int 0x80 eax %u from ring %u cs %04x ss %04x\n", f->eax, cs & 3, cs,
                  f->ss & 0xffff);
        return;
    case 0xfffffffd:
        /* Xen's sysenter frame: no return address; the caller's are in EDX and ECX. */
        pv_printf("sysenter callback: eax %u, frame eip %x cs %x esp %x ss %04x, upcall mask %u\n",
                  f->eax, f->eip, f->cs & 0xffff, f->esp, f->ss & 0xffff,
                  pv_shared_info->vcpu_info[0].evtchn_upcall_mask);
        f->eax *= 10;
        f->eip = f->edx;
        f->esp = f->ecx;
        f->cs = FLAT_RING3_CS;
        f->ss = FLAT_RING3_DS;
        return;
    case 0xfffffffe: {
        /* The failsafe callback: {ds, es, fs, gs, eip, cs, eflags} where the trap frame was. */
        const uint32_t *w = &f->eip;
        pv_printf("failsafe callback: could not enter %04x:%08x\n", w[5] & 0xffff,
                  (unsigned)w[4]);
        pv_shutdown(SHUTDOWN_crash);
    }
    default:
        pv_printf("unexpected trap %u error %x at %08x\n", f->vector, f->error, f->eip);
        pv_shutdown(SHUTDOWN_crash);
    }
}

static char ldt_page[4096] __attribute__((aligned(4096)));
static volatile uint32_t ldt_probe = 0x1dc0ffee;
#define MMUEXT_SET_LDT 13

/* No LDT: FS <- 0x0f is #GP(0x0c). Then a one-descriptor LDT, read-only, and FS reads through it. */
static void ldt(void)
{
    gp_skip = 2;                                   /* mov %eax, %fs */
    __asm__ volatile("movl $0x0f, %%eax; movl %%eax, %%fs" ::: "eax", "memory");
    volatile uint32_t *d = (volatile uint32_t *)ldt_page;
    d[2] = 0x0000ffff;                             /* entry 1: flat data, DPL 3, accessed */
    d[3] = 0x00cff300;
    uint64_t pte = ((uint64_t)pv_mfn_of(ldt_page) << 12) | PTE_P | PTE_A;
    long remap = PV_HYPERCALL(__HYPERVISOR_update_va_mapping, (uint32_t)ldt_page, (uint32_t)pte,
                              (uint32_t)(pte >> 32), UVMF_INVLPG);
    struct mmuext_op op = { MMUEXT_SET_LDT, (uint32_t)ldt_page, 2 };
    long set = PV_HYPERCALL(__HYPERVISOR_mmuext_op, &op, 1, 0, DOMID_SELF);
    uint32_t v, sel;
    __asm__ volatile("movl $0x0f, %%eax; movl %%eax, %%fs; movl %%fs:(%2), %0; sldt %1"
                     : "=r"(v), "=r"(sel) : "r"(&ldt_probe) : "eax", "memory");
    __asm__ volatile("movl %0, %%fs" :: "r"(0) : "memory");
    struct mmuext_op none = { MMUEXT_SET_LDT, 0, 0 };
    long unset = PV_HYPERCALL(__HYPERVISOR_mmuext_op, &none, 1, 0, DOMID_SELF);
    pv_printf("ldt: remap read-only %ld, set_ldt %ld; fs 000f reads %08x, sldt %04x; unset %ld\n",
              remap, set, v, sel & 0xffff, unset);
}

/*
 * NX, which Xen lets a PV guest put in its L1 entries (its PV vCPUs run with EFER.NXE): a page
 * of ours holding "jmp *%ecx", remapped with NX, reads as data, but a jump into it is a #PF
 * with I/D (0x10) and P, the page's address in CR2; remapped without NX, the jump runs it.
 */
static void nx(void)
{
    nx_page[0] = (char)0xff;                       /* jmp *%ecx */
    nx_page[1] = (char)0xe1;
    uint64_t pte = ((uint64_t)pv_mfn_of(nx_page) << 12) | PTE_P | PTE_RW | PTE_A | PTE_D;
    uint64_t nxpte = pte | 1ull << 63;
    long set = PV_HYPERCALL(__HYPERVISOR_update_va_mapping, (uint32_t)nx_page, (uint32_t)nxpte,
                            (uint32_t)(nxpte >> 32), UVMF_INVLPG);
    uint32_t byte = *(volatile uint8_t *)nx_page;
    __asm__ volatile("movl $1f, %%ecx; jmp *%%eax; 1:" :: "a"(nx_page) : "ecx", "memory");
    uint32_t faulted = nx_error, cr2_ok = nx_cr2 == (uint32_t)nx_page;
    nx_error = 0xffffffffu;
    long unset = PV_HYPERCALL(__HYPERVISOR_update_va_mapping, (uint32_t)nx_page, (uint32_t)pte,
                              (uint32_t)(pte >> 32), UVMF_INVLPG);
    __asm__ volatile("movl $1f, %%ecx; jmp *%%eax; 1:" :: "a"(nx_page) : "ecx", "memory");
    pv_printf("nx: map with NX %ld, reads %02x, jump in: #PF error %x (cr2 the page: %s); without"
              " NX %ld, jump in: %s\n", set, byte, faulted, cr2_ok ? "yes" : "no", unset,
              nx_error == 0xffffffffu ? "runs" : "faults");
}

static volatile int timer_events;

static void event(uint32_t port)
{
    (void)port;
    timer_events++;
}

static void hostile(void)
{
    long rc;
    /* set_gdt: more entries than the guest may have. */
    uint32_t frames[16] = { pv_mfn_of(desc_page) };
    rc = PV_HYPERCALL(__HYPERVISOR_set_gdt, frames, FIRST_RESERVED_GDT_ENTRY + 1);
    pv_printf("set_gdt too many entries: %ld\n", rc);
    /* set_gdt: a frame the guest maps writable cannot become a descriptor page. */
    rc = PV_HYPERCALL(__HYPERVISOR_set_gdt, frames, 512);
    pv_printf("set_gdt writable frame: %ld\n", rc);
    /* set_gdt: the L3 (a page table) and a frame that is not ours (mfn 0). */
    frames[0] = pv_mfn_of((void *)pv_start_info->pt_base);
    pv_printf("set_gdt page-table frame: %ld\n",
              PV_HYPERCALL(__HYPERVISOR_set_gdt, frames, 512));
    frames[0] = 0;
    pv_printf("set_gdt foreign frame: %ld\n", PV_HYPERCALL(__HYPERVISOR_set_gdt, frames, 512));

    uint64_t ma = ((uint64_t)pv_mfn_of(desc_page) << 12) + 16;
    /* A DPL-0 flat code descriptor is stored with DPL 1 (Xen's fixup). */
    rc = PV_HYPERCALL(__HYPERVISOR_update_descriptor, (uint32_t)ma, (uint32_t)(ma >> 32),
                      0x0000ffff, 0x00cf9a00);
    pv_printf("update_descriptor DPL0 code: %ld, stored DPL %u\n", rc,
              (((volatile uint32_t *)desc_page)[5] >> 13) & 3);
    /* A call gate to FLAT_RING1_CS, DPL 3: stored with DPL 0, the DPL kept in the RPL. */
    rc = PV_HYPERCALL(__HYPERVISOR_update_descriptor, (uint32_t)ma + 8, (uint32_t)(ma >> 32),
                      (FLAT_RING1_CS << 16) | 0x1000, 0x0000ec00);
    pv_printf("update_descriptor call gate: %ld, stored DPL %u selector %04x\n", rc,
              (((volatile uint32_t *)desc_page)[7] >> 13) & 3,
              ((volatile uint32_t *)desc_page)[6] >> 16);
    /* A call gate into Xen's own ring-0 code segment (0xe008) is refused. */
    pv_printf("update_descriptor gate to xen cs: %ld\n",
              PV_HYPERCALL(__HYPERVISOR_update_descriptor, (uint32_t)ma + 8,
                           (uint32_t)(ma >> 32), (0xe008 << 16) | 0x1000, 0x0000ec00));
    /* A TSS descriptor, an interrupt gate, a 64-bit code segment: refused. */
    pv_printf("update_descriptor tss: %ld\n",
              PV_HYPERCALL(__HYPERVISOR_update_descriptor, (uint32_t)ma, 0, 0x0000ffff,
                           0x00008900));
    pv_printf("update_descriptor interrupt gate: %ld\n",
              PV_HYPERCALL(__HYPERVISOR_update_descriptor, (uint32_t)ma, 0, 0xe0191000,
                           0x0000ee00));
    pv_printf("update_descriptor 64-bit code: %ld\n",
              PV_HYPERCALL(__HYPERVISOR_update_descriptor, (uint32_t)ma, 0, 0x0000ffff,
                           0x00af9a00));
    pv_printf("update_descriptor misaligned: %ld\n",
              PV_HYPERCALL(__HYPERVISOR_update_descriptor, (uint32_t)ma + 4, 0, 0, 0));
    /* Into a page table: never. */
    uint64_t l3 = (uint64_t)pv_mfn_of((void *)pv_start_info->pt_base) << 12;
    pv_printf("update_descriptor into the L3: %ld\n",
              PV_HYPERCALL(__HYPERVISOR_update_descriptor, (uint32_t)l3, 0, 0x0000ffff,
                           0x00cf9a00));
    /* vm_assist: writable page tables are not offered, PAE extended CR3 is. */
    pv_printf("vm_assist writable_pagetables: %ld, pae_extended_cr3: %ld\n",
              PV_HYPERCALL(__HYPERVISOR_vm_assist, 0, VMASST_TYPE_writable_pagetables),
              PV_HYPERCALL(__HYPERVISOR_vm_assist, 0, VMASST_TYPE_pae_extended_cr3));
    /* Writing the M2P, in the hypervisor's area: the PV MMU has no L1 of ours there. */
    uint64_t pte = ((uint64_t)pv_mfn_of(desc_page) << 12) | PTE_P | PTE_RW;
    pv_printf("update_va_mapping in the hypervisor hole: %ld\n",
              PV_HYPERCALL(__HYPERVISOR_update_va_mapping, MACH2PHYS_VIRT_START,
                           (uint32_t)pte, 0, UVMF_INVLPG));
}

int strcmp(const char *a, const char *b);

/* A hostile virtual IDT: Xen takes any selector (RPL 0 becomes 1); using it fails later. */
static void bad_trap_table(uint16_t cs)
{
    struct trap_info t[2] = { { 0x80, 3, cs, pv_trap_stubs[0x80] }, { 0, 0, 0, 0 } };
    pv_printf("set_trap_table int 0x80 -> %04x: %ld\n", cs,
              PV_HYPERCALL(__HYPERVISOR_set_trap_table, t));
    __asm__ volatile("int $0x80" ::: "memory");
    pv_printf("int 0x80 returned\n");
}

int main(void)
{
    pv_trap_hook = trap;
    pv_event_hook = event;
    if (strcmp(pv_start_info->cmd_line, "bad-trap-xen-cs") == 0) {
        bad_trap_table(0xe008);     /* Xen's own ring-0 code segment */
    } else if (strcmp(pv_start_info->cmd_line, "bad-trap-null-cs") == 0) {
        bad_trap_table(0);
    }
    pv_printf("pv-traps: %s, %u pages, kernel in ring %u\n", pv_start_info->magic,
              pv_start_info->nr_pages, 1);

    uint32_t a = 0x40000000, b, c, d;
    __asm__ volatile("ud2a; .ascii \"xen\"; cpuid" : "+a"(a), "=b"(b), "=c"(c), "=d"(d));
    char sig[13];
    ((uint32_t *)sig)[0] = b;
    ((uint32_t *)sig)[1] = c;
    ((uint32_t *)sig)[2] = d;
    sig[12] = 0;
    pv_printf("forced cpuid: %s max leaf %08x\n", sig, a);

    /* #PF in ring 1. */
    uint32_t probe = PROBE_VA;
    __asm__ volatile("movl (%0), %0" : "+a"(probe) :: "memory");
    /* #GP in ring 1: HLT is privileged and Xen does not emulate it. */
    __asm__ volatile("hlt" ::: "memory");
    pv_printf("resumed after #PF and #GP\n");

    /* Port I/O: #GP until physdev_op set_iopl lets ring 1 have it, then emulated. */
    uint32_t al = 0;
    gp_skip = 2;
    __asm__ volatile("inb $0x71, %%al" : "+a"(al) :: "memory");
    uint32_t iopl = 4;
    long bad = PV_HYPERCALL(__HYPERVISOR_physdev_op, PHYSDEVOP_set_iopl, &iopl);
    iopl = 1;
    long ok = PV_HYPERCALL(__HYPERVISOR_physdev_op, PHYSDEVOP_set_iopl, &iopl);
    uint32_t idx = 0x8f, p70 = 0, p71 = 0, cf8 = 0x80000010;
    __asm__ volatile("outb %%al, $0x70; inb $0x70, %%al" : "+a"(idx) :: "memory");
    p70 = idx & 0xff;
    __asm__ volatile("inb $0x71, %%al" : "+a"(p71) :: "memory");
    __asm__ volatile("movw $0xcf8, %%dx; outl %%eax, %%dx; xorl %%eax, %%eax; inl %%dx, %%eax"
                     : "+a"(cf8) :: "edx", "memory");
    __asm__ volatile("cli; sti" ::: "memory");
    pv_printf("set_iopl 4: %ld, set_iopl 1: %ld; port 0x70 reads %02x, 0x71 %02x, 0xcf8 %08x\n",
              bad, ok, p70, p71 & 0xff, cf8);
    /* Control registers as Xen shows them to a PV kernel. */
    uint32_t cr0a, cr0b, cr0c, cr3;
    __asm__ volatile("movl %%cr0, %0" : "=r"(cr0a));
    PV_HYPERCALL(__HYPERVISOR_fpu_taskswitch, 1);
    __asm__ volatile("movl %%cr0, %0" : "=r"(cr0b));
    __asm__ volatile("clts; movl %%cr0, %0" : "=r"(cr0c));
    __asm__ volatile("movl %%cr3, %0" : "=r"(cr3));
    pv_printf("cr0.ts %u/%u/%u, cr3 is the L3's frame: %s\n", (cr0a >> 3) & 1, (cr0b >> 3) & 1,
              (cr0c >> 3) & 1,
              cr3 >> 12 == pv_mfn_of((void *)pv_start_info->pt_base) ? "yes" : "no");

    /* An event: a timer 1 ms ahead, then block with events enabled. */
    struct evtchn_bind_virq bind = { VIRQ_TIMER, 0, 0 };
    long rc = PV_HYPERCALL(__HYPERVISOR_event_channel_op, EVTCHNOP_bind_virq, &bind);
    volatile struct vcpu_time_info *t = &pv_shared_info->vcpu_info[0].time;
    uint64_t deadline = t->system_time + 1000000;
    PV_HYPERCALL(__HYPERVISOR_set_timer_op, (uint32_t)deadline, (uint32_t)(deadline >> 32));
    while (timer_events == 0) {
        PV_HYPERCALL(__HYPERVISOR_sched_op, SCHEDOP_block, 0);
    }
    pv_printf("timer event on port %u through the event callback (bind %ld)\n", bind.port, rc);
    pv_shared_info->vcpu_info[0].evtchn_upcall_mask = 1;

    hostile();
    ldt();
    nx();

    /* Ring 3 and back. */
    pv_enter_user((uint32_t)user_main, (uint32_t)user_stack + sizeof(user_stack));
}
