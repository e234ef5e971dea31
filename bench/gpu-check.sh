#!/bin/bash
# bench/gpu-check.sh - everything issue 4's GPU half needs, in one call on a GPU machine
# (HDF5, OpenBLAS, nvcc and cuBLAS; PyTorch and h5py in the python3 on PATH; no GSL,
# cairo or gnuplot): build vsim-train with CUDA, one short run with its stderr shown,
# the GPU time per phase and layer (VSIM_CUDA_PROFILE=1), bench-train.sh's GPU part
# (images/s beside PyTorch eager, capture overhead, CPU/CUDA agreement, the pipelined
# capture and the chunked convolutions), and compute-sanitizer's memcheck.
# Output on stdout; with OUT set, a copy in $OUT/gpu-check.txt and the build log.
# Env: PYTHON (python3), BENCH_TIMEOUT (300 s).
set -u
O=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/vsim-gpu.XXXXXX")}
mkdir -p "$O"
exec > >(tee "$O/gpu-check.txt") 2>&1
T0=$(date +%s)
el() { echo "[$(($(date +%s) - T0)) s] $*"; }
PY=${PYTHON:-python3}
NVCC=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
CS=$(command -v compute-sanitizer || echo "$(dirname "$NVCC")/compute-sanitizer")

el "machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
"$NVCC" --version | tail -1
"$PY" -c 'import torch; print("torch", torch.__version__, "cudnn tf32",
    torch.backends.cudnn.allow_tf32, "matmul tf32", torch.backends.cuda.matmul.allow_tf32)'

el "build"
make -j"$(nproc)" trainer NVCC="$NVCC" >"$O/build.txt" 2>&1 ||
    { tail -30 "$O/build.txt"; exit 1; }
grep -E 'warning:|error:' "$O/build.txt"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vsim-gpu-run.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cc -O2 bench/mkdata.c ${H5FLAGS:-$(pkg-config --cflags --libs hdf5)} -o "$TMP/mkdata" &&
    "$TMP/mkdata" "$TMP/data.h5" || exit 1
export VSIM_QUIET=1

el "one short CUDA run"
bin/vsim-train --data "$TMP/data.h5" --out "$TMP/r0" --model slim --steps 2 --batch 8 \
    --val-frac 0 --eval-interval 0 --device cuda || exit 1

el "GPU time per phase and layer (wide, L2)"
for b in 64 1024; do
    rm -rf "$TMP/rp"
    echo "batch $b:"
    VSIM_CUDA_PROFILE=1 bin/vsim-train --data "$TMP/data.h5" --out "$TMP/rp" --model wide \
        --loss l2 --steps 30 --batch $b --val-frac 0 --eval-interval 0 --device cuda \
        --save-interval 0 2>&1 | grep -E 'profile|steady'
done

el "bench-train.sh, GPU part"
PYTHON=$PY GPU_ONLY=1 REPEAT=2 timeout "${BENCH_TIMEOUT:-300}" bash bench/bench-train.sh

el "compute-sanitizer memcheck (small model, evaluation and capture every step)"
"$CS" --tool memcheck --error-exitcode 9 bin/vsim-train --data "$TMP/data.h5" \
    --out "$TMP/rs" --model input=64,conv=8-16,fc=32 --loss l2+ssim --steps 3 --batch 8 \
    --val-frac 0.25 --eval-interval 1 --save-interval 1 --device cuda 2>&1 | tail -3
echo "memcheck exit ${PIPESTATUS[0]}"
el "done"
