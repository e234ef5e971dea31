#!/bin/bash
# bench/bench-train.sh - CPU training throughput (images/s, fwd + bwd + Adam, fp32) of
# the wide and slim models at batch 64 with the L2 and SSIM losses: vsim-train beside
# the same model in PyTorch on the CPU (bench/train_torch.py), the same threads.
# Capture is off (a save config with every collection at interval 0) and there is no
# validation, so both sides time training alone; each figure is the best of REPEAT
# short runs, interleaved, because the machine is shared. Also: the overhead of the
# default capture (losses and metrics every step, tensors every 100 steps).
# Env: THREADS (default 2), STEPS (default 6), REPEAT (default 3), MODELS, LOSSES;
# GPU_ONLY=1 skips the CPU figures (on a GPU machine: `make trainer && GPU_ONLY=1
# PYTHON=python3 bash bench/bench-train.sh`, PYTHON being the one with torch and h5py;
# bench/mkdata.c writes the data, H5FLAGS overriding `pkg-config --cflags --libs hdf5`
# for building it).
set -u
BIN=${VSIM_BIN:-$PWD/bin}
PY=${PYTHON:-/usr/bin/python3}
THREADS=${THREADS:-2}
STEPS=${STEPS:-6}
REPEAT=${REPEAT:-3}
MODELS=${MODELS:-"wide slim"}
LOSSES=${LOSSES:-"l2 ssim"}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vsim-bench-train.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export VSIM_QUIET=1

if ! "$PY" -c "import torch" 2>/dev/null; then
    echo "bench-train: python3-torch is missing (apt-get install python3-torch); vsim only"
    have_torch=0
else
    have_torch=1
fi
# the training data: 32 designs x 6 views of 64x64 noise (content does not matter for speed)
cc -O2 bench/mkdata.c ${H5FLAGS:-$(pkg-config --cflags --libs hdf5)} -o "$TMP/mkdata" &&
    "$TMP/mkdata" "$TMP/data.h5" || { echo "bench-train: cannot write the data"; exit 1; }
for c in weights biases gradients activations images losses metrics embeddings; do
    echo "$c interval=0"
done >"$TMP/off.cfg"

vsim_ips() {  # model loss [extra args...]
    local m=$1 l=$2; shift 2
    rm -rf "$TMP/run"
    "$BIN/vsim-train" --data "$TMP/data.h5" --out "$TMP/run" --model "$m" --loss "$l" \
        --steps "$STEPS" --batch 64 --threads "$THREADS" --val-frac 0 --eval-interval 0 \
        "$@" | sed -n 's/^images_per_s\t//p'
}
torch_ips() {
    OMP_NUM_THREADS=$THREADS "$PY" bench/train_torch.py --model "$1" --loss "$2" --batch 64 \
        --threads "$THREADS" --steps $((STEPS - 1)) | sed -n 's/.*images\/s //p'
}
best() { sort -g | tail -1; }

grep -v -e '^losses' -e '^metrics' "$TMP/off.cfg" >"$TMP/scalars.cfg"
if [ "${GPU_ONLY:-0}" != 1 ]; then
echo "CPU training, batch 64, $THREADS threads, $(nproc) cores, best of $REPEAT x $STEPS steps"
printf '%-6s %-5s %12s %12s %8s\n' model loss vsim_img/s torch_img/s ratio
for m in $MODELS; do
    for l in $LOSSES; do
        v=""; t=""
        for _ in $(seq "$REPEAT"); do
            v="$v $(vsim_ips "$m" "$l" --save-config "$TMP/off.cfg")"
            [ $have_torch = 1 ] && t="$t $(torch_ips "$m" "$l")"
        done
        vb=$(echo $v | tr ' ' '\n' | best)
        tb=$(echo $t | tr ' ' '\n' | best)
        ratio=$(awk -v a="$vb" -v b="$tb" \
            'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }')
        printf '%-6s %-5s %12s %12s %8s\n' "$m" "$l" "$vb" "${tb:--}" "$ratio"
    done
done

# Capture overhead: losses and metrics every step, as the default save config does on
# 99 of 100 steps; slim + L2; with the default background fsync, and with --no-fsync.
v=""; c=""; n=""
for _ in $(seq "$REPEAT"); do
    v="$v $(vsim_ips slim l2 --save-config "$TMP/off.cfg")"
    c="$c $(vsim_ips slim l2 --save-config "$TMP/scalars.cfg")"
    n="$n $(vsim_ips slim l2 --save-config "$TMP/scalars.cfg" --no-fsync)"
done
vb=$(echo $v | tr ' ' '\n' | best)
cb=$(echo $c | tr ' ' '\n' | best)
nb=$(echo $n | tr ' ' '\n' | best)
awk -v a="$vb" -v b="$cb" -v c="$nb" 'BEGIN {
    printf "capture overhead (slim l2, losses+metrics every step): off %.1f images/s; ", a
    printf "default, background fsync %.1f (%.1f %%); --no-fsync %.1f (%.1f %%)\n", b, 100 * (a - b) / a, c,
        100 * (a - c) / a }'
fi

