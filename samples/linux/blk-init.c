/*
 * /init of the disk tests' initramfs for Debian's kernel on Hospes: loads the disk driver and
 * ext4 (with their dependencies) from /modules, in the order listed in /modules/order, waits
 * for the disk, mounts it as ext4 on /root and runs the image's busybox there (chrooted) to
 * write /hello.txt and sync. Then it unmounts the disk, so the image is clean, and powers off.
 * The kernel command line may name the disk ("hospes.disk=sda"; xvda by default) and the driver
 * that the file mentions ("hospes.driver=ata_piix"; xen-blkfront by default); with
 * "hospes.exit=isa" (a PC without ACPI cannot power off) the run ends through isa-debug-exit.
 * "hospes.ddmb=N" has busybox write an N MiB file (then removed) first, for benchmark figures.
 * "hospes.readmb=N" reads N MiB of the raw disk (at most its size) first, for the read path's
 * figures. "hospes.interrupts" prints /proc/interrupts before powering off (which interrupt
 * controller each driver's interrupts came through). "hospes.cpuinfo" prints how many processors
 * /proc/cpuinfo lists and their "processor" lines first (the SMP tests). The virtio test uses
 * "hospes.disk=vda hospes.driver=virtio_blk".
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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

static char cmdline[1024];

/* The value of "key=" on the kernel command line, or fallback. */
static const char *param(const char *key, const char *fallback)
{
    static char values[4][64];
    static int next;
    const char *at = strstr(cmdline, key);
    if (!at) return fallback;
    at += strlen(key);
    char *v = values[next++ & 3];
    size_t n = strcspn(at, " \n");
    if (n >= 64) n = 63;
    memcpy(v, at, n);
    v[n] = 0;
    return v;
}

static void power_off(void)
{
    FILE *f;
    if (strstr(cmdline, "hospes.interrupts") && (f = fopen("/proc/interrupts", "r"))) {
        char line[256];
        printf("blk-init: /proc/interrupts\n");
        while (fgets(line, sizeof line, f)) fputs(line, stdout);
        fclose(f);
        fflush(stdout);
    }
    sync();
    if (strstr(cmdline, "hospes.exit=isa") && ioperm(0xF4, 1, 1) == 0) {
        outb(0, 0xF4);
    }
    reboot(RB_POWER_OFF);
}

int main(void)
{
    mount("proc", "/proc", "proc", 0, 0);
    mount("devtmpfs", "/dev", "devtmpfs", 0, 0);
    FILE *cl = fopen("/proc/cmdline", "r");
    if (cl) {
        if (!fgets(cmdline, sizeof cmdline, cl)) cmdline[0] = 0;
        fclose(cl);
    }
    if (strstr(cmdline, "hospes.cpuinfo") && (cl = fopen("/proc/cpuinfo", "r"))) {
        char row[256];
        int n = 0;
        while (fgets(row, sizeof row, cl)) {
            if (strncmp(row, "processor", 9) == 0) {
                fputs(row, stdout);
                n++;
            }
        }
        fclose(cl);
        printf("blk-init: /proc/cpuinfo lists %d processors\n", n);
        fflush(stdout);
    }
    char dev[80];
    snprintf(dev, sizeof dev, "/dev/%s", param("hospes.disk=", "xvda"));
    const char *driver = param("hospes.driver=", "xen-blkfront");
    FILE *order = fopen("/modules/order", "r");
    char line[128];
    while (order && fgets(line, sizeof line, order)) {
        line[strcspn(line, "\n")] = 0;
        if (line[0] && load(line) != 0) {
            power_off();
        }
    }
    struct stat st;
    /* Virtual time: the wait costs nothing while the vCPU halts. libata's probe sleeps. */
    for (int i = 0; i < 2000 && stat(dev, &st) != 0; i++) {
        usleep(10000);
    }
    if (mount(dev, "/root", "ext4", 0, 0) != 0) {
        perror(dev);
        power_off();
    }
    /* "hospes.readmb=N": read N MiB of the raw disk first (the block path's throughput);
     * read() returns 0 at the end of a smaller disk. */
    long want = atol(param("hospes.readmb=", "0")) * 1048576L;
    if (want > 0) {
        static char buf[65536];
        long got = 0;
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
        /* "hospes.ddmb=N" first writes N MiB (synced), for the I/O path's figures; the
         * image's tree has no /dev, so the bytes come from yes rather than /dev/zero. */
        char script[512];
        long bytes = atol(param("hospes.ddmb=", "0")) * 1048576L;
        snprintf(script, sizeof script, "if [ %ld != 0 ]; then busybox yes | busybox head -c"
                 " %ld > /dd.bin && busybox sync && busybox ls -l /dd.bin && busybox rm"
                 " /dd.bin; fi; echo \"written by busybox $(busybox uname -r) through"
                 " %s\" > /hello.txt && busybox sync && busybox cat /hello.txt", bytes, bytes,
                 driver);
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
