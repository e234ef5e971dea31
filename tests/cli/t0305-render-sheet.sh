#!/bin/bash
# t0305-render-sheet: the contact sheet's label column fits its longest label
# (issue 13): folder names such as pin_header_2.54mm_tht never run into the first
# image of their row, a name too long for any column is ellipsized on the sheet
# and kept whole in the HDF5. The PNG is decoded and checked pixel by pixel.
. "$(dirname "$0")/lib.sh"
R=$BIN/vsim-render
long=connector_board_to_board_very_long_family_name_that_cannot_fit_on_any_sheet_column_x
cube='v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nv 0 0 1\nv 1 0 1\nv 1 1 1\nv 0 1 1\n'
cube+='f 1 3 2\nf 1 4 3\nf 5 6 7\nf 5 7 8\nf 1 2 6\nf 1 6 5\nf 2 3 7\nf 2 7 6\n'
cube+='f 3 4 8\nf 3 8 7\nf 4 1 5\nf 4 5 8\n'

# sheet.py H5 PNG PER_LABEL WANT_LABEL_W(0: any) -- decode and check the sheet.
cat >"$TMP/sheet.py" <<'PY'
import sys, h5py, numpy as np
from PIL import Image
h5, png, per, want_w = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
f = h5py.File(h5, "r")
img, labels = f["images"][:], f["labels"][:]
names = [s.decode() if isinstance(s, bytes) else s for s in f["label_names"][:]]
n, V, S = img.shape[0], img.shape[1], img.shape[2]
a = np.asarray(Image.open(png).convert("RGB")).astype(int)
H, W = a.shape[0], a.shape[1]
row_h, design_w = S + 4, V * (S + 2) + 10
label_w = W - per * design_w
assert H == len(names) * row_h, (H, len(names))
if want_w:
    assert label_w == want_w, ("label column", label_w, "want", want_w)
for l, name in enumerate(names):
    y0 = l * row_h
    first = int(np.flatnonzero(labels == l)[0])
    # The first view of the row's first design, exactly as in the HDF5: no text on it.
    got = a[y0 + 2:y0 + 2 + S, label_w:label_w + S, 0]
    assert (got == img[first, 0]).all(), ("text over the first image of row", name)
    band = a[y0:y0 + row_h, :label_w].min(axis=2)
    ink = np.flatnonzero((band < 128).any(axis=0))
    assert len(ink) > 3 * min(len(name), 20), ("label drawn", name, len(ink))
    assert ink.max() < label_w - 3, ("label reaches the image", name, ink.max(), label_w)
print("label column", label_w, "px for", len(names), "labels")
PY

mkdir -p "$TMP/parts"
for d in ab capacitor_radial_tht pin_header_2.54mm_tht; do
    mkdir -p "$TMP/parts/$d"; printf "$cube" >"$TMP/parts/$d/c.obj"
done
expect_exit 0 "sheet with long folder names" "$R" -o "$TMP/m.h5" --mesh "$TMP/parts" --size 32 \
    --sheet "$TMP/sheet.png" --sheet-designs 2
check "label column fits the longest label" "$PYTHON" "$TMP/sheet.py" "$TMP/m.h5" \
    "$TMP/sheet.png" 2 0

mkdir -p "$TMP/parts/$long"; printf "$cube" >"$TMP/parts/$long/c.obj"
expect_exit 0 "sheet with a name too long for any column" "$R" -o "$TMP/l.h5" \
    --mesh "$TMP/parts" --size 32 --sheet "$TMP/long.png" --sheet-designs 1
check "too long a label is ellipsized at the widest column" "$PYTHON" "$TMP/sheet.py" \
    "$TMP/l.h5" "$TMP/long.png" 1 360
check "the HDF5 keeps the whole name" "$PYTHON" -c "
import h5py
names = [s.decode() if isinstance(s, bytes) else s for s in h5py.File('$TMP/l.h5')['label_names'][:]]
assert '$long' in names, names"

# Short labels keep a narrow column (the sheet is not padded for nothing).
expect_exit 0 "sheet of the procedural families" "$R" -o "$TMP/p.h5" --designs 1 --size 32 \
    --families gear,beam --sheet "$TMP/p.png" --sheet-designs 1
check "short labels, narrow column" "$PYTHON" -c "
from PIL import Image
w = Image.open('$TMP/p.png').size[0] - (6 * 34 + 10)
assert 60 <= w <= 70, w"
finish