# GPU (only where this vsim-train has CUDA and a GPU answers): batch 64, 256, 1024 beside
# PyTorch eager on the same GPU; the capture overhead; the CPU and CUDA paths' tensors
# side by side (bench/train_agree.py). VSIM_CUDA_PROFILE=1 in the environment adds each
# run's GPU time per phase and layer on stderr.
if "$BIN/vsim-train" --data "$TMP/data.h5" --out "$TMP/gpucheck" --model slim --steps 1 \
        --batch 8 --val-frac 0 --eval-interval 0 --device cuda >/dev/null 2>&1; then
    GPU_STEPS=${GPU_STEPS:-30}
    echo "GPU training (fwd + bwd + Adam, fp32), $GPU_STEPS steps"
    printf '%-6s %-5s %6s %12s %12s %8s\n' model loss batch vsim_img/s torch_img/s ratio
    for m in $MODELS; do
        for l in $LOSSES; do
            for b in 64 256 1024; do
                rm -rf "$TMP/run"
                v=$("$BIN/vsim-train" --data "$TMP/data.h5" --out "$TMP/run" --model "$m" \
                    --loss "$l" --steps "$GPU_STEPS" --batch "$b" --val-frac 0 \
                    --eval-interval 0 --device cuda --save-config "$TMP/off.cfg" |
                    sed -n 's/^images_per_s_steady\t//p')
                t=$("$PY" bench/train_torch.py --device cuda --model "$m" --loss "$l" \
                    --batch "$b" --steps "$GPU_STEPS" --warmup 3 2>/dev/null |
                    sed -n 's/.*images\/s //p')
                ratio=$(awk -v a="$v" -v b="$t" \
                    'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }')
                printf '%-6s %-5s %6s %12s %12s %8s\n' "$m" "$l" "$b" "$v" "${t:--}" "$ratio"
            done
        done
    done
    # capture overhead on the GPU: losses and metrics every step (the default save
    # config on 99 of 100 steps), wide + L2, batch 256, best of REPEAT
    v=""; c=""
    for _ in $(seq "$REPEAT"); do
        for cfg in off scalars; do
            rm -rf "$TMP/run"
            x=$("$BIN/vsim-train" --data "$TMP/data.h5" --out "$TMP/run" --model wide --loss l2 \
                --steps "$GPU_STEPS" --batch 256 --val-frac 0 --eval-interval 0 --device cuda \
                --save-config "$TMP/$cfg.cfg" | sed -n 's/^images_per_s_steady\t//p')
            if [ $cfg = off ]; then v="$v $x"; else c="$c $x"; fi
        done
    done
    awk -v a="$(echo $v | tr ' ' '\n' | best)" -v b="$(echo $c | tr ' ' '\n' | best)" 'BEGIN {
        printf "GPU capture overhead (wide l2 batch 256, losses+metrics every step): "
        printf "off %.1f images/s, default %.1f (%.1f %%; goal < 5 %%)\n", a, b, 100 * (a - b) / a }'
    # the CPU and CUDA paths on a small model, same seed: small_run OUT DEVICE CFG STEPS
    # VAL_FRAC EVAL_INTERVAL (VSIM_CUDA_TF32 and VSIM_CUDA_CHUNK_FLOATS from the caller)
    small_run() {
        rm -rf "$TMP/$1"
        "$BIN/vsim-train" --data "$TMP/data.h5" --out "$TMP/$1" --model input=64,conv=8-16,fc=32 \
            --loss l2+ssim --steps "$4" --batch 16 --val-frac "$5" --eval-interval "$6" \
            --device "$2" --threads "$THREADS" --seed 7 --save-config "$TMP/$3.cfg" \
            >/dev/null || echo "bench-train: the run $1 failed"
    }
    # everything saved at every step: fp32 products (VSIM_CUDA_TF32=0) must give the first
    # step's gradients to float tolerance; then the default (TF32 convolution products,
    # as PyTorch) for scale
    for c in weights biases gradients activations images losses metrics; do
        echo "$c interval=1"
    done >"$TMP/all.cfg"
    VSIM_CUDA_TF32=0 small_run agree-cpu cpu all 6 0 0
    VSIM_CUDA_TF32=0 small_run agree-cuda cuda all 6 0 0
    VSIM_CUDA_TF32=conv small_run agree-cuda-tf32 cuda all 6 0 0
    echo "CPU vs CUDA, fp32 products (VSIM_CUDA_TF32=0), relative L2 difference per step:"
    "$PY" bench/train_agree.py "$TMP/agree-cpu" "$TMP/agree-cuda" 6
    echo "CPU vs CUDA, default TF32 convolution products:"
    "$PY" bench/train_agree.py "$TMP/agree-cpu" "$TMP/agree-cuda-tf32" 2 0
    # the pipelined capture (the next step queued while a shard is written): mixed save
    # intervals and an evaluation; each shard must hold its own step's tensors
    printf '%s\n' "weights interval=3" "biases interval=3" "gradients interval=2" \
        "activations interval=4" "images interval=0" "losses interval=1" \
        "metrics interval=1" "embeddings interval=0" >"$TMP/mixed.cfg"
    VSIM_CUDA_TF32=0 small_run mixed-cpu cpu mixed 10 0.25 5
    VSIM_CUDA_TF32=0 small_run mixed-cuda cuda mixed 10 0.25 5
    echo "CPU vs CUDA, fp32, mixed save intervals and an evaluation (shards 0-4):"
    "$PY" bench/train_agree.py "$TMP/mixed-cpu" "$TMP/mixed-cuda" 5
    # the chunked convolution path (batches over VSIM_CUDA_CHUNK_FLOATS): 16 images in
    # chunks of 5, 5, 5 and 1 for the first layer's 16384 floats per image
    VSIM_CUDA_TF32=0 VSIM_CUDA_CHUNK_FLOATS=90000 small_run agree-chunk cuda all 6 0 0
    echo "CPU vs CUDA, fp32, convolution columns in chunks of images:"
    "$PY" bench/train_agree.py "$TMP/agree-cpu" "$TMP/agree-chunk" 2
else
    echo "GPU: skipped (this vsim-train has no CUDA, or no GPU answers)"
fi
