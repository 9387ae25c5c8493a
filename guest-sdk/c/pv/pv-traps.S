/*
 * The trap entry stubs, the event, failsafe and sysenter callbacks and the ring-3 entry of
 * Hospes's classic PV32 guests, shared by the SDK (src/entry.S) and the bare PV runtime
 * (pv/pv-head.S). Xen's bounce frame is {[error,] eip, cs, eflags[, esp, ss]}; the stubs push
 * the vector (and a dummy error code) and return through the iret hypercall.
 */
#define IRET_SLOT (23 * 32)

        /* The hypercall page, at the HYPERCALL_PAGE note's address: the PV domain builder
         * fills it. In the SDK's image the hypervisor fills it in ring 0 too (through the MSR
         * its CPUID leaves name), or the runtime with -ENOSYS stubs when there is none. */
        .section .text.hypercall_page, "ax"
        .p2align 12
        .globl  hypercall_page
hypercall_page:
        .fill   4096, 1, 0xcc


        .text
/* Exceptions and the soft interrupts: Xen's bounce frame is {[error,] eip, cs, eflags[, esp, ss]}. */
.macro  STUB n, err
stub_\n:
        .if \err == 0
        pushl   $0
        .endif
        pushl   $\n
        jmp     trap_common
.endm
        .irp n, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,21,22,23,24,25,26,27,28,29,30,31,128,129
        STUB    \n, 0
        .endr
        .irp n, 8,10,11,12,13,14,17
        STUB    \n, 1
        .endr

trap_common:
        pushal
        pushl   %esp
        call    pv_trap
        addl    $4, %esp
        popal
        addl    $8, %esp
        jmp     hypercall_page + IRET_SLOT

        .globl  pv_event_entry
pv_event_entry:
        pushl   $0
        pushl   $-1
        pushal
        pushl   %esp
        call    pv_event
        addl    $4, %esp
        popal
        addl    $8, %esp
        jmp     hypercall_page + IRET_SLOT

        .globl  pv_sysenter_entry
pv_sysenter_entry:
        pushl   $0
        pushl   $-3
        pushal
        pushl   %esp
        call    pv_trap
        addl    $4, %esp
        popal
        addl    $8, %esp
        jmp     hypercall_page + IRET_SLOT

        .globl  pv_failsafe_entry
pv_failsafe_entry:
        pushl   $0
        pushl   $-2
        pushal
        pushl   %esp
        call    pv_trap
1:      jmp     1b

/* pv_enter_user(eip, esp): ring 3 through the iret hypercall. */
        .globl  pv_enter_user
pv_enter_user:
        movl    4(%esp), %eax
        movl    8(%esp), %ecx
        pushl   $0xe033                 /* FLAT_RING3_DS */
        pushl   %ecx
        pushl   $0x202                  /* IF: events unmasked in user mode */
        pushl   $0xe02b                 /* FLAT_RING3_CS */
        pushl   %eax
        xorl    %eax, %eax
        jmp     hypercall_page + IRET_SLOT

        .section .rodata
        .p2align 2
        .globl  pv_trap_stubs
pv_trap_stubs:
        .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        .long   stub_\n
        .endr
        .fill   96, 4, 0
        .long   stub_128
        .long   stub_129
        .fill   126, 4, 0

        .section .note.GNU-stack, "", @progbits
