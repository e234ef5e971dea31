/*
 * analyze/tsne_fft.c - 2-D t-SNE repulsion by polynomial interpolation on a
 * uniform grid and FFT convolution (Linderman et al., "Fast interpolation-based
 * t-SNE", Nature Methods 16, 2019). Charges 1, x, y, x^2 + y^2 are spread with
 * 4-point Lagrange weights per axis, convolved with the squared Cauchy kernel
 * (two charges per complex transform, GSL mixed-radix FFT, zero padding to
 * 2M), and interpolated back: sum_j w^2 (y_i - y_j) and Z follow exactly from
 * the four potentials. Grid: at least FFT_MIN_NODES nodes a side and spacing at
 * most FFT_MAX_SPACING (FIt-SNE's defaults: 50 boxes, 3 nodes per unit box).
 * Every step is a per-row or per-grid loop: results do not depend on threads.
 * SPDX-License-Identifier: MIT
 */
#include <gsl/gsl_fft_complex.h>
#include <math.h>
#include <string.h>

#include "analyze/tsne_int.h"
#include "core/mem.h"
#include "core/omp.h"

#define FFT_MIN_NODES 150
#define FFT_MARGIN 6        /* nodes beyond the data: the stencil each side, +1 */
#define FFT_MAX_ORDER 5      /* lagrange() handles orders up to this */
#define FFT_ORDER 4          /* interpolation points per axis: FIt-SNE uses 3; 4 halves the
                              * force error at 1.1x the cost (docs/tsne.md) */
#define FFT_MAX_SPACING (1.0 / 3.0)

struct vsim_tsne_fft {
    size_t n;
    int nt;                     /* workspaces allocated */
    size_t L, M;                /* transform length and nodes per side (L = 2M) */
    double ks;                  /* spacing the cached kernel transform was made for; 0: none */
    double *khat;               /* L x L real: transform of the kernel (symmetric) */
    double *A, *T;              /* L x L complex work grids */
    double *g[2];               /* M x M complex charge grids: (1, x) and (y, x^2 + y^2) */
    gsl_fft_complex_wavetable *wt;
    gsl_fft_complex_workspace **ws;
    int32_t *cell;              /* n x 2 first stencil node per point */
    double *wgt;                /* n x 2 * FFT_MAX_ORDER Lagrange weights (x then y) */
    double *zpt;                /* n per-point Z share */
};

int vsim_tsne_fft_create(size_t n, int n_threads, vsim_tsne_fft **out)
{
    vsim_tsne_fft *f = vsim_calloc(1, sizeof(*f));

    if (!f)
        return vsim_fail(VSIM_ENOMEM, "t-SNE: out of memory for the FFT workspace");
    f->n = n;
    f->nt = vsim_omp_resolve(n_threads);
    f->ws = vsim_calloc((size_t)f->nt, sizeof(*f->ws));
    f->cell = vsim_mallocarray(2 * n, sizeof(*f->cell));
    f->wgt = vsim_mallocarray(2 * FFT_MAX_ORDER * n, sizeof(*f->wgt));
    f->zpt = vsim_mallocarray(n, sizeof(*f->zpt));
    if (!f->ws || !f->cell || !f->wgt || !f->zpt) {
        vsim_tsne_fft_destroy(f);
        return vsim_fail(VSIM_ENOMEM, "t-SNE: out of memory for the FFT workspace");
    }
    *out = f;
    return VSIM_OK;
}

static void free_grids(vsim_tsne_fft *f)
{
    vsim_free(f->khat);
    vsim_free(f->A);
    vsim_free(f->T);
    vsim_free(f->g[0]);
    vsim_free(f->g[1]);
    f->khat = f->A = f->T = f->g[0] = f->g[1] = NULL;
    if (f->wt)
        gsl_fft_complex_wavetable_free(f->wt);
    f->wt = NULL;
    for (int t = 0; f->ws && t < f->nt; t++) {
        if (f->ws[t])
            gsl_fft_complex_workspace_free(f->ws[t]);
        f->ws[t] = NULL;
    }
    f->L = f->M = 0;
    f->ks = 0;
}

