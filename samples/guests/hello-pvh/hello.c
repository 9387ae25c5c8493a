/* The shortest Hospes PV guest: greet through console_io, then power off. */
#include <hospes/guest.h>

int main(const struct hvm_start_info *si)
{
    guest_require_xen("hello-pvh");
    char extra[16];
    long version = HYPERVISOR_xen_version(XENVER_version, NULL);
    HYPERVISOR_xen_version(XENVER_extraversion, extra);
    printf("Hello from a PVH guest on Xen %ld.%ld%s\n", version >> 16, version & 0xffff, extra);
    printf("start info magic %s, %u memory map entries\n",
           si->magic == XEN_HVM_START_MAGIC_VALUE ? "ok" : "BAD", si->memmap_entries);
    return 0;
}
