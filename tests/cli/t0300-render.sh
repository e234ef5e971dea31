#!/bin/bash
# t0300-render: vsim-render end to end - HDF5 layout, determinism across thread
# counts, random views, mesh folders, bad meshes (error names the file, nothing
# written), contact sheet, Fashion-MNIST import, and the 1-NN separability figure.
. "$(dirname "$0")/lib.sh"
R=$BIN/vsim-render

expect_exit 0 "list families" "$R" --list
check "at least 8 families" [ "$(wc -l <"$TMP/out")" -ge 8 ]
expect_exit 2 "missing -o" "$R" --designs 2
expect_exit 2 "unknown family" "$R" -o "$TMP/x.h5" --families gear,nosuch
check "no file after usage error" [ ! -e "$TMP/x.h5" ]

expect_exit 0 "render small" "$R" -o "$TMP/a.h5" --designs 4 --size 32 --seed 5 --threads 2 \
    --sheet "$TMP/sheet.png"
expect_grep "summary line" "designs x 6 views x 32 x 32" "$TMP/out"
check "sheet is a PNG" bash -c "head -c 8 '$TMP/sheet.png' | od -c | grep -q 'P   N   G'"
expect_exit 0 "same seed, 1 thread" "$R" -o "$TMP/b.h5" --designs 4 --size 32 --seed 5 --threads 1
check "byte-identical across thread counts" cmp -s "$TMP/a.h5" "$TMP/b.h5"
expect_exit 0 "other seed" "$R" -o "$TMP/c.h5" --designs 4 --size 32 --seed 6
check "other seed differs" bash -c "! cmp -s '$TMP/a.h5' '$TMP/c.h5'"

cat >"$TMP/layout.py" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
n_fam = len(f["label_names"])
im = f["images"]
assert im.dtype == np.uint8 and im.shape == (n_fam * 4, 6, 32, 32), im.shape
assert f["labels"].dtype == np.int32 and list(np.bincount(f["labels"][:])) == [4] * n_fam
assert list(f["design_id"][:]) == list(range(n_fam * 4))
assert f["params"].shape == (n_fam * 4, 8) and f["param_names"].shape == (n_fam, 8)
names = [s.decode() if isinstance(s, bytes) else s for s in f["label_names"][:]]
assert "gear" in names and "bracket" in names, names
v = f["view_dirs"][:]
assert v.shape == (n_fam * 4, 6, 3) and np.allclose(np.linalg.norm(v, axis=2), 1, atol=1e-6)
assert f.attrs["vsim_schema"] in ("vsim-samples/1", b"vsim-samples/1")
assert int(f.attrs["seed"]) == 5 and int(f.attrs["size"]) == 32
img = im[:]
assert (img.reshape(len(img), 6, -1).max(axis=2) > 100).all(), "every view shows the part"
PY
check "HDF5 layout" "$PYTHON" "$TMP/layout.py" "$TMP/a.h5"

expect_exit 0 "random views" "$R" -o "$TMP/r.h5" --families blob,gear --designs 3 --views 9 \
    --random-views --size 24
check "random view layout" "$PYTHON" -c "
import h5py, numpy as np
f = h5py.File('$TMP/r.h5', 'r'); v = f['view_dirs'][:]
assert f['images'].shape == (6, 9, 24, 24) and not np.allclose(v[0], v[1])"
expect_exit 1 "7 fixed views refused" "$R" -o "$TMP/v.h5" --views 7

# Mesh folders: sub-folder names become labels.
mkdir -p "$TMP/parts/cubes" "$TMP/parts/wedges" "$TMP/bad"
"$PYTHON" - "$TMP" <<'PY'
import sys, struct
d = sys.argv[1]
v = [(0,0,0),(1,0,0),(1,1,0),(0,1,0),(0,0,1),(1,0,1),(1,1,1),(0,1,1)]
f = [(1,3,2),(1,4,3),(5,6,7),(5,7,8),(1,2,6),(1,6,5),(2,3,7),(2,7,6),(3,4,8),(3,8,7),(4,1,5),(4,5,8)]
with open(d + "/parts/cubes/cube.obj", "w") as o:
    o.writelines("v %g %g %g\n" % p for p in v); o.writelines("f %d %d %d\n" % t for t in f)
def stl(path, tris, count=None, cut=0):
    b = bytearray(80) + struct.pack("<I", len(tris) if count is None else count)
    for t in tris:
        b += struct.pack("<12fH", 0, 0, 0, *[c for p in t for c in p], 0)
    open(path, "wb").write(b[:len(b) - cut])
