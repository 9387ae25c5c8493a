#!/bin/busybox sh
# /init of the SMP test's initramfs for Debian's kernel on Hospes: prints the processors
# /proc/cpuinfo lists and the CPUs sysfs has online, then powers off.
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
echo "smp-init: /proc/cpuinfo lists $($B grep -c ^processor /proc/cpuinfo) processors"
$B grep ^processor /proc/cpuinfo
echo "smp-init: online CPUs $($B cat /sys/devices/system/cpu/online)"
$B poweroff -f
