/*
 * analyze/tsne_quality.c - the quality figures of an embedding (issue 7):
 * exact KL(P || Q) with the sparse perplexity P of the input, k-NN
 * preservation, leave-one-out k-NN label accuracy and trustworthiness (Venna &
 * Kaski 2001; the formula of scikit-learn's sklearn.manifold.trustworthiness).
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/tsne_int.h"
#include "core/mem.h"
#include "core/omp.h"
#include "core/rng.h"

#define QUALITY_SUBSET_DEFAULT 20000

/* Sorted random subset of m indices out of n (partial Fisher-Yates). */
static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static uint32_t *random_subset(size_t n, size_t m, uint64_t seed, uint64_t stream)
{
    uint32_t *all = vsim_mallocarray(n, sizeof(*all));
    vsim_rng rng;

    if (!all)
        return NULL;
    for (size_t i = 0; i < n; i++)
        all[i] = (uint32_t)i;
    vsim_rng_seed(&rng, seed, stream);
    for (size_t i = 0; i < m; i++) {
        size_t j = i + (size_t)vsim_rng_below(&rng, n - i);
        uint32_t t = all[i];
        all[i] = all[j];
        all[j] = t;
    }
    qsort(all, m, sizeof(*all), cmp_u32);
    return all;
}

static int kl_figure(const float *x, size_t n, size_t d, const double *y, int dims,
                     const vsim_tsne_quality_params *p, vsim_tsne_quality *q)
{
    size_t lim = p->kl_max_points ? p->kl_max_points : QUALITY_SUBSET_DEFAULT, m = n;
    uint32_t *sub = NULL;
    float *xs = NULL;
    double *ys = NULL;
    vsim_tsne_sparse P = { 0 };
    int status;

    if (n > lim) {
        m = lim;
        sub = random_subset(n, m, p->seed, 11);
        xs = vsim_mallocarray(m * d, sizeof(*xs));
        ys = vsim_mallocarray(m * (size_t)dims, sizeof(*ys));
        if (!sub || !xs || !ys) {
            status = vsim_fail(VSIM_ENOMEM, "quality: out of memory for a %zu-point subset", m);
            goto done;
        }
        for (size_t i = 0; i < m; i++) {
            memcpy(xs + i * d, x + (size_t)sub[i] * d, d * sizeof(float));
            memcpy(ys + i * (size_t)dims, y + (size_t)sub[i] * (size_t)dims,
                   (size_t)dims * sizeof(double));
        }
        x = xs;
        y = ys;
    }
    if (floor(3.0 * p->perplexity) > (double)(m - 1)) {
        status = vsim_fail(VSIM_EINVAL, "quality: perplexity %g too large for %zu points",
                           p->perplexity, m);
        goto done;
    }
    status = vsim_tsne_affinities(x, m, d, p->perplexity, p->seed, p->n_threads, &P);
    if (!status)
        status = vsim_tsne_kl_exact(&P, y, dims, p->n_threads, &q->kl);
    q->kl_points = m;
done:
    vsim_tsne_sparse_release(&P);
    vsim_free(ys);
    vsim_free(xs);
    vsim_free(sub);
    return status;
}

static int contains(const uint32_t *v, size_t k, uint32_t x)
{
    for (size_t j = 0; j < k; j++)
        if (v[j] == x)
            return 1;
    return 0;
}

/*
 * Sum over the embedding neighbours j of i missing from its input neighbours of
 * rank(i, j) - k; x padded (d a multiple of 8).
 */
static double trust_penalty(const float *x, size_t n, size_t d, size_t i, size_t k,
                            const uint32_t *nx, const uint32_t *ny)
{
    float dj[64];
    size_t m = 0, cnt[64] = { 0 }, jj[64];
    double s = 0.0;

    for (size_t j = 0; j < k; j++)
        if (!contains(nx, k, ny[j])) {
            jj[m] = ny[j];
            dj[m++] = vsim_tsne_dist2_padded(x + i * d, x + (size_t)ny[j] * d, d);
        }
    if (!m)
        return 0.0;
    for (size_t l = 0; l < n; l++) {
        if (l == i)
            continue;
        float dl = vsim_tsne_dist2_padded(x + i * d, x + l * d, d);
        for (size_t a = 0; a < m; a++)     /* the order (distance, index), as the kNN */
            cnt[a] += dl < dj[a] || (dl == dj[a] && l < jj[a]);
    }
    for (size_t a = 0; a < m; a++)         /* an intruder ranks after the k neighbours */
        s += cnt[a] + 1 > k ? (double)(cnt[a] + 1 - k) : 0.0;
    return s;
}

static int vote(const int32_t *labels, const uint32_t *ny, size_t k, int32_t self)
{
    int32_t best = 0;
    size_t best_n = 0;

    for (size_t a = 0; a < k; a++) {
        int32_t l = labels[ny[a]];
        size_t c = 0;
        for (size_t b = 0; b < k; b++)
            c += labels[ny[b]] == l;
        if (c > best_n || (c == best_n && l < best)) {
            best = l;
            best_n = c;
        }
    }
    return best == self;
}

