#!/bin/bash
# Crash safety: a writer killed with SIGKILL at 20 random moments leaves every
# step the reader lists complete and equal to what was written, and no visible
# partial shard (shard-check fails on any problem or wrong value), with fsync
# before rename and with the background fsync alike.
. "$(dirname "$0")/lib.sh"
W=$BUILD/tests/helpers/shard-writer
C=$BUILD/tests/helpers/shard-check
RANDOM=42
total=0
for i in $(seq 1 20); do
    d=$TMP/run$i
    mode=$((1 + i % 2))   # odd kills: fsync before rename; even: background fsync
    $W "$d" 0 30000 0 3 $mode >"$TMP/w.out" 2>/dev/null &
    pid=$!
    sleep "0.$(printf '%03d' $((RANDOM % 400 + 5)))"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    if [ -e "$d/run.json" ]; then
        out=$($C "$d" 2>&1); rc=$?
        check "kill $i: listed steps complete and exact ($out)" test $rc -eq 0
        n=$(sed -n 's/checked \([0-9]*\) steps.*/\1/p' <<<"$out")
        written=$(wc -l <"$TMP/w.out")
        # every step the writer reported finished is listed (at most one more was in flight)
        check "kill $i: no finished step lost ($n listed, $written reported)" \
            test "${n:-0}" -ge "$written" -a "${n:-0}" -le $((written + 1))
        total=$((total + ${n:-0}))
    else
        ok   # killed before run.json existed: nothing to check
    fi
    check "kill $i: no END after SIGKILL" test ! -e "$d/END"
done
echo "crash test: $total steps verified across 20 kills" >&2
check "the kills landed mid-run" test $total -gt 20
finish
