#!/bin/busybox sh
# /init of the PV network test's initramfs for Debian's kernel on Hospes: loads xen-netfront
# from /modules (the kernel package's own module), waits for eth0, gives it the address the
# kernel command line passes in the environment (myip=, as any unknown NAME=VALUE parameter),
# pings peer= three times, lingers linger= seconds (so the peer can ping it back) and powers off.
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
if ! $B insmod /modules/xen-netfront.ko; then
  echo "net-init: insmod xen-netfront failed"
  $B poweroff -f
fi
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do
  $B sleep 1
  i=$((i + 1))
done
echo "net-init: eth0 has MAC $($B cat /sys/class/net/eth0/address)"
$B ifconfig lo 127.0.0.1 up
$B ifconfig eth0 "$myip" netmask 255.255.255.0 up
echo "net-init: eth0 is $myip, pinging $peer"
if $B ping -c 3 -w 30 "$peer"; then
  echo "net-init: ping $peer ok"
else
  echo "net-init: ping $peer failed"
fi
$B sleep "${linger:-0}"
$B poweroff -f