static int neighbour_figures(const float *x, size_t n, size_t d, const double *y, int dims,
                             const int32_t *labels, const vsim_tsne_quality_params *p,
                             vsim_tsne_quality *q)
{
    size_t k = (size_t)p->k, lim = p->trust_max_points ? p->trust_max_points
                                                       : QUALITY_SUBSET_DEFAULT;
    size_t m = n < lim ? n : lim;
    int nt = vsim_omp_resolve(p->n_threads), status = VSIM_ENOMEM;
    uint32_t *nx = vsim_mallocarray(n * k, sizeof(*nx)), *ny = vsim_mallocarray(n * k, 4);
    float *d2 = vsim_mallocarray(n * k, sizeof(*d2)), *yf = vsim_mallocarray(n * (size_t)dims, 4);
    double *pen = vsim_mallocarray(m, sizeof(*pen)), pres = 0.0, tsum = 0.0;
    size_t dp = 0;
    float *xp = vsim_tsne_pad_rows(x, n, d, &dp);
    uint32_t *sub = m < n ? random_subset(n, m, p->seed, 12) : NULL;
    size_t hits = 0;

    if (!nx || !ny || !d2 || !yf || !pen || !xp || (m < n && !sub)) {
        status = vsim_fail(VSIM_ENOMEM, "quality: out of memory for %zu points", n);
        goto done;
    }
    for (size_t i = 0; i < n * (size_t)dims; i++)
        yf[i] = (float)y[i];
    status = vsim_tsne_knn(x, n, d, k, p->seed, nt, nx, d2);
    if (!status)
        status = vsim_tsne_knn(yf, n, (size_t)dims, k, p->seed, nt, ny, d2);
    if (status)
        goto done;
    for (size_t i = 0; i < n; i++) {
        size_t c = 0;
        for (size_t j = 0; j < k; j++)
            c += (size_t)contains(nx + i * k, k, ny[i * k + j]);
        pres += (double)c / (double)k;
        if (labels)
            hits += (size_t)vote(labels, ny + i * k, k, labels[i]);
    }
    q->nn_preservation = pres / (double)n;
    q->knn_accuracy = labels ? (double)hits / (double)n : (double)NAN;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 16) default(none) \
    shared(xp, nx, ny, pen, sub) firstprivate(n, dp, k, m)
    for (size_t a = 0; a < m; a++) {
        size_t i = sub ? sub[a] : a;
        pen[a] = trust_penalty(xp, n, dp, i, k, nx + i * k, ny + i * k);
    }
    for (size_t a = 0; a < m; a++)
        tsum += pen[a];
    q->trustworthiness = 1.0 - 2.0 / ((double)m * (double)k *
                                      (2.0 * (double)n - 3.0 * (double)k - 1.0)) * tsum;
    q->trust_points = m;
done:
    vsim_free(xp);
    vsim_free(sub);
    vsim_free(pen);
    vsim_free(yf);
    vsim_free(d2);
    vsim_free(ny);
    vsim_free(nx);
    return status;
}

int vsim_tsne_quality_compute(const float *x, size_t n_points, size_t dim, const double *y,
                              int out_dims, const int32_t *labels,
                              const vsim_tsne_quality_params *params, vsim_tsne_quality *out)
{
    vsim_tsne_quality q = { 0 };
    int status;

    if (params->k < 1 || params->k > 64 || n_points <= (size_t)params->k + 1 || dim == 0 ||
        (out_dims != 2 && out_dims != 3))
        return vsim_fail(VSIM_EINVAL, "quality: %zu points, k %d, dims %zu/%d: want "
                         "1 <= k <= 64 and more than k + 1 points", n_points, params->k, dim,
                         out_dims);
    status = kl_figure(x, n_points, dim, y, out_dims, params, &q);
    if (!status)
        status = neighbour_figures(x, n_points, dim, y, out_dims, labels, params, &q);
    if (status)
        return status;
    *out = q;
    return VSIM_OK;
}

int vsim_knn_accuracy(const float *x, size_t n_points, size_t dim, const int32_t *labels,
                      size_t k, int n_threads, double *out)
{
    uint32_t *idx;
    size_t right = 0;
    int status;

    *out = (double)NAN;
    if (k == 0 || k >= n_points)
        return vsim_fail(VSIM_EINVAL, "k-NN accuracy: k = %zu needs more than %zu points", k,
                         n_points);
    if (!(idx = vsim_mallocarray(n_points, k * sizeof(uint32_t))))
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    status = vsim_knn_exact(x, n_points, dim, k, 1, n_threads, idx, NULL);
    for (size_t i = 0; !status && i < n_points; i++)
        right += (size_t)vote(labels, idx + i * k, k, labels[i]);
    if (!status)
        *out = (double)right / (double)n_points;
    vsim_free(idx);
    return status;
}
