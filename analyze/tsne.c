/*
 * analyze/tsne.c - the t-SNE driver: input checks, PCA, affinities, the
 * initial layout and gradient descent with early exaggeration, momentum and
 * per-coordinate gains (van der Maaten, JMLR 15, 2014), openTSNE's learning
 * rate schedule N/exaggeration then N, and per-point step clipping.
 * Design notes: docs/tsne.md. Naming: analyze/tsne_int.h.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "analyze/pca.h"
#include "analyze/tsne_int.h"
#include "core/mem.h"
#include "core/omp.h"
#include "core/rng.h"

double vsim_tsne_max_perplexity(size_t n_points)
{
    return n_points < 2 ? 0.0 : (double)(n_points - 1) / 3.0;
}

static int check_params(size_t n, size_t dim, const vsim_tsne_params *p)
{
    if (dim == 0)
        return vsim_fail(VSIM_EINVAL, "t-SNE: the input has 0 dimensions");
    if (p->out_dims != 2 && p->out_dims != 3)
        return vsim_fail(VSIM_EINVAL, "t-SNE: out_dims %d, want 2 or 3", p->out_dims);
    if (!(p->perplexity > 0))
        return vsim_fail(VSIM_EINVAL, "t-SNE: perplexity %g, want > 0", p->perplexity);
    if (n < 4 || floor(3.0 * p->perplexity) > (double)(n - 1))
        return vsim_fail(VSIM_EINVAL,
                         "t-SNE: %zu points are too few for perplexity %g (needs at least "
                         "3 x perplexity + 1 = %.0f points); the largest perplexity that "
                         "works is %.2f", n, p->perplexity, floor(3.0 * p->perplexity) + 1,
                         floor(vsim_tsne_max_perplexity(n) * 100.0) / 100.0);
    if (!(p->theta >= 0) || p->max_iter < 0 || p->exag_iter < 0 || !(p->exaggeration > 0) ||
        !(p->learning_rate >= 0) || p->pca_dims < 0 || !(p->min_gain >= 0))
        return vsim_fail(VSIM_EINVAL, "t-SNE: a parameter is out of range (theta %g, iterations "
                         "%d/%d, exaggeration %g, learning rate %g)", p->theta, p->max_iter,
                         p->exag_iter, p->exaggeration, p->learning_rate);
    if (p->method == VSIM_TSNE_FFT && p->out_dims != 2)
        return vsim_fail(VSIM_EINVAL, "t-SNE: the FFT method is 2-D only");
    if (n > UINT32_MAX - 1)
        return vsim_fail(VSIM_EINVAL, "t-SNE: %zu points, at most %u", n, UINT32_MAX - 1);
    return VSIM_OK;
}

int vsim_tsne_check(const float *x, size_t n_points, size_t dim, const vsim_tsne_params *p)
{
    int status = check_params(n_points, dim, p);

    if (status)
        return status;
    for (size_t i = 0; i < n_points; i++)
        for (size_t j = 0; j < dim; j++)
            if (!isfinite(x[i * dim + j]))
                return vsim_fail(VSIM_ENUMERIC, "t-SNE: row %zu holds %s (column %zu)", i,
                                 isnan(x[i * dim + j]) ? "NaN" : "Inf", j);
    return VSIM_OK;
}

/* PCA (or random) initial layout with standard deviation 1e-4 along the first axis. */
static int init_layout(vsim_tsne *t)
{
    size_t N = t->N, nd = N * (size_t)t->dims;
    float *pc = NULL;
    double sd = 0.0, mean = 0.0;
    int status;

    if (t->p.init == VSIM_TSNE_INIT_PCA && t->D >= (size_t)t->dims) {
        pc = vsim_mallocarray(nd, sizeof(*pc));
        if (!pc)
            return vsim_fail(VSIM_ENOMEM, "t-SNE: out of memory for the initial layout");
        status = vsim_pca_project(t->X, N, t->D, (size_t)t->dims, pc, NULL);
        if (status) {
            vsim_free(pc);
            return status;
        }
        for (size_t i = 0; i < N; i++)
            mean += (double)pc[i * (size_t)t->dims];
        mean /= (double)N;
        for (size_t i = 0; i < N; i++) {
            double v = (double)pc[i * (size_t)t->dims] - mean;
            sd += v * v;
        }
        sd = sqrt(sd / (double)N);
    }
    if (pc && sd > 0) {
        for (size_t i = 0; i < nd; i++)
            t->Y[i] = (double)pc[i] / sd * 1e-4;
    } else {
        vsim_rng rng;
        vsim_rng_seed(&rng, t->p.seed, 1);
        for (size_t i = 0; i < nd; i++)
            t->Y[i] = 1e-4 * vsim_rng_normal(&rng);
    }
    vsim_free(pc);
    return VSIM_OK;
}

