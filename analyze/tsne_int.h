/*
 * analyze/tsne_int.h - internals shared by analyze/tsne*.c: the sparse P, the
 * neighbour search, the gradient kernels and the repulsion backends.
 * Naming (the paper's letters, docs/architecture.md): N = n_points, D = input dims after
 * PCA, P = symmetric input affinities (CSR), Y = layout (N x out_dims, row-
 * major doubles), w_ij = 1 / (1 + |y_i - y_j|^2), Z = sum_{i != j} w_ij, Q = w / Z.
 * The gradient is written without the paper's factor 4 (bhtsne/openTSNE units):
 * g_i = sum_j P_ij w_ij (y_i - y_j) - (1/Z) sum_j w_ij^2 (y_i - y_j).
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_ANALYZE_TSNE_INT_H
#define VSIM_ANALYZE_TSNE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "analyze/tsne.h"
#include "core/vsim.h"

/* Symmetric sparse P in CSR form. */
typedef struct vsim_tsne_sparse {
    size_t n;               /* rows */
    size_t *row;            /* n + 1 offsets */
    uint32_t *col;          /* nnz column indices, ascending within a row */
    float *val;             /* nnz values; they sum to 1 */
} vsim_tsne_sparse;

VSIM_INTERNAL void vsim_tsne_sparse_release(vsim_tsne_sparse *P);

/*
 * Exact k nearest neighbours of every row of x (n x d floats) among the other
 * rows, by a vantage-point tree (Yianilos 1993) built with rng seed; queries in
 * parallel. idx (n x k) and dist2 (n x k squared Euclidean distances) sorted by
 * (distance, index). Requires k < n.
 */
VSIM_INTERNAL int vsim_tsne_knn(const float *x, size_t n, size_t d, size_t k, uint64_t seed,
                                int n_threads, uint32_t *idx, float *dist2);

/* Rows of x padded with zeros to a multiple of 8 floats (*dp); NULL: out of memory. */
VSIM_INTERNAL float *vsim_tsne_pad_rows(const float *x, size_t n, size_t d, size_t *dp);

/* Squared distance of two padded rows (SIMD; d a multiple of 8). */
VSIM_INTERNAL float vsim_tsne_dist2_padded(const float *a, const float *b, size_t d);

/*
 * Conditional p_{j|i} per row from squared distances (n x k) by bisection on
 * the Gaussian precision so that each row's entropy (nats) is within 1e-6 of
 * log(perplexity). entropy (may be NULL) gets each row's final entropy.
 */
VSIM_INTERNAL void vsim_tsne_calibrate(const float *dist2, size_t n, size_t k,
                                       double perplexity, int n_threads, float *p_cond,
                                       double *entropy);

/* P = (P_cond + P_cond^T) / sum, in CSR. */
VSIM_INTERNAL int vsim_tsne_symmetrize(const uint32_t *idx, const float *p_cond, size_t n,
                                       size_t k, int n_threads, vsim_tsne_sparse *out);

/* Build P for x (kNN + calibration + symmetrisation) in one call. */
VSIM_INTERNAL int vsim_tsne_affinities(const float *x, size_t n, size_t d, double perplexity,
                                       uint64_t seed, int n_threads, vsim_tsne_sparse *out);

/* Attractive part: attr_i = exag * sum_j P_ij w_ij (y_i - y_j), written into grad (n x dims). */
VSIM_INTERNAL void vsim_tsne_attractive(const vsim_tsne_sparse *P, const double *Y, int dims,
                                        double exag, int n_threads, double *grad);

/* sum_ij P_ij log w_ij (sequential, deterministic). */
VSIM_INTERNAL double vsim_tsne_plogw(const vsim_tsne_sparse *P, const double *Y, int dims);

/* sum_ij P_ij log P_ij. */
VSIM_INTERNAL double vsim_tsne_plogp(const vsim_tsne_sparse *P);

/* Exact repulsion: rep_i = sum_j w_ij^2 (y_i - y_j) into rep (n x dims), *Z. O(N^2). */
VSIM_INTERNAL void vsim_tsne_repulsion_exact(const double *Y, size_t n, int dims,
                                             int n_threads, double *rep, double *Z);

/* Barnes-Hut repulsion: a workspace reused across iterations. */
typedef struct vsim_tsne_bh vsim_tsne_bh;
VSIM_INTERNAL int vsim_tsne_bh_create(size_t n, int dims, int n_threads, vsim_tsne_bh **out);
VSIM_INTERNAL void vsim_tsne_bh_destroy(vsim_tsne_bh *bh);
VSIM_INTERNAL void vsim_tsne_repulsion_bh(vsim_tsne_bh *bh, const double *Y, double theta,
                                          int n_threads, double *rep, double *Z);

/* FFT-interpolated repulsion (2-D): a workspace reused across iterations. */
typedef struct vsim_tsne_fft vsim_tsne_fft;
VSIM_INTERNAL int vsim_tsne_fft_create(size_t n, int n_threads, vsim_tsne_fft **out);
VSIM_INTERNAL void vsim_tsne_fft_destroy(vsim_tsne_fft *f);
/* May allocate when the grid grows: VSIM_ENOMEM. */
VSIM_INTERNAL int vsim_tsne_repulsion_fft(vsim_tsne_fft *f, const double *Y, int n_threads,
                                          double *rep, double *Z);

/* Exact KL(P || Q) of layout Y, O(N^2) for Z. */
VSIM_INTERNAL int vsim_tsne_kl_exact(const vsim_tsne_sparse *P, const double *Y, int dims,
                                     int n_threads, double *out);

struct vsim_tsne {
    vsim_tsne_params p;
    size_t N;
    size_t D;               /* input dims after PCA */
    int dims;               /* out_dims */
    int method;             /* resolved: EXACT, BH or FFT */
    int n_threads;
    float *X;               /* N x D input after PCA */
    vsim_tsne_sparse P;
    double plogp;           /* sum P log P, for the KL estimate */
    double *Y, *grad, *rep, *update, *gains;  /* N x dims each */
    vsim_tsne_bh *bh;
    vsim_tsne_fft *fft;
    int iter;
    double kl;              /* last estimate, NaN if none */
};

#endif
