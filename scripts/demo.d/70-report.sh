#!/bin/bash
# Demo step: the one-file HTML report of the demo run (issue 20): summary, curves,
# layers, probe images, the t-SNE cluster chart with thumbnails; demo/report.html.
set -u
BIN=${VSIM_BIN:-$PWD/bin}
if [ ! -e demo/run/run.json ]; then
    echo "70-report: skipped: demo/run is missing (an earlier demo step trains it)"
    exit 0
fi
VSIM_QUIET=1 "$BIN/vsim-report" demo/run -o demo/report.html --cache demo/cache \
    --title "vsim demo: slim autoencoder on the bundled parts"
rc=$?
case $rc in
0|4) echo "70-report: wrote demo/report.html ($(wc -c <demo/report.html) bytes); open it in" \
          "any browser, offline" ;;
*) echo "70-report: vsim-report exited $rc"; exit "$rc" ;;
esac
"$BIN/vsim-report" --summary-json demo/run --cache demo/cache > demo/summary.json &&
    echo "70-report: demo/summary.json (the figures the CI gate reads)"
exit 0
