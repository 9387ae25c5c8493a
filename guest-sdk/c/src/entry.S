/*
 * PVH entry for Hospes guests. The hypervisor starts us at the address in
 * the XEN_ELFNOTE_PHYS32_ENTRY note, in flat 32-bit protected mode with
 * paging off and EBX = guest-physical address of the hvm_start_info.
 */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

        .section .note.Xen, "a", @note
        .p2align 2
        .long   4                       /* namesz */
        .long   4                       /* descsz */
        .long   XEN_ELFNOTE_PHYS32_ENTRY
        .asciz  "Xen"
        .long   _pvh_start

        .text
        .globl  _pvh_start
        .type   _pvh_start, @function
_pvh_start:
        cli
        cld
        movl    $guest_stack_top, %esp
        pushl   %ebx                    /* start info */
        call    guest_start             /* never returns */
1:      hlt
        jmp     1b
        .size   _pvh_start, . - _pvh_start

        .section .bss.page, "aw", @nobits
        .p2align 12
        .globl  hypercall_page
hypercall_page:
        .skip   4096

        .bss
        .p2align 4
guest_stack:
        .skip   16384
guest_stack_top:

        .section .note.GNU-stack, "", @progbits