void vsim_tsne_fft_destroy(vsim_tsne_fft *f)
{
    if (!f)
        return;
    free_grids(f);
    vsim_free(f->ws);
    vsim_free(f->cell);
    vsim_free(f->wgt);
    vsim_free(f->zpt);
    vsim_free(f);
}

/* Smallest even 2^a 3^b 5^c >= want (GSL's fast radices). */
static size_t smooth_length(size_t want)
{
    for (size_t L = want + (want & 1u);; L += 2) {
        size_t r = L;
        while (r % 2 == 0)
            r /= 2;
        while (r % 3 == 0)
            r /= 3;
        while (r % 5 == 0)
            r /= 5;
        if (r == 1)
            return L;
    }
}

static int ensure_grids(vsim_tsne_fft *f, size_t L)
{
    if (f->L == L)
        return VSIM_OK;
    free_grids(f);
    f->khat = vsim_mallocarray(L * L, sizeof(double));
    f->A = vsim_mallocarray(2 * L * L, sizeof(double));
    f->T = vsim_mallocarray(2 * L * L, sizeof(double));
    f->g[0] = vsim_mallocarray(2 * (L / 2) * (L / 2), sizeof(double));
    f->g[1] = vsim_mallocarray(2 * (L / 2) * (L / 2), sizeof(double));
    f->wt = gsl_fft_complex_wavetable_alloc(L);
    if (!f->khat || !f->A || !f->T || !f->g[0] || !f->g[1] || !f->wt)
        goto nomem;
    for (int t = 0; t < f->nt; t++)
        if (!(f->ws[t] = gsl_fft_complex_workspace_alloc(L)))
            goto nomem;
    f->L = L;
    f->M = L / 2;
    f->ks = 0;
    return VSIM_OK;
nomem:
    free_grids(f);
    return vsim_fail(VSIM_ENOMEM, "t-SNE: out of memory for a %zu x %zu FFT grid", L, L);
}

/* Column j of the n rows of an L-wide complex grid src into the contiguous dst. */
static inline void load_col(double *dst, const double *src, size_t L, size_t j, size_t n)
{
    for (size_t a = 0; a < n; a++) {
        dst[2 * a] = src[2 * (a * L + j)];
        dst[2 * a + 1] = src[2 * (a * L + j) + 1];
    }
}

/* Transform of the squared Cauchy kernel sampled at spacing s (symmetric, real). */
static void kernel_transform(vsim_tsne_fft *f, double s, int nt)
{
    size_t L = f->L, M = f->M;
    double *T = f->T, *A = f->A, *khat = f->khat;
    const gsl_fft_complex_wavetable *wt = f->wt;
    gsl_fft_complex_workspace **ws = f->ws;

    (void)nt;  /* unused when OPENMP=0 */
#pragma omp parallel for num_threads(nt) schedule(static) default(none) \
    shared(T, wt, ws) firstprivate(L, M, s)
    for (size_t a = 0; a < L; a++) {
        double da = (double)(a <= M ? a : L - a) * s, *row = T + 2 * a * L;
        for (size_t b = 0; b < L; b++) {
            double db = (double)(b <= M ? b : L - b) * s, k = 1.0 / (1.0 + da * da + db * db);
            row[2 * b] = k * k;
            row[2 * b + 1] = 0.0;
        }
        gsl_fft_complex_forward(row, 1, L, wt, ws[vsim_omp_thread_num()]);
    }
#pragma omp parallel for num_threads(nt) schedule(static) default(none) \
    shared(T, A, khat, wt, ws) firstprivate(L)
    for (size_t k = 0; k < L; k++) {
        double *col = A + 2 * k * L;

        load_col(col, T, L, k, L);
        gsl_fft_complex_forward(col, 1, L, wt, ws[vsim_omp_thread_num()]);
        for (size_t a = 0; a < L; a++)
            khat[k * L + a] = col[2 * a];
    }
    f->ks = s;
}

