#!/bin/busybox sh
# /init of the linux-io study workload (org.hospes.dom0.study.LinuxIo): Debian's kernel does a
# fixed amount of disk and network work through one I/O path, between markers the study sees.
# The kernel command line gives, in init's environment: modules= (the drivers to load from
# /modules, comma-separated, in order), disk= (the block device, sda, vda or xvda; none for no
# disk work), diskmb= (MiB written, then read back), net= (yes for network work) and fetchmb=
# (MiB fetched with wget from dom0's HTTP data server on the NAT gateway, 10.0.2.2:80, which
# generates them in virtual time: no host socket, so the same counts on every run).
# Disk work is direct I/O (O_DIRECT, 64 KiB requests), so the page cache hides nothing and no
# sync or drop_caches is needed. Markers go to /dev/kmsg: printk writes the console
# synchronously, so the study's counter snapshot falls right at the phase's edge. Output of
# the measured commands goes to files, printed after the end marker (console output costs
# exits of its own).
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t devtmpfs devtmpfs /dev
mark() { echo "hospes-io: $*" > /dev/kmsg; }
quit() { mark "done"; $B sync; $B poweroff -f; }
for m in $(echo "$modules" | $B tr ',' ' '); do
  if ! $B insmod "/modules/$m"; then
    mark "insmod $m failed"
    quit
  fi
done
if [ -n "$disk" ] && [ "$disk" != none ]; then
  i=0
  while [ ! -b "/dev/$disk" ] && [ $i -lt 50 ]; do
    $B sleep 1
    i=$((i + 1))
  done
  if [ ! -b "/dev/$disk" ]; then
    mark "no /dev/$disk"
    quit
  fi
  n=$((diskmb * 16))
  $B sleep 1  # let the driver's probe (partition scan) finish before the phase starts
  mark "disk begin"
  $B dd if=/dev/zero of="/dev/$disk" bs=64k count=$n oflag=direct 2>/tmp/dd-write
  w=$?
  $B dd if="/dev/$disk" of=/dev/null bs=64k count=$n iflag=direct 2>/tmp/dd-read
  r=$?
  mark "disk end"
  mark "disk write status $w: $($B tr '\n' ' ' < /tmp/dd-write)"
  mark "disk read status $r: $($B tr '\n' ' ' < /tmp/dd-read)"
fi
if [ "$net" = yes ]; then
  i=0
  while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do
    $B sleep 1
    i=$((i + 1))
  done
  $B ifconfig lo 127.0.0.1 up
  # A static address on dom0's NAT network (its DHCP would give the same one): the gateway
  # 10.0.2.2 answers ARP and ICMP echo itself, in dom0, in virtual time.
  $B ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up
  $B ping -c 1 -w 20 10.0.2.2 >/tmp/ping-warm 2>&1  # ARP resolved before the phase
  # The body goes to /tmp (the initramfs's RAM: a copy, no disk); checked after the phase.
  mark "net begin"
  $B wget -q -O /tmp/data "http://10.0.2.2/data/${fetchmb}M" 2>/tmp/wget
  w=$?
  mark "net end"
  mark "net wget status $w: $($B wc -c < /tmp/data) bytes, md5 $($B md5sum < /tmp/data | $B cut -c1-32) $($B tr '\n' ' ' < /tmp/wget)"
  $B rm -f /tmp/data
fi
quit
