#!/bin/bash
# t0910-gate: the CI regression gate, vsim-report --baseline/--candidate (issue 14),
# on small runs trained here. Seeds of one configuration do not fail it (3 + 3
# runs); a candidate trained with --lr 0, or much shorter, does (exit 3) and the
# Markdown and JUnit say why; identical runs and a longer-trained candidate pass;
# a saved summary JSON stands for a run; a corrupt candidate shard never passes
# (exit 4); bad tolerance lines are usage errors naming the line (exit 2); the
# JUnit XML validates and a real consumer (junitparser) reads it back; every
# output is byte-identical for the same inputs.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
R=$BIN/vsim-report
T=$BIN/vsim-train
# The runs are fixtures, not what is tested: under the sanitizers, train them with the plain
# build when there is one (a sanitized trainer takes minutes for these 16 runs).
case "$BIN" in *san*) [ -x "$ROOT/bin/vsim-train" ] && T=$ROOT/bin/vsim-train ;; esac
M="input=32,conv=8-16,fc=32-8"
export XDG_CACHE_HOME=$TMP/xdg
"$BIN/vsim-render" -o "$TMP/ds.h5" --designs 16 --size 32 >/dev/null || fail "render"
train() {   # NAME SEED STEPS [args]
    local name=$1 seed=$2 steps=$3; shift 3
    "$T" --data "$TMP/ds.h5" --out "$TMP/$name" --model "$M" --steps "$steps" --batch 16 \
        --eval-interval 100 --save-interval 100 --seed "$seed" --threads 2 "$@" >/dev/null ||
        fail "train $name"
}
for s in 1 2 3; do train b$s $s 300; done
for s in 4 5 6; do train c$s $s 300; done
train lr0 1 300 --lr 0
for s in 1 2 3; do train long$s $s 600; done
for s in 4 5 6; do train short$s $s 40; done

# Training speed depends on what else the machine runs, not on the seed: these tests
# judge model quality, so images/s is shown but not judged (the default is rel=50%).
printf 'images_per_s info optional\n' >"$TMP/speed.tol"
expect_exit 0 "--print-tolerances" "$R" --print-tolerances
cp "$TMP/out" "$TMP/defaults.tol"
expect_grep "documented default" "^eval_loss +lower +rel=2% +abs=0.001" "$TMP/defaults.tol"
expect_exit 0 "identical runs pass" "$R" --tolerances "$TMP/speed.tol" --baseline "$TMP/b1" --candidate "$TMP/b1"
expect_grep "verdict on stderr" "no regression: 0 of [0-9]+ checks failed" "$TMP/err"
expect_grep "Markdown on stdout by default" "^## vsim gate: ✅ no regression" "$TMP/out"

expect_exit 0 "3 + 3 seeds of one configuration: no flake" "$R" --tolerances "$TMP/speed.tol" --baseline \
    "$TMP/b1,$TMP/b2,$TMP/b3" --candidate "$TMP/c4,$TMP/c5,$TMP/c6" --json "$TMP/seeds.json"
check "seeds: intervals reported" "$PYTHON" -c "
import json
d = json.load(open('$TMP/seeds.json'))
m = {x['metric']: x for x in d['metrics']}
assert d['verdict'] == 'pass' and m['eval_loss']['ci'] and m['eval_loss']['n_baseline'] == 3
assert m['eval_loss']['baseline_sd'] > 0 and 'bootstrap' in m['eval_loss']['note']"

expect_exit 3 "--lr 0 candidate regresses" "$R" --tolerances "$TMP/speed.tol" --baseline "$TMP/b1" --candidate "$TMP/lr0" \
    --md "$TMP/lr0.md" --junit "$TMP/lr0.xml" --json "$TMP/lr0.json"
expect_grep "Markdown verdict first" "^## vsim gate: ❌ regression" "$TMP/lr0.md"
expect_grep "Markdown failure table has the eval loss" "^\| eval_loss \| lower \|.*\| fail \|" \
    "$TMP/lr0.md"
check "the rest inside <details>" grep -q "^<details><summary>All [0-9]* checks</summary>" \
    "$TMP/lr0.md"
