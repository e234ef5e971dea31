/*
 * analyze/stats.h - per-tensor statistics (issue 5): counts of NaN, +Inf, -Inf
 * and zeros; min, max, mean, population std, L1 and L2 norm and percentiles
 * (numpy's default linear interpolation) over the finite values; histograms;
 * and a streaming summary of one tensor across steps and workers.
 * Design notes: moments are merged per 4096-element chunk with Chan et al.'s
 * pairwise formula in a fixed order, so results are bit-identical for any
 * thread count; percentiles use an MSD radix selection (analyze/quantile.c).
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_ANALYZE_STATS_H
#define VSIM_ANALYZE_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "core/tensor.h"
#include "core/vsim.h"

#define VSIM_STATS_MAX_PCT 32      /* most percentiles one computation returns */
#define VSIM_STATS_MAX_BINS 100000 /* most histogram bins */

/* 1 5 25 50 75 95 99: the default percentiles of every vsim tool. */
extern const double vsim_stats_default_pct[7];

typedef struct vsim_stats_params {
    const double *percentiles; /* in [0, 100], any order; NULL or n = 0: none */
    size_t n_percentiles;      /* <= VSIM_STATS_MAX_PCT */
    size_t n_bins;             /* histogram bins; 0: no histogram */
    int log_bins;              /* 1: bins over log10|x| of the non-zero finite values */
    int n_threads;             /* 0 = OpenMP default; results do not depend on it */
} vsim_stats_params;

#define VSIM_STATS_PARAMS_INIT { .percentiles = vsim_stats_default_pct, .n_percentiles = 7 }

/*
 * The statistics of one tensor. min, max, mean, std, l1, l2 and the
 * percentiles cover the finite values only; they are NaN when there are none
 * (l1 and l2 are 0 then, as numpy's sum of an empty array).
 */
typedef struct vsim_stats {
    uint64_t count;            /* elements */
    uint64_t n_finite;         /* elements that are neither NaN nor infinite */
    uint64_t n_nan, n_posinf, n_neginf;
    uint64_t n_zeros;          /* elements equal to 0 (either sign) */
    double min, max;
    double mean;
    double std;                /* population standard deviation (ddof = 0) */
    double l1;                 /* sum of |x| */
    double l2;                 /* sqrt(sum of x^2) */
    size_t n_pct;
    double pct_q[VSIM_STATS_MAX_PCT]; /* the percentiles asked for, in [0, 100] */
    double pct[VSIM_STATS_MAX_PCT];   /* their values */
} vsim_stats;

/*
 * A histogram with n_bins equal bins over [lo, hi] (numpy.histogram: the range
 * is the finite min..max, widened by 0.5 each side when min == max; the last
 * bin is closed). For log bins, lo and hi are log10 magnitudes and the values
 * binned are log10|x| of the non-zero finite elements; zeros are in n_zeros of
 * the vsim_stats. Caller-owned value type: VSIM_HIST_INIT, vsim_hist_release.
 */
typedef struct vsim_hist {
    size_t n_bins;
    int log;                   /* 1: edges are log10 |x| */
    double lo, hi;             /* first and last edge */
    uint64_t *counts;          /* n_bins entries (vsim_malloc'ed) */
} vsim_hist;

#define VSIM_HIST_INIT { 0, 0, 0.0, 0.0, NULL }

void vsim_hist_release(vsim_hist *h);
/* Edge i (0 <= i <= n_bins) as numpy.linspace(lo, hi, n_bins + 1) gives it. */
double vsim_hist_edge(const vsim_hist *h, size_t i);

/*
 * Compute the statistics of t (any dtype, strided or contiguous; t is borrowed
 * and not modified) into *out and, if hist is non-NULL and p->n_bins > 0, the
 * histogram into *hist (released and refilled). p may be NULL (defaults).
 * Uses OpenMP with p->n_threads threads inside; results are the same for any
 * thread count. Extra memory: at most about one copy of t's finite values plus
 * 256 KiB per thread. Returns VSIM_OK, VSIM_EINVAL (bad dtype or parameters),
 * VSIM_ERANGE (more than 2^32 - 1 elements) or VSIM_ENOMEM. Thread-safe.
 */
int vsim_stats_compute(const vsim_tensor *t, const vsim_stats_params *p, vsim_stats *out,
                       vsim_hist *hist);

/*
 * Fold the moments of b into a as if both tensors were one (counts added,
 * min/max, mean and std by Chan's formula, l1, l2). Percentiles cannot be
 * merged exactly: a's become NaN unless b has no finite values.
 */
void vsim_stats_merge(vsim_stats *a, const vsim_stats *b);

/*
 * Percentile q (0..100) of the n sorted values v, numpy's default (linear)
 * method. NaN if n == 0.
 */
double vsim_stats_pct_sorted(const double *v, size_t n, double q);

/* The statistic fields a series summarises, in CSV order. */
enum vsim_stats_field {
    VSIM_STATS_F_COUNT = 0,
    VSIM_STATS_F_NAN,
    VSIM_STATS_F_POSINF,
    VSIM_STATS_F_NEGINF,
    VSIM_STATS_F_ZEROS,
    VSIM_STATS_F_MIN,
    VSIM_STATS_F_MAX,
    VSIM_STATS_F_MEAN,
    VSIM_STATS_F_STD,
    VSIM_STATS_F_L1,
    VSIM_STATS_F_L2,
    VSIM_STATS_F_PCT0,         /* then one per percentile */
    VSIM_STATS_N_FIELDS = VSIM_STATS_F_PCT0 + VSIM_STATS_MAX_PCT
};

/* Name of field f ("count", "nan", ..., "l2"; percentiles are not named here). */
const char *vsim_stats_field_name(int f);
/* Value of field f of s as a double (percentile fields: s->pct[f - VSIM_STATS_F_PCT0]). */
double vsim_stats_field(const vsim_stats *s, int f);

/*
 * Streaming summary of one tensor over steps (and workers): first, last, min
 * and max of every field, and the least-squares slope of log10(l2) against the
 * step over the observations with a finite, positive l2. Bounded memory; two
 * series merge exactly (vsim_stats_series_merge). Value type: VSIM_STATS_SERIES_INIT.
 */
typedef struct vsim_stats_series {
    uint64_t n_obs;            /* observations added */
    size_t n_fields;           /* VSIM_STATS_F_PCT0 + n_pct of the first observation */
    int64_t first_step, last_step;
    double first[VSIM_STATS_N_FIELDS], last[VSIM_STATS_N_FIELDS];
    double min[VSIM_STATS_N_FIELDS], max[VSIM_STATS_N_FIELDS];  /* NaN-ignoring */
    double trend_n;            /* points in the trend fit */
    double trend_mean_x, trend_mean_y;  /* step, log10(l2) */
    double trend_sxx, trend_sxy;        /* centred sums */
} vsim_stats_series;

#define VSIM_STATS_SERIES_INIT { .n_obs = 0 }

void vsim_stats_series_init(vsim_stats_series *s);
/* Add the statistics of the tensor at step. Steps may come in any order. */
void vsim_stats_series_add(vsim_stats_series *s, int64_t step, const vsim_stats *st);
/* Fold b into a (e.g. the series of another worker). */
void vsim_stats_series_merge(vsim_stats_series *a, const vsim_stats_series *b);
/* Slope of log10(l2) per step (decades per step); NaN with fewer than 2 distinct steps. */
double vsim_stats_series_trend(const vsim_stats_series *s);

#endif
