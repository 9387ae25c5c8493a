#!/usr/bin/env bash
# Records the golden serial output of the test kernels under QEMU.
#
#   samples/kernels/record-golden.sh            all test kernels
#   samples/kernels/record-golden.sh smc arith  only these
#   CHECK=1 samples/kernels/record-golden.sh    compare with the goldens instead of writing them
#
# Each kernel runs under exactly this command (see also NativeKernelsTest/QemuGoldenTest):
#   qemu-system-i386 -accel tcg -nographic -display none -serial stdio -monitor none \
#     -device isa-debug-exit,iobase=0xf4,iosize=0x04 -m 64 -no-reboot -net none -kernel build/NAME.elf
# The run must end through the debug-exit port with status 33 ((0x10 << 1) | 1).
# QEMU's stdout starts with SeaBIOS's serial console output (terminal escapes, a banner and
# "Booting from ROM..", whose third dot sometimes comes late); everything up to and including
# that marker and its dots is stripped. What is left is exactly what the kernel wrote to COM1,
# and is saved as golden/NAME.out.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
BUILD=${BUILD:-build}
TIMEOUT=${TIMEOUT:-120}

if ! command -v qemu-system-i386 >/dev/null; then
    echo "qemu-system-i386 not found: install qemu-system-x86" >&2
    exit 2
fi

kernels=("$@")
if [ ${#kernels[@]} -eq 0 ]; then
    kernels=(hello arith memory strings smc empty timer paging demand ring3 doublefault segments marker debug vm86 fep realmode)
fi

make -s BUILD="$BUILD" "${kernels[@]}"
mkdir -p golden
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rc=0
for k in "${kernels[@]}"; do
    elf="$BUILD/$k.elf"
    set +e
    timeout "$TIMEOUT" qemu-system-i386 -accel tcg -nographic -display none -serial stdio -monitor none \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 -m 64 -no-reboot -net none \
        -kernel "$elf" </dev/null >"$tmp/raw" 2>"$tmp/err"
    status=$?
    set -e
    if [ "$status" -ne 33 ]; then
        echo "$k: QEMU exit status $status, expected 33" >&2
        cat "$tmp/err" >&2
        tail -c 2000 "$tmp/raw" >&2 || true
        rc=1
        continue
    fi
    if ! perl -0777 -ne 'exit(/Booting from ROM\.\./ ? 0 : 1)' "$tmp/raw"; then
        echo "$k: SeaBIOS marker 'Booting from ROM..' not found in QEMU output" >&2
        rc=1
        continue
    fi
    perl -0777 -pe 's/\A.*?Booting from ROM\.\.\.*(?:\r\n)?//s' "$tmp/raw" >"$tmp/$k.out"
    if [ "${CHECK:-0}" = 1 ]; then
        if cmp -s "$tmp/$k.out" "golden/$k.out"; then
            echo "$k: matches golden ($(wc -c <"golden/$k.out") bytes)"
        else
            echo "$k: DIFFERS from golden/$k.out" >&2
            diff "golden/$k.out" "$tmp/$k.out" | head -20 >&2 || true
            rc=1
        fi
    else
        cp "$tmp/$k.out" "golden/$k.out"
        echo "$k: recorded golden/$k.out ($(wc -c <"golden/$k.out") bytes, status $status)"
    fi
done
exit $rc
