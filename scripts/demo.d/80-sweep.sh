#!/bin/bash
# Demo step: a sweep (issue 15). Eight jobs of a small model on the bundled parts
# (learning rates 3e-3 .. 0, l2 and SSIM losses), two at a time; the rules and the
# median pruner (on the evaluation SSIM, comparable across the two losses) stop the
# jobs that will not give a good model, and the ledger says how much compute that saved. demo/sweep (journal, ledger, every job's run).
set -u
BIN=${VSIM_BIN:-$PWD/bin}
[ -f samples/parts.h5 ] || { echo "80-sweep: samples/parts.h5 is missing; skipped"; exit 0; }
rm -rf demo/sweep
mkdir -p demo
VSIM_QUIET=1 VSIM_TRAIN="$BIN/vsim-train" "$BIN/vsim-sweep" run --out demo/sweep \
    --grid 'lr=3e-3,1e-3,3e-4,0;loss=l2,ssim' --steps 300 --eval-interval 50 \
    --parallel 2 --prune 'rules+median,startup=2' --metric metrics/ssim --maximize \
    --rules WeightUpdateRatio --rules ExplodingTensor \
    -- --data samples/parts.h5 --model input=64,conv=8-16-32,fc=64-16 --batch 32 \
    --save-interval 10 --seed 1 >demo/sweep.txt 2>demo/sweep.err
rc=$?
cat demo/sweep.txt
echo "80-sweep: vsim-sweep exited $rc; ledger in demo/sweep/sweep.json and sweep.csv"
exit 0
