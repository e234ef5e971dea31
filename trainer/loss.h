/*
 * trainer/loss.h - reconstruction losses with analytic gradients: L2 (mean
 * squared error) and 1 - SSIM (Wang et al., IEEE TIP 13(4), 2004) with an 11x11
 * Gaussian window (sigma 1.5, separable, truncated at radius 5 as scipy's
 * gaussian_filter), C1 = 0.01^2, C2 = 0.03^2, data range 1, population
 * covariances, valid windows only, mean over the map: the same value as
 * scikit-image's structural_similarity(gaussian_weights=True, sigma=1.5,
 * use_sample_covariance=False, data_range=1) (tests/ref/ssim_ref.py).
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_TRAINER_LOSS_H
#define VSIM_TRAINER_LOSS_H

#include <stddef.h>

/* total = w_l2 * MSE + w_ssim * (1 - mean SSIM). */
typedef struct vsim_loss_spec {
    double w_l2;
    double w_ssim;
} vsim_loss_spec;

/* Values of one batch. */
typedef struct vsim_loss_value {
    double total;      /* the weighted loss that is minimised */
    double mse;        /* mean squared error over all pixels */
    double ssim;       /* mean SSIM over the images (computed for every loss) */
    double psnr;       /* 10 log10(1 / mse), data range 1 (inf when mse is 0) */
} vsim_loss_value;

/*
 * Parse a loss: "l2", "ssim", "l2+ssim" (weights 0.5 and 0.5), or weighted
 * terms "A*l2+B*ssim" (A, B >= 0 decimal numbers, either term optional).
 * VSIM_EINVAL naming the text when it is not one of these.
 */
int vsim_loss_parse(const char *text, vsim_loss_spec *out);

/* The SSIM window: 11 taps of a normalised Gaussian (sigma 1.5), as scipy.ndimage builds it. */
#define VSIM_SSIM_WIN 11
void vsim_loss_ssim_window(double g[VSIM_SSIM_WIN]);

/*
 * SSIM of each of b images [b][h][w] (h, w >= 11): ssim[i] for image i. If
 * grad is not NULL, add scale * d(sum_i (1 - ssim[i]))/d pred to grad.
 * pred and target are borrowed. VSIM_EINVAL for images under 11x11,
 * VSIM_ENOMEM. Deterministic for any thread count.
 */
int vsim_loss_ssim(const float *pred, const float *target, int b, int h, int w, double *ssim,
                   float *grad, double scale, int n_threads);

/*
 * Mean squared error over n values; if grad is not NULL, add
 * scale * d(MSE)/d pred to it.
 */
double vsim_loss_mse(const float *pred, const float *target, size_t n, float *grad,
                     double scale, int n_threads);

/*
 * Evaluate spec on a batch of b images [b][h][w]; when grad is not NULL it is
 * overwritten with d total / d pred. OUT: *out.
 */
int vsim_loss_eval(const vsim_loss_spec *spec, const float *pred, const float *target, int b,
                   int h, int w, float *grad, vsim_loss_value *out, int n_threads);

#endif
