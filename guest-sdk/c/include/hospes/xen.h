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
#define __HYPERVISOR_multicall        13
#define __HYPERVISOR_xen_version      17
#define __HYPERVISOR_console_io       18
#define __HYPERVISOR_grant_table_op   20
#define __HYPERVISOR_vcpu_op          24
#define __HYPERVISOR_sched_op         29
#define __HYPERVISOR_event_channel_op 32
#define __HYPERVISOR_hvm_op           34

/* Error numbers (public/errno.h), returned negated. */
#define XEN_EPERM      1
#define XEN_ENOENT     2
#define XEN_EIO        5
#define XEN_E2BIG      7
#define XEN_EAGAIN    11
#define XEN_ENOMEM    12
#define XEN_EACCES    13
#define XEN_EFAULT    14
#define XEN_EBUSY     16
#define XEN_EEXIST    17
#define XEN_EISDIR    21
#define XEN_EINVAL    22
#define XEN_ENOSPC    28
#define XEN_EROFS     30
#define XEN_ENOSYS    38
#define XEN_ENOTEMPTY 39
#define XEN_ETIME     62
#define XEN_EISCONN  106

#define DOMID_SELF 0x7ff0

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

/* event_channel_op sub-operations and arguments (public/event_channel.h). */
#define EVTCHNOP_bind_interdomain 0
#define EVTCHNOP_bind_virq        1
#define EVTCHNOP_close            3
#define EVTCHNOP_send             4
#define EVTCHNOP_status           5
#define EVTCHNOP_alloc_unbound    6
#define EVTCHNOP_bind_ipi         7
#define EVTCHNOP_bind_vcpu        8
#define EVTCHNOP_unmask           9
typedef uint32_t evtchn_port_t;
typedef uint16_t domid_t;
struct evtchn_alloc_unbound { domid_t dom, remote_dom; evtchn_port_t port; };
struct evtchn_bind_interdomain { domid_t remote_dom; evtchn_port_t remote_port; evtchn_port_t local_port; };
struct evtchn_bind_virq { uint32_t virq; uint32_t vcpu; evtchn_port_t port; };
struct evtchn_bind_ipi { uint32_t vcpu; evtchn_port_t port; };
struct evtchn_send { evtchn_port_t port; };
struct evtchn_close { evtchn_port_t port; };
struct evtchn_unmask { evtchn_port_t port; };
struct evtchn_status {
    domid_t dom;
    evtchn_port_t port;
    uint32_t status;
    uint32_t vcpu;
    union { struct { domid_t dom; } unbound; struct { domid_t dom; evtchn_port_t port; } interdomain;
            uint32_t pirq; uint32_t virq; } u;
};
#define EVTCHNSTAT_closed       0
#define EVTCHNSTAT_unbound      1
#define EVTCHNSTAT_interdomain  2
#define EVTCHNSTAT_virq         4
#define EVTCHNSTAT_ipi          5
#define VIRQ_TIMER   0
#define VIRQ_DEBUG   1
#define VIRQ_CONSOLE 2
#define NR_EVENT_CHANNELS 1024

/* hvm_op (public/hvm/hvm_op.h, params.h). */
#define HVMOP_set_param 0
#define HVMOP_get_param 1
struct xen_hvm_param { domid_t domid; uint32_t index; uint64_t value; } __attribute__((aligned(4)));
#define HVM_PARAM_CALLBACK_IRQ      0
#define HVM_PARAM_STORE_PFN         1
#define HVM_PARAM_STORE_EVTCHN      2
#define HVM_PARAM_CONSOLE_PFN      17
#define HVM_PARAM_CONSOLE_EVTCHN   18
#define HVM_PARAM_CALLBACK_TYPE_VECTOR 2

/* memory_op (public/memory.h). */
#define XENMEM_current_reservation 3
#define XENMEM_add_to_physmap      7
#define XENMEM_memory_map          9
#define XENMAPSPACE_shared_info 0
#define XENMAPSPACE_grant_table 1
struct xen_add_to_physmap { domid_t domid; uint16_t size; uint32_t space; uint32_t idx; uint32_t gpfn; };

/* shared_info and vcpu_info, x86_32 (public/xen.h, arch-x86/xen.h). */
struct vcpu_time_info {
    uint32_t version;
    uint32_t pad0;
    uint64_t tsc_timestamp;
    uint64_t system_time;
    uint32_t tsc_to_system_mul;
    int8_t tsc_shift;
    uint8_t flags;
    uint8_t pad1[2];
} __attribute__((aligned(4)));
struct arch_vcpu_info { uint32_t cr2; uint32_t pad[5]; };
struct vcpu_info {
    uint8_t evtchn_upcall_pending;
    uint8_t evtchn_upcall_mask;
    uint32_t evtchn_pending_sel;
    struct arch_vcpu_info arch;
    struct vcpu_time_info time;
};
struct arch_shared_info {
    uint32_t max_pfn;
    uint32_t pfn_to_mfn_frame_list_list;
    uint32_t nmi_reason;
    uint32_t p2m_cr3;
    uint32_t p2m_vaddr;
    uint32_t p2m_generation;
};
struct shared_info {
    struct vcpu_info vcpu_info[32];
    uint32_t evtchn_pending[32];
    uint32_t evtchn_mask[32];
    uint32_t wc_version;
    uint32_t wc_sec;
    uint32_t wc_nsec;
    struct arch_shared_info arch;
    uint32_t wc_sec_hi;
};

/* The xenstore ring page (public/io/xs_wire.h). */
enum xsd_sockmsg_type {
    XS_DEBUG, XS_DIRECTORY, XS_READ, XS_GET_PERMS, XS_WATCH, XS_UNWATCH,
    XS_TRANSACTION_START, XS_TRANSACTION_END, XS_INTRODUCE, XS_RELEASE,
    XS_GET_DOMAIN_PATH, XS_WRITE, XS_MKDIR, XS_RM, XS_SET_PERMS, XS_WATCH_EVENT,
    XS_ERROR, XS_IS_DOMAIN_INTRODUCED, XS_RESUME, XS_SET_TARGET,
    XS_RESET_WATCHES = XS_SET_TARGET + 2, XS_DIRECTORY_PART
};
struct xsd_sockmsg { uint32_t type; uint32_t req_id; uint32_t tx_id; uint32_t len; };
#define XENSTORE_PAYLOAD_MAX 4096
#define XENSTORE_RING_SIZE 1024
struct xenstore_domain_interface {
    char req[XENSTORE_RING_SIZE];
    char rsp[XENSTORE_RING_SIZE];
    uint32_t req_cons, req_prod;
    uint32_t rsp_cons, rsp_prod;
    uint32_t server_features;
    uint32_t connection;
    uint32_t error;
    uint32_t evtchn_port;
};

/* The PV console ring page (public/io/console.h). */
struct xencons_interface {
    char in[1024];
    char out[2048];
    uint32_t in_cons, in_prod;
    uint32_t out_cons, out_prod;
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

static inline long HYPERVISOR_event_channel_op(int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_event_channel_op, cmd, (long)arg);
}

static inline long HYPERVISOR_hvm_op(int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_hvm_op, cmd, (long)arg);
}

static inline long HYPERVISOR_memory_op(int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_memory_op, cmd, (long)arg);
}

#endif
