/*
 * Grant tables v1 for PVH and PV guests (public/grant_table.h, x86_32 layout):
 * entries, the grant_table_op structs, and small helpers to offer a frame to
 * another domain, take the offer back, and map, unmap or copy what another
 * domain granted. Frame numbers are what virt_to_gfn() gives: a PVH guest's
 * GFN (paging is off, a pointer is a guest-physical address), a PV guest's
 * machine frame. Map and unmap addresses are pointers in both.
 *
 * Typical use (granting side):
 *     struct grant_entry_v1 *t = page_alloc(1);
 *     gnttab_map_table_frame(0, virt_to_gfn(t));          // table frame 0 over that page
 *     gnttab_grant_access(t, 8, peer, virt_to_gfn(page), 0);
 *     ...
 *     if (gnttab_end_access(t, 8) != 0) { still mapped by the peer: retry later }
 *
 * Mapping side:
 *     uint32_t handle;
 *     if (gnttab_map(peer, 8, MAP_GPA, 0, &handle) == GNTST_okay) { ... gnttab_unmap(MAP_GPA, handle); }
 */
#ifndef HOSPES_GRANT_H
#define HOSPES_GRANT_H

#include "types.h"
#include "xen.h"
#include "arch.h"

#define GNTTABOP_map_grant_ref   0
#define GNTTABOP_unmap_grant_ref 1
#define GNTTABOP_setup_table     2
#define GNTTABOP_copy            5
#define GNTTABOP_query_size      6
#define GNTTABOP_set_version     8
#define GNTTABOP_get_version     10

/* Entry flags: type in bits 1:0; the hypervisor sets reading/writing while in use. */
#define GTF_invalid        0
#define GTF_permit_access  1
#define GTF_type_mask      3
#define GTF_readonly       (1 << 2)
#define GTF_reading        (1 << 3)
#define GTF_writing        (1 << 4)

#define GNTMAP_device_map  (1 << 0)
#define GNTMAP_host_map    (1 << 1)
#define GNTMAP_readonly    (1 << 2)

#define GNTCOPY_source_gref (1 << 0)
#define GNTCOPY_dest_gref   (1 << 1)

#define GNTST_okay              0
#define GNTST_general_error    -1
#define GNTST_bad_domain       -2
#define GNTST_bad_gntref       -3
#define GNTST_bad_handle       -4
#define GNTST_bad_virt_addr    -5
#define GNTST_permission_denied -8
#define GNTST_bad_page         -9
#define GNTST_bad_copy_arg    -10
#define GNTST_eagain          -12
#define GNTST_no_space        -13

#define GNTTAB_ENTRIES_PER_FRAME 512
#define GNTTAB_NR_RESERVED_ENTRIES 8
#define GNTTAB_DOMID_SELF 0x7ff0

typedef uint32_t grant_ref_t;
typedef uint32_t grant_handle_t;
typedef uint16_t gnt_domid_t;

struct grant_entry_v1 {
    uint16_t flags;
    gnt_domid_t domid;
    uint32_t frame;
};

struct gnttab_map_grant_ref {
    uint64_t host_addr;      /* IN: guest-physical address to map at */
    uint32_t flags;          /* IN: GNTMAP_* */
    grant_ref_t ref;         /* IN */
    gnt_domid_t dom;         /* IN: the granting domain */
    int16_t status;          /* OUT: GNTST_* */
    grant_handle_t handle;   /* OUT */
    uint64_t dev_bus_addr;   /* OUT */
};

struct gnttab_unmap_grant_ref {
    uint64_t host_addr;      /* IN */
    uint64_t dev_bus_addr;   /* IN */
    grant_handle_t handle;   /* IN */
    int16_t status;          /* OUT */
};

struct gnttab_setup_table {
    gnt_domid_t dom;         /* IN */
    uint32_t nr_frames;      /* IN */
    int16_t status;          /* OUT */
    uint32_t frame_list;     /* IN: pointer to nr_frames uint32_t (OUT: GFNs) */
};

struct gnttab_copy_ptr {
    uint32_t u;              /* a grant ref, or a GFN of the caller */
    gnt_domid_t domid;
    uint16_t offset;
};

struct gnttab_copy {
    struct gnttab_copy_ptr source;  /* IN */
    struct gnttab_copy_ptr dest;    /* IN */
    uint16_t len;                   /* IN: offset + len stays in one page */
    uint16_t flags;                 /* IN: GNTCOPY_* */
    int16_t status;                 /* OUT */
};

struct gnttab_query_size {
    gnt_domid_t dom;         /* IN */
    uint32_t nr_frames;      /* OUT */
    uint32_t max_nr_frames;  /* OUT */
    int16_t status;          /* OUT */
};

