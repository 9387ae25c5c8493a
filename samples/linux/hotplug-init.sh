#!/bin/busybox sh
# /init of the disk hot-plug test's initramfs for Debian's kernel on Hospes: loads xen-blkfront
# and ext4 (the kernel package's own modules, in dependency order) with no disk attached, says
# so and waits for the host to attach one (xen-blkfront sees it through its xenbus watch). It
# mounts xvda read-only, prints /hello.txt, unmounts, says so and waits for the host to detach
# it (xen-blkfront closes and removes /sys/block/xvda), then says so and powers off.
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t devtmpfs devtmpfs /dev
for m in xen-blkfront crc16 mbcache jbd2 crc32c_generic ext4; do
  if ! $B insmod /modules/$m.ko; then
    echo "hotplug-init: insmod $m failed"
    $B poweroff -f
  fi
done
echo "hotplug-init: no disk, waiting for xvda"
while [ ! -e /sys/block/xvda ]; do
  $B sleep 0.2
done
i=0
while [ ! -b /dev/xvda ] && [ $i -lt 50 ]; do
  $B sleep 0.1
  i=$((i + 1))
done
$B mkdir -p /mnt
if $B mount -t ext4 -o ro /dev/xvda /mnt; then
  echo "hotplug-init: read [$($B cat /mnt/hello.txt)]"
  $B umount /mnt
else
  echo "hotplug-init: mount xvda failed"
fi
echo "hotplug-init: xvda unmounted, waiting for it to go"
while [ -e /sys/block/xvda ]; do
  $B sleep 0.2
done
echo "hotplug-init: xvda is gone"
$B poweroff -f
