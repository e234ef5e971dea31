#!/bin/bash
# vsim-ls on a healthy run, JSON parsed back, and every bad input of issue 2:
# message naming the file and the exit status.
. "$(dirname "$0")/lib.sh"
W=$BUILD/tests/helpers/shard-writer

$W "$TMP/run" 25 100 0 2 >/dev/null
expect_exit 0 "ls table" "$BIN/vsim-ls" "$TMP/run"
expect_grep "status line" "ended: completed at step 24" "$TMP/out"
expect_grep "tensor row" "^layer1/weight +weights +float32 +100 +0-24 \(25\)" "$TMP/out"
expect_exit 0 "ls json" "$BIN/vsim-ls" --format json "$TMP/run"
check "json fields" $PYTHON - "$TMP/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["n_workers"] == 1 and d["ended"] and d["end_status"] == "completed", d
assert d["modes"]["train"] == {"count": 25, "first": 0, "last": 24, "steps": "0-24"}, d["modes"]
names = [t["name"] for t in d["tensors"]]
assert names == ["layer0/weight", "layer1/weight", "loss"], names
t = d["tensors"][0]
assert t["dtype"] == "float32" and t["shape"] == [100] and t["n_steps"] == 25, t
assert t["collections"] == "weights" and t["values"] and d["problems"] == []
PY

expect_exit 0 "help" "$BIN/vsim-ls" --help
expect_grep "help lists --format" "--format" "$TMP/out"
expect_exit 2 "bad format value" "$BIN/vsim-ls" --format xml "$TMP/run"
expect_grep "usage message" "vsim-ls: usage error: --format" "$TMP/err"
expect_exit 2 "unknown option" "$BIN/vsim-ls" --bogus "$TMP/run"
expect_exit 2 "missing argument" "$BIN/vsim-ls"

expect_exit 1 "no such folder" "$BIN/vsim-ls" "$TMP/nope"
expect_grep "names the folder" "vsim-ls: error: .*/nope: no such run directory" "$TMP/err"
mkdir "$TMP/empty"
expect_exit 1 "not a run" "$BIN/vsim-ls" "$TMP/empty"
expect_grep "no run.json" "empty: not a run directory \(no run.json\)" "$TMP/err"
mkdir "$TMP/badjson" && printf '{"schema": "vsim-run/1",\n  "n_workers": }' > "$TMP/badjson/run.json"
expect_exit 1 "bad run.json" "$BIN/vsim-ls" "$TMP/badjson"
expect_grep "json line" "badjson/run.json: line 2" "$TMP/err"
mkdir "$TMP/schema" && echo '{"schema": "vsim-run/7"}' > "$TMP/schema/run.json"
expect_exit 1 "unknown schema" "$BIN/vsim-ls" "$TMP/schema"
expect_grep "schema named" "unknown schema 'vsim-run/7'" "$TMP/err"
mkdir "$TMP/unreadable" && echo '{}' > "$TMP/unreadable/run.json" && chmod 000 "$TMP/unreadable/run.json"
if [ "$(id -u)" -ne 0 ]; then
    expect_exit 1 "unreadable run.json" "$BIN/vsim-ls" "$TMP/unreadable"
    expect_grep "cannot open" "run.json: cannot open" "$TMP/err"
fi

# corrupt shards: truncated, garbage, wrong dtype, wrong header; the rest stays readable
cp -r "$TMP/run" "$TMP/bad"
S=$TMP/bad/shards/w0
truncate -s 2000 "$S/step-000000000003.h5"
echo "garbage" > "$S/step-000000000005.h5"
echo "half" > "$S/step-000000000030.h5.tmp"
cp "$S/step-000000000007.h5" "$S/step-000000000100.h5"   # header says step 7
cp -r "$TMP/run" "$TMP/bad2"
$PYTHON - "$TMP/bad2/shards/w0/step-000000000009.h5" <<'PY'
import h5py, sys, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    del f["tensors/layer0/weight"]
    f["tensors/layer0/weight"] = np.zeros(100, dtype=np.float16)
PY
expect_exit 4 "partial exit status" "$BIN/vsim-ls" "$TMP/bad"
expect_grep "truncated named" "step-000000000003.h5: not a readable HDF5 file" "$TMP/err"
expect_grep "garbage named" "step-000000000005.h5: not a readable HDF5 file" "$TMP/err"
expect_grep "header mismatch" "step-000000000100.h5: header says step 7 worker 0, file name says step 100" "$TMP/err"
expect_grep "good steps listed" "^train +23 steps" "$TMP/out"
check "tmp ignored" bash -c "! grep -q 'step-000000000030' '$TMP/err'"
# the float16 dataset is found when read (index says float32): the error names file and dataset
expect_exit 1 "bad dtype on read" $BUILD/tests/helpers/shard-check "$TMP/bad2"
expect_grep "dtype named" "step-000000000009.h5: dataset '/tensors/layer0/weight' has dtype float16" "$TMP/err"
check "run data untouched" cmp "$TMP/run/run.json" "$TMP/bad/run.json"
finish
