/*
 * Xen's ELF note types (public/elfnote.h) and an assembler macro for one note in the
 * .note.Xen section: what a PV domain builder (and, for PHYS32_ENTRY, a PVH one) reads from
 * a kernel image. Used by the SDK's entry (src/entry.S) and the bare PV runtime (pv/pv-head.S).
 */
#ifndef HOSPES_ELFNOTE_H
#define HOSPES_ELFNOTE_H

#define XEN_ELFNOTE_ENTRY           1
#define XEN_ELFNOTE_HYPERCALL_PAGE  2
#define XEN_ELFNOTE_VIRT_BASE       3
#define XEN_ELFNOTE_PADDR_OFFSET    4
#define XEN_ELFNOTE_XEN_VERSION     5
#define XEN_ELFNOTE_GUEST_OS        6
#define XEN_ELFNOTE_LOADER          8
#define XEN_ELFNOTE_PAE_MODE        9
#define XEN_ELFNOTE_FEATURES       10
#define XEN_ELFNOTE_PHYS32_ENTRY   18

#ifdef __ASSEMBLER__
/* XEN_NOTE type, body: name "Xen", the body's bytes as the descriptor. */
.macro  XEN_NOTE type, body:vararg
        .pushsection .note.Xen, "a", @note
        .p2align 2
        .long   4
        .long   2f - 1f
        .long   \type
        .asciz  "Xen"
1:      \body
2:      .p2align 2
        .popsection
.endm
#endif

#endif
