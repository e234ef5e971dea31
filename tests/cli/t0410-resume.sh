#!/bin/bash
# tests/cli/t0410-resume.sh - vsim-train --resume: a run killed (SIGKILL, twice) or
# stopped (STOP) and resumed from its checkpoint ends with the same shards, tensors
# and model, bit for bit, as the same run uninterrupted (CPU); a completed run resumes
# as a no-op; a run without a checkpoint, a diverged run, a changed dataset and
# options beside --resume are refused with clear errors.
. "$(dirname "$0")/lib.sh"
T="$BIN/vsim-train"
M="input=16,conv=4-8,fc=16-8"

"$PYTHON" "$(dirname "$0")/tiny_data.py" "$TMP/data.h5"
"$PYTHON" "$(dirname "$0")/tiny_data.py" "$TMP/other.h5" 4   # more designs: another split
D="$TMP/data.h5"
# learning-rate decay, evaluations between checkpoints, a checkpoint interval that
# is not a multiple of either: every counter must come back
A=(--data "$D" --model "$M" --steps 300 --batch 8 --eval-interval 25 --save-interval 10
   --checkpoint-interval 7 --threads 1 --lr-decay step:0.5:60 --loss l2+ssim)

# same_run A B: the shard lists equal and every dataset and attribute but the wall
# time equal byte for byte; model.h5 equal; run.json's run id kept.
cat >"$TMP/same.py" <<'PY'
import sys, os, json, h5py, numpy as np
a, b = sys.argv[1], sys.argv[2]
la, lb = sorted(os.listdir(a + "/shards/w0")), sorted(os.listdir(b + "/shards/w0"))
if la != lb:
    sys.exit(f"shards differ: {sorted(set(la) ^ set(lb))[:5]}")
def items(f):
    out = {}
    f.visititems(lambda p, o: out.__setitem__(p, o[()]) if isinstance(o, h5py.Dataset) else None)
    return out
n = 0
for name in la:
    with h5py.File(f"{a}/shards/w0/{name}") as x, h5py.File(f"{b}/shards/w0/{name}") as y:
        ka = {k: np.asarray(v) for k, v in x.attrs.items() if k != "wall_time"}
        kb = {k: np.asarray(v) for k, v in y.attrs.items() if k != "wall_time"}
        if ka.keys() != kb.keys() or any(not np.array_equal(ka[k], kb[k]) for k in ka):
            sys.exit(f"{name}: attributes differ")
        da, db = items(x), items(y)
        if da.keys() != db.keys():
            sys.exit(f"{name}: tensors differ: {sorted(set(da) ^ set(db))}")
        for k in da:
            if da[k].dtype != db[k].dtype or da[k].tobytes() != db[k].tobytes():
                sys.exit(f"{name}: {k} differs")
            n += 1
with h5py.File(a + "/model.h5") as x, h5py.File(b + "/model.h5") as y:
    da, db = items(x), items(y)
    if da.keys() != db.keys() or any(da[k].tobytes() != db[k].tobytes() for k in da):
        sys.exit("model.h5 differs")
if len(sys.argv) > 3:
    if json.load(open(b + "/run.json"))["run_id"] != sys.argv[3]:
        sys.exit("run id changed")
