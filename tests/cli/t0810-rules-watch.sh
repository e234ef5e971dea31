#!/bin/bash
# vsim-rules --watch: a writer produces a run whose loss plateaus from train step 25;
# the watcher fires LossNotDecreasing, writes STOP, the writer stops; the steps saved
# after the plateau began and after the firing are counted and reported. The rules
# run with smdebug semantics (a plateau judged against the step num_steps back).
. "$(dirname "$0")/lib.sh"
M=$BUILD/tests/helpers/rules-mkrun
R=$BIN/vsim-rules
PLATEAU=25
$R "$TMP/live" --watch --poll-ms 50 --timeout 60 --on-fire stop -r LossNotDecreasing:semantics=smdebug \
    -r ExplodingTensor >"$TMP/w.out" 2>"$TMP/w.err" &
watcher=$!
sleep 0.2   # the watcher waits for run.json to appear
$M live "$TMP/live" --steps 0 --at $PLATEAU --eval-every 0 --sleep-ms 25 >"$TMP/steps.out"
wait $watcher; rc=$?
check "watcher exits 3 (finding): $(cat "$TMP/w.err")" test $rc -eq 3
fired=$(sed -n 's/.*"rule": "LossNotDecreasing", "result": "fired", "step": \([0-9]*\).*/\1/p' \
        "$TMP/w.out" | head -1)
last=$(tail -1 "$TMP/steps.out")
check "fired (step '$fired')" test -n "$fired"
check "first check after the plateau fires: step $fired = 40" test "${fired:-0}" -eq 40
expect_grep "STOP written by the rule" '"rule": "LossNotDecreasing"' "$TMP/live/STOP"
expect_grep "END says stopped" '"status": "stopped"' "$TMP/live/END"
expect_grep "action logged" "action: LossNotDecreasing fired at step 40: wrote .*/STOP" "$TMP/w.err"
check "action once" test "$(grep -c 'action:' "$TMP/w.err")" -eq 1
# the writer honours STOP within a poll interval plus a step or two
check "steps after firing: $((last - fired)) <= 6" test $((last - fired)) -le 6
echo "# plateau at step $PLATEAU, fired at step $fired, writer stopped after step $last:" \
     "$((last - PLATEAU + 1)) steps saved after the plateau began, $((last - fired)) after firing"
expect_grep "summary ended" '"type": "summary", "steps": [0-9]+, "last_step": '"$last"', "ended": true' "$TMP/w.out"
# signal action: the watcher signals a process (here a sleeping child) once
sleep 30 &
victim=$!
$M plateau "$TMP/plateau" --eval-every 0 >/dev/null
expect_exit 3 "signal action" "$R" "$TMP/plateau" -r LossNotDecreasing:semantics=smdebug --on-fire signal:$victim:TERM
wait $victim 2>/dev/null; vrc=$?
check "victim got SIGTERM (exit $vrc)" test $vrc -eq 143
# OpenMP's idle threads sleep (vsim_cli_omp_passive re-executes with
# OMP_WAIT_POLICY=passive), and actions still see the user's environment
expect_exit 3 "exec action" "$R" "$TMP/plateau" -r LossNotDecreasing:semantics=smdebug \
    --on-fire "exec:env > $TMP/action-env; tr '\\0' '\\n' </proc/\$PPID/environ > $TMP/parent-env"
check "the rules process ran with OMP_WAIT_POLICY=passive" grep -qx OMP_WAIT_POLICY=passive "$TMP/parent-env"
check "the action does not inherit it" sh -c "! grep -q -e OMP_WAIT_POLICY -e VSIM_OMP '$TMP/action-env'"
OMP_WAIT_POLICY=active "$R" "$TMP/plateau" -r LossNotDecreasing:semantics=smdebug --on-fire "exec:env > $TMP/action-env" >/dev/null
check "a user's OMP_WAIT_POLICY is kept" grep -qx OMP_WAIT_POLICY=active "$TMP/action-env"
# timeout: a run that never ends
$M healthy "$TMP/slow" --steps 3 >/dev/null
rm -f "$TMP/slow/END"
expect_exit 0 "watch timeout" "$R" "$TMP/slow" --watch --poll-ms 20 --timeout 0.3
expect_grep "timed out" '"ended": false, "timed_out": true' "$TMP/out"
# StalledTrainingRule watching: no new step for 1 s
expect_exit 3 "stalled while watching" "$R" "$TMP/slow" --watch --poll-ms 50 --timeout 2 \
    -r StalledTrainingRule:threshold=1
expect_grep "stalled verdict" '"rule": "StalledTrainingRule", "result": "fired"' "$TMP/out"
finish
