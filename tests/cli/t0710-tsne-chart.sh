#!/bin/bash
# vsim-tsne --png/--svg/--pdf through plot/ (issue 7). Skipped with a note in a
# build without cairo (CAIRO=0).
. "$(dirname "$0")/lib.sh"
T=$BIN/vsim-tsne

$PYTHON - "$TMP" <<'PY'
import sys, numpy as np
r = np.random.default_rng(4)
x = r.normal(size=(120, 4)).astype(np.float32)
lab = np.arange(120) % 4
x[np.arange(120), lab] += 20
np.savetxt(sys.argv[1] + "/x.csv", x, delimiter=",", fmt="%.6f")
np.savetxt(sys.argv[1] + "/l.txt", lab, fmt="%d")
PY
A="--perplexity 8 --iters 200 -l $TMP/l.txt"
"$T" "$TMP/x.csv" $A --png "$TMP/c.png" >"$TMP/out" 2>"$TMP/err"
if grep -q "charts need cairo" "$TMP/err"; then
    echo "t0710-tsne-chart: note: charts skipped: this build has no cairo"
    finish
    exit $?
fi
expect_exit 0 "png" "$T" "$TMP/x.csv" $A --png "$TMP/c.png"
check "png magic" bash -c "head -c 8 '$TMP/c.png' | od -An -c | grep -q 'P   N   G'"
expect_exit 0 "svg + pdf" "$T" "$TMP/x.csv" $A --svg "$TMP/c.svg" --pdf "$TMP/c.pdf"
expect_grep "svg" "<svg" "$TMP/c.svg"
check "pdf magic" grep -q "^%PDF" "$TMP/c.pdf"
finish
