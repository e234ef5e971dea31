#!/bin/bash
# Issue 14: the regression gate on two demo-size runs (the demo run, seed 1, and a
# second trained with seed 2): from scratch (no cache: every shard read, both
# t-SNE layouts computed) and from saved summary JSON (what CI keeps as the
# baseline's artefact). Anchor: vsim-report --summary-json of one run, the work
# the gate reuses. Goals: from scratch <= 1 s; from summaries <= 100 ms.
set -e
OUT=bench/out/gate
BIN=${VSIM_BIN:-bin}
rm -rf "$OUT" && mkdir -p "$OUT"
export VSIM_QUIET=1
echo "gate ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
if [ ! -e demo/run/END ]; then
    VSIM_BIN=$BIN bash scripts/demo.d/10-samples.sh >/dev/null
    VSIM_BIN=$BIN bash scripts/demo.d/30-train.sh >/dev/null
fi
"$BIN/vsim-train" --data samples/parts.h5 --out "$OUT/seed2" --model slim --loss l2 --steps 200 \
    --batch 64 --lr 1e-3 --eval-interval 50 --save-interval 25 --seed 2 >/dev/null
t0=$(now); "$BIN/vsim-report" --summary-json demo/run --cache none >"$OUT/a.json"; t1=$(now)
"$BIN/vsim-report" --summary-json "$OUT/seed2" --cache none >"$OUT/b.json"
set +e
t2=$(now)
"$BIN/vsim-report" --baseline demo/run --candidate "$OUT/seed2" --cache none --md "$OUT/a.md" \
    --junit "$OUT/a.xml" --json "$OUT/a.json.out"
rc1=$?; t3=$(now)
"$BIN/vsim-report" --baseline "$OUT/a.json" --candidate "$OUT/b.json" --md "$OUT/b.md" \
    --junit "$OUT/b.xml" --json "$OUT/b.json.out"
rc2=$?; t4=$(now)
set -e
cmp -s "$OUT/a.json.out" "$OUT/b.json.out" || echo "WARNING: verdicts from runs and from summaries differ"
echo "verdict (exit $rc1): $(sed -n 3p "$OUT/a.md")"
awk -v one="$(secs "$t0" "$t1")" -v sc="$(secs "$t2" "$t3")" -v js="$(secs "$t3" "$t4")" 'BEGIN {
    printf "summary of one demo run from scratch: %.3f s (the anchor: the work the gate reuses)\n", one
    printf "gate, two demo-size runs from scratch: %.3f s  (goal <= 1 s: %s)\n", sc, sc <= 1 ? "met" : "NOT met"
    printf "gate, from the saved summary JSON: %.3f s  (goal <= 0.1 s: %s)\n", js, js <= 0.1 ? "met" : "NOT met" }'
rm -rf "$OUT/seed2"
