# tests/cli/lib.sh - sourced by tests/cli/tNNNN-*.sh (git's t/test-lib.sh, much smaller).
# Provides: $BIN, $TMP (removed at exit), ok/fail, check NAME CMD..., expect_exit CODE NAME CMD...,
# expect_grep NAME PATTERN FILE, and `finish` that prints "N passed, M failed".
set -u
BIN=${VSIM_BIN:?VSIM_BIN must point at the programs}
BUILD=${VSIM_BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
TEST_NAME=$(basename "$0" .sh)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vsim-$TEST_NAME.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export VSIM_QUIET=1
n_pass=0
n_fail=0
ok() { n_pass=$((n_pass + 1)); }
fail() { n_fail=$((n_fail + 1)); echo "FAIL $TEST_NAME: $*" >&2; }
check() { local name=$1; shift; if "$@"; then ok; else fail "$name"; fi; }
# expect_exit CODE NAME CMD...: run CMD (stdout -> $TMP/out, stderr -> $TMP/err), compare exit.
expect_exit() {
    local want=$1 name=$2; shift 2
    "$@" >"$TMP/out" 2>"$TMP/err"; local rc=$?
    if [ "$rc" -eq "$want" ]; then ok; else
        fail "$name: exit $rc, want $want; stderr: $(head -c 400 "$TMP/err")"; fi
}
expect_grep() {
    local name=$1 pat=$2 file=$3
    if grep -qE -- "$pat" "$file"; then ok; else
        fail "$name: /$pat/ not in $file: $(head -c 400 "$file")"; fi
}
finish() { echo "cli: $TEST_NAME: $n_pass passed, $n_fail failed"; [ "$n_fail" -eq 0 ]; }
