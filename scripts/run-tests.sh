#!/bin/bash
# Run unit-test binaries and CLI test scripts; sum their "N passed, M failed"
# lines and finish with the total on a line of its own. Exit 1 on any failure.
# Usage: run-tests.sh UNIT_BIN... -- CLI_SCRIPT...
set -u
passed=0
failed=0
run_one() {
    local name=$1; shift
    local out rc p f
    out=$("$@" 2>&1); rc=$?
    p=$(printf '%s\n' "$out" | sed -n 's/.*: \([0-9]\+\) passed, \([0-9]\+\) failed.*/\1/p' | tail -1)
    f=$(printf '%s\n' "$out" | sed -n 's/.*: \([0-9]\+\) passed, \([0-9]\+\) failed.*/\2/p' | tail -1)
    if [ -z "$p" ]; then p=0; f=1; fi
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$f" -ne 0 ]; then
        printf '%s\n' "$out" | tail -40 | sed "s|^|  $name: |"
        printf 'FAIL %-34s %4d passed, %d failed (exit %d)\n' "$name" "$p" "$f" "$rc"
    else
        printf 'ok   %-34s %4d passed\n' "$name" "$p"
    fi
}
mode=unit
for arg in "$@"; do
    if [ "$arg" = "--" ]; then mode=cli; continue; fi
    [ -e "$arg" ] || continue
    if [ $mode = unit ]; then
        run_one "$(basename "$arg")" "$arg"
    else
        run_one "$(basename "$arg" .sh)" bash "$arg"
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
