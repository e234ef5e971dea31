/*
 * analyze/tsne.h - t-SNE embedding (van der Maaten & Hinton 2008; Barnes-Hut:
 * van der Maaten, JMLR 15, 2014; FFT-interpolated repulsion: Linderman et al.,
 * Nature Methods 16, 2019) and the quality figures of an embedding (issue 7).
 * Design: docs/tsne.md. One caller thread per vsim_tsne; it uses OpenMP inside.
 * Results are bit-identical for a given seed whatever n_threads is.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_ANALYZE_TSNE_H
#define VSIM_ANALYZE_TSNE_H

#include <stddef.h>
#include <stdint.h>

#include "core/progress.h"
#include "core/vsim.h"

typedef struct vsim_tsne vsim_tsne;      /* opaque; see analyze/tsne_int.h */

enum vsim_tsne_init {
    VSIM_TSNE_INIT_PCA = 0,     /* first principal components, scaled to std 1e-4 (openTSNE) */
    VSIM_TSNE_INIT_RANDOM = 1   /* N(0, 1e-4^2) from the seed */
};

enum vsim_tsne_method {
    VSIM_TSNE_AUTO = 0,         /* EXACT if theta == 0; FFT for 2-D from fft_min_points; else BH */
    VSIM_TSNE_EXACT = 1,        /* O(N^2) gradient */
    VSIM_TSNE_BH = 2,           /* Barnes-Hut quadtree / octree, cell full width vs theta */
    VSIM_TSNE_FFT = 3           /* interpolation on a grid + FFT convolution (2-D only) */
};

typedef struct vsim_tsne_params {
    int out_dims;            /* 2 or 3 */
    int pca_dims;            /* reduce the input to this many dims by PCA when dim > it; 0: never */
    double perplexity;       /* > 0; needs n_points >= 3 * perplexity + 1 */
    double theta;            /* Barnes-Hut accuracy (cell width / distance); 0: exact */
    int method;              /* enum vsim_tsne_method */
    size_t fft_min_points;   /* AUTO picks FFT from this N up (2-D); 0: never (docs/tsne.md) */
    int max_iter;            /* total iterations, early exaggeration included */
    int exag_iter;           /* iterations with exaggeration and early momentum */
    double exaggeration;     /* early exaggeration factor (12) */
    double learning_rate;    /* > 0, or 0 for auto: max(N / exaggeration, 50) during the
                              * early phase and max(N, 50) after (openTSNE's schedule);
                              * in bhtsne/openTSNE units (scikit-learn's times 4) */
    double momentum_early;   /* 0.5 */
    double momentum_late;    /* 0.8 */
    double min_gain;         /* 0.01 */
    double max_step_norm;    /* clip each point's step to this length (openTSNE: 5); 0: off */
    int init;                /* enum vsim_tsne_init */
    uint64_t seed;           /* same seed => same embedding for any n_threads */
    int n_threads;           /* 0 = OpenMP default */
    int progress_every;      /* iterations between progress calls (50); KL estimated then */
    vsim_progress_fn progress;  /* may be NULL; msg holds "iter N KL x"; non-zero return stops */
    void *progress_ctx;
} vsim_tsne_params;

#define VSIM_TSNE_PARAMS_INIT { .out_dims = 2, .pca_dims = 50, .perplexity = 30.0, \
                                .theta = 0.5, .max_iter = 1000, .exag_iter = 250, \
                                .exaggeration = 12.0, .momentum_early = 0.5, \
                                .momentum_late = 0.8, .min_gain = 0.01, .max_step_norm = 5.0, \
                                .seed = 1, .progress_every = 50 }

/*
 * Largest perplexity usable with n_points points: (n_points - 1) / 3, so that
 * k = floor(3 * perplexity) neighbours exist besides the point itself.
 */
double vsim_tsne_max_perplexity(size_t n_points);

/*
 * Check the input and the parameters: VSIM_EINVAL for dim 0, out_dims not 2
 * or 3, a perplexity that n_points cannot support (the message gives the
 * largest that works) or another bad parameter; VSIM_ENUMERIC naming the first
 * row that holds NaN or Inf. Duplicate rows are allowed.
 */
int vsim_tsne_check(const float *x, size_t n_points, size_t dim, const vsim_tsne_params *params);

/*
 * Prepare an embedding of x (n_points rows of dim floats, row-major): PCA,
 * exact k-nearest neighbours (vantage-point tree), perplexity calibration,
 * symmetric sparse P and the initial layout. x is borrowed only during the
 * call and never modified. Returns VSIM_OK and sets *out, or an error of
 * vsim_tsne_check or VSIM_ENOMEM with *out = NULL.
 */
