/* The shortest Hospes PV guest: greet through console_io, then power off. */
#include <hospes/guest.h>

int main(const struct hvm_start_info *si)
{
    guest_require_xen("hello-pvh");
    char extra[16];
    long version = HYPERVISOR_xen_version(XENVER_version, NULL);
    HYPERVISOR_xen_version(XENVER_extraversion, extra);
    const char *kind = guest_boot == GUEST_BOOT_PV ? "PV"
        : guest_boot == GUEST_BOOT_PVH ? "PVH" : "Multiboot";
    printf("Hello from a %s guest on Xen %ld.%ld%s\n", kind, version >> 16, version & 0xffff,
           extra);
    /* si is NULL unless the guest came in through the PVH entry (in pv mode, say). */
    if (si)
        printf("start info magic %s, %u memory map entries\n",
               si->magic == XEN_HVM_START_MAGIC_VALUE ? "ok" : "BAD", si->memmap_entries);
    else
        printf("no PVH start info: started through the %s entry\n", guest_boot_name());
    return 0;
}
