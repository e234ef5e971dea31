#!/bin/bash
# tests/cli/t0400-train.sh - vsim-train end to end on a tiny dataset: a run completes
# (END, run.json, model.h5, shards), STOP is honoured within one step, a NaN learning
# rate ends as diverged with the shards kept, bad inputs fail cleanly and write nothing,
# --embed writes latent vectors, --device cuda on a CPU-only build is a clear error.
. "$(dirname "$0")/lib.sh"
T="$BIN/vsim-train"
M="input=16,conv=4-8,fc=16-8"

"$PYTHON" "$(dirname "$0")/tiny_data.py" "$TMP/data.h5"
"$PYTHON" -c 'import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f: f["labels"] = np.zeros(4, np.int32)' "$TMP/noimages.h5"
D="$TMP/data.h5"

# A run completes.
expect_exit 0 "train completes" "$T" --data "$D" --out "$TMP/run" --model "$M" --steps 12 \
    --batch 8 --eval-interval 5 --save-interval 4 --threads 2 --loss l2+ssim
expect_grep "stdout status" '^status	completed' "$TMP/out"
check "images/s after the first step printed, positive" awk -F'\t' \
    '$1 == "images_per_s_steady" && $2 > 0 { ok = 1 } END { exit !ok }' "$TMP/out"
expect_grep "END completed" '"status": "completed"' "$TMP/run/END"
check "run.json written" test -s "$TMP/run/run.json"
check "model saved" test -s "$TMP/run/model.h5"
n=$(ls "$TMP/run/shards/w0" | grep -c '^step-.*\.h5$')
check "15 shards (12 train + 3 eval)" test "$n" -eq 15
expect_grep "hyper-parameters in run.json" '"loss": "l2\+ssim"' "$TMP/run/run.json"
expect_grep "label names in run.json" '"label_names": \["disc", "ring", "dot"\]' "$TMP/run/run.json"

# STOP within one step.
"$T" --data "$D" --out "$TMP/stop" --model "$M" --steps 100000000 --batch 8 \
    --eval-interval 0 --threads 1 >"$TMP/stop.out" 2>"$TMP/stop.err" &
pid=$!
for _ in $(seq 200); do
    [ -e "$TMP/stop/shards/w0/step-000000000003.h5" ] && break
    sleep 0.05
done
touch "$TMP/stop/STOP"
seen=$(ls "$TMP/stop/shards/w0" | grep -c '^step-.*\.h5$')
wait $pid
rc=$?
check "stopped run exits 0" test "$rc" -eq 0
expect_grep "END stopped" '"status": "stopped"' "$TMP/stop/END"
after=$(ls "$TMP/stop/shards/w0" | grep -c '^step-.*\.h5$')
check "at most one step after STOP ($seen -> $after)" test "$after" -le $((seen + 1))
check "stopped run saved its model" test -s "$TMP/stop/model.h5"

# A NaN learning rate diverges; shards are kept.
expect_exit 1 "NaN lr fails" "$T" --data "$D" --out "$TMP/nan" --model "$M" --steps 5 \
    --batch 8 --lr nan
expect_grep "diverged message" 'diverged' "$TMP/err"
expect_grep "END diverged" '"status": "diverged"' "$TMP/nan/END"
check "shards kept" test -e "$TMP/nan/shards/w0/step-000000000000.h5"

# Bad inputs: clear error, nothing written.
expect_exit 1 "no images" "$T" --data "$TMP/noimages.h5" --out "$TMP/bad1" --model "$M"
expect_grep "names images" "images" "$TMP/err"
check "no run folder for a bad dataset" test ! -e "$TMP/bad1"
expect_exit 1 "size mismatch" "$T" --data "$D" --out "$TMP/bad2" --model wide
expect_grep "names the sizes" "16x16.*64x64" "$TMP/err"
check "no run folder for a bad size" test ! -e "$TMP/bad2"
expect_exit 1 "unknown model" "$T" --data "$D" --out "$TMP/bad3" --model huge
expect_grep "names the spec" "unknown model spec 'huge'" "$TMP/err"
expect_exit 1 "unknown loss" "$T" --data "$D" --out "$TMP/bad4" --model "$M" --loss l1
before=$(cd "$TMP/run" && find . -type f | sort | xargs md5sum)
expect_exit 1 "bad model into an existing run" "$T" --data "$D" --out "$TMP/run" --model huge
expect_exit 1 "good model into an existing run" "$T" --data "$D" --out "$TMP/run" --model "$M" \
    --steps 2 --batch 8
expect_grep "existing run refused" "already holds a run" "$TMP/err"
after=$(cd "$TMP/run" && find . -type f | sort | xargs md5sum)
check "existing run untouched" test "$before" = "$after"
expect_exit 1 "cuda unavailable" "$T" --data "$D" --out "$TMP/bad5" --model "$M" --device cuda
expect_grep "cuda error is clear" "CUDA|GPU|cuda" "$TMP/err"
check "no run folder for cuda" test ! -e "$TMP/bad5"
expect_exit 2 "usage: no --data" "$T" --out "$TMP/bad6"

# --embed
expect_exit 0 "embed" "$T" --embed --model-file "$TMP/run/model.h5" --data "$D" \
    --out "$TMP/emb.h5"
"$PYTHON" -c "
import h5py, sys
f = h5py.File('$TMP/emb.h5', 'r')
assert f['latent'].shape == (36, 8), f['latent'].shape
assert list(f['design_id'][:4]) == [50, 50, 50, 51]
" 2>"$TMP/err"
check "embeddings file has latent, design ids" test $? -eq 0
finish
