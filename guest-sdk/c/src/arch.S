/*
 * GDT, IDT and interrupt entry stubs for Hospes PVH guests. A PVH guest
 * starts with whatever segments the builder set up and no IDT: it must
 * build both (docs/misc/pvh.pandoc). Exceptions 0-31 go to guest_trap(),
 * the event upcall vector to evtchn_do_upcall(), any other vector is ignored.
 */
#define UPCALL_VECTOR 0xf3

        .text
        .globl  arch_load_gdt
arch_load_gdt:
        lgdt    gdt_desc
        ljmp    $0x08, $1f
1:      movl    $0x10, %eax
        movl    %eax, %ds
        movl    %eax, %es
        movl    %eax, %ss
        movl    %eax, %fs
        movl    %eax, %gs
        ret

        .globl  arch_load_idt
arch_load_idt:
        lidt    idt_desc
        ret

/* Exceptions: push a dummy error code where the CPU pushes none. */
.macro  TRAP_NOERR n
trap_\n:
        pushl   $0
        pushl   $\n
        jmp     trap_common
.endm
.macro  TRAP_ERR n
trap_\n:
        pushl   $\n
        jmp     trap_common
.endm

TRAP_NOERR 0
TRAP_NOERR 1
TRAP_NOERR 2
TRAP_NOERR 3
TRAP_NOERR 4
TRAP_NOERR 5
TRAP_NOERR 6
TRAP_NOERR 7
TRAP_ERR   8
TRAP_NOERR 9
TRAP_ERR   10
TRAP_ERR   11
TRAP_ERR   12
TRAP_ERR   13
TRAP_ERR   14
TRAP_NOERR 15
TRAP_NOERR 16
TRAP_ERR   17
TRAP_NOERR 18
TRAP_NOERR 19
TRAP_NOERR 20
TRAP_ERR   21
TRAP_NOERR 22
TRAP_NOERR 23
TRAP_NOERR 24
TRAP_NOERR 25
TRAP_NOERR 26
TRAP_NOERR 27
TRAP_NOERR 28
TRAP_NOERR 29
TRAP_NOERR 30
TRAP_NOERR 31

trap_common:
        pushal
        cld
        pushl   %esp                    /* struct trap_frame * */
        call    guest_trap              /* does not return */
1:      hlt
        jmp     1b

        .globl  arch_upcall_entry
arch_upcall_entry:
        pushal
        cld
        call    evtchn_do_upcall
        popal
        iret

        .globl  arch_spurious_entry
arch_spurious_entry:
        iret

        .section .rodata
        .p2align 2
        .globl  arch_trap_table
arch_trap_table:
        .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        .long   trap_\n
        .endr

        .data
        .p2align 3
gdt:
        .quad   0
        .quad   0x00cf9a000000ffff      /* 0x08: code, flat 4 GiB */
        .quad   0x00cf92000000ffff      /* 0x10: data, flat 4 GiB */
gdt_end:
        .p2align 2
        .word   0
gdt_desc:
        .word   gdt_end - gdt - 1
        .long   gdt
        .word   0
idt_desc:
        .word   256 * 8 - 1
        .long   arch_idt

        .bss
        .p2align 3
        .globl  arch_idt
arch_idt:
        .skip   256 * 8

        .section .note.GNU-stack, "", @progbits
