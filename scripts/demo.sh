#!/bin/bash
# make demo: the main job end to end on the bundled samples. Each step is a
# script in scripts/demo.d/, run in name order; results land in demo/.
set -eu
export VSIM_BIN=${VSIM_BIN:-$PWD/bin}
mkdir -p demo
for s in scripts/demo.d/*.sh; do
    [ -e "$s" ] || continue
    echo "=== demo step: $(basename "$s" .sh)"
    bash "$s"
done
echo "=== demo done: results in demo/"
