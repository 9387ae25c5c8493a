#!/usr/bin/env bash
# Fetches Debian's unmodified 686-pae Linux kernel (the package linux-image-686-pae:i386 depends
# on) into ~/.cache/hospes/debian-kernel/ and prints the path of its vmlinuz. Idempotent: a cached
# kernel is reused. Needs apt (root or sudo) the first time only.
set -euo pipefail
cache="${HOSPES_CACHE:-$HOME/.cache/hospes}/debian-kernel"
mkdir -p "$cache"
if [[ -f "$cache/vmlinuz" ]]; then
  printf '%s\n' "$cache/vmlinuz"
  exit 0
fi
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
if ! dpkg --print-foreign-architectures | grep -qx i386; then
  as_root dpkg --add-architecture i386
  as_root apt-get update -qq
fi
pkg="$(apt-cache depends linux-image-686-pae:i386 2>/dev/null \
  | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
if [[ -z "$pkg" ]]; then
  as_root apt-get update -qq
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
mv "$cache/vmlinuz.tmp" "$cache/vmlinuz"
printf '%s\n' "$cache/vmlinuz"
