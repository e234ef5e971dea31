#!/bin/bash
# Demo step: the default rules over the demo run (issue 8).
set -u
BIN=${VSIM_BIN:-bin}
if [ ! -d demo/run ]; then
    echo "45-rules: demo/run does not exist (the training step did not run); skipped"
    exit 0
fi
"$BIN/vsim-rules" demo/run -f table | tee demo/rules.txt
rc=${PIPESTATUS[0]}
case $rc in
0) echo "45-rules: no rule fired" ;;
3) echo "45-rules: some rules fired (see demo/rules.txt)" ;;
*) echo "45-rules: vsim-rules exited $rc"; exit "$rc" ;;
esac
exit 0