int vsim_tsne_create(const float *x, size_t n_points, size_t dim,
                     const vsim_tsne_params *params, vsim_tsne **out);

/*
 * Run n_iter more gradient-descent iterations (not past max_iter). VSIM_ENUMERIC
 * if the layout diverges (NaN), VSIM_ERANGE if progress asked to stop.
 */
int vsim_tsne_step(vsim_tsne *t, int n_iter);

/* Run the remaining iterations: vsim_tsne_step(t, max_iter - done). */
int vsim_tsne_run(vsim_tsne *t);

/* Iterations done so far. */
int vsim_tsne_iter(const vsim_tsne *t);

/* The current layout, borrowed: n_points * out_dims doubles, row-major. */
const double *vsim_tsne_embedding(const vsim_tsne *t);

/*
 * The input after PCA, borrowed: n_points * vsim_tsne_input_dims floats (the
 * space whose neighbours the quality figures compare against).
 */
const float *vsim_tsne_input(const vsim_tsne *t);
size_t vsim_tsne_input_dims(const vsim_tsne *t);

/* KL(P || Q) estimated at the last progress point (Q's Z from the fast gradient); NaN if none. */
double vsim_tsne_kl_estimate(const vsim_tsne *t);

void vsim_tsne_destroy(vsim_tsne *t);               /* NULL is a no-op */

/*
 * Exact k nearest neighbours of every row of x (n_points x dim floats) among the
 * other rows, by the vantage-point tree t-SNE uses: idx (n_points x k) sorted by
 * (squared Euclidean distance, index); dist2 (may be NULL) gets the squared
 * distances. Deterministic for a seed, for any n_threads. VSIM_EINVAL if
 * k >= n_points or k == 0, VSIM_ENOMEM.
 */
int vsim_knn_exact(const float *x, size_t n_points, size_t dim, size_t k, uint64_t seed,
                   int n_threads, uint32_t *idx, float *dist2);

/*
 * Leave-one-out k-NN label accuracy among the rows of x (n_points x dim floats):
 * each point's label against the majority of its k exact nearest neighbours
 * (vsim_knn_exact; ties in the vote go to the smallest label, as scikit-learn's).
 * *out NaN on error. VSIM_EINVAL if k == 0 or k >= n_points, VSIM_ENOMEM.
 */
int vsim_knn_accuracy(const float *x, size_t n_points, size_t dim, const int32_t *labels,
                      size_t k, int n_threads, double *out);

/* Quality figures of an embedding (issue 7 "--quality"). */
typedef struct vsim_tsne_quality_params {
    double perplexity;       /* of the P used for the KL divergence (30) */
    int k;                   /* neighbours for preservation, accuracy, trustworthiness (10) */
    size_t kl_max_points;    /* exact KL on all points up to this N, else on a random
                              * subset of this size (P recomputed on it); 0: 20000 */
    size_t trust_max_points; /* trustworthiness over at most this many query points
                              * (random subset, neighbours among all); 0: 20000 */
    uint64_t seed;           /* for the subsets */
    int n_threads;           /* 0 = OpenMP default */
} vsim_tsne_quality_params;

#define VSIM_TSNE_QUALITY_PARAMS_INIT { .perplexity = 30.0, .k = 10, .seed = 1 }

typedef struct vsim_tsne_quality {
    double kl;               /* KL(P || Q): sparse perplexity P, exact Student-t Q */
    size_t kl_points;        /* points the KL was computed on */
    double nn_preservation;  /* mean share of the k input neighbours among the k embedded */
    double knn_accuracy;     /* leave-one-out k-NN majority vote in the embedding; NaN: no labels */
    double trustworthiness;  /* Venna & Kaski, as scikit-learn's trustworthiness() */
    size_t trust_points;     /* query points it was computed over */
} vsim_tsne_quality;

/*
 * Quality of embedding y (n_points x out_dims doubles) of x (n_points x dim
 * floats, the t-SNE input after PCA). labels may be NULL (knn_accuracy is NaN
 * then); ties in the vote go to the smallest label, as scikit-learn's.
 * VSIM_EINVAL for n_points <= k or a perplexity too large, VSIM_ENOMEM.
 */
int vsim_tsne_quality_compute(const float *x, size_t n_points, size_t dim, const double *y,
                              int out_dims, const int32_t *labels,
                              const vsim_tsne_quality_params *params, vsim_tsne_quality *out);

#endif
