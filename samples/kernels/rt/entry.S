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
 * One stub per vector 0-255, 16 bytes apart: push a dummy error code where the
 * CPU does not push one, push the vector number, and go to the common path.
 * It saves the registers (struct rt_frame in sys.h), loads the kernel data
 * segments and calls rt_trap(frame), which runs the handler a kernel installed
 * with rt_on_trap() or else reports the exception and exits with a failure
 * status. A handler may edit the frame; the common path returns with IRET.
 */
        .p2align 4
exc_stubs:
        .set    vec, 0
        .rept   256
        .p2align 4
        .if !(vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30)
        pushl   $0
        .endif
        pushl   $vec
        jmp     exc_common
        .set    vec, vec + 1
        .endr

exc_common:
        pushal
        pushl   %ds
        pushl   %es
        movw    $0x10, %ax
        movw    %ax, %ds
        movw    %ax, %es
        cld
        pushl   %esp                    /* struct rt_frame * */
        call    rt_trap
        addl    $4, %esp
        popl    %es
        popl    %ds
        popal
        addl    $8, %esp                /* vector and error code */
        iret

        .globl  rt_exc_stub_base
        .set    rt_exc_stub_base, exc_stubs

        /* Writable, so that kernels can add TSS and other descriptors (rt_gdt_set). */
        .data
        .p2align 3
        .globl  rt_gdt
rt_gdt:
        .quad   0                       /* null */
        .quad   0x00CF9A000000FFFF      /* 0x08: flat 4 GiB code, ring 0 */
        .quad   0x00CF92000000FFFF      /* 0x10: flat 4 GiB data, ring 0 */
        .quad   0x00CFFA000000FFFF      /* 0x1B: flat 4 GiB code, ring 3 */
        .quad   0x00CFF2000000FFFF      /* 0x23: flat 4 GiB data, ring 3 */
        .fill   11, 8, 0                /* 0x28-0x78: free for kernels */
gdt_desc:
        .word   gdt_desc - rt_gdt - 1
        .long   rt_gdt

        .bss
        .p2align 4
rt_stack:
        .skip   65536
        .globl  rt_stack_top
rt_stack_top:

        .section .note.GNU-stack, "", @progbits
