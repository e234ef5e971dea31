#!/bin/bash
# t0600: vsim-plot (issue 6) - every chart from a run made by plot-mkrun and
# from CSV/HDF5 files; SVGs parsed with xmllint, PDFs checked for one page,
# PNG signatures; gnuplot backend and script; bad input and unwritable paths.
. "$(dirname "$0")/lib.sh"
P=$BIN/vsim-plot
RUN=$TMP/run
"$BUILD/tests/helpers/plot-mkrun" "$RUN" 6 5 400 || { fail "plot-mkrun"; finish; exit 1; }

printf 'x,y\n1,2\n' >"$TMP/probe.csv"
if ! $P scatter "$TMP/probe.csv" -o "$TMP/probe.png" 2>"$TMP/err" && grep -q CAIRO=0 "$TMP/err"; then
    echo "t0600: skipped: this build has no cairo (CAIRO=0)" >&2
    finish
    exit 0
fi
is_png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }
svg_count() { xmllint --xpath "count($2)" "$1" 2>/dev/null; }

# charts from a run
expect_exit 0 "dist svg" $P dist "$RUN" --collection gradients --step 500 -o "$TMP/grads.svg"
check "dist svg parses" xmllint --noout "$TMP/grads.svg"
# 5 layers: each violin is one filled path with the layer colour at alpha 0.55
n=$(grep -c 'fill:rgb(12.156863%,46.666667%,70.588235%);fill-opacity:0.55' "$TMP/grads.svg")
check "dist svg has 5 violins (got $n)" test "$n" -eq 5
expect_exit 0 "dist box png" $P dist "$RUN" --kind box -o "$TMP/box.png"
check "dist png signature" is_png "$TMP/box.png"
expect_exit 0 "bands small multiples" $P bands "$RUN" -o "$TMP/bands.png" --width 900 --height 700
check "bands png" is_png "$TMP/bands.png"
expect_exit 0 "bands one tensor pdf" $P bands "$RUN" --regex 'l3/' -o "$TMP/band.pdf"
check "pdf header" grep -q '^%PDF' "$TMP/band.pdf"
n=$(grep -a -c '/Type /Page[^s]' "$TMP/band.pdf")
check "pdf has one page (got $n)" test "$n" -eq 1
expect_exit 0 "heatmap" $P heatmap "$RUN" --stat l2 --log -o "$TMP/heat.svg"
# 5 layers x 6 steps cells
n=$(svg_count "$TMP/heat.svg" "//*[local-name()='path'][not(ancestor::*[local-name()='defs'])]")
check "heatmap svg has >= 30 cells (got $n)" test "${n%.*}" -ge 30
expect_exit 0 "lines" $P lines "$RUN" "$RUN" --log --smooth 0.6 -o "$TMP/loss.png" --dpi 144
check "lines png" is_png "$TMP/loss.png"
expect_exit 0 "images" $P images "$RUN" -o "$TMP/img.png" --theme dark
expect_exit 0 "scatter from run" $P scatter "$RUN" -o "$TMP/emb.svg"
n=$(grep -c 'fill:rgb(12.156863%,46.666667%,70.588235%)' "$TMP/emb.svg")
check "scatter svg: 20 class-0 marks + legend (got $n)" test "$n" -eq 21

# from files
printf 'id,x,y,label\n' >"$TMP/pts.csv"
for i in $(seq 0 29); do echo "$i,$i,$((i * i % 17)),c$((i % 3))"; done >>"$TMP/pts.csv"
expect_exit 0 "scatter csv" $P scatter "$TMP/pts.csv" --x x --y y -o "$TMP/pts.svg" --title T
n=$(svg_count "$TMP/pts.svg" "//*[local-name()='path'][contains(@style,'fill:rgb(100%,49.803922%,5.490196%)')]")
check "csv scatter: 10 class-1 marks + legend (got $n)" test "$n" = 11
expect_exit 0 "scatter csv default columns" $P scatter "$TMP/pts.csv" -o "$TMP/pts.png" \
    --highlight 3,7 --theme dark --dpi 144
