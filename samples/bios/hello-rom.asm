; A 64 KiB system ROM for `hospes run --bios`: it starts at the reset vector
; (F000:FFF0, fetched through the alias below 4 GiB), far-jumps into the copy
; below 1 MiB, prints on COM1 what the processor reset left (the family in
; DX, the CPU signature), puts the local APIC in virtual-wire mode as a BIOS does (SVR
; enabled, LINT0 = ExtINT, written from "unreal" mode: a flat 4 GiB FS loaded
; in protected mode and kept after returning to real mode; QEMU keeps PIC
; interrupts behind LINT0, masked after reset), programs the
; 8259A and the 8254 as a BIOS does, takes three timer interrupts in real mode
; through the IVT with STI; HLT, and ends with CLI; HLT. It writes only RAM
; (0x500-0x503), never itself: a ROM cannot be written.
; Build: nasm -f bin -o hello-rom.bin hello-rom.asm
        bits 16
        org 0

COM1    equ 0x3F8

start:                                  ; F000:0000 (0xF0000)
        cli
        mov ax, cs
        mov ds, ax
        xor ax, ax
        mov ss, ax
        mov sp, 0x7000
        mov bx, dx                      ; the reset signature, kept while printing
        mov si, banner
        call puts
        mov si, sig_msg
        call puts
        mov al, bh                      ; family: bits 8-11 of the signature
        and al, 0x0F
        call puthex4
        mov si, newline
        call puts

        ; Unreal mode: load FS with a flat data descriptor in protected mode.
        o32 lgdt [cs:gdt_ptr]
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp short .pm
.pm:    mov ax, 0x08
        mov fs, ax
        mov eax, cr0
        and al, 0xFE
        mov cr0, eax
        xor ax, ax
        mov fs, ax                      ; base 0 again; the 4 GiB limit stays
        ; Local APIC: SVR enable (spurious vector 0xFF), LINT0 ExtINT, LINT1 NMI.
        mov dword [fs:dword 0xFEE000F0], 0x1FF
        mov dword [fs:dword 0xFEE00350], 0x700
        mov dword [fs:dword 0xFEE00360], 0x400
        mov si, apic_msg
        call puts

        ; IVT entry 8 (IRQ 0 with the master at vector 8) -> irq0
        xor ax, ax
        mov es, ax
        mov word [es:8*4], irq0
        mov word [es:8*4+2], 0xF000

        ; 8259A pair: ICW1-4, vectors 8 and 0x70, then only IRQ 0 open.
        mov al, 0x11
        out 0x20, al
        out 0xA0, al
        mov al, 0x08
        out 0x21, al
        mov al, 0x70
        out 0xA1, al
        mov al, 0x04
        out 0x21, al
        mov al, 0x02
        out 0xA1, al
        mov al, 0x01
        out 0x21, al
        out 0xA1, al
        mov al, 0xFE
        out 0x21, al
        mov al, 0xFF
        out 0xA1, al
        ; 8254 channel 0: mode 2, count 0 (18.2 Hz).
        mov al, 0x34
        out 0x43, al
        xor al, al
        out 0x40, al
        out 0x40, al

        mov word [es:0x500], 0          ; tick counter in low RAM
idle:   sti
        hlt
        cli
        cmp word [es:0x500], 3
        jb idle
        mov si, ticks_msg
        call puts
        cli
        hlt
        jmp $

irq0:   push ax
        push es
        xor ax, ax
        mov es, ax
        inc word [es:0x500]
        mov al, 0x20
        out 0x20, al
        pop es
        pop ax
        iret

; Prints the NUL-terminated string at CS:SI.
puts:   push ax
.next:  mov al, [cs:si]
        test al, al
        jz .done
        call putc
        inc si
        jmp .next
.done:  pop ax
        ret

; Prints AL on COM1 once the transmitter holding register is empty.
putc:   push dx
        push ax
        mov dx, COM1 + 5
.busy:  in al, dx
        test al, 0x20
        jz .busy
        pop ax
        mov dx, COM1
        out dx, al
        pop dx
        ret

; Prints the low nibble of AL as a hex digit.
puthex4:
        push ax
        and al, 0x0F
        cmp al, 10
        jb .num
        add al, 'a' - 10 - '0'
.num:   add al, '0'
        call putc
        pop ax
        ret

banner:    db "hello-rom: running from the reset vector", 13, 10, 0
sig_msg:   db "hello-rom: CPU family in DX after reset: ", 0
ticks_msg: db "hello-rom: three IRQ 0 ticks in real mode, halting", 13, 10, 0
apic_msg:  db "hello-rom: local APIC in virtual-wire mode", 13, 10, 0
        align 8
gdt:       dq 0
           dq 0x00CF92000000FFFF        ; 0x08: flat 4 GiB data, writable
gdt_ptr:   dw 15
           dd 0xF0000 + gdt
newline:   db 13, 10, 0

        times 0xFFF0 - ($ - $$) db 0xFF
reset:  jmp 0xF000:start                ; F000:FFF0, the first instruction fetched
        times 0x10000 - ($ - $$) db 0xFF
