/*
 * tests/unit/test_tsne.c - t-SNE invariants (issue 7, STYLE.md "t-SNE invariants"):
 * exact gradient vs finite differences of KL, Barnes-Hut and FFT repulsion vs
 * exact, perplexity calibration, separated blobs, determinism across runs and
 * thread counts, the scikit-learn quality oracle on Fashion-MNIST, bad input.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/pca.h"
#include "analyze/tsne.h"
#include "analyze/tsne_int.h"
#include "core/mem.h"
#include "core/rng.h"
#include "tests/vt.h"

#define FMNIST "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
#define REF "tests/ref/tsne_sklearn_ref.txt"

static float *gauss_data(size_t n, size_t d, uint64_t seed, double scale)
{
    float *x = vsim_mallocarray(n * d, sizeof(*x));
    vsim_rng r;

    vsim_rng_seed(&r, seed, 0);
    for (size_t i = 0; i < n * d; i++)
        x[i] = (float)(scale * vsim_rng_normal(&r));
    return x;
}

static double *gauss_layout(size_t n, int dims, uint64_t seed, double scale)
{
    double *y = vsim_mallocarray(n * (size_t)dims, sizeof(*y));
    vsim_rng r;

    vsim_rng_seed(&r, seed, 3);
    for (size_t i = 0; i < n * (size_t)dims; i++)
        y[i] = scale * vsim_rng_normal(&r);
    return y;
}

/* Full gradient (no factor 4) of layout y with P, exact repulsion. */
static void exact_grad(const vsim_tsne_sparse *P, const double *y, int dims, double *g)
{
    size_t nd = P->n * (size_t)dims;
    double *rep = vsim_mallocarray(nd, sizeof(*rep)), Z;

    vsim_tsne_attractive(P, y, dims, 1.0, 1, g);
    vsim_tsne_repulsion_exact(y, P->n, dims, 1, rep, &Z);
    for (size_t i = 0; i < nd; i++)
        g[i] -= rep[i] / Z;
    vsim_free(rep);
}

static void test_finite_differences(void)
{
    size_t n = 40;
    float *x = gauss_data(n, 5, 1, 1.0);
    double *y = gauss_layout(n, 2, 2, 1.0), g[80], kp, km, worst = 0;
    vsim_tsne_sparse P;

    VT_CHECK(vsim_tsne_affinities(x, n, 5, 5.0, 1, 1, &P) == VSIM_OK, "affinities");
    exact_grad(&P, y, 2, g);
    for (size_t e = 0; e < 2 * n; e++) {
        double h = 1e-5, keep = y[e], fd;
        y[e] = keep + h;
        vsim_tsne_kl_exact(&P, y, 2, 1, &kp);
        y[e] = keep - h;
        vsim_tsne_kl_exact(&P, y, 2, 1, &km);
        y[e] = keep;
        fd = (kp - km) / (2 * h);
        worst = fmax(worst, fabs(fd - 4.0 * g[e]) / fmax(1e-3, fabs(fd)));
    }
    VT_CHECK(worst < 1e-5, "exact gradient = finite differences of KL");
    if (worst >= 1e-5)
        fprintf(stderr, "  worst relative error %g\n", worst);
    vsim_tsne_sparse_release(&P);
    vsim_free(y);
    vsim_free(x);
}

static double rel_err(const double *a, const double *b, size_t n)
{
    double num = 0, den = 0;

    for (size_t i = 0; i < n; i++) {
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += b[i] * b[i];
    }
    return sqrt(num / den);
}

/* Barnes-Hut repulsion vs exact: the error shrinks with theta. */
static void test_bh_vs_exact(int dims)
{
    size_t n = 1500, nd = n * (size_t)dims;
    double *y = gauss_layout(n, dims, 5, 10.0), *ex = vsim_malloc(nd * 8);
    double *bh = vsim_malloc(nd * 8);
    double thetas[] = { 0.8, 0.5, 0.2, 0.05 }, Ze, Zb, prev = 1e9;
    vsim_tsne_bh *b;
    char name[64];

    vsim_tsne_repulsion_exact(y, n, dims, 2, ex, &Ze);
    VT_CHECK(vsim_tsne_bh_create(n, dims, 2, &b) == VSIM_OK, "bh create");
    for (size_t t = 0; t < 4; t++) {
        double th = thetas[t], err;
        vsim_tsne_repulsion_bh(b, y, th, 2, bh, &Zb);
        err = rel_err(bh, ex, nd);
        snprintf(name, sizeof(name), "BH %dD theta %.2f: force error %.2e", dims, th, err);
        VT_CHECK(err < 0.1 * th * th + 1e-6 && err <= prev * 1.01, name);
        snprintf(name, sizeof(name), "BH %dD theta %.2f: Z", dims, th);
        VT_NEAR(Zb, Ze, 0.04 * th * th + 1e-6, name);
        prev = err;
    }
    vsim_tsne_repulsion_bh(b, y, 0.0, 1, bh, &Zb);
    VT_NEAR(rel_err(bh, ex, nd), 0.0, 1e-5, "BH theta 0 = exact (float lists)");
    vsim_tsne_bh_destroy(b);
    vsim_free(bh);
    vsim_free(ex);
    vsim_free(y);
}

