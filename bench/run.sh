#!/usr/bin/env bash
# Runs the Hospes benchmark (Hospes vs QEMU TCG on the bench kernels); arguments go to
# `hospes bench`, e.g.  bench/run.sh --runs 5 --iterations 200000000
set -euo pipefail
cd "$(dirname "$0")/.."
exec ./hospes bench "$@"
