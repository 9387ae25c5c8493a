#!/usr/bin/env bash
# Fetches Debian's unmodified 686-pae Linux kernel (the package linux-image-686-pae:i386 depends
# on) into ~/.cache/hospes/debian-kernel/ and prints the path of its vmlinuz. The modules the PV
# disk and network tests load from their initramfs (xen-blkfront and ext4 with its dependencies,
# xen-netfront, ata_piix and sd_mod, virtio_pci, virtio_blk and virtio_net with theirs, e1000), taken from the same package, go to modules/ beside it. Idempotent: a cached kernel is reused. Needs apt
# (root or sudo) the first time only.
set -euo pipefail
cache="${HOSPES_CACHE:-$HOME/.cache/hospes}/debian-kernel"
mkdir -p "$cache"
# In load order: ext4 needs jbd2, mbcache and crc16, and crc32c for its metadata checksums.
# The IDE test's: ata_piix needs libata, scsi_mod and scsi_common; sd_mod needs t10-pi, which
# needs crc-t10dif (crct10dif_common, crct10dif_generic) and crc64-rocksoft (crc64, its generic
# shash).
modules=(drivers/block/xen-blkfront.ko lib/crc16.ko fs/mbcache.ko fs/jbd2/jbd2.ko
  crypto/crc32c_generic.ko fs/ext4/ext4.ko drivers/net/xen-netfront.ko
  drivers/scsi/scsi_common.ko drivers/scsi/scsi_mod.ko drivers/ata/libata.ko
  drivers/ata/ata_piix.ko crypto/crct10dif_common.ko crypto/crct10dif_generic.ko
  lib/crc-t10dif.ko lib/crc64.ko crypto/crc64_rocksoft_generic.ko lib/crc64-rocksoft.ko
  block/t10-pi.ko drivers/scsi/sd_mod.ko
  drivers/virtio/virtio_ring.ko drivers/virtio/virtio.ko drivers/virtio/virtio_pci_legacy_dev.ko
  drivers/virtio/virtio_pci_modern_dev.ko drivers/virtio/virtio_pci.ko
  drivers/block/virtio_blk.ko net/core/failover.ko drivers/net/net_failover.ko
  drivers/net/virtio_net.ko drivers/net/ethernet/intel/e1000/e1000.ko)
if [[ -f "$cache/vmlinuz" && -f "$cache/modules/ext4.ko" && -f "$cache/modules/xen-netfront.ko"
  && -f "$cache/modules/ata_piix.ko" && -f "$cache/modules/sd_mod.ko"
  && -f "$cache/modules/virtio_net.ko" && -f "$cache/modules/e1000.ko" ]]
then
  printf '%s\n' "$cache/vmlinuz"
  exit 0
fi
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
# A mirror caught mid-sync fails an index or two ("Hash Sum mismatch"); one retry after a pause
# usually gets them, and the lists already there may hold the package anyway (checked below).
apt_update() {
  as_root apt-get update -qq && return 0
  echo "fetch-debian-kernel: apt-get update failed; retrying in 10 s" >&2
  sleep 10
  as_root apt-get update -qq && return 0
  echo "fetch-debian-kernel: apt-get update failed again; going on with the package lists there are" >&2
}
if ! dpkg --print-foreign-architectures | grep -qx i386; then
  as_root dpkg --add-architecture i386
  apt_update
fi
pkg="$(apt-cache depends linux-image-686-pae:i386 2>/dev/null \
  | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
if [[ -z "$pkg" ]]; then
  apt_update
  pkg="$(apt-cache depends linux-image-686-pae:i386 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
fi
[[ -n "$pkg" ]] || { echo "fetch-debian-kernel: cannot resolve linux-image-686-pae:i386" >&2; exit 1; }
work="$(mktemp -d)"
chmod 755 "$work"   # apt downloads as the _apt user
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -qq "${pkg%:i386}:i386" >/dev/null)
dpkg-deb -x "$work"/*.deb "$work/x"
cp "$work"/x/boot/vmlinuz-* "$cache/vmlinuz.tmp"
basename "$work"/x/boot/vmlinuz-* > "$cache/version"
mkdir -p "$cache/modules"
for m in "${modules[@]}"; do
  cp "$work"/x/lib/modules/*/kernel/"$m" "$cache/modules/"
done
mv "$cache/vmlinuz.tmp" "$cache/vmlinuz"
printf '%s\n' "$cache/vmlinuz"
