/*
 * tests/unit/test_stats.c - analyze/stats against numpy (tests/ref/stats_ref.py ->
 * stats_ref.h): every statistic on tensors of many shapes, dtypes and views,
 * the same bits for any thread count, merging, series, bad parameters.
 * Tolerances (relative to max(|want|, the data's mean |x|)): moments 1e-12 for every
 * dtype (the reference is numpy in float64 on the exact input values; a numpy
 * computation in float32 itself would differ by ~1e-6), L1/L2 1e-12, min, max and
 * percentiles 1e-15 (exact but for the last interpolation rounding), counts
 * and histogram counts exact.
 * SPDX-License-Identifier: MIT
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/stats.h"
#include "analyze/stats_int.h"
#include "core/mem.h"
#include "core/tensor.h"
#include "tests/vt.h"

struct ref_case {
    const char *name, *dtype, *view;
    uint64_t seed;
    const char *gen;
    double a, b, c;
    int ndim;
    size_t shape[2 + 1];
    uint64_t counts[5];          /* count nan posinf neginf zeros */
    double moments[6];           /* min max mean std l1 l2 */
    double pct[10];
    long long lin[10];           /* -1: no reference */
    double lin_lo, lin_hi;
    long long log[8];
    double log_lo, log_hi;
};

#include "tests/ref/stats_ref.h"

#define GAMMA 0x9E3779B97F4A7C15ull

static double uniform(uint64_t seed, uint64_t k)
{
    uint64_t z = seed + (k + 1) * GAMMA;

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z = z ^ (z >> 31);
    return (double)(z >> 11) * 0x1p-53;
}

/* Element i of a case, as gen() in stats_ref.py computes it. */
static double gen_value(const struct ref_case *rc, size_t i)
{
    double u[8], normal, a = rc->a, b = rc->b, c = rc->c;

    for (int j = 0; j < 8; j++)
        u[j] = uniform(rc->seed, 8 * (uint64_t)i + (uint64_t)j);
    normal = a + b * ((((u[0] + u[1]) + u[2]) + u[3]) - 2.0);
    if (!strcmp(rc->gen, "normal"))
        return normal;
    if (!strcmp(rc->gen, "uniform"))
        return a + (b - a) * u[0];
    if (!strcmp(rc->gen, "int"))
        return a + floor(u[0] * (b - a + 1.0));
    if (!strcmp(rc->gen, "const"))
        return a;
    if (!strcmp(rc->gen, "special")) {
        double cls = floor(u[5] * 4.0);

        if (u[4] >= c)
            return normal;
        if (cls == 0)
            return (double)NAN;
        if (cls == 1)
            return (double)INFINITY;
        return cls == 2 ? -(double)INFINITY : 0.0;
    }
    if (!strcmp(rc->gen, "allnan"))
        return NAN;
    if (!strcmp(rc->gen, "denormal"))
        return a * (u[0] - 0.5);
    if (!strcmp(rc->gen, "relu"))
        return normal > 0.0 ? normal : 0.0;
    if (!strcmp(rc->gen, "lowcard"))
        return a + floor(u[0] * b) * c;
    return NAN;
}

static void store(vsim_dtype dt, void *data, size_t i, double v)
{
    switch (dt) {
    case VSIM_F32: ((float *)data)[i] = (float)v; break;
    case VSIM_F64: ((double *)data)[i] = v; break;
    case VSIM_I32: ((int32_t *)data)[i] = (int32_t)(int64_t)v; break;
    case VSIM_I64: ((int64_t *)data)[i] = (int64_t)v; break;
    case VSIM_U8: ((uint8_t *)data)[i] = (uint8_t)(int64_t)v; break;
    default: break;
    }
}

