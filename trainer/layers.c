/*
 * trainer/layers.c - CPU layer kernels: im2col/col2im for 4x4 stride-2 pad-1
 * windows, OpenBLAS sgemm for the products, OpenMP for the element-wise parts.
 * Work is split by output row or (channel, image) pair, so each output element
 * has one writer and a fixed summation order (docs/architecture.md, OpenMP rule 3).
 * SPDX-License-Identifier: MIT
 */
#include "trainer/layers.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "core/omp.h"

#ifndef _OPENMP
/* make OPENMP=0: the pragmas below are meant to be skipped */
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#endif

void vsim_layer_blas_init(void)
{
    openblas_set_num_threads(1);
}

/*
 * C = A * B (row-major, optional transposes) with the threads splitting C into
 * blocks of whole columns (or rows, whichever dimension is longer); each block
 * is one single-threaded sgemm, so every element has one writer and the same
 * arithmetic for a given thread count. One thread pool (OpenMP) serves both
 * the BLAS products and the element-wise kernels: two pools fight over cores.
 */
static void gemm(int ta, int tb, int m, int n, int k, const float *a, int lda, const float *b,
                 int ldb, float *c, int ldc, int nt)
{
    const CBLAS_TRANSPOSE tra = ta ? CblasTrans : CblasNoTrans;
    const CBLAS_TRANSPOSE trb = tb ? CblasTrans : CblasNoTrans;
    const int split_n = n >= m;
    const int len = split_n ? n : m;
    int n_parts = nt;

    if ((double)m * n * k < 2e5 || len < 32)
        n_parts = 1;
#pragma omp parallel for schedule(static) num_threads(n_parts) default(none) \
    shared(a, b, c) firstprivate(tra, trb, m, n, k, lda, ldb, ldc, ta, tb, split_n, len, \
                                 n_parts)
    for (int part = 0; part < n_parts; part++) {
        /* block edges on multiples of 16 columns/rows keep the kernels on full tiles */
        int lo = (int)(((long)len * part / n_parts) & ~15L);
        int hi = part == n_parts - 1 ? len : (int)(((long)len * (part + 1) / n_parts) & ~15L);

        if (hi <= lo)
            continue;
        if (split_n)
            cblas_sgemm(CblasRowMajor, tra, trb, m, hi - lo, k, 1.0f, a, lda,
                        tb ? b + (size_t)lo * ldb : b + lo, ldb, 0.0f, c + lo, ldc);
        else
            cblas_sgemm(CblasRowMajor, tra, trb, hi - lo, n, k, 1.0f,
                        ta ? a + lo : a + (size_t)lo * lda, lda, b, ldb, 0.0f,
                        c + (size_t)lo * ldc, ldc);
    }
}

void vsim_layer_im2col(const float *x, int c, int b, int h, int w, float *cols, int n_threads)
{
    const int ho = h / 2, wo = w / 2;
    const size_t n_cols = (size_t)b * (size_t)ho * (size_t)wo;
    const long n_items = (long)c * b;
    const int nt = vsim_omp_resolve(n_threads);

    (void)nt;   /* unused when OPENMP=0 */
#pragma omp parallel for schedule(static) num_threads(nt) default(none) \
    shared(x, cols) firstprivate(c, b, h, w, ho, wo, n_cols, n_items)
    for (long item = 0; item < n_items; item++) {
        const long ci = item / b, bi = item % b;
        const float *xm = x + ((size_t)ci * b + (size_t)bi) * (size_t)h * (size_t)w;

        for (int ky = 0; ky < 4; ky++) {
            for (int kx = 0; kx < 4; kx++) {
                float *row = cols + (size_t)(ci * 16 + ky * 4 + kx) * n_cols
                             + (size_t)bi * (size_t)ho * (size_t)wo;

                for (int oy = 0; oy < ho; oy++) {
                    const int iy = 2 * oy - 1 + ky;
                    float *out = row + (size_t)oy * wo;

                    if (iy < 0 || iy >= h) {
                        memset(out, 0, (size_t)wo * sizeof(float));
                        continue;
                    }
                    for (int ox = 0; ox < wo; ox++) {
                        const int ix = 2 * ox - 1 + kx;

                        out[ox] = (ix >= 0 && ix < w) ? xm[(size_t)iy * w + ix] : 0.0f;
                    }
                }
            }
        }
    }
}