check "lr0: loss and embedding metrics fail" "$PYTHON" -c "
import json
m = {x['metric']: x['status'] for x in json.load(open('$TMP/lr0.json'))['metrics']}
assert m['eval_loss'] == 'fail' and m['train_loss'] == 'fail', m
assert 'fail' in (m['trustworthiness'], m['nn10_preservation'], m['knn10_accuracy']), m"
check "JUnit validates (xmllint, the schema in tests/ref)" xmllint --noout --schema \
    "$ROOT/tests/ref/junit-report.xsd" "$TMP/lr0.xml"
if [ -e "$ROOT/../shared/fixtures/junit/junit-10.xsd" ]; then
    check "JUnit validates against Jenkins' junit-10.xsd" xmllint --noout --schema \
        "$ROOT/../shared/fixtures/junit/junit-10.xsd" "$TMP/lr0.xml"
fi
check "junitparser reads the failures back" "$PYTHON" -c "
from junitparser import JUnitXml, Failure
x = JUnitXml.fromfile('$TMP/lr0.xml')
suite = next(iter(x))
cases = {c.name: c for c in suite}
assert suite.tests == len(cases) and suite.failures >= 2, (suite.tests, suite.failures)
f = [r for r in cases['eval_loss'].result if isinstance(r, Failure)]
assert f and 'baseline' in f[0].message and 'tolerance' in f[0].message, f
props = {p.name: p.value for p in suite.properties()}
assert props['candidate.run_id.0'].startswith('lr0-'), props"

expect_exit 0 "a candidate trained longer passes" "$R" --tolerances "$TMP/speed.tol" --baseline "$TMP/b1,$TMP/b2,$TMP/b3" \
    --candidate "$TMP/long1,$TMP/long2,$TMP/long3" --json "$TMP/long.json"
check "improvements listed" "$PYTHON" -c "
import json
m = {x['metric']: x['status'] for x in json.load(open('$TMP/long.json'))['metrics']}
assert m['eval_loss'] == 'improved' and m['steps'] == 'improved', m"
expect_exit 3 "3 seeds clearly worse than noise plus tolerance" "$R" --tolerances "$TMP/speed.tol" --baseline \
    "$TMP/b1,$TMP/b2,$TMP/b3" --candidate "$TMP/short4,$TMP/short5,$TMP/short6" \
    --json "$TMP/short.json"
check "short: eval loss fails on its interval" "$PYTHON" -c "
import json
m = {x['metric']: x for x in json.load(open('$TMP/short.json'))['metrics']}
e = m['eval_loss']
assert e['status'] == 'fail' and e['ci'][0] > e['tolerance'], e"
printf 'eval_loss lower rel=500%%\neval_loss_best lower rel=500%%  # tiny runs\n' >"$TMP/loose.tol"
cat "$TMP/speed.tol" >>"$TMP/loose.tol"
expect_exit 3 "a tolerance file loosens one metric" "$R" --tolerances "$TMP/speed.tol" --baseline "$TMP/b1,$TMP/b2,$TMP/b3" \
    --candidate "$TMP/short4,$TMP/short5,$TMP/short6" --tolerances "$TMP/loose.tol" \
    --json "$TMP/loose.json"
check "loosened metric passes, the others still fail" "$PYTHON" -c "
import json
m = {x['metric']: x['status'] for x in json.load(open('$TMP/loose.json'))['metrics']}
assert m['eval_loss'] == 'pass' and m['train_loss'] == 'fail', m"
expect_exit 0 "the defaults, printed, are a valid tolerance file" "$R" --tolerances "$TMP/speed.tol" --baseline "$TMP/b1" \
    --candidate "$TMP/b1" --tolerances "$TMP/defaults.tol"

# a saved summary stands for the baseline run: the same verdicts
"$R" --summary-json "$TMP/b1" >"$TMP/b1.json" || fail "summary json"
expect_exit 3 "baseline from a summary JSON" "$R" --tolerances "$TMP/speed.tol" --baseline "$TMP/b1.json" --candidate \
    "$TMP/lr0" --json "$TMP/lr0-from-json.json" --junit "$TMP/lr0-2.xml" --md "$TMP/lr0-2.md"