print(f"{len(la)} shards, {n} tensors equal")
PY
same() { "$PYTHON" "$TMP/same.py" "$@" >"$TMP/same.out" 2>&1 || { cat "$TMP/same.out" >&2; return 1; }; }
run_id() { "$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["run_id"])' "$1/run.json"; }
# start_until RUN SHARD: train RUN in the background until shard SHARD exists
start_until() {
    "$T" "${@:3}" >"$TMP/bg.out" 2>&1 &
    pid=$!
    for _ in $(seq 600); do
        [ -e "$1/shards/w0/$2" ] && break
        sleep 0.01
    done
}

expect_exit 0 "uninterrupted run" "$T" "${A[@]}" --out "$TMP/full"
check "the uninterrupted run has a checkpoint" test -s "$TMP/full/checkpoint.h5"

# SIGKILL mid-run, resume, SIGKILL the resumed process, resume again.
start_until "$TMP/kill" step-000000000100.h5 "${A[@]}" --out "$TMP/kill"
kill -9 $pid; wait $pid 2>/dev/null
check "killed before the end (no END)" test ! -e "$TMP/kill/END"
id=$(run_id "$TMP/kill")
expect_exit 0 "resume after SIGKILL" "$T" --resume "$TMP/kill" --threads 1
expect_grep "resumed run completes" '^status	completed' "$TMP/out"
expect_grep "steps counted from the start" '^steps	300' "$TMP/out"
same "$TMP/full" "$TMP/kill" "$id"; check "killed + resumed == uninterrupted, bit for bit" test $? -eq 0

rm -rf "$TMP/kill2"
start_until "$TMP/kill2" step-000000000060.h5 "${A[@]}" --out "$TMP/kill2"
kill -9 $pid; wait $pid 2>/dev/null
"$T" --resume "$TMP/kill2" >"$TMP/bg.out" 2>&1 &
pid=$!
for _ in $(seq 600); do
    [ -e "$TMP/kill2/shards/w0/step-000000000200.h5" ] && break
    sleep 0.01
done
kill -9 $pid; wait $pid 2>/dev/null
check "second kill before the end" test ! -e "$TMP/kill2/END"
expect_exit 0 "second resume" "$T" --resume "$TMP/kill2"
same "$TMP/full" "$TMP/kill2"; check "killed twice + resumed == uninterrupted" test $? -eq 0

# STOP, then resume: the stopped run's END goes, the final one says completed.
start_until "$TMP/stop" step-000000000040.h5 "${A[@]}" --out "$TMP/stop"
touch "$TMP/stop/STOP"
wait $pid
expect_grep "STOP ends the run as stopped" '"status": "stopped"' "$TMP/stop/END"
expect_exit 0 "resume a stopped run" "$T" --resume "$TMP/stop"
check "STOP removed by the resume" test ! -e "$TMP/stop/STOP"
expect_grep "END says completed" '"status": "completed"' "$TMP/stop/END"
same "$TMP/full" "$TMP/stop"; check "stopped + resumed == uninterrupted" test $? -eq 0
check "run.json keeps the parameters" grep -q '"steps": 300' "$TMP/stop/run.json"

# A completed run: nothing to do, nothing written.
before=$(ls -l --time-style=+%s.%N "$TMP/full/shards/w0" "$TMP/full/END" | md5sum)
expect_exit 0 "resume a completed run" "$T" --resume "$TMP/full"
expect_grep "completed run: status" '^status	completed' "$TMP/out"
after=$(ls -l --time-style=+%s.%N "$TMP/full/shards/w0" "$TMP/full/END" | md5sum)
check "completed run untouched" test "$before" = "$after"

# Refusals.
start_until "$TMP/nock" step-000000000030.h5 "${A[@]}" --checkpoint-interval 0 --out "$TMP/nock"
kill -9 $pid; wait $pid 2>/dev/null
expect_exit 1 "no checkpoint" "$T" --resume "$TMP/nock"
expect_grep "no checkpoint: named" 'nock/checkpoint.h5' "$TMP/err"
expect_exit 1 "not a run" "$T" --resume "$TMP/nowhere"
expect_grep "not a run: named" 'nowhere' "$TMP/err"
expect_exit 2 "--steps beside --resume" "$T" --resume "$TMP/stop" --steps 10
expect_grep "--resume usage message" 'only --threads' "$TMP/err"
"$T" --data "$D" --out "$TMP/nan" --model "$M" --steps 20 --batch 8 --lr nan \
    --checkpoint-interval 5 --threads 1 >/dev/null 2>&1
expect_exit 1 "diverged run refused" "$T" --resume "$TMP/nan"
expect_grep "diverged: said" 'diverged' "$TMP/err"
# the checkpoint's data order against another dataset's split
start_until "$TMP/chg" step-000000000030.h5 "${A[@]}" --out "$TMP/chg"
kill -9 $pid; wait $pid 2>/dev/null
"$PYTHON" - "$TMP/chg/checkpoint.h5" "$TMP/other.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    f.attrs["data"] = sys.argv[2]
PY
expect_exit 1 "changed dataset refused" "$T" --resume "$TMP/chg"
expect_grep "changed dataset: said" 'was the dataset changed' "$TMP/err"
check "refused resume left no END" test ! -e "$TMP/chg/END"
finish
