#!/bin/bash
# vsim-tsne (issue 7): CSV, raw float32, HDF5 and run inputs; CSV/HDF5 output;
# quality figures (table and JSON); determinism across runs and thread counts;
# bad input with the messages the issue asks for.
. "$(dirname "$0")/lib.sh"
T=$BIN/vsim-tsne

# Three separated blobs, 60 points each, 5-D; labels 0/1/2.
$PYTHON - "$TMP" <<'PY'
import sys, numpy as np, h5py
d = sys.argv[1]
r = np.random.default_rng(3)
x = r.normal(size=(180, 5)).astype(np.float32)
lab = np.arange(180) % 3
x[np.arange(180), lab] += 25
np.savetxt(d + "/blobs.csv", x, delimiter=",", header="a,b,c,d,e", comments="", fmt="%.6f")
np.savetxt(d + "/labels.txt", lab, fmt="%d")
open(d + "/names.txt", "w").write("".join(["cat\n", "dog\n", "emu\n"][l] for l in lab))
x.tofile(d + "/blobs.f32")
with h5py.File(d + "/in.h5", "w") as f:
    f["emb/x"] = x
    f["emb/y"] = lab.astype(np.int64)
bad = x.copy(); bad[17, 2] = np.nan
np.savetxt(d + "/nan.csv", bad, delimiter=",", fmt="%.6f")
np.savetxt(d + "/short.txt", lab[:100], fmt="%d")
PY

A="--perplexity 10 --iters 300 --seed 5"
expect_exit 0 "csv in, csv out, quality" $T "$TMP/blobs.csv" -l "$TMP/labels.txt" $A \
    -o "$TMP/out.csv" --quality
expect_grep "knn accuracy 1" "^knn10_accuracy +1\.0000" "$TMP/out"
expect_grep "kl line" "^kl +[0-9.]+ +\(exact, 180 points\)" "$TMP/out"
expect_grep "trustworthiness" "^trustworthiness +0\.9[0-9]+" "$TMP/out"
check "csv layout" $PYTHON - "$TMP/out.csv" <<'PY'
import sys, numpy as np
rows = open(sys.argv[1]).read().split("\n")
assert rows[0] == "x,y,label", rows[0]
a = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1)
assert a.shape == (180, 3) and np.isfinite(a).all(), a.shape
assert (a[:, 2] == np.arange(180) % 3).all()
PY

expect_exit 0 "KL on a subset" $T "$TMP/blobs.csv" $A --quality --kl-points 100
expect_grep "subset stated" "^kl +[0-9.]+ +\(exact, 100 points\)" "$TMP/out"
expect_exit 0 "json quality" $T "$TMP/blobs.csv" -l "$TMP/labels.txt" $A --quality -f json
check "json fields" $PYTHON - "$TMP/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["n"] == 180 and d["kl_points"] == 180 and d["knn_accuracy"] == 1.0, d
assert 0 < d["kl"] < 2 and 0.9 < d["trustworthiness"] <= 1 and 0 < d["nn_preservation"] <= 1, d
PY

# the same seed gives the same layout, whatever the thread count
expect_exit 0 "rerun 1 thread" $T "$TMP/blobs.csv" $A -t 1 -o "$TMP/t1.csv"
expect_exit 0 "rerun 2 threads" $T "$TMP/blobs.csv" $A -t 2 -o "$TMP/t2.csv"
check "same seed + threads 1/2: identical" cmp -s "$TMP/t1.csv" "$TMP/t2.csv"
expect_exit 0 "exact gradient" $T "$TMP/blobs.csv" $A --theta 0 -o "$TMP/ex.csv"
expect_exit 0 "fft method" $T "$TMP/blobs.csv" $A --method fft -l "$TMP/labels.txt" --quality
expect_grep "fft accuracy" "^knn10_accuracy +1\.0000" "$TMP/out"
expect_exit 0 "3-D, random init" $T "$TMP/blobs.csv" $A --out-dims 3 --init random -o "$TMP/3d.csv"
expect_grep "3-D header" "^x,y,z$" "$TMP/3d.csv"