check "same JSON verdicts as from the run" cmp -s "$TMP/lr0.json" "$TMP/lr0-from-json.json"
check "byte-identical JUnit" cmp -s "$TMP/lr0.xml" "$TMP/lr0-2.xml"
check "byte-identical Markdown" cmp -s "$TMP/lr0.md" "$TMP/lr0-2.md"
expect_exit 3 "Markdown within --md-budget" "$R" --tolerances "$TMP/speed.tol" --baseline "$TMP/b1" --candidate "$TMP/lr0" \
    --md-budget 2500 --md "$TMP/small.md"
check "Markdown at most 2500 characters" test "$(wc -m <"$TMP/small.md")" -le 2500
expect_grep "says rows were omitted" "more rows omitted" "$TMP/small.md"
expect_exit 3 "--html: the comparison report with verdicts on top" "$R" --tolerances "$TMP/speed.tol" --baseline "$TMP/b1" \
    --candidate "$TMP/lr0" --html "$TMP/gate.html" --json /dev/null
expect_grep "verdicts in the page" '<section id="gate"><h2>Regression gate</h2><p class="verdict fail">regression' \
    "$TMP/gate.html"

# bad input: never a pass
cp -r "$TMP/c4" "$TMP/corrupt"
bad=$TMP/corrupt/shards/w0/step-000000000150.h5
head -c 700 "$bad" >"$bad.cut" && mv "$bad.cut" "$bad"
expect_exit 4 "a corrupt candidate shard: exit 4" "$R" --tolerances "$TMP/speed.tol" --baseline "$TMP/c4" --candidate \
    "$TMP/corrupt" --md /dev/null
expect_grep "the bad shard is reported" "no regression" "$TMP/err"
"$T" --data "$TMP/ds.h5" --out "$TMP/nan" --model "$M" --steps 300 --batch 16 --seed 1 \
    --lr 1e6 --eval-interval 100 --save-interval 100 >/dev/null 2>&1
expect_exit 3 "a diverged candidate fails" "$R" --tolerances "$TMP/speed.tol" --baseline "$TMP/b1" --candidate "$TMP/nan" \
    --json "$TMP/nan.json"
check "status fails" "$PYTHON" -c "
import json
m = {x['metric']: x for x in json.load(open('$TMP/nan.json'))['metrics']}
assert m['status']['status'] == 'fail' and m['status']['candidate'] != 'completed', m['status']"
printf 'eval_loss lower rel=2%%\n\nbogus_metric higher abs=1\n' >"$TMP/bad1.tol"
expect_exit 2 "unknown metric: usage error" "$R" --tolerances "$TMP/speed.tol" --baseline "$TMP/b1" --candidate "$TMP/b1" \
    --tolerances "$TMP/bad1.tol"
expect_grep "names file and line" "bad1.tol:3: unknown metric 'bogus_metric'" "$TMP/err"
printf 'eval_loss sideways\n' >"$TMP/bad2.tol"
expect_exit 2 "bad direction" "$R" --tolerances "$TMP/speed.tol" --baseline "$TMP/b1" --candidate "$TMP/b1" \
    --tolerances "$TMP/bad2.tol"
expect_grep "direction error" "bad2.tol:1: eval_loss: want a direction" "$TMP/err"
printf 'ssim higher abs=-1\n' >"$TMP/bad3.tol"
expect_exit 2 "bad setting" "$R" --tolerances "$TMP/speed.tol" --baseline "$TMP/b1" --candidate "$TMP/b1" \
    --tolerances "$TMP/bad3.tol"
expect_grep "setting error" "bad3.tol:1: ssim: bad setting 'abs=-1'" "$TMP/err"
expect_exit 1 "a missing candidate is an error" "$R" --tolerances "$TMP/speed.tol" --baseline "$TMP/b1" --candidate \
    "$TMP/nowhere"
expect_grep "names it" "nowhere: no such run directory or summary JSON file" "$TMP/err"
expect_exit 2 "--baseline alone" "$R" --tolerances "$TMP/speed.tol" --baseline "$TMP/b1"
echo '{"schema": "something-else"}' >"$TMP/other.json"
expect_exit 1 "not a summary JSON" "$R" --tolerances "$TMP/speed.tol" --baseline "$TMP/other.json" --candidate "$TMP/b1"
expect_grep "says what it wants" "not a vsim-summary/1 object" "$TMP/err"
finish
