/*
 * /init of the test initramfs for Debian's kernel on Hospes: mounts /proc, prints the
 * kernel's uptime and powers the machine off.
 */
#include <stdio.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/reboot.h>

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
    fflush(stdout);
    sync();
    reboot(RB_POWER_OFF);
    return 0;
}