/* In place on the M x M complex grid G: G <- (kernel * G)[0..M)^2 by zero-padded FFTs. */
static void convolve(vsim_tsne_fft *f, double *G, int nt)
{
    size_t L = f->L, M = f->M;
    double *A = f->A, *T = f->T, scale = 1.0 / ((double)L * (double)L);
    const double *khat = f->khat;
    const gsl_fft_complex_wavetable *wt = f->wt;
    gsl_fft_complex_workspace **ws = f->ws;

    (void)nt;  /* unused when OPENMP=0 */
#pragma omp parallel for num_threads(nt) schedule(static) default(none) \
    shared(A, G, wt, ws) firstprivate(L, M)
    for (size_t r = 0; r < M; r++) {
        double *row = A + 2 * r * L;
        memcpy(row, G + 2 * r * M, 2 * M * sizeof(double));
        memset(row + 2 * M, 0, 2 * (L - M) * sizeof(double));
        gsl_fft_complex_forward(row, 1, L, wt, ws[vsim_omp_thread_num()]);
    }
#pragma omp parallel for num_threads(nt) schedule(static) default(none) \
    shared(A, T, khat, wt, ws) firstprivate(L, M)
    for (size_t k = 0; k < L; k++) {
        double *row = T + 2 * k * L;
        gsl_fft_complex_workspace *w = ws[vsim_omp_thread_num()];

        load_col(row, A, L, k, M);
        memset(row + 2 * M, 0, 2 * (L - M) * sizeof(double));
        gsl_fft_complex_forward(row, 1, L, wt, w);
        for (size_t a = 0; a < L; a++) {
            row[2 * a] *= khat[k * L + a];
            row[2 * a + 1] *= khat[k * L + a];
        }
        gsl_fft_complex_backward(row, 1, L, wt, w);
    }
#pragma omp parallel for num_threads(nt) schedule(static) default(none) \
    shared(A, T, G, wt, ws) firstprivate(L, M, scale)
    for (size_t r = 0; r < M; r++) {
        double *row = A + 2 * r * L;

        load_col(row, T, L, r, L);
        gsl_fft_complex_backward(row, 1, L, wt, ws[vsim_omp_thread_num()]);
        for (size_t c = 0; c < M; c++) {
            G[2 * (r * M + c)] = row[2 * c] * scale;
            G[2 * (r * M + c) + 1] = row[2 * c + 1] * scale;
        }
    }
}

/* Lagrange weights of nodes first..first+p-1 at position t (node units). */
static int32_t lagrange(double t, int p, double *w)
{
    double base = p % 2 ? floor(t + 0.5) - (p - 1) / 2 : floor(t) - (p / 2 - 1);

    for (int m = 0; m < p; m++) {
        double v = 1.0;
        for (int k = 0; k < p; k++)
            if (k != m)
                v *= (t - (base + k)) / (double)(m - k);
        w[m] = v;
    }
    return (int32_t)base;
}

/* Stencil of every point: first node and weights. */
static void locate(vsim_tsne_fft *f, const double *Y, double x0, double y0, double s, int nt)
{
    size_t n = f->n;
    int32_t *cell = f->cell;
    double *wgt = f->wgt;
    int p = FFT_ORDER;

    (void)nt;  /* unused when OPENMP=0 */
#pragma omp parallel for num_threads(nt) schedule(static) default(none) \
    shared(Y, cell, wgt) firstprivate(n, x0, y0, s, p)
    for (size_t i = 0; i < n; i++) {
        cell[2 * i] = lagrange((Y[2 * i] - x0) / s, p, wgt + 2 * FFT_MAX_ORDER * i);
        cell[2 * i + 1] = lagrange((Y[2 * i + 1] - y0) / s, p,
                                   wgt + 2 * FFT_MAX_ORDER * i + FFT_MAX_ORDER);
    }
}

/* Grid g (0 or 1) gets charges (1, x) or (y, x^2 + y^2), points in order. */
static void spread(vsim_tsne_fft *f, const double *Y, int g)
{
    size_t M = f->M;
    double *G = f->g[g];
    int p = FFT_ORDER;

    memset(G, 0, 2 * M * M * sizeof(double));
    for (size_t i = 0; i < f->n; i++) {
        const double *wx = f->wgt + 2 * FFT_MAX_ORDER * i, *wy = wx + FFT_MAX_ORDER;
        double x = Y[2 * i], y = Y[2 * i + 1];
        double qa = g == 0 ? 1.0 : y, qb = g == 0 ? x : x * x + y * y;
        size_t cx = (size_t)f->cell[2 * i], cy = (size_t)f->cell[2 * i + 1];

        for (int a = 0; a < p; a++) {
            double *row = G + 2 * ((cy + (size_t)a) * M + cx);
            for (int b = 0; b < p; b++) {
                double w = wy[a] * wx[b];
                row[2 * b] += w * qa;
                row[2 * b + 1] += w * qb;
            }
        }
    }
}

