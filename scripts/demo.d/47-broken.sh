#!/bin/bash
# Demo step: detection as well as silence (issue 19). A second, deliberately broken
# run: a small model on the bundled parts whose ReLU biases are forced to -10 at
# step 40 (vsim-train --fault dead-relu@40). vsim-rules watches it live with the
# default rules and --on-fire stop: DeadRelu fires at the next capture and the
# trainer stops long before its 3000 steps. demo/broken and demo/broken-rules.txt.
set -u
BIN=${VSIM_BIN:-$PWD/bin}
[ -f samples/parts.h5 ] || { echo "47-broken: samples/parts.h5 is missing; skipped"; exit 0; }
rm -rf demo/broken
mkdir -p demo
VSIM_QUIET=1 "$BIN/vsim-train" --data samples/parts.h5 --out demo/broken \
    --model input=64,conv=8-16-32,fc=64-16 --steps 3000 --batch 32 --save-interval 10 \
    --eval-interval 100 --seed 1 --fault dead-relu@40 >demo/broken-train.txt 2>&1 &
train=$!
"$BIN/vsim-rules" demo/broken --watch --timeout 300 --on-fire stop -f table \
    >demo/broken-rules.txt 2>demo/broken-rules.err
rc=$?
wait $train
sed -n '/^rule  /,$p' demo/broken-rules.txt
grep 'action:' demo/broken-rules.err
echo "47-broken: vsim-rules exited $rc (3: a rule fired); the trainer: $(grep -E '^(status|steps)' \
    demo/broken-train.txt | tr '\t\n' '  ')(of 3000)"
exit 0
