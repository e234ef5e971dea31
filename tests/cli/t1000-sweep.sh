#!/bin/bash
# tests/cli/t1000-sweep.sh - vsim-sweep: usage errors; a sweep in which the rules stop
# the lr-0 jobs, the median pruner the slow ones (the same decisions as Optuna's own
# MedianPruner on the recorded journal) and a crashing and a diverging job are
# recorded and the sweep goes on; the ledger (sweep.json, sweep.csv, status);
# SIGKILL of the driver (its jobs die with it) then resume: the same decisions and
# results, no job trained twice; SIGTERM: STOP to every job, exit 130, resumable;
# vsim's pruners against Optuna's on random asynchronous studies.
. "$(dirname "$0")/lib.sh"
S="$BIN/vsim-sweep"
export VSIM_TRAIN="$BIN/vsim-train"

"$PYTHON" "$(dirname "$0")/tiny_data.py" "$TMP/data.h5"
TA=(-- --data "$TMP/data.h5" --model "input=16,conv=4-8,fc=16-8" --batch 8 --save-interval 10)

# Usage errors: exit 2, the problem named, nothing created.
expect_exit 2 "no grid" "$S" run --out "$TMP/u"
expect_exit 2 "grid without =" "$S" run --out "$TMP/u" --grid 'lr'
expect_grep "grid without =: said" 'expected KEY=V1,V2' "$TMP/err"
expect_exit 2 "bad grid key" "$S" run --out "$TMP/u" --grid 'L R=1'
expect_grep "bad key: said" "grid key 'L R'" "$TMP/err"
expect_exit 2 "empty value" "$S" run --out "$TMP/u" --grid 'lr=1e-3,,2'
expect_grep "empty value: said" 'an empty value' "$TMP/err"
expect_exit 2 "key set by the sweep" "$S" run --out "$TMP/u" --grid 'steps=1,2'
expect_exit 2 "bad pruner" "$S" run --out "$TMP/u" --grid 'lr=1' --prune medium
expect_grep "bad pruner: said" 'expected none, median, percentile:Q or asha' "$TMP/err"
expect_exit 2 "bad percentile" "$S" run --out "$TMP/u" --grid 'lr=1' --prune percentile:101
expect_exit 2 "bad pruner setting" "$S" run --out "$TMP/u" --grid 'lr=1' --prune median,interval=0
expect_exit 2 "bad rule" "$S" run --out "$TMP/u" --grid 'lr=1' --prune rules --rules NoSuchRule
expect_exit 2 "too many threads" "$S" run --out "$TMP/u" --grid 'lr=1' --parallel 64 --threads-per-job 64
expect_grep "too many threads: said" 'more than the .* cores' "$TMP/err"
expect_exit 2 "train args without --" "$S" run --out "$TMP/u" --grid 'lr=1' --data x
check "usage errors created nothing" test ! -e "$TMP/u"
expect_exit 1 "status of a non-sweep" "$S" status "$TMP"
expect_grep "non-sweep: said" 'not a sweep' "$TMP/err"

# The sweep: lr 0 (rules), slow learning rates (median), lr nan (diverges), lr bogus (crashes).
G='lr=1e-2,3e-3,1e-3,1e-4,3e-5,0,nan,bogus'
A=(--steps 400 --eval-interval 20 --parallel 1 --prune 'rules+median,startup=2' --rules WeightUpdateRatio)
expect_exit 0 "sweep runs" "$S" run --out "$TMP/sw" --grid "$G" "${A[@]}" "${TA[@]}"
cp "$TMP/out" "$TMP/table"
led() { "$PYTHON" -c 'import json,sys; L=json.load(open(sys.argv[1]+"/sweep.json"))
for j in L["jobs"]: print(j["job"], j["params"]["lr"], j["status"], j["decision"] or "-", sep="\t")' "$1"; }
led "$TMP/sw" >"$TMP/led"
check "lr 1e-2 completed" grep -qP '^000\t1e-2\tcompleted' "$TMP/led"
check "lr 0 stopped by a rule" grep -qP '^005\t0\tstopped by rule\trule:' "$TMP/led"
check "a slow job pruned by the median" grep -qP '^00[34]\t[^\t]*\tpruned\tmedian' "$TMP/led"
check "lr nan diverged" grep -qP '^006\tnan\tdiverged' "$TMP/led"
check "lr bogus crashed" grep -qP '^007\tbogus\tcrashed' "$TMP/led"
check "crash reason recorded" grep -q 'exited with status 2.*"job":"007"' "$TMP/sw/sweep.jsonl"
check "STOP written with its reason" grep -q 'rule:' "$TMP/sw/jobs/005/run/STOP"
check "stopped job stopped early" "$PYTHON" -c 'import json,sys
j=json.load(open(sys.argv[1]+"/sweep.json"))["jobs"][5]; sys.exit(not 0 < j["steps"] < 400)' "$TMP/sw"
check "compute saved > 0" "$PYTHON" -c 'import json,sys
L=json.load(open(sys.argv[1]+"/sweep.json")); sys.exit(not 0 < L["compute_saved"] < 1 and L["best_job"] == "000")' "$TMP/sw"
check "every journal line is one JSON object" "$PYTHON" -c 'import json,sys
[json.loads(l) for l in open(sys.argv[1]+"/sweep.jsonl")]' "$TMP/sw"
check "8 starts and 8 ends" test "$(grep -c '"event":"start"' "$TMP/sw/sweep.jsonl")$(grep -c '"event":"end"' "$TMP/sw/sweep.jsonl")" = 88
check "sweep.csv: a row per job" test "$(wc -l <"$TMP/sw/sweep.csv")" -eq 9
expect_grep "table: best job" '^best job 000' "$TMP/table"
expect_exit 0 "status" "$S" status "$TMP/sw" --format json
check "status --format json is the ledger" "$PYTHON" -c 'import json,sys
a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2]+"/sweep.json"))
sys.exit([j["status"] for j in a["jobs"]] != [j["status"] for j in b["jobs"]])' "$TMP/out" "$TMP/sw"
"$PYTHON" "$(dirname "$0")/../sweep/journal_optuna.py" "$TMP/sw" "n_startup_trials=2" >"$TMP/opt" 2>&1
check "the driver's median decisions are Optuna's ($(cat "$TMP/opt"))" test $? -eq 0

