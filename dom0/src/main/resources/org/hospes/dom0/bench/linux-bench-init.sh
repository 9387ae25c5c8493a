#!/bin/busybox sh
# /init of the initramfs `hospes bench --linux` generates (run by busybox-static:i386). It
# prints the bench's marker and powers the machine off at once. The marker goes to the kernel
# log, not to stdout: the command line names two consoles, hvc0 (Xen's PV console, which
# Hospes's PVH domain has) and ttyS0 (the COM1 of QEMU's PC), so that both emulators boot the
# same command line, and the kernel log reaches whichever of them exists, where /dev/console
# may be the one that does not. Level 2 (KERN_CRIT) keeps it printed under "quiet" too.
/bin/busybox mount -t devtmpfs devtmpfs /dev
echo "<2>hospes-bench: /init reached" > /dev/kmsg
/bin/busybox poweroff -f