"$PYTHON" - "$TMP/pts.h5" <<'EOF' 2>/dev/null && have_h5py=1 || have_h5py=0
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    f["emb"] = np.random.default_rng(1).normal(size=(100, 2))
    f["lab"] = np.arange(100) % 4
EOF
if [ $have_h5py = 1 ]; then
    expect_exit 0 "scatter h5" $P scatter "$TMP/pts.h5:/emb" --label /lab -o "$TMP/h5.png"
fi

# gnuplot backend
if command -v gnuplot >/dev/null; then
    expect_exit 0 "gnuplot lines" $P lines "$RUN" --backend gnuplot -o "$TMP/gl.svg" \
        --gnuplot-script "$TMP/gl.gp"
    check "gnuplot svg parses" xmllint --noout "$TMP/gl.svg"
    check "script has inline data" grep -q '^\$d0 << EOD' "$TMP/gl.gp"
    (cd "$TMP" && sed "s|$TMP/gl.svg|again.svg|" gl.gp | gnuplot) 2>/dev/null
    check "script re-runs" test -s "$TMP/again.svg"
    expect_exit 0 "gnuplot bands" $P bands "$RUN" --backend gnuplot -o "$TMP/gb.png"
    check "gnuplot bands png" is_png "$TMP/gb.png"
    expect_exit 0 "gnuplot dist" $P dist "$RUN" --backend gnuplot -o "$TMP/gd.pdf"
    check "gnuplot dist pdf" grep -q '^%PDF' "$TMP/gd.pdf"
fi
expect_exit 0 "script only" $P dist "$RUN" --gnuplot-script "$TMP/only.gp"
check "script only written" grep -q candlesticks "$TMP/only.gp"
PATH=/nonexistent expect_exit 1 "gnuplot missing" $P lines "$RUN" --backend gnuplot -o "$TMP/x.png"
expect_grep "gnuplot missing message" "gnuplot is not installed" "$TMP/err"
check "no file without gnuplot" test ! -e "$TMP/x.png"

# bad input: clear errors, no partial files
printf 'x,y\n' >"$TMP/empty.csv"
expect_exit 1 "empty csv" $P scatter "$TMP/empty.csv" -o "$TMP/e.png"
expect_grep "empty csv message" "no data rows" "$TMP/err"
printf 'x,y\nnan,1\nnan,2\n' >"$TMP/nan.csv"
expect_exit 1 "all-NaN csv" $P scatter "$TMP/nan.csv" --x x --y y -o "$TMP/e.png"
expect_grep "all-NaN message" "NaN" "$TMP/err"
printf 'x,y,label\n' >"$TMP/many.csv"
for i in $(seq 0 49); do echo "$i,$i,k$i"; done >>"$TMP/many.csv"
expect_exit 1 "labels beyond the palette" $P scatter "$TMP/many.csv" -o "$TMP/e.png"
expect_grep "palette message" "palette" "$TMP/err"
expect_exit 0 "grouped into other" $P scatter "$TMP/many.csv" --max-classes 8 -o "$TMP/m.png"
printf 'x,y\n3,4\n' >"$TMP/one.csv"
expect_exit 0 "single point" $P scatter "$TMP/one.csv" -o "$TMP/one.png"
expect_exit 1 "unwritable output" $P dist "$RUN" -o /nonexistent-dir/g.png
expect_grep "unwritable message" "/nonexistent-dir/g.png" "$TMP/err"
expect_exit 1 "missing step" $P dist "$RUN" --step 12345 -o "$TMP/e.png"
expect_exit 1 "not a run" $P bands "$TMP/nope" -o "$TMP/e.png"
expect_exit 2 "unknown chart" $P pie "$RUN" -o "$TMP/e.png"
expect_exit 2 "no output" $P dist "$RUN"
expect_exit 2 "bad theme" $P dist "$RUN" -o "$TMP/e.png" --theme pink
expect_exit 1 "bad extension" $P dist "$RUN" -o "$TMP/e.gif"
check "no partial files" test -z "$(ls "$TMP" | grep -E '^e\.|\.tmp$')"
finish
