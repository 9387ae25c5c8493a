#!/bin/busybox sh
# /init of the EPT-versus-shadow identity test (DebianLinuxIdentityTest): one boot does the same
# disk and network work through every emulated and virtio path of an HVM PC, and prints only what
# does not depend on time, so that the console is the same under EPT and shadow paging.
# modules= (kernel command line, comma-separated, in order) are loaded from /modules. disks=
# lists the block devices (each an ext4 image holding /bin/busybox): each is mounted, gets a
# copy of busybox and /hello.txt naming its driver, is synced and unmounted, then mounted again
# read-only to read both back (a fresh mount: the page cache holds nothing of them). fetch= is
# the size that every network interface, one after the other, fetches from dom0's data server
# (http://GATEWAY/data/SIZE) after a DHCP lease and three pings. Then the kernel powers off.
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t devtmpfs devtmpfs /dev
$B mkdir -p /mnt /tmp
for m in $(echo "$modules" | $B tr ',' ' '); do
  if ! $B insmod "/modules/$m"; then
    echo "identity: insmod $m failed"
    $B poweroff -f
  fi
done
# What every driver prints while probing comes before the workload's own lines.
$B sleep 2
driver() {
  $B basename "$($B readlink "$1/device/driver")"
}
# A disk's driver: the first device up its sysfs path bound to one other than the SCSI disk
# driver (sd): ata_piix (the PCI IDE function) for sda, virtio_blk (the virtio device) for vda.
blkdriver() {
  p=$($B readlink -f "/sys/block/$1/device")
  while [ "$p" != / ] && [ "$p" != /sys ]; do
    if [ -e "$p/driver" ]; then
      x=$($B basename "$($B readlink "$p/driver")")
      if [ "$x" != sd ]; then
        echo "$x"
        return
      fi
    fi
    p=$($B dirname "$p")
  done
  echo unknown
}
for d in $(echo "$disks" | $B tr ',' ' '); do
  i=0
  while [ ! -b "/dev/$d" ] && [ $i -lt 30 ]; do
    $B sleep 1
    i=$((i + 1))
  done
  drv=$(blkdriver "$d")
  if ! $B mount -t ext4 "/dev/$d" /mnt; then
    echo "identity: $d ($drv): mount failed"
    continue
  fi
  $B cp /bin/busybox /mnt/copy
  echo "written through $drv" > /mnt/hello.txt
  $B sync
  $B umount /mnt
  $B mount -t ext4 -o ro "/dev/$d" /mnt
  echo "identity: $d ($drv): $($B cat /mnt/hello.txt), copy md5 $($B md5sum < /mnt/copy)"
  $B umount /mnt
done
$B ifconfig lo 127.0.0.1 up
for n in /sys/class/net/eth*; do
  i=$($B basename "$n")
  drv=$(driver "$n")
  $B ifconfig "$i" up
  if ! $B udhcpc -i "$i" -n -q -t 5 -T 2 -s /usr/share/udhcpc/default.script >/tmp/dhcp 2>&1
  then
    echo "identity: $i ($drv): udhcpc failed"
    continue
  fi
  $B grep udhcpc-script /tmp/dhcp
  gw=$($B cat /router)
  # Counts only: ping's round-trip times are virtual time, which exits advance differently.
  $B ping -q -c 3 -w 30 "$gw" > /tmp/ping 2>&1
  echo "identity: $i ($drv): ping $($B grep 'packets transmitted' /tmp/ping)"
  if $B wget -q -O /tmp/data "http://$gw/data/$fetch"; then
    echo "identity: $i ($drv): fetched $($B wc -c < /tmp/data) bytes, md5 $($B md5sum < /tmp/data)"
  else
    echo "identity: $i ($drv): wget failed"
  fi
  $B rm -f /tmp/data
  $B ifconfig "$i" down
done
echo "identity: done"
$B poweroff -f
