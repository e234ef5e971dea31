#!/bin/bash
# make bench: run every bench/bench-*.sh in name order, one at a time (the
# machine has 2 cores: benchmarks never run concurrently). Each prints its
# figures beside the anchor it is compared to. Output also lands in bench/out/.
set -u
mkdir -p bench/out
status=0
for b in bench/bench-*.sh; do
    [ -e "$b" ] || continue
    if [ -n "${BENCH_ONLY:-}" ] && [[ "$b" != *"$BENCH_ONLY"* ]]; then continue; fi
    echo "=== $b"
    bash "$b" 2>&1 | tee "bench/out/$(basename "$b" .sh).txt" || status=1
done
exit $status
