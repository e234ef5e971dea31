#!/bin/bash
# t0010-hygiene: the repository describes itself and tracks no build output
# (issue 13). scripts/check-binaries.sh must fail on a tracked ELF file or ar
# archive and pass once they are removed; the product's files never point at a
# ../shared folder a user does not have.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
C=$ROOT/scripts/check-binaries.sh

git init -q "$TMP/repo" || fail "git init"
g() { git -C "$TMP/repo" -c user.name=t -c user.email=t@t "$@"; }
mkdir -p "$TMP/repo/src" "$TMP/repo/tmp/sb"
echo 'int main(void) { return 0; }' >"$TMP/repo/src/a.c"
printf '177ELF is only text here\n' >"$TMP/repo/src/notes.txt"
g add . && g commit -qm source
expect_exit 0 "clean tree passes" "$C" "$TMP/repo"
cp "$BIN/vsim-ls" "$TMP/repo/tmp/sb/vsim-ls"
cp "$BUILD/libvsim.a" "$TMP/repo/tmp/sb/libvsim.a"
g add . && g commit -qm "binaries by mistake"
expect_exit 1 "tracked binaries fail the check" "$C" "$TMP/repo"
expect_grep "names the program" "tmp/sb/vsim-ls: git tracks a build output \(ELF file\)" "$TMP/err"
expect_grep "names the archive" "tmp/sb/libvsim.a: git tracks a build output \(ar archive\)" \
    "$TMP/err"
expect_exit 1 "from a sub-folder too" "$C" "$TMP/repo/src"
g rm -q --cached tmp/sb/vsim-ls tmp/sb/libvsim.a && g commit -qm "remove binaries"
expect_exit 0 "untracked binaries are not the check's business" "$C" "$TMP/repo"
mkdir -p "$TMP/plain" && cp "$BIN/vsim-ls" "$TMP/plain/"
expect_exit 0 "not a git checkout: nothing to check" "$C" "$TMP/plain"
expect_grep "says so" "not a git checkout" "$TMP/err"

if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    expect_exit 0 "this repository tracks no build output" "$C" "$ROOT"
    git -C "$ROOT" grep -n -e '\.\./shared' -- . ':!tests' ':!.ci' >"$TMP/refs"
    check "no product file points at ../shared: $(head -c 300 "$TMP/refs")" test ! -s "$TMP/refs"
fi
check "docs/architecture.md" test -s "$ROOT/docs/architecture.md"
check "docs/format.md" test -s "$ROOT/docs/format.md"
check "one documentation folder (docs/, no doc/)" test ! -e "$ROOT/doc"
for f in $(sed -n 's/^MANPAGES += //p' "$ROOT"/*/module.mk "$ROOT"/analyze/tsne.mk); do
    check "man page $f exists" test -s "$ROOT/$f"
done
finish