/* Build the case's view; *data gets the buffer to free. */
static void make_case(const struct ref_case *rc, vsim_tensor *t, void **data)
{
    vsim_dtype dt = vsim_dtype_parse(rc->dtype);
    size_t base[2] = { rc->ndim > 0 ? rc->shape[0] : 1, rc->ndim > 1 ? rc->shape[1] : 1 };
    size_t n;

    if (!strcmp(rc->view, "step2"))
        base[1] *= 2;
    n = base[0] * base[1];
    if (!strcmp(rc->view, "contig")) {
        n = 1;
        for (int d = 0; d < rc->ndim; d++)
            n *= rc->shape[d];
    }
    *data = vsim_malloc(n * vsim_dtype_size(dt) + 1);
    for (size_t i = 0; i < n; i++)
        store(dt, *data, i, gen_value(rc, i));
    vsim_tensor_init(t, dt, rc->ndim, rc->shape, *data);
    if (!strcmp(rc->view, "transpose")) {
        /* data is base[0] x base[1] row-major; the view is its transpose */
        t->shape[0] = base[1];
        t->shape[1] = base[0];
        t->stride[0] = 1;
        t->stride[1] = (ptrdiff_t)base[1];
    } else if (!strcmp(rc->view, "step2")) {
        t->stride[0] = (ptrdiff_t)base[1];
        t->stride[1] = 2;
    }
}

static int near_scaled(double got, double want, double rel, double scale)
{
    if (isnan(want) || isinf(want))
        return vt_near(got, want, 0.0);
    return fabs(got - want) <= rel * fmax(fabs(want), scale);
}

#define CHECK_NEAR(got, want, rel, scale, what)                                           \
    do {                                                                              \
        char nm_[128];                                                                \
        snprintf(nm_, sizeof(nm_), "%s: %s", rc->name, (what));                       \
        if (near_scaled((got), (want), (rel), (scale))) {                             \
            vt_passed++;                                                              \
        } else {                                                                      \
            vt_failed++;                                                              \
            fprintf(stderr, "FAIL %s: got %.17g want %.17g\n", nm_, (double)(got),     \
                    (double)(want));                                                  \
        }                                                                             \
    } while (0)

static void check_hist(const struct ref_case *rc, const vsim_hist *h, const long long *want,
                       double lo, double hi, const char *what)
{
    char nm[128];
    int ok = 1;

    if (want[0] < 0)
        return;
    for (size_t b = 0; b < h->n_bins; b++)
        ok &= (long long)h->counts[b] == want[b];
    snprintf(nm, sizeof(nm), "%s: %s counts", rc->name, what);
    VT_CHECK(ok, nm);
    /* log bins: numpy's log10 and the C library's may differ in the last bit */
    CHECK_NEAR(h->lo, lo, h->log ? 1e-14 : 1e-15, 0.0, "hist lo");
    CHECK_NEAR(h->hi, hi, h->log ? 1e-14 : 1e-15, 0.0, "hist hi");
}

static void check_case(const struct ref_case *rc)
{
    vsim_stats_params p = VSIM_STATS_PARAMS_INIT;
    vsim_stats st, st1;
    vsim_hist h = VSIM_HIST_INIT, hl = VSIM_HIST_INIT;
    vsim_tensor t;
    void *data;
    char nm[128];
    const char *mnames[6] = { "min", "max", "mean", "std", "l1", "l2" };
    double rels[6] = { 1e-15, 1e-15, 1e-12, 1e-12, 1e-12, 1e-12 };
    double scale;

    make_case(rc, &t, &data);
    p.percentiles = ref_pcts;
    p.n_percentiles = REF_N_PCTS;
    p.n_bins = REF_LIN_BINS;
    p.n_threads = 2;
    snprintf(nm, sizeof(nm), "%s: compute", rc->name);
    VT_CHECK(vsim_stats_compute(&t, &p, &st, &h) == VSIM_OK, nm);
    snprintf(nm, sizeof(nm), "%s: counts", rc->name);
    VT_CHECK(st.count == rc->counts[0] && st.n_nan == rc->counts[1] &&
             st.n_posinf == rc->counts[2] && st.n_neginf == rc->counts[3] &&
             st.n_zeros == rc->counts[4], nm);
    scale = st.n_finite ? rc->moments[4] / (double)st.n_finite : 0.0;
    for (int k = 0; k < 6; k++) {
        double got[6] = { st.min, st.max, st.mean, st.std, st.l1, st.l2 };

        CHECK_NEAR(got[k], rc->moments[k], rels[k], k == 2 ? scale : 0.0, mnames[k]);
    }
    for (int k = 0; k < REF_N_PCTS; k++)
        CHECK_NEAR(st.pct[k], rc->pct[k], 1e-15, 0.0, "percentile");
    check_hist(rc, &h, rc->lin, rc->lin_lo, rc->lin_hi, "linear hist");
    p.log_bins = 1;
    p.n_bins = REF_LOG_BINS;
    p.n_threads = 3;
    snprintf(nm, sizeof(nm), "%s: same bits with 1 and 2 threads", rc->name);
    VT_CHECK(vsim_stats_compute(&t, &p, &st1, &hl) == VSIM_OK &&
             !memcmp(&st, &st1, sizeof(st)), nm);
    check_hist(rc, &hl, rc->log, rc->log_lo, rc->log_hi, "log hist");
    vsim_hist_release(&h);
    vsim_hist_release(&hl);
    vsim_free(data);
}

