#!/bin/bash
# Issue 6: a 1,000,000-point scatter to PNG at 1600x1200 and a 40-layer
# distribution chart (40 x 50,000 gradients, violin + box of log10|g|), vsim
# beside matplotlib (Debian python3-matplotlib, /usr/bin/python3) drawing the
# same charts from the same data in the same run.
# Goal: >= 10x faster than matplotlib, and 1M points under 0.5 s.
set -e
OUT=bench/out/plot
rm -rf "$OUT" && mkdir -p "$OUT"
echo "plot ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)); cairo $(pkg-config --modversion cairo)"
"$VSIM_BUILD/bench/bench_plot" "$OUT" 1000000 | tee "$OUT/vsim.txt"
/usr/bin/python3 bench/plot_mpl.py "$OUT" 1000000 | tee "$OUT/mpl.txt"
vs=$(sed -n 's/^vsim scatter.*: \([0-9.]*\) s.*/\1/p' "$OUT/vsim.txt")
vd=$(sed -n 's/^vsim dist.*: \([0-9.]*\) s.*/\1/p' "$OUT/vsim.txt")
ms=$(sed -n 's/^matplotlib scatter: \([0-9.]*\) s.*/\1/p' "$OUT/mpl.txt")
md=$(sed -n 's/^matplotlib dist: \([0-9.]*\) s.*/\1/p' "$OUT/mpl.txt")
awk -v vs="$vs" -v vd="$vd" -v ms="$ms" -v md="$md" 'BEGIN {
    printf "scatter 1M: vsim %.3f s, matplotlib %.3f s: %.1fx  (goal >= 10x, < 0.5 s: %s)\n",
        vs, ms, ms / vs, (ms / vs >= 10 && vs < 0.5) ? "met" : "NOT met"
    printf "dist 40 layers: vsim %.3f s, matplotlib %.3f s: %.1fx  (goal >= 10x: %s)\n",
        vd, md, md / vd, (md / vd >= 10) ? "met" : "NOT met" }'
rm -f "$OUT"/*.bin
