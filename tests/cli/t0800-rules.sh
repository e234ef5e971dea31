#!/bin/bash
# vsim-rules offline: each built-in rule fires on a synthetic run built to trigger
# it and stays silent on a healthy one; bad input gives usage errors; exit codes.
# The scenarios pin smdebug's semantics (--semantics smdebug: a problem from step 30
# of 60, inside the vsim defaults' warm-up); t0830 measures the vsim defaults on the
# labelled corpus of trained runs.
. "$(dirname "$0")/lib.sh"
M=$BUILD/tests/helpers/rules-mkrun
R=$BIN/vsim-rules
ALL=(-r LossNotDecreasing:mode=TRAIN -r VanishingGradient -r ExplodingTensor -r WeightUpdateRatio
     -r AllZero:collection_names=weights,biases -r UnchangedTensor:collection_names=weights
     -r "TensorVariance:collection_names=weights,max_threshold=1,min_threshold=1e-6"
     -r SaturatedActivation -r DeadRelu -r PoorWeightInitialization -r Overfit -r Overtraining
     -r StalledTrainingRule:threshold=1 -r CheckInputImages -r LatentNeighbors
     -r ReconstructionStalled:mode=TRAIN)
# first_fired RUN: "Rule:step" for every rule that fired, from the JSON summary
first_fired() {
    "$R" "$1" --semantics smdebug "${ALL[@]}" -f json | $PYTHON -c '
import sys, json
for line in sys.stdin:
    o = json.loads(line)
    if o["type"] == "summary":
        print(" ".join("%s:%d" % (r["rule"], r["first_fired_step"]) for r in o["rules"] if r["fired"]))'
}
$M healthy "$TMP/healthy" || fail "mkrun healthy"
expect_exit 0 "all rules silent on a healthy run" "$R" "$TMP/healthy" "${ALL[@]}"
expect_grep "summary line" '"type": "summary", "steps": 66, "last_step": 65, "ended": true' "$TMP/out"
expect_exit 0 "default rules silent on a healthy run" "$R" "$TMP/healthy"
# scenario -> the rule and the first global step it must fire at (the problem starts at
# train step 30 = global step 33, after three eval steps; see rules-mkrun.c)
while read -r scen want; do
    $M "$scen" "$TMP/$scen" || fail "mkrun $scen"
    got=$(first_fired "$TMP/$scen")
    check "$scen: fired '$got', want '$want'" test "$got" = "$want"
done <<'LIST'
plateau LossNotDecreasing:44 Overtraining:38
vanishing VanishingGradient:33
exploding ExplodingTensor:33
nan ExplodingTensor:33
deadrelu DeadRelu:33
unchanged WeightUpdateRatio:33 UnchangedTensor:34
allzero AllZero:33
saturated SaturatedActivation:33
overfit Overfit:10
badinit SaturatedActivation:1 PoorWeightInitialization:0
images CheckInputImages:34
latent-random LatentNeighbors:10
ssim-stalled ReconstructionStalled:44
LIST
expect_exit 3 "a finding exits 3" "$R" "$TMP/nan"
expect_grep "verdict JSON" '"rule": "ExplodingTensor", "result": "fired", "step": 33, "mode": "train", "mode_step": 30, "tensor": "gradients/encoder/fc1/weight"' "$TMP/out"
expect_exit 3 "only_nan still fires on NaN" "$R" "$TMP/nan" -r ExplodingTensor:only_nan=true
expect_exit 0 "only_nan ignores infinities" "$R" "$TMP/exploding" -r ExplodingTensor:only_nan=true
# StalledTrainingRule: a 2 s gap between two steps
$M gap "$TMP/gap" --steps 12 --at 6 --eval-every 0 || fail "mkrun gap"
expect_exit 3 "stalled: 2 s gap over threshold 1" "$R" "$TMP/gap" -r StalledTrainingRule:threshold=1
expect_grep "stalled at step 6" '"result": "fired", "step": 6,.*"value": 2\.' "$TMP/out"
expect_exit 0 "stalled: under threshold 5" "$R" "$TMP/gap" -r StalledTrainingRule:threshold=5
# SimilarAcrossRuns: same seed silent, other seed fires
$M healthy "$TMP/same" || fail "mkrun same"
$M healthy "$TMP/other" --seed 2 || fail "mkrun other"
expect_exit 0 "similar runs" "$R" "$TMP/healthy" -r "SimilarAcrossRuns:other=$TMP/same,collection_names=weights"
expect_exit 3 "different runs" "$R" "$TMP/healthy" -r "SimilarAcrossRuns:other=$TMP/other,collection_names=weights"
# bad input: usage errors name the problem
expect_exit 2 "unknown rule" "$R" "$TMP/healthy" -r NoSuchRule
expect_grep "unknown rule message" "unknown rule 'NoSuchRule'" "$TMP/err"
expect_exit 2 "unknown parameter" "$R" "$TMP/healthy" -r DeadRelu:threshold=5
expect_grep "unknown parameter message" "unknown parameter 'threshold' \(known: tensor_regex" "$TMP/err"
expect_exit 2 "malformed value" "$R" "$TMP/healthy" -r LossNotDecreasing:num_steps=abc
expect_grep "malformed message" "malformed value 'abc'" "$TMP/err"
expect_exit 2 "bad --on-fire" "$R" "$TMP/healthy" --on-fire reboot
expect_exit 2 "bad --format" "$R" "$TMP/healthy" -f xml
printf '# rules\nDeadRelu  # dead units\n\nAllZero\n' >"$TMP/rules.txt"
expect_exit 2 "rules file: AllZero without selection" "$R" "$TMP/healthy" -F "$TMP/rules.txt"
expect_grep "rules file line" "rules.txt:4: rule AllZero: give collection_names or tensor_regex" "$TMP/err"
printf '# rules\nDeadRelu  # dead units\n\nLossNotDecreasing:mode=TRAIN, num_steps=5\n' >"$TMP/rules.txt"
expect_exit 3 "rules file" "$R" "$TMP/plateau" --semantics smdebug -F "$TMP/rules.txt"
expect_exit 1 "not a run" "$R" "$TMP/nowhere"
# tensors that never appear: reported once, not per step
expect_exit 0 "missing tensors" "$R" "$TMP/healthy" -r "AllZero:tensor_regex=^nothing$"
check "missing reported once on stdout" test "$(grep -c '"step": -1' "$TMP/out")" -eq 1
check "missing reported once on stderr" test "$(grep -c 'never appeared' "$TMP/err")" -eq 1
expect_grep "no_tensors in summary" '"no_tensors": true' "$TMP/out"
# table format, --all, --list, --record
expect_exit 3 "table" "$R" "$TMP/plateau" -f table -r LossNotDecreasing:mode=TRAIN,semantics=smdebug
expect_grep "table row" "^44 +LossNotDecreasing +fired +loss/total" "$TMP/out"
expect_grep "table summary" "^LossNotDecreasing +5 +2 +44" "$TMP/out"
expect_exit 0 "--all" "$R" "$TMP/healthy" -a -r VanishingGradient
check "--all prints every step" test "$(grep -c '"result": "not_fired"' "$TMP/out")" -eq 60
expect_exit 0 "--list" "$R" --list
# Every rule with smdebug's rule_configs name beside it (issue 13), written out here
# rather than derived, so a wrong derivation fails.
while read -r rule snake; do
    expect_grep "--list has $rule ($snake)" "^$rule \($snake\)\$" "$TMP/out"