static void test_threads_bitwise(void)
{
    size_t shape[1] = { 1000003 };
    float *x = vsim_malloc(shape[0] * sizeof(float));
    vsim_stats_params p = VSIM_STATS_PARAMS_INIT;
    vsim_stats ref, st;
    vsim_tensor t;
    int same = 1;

    for (size_t i = 0; i < shape[0]; i++)
        x[i] = (float)(uniform(99, i) * 1e3 - 400.0);
    vsim_tensor_init(&t, VSIM_F32, 1, shape, x);
    p.n_threads = 1;
    VT_CHECK(vsim_stats_compute(&t, &p, &ref, NULL) == VSIM_OK, "1 thread");
    for (int nt = 2; nt <= 8; nt++) {
        p.n_threads = nt;
        same &= vsim_stats_compute(&t, &p, &st, NULL) == VSIM_OK &&
                !memcmp(&ref, &st, sizeof(st));
    }
    VT_CHECK(same, "bit-identical for 1..8 threads");
    vsim_free(x);
}

static void test_merge_and_series(void)
{
    double a[6] = { 1, 2, 3, 4, 5, 6 }, all[6] = { 1, 2, 3, 4, 5, 6 };
    size_t s3[1] = { 3 }, s6[1] = { 6 };
    vsim_tensor ta, tb, tall;
    vsim_stats sa, sb, sall;
    vsim_stats_series ser, ser2;

    vsim_tensor_init(&ta, VSIM_F64, 1, s3, a);
    vsim_tensor_init(&tb, VSIM_F64, 1, s3, a + 3);
    vsim_tensor_init(&tall, VSIM_F64, 1, s6, all);
    vsim_stats_compute(&ta, NULL, &sa, NULL);
    vsim_stats_compute(&tb, NULL, &sb, NULL);
    vsim_stats_compute(&tall, NULL, &sall, NULL);
    vsim_stats_merge(&sa, &sb);
    VT_CHECK(sa.count == 6 && sa.min == 1 && sa.max == 6, "merge counts and range");
    VT_NEAR(sa.mean, sall.mean, 1e-15, "merge mean");
    VT_NEAR(sa.std, sall.std, 1e-15, "merge std");
    VT_NEAR(sa.l2, sall.l2, 1e-15, "merge l2");
    VT_CHECK(isnan(sa.pct[0]), "merged percentiles are unknown");

    /* l2 = 10^(3 - 0.01 step): slope -0.01 */
    vsim_stats_series_init(&ser);
    vsim_stats_series_init(&ser2);
    for (int64_t step = 0; step <= 400; step += 100) {
        vsim_stats st = sall;

        st.l2 = pow(10.0, 3.0 - 0.01 * (double)step);
        st.mean = (double)step;
        vsim_stats_series_add(step < 200 ? &ser : &ser2, step, &st);
    }
    vsim_stats_series_merge(&ser, &ser2);
    VT_CHECK(ser.n_obs == 5 && ser.first_step == 0 && ser.last_step == 400, "series steps");
    VT_NEAR(vsim_stats_series_trend(&ser), -0.01, 1e-12, "series trend of log10 l2");
    VT_NEAR(ser.first[VSIM_STATS_F_MEAN], 0, 0, "series first");
    VT_NEAR(ser.last[VSIM_STATS_F_MEAN], 400, 0, "series last");
    VT_NEAR(ser.max[VSIM_STATS_F_L2], 1000, 1e-15, "series max");
    VT_NEAR(ser.min[VSIM_STATS_F_L2], 0.1, 1e-12, "series min");
    VT_CHECK(!strcmp(vsim_stats_field_name(VSIM_STATS_F_L2), "l2"), "field names");
}

