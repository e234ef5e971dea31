#!/bin/bash
# bench/bench-sweep.sh - the sweep's figures (issue 15; bench/RESULTS.md):
#  1. a sweep of 24 jobs on the bundled parts (learning rate x loss l2/ssim/l2+ssim x
#     a wide and a slim model), every job recorded to its end (--prune none);
#  2. replayed over 20 shuffles of the job order for each arm: no stopping, Optuna's
#     own MedianPruner (tests/sweep/replay_optuna.py), vsim's median, ASHA, the rules,
#     rules+median, keep the top 6 after 10 % of the steps: compute saved, regret (of
#     the best eval SSIM), how often the best job was stopped;
#  3. the same grid live with rules+median: compute saved, and the stop latency (the
#     shard that triggers a decision -> STOP -> the trainer's exit);
#  4. the driver's own CPU while it watches 8 live runs;
#  5. the story's model findings on the recording: wide against slim, SSIM against L2,
#     beside the 10-NN accuracy of raw pixels reduced by PCA to 64 dimensions.
# BENCH_REUSE=1 keeps a recording already in bench/out/sweep-rec.
set -u
BIN=${VSIM_BIN:-$PWD/bin}
PY=/usr/bin/python3
OUT=bench/out
mkdir -p "$OUT"
export VSIM_TRAIN="$BIN/vsim-train" VSIM_QUIET=1
[ -f samples/parts.h5 ] || "$BIN/vsim-render" -o samples/parts.h5 --seed 1 >/dev/null
WIDE="input=64,conv=16-32-64,fc=128-32"
SLIM="input=64,conv=8-16-32,fc=64-16"
GRID="lr=3e-2,3e-3,1e-3,1e-4;loss=l2,ssim,l2+ssim;model=$WIDE|$SLIM"
COMMON=(--steps 400 --eval-interval 25 --parallel 2 --metric metrics/ssim --maximize)
TRAIN=(-- --data samples/parts.h5 --batch 32 --save-interval 10 --seed 1)

echo "== 1. the recording: 24 jobs x 400 steps, 2 at a time, no stopping"
if [ "${BENCH_REUSE:-0}" = 1 ] && [ -f "$OUT/sweep-rec/sweep.json" ]; then
    echo "(reused $OUT/sweep-rec)"
else
    rm -rf "$OUT/sweep-rec"
    "$BIN/vsim-sweep" run --out "$OUT/sweep-rec" --grid "$GRID" "${COMMON[@]}" --prune none \
        "${TRAIN[@]}" >"$OUT/sweep-rec.txt" || exit 1
fi
cat "$OUT/sweep-rec.txt" 2>/dev/null || "$BIN/vsim-sweep" status "$OUT/sweep-rec"

echo
echo "== 2. replay: 20 shuffles of the job order, 2 at a time"
ARMS=(--prune none --prune median --prune asha --prune rules --prune rules+median --prune top:6)
"$BIN/vsim-sweep" replay "$OUT/sweep-rec" --shuffles 20 --seed 1 "${ARMS[@]}" || exit 1
"$BIN/vsim-sweep" replay "$OUT/sweep-rec" --shuffles 20 --seed 1 "${ARMS[@]}" --format json \
    >"$OUT/sweep-replay.json" || exit 1
$PY tests/sweep/replay_optuna.py "$OUT/sweep-replay.json" --arm median
echo "vsim's arms against the Python simulation with Optuna's pruners deciding:"
$PY tests/sweep/replay_optuna.py "$OUT/sweep-replay.json"

echo
echo "== 3. live: the same grid with rules+median"
rm -rf "$OUT/sweep-live"
"$BIN/vsim-sweep" run --out "$OUT/sweep-live" --grid "$GRID" "${COMMON[@]}" --prune rules+median \
    "${TRAIN[@]}" || exit 1
$PY - "$OUT/sweep-live" <<'EOF'
import glob, json, os, sys
d = sys.argv[1]
ev = [json.loads(l) for l in open(d + "/sweep.jsonl")]
lat, ext, beyond = [], [], []
for e in ev:
    if e["event"] != "decision":
        continue
    j = e["job"]
    # the shard the decision was taken on: the eval read just before it (pruner), or the
    # newest shard at the decision's global step (rules)
    evals = [x for x in ev if x["event"] == "eval" and x.get("job") == j and x["t"] <= e["t"]]
    run = f"{d}/jobs/{j}/run/shards/w0"
    if e["by"].startswith("rule:"):
        shard = f"{run}/step-{e['step']:012d}.h5"
    else:
        shard = f"{run}/step-{evals[-1]['global']:012d}.h5"
    ex = [x for x in ev if x["event"] == "exit" and x.get("job") == j and x["t"] >= e["t"]]
    end = [x for x in ev if x["event"] == "end" and x.get("job") == j][0]
    if os.path.exists(shard):
        lat.append(e["t"] - os.stat(shard).st_mtime)
    if ex:
        ext.append(ex[0]["t"] - e["t"])
    tstep = e["step"] if not e["by"].startswith("rule:") else None
    if tstep is not None:
        beyond.append(end["steps"] - tstep)
