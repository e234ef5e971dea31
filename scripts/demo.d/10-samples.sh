#!/bin/bash
# Demo step: render the bundled dataset samples/parts.h5 (9 part families x 64
# designs x 6 views at 64 x 64) and its contact sheet demo/sheet.png.
set -eu
BIN=${VSIM_BIN:-$PWD/bin}
mkdir -p demo
VSIM_QUIET=1 "$BIN/vsim-render" -o samples/parts.h5 --designs 64 --views 6 --size 64 --seed 1 \
    --sheet demo/sheet.png
echo "samples/parts.h5 and demo/sheet.png written"