static void test_fft_vs_exact(void)
{
    size_t n = 3000;
    double scales[] = { 1e-3, 3.0, 40.0 };

    for (int s = 0; s < 3; s++) {
        double *y = gauss_layout(n, 2, 7, scales[s]), *ex = vsim_malloc(n * 16);
        double *ff = vsim_malloc(n * 16), Ze, Zf;
        vsim_tsne_fft *f;
        char name[64];

        vsim_tsne_repulsion_exact(y, n, 2, 2, ex, &Ze);
        VT_CHECK(vsim_tsne_fft_create(n, 2, &f) == VSIM_OK, "fft create");
        VT_CHECK(vsim_tsne_repulsion_fft(f, y, 2, ff, &Zf) == VSIM_OK, "fft");
        snprintf(name, sizeof(name), "FFT scale %g: force error %.2e", scales[s],
                 rel_err(ff, ex, 2 * n));
        VT_CHECK(rel_err(ff, ex, 2 * n) < 3e-2, name);
        VT_NEAR(Zf, Ze, 1.5e-2, "FFT Z");
        vsim_tsne_fft_destroy(f);
        vsim_free(ff);
        vsim_free(ex);
        vsim_free(y);
    }
}

static void test_calibration(void)
{
    size_t n = 400, k = 60;
    float *x = gauss_data(n, 8, 9, 3.0), *d2 = vsim_malloc(n * k * 4), *p = vsim_malloc(n * k * 4);
    uint32_t *idx = vsim_malloc(n * k * 4);
    double *h = vsim_malloc(n * 8), worst = 0;

    VT_CHECK(vsim_tsne_knn(x, n, 8, k, 1, 2, idx, d2) == VSIM_OK, "knn");
    /* exactness of the VP tree against brute force on a few rows */
    for (size_t i = 0; i < n; i += 37) {
        size_t closer = 0;
        for (size_t j = 0; j < n; j++) {
            float s = 0;
            for (size_t c = 0; c < 8; c++)
                s += (x[i * 8 + c] - x[j * 8 + c]) * (x[i * 8 + c] - x[j * 8 + c]);
            closer += j != i && s < d2[i * k + k - 1] * (1 - 1e-6f);
        }
        VT_CHECK(closer <= k - 1, "VP tree kNN is exact");
    }
    vsim_tsne_calibrate(d2, n, k, 20.0, 2, p, h);
    for (size_t i = 0; i < n; i++) {
        double s = 0, hh = 0;
        for (size_t j = 0; j < k; j++) {
            double pj = (double)p[i * k + j];
            s += pj;
            if (pj > 0)
                hh -= pj * log(pj);
        }
        worst = fmax(worst, fabs(hh - log(20.0)));
        VT_NEAR(s, 1.0, 1e-5, "row sums to 1");
    }
    VT_CHECK(worst < 1e-5, "entropy within 1e-5 of log(perplexity)");
    vsim_free(h);
    vsim_free(idx);
    vsim_free(p);
    vsim_free(d2);
    vsim_free(x);
}

/* Three separated Gaussian blobs; returns the embedding (caller frees). */
static double *run_blobs(int method, int n_threads, size_t n, int32_t *labels, float **xo)
{
    float *x = gauss_data(n, 10, 21, 1.0);
    vsim_tsne_params p = VSIM_TSNE_PARAMS_INIT;
    vsim_tsne *t;
    double *y = NULL;

    for (size_t i = 0; i < n; i++) {
        labels[i] = (int32_t)(i % 3);
        x[i * 10 + (size_t)labels[i]] += 30.0f;
    }
    p.method = method;
    p.n_threads = n_threads;
    p.max_iter = 400;
    p.seed = 7;
    if (vsim_tsne_create(x, n, 10, &p, &t) == VSIM_OK && vsim_tsne_run(t) == VSIM_OK) {
        y = vsim_malloc(n * 2 * sizeof(double));
        memcpy(y, vsim_tsne_embedding(t), n * 2 * sizeof(double));
    }
    vsim_tsne_destroy(t);
    if (xo)
        *xo = x;
    else
        vsim_free(x);
    return y;
}