L = json.load(open(d + "/sweep.json"))
print(f"live rules+median: {100 * L['compute_saved']:.1f} % of the compute saved "
      f"({L['compute_used_cpu_s']:.1f} of {L['compute_unstopped_cpu_s']:.1f} CPU s), wall "
      f"{L['wall_s']:.1f} s, best job {L['best_job']} SSIM {L['best_metric']:.4f}")
if lat:
    print(f"stop latency over {len(lat)} decisions: shard written -> decision (STOP) median "
          f"{sorted(lat)[len(lat) // 2]:.3f} s, max {max(lat):.3f} s; decision -> trainer exit "
          f"median {sorted(ext)[len(ext) // 2]:.3f} s, max {max(ext):.3f} s")
if beyond:
    print(f"training steps after a pruner's decision: median {sorted(beyond)[len(beyond) // 2]}, "
          f"max {max(beyond)} (steps of {400})")
print(f"driver CPU {L['driver_cpu_s']:.2f} s over {L['wall_s']:.1f} s wall: "
      f"{100 * L['driver_cpu_s'] / L['wall_s']:.2f} % of one core (2 live runs)")
EOF

echo
echo "== 4. the driver watching 8 live runs (8 slim jobs at once, --force)"
rm -rf "$OUT/sweep-8"
"$BIN/vsim-sweep" run --out "$OUT/sweep-8" --grid "lr=3e-3,1e-3;loss=l2,ssim;seed=1,2" \
    --steps 300 --eval-interval 25 --parallel 8 --force --prune rules+median \
    -- --data samples/parts.h5 --batch 32 --save-interval 10 --model "$SLIM" >/dev/null || exit 1
$PY -c 'import json,sys
L=json.load(open(sys.argv[1]+"/sweep.json"))
print("driver CPU %.2f s over %.1f s wall watching 8 runs: %.2f %% of one core (goal <= 2 %%)"
      % (L["driver_cpu_s"], L["wall_s"], 100 * L["driver_cpu_s"] / L["wall_s"]))' "$OUT/sweep-8"

echo
echo "== 5. the model findings (recording; eval SSIM and 10-NN label accuracy at step 400)"
$PY - "$OUT/sweep-rec" samples/parts.h5 <<'EOF'
import glob, json, os, sys
import h5py, numpy as np
d, data = sys.argv[1], sys.argv[2]
L = json.load(open(d + "/sweep.json"))
jobs = [j for j in L["jobs"] if j["status"] == "completed" and j["metric"] is not None]
def params(j):
    with h5py.File(j["run"] + "/model.h5") as h:
        n = [0]
        h.visititems(lambda k, o: n.__setitem__(0, n[0] + (o.size if isinstance(o, h5py.Dataset) else 0)))
    return n[0], os.path.getsize(j["run"] + "/model.h5")
kinds = {"wide": lambda j: "conv=16-32-64" in j["params"]["model"],
         "slim": lambda j: "conv=8-16-32" in j["params"]["model"]}
for loss in ("l2", "ssim", "l2+ssim"):
    kinds["loss " + loss] = (lambda l: lambda j: j["params"]["loss"] == l)(loss)
print(f"{'best job of':14} {'job':4} {'lr':6} {'loss':8} {'model':32} {'params':>8} {'file KB':>8} "
      f"{'SSIM':>7} {'10-NN':>6}")
for k, f in kinds.items():
    js = [j for j in jobs if f(j)]
    if not js:
        continue
    b = max(js, key=lambda j: j["metric"])
    n, size = params(b)
    print(f"{k:14} {b['job']:4} {b['params']['lr']:6} {b['params']['loss']:8} "
          f"{b['params']['model']:32} {n:8d} {size / 1024:8.1f} {b['metric']:7.4f} "
          f"{b['knn10_accuracy'] or float('nan'):6.3f}")
# raw pixels of the same validation designs, PCA to 64 dimensions, the same 10-NN vote
b = max(jobs, key=lambda j: j["metric"])
last = None
for f in sorted(glob.glob(b["run"] + "/shards/w0/*.h5")):
    with h5py.File(f) as h:
        if "tensors/embeddings/design_id" in h:
            last = f
with h5py.File(last) as h:
    ids = h["tensors/embeddings/design_id"][()]
    lab = h["tensors/embeddings/labels"][()]
with h5py.File(data) as h:
    row = {int(v): i for i, v in enumerate(h["design_id"][()])}
    img = h["images"][()]
x = img[[row[int(i)] for i in ids]].reshape(len(ids), -1).astype(np.float64) / 255.0
x -= x.mean(0)
u, s, vt = np.linalg.svd(x, full_matrices=False)
z = x @ vt[:64].T
def knn10(z, y):
    dd = ((z[:, None, :] - z[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(dd, np.inf)
    nb = np.lexsort((np.broadcast_to(np.arange(len(z)), dd.shape), dd), axis=1)[:, :10]
    return float(np.mean([np.bincount(y[r], minlength=y.max() + 1).argmax() == t
                          for r, t in zip(nb, y)]))
print(f"raw pixels (all {img.shape[1]} views, {x.shape[1]} values) PCA to 64, the same "
      f"{len(ids)} validation designs: 10-NN accuracy {knn10(z, lab):.3f}")
EOF
