#!/usr/bin/python3
"""bench/plot_mpl.py - the matplotlib anchor of bench/bench-plot.sh (issue 6):
draws the same two charts as bench_plot from the same data (OUT/points.bin,
OUT/layers.bin): a 1M-point scatter coloured by label with a legend, and a
40-layer violin + box chart of log10|g|, both PNG at 1600x1200."""
import sys
import time

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000000
raw = np.fromfile(f"{out}/points.bin", dtype=np.uint8)
x = raw[: 8 * n].view(np.float64)
y = raw[8 * n: 16 * n].view(np.float64)
lab = raw[16 * n: 20 * n].view(np.int32)
g = np.fromfile(f"{out}/layers.bin", dtype=np.float32).reshape(40, -1)


def scatter():
    fig, ax = plt.subplots(figsize=(16, 12), dpi=100)
    cmap = plt.get_cmap("tab10")
    ax.scatter(x, y, c=cmap(lab % 10), s=1.0, alpha=0.15, linewidths=0, rasterized=True)
    for k in range(10):
        ax.scatter([], [], color=cmap(k), label=str(k))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title("1M points")
    ax.set_xlabel("t-SNE 1")
    ax.set_ylabel("t-SNE 2")
    fig.savefig(f"{out}/scatter-mpl.png")
    plt.close(fig)


def dist():
    fig, ax = plt.subplots(figsize=(16, 12), dpi=100)
    data = [np.log10(np.abs(r[r != 0])) for r in g]
    pos = np.arange(40, 0, -1)
    ax.violinplot(data, positions=pos, vert=False, points=64, showextrema=False)
    ax.boxplot(data, positions=pos, vert=False, whis=(5, 95), showfliers=False)
    ax.set_yticks(pos)
    ax.set_yticklabels([f"{'enc' if k < 20 else 'dec'}/block{k // 4}/conv{k % 4}"
                        for k in range(40)])
    ax.set_title("40 layers")
    ax.set_xlabel("log10 |value|")
    fig.savefig(f"{out}/dist-mpl.png")
    plt.close(fig)


for name, fn in (("scatter", scatter), ("dist", dist)):
    best = float("inf")
    for rep in range(3):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    print(f"matplotlib {name}: {best:.3f} s (best of 3, matplotlib {matplotlib.__version__})")
