/*
 * /init of the test initramfs for Debian's kernel on Hospes: mounts /proc, prints the
 * kernel's uptime (and /proc/interrupts with "hospes.interrupts" on the command line) and
 * powers the machine off: through ACPI S5 in an HVM domain, through Xen's SCHEDOP_shutdown in
 * PVH. On a PC without ACPI (the native machine) the kernel cannot power off; there
 * "hospes.exit=isa" on the command line makes /init end the run through QEMU's isa-debug-exit
 * port (0xF4) instead, with value 0: status 1.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <sys/reboot.h>

static int cmdline_has(const char *word)
{
    char line[1024] = "";
    FILE *f = fopen("/proc/cmdline", "r");
    if (!f) return 0;
    if (!fgets(line, sizeof line, f)) line[0] = 0;
    fclose(f);
    return strstr(line, word) != NULL;
}

int main(void)
{
    mount("proc", "/proc", "proc", 0, 0);
    FILE *f = fopen("/proc/uptime", "r");
    char buf[64] = "?";
    if (f) {
        if (!fgets(buf, sizeof buf, f)) buf[0] = 0;
        fclose(f);
    }
    printf("\nHello from /init on Hospes! uptime: %s", buf);
    if (cmdline_has("hospes.interrupts") && (f = fopen("/proc/interrupts", "r"))) {
        char line[256];
        while (fgets(line, sizeof line, f)) fputs(line, stdout);
        fclose(f);
    }
    fflush(stdout);
    sync();
    if (cmdline_has("hospes.exit=isa") && ioperm(0xF4, 1, 1) == 0) {
        outb(0, 0xF4);
    }
    reboot(RB_POWER_OFF);
    return 0;
}
