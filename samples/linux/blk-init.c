/*
 * /init of the PV disk test's initramfs for Debian's kernel on Hospes: loads xen-blkfront and
 * ext4 (with their dependencies) from /modules, in the order listed in /modules/order, waits
 * for /dev/xvda, mounts it as ext4 on /root and runs the image's busybox there (chrooted) to
 * write /hello.txt and sync. Then it unmounts the disk, so the image is clean, and powers off.
 * The kernel command line may name another disk and driver (they reach /init's environment as
 * unknown NAME=VALUE parameters do): disk=vda via=virtio_blk for the virtio test.
 */
#include <stdlib.h>
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static void say(const char *what, const char *arg)
{
    printf("blk-init: %s %s\n", what, arg);
    fflush(stdout);
}

static int load(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "/modules/%s", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || syscall(SYS_finit_module, fd, "", 0) != 0) {
        perror(path);
        return -1;
    }
    close(fd);
    say("loaded", name);
    return 0;
}

/* Without ACPI (hvm booted through the Linux boot protocol) the kernel cannot power off:
 * "hospes.exit=isa" on the command line ends the run through isa-debug-exit (status 1). */
static void power_off(void)
{
    sync();
    char line[1024] = "";
    FILE *f = fopen("/proc/cmdline", "r");
    if (f) {
        if (!fgets(line, sizeof line, f)) line[0] = 0;
        fclose(f);
    }
    if (strstr(line, "hospes.exit=isa") && ioperm(0xF4, 1, 1) == 0) {
        outb(0, 0xF4);
    }
    reboot(RB_POWER_OFF);
}

int main(void)
{
    mount("proc", "/proc", "proc", 0, 0);
    mount("devtmpfs", "/dev", "devtmpfs", 0, 0);
    FILE *order = fopen("/modules/order", "r");
    char line[128];
    while (order && fgets(line, sizeof line, order)) {
        line[strcspn(line, "\n")] = 0;
        if (line[0] && load(line) != 0) {
            power_off();
        }
    }
    const char *disk = getenv("disk") ? getenv("disk") : "xvda";
    const char *via = getenv("via") ? getenv("via") : "xen-blkfront";
    char dev[64], script[256];
    snprintf(dev, sizeof dev, "/dev/%s", disk);
    snprintf(script, sizeof script, "echo \"written by busybox $(busybox uname -r) through %s\""
             " > /hello.txt && busybox sync && busybox cat /hello.txt", via);
    struct stat st;
    for (int i = 0; i < 200 && stat(dev, &st) != 0; i++) {
        usleep(10000);
    }
    if (mount(dev, "/root", "ext4", 0, 0) != 0) {
        perror(dev);
        power_off();
    }
    /* readmb=N: read N MiB of the raw disk first (the block path's throughput figure). */
    if (getenv("readmb")) {
        static char buf[65536];
        long want = atol(getenv("readmb")) << 20, got = 0;
        int fd = open(dev, O_RDONLY);
        ssize_t n;
        while (fd >= 0 && got < want && (n = read(fd, buf, sizeof buf)) > 0) {
            got += n;
        }
        if (fd >= 0) {
            close(fd);
        }
        printf("blk-init: read %ld bytes of %s\n", got, dev);
        fflush(stdout);
    }
    say("mounted on /root:", dev);
    pid_t pid = fork();
    if (pid == 0) {
        if (chroot("/root") != 0 || chdir("/") != 0) {
            perror("chroot");
            _exit(1);
        }
        execl("/bin/busybox", "sh", "-c", script, (char *)0);
        perror("exec /bin/busybox");
        _exit(1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (umount("/root") != 0) {
        perror("umount /root");
    }
    printf("blk-init: busybox exited with %d, disk unmounted\n", WEXITSTATUS(status));
    power_off();
    return 0;
}
