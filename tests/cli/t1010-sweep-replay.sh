#!/bin/bash
# tests/cli/t1010-sweep-replay.sh - vsim-sweep replay: a sweep recorded without
# stopping is decided on again under every arm over shuffled job orders; every job's
# outcome and the compute saved, the regret and whether the best job was stopped are
# those of an independent simulation in Python with Optuna's own pruners deciding
# (tests/sweep/replay_optuna.py); the rules' stop is at the step vsim-rules finds
# offline; bad arms and sweeps that cannot be replayed are refused.
. "$(dirname "$0")/lib.sh"
S="$BIN/vsim-sweep"
export VSIM_TRAIN="$BIN/vsim-train"

"$PYTHON" "$(dirname "$0")/tiny_data.py" "$TMP/data.h5" 100   # 112 designs: 28 validation points for the 10-NN
TA=(-- --data "$TMP/data.h5" --model "input=16,conv=4-8,fc=16-8" --batch 8 --save-interval 10)

# The recording: no stopping; an lr-0 job for the rules, a diverging one.
G='lr=1e-2,3e-3,1e-3,3e-4,1e-4,3e-5,0,nan;seed=1,2'
expect_exit 0 "recording runs" "$S" run --out "$TMP/rec" --grid "$G" --steps 200 --eval-interval 20 \
    --parallel 2 --prune none --rules WeightUpdateRatio "${TA[@]}"
# The ledger's 10-NN accuracy: numpy's leave-one-out vote on the last latent vectors.
check "knn10 accuracy = numpy's, on the last evaluation's latent vectors" "$PYTHON" -c 'import json,sys,glob,h5py,numpy as np
L=json.load(open(sys.argv[1]+"/sweep.json")); n_ok=0
for j in L["jobs"]:
    if j["status"] != "completed": continue
    last=None
    for f in sorted(glob.glob(j["run"]+"/shards/w0/*.h5")):
        with h5py.File(f) as h:
            if "tensors/embeddings/latent" in h: last=f
    with h5py.File(last) as h:
        x=h["tensors/embeddings/latent"][()].astype(np.float64); y=h["tensors/embeddings/labels"][()]
    d=((x[:,None,:]-x[None,:,:])**2).sum(-1); np.fill_diagonal(d, np.inf)
    nb=np.lexsort((np.broadcast_to(np.arange(len(x)), d.shape), d), axis=1)[:, :10]
    pred=[np.bincount(y[r], minlength=y.max()+1).argmax() for r in nb]
    acc=float(np.mean(np.array(pred) == y))
    if abs(acc - j["knn10_accuracy"]) > 1.5/len(x): sys.exit("job %s: %r vs %r" % (j["job"], acc, j["knn10_accuracy"]))
    n_ok+=1
sys.exit(n_ok < 10)' "$TMP/rec"
check "knn10 in sweep.csv" grep -q 'metric_step,knn10_accuracy$' "$TMP/rec/sweep.csv"
check "the driver's own CPU in the ledger" "$PYTHON" -c 'import json,sys
L=json.load(open(sys.argv[1]+"/sweep.json")); sys.exit(not 0 < L["driver_cpu_s"] < L["compute_used_cpu_s"])' "$TMP/rec"
expect_exit 0 "replay (table)" "$S" replay "$TMP/rec" --shuffles 6
cp "$TMP/out" "$TMP/table"
expect_grep "table: the best job" '^best job 00[0-5] ' "$TMP/table"
expect_grep "table: no stopping saves nothing" '^none  *0\.0  *0\.0  *0\.0  *0\.00  *0\.00  *0 of 6 ' "$TMP/table"
for a in median asha rules 'rules\+median' top:4; do
    expect_grep "table: arm $a" "^$a " "$TMP/table"
done

ARMS=(--prune none --prune median --prune 'median,startup=2,warmup=40' --prune percentile:25,startup=3
      --prune asha --prune 'asha,min_resource=40,rf=2' --prune rules --prune rules+median
      --prune top:3 --prune 'rules+top:2,at=0.3')
expect_exit 0 "replay (json)" "$S" replay "$TMP/rec" --shuffles 8 --seed 7 --format json "${ARMS[@]}"
cp "$TMP/out" "$TMP/r.json"
expect_exit 0 "the same outcomes and figures as Optuna's pruners in Python" \
    "$PYTHON" "$(dirname "$0")/../sweep/replay_optuna.py" "$TMP/r.json"
expect_grep "oracle: compared many" '^[0-9]{3,} job outcomes and figures compared, 0 differ' "$TMP/out"
check "shuffles differ, each a permutation" "$PYTHON" -c 'import json,sys
d=json.load(open(sys.argv[1])); o=[tuple(s["order"]) for s in d["arms"][0]["shuffles"]]
sys.exit(not (len(set(o)) > 1 and all(sorted(x) == sorted(j["job"] for j in d["jobs"]) for x in o)))' "$TMP/r.json"
check "arm none: every job as recorded, 0 saved, 0 regret" "$PYTHON" -c 'import json,sys
d=json.load(open(sys.argv[1])); rec={j["job"]: j for j in d["jobs"]}; a=d["arms"][0]
sys.exit(not all(s["compute_saved"] == 0 and s["regret"] == 0 and not s["best_stopped"] and
  all(r["steps"] == rec[r["job"]]["steps"] and r["status"] == ("completed" if rec[r["job"]]["completed"] else "failed")
      for r in s["jobs"]) for s in a["shuffles"]))' "$TMP/r.json"
