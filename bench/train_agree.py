#!/usr/bin/python3
# bench/train_agree.py - how far apart two runs of vsim-train are, step by step: for
# each step both runs saved, the largest relative L2 difference |a - b| / |a| over
# the tensors of each kind (weights and biases, gradients, activations, losses,
# metrics). bench-train.sh runs the same small model with the same seed on the CPU
# and with CUDA and reads the first steps: before the update amplifies rounding,
# the two backends must agree to float tolerance.
# Usage: train_agree.py RUN_A RUN_B [MAX_STEPS [TOL]]; TOL 0: no verdict (e.g. TF32)
# SPDX-License-Identifier: MIT
import os
import sys

import h5py
import numpy as np


def kind(name):
    parts = name.split("/")[1:]  # drop "tensors"
    if parts[0] in ("encoder", "decoder"):
        return "params"
    return parts[0]


def main():
    a_dir, b_dir = sys.argv[1], sys.argv[2]
    max_steps = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    tol = float(sys.argv[4]) if len(sys.argv) > 4 else 1e-4
    shards = sorted(os.listdir(os.path.join(a_dir, "shards", "w0")))[:max_steps]
    first_grad = None
    for shard in shards:
        fa = h5py.File(os.path.join(a_dir, "shards", "w0", shard), "r")
        fb = h5py.File(os.path.join(b_dir, "shards", "w0", shard), "r")
        names = []
        fa.visit(lambda n: names.append(n) if isinstance(fa[n], h5py.Dataset) else None)
        worst = {}
        for n in names:
            if not n.startswith("tensors/") or n not in fb:
                continue
            x = np.asarray(fa[n], dtype=np.float64)
            y = np.asarray(fb[n], dtype=np.float64)
            den = np.linalg.norm(x)
            r = float(np.linalg.norm(x - y) / den) if den > 0 else float(np.linalg.norm(x - y))
            k = kind(n)
            if r >= worst.get(k, (-1.0, ""))[0]:
                worst[k] = (r, n[len("tensors/"):])
        if shard == shards[0] and "gradients" in worst:
            first_grad = worst["gradients"][0]
        step = int(shard.split("-")[1].split(".")[0])
        print("step %d: %s" % (step, ", ".join("%s %.1e (%s)" % (k, v[0], v[1])
                                               for k, v in sorted(worst.items()))))
    if first_grad is None:
        print("first step's gradients: not saved by both runs (DIFFERENT)")
    elif tol <= 0:
        print("first step's gradients: largest relative difference %.2e" % first_grad)
    else:
        print("first step's gradients: largest relative difference %.2e %s" %
              (first_grad, "(ok: float tolerance)" if first_grad < tol else "(DIFFERENT)"))


if __name__ == "__main__":
    main()
