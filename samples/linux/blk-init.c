/*
 * /init of the PV disk test's initramfs for Debian's kernel on Hospes: loads xen-blkfront and
 * ext4 (with their dependencies) from /modules, in the order listed in /modules/order, waits
 * for /dev/xvda, mounts it as ext4 on /root and runs the image's busybox there (chrooted) to
 * write /hello.txt and sync. Then it unmounts the disk, so the image is clean, and powers off.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
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

static void power_off(void)
{
    sync();
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
    struct stat st;
    for (int i = 0; i < 200 && stat("/dev/xvda", &st) != 0; i++) {
        usleep(10000);
    }
    if (mount("/dev/xvda", "/root", "ext4", 0, 0) != 0) {
        perror("mount /dev/xvda");
        power_off();
    }
    say("mounted", "/dev/xvda on /root");
    pid_t pid = fork();
    if (pid == 0) {
        if (chroot("/root") != 0 || chdir("/") != 0) {
            perror("chroot");
            _exit(1);
        }
        execl("/bin/busybox", "sh", "-c",
              "echo \"written by busybox $(busybox uname -r) through xen-blkfront\" > /hello.txt"
              " && busybox sync && busybox cat /hello.txt", (char *)0);
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