check "the diverged job failed" "$PYTHON" -c 'import json,sys
d=json.load(open(sys.argv[1])); j=[j for j in d["jobs"] if "lr=nan" in j["params"]]
sys.exit(not (j and all(not x["completed"] and x["status"] == "diverged" for x in j)))' "$TMP/r.json"
# the rules' stop: where vsim-rules finds it offline on the recorded run
J0=$("$PYTHON" -c 'import json,sys
d=json.load(open(sys.argv[1])); print([j["job"] for j in d["jobs"] if j["params"].startswith("lr=0 ")][0])' "$TMP/r.json")
"$BIN/vsim-rules" "$TMP/rec/jobs/$J0/run" --rule WeightUpdateRatio --format json >"$TMP/v.json" 2>/dev/null
check "lr-0 job: stopped by rule at vsim-rules' first finding" "$PYTHON" -c 'import json,sys
d=json.load(open(sys.argv[1])); j=[j for j in d["jobs"] if j["job"] == sys.argv[3]][0]
v=[json.loads(l) for l in open(sys.argv[2]) if l.strip()]
v=[x for x in v if x.get("type") == "verdict" and x["result"] == "fired" and x["mode"] == "train"]
first=min(v, key=lambda x: x["step"]); k=first["mode_step"] + 1
rules=[a for a in d["arms"] if a["arm"] == "rules"][0]
sys.exit(not (0 < j["rule_step"] == k < j["steps"] and all(r["status"] == "stopped by rule" and r["steps"] == k
  for s in rules["shuffles"] for r in s["jobs"] if r["job"] == sys.argv[3])))' "$TMP/r.json" "$TMP/v.json" "$J0"
check "rules+median saves more than median alone" "$PYTHON" -c 'import json,sys
a={x["arm"]: x for x in json.load(open(sys.argv[1]))["arms"]}
sys.exit(not a["rules+median"]["saved_mean"] > a["median"]["saved_mean"] > 0)' "$TMP/r.json"
expect_exit 0 "the same seed, the same replay" "$S" replay "$TMP/rec" --shuffles 8 --seed 7 --format json "${ARMS[@]}"
check "deterministic" cmp -s "$TMP/out" "$TMP/r.json"
check "replay wrote nothing into the sweep" test "$(find "$TMP/rec" -newer "$TMP/table" -type f | wc -l)" -eq 0

# Refused: bad arms (exit 2), a sweep with stopped jobs (exit 1, the job named).
expect_exit 2 "bad arm" "$S" replay "$TMP/rec" --prune medain
expect_grep "bad arm: said" "arm 'medain'" "$TMP/err"
expect_exit 2 "bad top" "$S" replay "$TMP/rec" --prune top:0
expect_exit 2 "bad top at" "$S" replay "$TMP/rec" --prune top:2,at=1.5
expect_exit 2 "bad format" "$S" replay "$TMP/rec" --format csv
expect_exit 1 "not a sweep" "$S" replay "$TMP"
expect_exit 0 "a sweep that stops jobs" "$S" run --out "$TMP/pr" --grid 'lr=3e-3,0' --steps 200 \
    --eval-interval 20 --parallel 2 --prune rules --rules WeightUpdateRatio "${TA[@]}"
expect_exit 1 "replay of a stopped job" "$S" replay "$TMP/pr"
expect_grep "stopped job: said" 'job 001 was stopped at step .*--prune none' "$TMP/err"
# --random K --space FILE: K seeded draws; bad spaces refused (exit 2).
echo '{"lr": {"loguniform": [1e-3, 1e-2]}, "loss": ["l2", "ssim"], "batch": {"int": [4, 8]}}' >"$TMP/space.json"
expect_exit 0 "random search" "$S" run --out "$TMP/rnd" --random 3 --space "$TMP/space.json" --seed 5 \
    --steps 20 --eval-interval 10 --parallel 2 --prune none "${TA[@]}"
check "random: 3 jobs in range" "$PYTHON" -c 'import json,sys
L=json.load(open(sys.argv[1]+"/sweep.json"))["jobs"]
sys.exit(not (len(L) == 3 and all(1e-3 <= float(j["params"]["lr"]) <= 1e-2 and j["params"]["loss"] in ("l2", "ssim")
  and 4 <= int(j["params"]["batch"]) <= 8 and j["status"] == "completed" for j in L)))' "$TMP/rnd"
echo '{"lr": {"gauss": [0, 1]}}' >"$TMP/bad.json"
expect_exit 2 "bad space" "$S" run --out "$TMP/rb" --random 2 --space "$TMP/bad.json"
expect_grep "bad space: said" "unknown distribution 'gauss'" "$TMP/err"
expect_exit 2 "grid and random" "$S" run --out "$TMP/rb" --grid lr=1 --random 2 --space "$TMP/space.json"
finish
