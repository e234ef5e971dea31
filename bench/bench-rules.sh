#!/bin/bash
# Issue 8: all built-in rules, one pass, against reading the same step once
# (vsim_trial_read of every tensor), on (1) a step of the wide model's size
# (11.15 M float32 weights + the same gradients, 89 MB) and (2) a 1 GB step
# (125 M + 125 M), the figure; then watch-mode detection latency (shard
# rename -> verdict). Both modes of the pass are timed: mapping tensors of 1 MiB
# and more (the default) and copying them. Environment: GB_STEPS (4; 0 skips
# the 1 GB run, which needs ~4.5 GB free in $TMPDIR and as much page cache).
# Run when the machine is quiet (uptime load < 1.5): the figures are timings.
set -e
B=${VSIM_BUILD:-build}
GB_STEPS=${GB_STEPS:-4}
D=$(mktemp -d "${TMPDIR:-/tmp}/bench-rules.XXXXXX")
trap 'rm -rf "$D"' EXIT
echo "rules ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
echo "--- the wide model's step"
"$B/tests/helpers/rules-mkrun" healthy "$D/wide" --steps 8 --eval-every 0 --wide 11150657
"$B/bench/bench_rules" eval "$D/wide"
rm -rf "$D/wide"
if [ "$GB_STEPS" -gt 0 ]; then
    avail_mb=$(df -Pm "$D" | awk 'NR == 2 { print $4 }')
    if [ "$avail_mb" -lt $(( GB_STEPS * 1000 + 500 )) ]; then
        echo "--- 1 GB step: skipped, $avail_mb MB free in $D"
    else
        echo "--- a 1 GB step"
        "$B/tests/helpers/rules-mkrun" healthy "$D/gb" --steps "$GB_STEPS" --eval-every 0 \
            --wide 125000000
        "$B/bench/bench_rules" eval "$D/gb"
        rm -rf "$D/gb"
    fi
fi
for poll in 50 200; do
    "$B/bench/bench_rules" latency "$D/live$poll" $poll
done
