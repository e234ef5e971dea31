#!/bin/bash
# Demo step: per-layer statistics of the last step of the demo training run
# (demo/run, written by the trainer step), as a table and as CSV in demo/stats.csv.
set -eu
BIN=${VSIM_BIN:-$PWD/bin}
RUN=${DEMO_RUN:-demo/run}
if [ ! -e "$RUN/run.json" ]; then
    echo "40-stats: $RUN has no run.json (the trainer step makes it); skipped"
    exit 0
fi
VSIM_QUIET=1 "$BIN/vsim-stats" "$RUN" --by-layer
VSIM_QUIET=1 "$BIN/vsim-stats" "$RUN" --all-steps --format csv > demo/stats.csv
VSIM_QUIET=1 "$BIN/vsim-stats" "$RUN" --all-steps --across-steps -c gradients --format csv \
    > demo/stats-gradients.csv
echo "demo/stats.csv and demo/stats-gradients.csv written"
