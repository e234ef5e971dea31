#!/bin/bash
# Issue 20: vsim-report on the demo run and on a generated large run (10,000 steps
# x 50 layers: scalars every step, weights and gradients every 100 steps, a
# 50,000-point embedding with labels and no images). Cold: empty cache (every
# shard read, t-SNE layouts computed); warm: the same again (layouts and the
# finished run's figures from the cache). Page size, thumbnail bytes per design;
# in Chromium the largest contentful paint and the time each redraw takes while
# panning the t-SNE chart. Anchor: the programs a user ran before vsim-report
# (vsim-stats, vsim-rules, vsim-tsne, vsim-plot x 3) on the demo run.
# Goals: demo <= 1 s cold, <= 2 MB; large <= 3 MB, <= 3 s warm; LCP <= 1 s.
set -e
OUT=bench/out/report
BIN=${VSIM_BIN:-bin}
BUILD=${VSIM_BUILD:-build}
rm -rf "$OUT" && mkdir -p "$OUT"
export VSIM_QUIET=1
echo "report ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
if [ ! -e demo/run/END ]; then
    VSIM_BIN=$BIN bash scripts/demo.d/10-samples.sh >/dev/null
    VSIM_BIN=$BIN bash scripts/demo.d/30-train.sh >/dev/null
fi

# the anchor: the separate programs, one after the other
t0=$(now)
"$BIN/vsim-stats" demo/run --all-steps --format json >/dev/null
"$BIN/vsim-rules" demo/run >/dev/null || true
"$BIN/vsim-tsne" --run demo/run -o "$OUT/t.csv" --quality --png "$OUT/t.png" >/dev/null
"$BIN/vsim-plot" dist demo/run --collection gradients -o "$OUT/g.svg"
"$BIN/vsim-plot" bands demo/run --collection gradients -o "$OUT/b.png"
"$BIN/vsim-plot" lines demo/run --collection losses -o "$OUT/l.png"
t1=$(now)
anchor=$(secs "$t0" "$t1")

report() {   # NAME RUN [options]: cold then warm
    local name=$1 run=$2; shift 2
    local c0 c1 w1 out=$OUT/$name.html
    c0=$(now); "$BIN/vsim-report" "$run" -o "$out" --cache "$OUT/cache-$name" "$@"; c1=$(now)
    "$BIN/vsim-report" "$run" -o "$out.warm" --cache "$OUT/cache-$name" "$@"; w1=$(now)
    cmp -s "$out" "$out.warm" || echo "WARNING: warm page differs from the cold one"
    echo "$name $(secs "$c0" "$c1") $(secs "$c1" "$w1") $(wc -c <"$out")"
}
read -r _ dcold dwarm dsize < <(report demo demo/run)
read -r nth tbytes < <(/usr/bin/python3 -c "
import base64, json, re, sys
t = open(sys.argv[1]).read()
d = json.loads(re.search(r'id=\"vsim-data\">(.*?)</script>', t, re.S).group(1))[0]
th = d['embeddings'].get('thumbs') or {'ids': [], 'png': ''}
print(len(th['ids']), len(base64.b64decode(th['png'])))" "$OUT/demo.html")
"$BUILD/tests/helpers/report-mkrun" "$OUT/large" large 10000 50 50000
read -r _ lcold lwarm lsize < <(report large "$OUT/large")
/usr/bin/python3 bench/report_browser.py "$PWD/$OUT/demo.html" demo | tee "$OUT/browser.txt"
/usr/bin/python3 bench/report_browser.py "$PWD/$OUT/large.html" large | tee -a "$OUT/browser.txt"
lcp_d=$(sed -n 's/.*"page": "demo", "lcp_ms": \([0-9-]*\).*/\1/p' "$OUT/browser.txt")
lcp_l=$(sed -n 's/.*"page": "large", "lcp_ms": \([0-9-]*\).*/\1/p' "$OUT/browser.txt")
pan=$(sed -n 's/.*"page": "large".*"pan_frame_ms_median": \([0-9.]*\), "pan_frame_ms_max": \([0-9.]*\).*/\1 ms median, \2 ms max/p' "$OUT/browser.txt")
awk -v ac="$anchor" -v dc="$dcold" -v dw="$dwarm" -v ds="$dsize" -v lc="$lcold" -v lw="$lwarm" \
    -v ls="$lsize" -v nth="${nth:-0}" -v tb="${tbytes:-0}" -v ld="$lcp_d" -v ll="$lcp_l" \
    -v pan="$pan" 'BEGIN {
    printf "demo report: cold %.2f s, warm %.2f s, %.2f MB; the separate programs: %.2f s  (goal <= 1 s cold, <= 2 MB: %s)\n",
        dc, dw, ds / 1e6, ac, (dc <= 1 && ds <= 2e6) ? "met" : "NOT met"
    if (nth > 0) printf "thumbnails: %d designs in %d bytes of PNG, %.0f bytes per design (%.0f in the page, base64)\n", nth, tb, tb / nth, tb / nth * 4 / 3
    printf "large report (10,000 steps x 50 layers, 50,000 points): cold %.1f s, warm %.2f s, %.2f MB  (goal <= 3 MB, <= 3 s warm: %s)\n",
        lc, lw, ls / 1e6, (ls <= 3e6 && lw <= 3) ? "met" : "NOT met"
    printf "largest contentful paint: demo %d ms, large %d ms  (goal <= 1000 ms: %s)\n", ld, ll,
        (ld >= 0 && ll >= 0 && ld <= 1000 && ll <= 1000) ? "met" : "NOT met"
    printf "panning the 50,000-point chart: redraw %s\n", pan }'
rm -rf "$OUT/large" "$OUT"/cache-*