static void test_bad_params(void)
{
    double x[2] = { 1, 2 }, bad = 101;
    size_t s[1] = { 2 };
    vsim_tensor t;
    vsim_stats st;
    vsim_stats_params p = VSIM_STATS_PARAMS_INIT;

    vsim_tensor_init(&t, VSIM_F64, 1, s, x);
    p.percentiles = &bad;
    p.n_percentiles = 1;
    VT_CHECK(vsim_stats_compute(&t, &p, &st, NULL) == VSIM_EINVAL, "percentile > 100");
    p.n_percentiles = VSIM_STATS_MAX_PCT + 1;
    VT_CHECK(vsim_stats_compute(&t, &p, &st, NULL) == VSIM_EINVAL, "too many percentiles");
    t.dtype = VSIM_DTYPE_INVALID;
    VT_CHECK(vsim_stats_compute(&t, NULL, &st, NULL) == VSIM_EINVAL, "bad dtype");
}

#ifdef VSIM_TEST
/* Every allocation failing in turn gives VSIM_ENOMEM, never a crash or a leak. */
static void test_alloc_faults(void)
{
    const struct ref_case *rc = &ref_cases[VSIM_ARRAY_LEN(ref_cases) - 1];
    vsim_stats_params p = VSIM_STATS_PARAMS_INIT;
    vsim_hist h = VSIM_HIST_INIT;
    vsim_tensor t;
    vsim_stats st;
    void *data;
    int ok = 1, rc_;

    make_case(rc, &t, &data);
    p.n_bins = 5;
    for (long n = 1; n < 200; n++) {
        vsim_mem_fail_after(n);
        rc_ = vsim_stats_compute(&t, &p, &st, &h);
        vsim_mem_fail_after(0);
        if (rc_ == VSIM_OK)
            break;
        ok &= rc_ == VSIM_ENOMEM;
    }
    VT_CHECK(ok, "allocation faults give ENOMEM");
    vsim_hist_release(&h);
    vsim_free(data);
}
#endif

/*
 * The vector kernels (where the CPU has them) against the portable loops on
 * float32 and float64 tensors with a NaN and infinities in some chunks:
 * counts, min, max and percentiles exact, moments to 1e-13.
 */