tris = [tuple(v[i - 1] for i in t) for t in f]
stl(d + "/parts/cubes/cube2.stl", [tuple((x * 2, y, z) for x, y, z in t) for t in tris])
w = [(0,0,0),(1,0,0),(0,1,0),(0,0,1)]
stl(d + "/parts/wedges/w.stl", [(w[0],w[2],w[1]),(w[0],w[1],w[3]),(w[0],w[3],w[2]),(w[1],w[2],w[3])])
stl(d + "/bad/truncated.stl", tris, cut=20)
stl(d + "/bad/count.stl", tris, count=13)
stl(d + "/bad/nan.stl", [((float("nan"), 0, 0), (1, 0, 0), (0, 1, 0))])
stl(d + "/bad/empty.stl", [])
open(d + "/bad/range.obj", "w").write("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n")
open(d + "/bad/empty.obj", "w").write("v 0 0 0\n")
PY
expect_exit 0 "render mesh folder" "$R" -o "$TMP/m.h5" --mesh "$TMP/parts" --size 32
check "mesh labels from folders" "$PYTHON" -c "
import h5py
f = h5py.File('$TMP/m.h5', 'r')
names = [s.decode() if isinstance(s, bytes) else s for s in f['label_names'][:]]
assert names == ['cubes', 'wedges'] and list(f['labels'][:]) == [0, 0, 1], names
assert f['images'].shape == (3, 6, 32, 32) and f['images'][:].max() > 100"
for bad in truncated.stl count.stl nan.stl empty.stl range.obj empty.obj; do
    expect_exit 1 "bad mesh $bad" "$R" -o "$TMP/bad.h5" --mesh "$TMP/bad/$bad"
    expect_grep "error names $bad" "vsim-render: error: .*$bad" "$TMP/err"
    check "nothing written for $bad" [ -z "$(ls "$TMP" | grep '^bad\.h5')" ]
done

if [ -d /usr/share/datasets/fashion-mnist ]; then
    expect_exit 0 "fashion-mnist import" "$R" -o "$TMP/fm.h5" \
        --fmnist /usr/share/datasets/fashion-mnist --limit 300
    check "fashion-mnist layout" "$PYTHON" -c "
import h5py, numpy as np
f = h5py.File('$TMP/fm.h5', 'r')
assert f['images'].shape == (600, 1, 28, 28) and f['images'].dtype == np.uint8
assert list(np.bincount(f['split'][:])) == [300, 300] and f['labels'][:].max() == 9
assert len(f['label_names']) == 10 and f['images'][:].mean() > 20"
fi
expect_exit 1 "fashion-mnist missing" "$R" -o "$TMP/fm2.h5" --fmnist "$TMP/nowhere"
check "no file for a failed import" [ ! -e "$TMP/fm2.h5" ]

# Separability: 1-NN on raw pixels, leaving out each design's own snapshots.
expect_exit 0 "render separability set" "$R" -o "$TMP/s.h5" --designs 24 --size 32 --seed 11
cat >"$TMP/sep.py" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
x = f["images"][:].astype(np.float32); y = f["labels"][:]
n, v = x.shape[:2]
chance = 1.0 / len(f["label_names"])
d = x.reshape(n, -1); sq = (d * d).sum(1)
dist = sq[:, None] + sq[None, :] - 2 * d @ d.T; np.fill_diagonal(dist, np.inf)
acc_design = (y[dist.argmin(1)] == y).mean()
s = x.reshape(n * v, -1); sy = np.repeat(y, v); sid = np.repeat(np.arange(n), v)
sq = (s * s).sum(1); ds = sq[:, None] + sq[None, :] - 2 * s @ s.T
ds[sid[:, None] == sid[None, :]] = np.inf
acc_view = (sy[ds.argmin(1)] == sy).mean()
same = [(dist[i, y == y[i]]).min() for i in range(n)]
print("separability: 1-NN leave-one-design-out: %.3f per design (all views), %.3f per "
      "snapshot; chance %.3f; %d designs" % (acc_design, acc_view, chance, n))
assert acc_view > 3 * chance and acc_design > 3 * chance
assert min(same) > 0, "two designs of a family are identical"
PY
check "1-NN separability" "$PYTHON" "$TMP/sep.py" "$TMP/s.h5"
finish
