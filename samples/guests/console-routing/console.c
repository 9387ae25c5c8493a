/*
 * Writes to both of a PVH guest's consoles, then takes an exception: the PV
 * console (stdout, --console-log) keeps its lines and the SDK's exception
 * report in order; console_io goes to the hypervisor's log, "(dN) " per line,
 * as on a debug build of Xen.
 */
#include <hospes/guest.h>

int main(const struct hvm_start_info *si)
{
    guest_require_xen("console-routing");
    (void)si;
    static const char hv1[] = "hv: through console_io\n";
    static const char hv2[] = "hv: a line in ";
    static const char hv3[] = "two writes\x01\n";
    printf("pv: first\n");
    xen_console_write(hv1, sizeof(hv1) - 1);
    printf("pv: second\n");
    xen_console_write(hv2, sizeof(hv2) - 1);
    xen_console_write(hv3, sizeof(hv3) - 1);
    printf("pv: last before the fault\n");
    __asm__ volatile("ud2");
    return 0;
}
