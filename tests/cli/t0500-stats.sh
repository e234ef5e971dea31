#!/bin/bash
# vsim-stats (issue 5): CSV and JSON parsed back and compared with numpy on h5py
# reads of the shards; step, worker, mode, collection and regex selection;
# histograms; --across-steps; --by-layer; a corrupt shard (exit 4, file named);
# --follow on a live run; usage errors.
. "$(dirname "$0")/lib.sh"
MK=$BUILD/tests/helpers/stats-mkrun
S=$BIN/vsim-stats
RUN=$TMP/run

$MK "$RUN" 6 2 >/dev/null || fail "stats-mkrun"

# numpy reference for one CSV/JSON row; used by every comparison below
cat > "$TMP/ref.py" <<'PY'
import csv, json, math, sys
import h5py, numpy as np

def shard(run, w, step):
    return "%s/shards/w%d/step-%012d.h5" % (run, w, step)

def values(run, w, step, name):
    with h5py.File(shard(run, w, step), "r") as f:
        return np.asarray(f["tensors/" + name][()], dtype=np.float64).ravel()

def ref(x, pcts):
    fin = x[np.isfinite(x)]
    r = {"count": x.size, "nan": int(np.isnan(x).sum()), "posinf": int(np.isposinf(x).sum()),
         "neginf": int(np.isneginf(x).sum()), "zeros": int((fin == 0).sum()),
         "min": fin.min(), "max": fin.max(), "mean": fin.mean(), "std": fin.std(),
         "l1": np.abs(fin).sum(), "l2": np.sqrt(np.dot(fin, fin))}
    for q in pcts:
        r["p%g" % q] = np.percentile(fin, q)
    return r

def close(got, want, tol=1e-9):
    got, want = float(got), float(want)
    return abs(got - want) <= tol * max(abs(want), 1e-300) or got == want

def check_row(run, row, pcts):
    x = values(run, int(row["worker"]), int(row["step"]), row["tensor"])
    want = ref(x, pcts)
    for k, v in want.items():
        assert close(row[k], v), (row["tensor"], row["step"], k, row[k], v)
    return x
PY

# ---- CSV of every step, compared with numpy
expect_exit 0 "csv all steps" "$S" --all-steps --format csv "$RUN"
check "csv equals numpy" $PYTHON - "$RUN" "$TMP/out" "$TMP" <<'PY'
import csv, sys
sys.path.insert(0, sys.argv[3]); from ref import *
run = sys.argv[1]
rows = list(csv.DictReader(open(sys.argv[2])))
head = open(sys.argv[2]).readline().strip().split(",")
assert head == ("worker,step,mode,tensor,collections,count,nan,posinf,neginf,zeros,min,max,"
                "mean,std,l1,l2,p1,p5,p25,p50,p75,p95,p99").split(","), head
assert len(rows) == 6 * 2 * 7, len(rows)
for r in rows:
    check_row(run, r, [1, 5, 25, 50, 75, 95, 99])
modes = {int(r["step"]): r["mode"] for r in rows}
assert modes == {0: "train", 10: "train", 20: "eval", 30: "train", 40: "train", 50: "eval"}, modes
bias = [r for r in rows if r["tensor"] == "enc/conv1/bias"][0]
assert (bias["nan"], bias["posinf"], bias["neginf"]) == ("1", "1", "1"), bias
PY

# ---- tensors of 1 MiB and more are mapped (vsim_trial_map), not read: same numbers
$MK "$TMP/big" 2 1 0 100000 >/dev/null || fail "stats-mkrun big"
expect_exit 0 "csv, mapped tensors" "$S" --all-steps --format csv "$TMP/big"
check "mapped tensors equal numpy" $PYTHON - "$TMP/big" "$TMP/out" "$TMP" <<'PY'
import csv, sys
sys.path.insert(0, sys.argv[3]); from ref import *
rows = list(csv.DictReader(open(sys.argv[2])))
assert len(rows) == 2 * 7, len(rows)
big = 0
for r in rows:
    x = check_row(sys.argv[1], r, [1, 5, 25, 50, 75, 95, 99])
    big += x.nbytes >= 1 << 20
assert big >= 4, big
PY

# ---- JSON, default selection (the last complete step), other percentiles
expect_exit 0 "json" "$S" --format json --percentiles 10,33.5,90 "$RUN"
check "json equals numpy" $PYTHON - "$RUN" "$TMP/out" "$TMP" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[3]); from ref import *
d = json.load(open(sys.argv[2]))
assert d["problems"] == 0 and len(d["rows"]) == 14, d
for r in d["rows"]:
    assert r["step"] == 50, r
    for k in ("nan", "posinf", "neginf", "zeros", "count"):
        assert isinstance(r[k], int), (k, r)
    check_row(sys.argv[1], r, [10, 33.5, 90])
