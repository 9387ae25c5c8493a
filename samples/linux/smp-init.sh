#!/bin/busybox sh
# /init of the SMP test's initramfs for Debian's kernel on Hospes: prints the processors
# /proc/cpuinfo lists and the CPUs sysfs has online, has two busybox shells count at once, one
# pinned to each CPU (taskset), each saying where it ran (field 39 of /proc/self/stat), prints
# /proc/interrupts, then powers off. With an I/O APIC (HVM) the serial port's IRQ 4 is moved to
# CPU 1 first, so that its interrupts show the I/O APIC delivering to the second processor.
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
# Background jobs take their stdin from /dev/null.
$B mount -t devtmpfs devtmpfs /dev
if $B grep -q "IO-APIC.*ttyS0" /proc/interrupts; then
  echo 2 > /proc/irq/4/smp_affinity
  echo "smp-init: IRQ 4 affinity $($B cat /proc/irq/4/smp_affinity)"
fi
echo "smp-init: /proc/cpuinfo lists $($B grep -c ^processor /proc/cpuinfo) processors"
$B grep ^processor /proc/cpuinfo
echo "smp-init: online CPUs $($B cat /sys/devices/system/cpu/online)"
for c in 0 1; do
  $B taskset -c $c $B sh -c 'B=/bin/busybox; i=0
    while [ $i -lt 2000 ]; do i=$((i + 1)); done
    echo "smp-init: counter pinned to CPU $0 reached $i on CPU $($B cut -d" " -f39 /proc/self/stat)"' $c &
done
wait
echo "smp-init: /proc/interrupts"
$B cat /proc/interrupts
$B poweroff -f