static void test_simd_vs_portable(void)
{
    size_t shape[1] = { 300017 };
    float *x = vsim_malloc(shape[0] * sizeof(float));
    double *y = vsim_malloc(shape[0] * sizeof(double));
    vsim_stats_params p = VSIM_STATS_PARAMS_INIT;
    vsim_stats a, b;
    vsim_tensor t;
    int same = 1;

    for (size_t i = 0; i < shape[0]; i++) {
        x[i] = (float)(uniform(7, i) * 2.0 - 0.7) * (i % 97 == 0 ? 0.0f : 1.0f);
        y[i] = 1e3 + uniform(8, i) - 0.5;
    }
    x[12345] = NAN;
    x[200000] = INFINITY;
    x[299999] = -INFINITY;
    y[5] = NAN;
    y[100] = -INFINITY;
    p.n_threads = 2;
    for (int k = 0; k < 2; k++) {
        if (k == 0)
            vsim_tensor_init(&t, VSIM_F32, 1, shape, x);
        else
            vsim_tensor_init(&t, VSIM_F64, 1, shape, y);
        vsim_stats_set_simd(1);
        same &= vsim_stats_compute(&t, &p, &a, NULL) == VSIM_OK;
        vsim_stats_set_simd(0);
        same &= vsim_stats_compute(&t, &p, &b, NULL) == VSIM_OK;
        same &= a.n_finite == b.n_finite && a.n_nan == b.n_nan && a.n_posinf == b.n_posinf &&
                a.n_neginf == b.n_neginf && a.n_zeros == b.n_zeros && a.min == b.min &&
                a.max == b.max && !memcmp(a.pct, b.pct, sizeof(a.pct));
        same &= fabs(a.mean - b.mean) <= 1e-13 * fabs(b.mean) &&
                fabs(a.std - b.std) <= 1e-13 * b.std && fabs(a.l1 - b.l1) <= 1e-13 * b.l1 &&
                fabs(a.l2 - b.l2) <= 1e-13 * b.l2;
    }
    /* zeros of both signs: the minimum reads +0 on both paths (the kernels
     * meet -0 first and +0 last) */
    {
        size_t n64[1] = { 64 };
        float z[64];

        for (int k = 0; k < 64; k++)
            z[k] = 1.0f + (float)k;
        z[0] = -0.0f;
        z[8] = 0.0f;
        vsim_tensor_init(&t, VSIM_F32, 1, n64, z);
        for (int simd = 0; simd < 2; simd++) {
            vsim_stats_set_simd(simd);
            same &= vsim_stats_compute(&t, &p, &a, NULL) == VSIM_OK && a.min == 0.0 &&
                    !signbit(a.min) && a.n_zeros == 2;
        }
    }
    vsim_stats_set_simd(1);
    VT_CHECK(same, "vector kernels agree with the portable loops");
    vsim_free(x);
    vsim_free(y);
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/*
 * float64 tensors get a level-0 window of their own min..max: percentiles of
 * crowded, constant, signed-zero, near-DBL_MAX, negative, wide, two-valued
 * (bins too full to collect: refining passes from the window's width) and
 * NaN/Inf data equal those of a sorted copy (vsim_stats_pct_sorted), on both
 * paths.
 */
static void test_f64_window(void)
{
    enum { N = 50000, CASES = 8 };
    static double x[N], fin[N];
    static const double q[9] = { 0, 1, 5, 25, 50, 75, 95, 99, 100 };
    vsim_stats_params p = VSIM_STATS_PARAMS_INIT;
    size_t shape[1] = { N };
    int ok = 1;

    p.percentiles = q;
    p.n_percentiles = 9;
    p.n_threads = 2;
    for (int c = 0; c < CASES; c++) {
        size_t m = 0;
        vsim_tensor t;

        for (size_t i = 0; i < N; i++) {
            double u = uniform(100 + (uint64_t)c, i) - 0.5;

            switch (c) {
            case 0: x[i] = 1e3 + u; break;                          /* crowded */
            case 1: x[i] = 7.25; break;                             /* constant */
            case 2: x[i] = i % 3 == 0 ? -0.0 : (i % 3 == 1 ? 0.0 : fabs(u)); break;
            case 3: x[i] = DBL_MAX * (0.999 + 0.001 * u); break;    /* near the last key */
            case 4: x[i] = -5.0 - u * 1e-9; break;                  /* negative, crowded */
            case 5: x[i] = u * 1e300 * (double)(i % 7) + u * 1e-300; break; /* wide */
            case 6: x[i] = 1e3 + 0.5 * (double)(i % 2); break;      /* 2 values: refined */
            default: x[i] = i % 1000 == 0 ? (double)NAN
                                          : (i % 1001 == 0 ? -(double)INFINITY : 2.0 + u); break;
            }
            if (isfinite(x[i]))
                fin[m++] = x[i];
        }
        qsort(fin, m, sizeof(double), cmp_dbl);
        vsim_tensor_init(&t, VSIM_F64, 1, shape, x);
        for (int simd = 0; simd < 2; simd++) {
            vsim_stats st;

            vsim_stats_set_simd(simd);
            ok &= vsim_stats_compute(&t, &p, &st, NULL) == VSIM_OK;
            for (int k = 0; k < 9; k++) {
                double want = vsim_stats_pct_sorted(fin, m, q[k]) + 0.0;

                if (!(st.pct[k] == want)) {
                    printf("# f64 window case %d simd %d p%g: %.17g want %.17g\n", c, simd,
                           q[k], st.pct[k], want);
                    ok = 0;
                }
            }
        }
    }
    vsim_stats_set_simd(1);
    VT_CHECK(ok, "float64 windows: percentiles equal a sorted copy's");
}

/*
 * Random tensors (float32 and float64; uniform, bell, zeros, signed zeros,
 * few distinct values, log-spread, NaN/Inf, outliers; offsets and scales over
 * 20 decades; up to 1.2 M values): 9 percentiles equal a sorted copy's on
 * both paths, and the two paths agree on counts, min, max and the moments.
 */
static void test_random_tensors(void)
{
    enum { ITERS = 40 };
    static const double q[9] = { 0, 0.5, 1, 5, 25, 50, 75, 99.9, 100 };
    vsim_stats_params p = VSIM_STATS_PARAMS_INIT;
    uint64_t k = 0;
    int bad = 0;

    p.percentiles = q;
    p.n_percentiles = 9;
    for (int it = 0; it < ITERS; it++) {
        size_t n = 1 + (size_t)(uniform(500, k++) * (it % 10 == 9 ? 1200000 : 150000));
        int f64 = uniform(501, k++) < 0.5, dist = (int)(uniform(502, k++) * 8);
        double off = uniform(503, k++) < 0.3 ? (uniform(504, k++) - 0.5) * pow(10, it % 12) : 0;
        double sc = pow(10, (double)(it % 20) - 10.0);
        void *data = vsim_malloc(n * sizeof(double));
        double *fin = vsim_malloc(n * sizeof(double));
        size_t m = 0;
        vsim_tensor t;
        vsim_stats a, b;

        for (size_t i = 0; i < n; i++) {
            double u = uniform(600 + (uint64_t)it, i), v;

            switch (dist) {
            case 0: v = off + sc * (u - 0.5); break;
            case 1: v = off + sc * (u + uniform(700, i) + uniform(701, i) - 1.5); break;
            case 2: v = i % 4 == 0 ? 0.0 : off + sc * u; break;
            case 3: v = i % 2 ? -0.0 : 0.0; break;
            case 4: v = off + sc * (double)(i % 7); break;
            case 5: v = sc * exp(20.0 * (u - 0.5)); break;
            case 6: v = i % 97 == 0 ? (i % 3 == 0 ? (double)NAN : (i % 2 ? (double)INFINITY
                                                                          : -(double)INFINITY))
                                    : off + sc * (u - 0.3); break;
            default: v = i % 1000 == 0 ? 1e30 : off + sc * u; break;
            }
            if (f64)
                ((double *)data)[i] = v;
            else
                ((float *)data)[i] = (float)v;
            v = f64 ? v : (double)(float)v;
            if (isfinite(v))
                fin[m++] = v;
        }
        qsort(fin, m, sizeof(double), cmp_dbl);
        vsim_tensor_init(&t, f64 ? VSIM_F64 : VSIM_F32, 1, &n, data);
        p.n_threads = 1 + it % 3;
        vsim_stats_set_simd(1);
        bad |= vsim_stats_compute(&t, &p, &a, NULL) != VSIM_OK;
        vsim_stats_set_simd(0);
        bad |= vsim_stats_compute(&t, &p, &b, NULL) != VSIM_OK;
        bad |= a.n_finite != m || b.n_finite != m || a.n_nan != b.n_nan || a.n_zeros != b.n_zeros;
        for (int j = 0; j < 9 && m; j++) {
            double want = vsim_stats_pct_sorted(fin, m, q[j]) + 0.0;

            if (!(a.pct[j] == want && b.pct[j] == want)) {
                printf("# random tensor %d (n %zu, %s, dist %d) p%g: %.17g %.17g want %.17g\n",
                       it, n, f64 ? "f64" : "f32", dist, q[j], a.pct[j], b.pct[j], want);
                bad = 1;
            }
        }
        if (m)
            bad |= a.min != fin[0] + 0.0 || a.max != fin[m - 1] + 0.0 || b.min != a.min ||
                   b.max != a.max ||
                   fabs(a.mean - b.mean) > 1e-12 * (fabs(b.mean) + b.std) ||
                   fabs(a.std - b.std) > 1e-9 * b.std;
        vsim_free(data);
        vsim_free(fin);
    }
    vsim_stats_set_simd(1);
    VT_CHECK(!bad, "random tensors: both paths equal a sorted copy");
}

int main(void)
{
    /* every reference case through the vector kernels (where the CPU has them),
     * then through the portable loops */
    for (int simd = 1; simd >= 0; simd--) {
        vsim_stats_set_simd(simd);
        for (size_t i = 0; i < VSIM_ARRAY_LEN(ref_cases); i++)
            check_case(&ref_cases[i]);
        test_threads_bitwise();
    }
    vsim_stats_set_simd(1);
    test_simd_vs_portable();
    test_f64_window();
    test_random_tensors();
    test_merge_and_series();
    test_bad_params();
#ifdef VSIM_TEST
    test_alloc_faults();
#endif
    return VT_REPORT("stats");
}
