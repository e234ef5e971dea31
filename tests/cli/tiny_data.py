"""tests/cli/tiny_data.py - the tiny vsim-render-style dataset the trainer's CLI tests
train on: 12 designs x 3 views of 16x16 discs, 3 labels with names.
Usage: tiny_data.py OUT.h5 [EXTRA_DESIGNS]  (EXTRA_DESIGNS > 0: that many more designs,
copies of the first with one pixel changed, so that the split differs)."""
import sys
import h5py
import numpy as np

out = sys.argv[1]
extra = int(sys.argv[2]) if len(sys.argv) > 2 else 0
n, v, s = 12, 3, 16
img = np.zeros((n, v, s, s), np.uint8)
yy, xx = np.mgrid[0:s, 0:s]
for i in range(n):
    for j in range(v):
        img[i, j] = np.where((yy - 5 - j) ** 2 + (xx - 4 - i % 6) ** 2 < (3 + i % 3) ** 2, 220, 30)
if extra:
    img[0, 0, 0, 0] ^= 1
    img = np.concatenate([img, img[np.arange(extra) % n]])
    n += extra
with h5py.File(out, "w") as f:
    f["images"] = img
    f["labels"] = (np.arange(n) % 3).astype(np.int32)
    f["design_id"] = np.arange(n).astype(np.int32) + 50
    f["label_names"] = np.array([b"disc", b"ring", b"dot"], dtype=h5py.string_dtype())
