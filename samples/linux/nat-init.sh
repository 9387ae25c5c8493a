#!/bin/busybox sh
# /init of the NAT test's initramfs for Debian's kernel on Hospes: loads xen-netfront from
# /modules (the kernel package's own module), leases an address from dom0's NAT gateway with
# busybox udhcpc (its script, /usr/share/udhcpc/default.script, applies the lease), pings the
# gateway three times and fetches http://GATEWAY:port/hello.txt, which NAT maps to the test's
# HTTP server on the host's loopback (port= comes from the kernel command line, in the
# environment as any unknown NAME=VALUE parameter). Prints the body's size and md5 and powers off.
# modules= on the command line lists other drivers to load instead, comma-separated, in order
# (the virtio test: modules=virtio_ring.ko,virtio.ko,...,virtio_net.ko).
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
for m in $(echo "${modules:-xen-netfront.ko}" | $B tr ',' ' '); do
  if ! $B insmod "/modules/$m"; then
    echo "nat-init: insmod $m failed"
    $B poweroff -f
  fi
done
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do
  $B sleep 1
  i=$((i + 1))
done
$B ifconfig lo 127.0.0.1 up
$B ifconfig eth0 up
if ! $B udhcpc -i eth0 -n -q -t 5 -T 2 -s /usr/share/udhcpc/default.script; then
  echo "nat-init: udhcpc failed"
  $B poweroff -f
fi
gw=$($B cat /router)
if $B ping -c 3 -w 30 "$gw"; then
  echo "nat-init: ping $gw ok"
else
  echo "nat-init: ping $gw failed"
fi
# No -T: Debian 12's busybox-static wget segfaults on it (a NULL store in getopt32; qemu-i386 too).
if $B wget -q -O /hello.txt "http://$gw:$port/hello.txt"; then
  echo "nat-init: wget ok, $($B wc -c < /hello.txt) bytes, md5 $($B md5sum < /hello.txt)"
else
  echo "nat-init: wget failed"
fi
$B poweroff -f