_Static_assert(sizeof(struct grant_entry_v1) == 8, "grant_entry_v1");
_Static_assert(sizeof(struct gnttab_map_grant_ref) == 32, "gnttab_map_grant_ref");
_Static_assert(__builtin_offsetof(struct gnttab_map_grant_ref, handle) == 20, "map handle");
_Static_assert(sizeof(struct gnttab_unmap_grant_ref) == 24, "gnttab_unmap_grant_ref");
_Static_assert(sizeof(struct gnttab_setup_table) == 16, "gnttab_setup_table");
_Static_assert(sizeof(struct gnttab_copy) == 24, "gnttab_copy");
_Static_assert(__builtin_offsetof(struct gnttab_copy, status) == 20, "copy status");
_Static_assert(sizeof(struct gnttab_query_size) == 16, "gnttab_query_size");

static inline long HYPERVISOR_grant_table_op(unsigned cmd, void *uop, unsigned count)
{
    return hypercall3(__HYPERVISOR_grant_table_op, cmd, (long)uop, count);
}

/*
 * Table frame idx over our page whose frame is gfn (virt_to_gfn). In ring 0 (PVH, HVM):
 * XENMEM_add_to_physmap(space grant_table), the frame appears at gfn. In PV:
 * GNTTABOP_setup_table gives the table's machine frames, and update_va_mapping puts frame idx
 * where that page was mapped (a PV guest has no physmap to add to). 0 or a negative Xen errno.
 */
long gnttab_map_table_frame(uint32_t idx, uint32_t gfn);

/* Offers frame gfn to domid: frame and domid first, then the flags that publish it. */
static inline void gnttab_grant_access(volatile struct grant_entry_v1 *table, grant_ref_t ref,
                                       gnt_domid_t domid, uint32_t gfn, int readonly)
{
    table[ref].frame = gfn;
    table[ref].domid = domid;
    __sync_synchronize();
    table[ref].flags = GTF_permit_access | (readonly ? GTF_readonly : 0);
}

/*
 * Takes an offer back. Returns 0, or -1 while the peer still has it mapped
 * (GTF_reading/GTF_writing): the entry must not be reused until then.
 */
static inline int gnttab_end_access(volatile struct grant_entry_v1 *table, grant_ref_t ref)
{
    uint16_t flags = table[ref].flags;
    do {
        if (flags & (GTF_reading | GTF_writing)) {
            return -1;
        }
    } while (!__sync_bool_compare_and_swap(&table[ref].flags, flags, 0) &&
             ((flags = table[ref].flags), 1));
    return 0;
}

/* Maps dom's grant ref at gpa (a pointer: PVH's guest-physical address, PV's linear one, whose
 * L1 entry the grant replaces); returns a GNTST_* status. */
static inline int gnttab_map(gnt_domid_t dom, grant_ref_t ref, uint32_t gpa, int readonly,
                             grant_handle_t *handle)
{
    struct gnttab_map_grant_ref op = {
        .host_addr = gpa, .flags = GNTMAP_host_map | (readonly ? GNTMAP_readonly : 0),
        .ref = ref, .dom = dom };
    long rc = HYPERVISOR_grant_table_op(GNTTABOP_map_grant_ref, &op, 1);
    if (rc != 0) {
        return GNTST_general_error;
    }
    *handle = op.handle;
    return op.status;
}

/* Unmaps; in PV, then maps our own page back at gpa (the grant had replaced its L1 entry). */
int gnttab_unmap(uint32_t gpa, grant_handle_t handle);

/* Copies len bytes from dom's grant ref (at offset) into buf; buf must not cross a page. */
static inline int gnttab_copy_from(gnt_domid_t dom, grant_ref_t ref, uint16_t offset,
                                   void *buf, uint16_t len)
{
    struct gnttab_copy op = {
        .source = { .u = ref, .domid = dom, .offset = offset },
        .dest = { .u = virt_to_gfn(buf), .domid = GNTTAB_DOMID_SELF,
                  .offset = (uint32_t)buf & 0xfff },
        .len = len, .flags = GNTCOPY_source_gref };
    long rc = HYPERVISOR_grant_table_op(GNTTABOP_copy, &op, 1);
    return rc != 0 ? GNTST_general_error : op.status;
}

/* Copies len bytes from buf into dom's grant ref at offset. */
static inline int gnttab_copy_to(gnt_domid_t dom, grant_ref_t ref, uint16_t offset,
                                 const void *buf, uint16_t len)
{
    struct gnttab_copy op = {
        .source = { .u = virt_to_gfn(buf), .domid = GNTTAB_DOMID_SELF,
                    .offset = (uint32_t)buf & 0xfff },
        .dest = { .u = ref, .domid = dom, .offset = offset },
        .len = len, .flags = GNTCOPY_dest_gref };
    long rc = HYPERVISOR_grant_table_op(GNTTABOP_copy, &op, 1);
    return rc != 0 ? GNTST_general_error : op.status;
}

#endif