PY

# ---- selection: step, worker, range, mode, collection, regex
expect_exit 0 "step and worker" "$S" --step 20 --worker 1 --format csv "$RUN"
check "one step one worker" test "$(cut -d, -f1,2 "$TMP/out" | sort -u | tr '\n' ' ')" = \
    "1,20 worker,step "
expect_exit 0 "range" "$S" --steps 10:30 --format csv -c gradients "$RUN"
check "range rows" test "$(cut -d, -f2 "$TMP/out" | tail -n +2 | sort -un | tr '\n' ' ')" = \
    "10 20 30 "
expect_exit 0 "range stride" "$S" --steps 0:50:20 --format csv -c gradients -w 0 "$RUN"
check "stride rows" test "$(cut -d, -f2 "$TMP/out" | tail -n +2 | tr '\n' ' ')" = "0 20 40 "
expect_exit 0 "mode eval" "$S" --all-steps --mode eval --format csv -c losses "$RUN"
check "eval steps" test "$(cut -d, -f2,3 "$TMP/out" | tail -n +2 | sort -u | tr '\n' ' ')" = \
    "20,eval 50,eval "
expect_exit 0 "two collections" "$S" -c biases -c metrics --format csv -w 0 "$RUN"
check "collections rows" test "$(cut -d, -f4 "$TMP/out" | tail -n +2 | tr '\n' ' ')" = \
    "enc/conv1/bias dec/fc/step "
expect_exit 0 "regex" "$S" --regex '^dec/' --format csv -w 0 "$RUN"
check "regex rows" test "$(cut -d, -f4 "$TMP/out" | tail -n +2 | tr '\n' ' ')" = \
    "dec/fc/weight dec/fc/step "

# ---- histograms, linear and log
expect_exit 0 "bins" "$S" --bins 7 --format csv -w 1 "$RUN"
check "hist equals numpy" $PYTHON - "$RUN" "$TMP/out" "$TMP" <<'PY'
import csv, sys
sys.path.insert(0, sys.argv[3]); from ref import *
for r in csv.DictReader(open(sys.argv[2])):
    x = check_row(sys.argv[1], r, [1, 5, 25, 50, 75, 95, 99])
    fin = x[np.isfinite(x)]
    counts, edges = np.histogram(fin, bins=7)
    assert [int(c) for c in r["hist"].split(";")] == list(counts), (r["tensor"], r["hist"], counts)
    assert close(r["hist_lo"], edges[0], 1e-15) and close(r["hist_hi"], edges[-1], 1e-15)
PY
expect_exit 0 "log bins" "$S" --bins 6 --log-bins --format json -r weight "$RUN"
check "log hist equals numpy" $PYTHON - "$RUN" "$TMP/out" "$TMP" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[3]); from ref import *
for r in json.load(open(sys.argv[2]))["rows"]:
    x = values(sys.argv[1], r["worker"], r["step"], r["tensor"])
    nz = np.abs(x[np.isfinite(x) & (x != 0)])
    counts, edges = np.histogram(np.log10(nz), bins=6)
    assert r["hist"]["counts"] == list(counts) and r["hist"]["log"], (r["hist"], counts)
PY

# ---- across steps: first/last/min/max and the L2 trend over both workers
expect_exit 0 "across steps" "$S" --all-steps --across-steps --format csv "$RUN"
check "series equal numpy" $PYTHON - "$RUN" "$TMP/out" "$TMP" <<'PY'
import csv, sys
sys.path.insert(0, sys.argv[3]); from ref import *
rows = {r["tensor"]: r for r in csv.DictReader(open(sys.argv[2]))}
assert len(rows) == 7, rows.keys()
r = rows["gradients/enc/conv1/weight"]
pts = [(s, ref(values(sys.argv[1], w, s, r["tensor"]), [])) for s in range(0, 60, 10)
       for w in (0, 1)]
steps = np.array([p[0] for p in pts], dtype=float)
l2 = np.array([p[1]["l2"] for p in pts])
slope = np.polyfit(steps, np.log10(l2), 1)[0]
assert slope < 0 and close(r["l2_trend"], slope, 1e-9), (r["l2_trend"], slope)
assert close(r["l2_min"], l2.min()) and close(r["l2_max"], l2.max())
assert close(r["std_first"], pts[0][1]["std"]) and int(r["n_steps"]) == 12
assert r["first_step"] == "0" and r["last_step"] == "50"
PY

