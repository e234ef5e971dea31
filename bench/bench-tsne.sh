#!/bin/bash
# bench/bench-tsne.sh - vsim-tsne against scikit-learn's Barnes-Hut TSNE (issue 7):
# Fashion-MNIST (Debian dataset-fashion-mnist, pixels / 255), N = 5,000 / 20,000 /
# 70,000, PCA to 50 dims, perplexity 30, theta 0.5, 1000 iterations, 2 threads.
# Per N: wall time (best of REPS), peak memory (/usr/bin/time -v) and the four
# quality figures, both codes' layouts scored by the same code (vsim-tsne
# --embedding ... --quality; exact KL on all points).
# Environment: SIZES ("5000 20000 70000"), REPS (3), SK_REPS (3; 1 from 70,000
# points), SKLEARN_RESULTS=FILE to reuse scikit-learn lines of an earlier
# bench/out/tsne-results.tsv instead of rerunning it (marked "reused" in the table),
# NO_SKLEARN=1 to skip it; NOISE_SEEDS (5; 0 skips): at the N of NOISE_SIZES
# ("5000 20000") vsim-tsne also runs with random initialisation over that many seeds,
# to print the spread of the quality figures between layouts, the yardstick for the
# single-layout anchors. Both codes run with OMP_WAIT_POLICY=passive (vsim-tsne sets it
# itself; see docs/tsne.md), which only helps scikit-learn when the machine is shared.
set -u
BIN=${VSIM_BIN:-$PWD/bin}
PY=${PYTHON:-/usr/bin/python3}
SIZES=${SIZES:-"5000 20000 70000"}
REPS=${REPS:-3}
OUT=bench/out
DATA=${TSNE_DATA:-$OUT/tsne-data}
RES=$OUT/tsne-results.tsv
FM=/usr/share/datasets/fashion-mnist
mkdir -p "$OUT" "$DATA"
[ -x /usr/bin/time ] || { echo "bench-tsne: /usr/bin/time missing (apt-get install time)"; exit 1; }
[ -e $FM/train-images-idx3-ubyte.gz ] || { echo "bench-tsne: skipped: no $FM"; exit 0; }
echo "bench-tsne: $(uptime)"
load=$(cut -d' ' -f1 /proc/loadavg)
if awk "BEGIN{exit !($load >= 1.5)}"; then
    echo "bench-tsne: warning: load $load >= 1.5, timings will be inflated"
fi

"$PY" - "$DATA" $SIZES <<'PY' || exit 1
import gzip, os, sys, numpy as np
out, sizes = sys.argv[1], [int(s) for s in sys.argv[2:]]
d = "/usr/share/datasets/fashion-mnist/"
def rd(f, off, shape):
    return np.frombuffer(gzip.open(d + f).read()[off:], np.uint8).reshape(shape)
x = y = None
for n in sizes:
    if os.path.exists("%s/fm%d.f32" % (out, n)):
        continue
    if x is None:
        x = np.vstack([rd("train-images-idx3-ubyte.gz", 16, (-1, 784)),
                       rd("t10k-images-idx3-ubyte.gz", 16, (-1, 784))]).astype(np.float32) / 255
        y = np.concatenate([rd("train-labels-idx1-ubyte.gz", 8, (-1,)),
                            rd("t10k-labels-idx1-ubyte.gz", 8, (-1,))])
    x[:n].tofile("%s/fm%d.f32" % (out, n))
    np.savetxt("%s/fm%d.labels" % (out, n), y[:n], fmt="%d")
PY

# timed RUN... : sets $wall (s) and $rss (MB) from /usr/bin/time -v
timed() {
    /usr/bin/time -v "$@" >"$OUT/tsne-run.out" 2>"$OUT/tsne-run.err"
    local rc=$?
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, a, ":"); s = 0;
        for (i = 1; i <= n; i++) s = s * 60 + a[i]; print s}' "$OUT/tsne-run.err")
    rss=$(awk '/Maximum resident/ {printf "%.0f", $6 / 1024}' "$OUT/tsne-run.err")
    return $rc
}
qfield() { "$PY" -c "import json,sys; d=json.load(open('$1')); print('%.4f' % d['$2'])"; }

