#!/bin/bash
# Demo step: train the slim autoencoder on samples/parts.h5 for about a minute on
# the CPU (200 steps of 64 images, L2 loss), capturing into demo/run; then
# export the latent vectors of every snapshot to demo/embeddings.h5.
set -eu
BIN=${VSIM_BIN:-$PWD/bin}
mkdir -p demo
rm -rf demo/run
"$BIN/vsim-train" --data samples/parts.h5 --out demo/run --model slim --loss l2 \
    --steps 200 --batch 64 --lr 1e-3 --eval-interval 50 --save-interval 25 --seed 1
"$BIN/vsim-train" --embed --model-file demo/run/model.h5 --data samples/parts.h5 \
    --out demo/embeddings.h5
echo "demo/run (shards, END, model.h5) and demo/embeddings.h5 written"