# raw float32, HDF5 in and out, text label names
expect_exit 0 "raw float32" $T "$TMP/blobs.f32" --dims 5 $A -o "$TMP/raw.csv"
expect_exit 0 "hdf5 in" $T "$TMP/in.h5:/emb/x" $A -o "$TMP/h5.csv"
check "raw = hdf5 input" cmp -s "$TMP/raw.csv" "$TMP/h5.csv"
expect_exit 0 "hdf5 in/out" $T "$TMP/in.h5:/emb/x" -l "$TMP/in.h5:/emb/y" $A -o "$TMP/out.h5"
check "hdf5 layout" $PYTHON - "$TMP/out.h5" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
assert f["coords"].shape == (180, 2) and (f["labels"][:] == np.arange(180) % 3).all()
PY
expect_exit 0 "label names" $T "$TMP/blobs.csv" -l "$TMP/names.txt" $A -o "$TMP/names.csv"
expect_grep "names in csv" "^[-0-9.e]+,[-0-9.e]+,emu$" "$TMP/names.csv"

# a run written by the capture API (embeddings/latent + embeddings/labels)
MK=$BUILD/tests/helpers/plot-mkrun
if [ -x "$MK" ]; then
    "$MK" "$TMP/run" >/dev/null
    expect_exit 0 "run input" $T --run "$TMP/run" --perplexity 10 --iters 200 -o "$TMP/run.csv"
    expect_grep "run labels" "^x,y,label$" "$TMP/run.csv"
    # class names come from run.json's hyperparameters.label_names (the trainer copies
    # the dataset's label_names there)
    cp -r "$TMP/run" "$TMP/named"
    $PYTHON - "$TMP/named/run.json" "$TMP/run.csv" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
k = 1 + max(int(l.split(",")[2]) for l in open(sys.argv[2]).readlines()[1:])
d["hyperparameters"]["label_names"] = ["class%c" % (65 + i) for i in range(k)]
json.dump(d, open(sys.argv[1], "w"))
PY
    expect_exit 0 "named run" $T --run "$TMP/named" --perplexity 10 --iters 200 -o "$TMP/named.csv"
    check "labels written as class names" $PYTHON - "$TMP/run.csv" "$TMP/named.csv" <<'PY'
import sys
a = [l.strip().split(",") for l in open(sys.argv[1]).readlines()[1:]]
b = [l.strip().split(",") for l in open(sys.argv[2]).readlines()[1:]]
assert len(a) == len(b) > 0
assert all(y[2] == "class%c" % (65 + int(x[2])) for x, y in zip(a, b)), b[:3]
PY
    expect_exit 1 "run: no such tensor" $T --run "$TMP/run" --tensor nope/x --perplexity 5
    expect_grep "names the tensor" "no tensor 'nope/x'" "$TMP/err"
else
    echo "t0700-tsne: note: $MK missing, run input not tested"
fi

# bad input
expect_exit 1 "NaN row" $T "$TMP/nan.csv" $A
expect_grep "names the row" "vsim-tsne: error: .*row 17 holds NaN" "$TMP/err"
expect_exit 1 "too few points" $T "$TMP/blobs.csv" --perplexity 70
expect_grep "largest perplexity" "largest perplexity that works is 59\.66" "$TMP/err"
expect_exit 1 "labels of the wrong length" $T "$TMP/blobs.csv" -l "$TMP/short.txt" $A
expect_grep "label count" "short.txt: 100 labels for 180 points" "$TMP/err"
expect_exit 1 "raw without --dims" $T "$TMP/blobs.f32" $A
expect_grep "dims message" "needs --dims" "$TMP/err"
printf '\n\n' > "$TMP/empty.csv"
expect_exit 1 "D = 0" $T "$TMP/empty.csv"
expect_exit 1 "missing file" $T "$TMP/nope.csv"
expect_exit 2 "bad method" $T "$TMP/blobs.csv" --method warp
expect_exit 2 "no input" $T
expect_exit 0 "help" $T --help
expect_grep "help lists --perplexity" "--perplexity" "$TMP/out"
finish
