#!/bin/bash
# bench/bench-corpus.sh - the rules on the labelled corpus (issue 19): precision on
# the healthy runs and recall and delay on the broken ones, the vsim defaults beside
# smdebug's (--semantics smdebug, the anchor: smdebug's defaults and algorithms).
# The corpus (bench/rules-corpus.sh full: 26 healthy, 39 broken runs) is kept in
# bench/out/corpus and reused; delete it to train it again.
set -eu
cd "$(dirname "$0")/.."
C=bench/out/corpus
mkdir -p bench/out
t0=$(date +%s.%N)
bench/rules-corpus.sh full "$C"
t1=$(date +%s.%N)
echo "corpus (2 cores, load $(cut -d' ' -f1-3 /proc/loadavg)): $(wc -l <"$C/corpus.tsv") runs, $(printf '%.0f' "$(echo "$t1 - $t0" | bc)") s to build (0 if kept)"
echo
echo "--- vsim defaults"
/usr/bin/python3 bench/rules_score.py "$C" --json bench/out/corpus-vsim.json
echo
echo "--- the anchor: smdebug's defaults and algorithms (--semantics smdebug)"
/usr/bin/python3 bench/rules_score.py "$C" --semantics smdebug --json bench/out/corpus-smdebug.json