static int resolve_method(const vsim_tsne_params *p, size_t N)
{
    size_t fmin = p->fft_min_points;

    if (p->method != VSIM_TSNE_AUTO)
        return p->method;
    if (p->theta == 0)
        return VSIM_TSNE_EXACT;
    return p->fft_min_points && p->out_dims == 2 && N >= fmin ? VSIM_TSNE_FFT : VSIM_TSNE_BH;
}

static int alloc_state(vsim_tsne *t)
{
    size_t nd = t->N * (size_t)t->dims;
    int status = VSIM_OK;

    t->Y = vsim_calloc(nd, sizeof(double));
    t->grad = vsim_calloc(nd, sizeof(double));
    t->rep = vsim_calloc(nd, sizeof(double));
    t->update = vsim_calloc(nd, sizeof(double));
    t->gains = vsim_mallocarray(nd, sizeof(double));
    if (!t->Y || !t->grad || !t->rep || !t->update || !t->gains)
        return vsim_fail(VSIM_ENOMEM, "t-SNE: out of memory for %zu points", t->N);
    for (size_t i = 0; i < nd; i++)
        t->gains[i] = 1.0;
    if (t->method == VSIM_TSNE_BH)
        status = vsim_tsne_bh_create(t->N, t->dims, t->n_threads, &t->bh);
    else if (t->method == VSIM_TSNE_FFT)
        status = vsim_tsne_fft_create(t->N, t->n_threads, &t->fft);
    return status;
}

int vsim_tsne_create(const float *x, size_t n_points, size_t dim, const vsim_tsne_params *params,
                     vsim_tsne **out)
{
    vsim_tsne *t;
    int status = vsim_tsne_check(x, n_points, dim, params);

    *out = NULL;
    if (status)
        return status;
    t = vsim_calloc(1, sizeof(*t));
    if (!t)
        return vsim_fail(VSIM_ENOMEM, "t-SNE: out of memory");
    t->p = *params;
    t->N = n_points;
    t->dims = params->out_dims;
    t->n_threads = vsim_omp_resolve(params->n_threads);
    t->method = resolve_method(params, n_points);
    t->kl = NAN;
    t->D = params->pca_dims > 0 && dim > (size_t)params->pca_dims ? (size_t)params->pca_dims : dim;
    t->X = vsim_mallocarray(n_points * t->D, sizeof(float));
    if (!t->X) {
        status = vsim_fail(VSIM_ENOMEM, "t-SNE: out of memory for %zu x %zu", n_points, t->D);
        goto fail;
    }
    if (t->D < dim)
        status = vsim_pca_project(x, n_points, dim, t->D, t->X, NULL);
    else
        memcpy(t->X, x, n_points * dim * sizeof(float));
    if (status)
        goto fail;
    status = vsim_tsne_affinities(t->X, t->N, t->D, params->perplexity, params->seed,
                                  t->n_threads, &t->P);
    if (status)
        goto fail;
    t->plogp = vsim_tsne_plogp(&t->P);
    status = alloc_state(t);
    if (!status)
        status = init_layout(t);
    if (status)
        goto fail;
    *out = t;
    return VSIM_OK;
fail:
    vsim_tsne_destroy(t);
    return status;
}

void vsim_tsne_destroy(vsim_tsne *t)
{
    if (!t)
        return;
    vsim_tsne_sparse_release(&t->P);
    vsim_tsne_bh_destroy(t->bh);
    vsim_tsne_fft_destroy(t->fft);
    vsim_free(t->X);
    vsim_free(t->Y);
    vsim_free(t->grad);
    vsim_free(t->rep);
    vsim_free(t->update);
    vsim_free(t->gains);
    vsim_free(t);
}