void vsim_layer_col2im(const float *cols, int c, int b, int h, int w, float *x, int n_threads)
{
    const int ho = h / 2, wo = w / 2;
    const size_t n_cols = (size_t)b * (size_t)ho * (size_t)wo;
    const long n_items = (long)c * b;
    const int nt = vsim_omp_resolve(n_threads);

    (void)nt;   /* unused when OPENMP=0 */
#pragma omp parallel for schedule(static) num_threads(nt) default(none) \
    shared(x, cols) firstprivate(c, b, h, w, ho, wo, n_cols, n_items)
    for (long item = 0; item < n_items; item++) {
        const long ci = item / b, bi = item % b;
        float *xm = x + ((size_t)ci * b + (size_t)bi) * (size_t)h * (size_t)w;

        memset(xm, 0, (size_t)h * (size_t)w * sizeof(float));
        for (int ky = 0; ky < 4; ky++) {
            for (int kx = 0; kx < 4; kx++) {
                const float *row = cols + (size_t)(ci * 16 + ky * 4 + kx) * n_cols
                                   + (size_t)bi * (size_t)ho * (size_t)wo;

                for (int oy = 0; oy < ho; oy++) {
                    const int iy = 2 * oy - 1 + ky;
                    const float *in = row + (size_t)oy * wo;

                    if (iy < 0 || iy >= h)
                        continue;
                    for (int ox = 0; ox < wo; ox++) {
                        const int ix = 2 * ox - 1 + kx;

                        if (ix >= 0 && ix < w)
                            xm[(size_t)iy * w + ix] += in[ox];
                    }
                }
            }
        }
    }
}

/* y[c][n] = act(y[c][n] + bias[c]) for a [rows][n] matrix with per-row bias. */
static void bias_act_rows(float *y, const float *bias, long rows, size_t n, vsim_act act, int nt)
{
    (void)nt;   /* unused when OPENMP=0 */
#pragma omp parallel for schedule(static) num_threads(nt) default(none) \
    shared(y, bias) firstprivate(rows, n, act)
    for (long r = 0; r < rows; r++) {
        float *p = y + (size_t)r * n;
        const float bv = bias[r];

        if (act == VSIM_ACT_RELU) {
            for (size_t i = 0; i < n; i++)
                p[i] = fmaxf(p[i] + bv, 0.0f);
        } else if (act == VSIM_ACT_SIGMOID) {
            for (size_t i = 0; i < n; i++)
                p[i] = 1.0f / (1.0f + expf(-(p[i] + bv)));
        } else {
            for (size_t i = 0; i < n; i++)
                p[i] += bv;
        }
    }
}

/* y[r][o] = act(y[r][o] + bias[o]) for a [rows][n] matrix with per-column bias. */
static void bias_act_cols(float *y, const float *bias, long rows, size_t n, vsim_act act, int nt)
{
    (void)nt;   /* unused when OPENMP=0 */
#pragma omp parallel for schedule(static) num_threads(nt) default(none) \
    shared(y, bias) firstprivate(rows, n, act)
    for (long r = 0; r < rows; r++) {
        float *p = y + (size_t)r * n;

        for (size_t i = 0; i < n; i++) {
            const float v = p[i] + bias[i];

            if (act == VSIM_ACT_RELU)
                p[i] = fmaxf(v, 0.0f);
            else if (act == VSIM_ACT_SIGMOID)
                p[i] = 1.0f / (1.0f + expf(-v));
            else
                p[i] = v;
        }
    }
}

/* db[r] = sum over n of dy[r][n], in index order (double accumulator). */
static void sum_rows(const float *dy, long rows, size_t n, float *db, int nt)
{
    (void)nt;   /* unused when OPENMP=0 */
#pragma omp parallel for schedule(static) num_threads(nt) default(none) \
    shared(dy, db) firstprivate(rows, n)
    for (long r = 0; r < rows; r++) {
        const float *p = dy + (size_t)r * n;
        double s = 0.0;

        for (size_t i = 0; i < n; i++)
            s += (double)p[i];
        db[r] = (float)s;
    }
}

void vsim_layer_conv_forward(const vsim_conv_dims *d, const float *x, const float *wt,
                             const float *bias, vsim_act act, float *cols, float *y,
                             int n_threads)
{
    const int nt = vsim_omp_resolve(n_threads);
    const int k = d->n_in * 16;
    const int n = d->batch * (d->h / 2) * (d->w / 2);

    vsim_layer_im2col(x, d->n_in, d->batch, d->h, d->w, cols, nt);
    gemm(0, 0, d->n_out, n, k, wt, k, cols, n, y, n, nt);
    bias_act_rows(y, bias, d->n_out, (size_t)n, act, nt);
}

void vsim_layer_conv_backward(const vsim_conv_dims *d, const float *x, const float *wt,
                              const float *dy, float *cols, float *dx, float *dw, float *db,
                              int n_threads)
{
    const int nt = vsim_omp_resolve(n_threads);
    const int k = d->n_in * 16;
    const int n = d->batch * (d->h / 2) * (d->w / 2);

    vsim_layer_im2col(x, d->n_in, d->batch, d->h, d->w, cols, nt);
    gemm(0, 1, d->n_out, k, n, dy, n, cols, n, dw, k, nt);
    sum_rows(dy, d->n_out, (size_t)n, db, nt);
    if (!dx)
        return;
    gemm(1, 0, k, n, d->n_out, wt, k, dy, n, cols, n, nt);
    vsim_layer_col2im(cols, d->n_in, d->batch, d->h, d->w, dx, nt);
}