# A metric to maximise (SSIM, comparable across losses): Optuna's decisions again.
expect_exit 0 "sweep on metrics/ssim" "$S" run --out "$TMP/mx" --grid 'lr=1e-2,3e-3,1e-4,3e-5;loss=l2,ssim' \
    --steps 200 --eval-interval 20 --parallel 1 --prune median,startup=2 --metric metrics/ssim \
    --maximize "${TA[@]}"
expect_grep "maximised: best job by SSIM" '^best job 00[0-3] .*metrics/ssim 0\.' "$TMP/out"
check "maximised: something pruned" grep -q '"by":"median"' "$TMP/mx/sweep.jsonl"
"$PYTHON" "$(dirname "$0")/../sweep/journal_optuna.py" "$TMP/mx" "n_startup_trials=2" maximize >"$TMP/opt" 2>&1
check "maximised: the driver's decisions are Optuna's ($(cat "$TMP/opt"))" test $? -eq 0

# SIGKILL of the driver mid-sweep, then resume: the same decisions and final losses.
"$S" run --out "$TMP/k" --grid "$G" "${A[@]}" "${TA[@]}" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 400); do
    grep -q '"job":"002"' "$TMP/k/sweep.jsonl" 2>/dev/null && break
    sleep 0.01
done
kill -9 $pid; wait $pid 2>/dev/null
sleep 0.3
check "the jobs died with the driver" test -z "$(pgrep -f "$TMP/k/jobs")"
expect_exit 0 "resume after SIGKILL" "$S" resume "$TMP/k"
led "$TMP/k" >"$TMP/led2"
check "same statuses and decisions after resume" diff "$TMP/led" "$TMP/led2"
check "completed jobs' final losses equal" "$PYTHON" -c 'import json,sys
a,b=[{j["job"]:j for j in json.load(open(d+"/sweep.json"))["jobs"]} for d in sys.argv[1:]]
sys.exit(any(a[k]["metric"] != b[k]["metric"] for k in a if a[k]["status"]=="completed"))' "$TMP/sw" "$TMP/k"
check "no job ran to completion twice" test "$(grep -c '"status":"completed"' "$TMP/k/sweep.jsonl")" -eq "$(grep -c 'completed' "$TMP/led")"

# SIGTERM: STOP to the running job, exit 130; resume finishes the sweep.
"$S" run --out "$TMP/t" --grid 'lr=1e-2,3e-3' --steps 100000 --eval-interval 50 --parallel 1 \
    --prune none "${TA[@]}" >/dev/null 2>"$TMP/t.err" &
pid=$!
for _ in $(seq 400); do
    [ -e "$TMP/t/jobs/000/run/shards/w0/step-000000000100.h5" ] && break
    sleep 0.01
done
kill -TERM $pid; wait $pid; rc=$?
check "SIGTERM: exit 130" test "$rc" -eq 130
check "SIGTERM: STOP written" test -e "$TMP/t/jobs/000/run/STOP"
expect_grep "SIGTERM: the run stopped" '"status": "stopped"' "$TMP/t/jobs/000/run/END"
expect_grep "SIGTERM: journalled" '"event":"interrupt"' "$TMP/t/sweep.jsonl"
"$PYTHON" - "$TMP/t/sweep-config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["steps"] = 200
json.dump(c, open(sys.argv[1], "w"))
PY
"$PYTHON" - "$TMP/t/jobs/000/run/checkpoint.h5" <<'PY'
import h5py, sys
with h5py.File(sys.argv[1], "r+") as f:   # the interrupted job: 200 steps from here
    f.attrs["steps"] = max(200, int(f.attrs["next_step"]))
PY
expect_exit 0 "resume after SIGTERM" "$S" resume "$TMP/t"
check "both jobs completed" test "$(grep -c '"status":"completed"' "$TMP/t/sweep.jsonl")" -eq 2

# vsim's pruners against Optuna's on random asynchronous studies.
"$PYTHON" "$(dirname "$0")/../sweep/optuna_replay.py" "$BUILD/tests/helpers/study-replay" 15 >"$TMP/rep" 2>&1
check "pruners agree with Optuna ($(tail -1 "$TMP/rep"))" test $? -eq 0
finish
