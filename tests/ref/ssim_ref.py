#!/usr/bin/python3
# tests/ref/ssim_ref.py - reference SSIM values for tests/unit/test_trainer.c, from
# scikit-image's structural_similarity with the trainer's settings (11x11 Gaussian
# window, sigma 1.5, population covariance, data range 1). The image pairs are
# formulas that the C test evaluates the same way (float64, then rounded to float32).
# Run: /usr/bin/python3 tests/ref/ssim_ref.py > tests/ref/ssim_ref.txt
# SPDX-License-Identifier: MIT
import numpy as np
import skimage
from skimage.metrics import structural_similarity


def pair(case, h, w):
    r, c = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64),
                       indexing="ij")
    if case == 0:
        x = 0.5 + 0.4 * np.sin(0.37 * c + 0.21 * r)
        y = 0.5 + 0.35 * np.cos(0.29 * c - 0.17 * r)
    elif case == 1:
        x = np.mod(r * 7 + c * 13, 17) / 16.0
        y = 0.8 * x + 0.1 + 0.05 * np.sin(c)
    elif case == 2:
        x = 0.5 + 0.5 * np.sin(0.11 * r * c / 7.0)
        y = x.copy()
    else:
        x = np.where((r - h / 2) ** 2 + (c - w / 2) ** 2 < (h / 3) ** 2, 0.9, 0.1)
        y = np.clip(x + 0.2 * np.sin(1.3 * r + 0.7 * c), 0.0, 1.0)
    return (x.astype(np.float32).astype(np.float64), y.astype(np.float32).astype(np.float64))


CASES = [(0, 16, 16), (1, 32, 24), (2, 64, 64), (3, 64, 64), (0, 11, 13)]
print("# skimage %s structural_similarity(gaussian_weights=True, sigma=1.5, "
      "use_sample_covariance=False, data_range=1)" % skimage.__version__)
print("# case h w ssim(x, y)")
for case, h, w in CASES:
    x, y = pair(case, h, w)
    s = structural_similarity(x, y, gaussian_weights=True, sigma=1.5,
                              use_sample_covariance=False, data_range=1.0)
    print("%d %d %d %.17g" % (case, h, w, s))
