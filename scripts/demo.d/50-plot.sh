#!/bin/bash
# demo step 50: charts of the demo run (issue 6): the gradient distribution per
# layer at the last step, the percentile bands of the gradients over steps and
# the loss curves. Needs demo/run from the trainer step before it.
set -eu
BIN=${VSIM_BIN:-$PWD/bin}
RUN=demo/run
if [ ! -f "$RUN/run.json" ]; then
    echo "50-plot: $RUN does not exist yet (the trainer demo step makes it); skipping charts"
    exit 0
fi
export VSIM_QUIET=1
"$BIN/vsim-plot" dist "$RUN" --collection gradients -o demo/grads.svg \
    --title "Gradient magnitude per layer (last step)"
"$BIN/vsim-plot" bands "$RUN" --collection gradients -o demo/bands.png \
    --title "Gradient distributions over steps" --width 1600 --height 1000
"$BIN/vsim-plot" lines "$RUN" --collection losses --log --smooth 0.6 -o demo/loss.png \
    --title "Training loss" --ylabel "loss"
echo "50-plot: wrote demo/grads.svg demo/bands.png demo/loss.png"
