#!/bin/bash
# t0830-rules-corpus: rules a user can trust (issue 19), on the small labelled
# corpus (bench/rules-corpus.sh small: 11 healthy and 13 broken runs of a tiny
# model). Every healthy run is silent under every measured rule (the default set
# and the rest, vsim semantics); every broken run is caught by the rule meant for
# its pathology, at or after the step its fault starts and within a bound; the
# smdebug switch reproduces the verdicts of the rules before issue 19 (a saved
# reference on a deterministic run) and today's false alarm on a healthy run;
# bad semantics and faults are usage errors; a live broken run is stopped by
# --on-fire stop.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$BIN/vsim-train
# the runs are fixtures: under the sanitizers, train them with the plain build if there is one
case "$BIN" in *san*) [ -x "$ROOT/bin/vsim-train" ] && T=$ROOT/bin/vsim-train ;; esac
C=$TMP/corpus
VSIM_BIN=$BIN "$ROOT/bench/rules-corpus.sh" small "$C" "$T" >/dev/null || fail "corpus"
check "corpus: 24 runs listed" test "$(wc -l <"$C/corpus.tsv")" -eq 24
expect_grep "corpus: run.json records the fault" '"faults": \["dead-relu@100"\]' \
    "$C/b-deadrelu-s1/run.json"

"$PYTHON" "$ROOT/bench/rules_score.py" "$C" --bin "$BIN" --json "$TMP/score.json" \
    >"$TMP/score.txt" 2>&1 || fail "rules_score: $(tail -3 "$TMP/score.txt")"
check "healthy runs: no measured rule fires on any (vsim defaults)" "$PYTHON" -c "
import json, sys
d = json.load(open('$TMP/score.json'))
assert d['n_healthy'] == 11, d['n_healthy']
bad = {r: h['on'] for r, h in d['healthy'].items() if h['runs_fired']}
assert not bad, bad
assert len(d['healthy']) == 12 and d['healthy_default_fired_runs'] == 0"
check "broken runs: each caught by its rule, at or after the fault, within 100 steps" "$PYTHON" -c "
import json
d = json.load(open('$TMP/score.json'))
runs = [r for r in d['runs'] if r['cls'] == 'broken']
assert len(runs) == 13 and len({r['case'] for r in runs}) == 13
missed = [(r['name'], r['rule'], r['first']) for r in runs if not r['caught']]
assert not missed, missed
late = [(r['name'], r['delay']) for r in runs if r['delay'] is None or r['delay'] > 100]
assert not late, late
assert d['recall'] == 1.0"
expect_grep "score table printed" "^caught 13 of 13 broken runs \(100.0 %\)" "$TMP/score.txt"
check "the dead-ReLU run: DeadRelu first fires at the first activation capture after step 100" \
    "$PYTHON" -c "
import json
r = [r for r in json.load(open('$TMP/score.json'))['runs'] if r['name'] == 'b-deadrelu-s1'][0]
assert r['first']['DeadRelu'] == 110, r['first']"

# smdebug's semantics: the verdicts before issue 19, reproduced (a deterministic run
# written through the capture API; the reference was made by the rules of that time)
M=$BUILD/tests/helpers/report-mkrun
"$M" "$TMP/mk" large 400 4 300 >/dev/null || fail "mkrun"
"$BIN/vsim-rules" "$TMP/mk" --semantics smdebug -f json -j 1 >"$TMP/sm.json" 2>"$TMP/sm.err"
grep '"type": "verdict"' "$TMP/sm.json" >"$TMP/sm.verdicts"
check "smdebug semantics: the same verdicts as before issue 19" \
    cmp "$TMP/sm.verdicts" "$ROOT/tests/ref/rules-smdebug-mkrun.jsonl"
check "reference is not empty (LossNotDecreasing fired in it)" \
    grep -q '"rule": "LossNotDecreasing", "result": "fired"' "$ROOT/tests/ref/rules-smdebug-mkrun.jsonl"
