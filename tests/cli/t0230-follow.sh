#!/bin/bash
# A reader following a live writer (two processes) sees every step exactly once,
# in order, with the values written, and stops at END.
. "$(dirname "$0")/lib.sh"
W=$BUILD/tests/helpers/shard-writer
C=$BUILD/tests/helpers/shard-check
$C "$TMP/run" --follow >"$TMP/follow.out" 2>"$TMP/follow.err" &
reader=$!
sleep 0.05
$W "$TMP/run" 60 5000 15 3 >/dev/null
wait $reader; rc=$?
check "follower exits cleanly ($(cat "$TMP/follow.err"))" test $rc -eq 0
expect_grep "every step once" "^checked 60 steps, 0 problems$" "$TMP/follow.out"
# STOP honoured: the writer stops within one step and writes END "stopped"
$W "$TMP/run2" 0 100 10 1 >"$TMP/w.out" &
writer=$!
sleep 0.3
touch "$TMP/run2/STOP"
n_at_stop=$(wc -l <"$TMP/w.out")
wait $writer
n_final=$(wc -l <"$TMP/w.out")
check "writer stopped within one step ($n_at_stop -> $n_final)" test $((n_final - n_at_stop)) -le 1
expect_grep "END says stopped" '"status": "stopped"' "$TMP/run2/END"
finish