static void test_blobs_and_determinism(void)
{
    size_t n = 600;
    int32_t lab[600];
    float *x;
    int methods[] = { VSIM_TSNE_BH, VSIM_TSNE_FFT };

    for (int m = 0; m < 2; m++) {
        double *y1 = run_blobs(methods[m], 1, n, lab, &x), *y2 = run_blobs(methods[m], 2, n, lab,
                                                                          NULL);
        double *y2b = run_blobs(methods[m], 2, n, lab, NULL);
        vsim_tsne_quality_params qp = VSIM_TSNE_QUALITY_PARAMS_INIT;
        vsim_tsne_quality q;

        VT_CHECK(y1 && y2 && y2b, "blobs ran");
        if (!y1 || !y2 || !y2b)
            return;
        VT_CHECK(memcmp(y2, y2b, n * 16) == 0, "same seed and threads: identical");
        VT_CHECK(memcmp(y1, y2, n * 16) == 0, "1 vs 2 threads: identical");
        VT_CHECK(vsim_tsne_quality_compute(x, n, 10, y1, 2, lab, &qp, &q) == VSIM_OK, "quality");
        VT_NEAR(q.knn_accuracy, 1.0, 0.0, "three blobs: kNN accuracy 1");
        VT_CHECK(q.trustworthiness > 0.5 && q.nn_preservation > 0.1 && q.kl < 2.0,
                 "blob quality plausible");
        vsim_free(x);
        vsim_free(y1);
        vsim_free(y2);
        vsim_free(y2b);
    }
}

/* After early exaggeration the exact KL does not increase (STYLE.md invariant). */
static void test_kl_decreases(void)
{
    size_t n = 500;
    float *x = gauss_data(n, 10, 31, 1.0);
    vsim_tsne_params p = VSIM_TSNE_PARAMS_INIT;
    vsim_tsne *t;
    double prev = INFINITY;
    int ok = 1;

    for (size_t i = 0; i < n; i++)
        x[i * 10 + i % 4] += 8.0f;
    p.max_iter = 600;
    p.method = VSIM_TSNE_BH;
    VT_CHECK(vsim_tsne_create(x, n, 10, &p, &t) == VSIM_OK, "create");
    vsim_tsne_step(t, p.exag_iter);
    for (int k = 0; k < 7; k++) {
        double kl;
        vsim_tsne_step(t, 50);
        vsim_tsne_kl_exact(&t->P, vsim_tsne_embedding(t), 2, 1, &kl);
        ok &= kl <= prev * (1 + 1e-6);
        prev = kl;
    }
    VT_CHECK(ok, "KL does not increase after exaggeration");
    VT_NEAR(vsim_tsne_kl_estimate(t), prev, 0.02, "KL estimate (Barnes-Hut Z) near exact");
    vsim_tsne_destroy(t);
    vsim_free(x);
}

static void test_bad_input(void)
{
    vsim_tsne_params p = VSIM_TSNE_PARAMS_INIT;
    float *x = gauss_data(100, 4, 3, 1.0);
    vsim_tsne *t = (vsim_tsne *)&p;

    x[57 * 4 + 2] = NAN;
    VT_CHECK(vsim_tsne_create(x, 100, 4, &p, &t) == VSIM_ENUMERIC && t == NULL, "NaN row");
    VT_CHECK(strstr(vsim_errmsg(), "row 57") != NULL, "NaN: message names the row");
    x[57 * 4 + 2] = INFINITY;
    VT_CHECK(vsim_tsne_check(x, 100, 4, &p) == VSIM_ENUMERIC, "Inf row");
    x[57 * 4 + 2] = 0.0f;
    VT_CHECK(vsim_tsne_check(x, 100, 0, &p) == VSIM_EINVAL, "D = 0");
    VT_CHECK(vsim_tsne_check(x, 50, 4, &p) == VSIM_EINVAL, "too few points for perplexity");
    VT_CHECK(strstr(vsim_errmsg(), "largest perplexity that works is 16.33") != NULL,
             "message gives the largest perplexity");
    p.perplexity = 16.33;
    VT_CHECK(vsim_tsne_check(x, 50, 4, &p) == VSIM_OK, "that perplexity works");
    /* duplicates are allowed */
    for (size_t i = 50; i < 100; i++)
        memcpy(x + i * 4, x, 4 * sizeof(float));
    p.perplexity = 10;
    p.max_iter = 50;
    VT_CHECK(vsim_tsne_create(x, 100, 4, &p, &t) == VSIM_OK && vsim_tsne_run(t) == VSIM_OK,
             "duplicate points allowed");
    VT_CHECK(isfinite(vsim_tsne_embedding(t)[0]), "duplicates: finite layout");
    vsim_tsne_destroy(t);
    vsim_free(x);
}

