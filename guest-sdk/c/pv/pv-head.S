/*
 * Entry, Xen PV ELF notes, hypercall page and trap stubs of Hospes's classic PV32 guests.
 * The domain builder starts us in ring 1 at _pv_start with paging on over its boot tables,
 * ESP at the top of its boot stack and ESI = the virtual address of start_info.
 */
#define XEN_ELFNOTE_ENTRY          1
#define XEN_ELFNOTE_HYPERCALL_PAGE 2
#define XEN_ELFNOTE_VIRT_BASE      3
#define XEN_ELFNOTE_PADDR_OFFSET   4
#define XEN_ELFNOTE_XEN_VERSION    5
#define XEN_ELFNOTE_GUEST_OS       6
#define XEN_ELFNOTE_LOADER         8
#define XEN_ELFNOTE_PAE_MODE       9
#define XEN_ELFNOTE_FEATURES      10

#define IRET_SLOT (23 * 32)

.macro  NOTE type, body:vararg
        .p2align 2
        .long   4
        .long   2f - 1f
        .long   \type
        .asciz  "Xen"
1:      \body
2:
.endm

        .section .note.Xen, "a", @note
        NOTE XEN_ELFNOTE_GUEST_OS,       .asciz "Hospes-PV"
        NOTE XEN_ELFNOTE_LOADER,         .asciz "generic"
        NOTE XEN_ELFNOTE_XEN_VERSION,    .asciz "xen-3.0"
        NOTE XEN_ELFNOTE_VIRT_BASE,      .long 0xC0000000
        NOTE XEN_ELFNOTE_PADDR_OFFSET,   .long 0xC0000000
        NOTE XEN_ELFNOTE_ENTRY,          .long _pv_start
        NOTE XEN_ELFNOTE_HYPERCALL_PAGE, .long hypercall_page
        NOTE XEN_ELFNOTE_PAE_MODE,       .asciz "yes"
        NOTE XEN_ELFNOTE_FEATURES,       .asciz "pae_pgdir_above_4gb"

        .section .text.head, "ax"
        .globl  _pv_start
_pv_start:
        cld
        movl    $pv_stack_top, %esp
        pushl   %esi
        call    pv_start
1:      jmp     1b

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

        .bss
        .p2align 12
        .globl  pv_stack_top
pv_stack:
        .skip   16384
pv_stack_top:

        .section .note.GNU-stack, "", @progbits