done <<'LIST'
LossNotDecreasing loss_not_decreasing
VanishingGradient vanishing_gradient
ExplodingTensor exploding_tensor
WeightUpdateRatio weight_update_ratio
AllZero all_zero
UnchangedTensor unchanged_tensor
TensorVariance tensor_variance
SaturatedActivation saturated_activation
DeadRelu dead_relu
PoorWeightInitialization poor_weight_initialization
Overfit overfit
Overtraining overtraining
StalledTrainingRule stalled_training_rule
CheckInputImages check_input_images
SimilarAcrossRuns similar_across_runs
Confusion confusion
LatentNeighbors latent_neighbors
ReconstructionStalled reconstruction_stalled
LIST
expect_grep "--list has defaults" "increase_threshold_percent +number, default 5" "$TMP/out"
# smdebug's snake_case names work wherever a rule is named, with the same verdicts.
expect_exit 3 "--rule loss_not_decreasing" "$R" "$TMP/plateau" -f table --semantics smdebug \
    -r loss_not_decreasing:mode=TRAIN
expect_grep "snake_case name, same verdict" "^44 +LossNotDecreasing +fired +loss/total" "$TMP/out"
expect_exit 3 "--rule exploding_tensor" "$R" "$TMP/nan" -r exploding_tensor
expect_grep "exploding_tensor fires" '"rule": "ExplodingTensor", "result": "fired", "step": 33' \
    "$TMP/out"
printf 'dead_relu   # smdebug spelling\nvanishing_gradient:threshold=1e-7\nlossnotdecreasing\n' \
    >"$TMP/snake.rules"
expect_exit 3 "rules file with snake_case names" "$R" "$TMP/deadrelu" --semantics smdebug \
    -F "$TMP/snake.rules" -f json
expect_grep "rules file: DeadRelu fired" '"rule": "DeadRelu", "result": "fired", "step": 33' \
    "$TMP/out"
expect_grep "rules file: three rules" '"rules": \[\{"rule": "DeadRelu".*"rule": "VanishingGradient".*"rule": "LossNotDecreasing"' "$TMP/out"
expect_exit 2 "unknown snake_case name" "$R" "$TMP/plateau" -r loss_not_decreasin
expect_grep "names the unknown rule" "unknown rule 'loss_not_decreasin'" "$TMP/err"
expect_exit 2 "half-snake spelling refused" "$R" "$TMP/plateau" -r dead_re_lu
ls -R "$TMP/plateau" >"$TMP/before"
expect_exit 3 "--record" "$R" "$TMP/plateau" --record --semantics smdebug \
    -r LossNotDecreasing:mode=TRAIN
check "record: two verdicts" test "$(wc -l <"$TMP/plateau/rules/verdicts.jsonl")" -eq 2
ls -R "$TMP/plateau" | grep -v -e '^rules$' -e verdicts.jsonl -e '/rules:$' -e '^$' >"$TMP/after"
check "record touches nothing else" diff <(grep -v '^$' "$TMP/before") "$TMP/after"
finish