/* grad <- attraction - repulsion / Z; returns Z. */
static int gradient(vsim_tsne *t, double exag, double *Z)
{
    int status = VSIM_OK;
    size_t nd = t->N * (size_t)t->dims;
    double *grad = t->grad, *rep = t->rep, z;

    vsim_tsne_attractive(&t->P, t->Y, t->dims, exag, t->n_threads, t->grad);
    if (t->method == VSIM_TSNE_EXACT)
        vsim_tsne_repulsion_exact(t->Y, t->N, t->dims, t->n_threads, t->rep, Z);
    else if (t->method == VSIM_TSNE_BH)
        vsim_tsne_repulsion_bh(t->bh, t->Y, t->p.theta, t->n_threads, t->rep, Z);
    else
        status = vsim_tsne_repulsion_fft(t->fft, t->Y, t->n_threads, t->rep, Z);
    if (status)
        return status;
    if (!isfinite(*Z) || !(*Z > 0))
        return vsim_fail(VSIM_ENUMERIC, "t-SNE: the layout diverged at iteration %d", t->iter);
    z = 1.0 / *Z;
#pragma omp parallel for num_threads(t->n_threads) schedule(static) default(none) \
    shared(grad, rep) firstprivate(nd, z)
    for (size_t i = 0; i < nd; i++)
        grad[i] -= rep[i] * z;
    return VSIM_OK;
}

/* One descent step from the gradient in t->grad. */
static void descend(vsim_tsne *t, double lr, double mom)
{
    size_t N = t->N;
    int dims = t->dims;
    double *Y = t->Y, *grad = t->grad, *upd = t->update, *gains = t->gains;
    double min_gain = t->p.min_gain, max_step = t->p.max_step_norm;

#pragma omp parallel for num_threads(t->n_threads) schedule(static) default(none) \
    shared(Y, grad, upd, gains) firstprivate(N, dims, lr, mom, min_gain, max_step)
    for (size_t i = 0; i < N; i++) {
        double norm2 = 0.0;
        for (int c = 0; c < dims; c++) {
            size_t e = i * (size_t)dims + (size_t)c;
            double g = (grad[e] > 0) != (upd[e] > 0) ? gains[e] + 0.2 : gains[e] * 0.8;
            gains[e] = g < min_gain ? min_gain : g;
            upd[e] = mom * upd[e] - lr * gains[e] * grad[e];
            norm2 += upd[e] * upd[e];
        }
        if (max_step > 0 && norm2 > max_step * max_step) {
            double sc = max_step / sqrt(norm2);
            for (int c = 0; c < dims; c++)
                upd[i * (size_t)dims + (size_t)c] *= sc;
        }
        for (int c = 0; c < dims; c++)
            Y[i * (size_t)dims + (size_t)c] += upd[i * (size_t)dims + (size_t)c];
    }
}

static int report(vsim_tsne *t)
{
    char msg[96];

    if (!t->p.progress)
        return VSIM_OK;
    snprintf(msg, sizeof(msg), "iter %d KL %.4f", t->iter, t->kl);
    if (t->p.progress(t->p.progress_ctx, (size_t)t->iter, (size_t)t->p.max_iter, msg))
        return vsim_fail(VSIM_ERANGE, "t-SNE: stopped at iteration %d", t->iter);
    return VSIM_OK;
}

int vsim_tsne_step(vsim_tsne *t, int n_iter)
{
    double N = (double)t->N;
    int every = t->p.progress_every > 0 ? t->p.progress_every : 50;

    for (int k = 0; k < n_iter && t->iter < t->p.max_iter; k++) {
        int early = t->iter < t->p.exag_iter, status;
        double exag = early ? t->p.exaggeration : 1.0, Z;
        double lr = t->p.learning_rate > 0 ? t->p.learning_rate : fmax(N / exag, 50.0);
        double mom = early ? t->p.momentum_early : t->p.momentum_late;

        status = gradient(t, exag, &Z);
        if (status)
            return status;
        if ((t->iter + 1) % every == 0 || t->iter + 1 == t->p.max_iter)
            t->kl = t->plogp - vsim_tsne_plogw(&t->P, t->Y, t->dims) + log(Z);
        descend(t, lr, mom);
        t->iter++;
        if (t->iter % every == 0 || t->iter == t->p.max_iter) {
            status = report(t);
            if (status)
                return status;
        }
    }
    return VSIM_OK;
}

int vsim_tsne_run(vsim_tsne *t)
{
    return vsim_tsne_step(t, t->p.max_iter - t->iter);
}

int vsim_tsne_iter(const vsim_tsne *t)
{
    return t->iter;
}

const double *vsim_tsne_embedding(const vsim_tsne *t)
{
    return t->Y;
}

const float *vsim_tsne_input(const vsim_tsne *t)
{
    return t->X;
}

size_t vsim_tsne_input_dims(const vsim_tsne *t)
{
    return t->D;
}

double vsim_tsne_kl_estimate(const vsim_tsne *t)
{
    return t->kl;
}
