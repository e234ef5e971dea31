#!/bin/bash
# Fail when git tracks a build output: an ELF file (program, object, shared
# library) or an ar archive (static library). Run by `make check` (issue 13).
# Usage: check-binaries.sh [REPO_DIR]   (default: the current directory)
# Exit 0: none tracked (or not a git checkout: nothing to check); 1: some are,
# each named on stderr.
set -u
dir=${1:-.}
if ! git -C "$dir" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "check-binaries: $dir is not a git checkout; nothing to check" >&2
    exit 0
fi
top=$(git -C "$dir" rev-parse --show-toplevel)
bad=0
while IFS= read -r -d '' f; do
    p=$top/$f
    [ -f "$p" ] && [ ! -L "$p" ] || continue
    magic=$(head -c 8 "$p" | od -An -tx1 | tr -d ' \n')
    case $magic in
    7f454c46*) kind="ELF file" ;;             # \177 E L F
    213c617263683e0a) kind="ar archive" ;;    # !<arch>\n
    *) continue ;;
    esac
    echo "check-binaries: $f: git tracks a build output ($kind); remove it with git rm --cached" >&2
    bad=1
done < <(git -C "$top" ls-files -z)
[ $bad -eq 0 ] && echo "check-binaries: no build output tracked"
exit $bad
