/*
 * The entry of every Hospes SDK guest, one image for every mode. The image carries
 *   - a Multiboot v1 header (native: the bare PC; or --loader multiboot in an HVM domain),
 *   - the PVH entry note XEN_ELFNOTE_PHYS32_ENTRY (pvh, and hvm, hvm-shadow, pvhvm, where the
 *     pvh loader outranks the multiboot one),
 *   - the notes of a classic PV32 (PAE) kernel: GUEST_OS, LOADER, XEN_VERSION, VIRT_BASE 0,
 *     PADDR_OFFSET 0, ENTRY, HYPERCALL_PAGE, PAE_MODE "yes" (pv).
 * All three enter at _start, which finds out which start it got:
 *   - PV: the domain builder runs us in ring 1 (CS's RPL is 1), paging on, ESI = start_info;
 *   - Multiboot: ring 0, paging off, EAX = 0x2BADB002, EBX = the multiboot_info;
 *   - PVH: ring 0, paging off, EBX = the hvm_start_info, whose first word is its magic.
 * The ring is tested first: a ring-1 kernel must not run cli, and its EBX means nothing.
 */
#include <hospes/elfnote.h>

#define MULTIBOOT_HEADER_MAGIC     0x1BADB002
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002
#define MULTIBOOT_FLAGS            0x00000003   /* page-aligned modules, memory information */
#define HVM_START_MAGIC            0x336ec578
/* enum guest_boot in <hospes/guest.h>. */
#define BOOT_MULTIBOOT 1
#define BOOT_PVH       2
#define BOOT_PV        3

        .section .multiboot, "a"
        .p2align 2
        .long   MULTIBOOT_HEADER_MAGIC
        .long   MULTIBOOT_FLAGS
        .long   -(MULTIBOOT_HEADER_MAGIC + MULTIBOOT_FLAGS)

        XEN_NOTE XEN_ELFNOTE_PHYS32_ENTRY,  .long _start
        XEN_NOTE XEN_ELFNOTE_GUEST_OS,      .asciz "Hospes"
        XEN_NOTE XEN_ELFNOTE_LOADER,        .asciz "generic"
        XEN_NOTE XEN_ELFNOTE_XEN_VERSION,   .asciz "xen-3.0"
        XEN_NOTE XEN_ELFNOTE_VIRT_BASE,     .long 0
        XEN_NOTE XEN_ELFNOTE_PADDR_OFFSET,  .long 0
        XEN_NOTE XEN_ELFNOTE_ENTRY,         .long _start
        XEN_NOTE XEN_ELFNOTE_HYPERCALL_PAGE, .long hypercall_page
        XEN_NOTE XEN_ELFNOTE_PAE_MODE,      .asciz "yes"
        XEN_NOTE XEN_ELFNOTE_FEATURES,      .asciz "pae_pgdir_above_4gb"

        .section .text.head, "ax"
        .globl  _start
        .type   _start, @function
_start:
        cld
        xorl    %ecx, %ecx
        movw    %cs, %cx
        testb   $3, %cl
        jnz     1f
        cli
        movl    $guest_stack_top, %esp
        cmpl    $MULTIBOOT_BOOTLOADER_MAGIC, %eax
        je      2f
        cmpl    $HVM_START_MAGIC, (%ebx)
        jne     3f
        pushl   %ebx
        pushl   $BOOT_PVH
        call    guest_start             /* never returns */
        jmp     3f
1:      movl    $guest_stack_top, %esp  /* PV: ring 1 */
        pushl   %esi
        pushl   $BOOT_PV
        call    guest_start
        jmp     3f
2:      pushl   %ebx                    /* Multiboot */
        pushl   $BOOT_MULTIBOOT
        call    guest_start
3:      cli                             /* no start we know: stop (status 0 on a bare PC) */
        hlt
        jmp     3b
        .size   _start, . - _start

        .bss
        .p2align 4
guest_stack:
        .skip   16384
        .globl  guest_stack_top
guest_stack_top:

        .section .note.GNU-stack, "", @progbits
