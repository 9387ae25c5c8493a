/*
 * Xen's public x86_32 hypercall ABI, as far as the Hospes guest SDK uses it.
 * Numbers and layouts follow Xen's public headers; the tests check them
 * against the hypervisor's Java definitions.
 */
#ifndef HOSPES_XEN_H
#define HOSPES_XEN_H

#include "types.h"

/* Hypercall numbers (public/xen.h). */
#define __HYPERVISOR_memory_op        12
#define __HYPERVISOR_xen_version      17
#define __HYPERVISOR_console_io       18
#define __HYPERVISOR_grant_table_op   20
#define __HYPERVISOR_vcpu_op          24
#define __HYPERVISOR_sched_op         29
#define __HYPERVISOR_event_channel_op 32
#define __HYPERVISOR_hvm_op           34

/* Error numbers (public/errno.h), returned negated. */
#define XEN_EPERM   1
#define XEN_ENOENT  2
#define XEN_EFAULT 14
#define XEN_EINVAL 22
#define XEN_ENOSYS 38

/* CPUID leaves (public/arch-x86/cpuid.h). */
#define XEN_CPUID_FIRST_LEAF 0x40000000u
#define XEN_CPUID_SIGNATURE_EBX 0x566e6558u /* "XenV" */
#define XEN_CPUID_SIGNATURE_ECX 0x65584d4du /* "MMXe" */
#define XEN_CPUID_SIGNATURE_EDX 0x4d4d566eu /* "nVMM" */

/* xen_version sub-operations (public/version.h). */
#define XENVER_version      0
#define XENVER_extraversion 1
#define XENVER_get_features 6

/* console_io sub-operations. */
#define CONSOLEIO_write 0
#define CONSOLEIO_read  1

/* sched_op sub-operations and shutdown reasons (public/sched.h). */
#define SCHEDOP_yield    0
#define SCHEDOP_block    1
#define SCHEDOP_shutdown 2
#define SHUTDOWN_poweroff 0
#define SHUTDOWN_reboot   1
#define SHUTDOWN_crash    3

struct sched_shutdown {
    uint32_t reason;
};

/* hvm_start_info (public/arch-x86/hvm/start_info.h), x86_32 layout. */
#define XEN_HVM_START_MAGIC_VALUE 0x336ec578u
struct hvm_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;
    uint32_t memmap_entries;
    uint32_t reserved;
} __attribute__((packed));

struct hvm_memmap_table_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
} __attribute__((packed));

/* The hypercall page the SDK installs (128 slots of 32 bytes). */
extern char hypercall_page[4096];

/* Hypercalls with up to three arguments, through the hypercall page. */
static inline long hypercall3(int nr, long a1, long a2, long a3)
{
    long ret;
    long b = a1, c = a2, d = a3;
    __asm__ volatile("call *%[entry]"
                     : "=a"(ret), "+b"(b), "+c"(c), "+d"(d)
                     : [entry] "r"(hypercall_page + nr * 32)
                     : "memory");
    return ret;
}

#define hypercall2(nr, a1, a2) hypercall3((nr), (a1), (a2), 0)

static inline long HYPERVISOR_console_io(int cmd, int count, const char *buf)
{
    return hypercall3(__HYPERVISOR_console_io, cmd, count, (long)buf);
}

static inline long HYPERVISOR_xen_version(int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_xen_version, cmd, (long)arg);
}

static inline long HYPERVISOR_sched_op(int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_sched_op, cmd, (long)arg);
}

#endif
