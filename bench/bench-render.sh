#!/bin/bash
# bench-render: snapshots per second at 64 x 64 (vsim-render, issue 3): the
# procedural families (9 x 64 designs x 6 views, all threads, no file output)
# and a generated 100k-triangle binary STL. Goal: >= 5,000 snapshots/s procedural
# on the 2-core reference machine. Runs in a few seconds.
set -u
BUILD=${VSIM_BUILD:-build}
B=$BUILD/bench/bench_render
[ -x "$B" ] || { echo "bench-render: $B not built (make bench-build)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vsim-bench-render.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
out=$("$B" 64 "$tmp") || exit 1
printf '%s\n' "$out"
rate=$(printf '%s\n' "$out" | sed -n 's/^procedural:.* = \([0-9]*\) snapshots.*/\1/p')
printf 'procedural snapshots/s at 64x64: %s (goal >= 5000) %s\n' "$rate" \
    "$([ "${rate:-0}" -ge 5000 ] && echo OK || echo BELOW-GOAL)"
