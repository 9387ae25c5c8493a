; A kernel for the sample "flat" loader (samples/src/main/java/org/hospes/samples/loader):
; a 16-byte HFLT header, then raw code loaded at 1 MiB. It prints its command line (EBX) on
; COM1 and ends the run through isa-debug-exit with 0x21 (exit status 67).
;
;   nasm -f bin -o hello.flat samples/loaders/flat/hello.asm
bits 32
load equ 0x100000

        db "HFLT"               ; magic
        dd load                 ; load address
        dd start - code         ; entry, from the load address
        dd 0                    ; bss bytes

code:
start:  cmp eax, 0x464c4154     ; "TALF": booted by the flat loader
        jne fail
        mov dx, 0x3f8
        test ebx, ebx
        jz done
next:   mov al, [ebx]
        test al, al
        jz done
        out dx, al
        inc ebx
        jmp next
done:   mov al, 10
        out dx, al
        mov al, 0x21
        out 0xf4, al
fail:   cli
        hlt
