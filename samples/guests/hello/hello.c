/*
 * hello: the SDK's first program, the same source in every mode it builds for (pvh, and pv
 * with `make pvsdk`): who am I, what was I given, what does xenstore say.
 */
#include <hospes/guest.h>

int main(const struct hvm_start_info *si)
{
    (void)si;   /* PVH's hvm_start_info; NULL in pv, whose start_info is pv_start_info */
    char extra[16], name[64];
    long version = HYPERVISOR_xen_version(XENVER_version, NULL);
    HYPERVISOR_xen_version(XENVER_extraversion, extra);
    printf("hello from domain %u on Xen %ld.%ld%s, command line '%s'\n", guest_domid(),
           version >> 16, version & 0xffff, extra, guest_cmdline());
    if (xs_read(XBT_NULL, "name", name, sizeof(name)) >= 0) {
        printf("xenstore says my name is %s\n", name);
    }
    /* The heap spans the domain's RAM: a megabyte, written and read back. */
    uint32_t *big = page_alloc(256);
    if (!big) {
        printf("no megabyte\n");
        return 1;
    }
    uint32_t sum = 0;
    for (uint32_t i = 0; i < 256 * 1024; i++) {
        big[i] = i * 2654435761u;
    }
    for (uint32_t i = 0; i < 256 * 1024; i++) {
        sum += big[i] ^ i;
    }
    printf("1 MiB of heap, checksum %x\n", sum);
    return 0;
}