static float *load_fmnist(size_t n)
{
    FILE *f = popen("gzip -dc " FMNIST " 2>/dev/null", "r");
    unsigned char hdr[16], *raw = vsim_malloc(n * 784);
    float *x = vsim_malloc(n * 784 * sizeof(float));
    int ok = f && raw && x && fread(hdr, 1, 16, f) == 16 && fread(raw, 1, n * 784, f) == n * 784;

    if (f)
        pclose(f);
    for (size_t i = 0; ok && i < n * 784; i++)
        x[i] = (float)raw[i] / 255.0f;
    vsim_free(raw);
    if (!ok)
        vsim_free(x);
    return ok ? x : NULL;
}

static void test_sklearn_oracle(void)
{
    FILE *rf = fopen(REF, "r");
    char line[256];
    double ref = NAN, kl = NAN;
    float *x;
    vsim_tsne_params p = VSIM_TSNE_PARAMS_INIT;
    vsim_tsne_quality_params qp = VSIM_TSNE_QUALITY_PARAMS_INIT;
    vsim_tsne_quality q;
    vsim_tsne *t;

    while (rf && fgets(line, sizeof(line), rf))
        if (sscanf(line, "kl_mean %lf", &ref) == 1)
            break;
    if (rf)
        fclose(rf);
    x = load_fmnist(2000);
    if (!x || isnan(ref)) {
        printf("test_tsne: note: skipping the scikit-learn oracle (no %s or %s)\n", FMNIST, REF);
        vsim_free(x);
        return;
    }
    p.method = VSIM_TSNE_BH;
    VT_CHECK(vsim_tsne_create(x, 2000, 784, &p, &t) == VSIM_OK && vsim_tsne_run(t) == VSIM_OK,
             "Fashion-MNIST 2000 ran");
    VT_CHECK(vsim_tsne_quality_compute(vsim_tsne_input(t), 2000, vsim_tsne_input_dims(t),
                                       vsim_tsne_embedding(t), 2, NULL, &qp, &q) == VSIM_OK,
             "oracle quality");
    kl = q.kl;
    printf("test_tsne: Fashion-MNIST 2000: KL %.4f, scikit-learn %.4f\n", kl, ref);
    VT_CHECK(kl <= ref * 1.05 && kl >= ref * 0.90, "KL within 5% of scikit-learn's");
    vsim_tsne_destroy(t);
    vsim_free(x);
}

/* Fail the n-th allocation for n = 1.. : a clean VSIM_ENOMEM every time, then success. */
static void test_alloc_faults(void)
{
    float *x = gauss_data(200, 6, 4, 1.0);
    vsim_tsne_params p = VSIM_TSNE_PARAMS_INIT;
    vsim_tsne_quality_params qp = VSIM_TSNE_QUALITY_PARAMS_INIT;
    int bad = 0, done = 0;

    p.perplexity = 10;
    p.max_iter = 3;
    for (int m = 0; m < 2; m++) {
        p.method = m ? VSIM_TSNE_FFT : VSIM_TSNE_BH;
        for (long k = 1; k < 400 && !done; k++) {
            vsim_tsne *t = NULL;
            vsim_tsne_quality q;
            int st;

            vsim_mem_fail_after(k);
            st = vsim_tsne_create(x, 200, 6, &p, &t);
            if (!st)
                st = vsim_tsne_run(t);
            if (!st)
                st = vsim_tsne_quality_compute(x, 200, 6, vsim_tsne_embedding(t), 2, NULL, &qp,
                                               &q);
            vsim_mem_fail_after(0);
            bad += st != VSIM_OK && st != VSIM_ENOMEM;
            done = st == VSIM_OK;
            vsim_tsne_destroy(t);
        }
        VT_CHECK(done && !bad, "allocation faults: ENOMEM, then success");
        done = 0;
    }
    vsim_free(x);
}

int main(void)
{
    test_finite_differences();
    test_bh_vs_exact(2);
    test_bh_vs_exact(3);
    test_fft_vs_exact();
    test_calibration();
    test_blobs_and_determinism();
    test_kl_decreases();
    test_bad_input();
    test_alloc_faults();
    test_sklearn_oracle();
    return VT_REPORT("test_tsne");
}
