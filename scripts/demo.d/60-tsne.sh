#!/bin/bash
# demo step: t-SNE of the demo run's embeddings (embeddings/latent, labels and
# design ids from the same shard) into demo/tsne.png and demo/tsne.csv, with the
# quality figures. Skipped with a message when demo/run is missing.
set -u
BIN=${VSIM_BIN:-$PWD/bin}
if [ ! -e demo/run/run.json ]; then
    echo "60-tsne: skipped: demo/run is missing (an earlier demo step trains it)"
    exit 0
fi
args=(--run demo/run -o demo/tsne.csv --quality)
out=$("$BIN/vsim-tsne" "${args[@]}" --png demo/tsne.png 2>&1)
rc=$?
if [ $rc -ne 0 ] && grep -q "largest perplexity that works is" <<<"$out"; then
    p=$(sed -n 's/.*largest perplexity that works is \([0-9.]*\).*/\1/p' <<<"$out")
    echo "60-tsne: few embeddings: perplexity $p"
    args+=(--perplexity "$p")
    out=$("$BIN/vsim-tsne" "${args[@]}" --png demo/tsne.png 2>&1)
    rc=$?
fi
if [ $rc -ne 0 ] && grep -q "charts need cairo" <<<"$out"; then
    echo "60-tsne: charts not available in this build: coordinates only"
    out=$("$BIN/vsim-tsne" "${args[@]}" 2>&1)
    rc=$?
fi
echo "$out"
png=
[ -e demo/tsne.png ] && png=" and demo/tsne.png"
[ $rc -eq 0 ] && echo "60-tsne: wrote demo/tsne.csv$png"
exit $rc
