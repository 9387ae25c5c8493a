/*
 * hello: the SDK's first program, one image for every mode (native, hvm, hvm-shadow, pvhvm,
 * pvh, pv): who am I, what was I given, what does xenstore say. On the bare machine (native)
 * there is no Xen to ask: it says so, and times a sleep with the TSC.
 */
#include <hospes/guest.h>

int main(const struct hvm_start_info *si)
{
    (void)si;   /* PVH's hvm_start_info; NULL after a Multiboot or PV start */
    char extra[16], name[64];
    if (guest_has_xen()) {
        long version = HYPERVISOR_xen_version(XENVER_version, NULL);
        HYPERVISOR_xen_version(XENVER_extraversion, extra);
        printf("hello from domain %u on Xen %ld.%ld%s, command line '%s'\n", guest_domid(),
               version >> 16, version & 0xffff, extra, guest_cmdline());
    } else {
        printf("hello from a bare machine (no hypervisor), command line '%s'\n",
               guest_cmdline());
        uint64_t t0 = monotonic_ns();
        msleep(15);
        printf("slept 15 ms by the TSC: %s\n", monotonic_ns() - t0 >= 15000000ull ? "yes" : "no");
    }
    int rc = xs_read(XBT_NULL, "name", name, sizeof(name));
    if (rc >= 0) {
        printf("xenstore says my name is %s\n", name);
    } else if (rc == -XEN_ENOSYS) {
        printf("no xenstore without a hypervisor (-ENOSYS)\n");
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