expect_exit 3 "smdebug semantics: today's false alarm on a healthy run" \
    "$BIN/vsim-rules" "$C/h-tiny-l2-s1" --semantics smdebug -r LossNotDecreasing -f json
expect_grep "... is the 5 % rise over a minibatch minimum" 'more than 5% above its minimum' "$TMP/out"
expect_exit 0 "vsim semantics: silent on that run" \
    "$BIN/vsim-rules" "$C/h-tiny-l2-s1" -r LossNotDecreasing -f json
"$BIN/vsim-rules" "$C/h-tiny-l2-s1" --semantics smdebug -r DeadRelu -r Overtraining -f json |
    grep '"type": "verdict"' >"$TMP/a"
"$BIN/vsim-rules" "$C/h-tiny-l2-s1" -r DeadRelu:semantics=smdebug \
    -r 'Overtraining:semantics=smdebug' -f json | grep '"type": "verdict"' >"$TMP/b"
check "semantics=smdebug on a rule equals --semantics smdebug" cmp "$TMP/a" "$TMP/b"
check "... and it fires there" test -s "$TMP/a"
expect_exit 2 "--semantics foo is a usage error" "$BIN/vsim-rules" "$C/h-tiny-l2-s1" --semantics foo
expect_grep "... naming the choices" "unknown semantics 'foo' \(want vsim or smdebug\)" "$TMP/err"
expect_exit 2 "semantics=bar in a spec is a usage error" \
    "$BIN/vsim-rules" "$C/h-tiny-l2-s1" -r DeadRelu:semantics=bar
expect_grep "... naming the rule" "rule DeadRelu: parameter semantics: want vsim or smdebug" "$TMP/err"
expect_exit 0 "--list" "$BIN/vsim-rules" --list
expect_grep "--list shows smdebug's default beside ours" \
    "threshold_layer +number, default 90.0 \(smdebug: 50.0\)" "$TMP/out"
expect_grep "--list documents the switch" "^    semantics +string, default vsim" "$TMP/out"

# vsim-train --fault: errors
D=$C/ds32.h5
TM="input=32,conv=8-16,fc=32-8"
expect_exit 2 "unknown fault: usage error" "$T" --data "$D" --out "$TMP/x1" --model "$TM" --fault bogus
expect_grep "... listing the kinds" "unknown fault 'bogus' \(known: nan@S, dead-relu" "$TMP/err"
check "... and no run written" test ! -e "$TMP/x1"
expect_exit 2 "a value where none is taken" "$T" --data "$D" --out "$TMP/x2" --model "$TM" --fault nan=1@3
expect_grep "... says so" "fault 'nan=1@3': nan takes no value" "$TMP/err"
expect_exit 1 "freeze of a layer the model lacks" "$T" --data "$D" --out "$TMP/x3" --model "$TM" \
    --fault freeze=decoder/nosuch@5
expect_grep "... names it and the first layer" "no layer 'decoder/nosuch' \(its first is encoder/conv1\)" "$TMP/err"
check "... and no run written" test ! -e "$TMP/x3"

# detection shown live: a run broken at step 30 is stopped by --on-fire stop
"$T" --data "$D" --out "$TMP/live" --model "$TM" --steps 5000 --batch 16 --save-interval 10 \
    --eval-interval 0 --threads 1 --no-fsync --fault dead-relu@30 >"$TMP/live.out" 2>&1 &
tp=$!
expect_exit 3 "watching the broken run: DeadRelu fires" "$BIN/vsim-rules" "$TMP/live" --watch \
    --timeout 120 --poll-ms 50 -r DeadRelu --on-fire stop -f json
wait $tp
expect_grep "... and the trainer stopped" "^status	stopped" "$TMP/live.out"
check "... well before its 5000 steps" "$PYTHON" -c "
import re
n = int(re.search(r'^steps\t(\d+)', open('$TMP/live.out').read(), re.M).group(1))
assert 30 < n < 1000, n"
finish
