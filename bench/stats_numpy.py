#!/usr/bin/python3
# bench/stats_numpy.py - the Python baseline of bench/bench-stats.sh (issue 5):
# what a user would write with h5py and numpy (Debian packages) to get the
# statistics vsim-stats prints for every tensor of every step: counts of NaN,
# +Inf, -Inf and zeros; min, max, mean, std, L1, L2 and the 7 default
# percentiles over the finite values, in float64. Prints one CSV line per tensor.
# Usage: /usr/bin/python3 bench/stats_numpy.py RUN > out.csv
# SPDX-License-Identifier: MIT
import glob
import os
import sys

import h5py
import numpy as np

PCTS = [1, 5, 25, 50, 75, 95, 99]


def stats(x):
    x = np.asarray(x).ravel()
    d = x.astype(np.float64)
    finite = np.isfinite(d)
    fin = d[finite]
    n_nan = int(np.isnan(d).sum())
    n_pinf = int(np.isposinf(d).sum())
    n_ninf = int(np.isneginf(d).sum())
    if fin.size == 0:
        return [d.size, n_nan, n_pinf, n_ninf, 0] + [float("nan")] * (6 + len(PCTS))
    out = [d.size, n_nan, n_pinf, n_ninf, int((fin == 0).sum()), fin.min(), fin.max(),
           fin.mean(), fin.std(), np.abs(fin).sum(), np.sqrt(np.dot(fin, fin))]
    return out + list(np.percentile(fin, PCTS))


def main():
    run = sys.argv[1]
    out = sys.stdout
    for path in sorted(glob.glob(os.path.join(run, "shards", "w*", "step-*.h5"))):
        with h5py.File(path, "r") as f:
            step = int(f.attrs["step"])
            worker = int(f.attrs["worker"])
            names = []
            f["tensors"].visititems(
                lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
            for name in names:
                row = stats(f["tensors"][name][()])
                out.write("%d,%d,%s,%s\n" % (worker, step, name,
                                             ",".join("%.17g" % v for v in row)))


if __name__ == "__main__":
    main()