# ---- by layer: a layer's weight, bias and gradient together
expect_exit 0 "by layer" "$S" --by-layer --format csv -w 0 "$RUN"
check "layer order" test "$(cut -d, -f4,24 "$TMP/out" | tail -n +2 | tr '\n' ' ')" = \
    "enc/conv1/weight,enc/conv1 enc/conv1/bias,enc/conv1 gradients/enc/conv1/weight,enc/conv1 \
dec/fc/weight,dec/fc dec/fc/step,dec/fc images/input,images loss,loss "
expect_exit 0 "by layer table" "$S" --by-layer "$RUN"
expect_grep "layer header" '^\[enc/conv1\]$' "$TMP/out"

# ---- a corrupt shard: reported with its name, skipped, exit 4
cp -r "$RUN" "$TMP/bad"
echo garbage > "$TMP/bad/shards/w1/step-000000000030.h5"
expect_exit 4 "corrupt shard" "$S" --all-steps --format csv "$TMP/bad"
expect_grep "names the file" "vsim-stats: warning: .*w1/step-000000000030.h5" "$TMP/err"
check "rest processed" test "$(tail -n +2 "$TMP/out" | wc -l)" -eq 70
cp -r "$RUN" "$TMP/bad2"
$PYTHON - "$TMP/bad2/shards/w0/step-000000000050.h5" <<'PY'
import h5py, sys
with h5py.File(sys.argv[1], "r+") as f:
    d = f["tensors/dec/fc/weight"]
    off = d.id.get_offset()
open(sys.argv[1], "r+b").truncate(off + 100)
PY
expect_exit 4 "truncated shard" "$S" --format csv "$TMP/bad2"
expect_grep "truncated named" "step-000000000050.h5" "$TMP/err"

# ---- --follow on a live run: every step once, in order, until END
$MK "$TMP/live" 8 1 250 >/dev/null &
mk_pid=$!
for _ in $(seq 100); do [ -e "$TMP/live/shards/w0/step-000000000000.h5" ] && break; sleep 0.05; done
expect_exit 0 "follow" timeout 30 "$S" --follow --format csv -c losses "$TMP/live"
wait $mk_pid
check "follow saw the tail once" $PYTHON - "$TMP/out" <<'PY'
import csv, sys
steps = [int(r["step"]) for r in csv.DictReader(open(sys.argv[1]))]
assert steps == sorted(set(steps)) and steps[-1] == 70 and len(steps) >= 4, steps
assert steps == list(range(steps[0], 80, 10)), steps
PY

# ---- usage and errors
expect_exit 2 "bad range" "$S" --steps 5 "$RUN"
expect_exit 2 "bad format" "$S" --format xml "$RUN"
expect_exit 2 "bad percentile" "$S" --percentiles 5,101 "$RUN"
expect_exit 2 "exclusive steps" "$S" --step 10 --all-steps "$RUN"
expect_exit 1 "no such step" "$S" --step 15 "$RUN"
expect_grep "step named" "step 15 is not a complete step" "$TMP/err"
expect_exit 1 "no such run" "$S" "$TMP/nope"
expect_grep "error line" "^vsim-stats: error: " "$TMP/err"
expect_exit 1 "bad regex" "$S" --regex '(' "$RUN"
expect_exit 0 "help" "$S" --help
expect_grep "help lists --across-steps" "--across-steps" "$TMP/out"

# default step: the last complete step that holds the selection (the last step of
# this run is an eval step holding only losses and metrics)
"$VSIM_BUILD/tests/helpers/rules-mkrun" plateau "$TMP/evalrun" >/dev/null 2>&1
expect_exit 0 "weights at the last train step" "$S" "$TMP/evalrun" --collection weights --format csv
expect_grep "last train step chosen" "^0,64,train,encoder/fc1/weight," "$TMP/out"
# started through the dynamic loader, it does not re-execute the loader (OMP_WAIT_POLICY)
LDSO=/lib64/ld-linux-x86-64.so.2
if [ -x "$LDSO" ]; then
    expect_exit 0 "run through ld.so" "$LDSO" "$S" --all-steps --format csv "$RUN"
    check "ld.so: all rows" test "$(wc -l <"$TMP/out")" -eq $((6 * 2 * 7 + 1))
fi
finish
