#!/bin/bash
# Demo step: the one-file HTML report of the demo run (issue 20): summary, curves,
# layers, probe images, the t-SNE cluster chart with thumbnails; demo/report.html;
# its summary JSON, and the CI regression gate against it (issue 14).
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
# The CI gate (issue 14), the demo run against its own saved summary: no regression.
VSIM_QUIET=1 "$BIN/vsim-report" --baseline demo/summary.json --candidate demo/run \
    --cache demo/cache --md demo/gate.md --junit demo/gate.xml --json demo/gate.json
echo "70-report: the gate exited $? (0: no regression): demo/gate.md, demo/gate.xml, demo/gate.json"
exit 0