/* Potentials at point i from grid G: out[0] (real), out[1] (imaginary). */
static void gather(const vsim_tsne_fft *f, const double *G, size_t i, double *out)
{
    const double *wx = f->wgt + 2 * FFT_MAX_ORDER * i, *wy = wx + FFT_MAX_ORDER;
    size_t M = f->M, cx = (size_t)f->cell[2 * i], cy = (size_t)f->cell[2 * i + 1];
    double re = 0.0, im = 0.0;
    int p = FFT_ORDER;

    for (int a = 0; a < p; a++) {
        const double *row = G + 2 * ((cy + (size_t)a) * M + cx);
        for (int b = 0; b < p; b++) {
            double w = wy[a] * wx[b];
            re += w * row[2 * b];
            im += w * row[2 * b + 1];
        }
    }
    out[0] = re;
    out[1] = im;
}

int vsim_tsne_repulsion_fft(vsim_tsne_fft *f, const double *Y, int n_threads, double *rep,
                            double *Z)
{
    int nt = vsim_omp_resolve(n_threads), status;
    size_t n = f->n, M_req, L;
    double xmin = Y[0], xmax = Y[0], ymin = Y[1], ymax = Y[1], R, s, z = 0.0;

    if (nt > f->nt)
        nt = f->nt;
    for (size_t i = 1; i < n; i++) {
        xmin = fmin(xmin, Y[2 * i]);
        xmax = fmax(xmax, Y[2 * i]);
        ymin = fmin(ymin, Y[2 * i + 1]);
        ymax = fmax(ymax, Y[2 * i + 1]);
    }
    R = fmax(fmax(xmax - xmin, ymax - ymin), 1e-12);
    M_req = (size_t)ceil(R / FFT_MAX_SPACING) + FFT_MARGIN;
    if (M_req < FFT_MIN_NODES)
        M_req = FFT_MIN_NODES;
    L = smooth_length(2 * M_req);
    status = ensure_grids(f, L);
    if (status)
        return status;
    /* Small layouts: spread the data over the grid; large: fixed spacing (kernel reused). */
    if (M_req > FFT_MIN_NODES)
        s = FFT_MAX_SPACING;
    else
        s = R / (double)(f->M - FFT_MARGIN);
    if (f->ks != s)
        kernel_transform(f, s, nt);
    double x0 = 0.5 * (xmin + xmax) - s * (double)(f->M - 1) * 0.5;
    double y0 = 0.5 * (ymin + ymax) - s * (double)(f->M - 1) * 0.5;
    locate(f, Y, x0, y0, s, nt);
#pragma omp parallel for num_threads(nt < 2 ? 1 : 2) schedule(static, 1) default(none) \
    shared(f, Y)
    for (int g = 0; g < 2; g++)
        spread(f, Y, g);
    convolve(f, f->g[0], nt);
    convolve(f, f->g[1], nt);
    double *zpt = f->zpt;
#pragma omp parallel for num_threads(nt) schedule(static) default(none) \
    shared(f, Y, rep, zpt) firstprivate(n)
    for (size_t i = 0; i < n; i++) {
        double pa[2], pb[2], x = Y[2 * i], y = Y[2 * i + 1];
        gather(f, f->g[0], i, pa);
        gather(f, f->g[1], i, pb);
        rep[2 * i] = x * pa[0] - pa[1];
        rep[2 * i + 1] = y * pa[0] - pb[0];
        zpt[i] = (1.0 + x * x + y * y) * pa[0] - 2.0 * (x * pa[1] + y * pb[0]) + pb[1];
    }
    for (size_t i = 0; i < n; i++)
        z += zpt[i];
    *Z = z - (double)n;
    return VSIM_OK;
}
