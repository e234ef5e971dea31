#!/bin/bash
# Issue 8: all built-in rules on a wide step (~45 MB of weights + gradients) against
# reading that step once; and watch-mode detection latency (shard rename -> verdict).
# Run when the machine is quiet (uptime load < 1.5): the figures are timings.
set -e
B=${VSIM_BUILD:-build}
D=$(mktemp -d "${TMPDIR:-/tmp}/bench-rules.XXXXXX")
trap 'rm -rf "$D"' EXIT
echo "rules ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
# 5.6 M float32 weights + the same gradients = 45 MB per step, 4 train steps
"$B/tests/helpers/rules-mkrun" healthy "$D/wide" --steps 4 --eval-every 0 --wide 5600000
sync
"$B/bench/bench_rules" eval "$D/wide"
for poll in 50 200; do
    "$B/bench/bench_rules" latency "$D/live$poll" $poll
done
