/*
 * Entry, Xen PV ELF notes and hypercall page of the bare classic PV32 runtime (make pv).
 * The domain builder starts us in ring 1 at _pv_start with paging on over its boot tables,
 * ESP at the top of its boot stack and ESI = the virtual address of start_info. The trap
 * stubs are pv-traps.S's.
 */
#include <hospes/elfnote.h>

        XEN_NOTE XEN_ELFNOTE_GUEST_OS,       .asciz "Hospes-PV"
        XEN_NOTE XEN_ELFNOTE_LOADER,         .asciz "generic"
        XEN_NOTE XEN_ELFNOTE_XEN_VERSION,    .asciz "xen-3.0"
        XEN_NOTE XEN_ELFNOTE_VIRT_BASE,      .long 0xC0000000
        XEN_NOTE XEN_ELFNOTE_PADDR_OFFSET,   .long 0xC0000000
        XEN_NOTE XEN_ELFNOTE_ENTRY,          .long _pv_start
        XEN_NOTE XEN_ELFNOTE_HYPERCALL_PAGE, .long hypercall_page
        XEN_NOTE XEN_ELFNOTE_PAE_MODE,       .asciz "yes"
        XEN_NOTE XEN_ELFNOTE_FEATURES,       .asciz "pae_pgdir_above_4gb"

        .section .text.head, "ax"
        .globl  _pv_start
_pv_start:
        cld
        movl    $pv_stack_top, %esp
        pushl   %esi
        call    pv_start
1:      jmp     1b

        .bss
        .p2align 12
        .globl  pv_stack_top
pv_stack:
        .skip   16384
pv_stack_top:

        .section .note.GNU-stack, "", @progbits
