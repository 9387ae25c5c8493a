/*
 * Multiboot v1 entry for the Hospes test kernels.
 *
 * The loader jumps to _start in 32-bit protected mode with flat segments,
 * EAX = 0x2BADB002 and EBX = physical address of the multiboot info block.
 * We clear .bss, set up our own stack and EFLAGS, and call
 * rt_start(magic, info), which never returns.
 */
#define MB_MAGIC  0x1BADB002
#define MB_FLAGS  0x00000003        /* bit 0: page-align modules, bit 1: memory info */

        .section .multiboot, "a"
        .p2align 2
        .long   MB_MAGIC
        .long   MB_FLAGS
        .long   -(MB_MAGIC + MB_FLAGS)

        .text
        .globl  _start
        .type   _start, @function
_start:
        cli
        movl    %eax, %esi              /* keep magic and info across the bss clear */
        movl    %ebx, %ebp
        cld
        movl    $__bss_start, %edi
        movl    $__bss_end, %ecx
        subl    %edi, %ecx
        xorl    %eax, %eax
        rep stosb
        movl    $rt_stack_top, %esp
        /* Our own flat GDT: the multiboot spec leaves GDTR undefined. */
        lgdt    gdt_desc
        ljmp    $0x08, $1f
1:      movw    $0x10, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %fs
        movw    %ax, %gs
        movw    %ax, %ss
        call    rt_idt_init
        pushl   $0x2                    /* EFLAGS: only the reserved bit 1 set */
        popfl
        pushl   %ebp                    /* info */
        pushl   %esi                    /* magic */
        xorl    %ebp, %ebp
        call    rt_start
1:      cli
        hlt
        jmp     1b
        .size   _start, . - _start

/*
 * Exception stubs for vectors 0-31: push a dummy error code where the CPU
 * does not, push the vector number, and go to the common handler, which
 * reports the fault on the serial port and exits with a failure status.
 */
        .macro  EXC_STUB vec, has_err
        .p2align 3
exc_stub_\vec:
        .if \has_err == 0
        pushl   $0
        .endif
        pushl   $\vec
        jmp     exc_common
        .endm

        .p2align 4
exc_stubs:
        EXC_STUB 0,0
        EXC_STUB 1,0
        EXC_STUB 2,0
        EXC_STUB 3,0
        EXC_STUB 4,0
        EXC_STUB 5,0
        EXC_STUB 6,0
        EXC_STUB 7,0
        EXC_STUB 8,1
        EXC_STUB 9,0
        EXC_STUB 10,1
        EXC_STUB 11,1
        EXC_STUB 12,1
        EXC_STUB 13,1
        EXC_STUB 14,1
        EXC_STUB 15,0
        EXC_STUB 16,0
        EXC_STUB 17,1
        EXC_STUB 18,0
        EXC_STUB 19,0
        EXC_STUB 20,0
        EXC_STUB 21,1
        EXC_STUB 22,0
        EXC_STUB 23,0
        EXC_STUB 24,0
        EXC_STUB 25,0
        EXC_STUB 26,0
        EXC_STUB 27,0
        EXC_STUB 28,0
        EXC_STUB 29,1
        EXC_STUB 30,1
        EXC_STUB 31,0

exc_common:
        pushal
        cld
        pushl   %esp                    /* struct rt_trap_frame * */
        call    rt_exception
2:      cli
        hlt
        jmp     2b

        .globl  rt_exc_stub_base
        .set    rt_exc_stub_base, exc_stubs

        .section .rodata
        .p2align 3
gdt:
        .quad   0                       /* null */
        .quad   0x00CF9A000000FFFF      /* 0x08: flat 4 GiB code, ring 0 */
        .quad   0x00CF92000000FFFF      /* 0x10: flat 4 GiB data, ring 0 */
gdt_desc:
        .word   gdt_desc - gdt - 1
        .long   gdt

        .bss
        .p2align 4
rt_stack:
        .skip   65536
        .globl  rt_stack_top
rt_stack_top:

        .section .note.GNU-stack, "", @progbits