void vsim_layer_deconv_forward(const vsim_conv_dims *d, const float *x, const float *wt,
                               const float *bias, vsim_act act, float *cols, float *y,
                               int n_threads)
{
    const int nt = vsim_omp_resolve(n_threads);
    const int k = d->n_out * 16;
    const int n = d->batch * d->h * d->w;

    gemm(1, 0, k, n, d->n_in, wt, k, x, n, cols, n, nt);
    vsim_layer_col2im(cols, d->n_out, d->batch, 2 * d->h, 2 * d->w, y, nt);
    bias_act_rows(y, bias, d->n_out, (size_t)d->batch * 4 * (size_t)d->h * (size_t)d->w, act,
                  nt);
}

void vsim_layer_deconv_backward(const vsim_conv_dims *d, const float *x, const float *wt,
                                const float *dy, float *cols, float *dx, float *dw, float *db,
                                int n_threads)
{
    const int nt = vsim_omp_resolve(n_threads);
    const int k = d->n_out * 16;
    const int n = d->batch * d->h * d->w;

    vsim_layer_im2col(dy, d->n_out, d->batch, 2 * d->h, 2 * d->w, cols, nt);
    gemm(0, 1, d->n_in, k, n, x, n, cols, n, dw, k, nt);
    sum_rows(dy, d->n_out, (size_t)d->batch * 4 * (size_t)d->h * (size_t)d->w, db, nt);
    if (dx)
        gemm(0, 0, d->n_in, n, k, wt, k, cols, n, dx, n, nt);
}

void vsim_layer_fc_forward(int b, int n_in, int n_out, const float *x, const float *wt,
                           const float *bias, vsim_act act, float *y, int n_threads)
{
    const int nt = vsim_omp_resolve(n_threads);

    gemm(0, 1, b, n_out, n_in, x, n_in, wt, n_in, y, n_out, nt);
    bias_act_cols(y, bias, b, (size_t)n_out, act, nt);
}

void vsim_layer_fc_backward(int b, int n_in, int n_out, const float *x, const float *wt,
                            const float *dy, float *dx, float *dw, float *db, int n_threads)
{
    const int nt = vsim_omp_resolve(n_threads);

    gemm(1, 0, n_out, n_in, b, dy, n_out, x, n_in, dw, n_in, nt);
    (void)nt;   /* unused when OPENMP=0 */
#pragma omp parallel for schedule(static) num_threads(nt) default(none) \
    shared(dy, db) firstprivate(b, n_out)
    for (int o = 0; o < n_out; o++) {
        double s = 0.0;

        for (int r = 0; r < b; r++)
            s += (double)dy[(size_t)r * n_out + o];
        db[o] = (float)s;
    }
    if (dx)
        gemm(0, 0, b, n_in, n_out, dy, n_out, wt, n_in, dx, n_in, nt);
}

void vsim_layer_act_backward(vsim_act act, const float *y, float *dy, size_t n, int n_threads)
{
    const int nt = vsim_omp_resolve(n_threads);
    const long n_l = (long)n;

    if (act == VSIM_ACT_NONE)
        return;
    (void)nt;   /* unused when OPENMP=0 */
#pragma omp parallel for schedule(static) num_threads(nt) default(none) \
    shared(y, dy) firstprivate(n_l, act)
    for (long i = 0; i < n_l; i++) {
        if (act == VSIM_ACT_RELU)
            dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
        else
            dy[i] *= y[i] * (1.0f - y[i]);
    }
}

void vsim_layer_cnhw_to_rows(const float *x, int c, int b, int p, float *rows, int n_threads)
{
    const int nt = vsim_omp_resolve(n_threads);

    (void)nt;   /* unused when OPENMP=0 */
#pragma omp parallel for schedule(static) num_threads(nt) default(none) \
    shared(x, rows) firstprivate(c, b, p)
    for (int bi = 0; bi < b; bi++)
        for (int ci = 0; ci < c; ci++)
            memcpy(rows + ((size_t)bi * c + ci) * p, x + ((size_t)ci * b + bi) * p,
                   (size_t)p * sizeof(float));
}

void vsim_layer_rows_to_cnhw(const float *rows, int c, int b, int p, float *x, int n_threads)
{
    const int nt = vsim_omp_resolve(n_threads);

    (void)nt;   /* unused when OPENMP=0 */
#pragma omp parallel for schedule(static) num_threads(nt) default(none) \
    shared(x, rows) firstprivate(c, b, p)
    for (int bi = 0; bi < b; bi++)
        for (int ci = 0; ci < c; ci++)
            memcpy(x + ((size_t)ci * b + bi) * p, rows + ((size_t)bi * c + ci) * p,
                   (size_t)p * sizeof(float));
}
