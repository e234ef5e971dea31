#!/bin/bash
# bench/rules-corpus.sh - the labelled corpus of healthy and broken runs that the
# rules are measured on (issue 19; docs/rules.md "The labelled corpus").
#
#   bench/rules-corpus.sh small|full OUT_DIR [VSIM_TRAIN]
#
# Every run is reproducible from its seed. Healthy runs vary the seed, the loss,
# the model, the batch size and the learning rate; broken runs inject one fault
# each (vsim-train --fault, or a learning rate that cannot work) from a known step.
# OUT_DIR/corpus.tsv lists them: name, class (healthy|broken), case, the step the
# fault starts at, the rule meant to catch it, and the vsim-train arguments.
# small: 22 runs of a tiny model on a 32 x 32 dataset (about 40 s on 2 cores;
# make check); full: 68 runs, adding seeds, models and 64 x 64 slim/wide runs
# (a few minutes; make bench).
set -eu
size=${1:?usage: rules-corpus.sh small|full OUT_DIR [VSIM_TRAIN]}
out=${2:?usage: rules-corpus.sh small|full OUT_DIR [VSIM_TRAIN]}
BIN=${VSIM_BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin}
T=${3:-$BIN/vsim-train}
mkdir -p "$out"
export VSIM_QUIET=1
[ -f "$out/ds32.h5" ] || "$BIN/vsim-render" -o "$out/ds32.h5" --designs 16 --size 32 --seed 1 >/dev/null
[ "$size" = full ] && { [ -f "$out/ds64.h5" ] ||
    "$BIN/vsim-render" -o "$out/ds64.h5" --designs 16 --size 64 --seed 1 >/dev/null; }
: >"$out/corpus.tsv"

TINY="input=32,conv=8-16,fc=32-8"
SMALL="input=32,conv=16-32,fc=64-16"
DEEP="input=32,conv=8-16-32,fc=128-64-16"
S=100        # the step faults start at
STEPS=300

# run NAME CLASS CASE FAULT_STEP RULE [vsim-train args]: train one run (kept if present)
run() {
    local name=$1 class=$2 case=$3 step=$4 rule=$5; shift 5
    local ds=$out/ds32.h5
    case " $* " in *" input=64"*|*" slim "*|*" wide "*) ds=$out/ds64.h5 ;; esac
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$class" "$case" "$step" "$rule" "$*" \
        >>"$out/corpus.tsv"
    [ -f "$out/$name/END" ] && return 0
    rm -rf "${out:?}/$name"
    # a diverging run exits 1 with END "diverged": that is its label, not a failure
    "$T" --data "$ds" --out "$out/$name" --steps $STEPS --batch 16 --eval-interval 50 \
        --save-interval 10 --threads 2 --no-fsync "$@" >/dev/null 2>"$out/$name.log" ||
        grep -q 'diverged' "$out/$name.log" || { cat "$out/$name.log" >&2; exit 1; }
}

seeds="1 2"
[ "$size" = full ] && seeds="1 2 3"
# healthy: seeds x losses x models x batch sizes x learning rates that learn
for s in $seeds; do
    run h-tiny-l2-s$s healthy healthy - - --model $TINY --loss l2 --seed $s
    run h-tiny-ssim-s$s healthy healthy - - --model $TINY --loss ssim --seed $s
    run h-small-l2-s$s healthy healthy - - --model $SMALL --loss l2 --seed $s
    run h-deep-mix-s$s healthy healthy - - --model $DEEP --loss l2+ssim --seed $s
    run h-tiny-b32-s$s healthy healthy - - --model $TINY --batch 32 --lr 3e-3 --seed $s
done
run h-tiny-lr3e-4 healthy healthy - - --model $TINY --lr 3e-4 --seed 4
if [ "$size" = full ]; then
    for s in 4 5 6; do
        run h-tiny-l2-s$s healthy healthy - - --model $TINY --loss l2 --seed $s
        run h-small-decay-s$s healthy healthy - - --model $SMALL --lr 2e-3 --lr-decay exp:0.5:100 --seed $s
    done
    run h-tiny-b8-s1 healthy healthy - - --model $TINY --batch 8 --seed 1
    run h-small-lr5e-3 healthy healthy - - --model $SMALL --lr 5e-3 --seed 1
    run h-slim-s1 healthy healthy - - --model slim --steps 150 --seed 1
    run h-wide-s1 healthy healthy - - --model wide --steps 150 --lr 3e-4 --seed 1
fi

# broken: one pathology each, with the step it starts at and the rule meant for it
bseeds="1"
[ "$size" = full ] && bseeds="1 2 3"
for s in $bseeds; do
    m=$TINY
    [ "$s" = 2 ] && m=$SMALL
    [ "$s" = 3 ] && m=$DEEP
    run b-lr0-s$s broken lr0 0 LossNotDecreasing --model $m --lr 0 --seed $s
    run b-lrhigh-s$s broken lr_too_high 0 LossNotDecreasing --model $m --lr 0.5 --seed $s
    run b-zeroinit-s$s broken zero_init 0 VanishingGradient --model $m --fault zero-init --seed $s
    run b-saturate-s$s broken saturating_init 0 SaturatedActivation --model $m --fault init-scale=30 --seed $s
    run b-deadrelu-s$s broken dead_relu $S DeadRelu --model $m --fault dead-relu@$S --seed $s
    run b-vanish-s$s broken vanishing_gradient 0 VanishingGradient --model $DEEP --fault init-scale=0.05 --seed $s
    run b-explode-s$s broken exploding_gradient $S ExplodingTensor --model $m --fault grad-scale@$S --seed $s
    run b-frozen-s$s broken frozen_layer $S UnchangedTensor --model $m --fault freeze@$S --seed $s
    run b-nan-s$s broken nan $S ExplodingTensor --model $m --fault nan@$S --seed $s
    run b-constant-s$s broken constant_input 0 CheckInputImages --model $m --fault constant-input --seed $s
    run b-overfit-s$s broken overfit $S Overfit --model $m --fault eval-drift@$S --seed $s
    run b-stall-s$s broken stalled $S Overtraining --model $m --fault stall@$S --seed $s
    run b-collapse-s$s broken embedding_collapse $S LatentNeighbors --model $m --fault collapse@$S --seed $s
done
echo "rules-corpus: $(wc -l <"$out/corpus.tsv") runs in $out"