declare -A row
for n in $SIZES; do
    x=$DATA/fm$n.f32 l=$DATA/fm$n.labels
    best=
    for r in $(seq 1 "$REPS"); do
        timed "$BIN/vsim-tsne" "$x" --dims 784 -l "$l" --perplexity 30 --theta 0.5 --iters 1000 \
            -t 2 --seed $r --quality -f json --kl-points 100000 -o "$OUT/tsne-vsim-$n.csv" \
            || { echo "bench-tsne: vsim-tsne failed:"; cat "$OUT/tsne-run.err"; exit 1; }
        ts=$(qfield "$OUT/tsne-run.out" tsne_seconds)
        echo "vsim N=$n run $r: t-SNE ${ts}s (process ${wall}s, ${rss} MB)"
        if [ -z "$best" ] || awk "BEGIN{exit !($ts < $best)}"; then
            best=$ts
            cp "$OUT/tsne-run.out" "$OUT/tsne-vsim-$n.json"
            row[vsim_$n]="$ts	$rss	$(for f in kl nn_preservation knn_accuracy trustworthiness; do
                printf '%s\t' "$(qfield "$OUT/tsne-run.out" $f)"; done)"
        fi
    done
    row[vsim_$n]=${row[vsim_$n]%$'\t'}
    printf 'vsim\t%s\t%s\tvsim-%s\n' "$n" "${row[vsim_$n]}" "$("$BIN/vsim-tsne" --version |
        awk '{print $NF}')" >>"$RES"

    [ -n "${NO_SKLEARN:-}" ] && continue
    if [ -n "${SKLEARN_RESULTS:-}" ] && grep -q "^sklearn	$n	" "$SKLEARN_RESULTS"; then
        row[sk_$n]="$(grep "^sklearn	$n	" "$SKLEARN_RESULTS" | tail -1 | cut -f3-8)"
        row[skv_$n]="scikit-learn $(grep "^sklearn	$n	" "$SKLEARN_RESULTS" | tail -1 |
            cut -f9) (reused from $SKLEARN_RESULTS)"
        continue
    fi
    sreps=${SK_REPS:-3}
    [ "$n" -ge 70000 ] && sreps=${SK_REPS:-1}
    best=
    for r in $(seq 1 "$sreps"); do
        timed env OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}" "$PY" bench/tsne_sklearn.py \
            "$x" "$n" "$r" "$OUT/tsne-sk-$n-$r.csv" ||
            { echo "bench-tsne: scikit-learn failed:"; tail -5 "$OUT/tsne-run.err"; exit 1; }
        ts=$("$PY" -c "import json; print('%.3f' % \
            json.load(open('$OUT/tsne-run.out'))['seconds'])")
        ver=$("$PY" -c "import json; print(json.load(open('$OUT/tsne-run.out'))['version'])")
        echo "scikit-learn $ver N=$n run $r: ${ts}s (process ${wall}s, ${rss} MB)"
        if [ -z "$best" ] || awk "BEGIN{exit !($ts < $best)}"; then
            best=$ts skrss=$rss bestrun=$r
        fi
    done
    "$BIN/vsim-tsne" "$x" --dims 784 -l "$l" --perplexity 30 -t 2 --quality -f json \
        --kl-points 100000 --embedding "$OUT/tsne-sk-$n-$bestrun.csv" >"$OUT/tsne-sk-$n.json" ||
        { echo "bench-tsne: scoring scikit-learn's layout failed"; exit 1; }
    row[sk_$n]="$best	$skrss	$(for f in kl nn_preservation knn_accuracy trustworthiness; do
        printf '%s\t' "$(qfield "$OUT/tsne-sk-$n.json" $f)"; done)"
    row[sk_$n]=${row[sk_$n]%$'\t'}
    row[skv_$n]="scikit-learn $ver"
    printf 'sklearn\t%s\t%s\t%s\n' "$n" "${row[sk_$n]}" "$ver" >>"$RES"
done

echo
echo "| N | code | wall s (t-SNE, best of runs) | peak MB | KL | nn10 | 10-NN acc | trust10 |"
echo "|---|---|---|---|---|---|---|---|"
for n in $SIZES; do
    IFS=$'\t' read -r w m kl nn acc tr <<<"${row[vsim_$n]}"
    echo "| $n | vsim-tsne | $w | $m | $kl | $nn | $acc | $tr |"
    if [ -n "${row[sk_$n]:-}" ]; then
        IFS=$'\t' read -r sw sm skl snn sacc str <<<"${row[sk_$n]}"
        echo "| $n | ${row[skv_$n]} | $sw | $sm | $skl | $snn | $sacc | $str |"
        echo "| $n | speed-up | $(awk "BEGIN{printf \"%.2fx\", $sw / $w}") | | | | | |"
    fi
done

# The spread between layouts: random initialisation, seeds 1..NOISE_SEEDS
NOISE_SEEDS=${NOISE_SEEDS:-5}
if [ "$NOISE_SEEDS" -gt 0 ]; then
    echo
    echo "layout-to-layout spread (vsim-tsne --init random, seeds 1-$NOISE_SEEDS): mean sd min max"
    for n in ${NOISE_SIZES:-5000 20000}; do
        x=$DATA/fm$n.f32 l=$DATA/fm$n.labels
        [ -e "$x" ] || continue
        for s in $(seq 1 "$NOISE_SEEDS"); do
            "$BIN/vsim-tsne" "$x" --dims 784 -l "$l" --perplexity 30 --theta 0.5 --iters 1000 \
                -t 2 --seed "$s" --init random --quality -f json --kl-points 100000 \
                >"$OUT/tsne-noise.json" 2>/dev/null || { echo "bench-tsne: noise run failed"; exit 1; }
            for f in kl nn_preservation knn_accuracy; do printf '%s ' "$(qfield "$OUT/tsne-noise.json" $f)"; done
            echo
        done | awk -v n=$n '{ for (i = 1; i <= 3; i++) { s[i] += $i; q[i] += $i * $i;
                if (NR == 1 || $i < lo[i]) lo[i] = $i; if (NR == 1 || $i > hi[i]) hi[i] = $i } }
            END { split("KL nn10 10-NN-acc", nm, " ");
                for (i = 1; i <= 3; i++) { m = s[i] / NR; v = q[i] / NR - m * m; if (v < 0) v = 0
                    printf "N=%s %-10s %.4f %.4f %.4f %.4f\n", n, nm[i], m, sqrt(v * NR / (NR - 1 > 0 ? NR - 1 : 1)), lo[i], hi[i] } }'
    done
fi
