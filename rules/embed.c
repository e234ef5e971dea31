/*
 * rules/embed.c - LatentNeighbors (ours): on the embeddings collection, the
 * k-NN label agreement of the latent vectors (the fraction of points whose
 * label holds a strict majority among their k nearest neighbours, Euclidean,
 * exact brute force; neighbours from the same design are excluded when design
 * ids are saved). Fires when it is below threshold or has not improved by more
 * than min_delta for patience evaluations. OpenMP across query points; each
 * point writes only its own result, so it is deterministic.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "core/omp.h"
#include "rules/rules_int.h"

static const rule_pdef ln_params[] = {
    { "tensor_regex", RULE_P_STRING, "^embeddings/latent$", "the latent vectors (N x D)" },
    { "labels_regex", RULE_P_STRING, "^embeddings/labels$", "their labels (N integers)" },
    { "design_regex", RULE_P_STRING, "^embeddings/design_id$",
      "their design ids (N integers); None: do not exclude same-design neighbours" },
    { "k", RULE_P_INT, "5", "neighbours per point" },
    { "threshold", RULE_P_DOUBLE, "None", "fire when the agreement is below" },
    { "patience", RULE_P_INT, "None", "fire when no improvement for this many evaluations" },
    { "min_delta", RULE_P_DOUBLE, "0.0", "an improvement must exceed this" },
    { "target", RULE_P_DOUBLE, "0.9", "no-improvement firing only while the best is below" },
    { "max_points", RULE_P_INT, "5000", "evenly subsample larger sets (cost is N^2 D)" },
    { "collapse", RULE_P_DOUBLE, "0.05", "fire when the embedding's spread (RMS distance to "
      "its centroid) falls below this fraction of its largest so far" },
};

typedef struct ln_state {
    double best;
    double max_spread;
    int64_t since;
    size_t n_evals;
} ln_state;

static int ln_setup(vsim_rule *r)
{
    ln_state *s;

    if (vsim_rule_p(r, "k")->i < 1 ||
        (vsim_rule_p(r, "patience")->set && vsim_rule_p(r, "patience")->i < 1) ||
        vsim_rule_p(r, "max_points")->i < 2)
        return vsim_fail(VSIM_EINVAL, "rule LatentNeighbors: k and patience must be >= 1, "
                         "max_points >= 2");
    s = vsim_calloc(1, sizeof(*s));
    if (!s)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    s->best = (double)NAN;
    r->state = s;
    return VSIM_OK;
}

static void ln_destroy(vsim_rule *r)
{
    vsim_free(r->state);
}

static int ln_bind(vsim_rule *r, rule_ctx *c)
{
    int rc = vsim_rule_bind_select(r, c, NULL, vsim_rule_p(r, "tensor_regex")->s,
                                   RULE_NEED_VALUES);

    if (!rc)
        rc = vsim_rule_bind_select(r, c, NULL, vsim_rule_p(r, "labels_regex")->s,
                                   RULE_NEED_VALUES);
    if (!rc)
        rc = vsim_rule_bind_select(r, c, NULL, vsim_rule_p(r, "design_regex")->s,
                                   RULE_NEED_VALUES);
    return rc;
}

/* The first present bound tensor whose name matches which (exact compare of the tail). */
static const rule_entry *find_role(const rule_ctx *c, const vsim_rule *r, const char *param,
                                   const char **name)
{
    const rule_pval *p = vsim_rule_p(r, param);
    size_t *idx = NULL, n = 0;
    const rule_entry *e = NULL;

    if (!p->set || vsim_trial_match(c->trial, NULL, p->s, &idx, &n))
        return NULL;
    for (size_t i = 0; i < n && !e; i++)
        if (idx[i] < c->n_entries && c->entries[idx[i]].present &&
            c->entries[idx[i]].has_values) {
            e = &c->entries[idx[i]];
            *name = vsim_rule_tensor_name(c, idx[i]);
        }
    vsim_free(idx);
    return e;
}

typedef struct knn_job {
    const vsim_tensor *lat;
    const int64_t *label, *design;    /* per selected point; design may be NULL */
    const size_t *row;                /* selected rows of lat */
    size_t n, dim, k;
    double *dist;                     /* n_threads * k scratch */
    size_t *nb;                       /* n_threads * k scratch */
    unsigned char *agree;             /* n */
} knn_job;

static double sq_dist(const vsim_tensor *t, size_t a, size_t b, size_t dim)
{
    double s = 0.0;

    if (t->dtype == VSIM_F32) {
        const float *x = (const float *)t->data + a * dim, *y = (const float *)t->data + b * dim;

        for (size_t d = 0; d < dim; d++) {
            double v = (double)x[d] - (double)y[d];

            s += v * v;
        }
        return s;
    }
    for (size_t d = 0; d < dim; d++) {
        double v = vsim_tensor_load(t, a * dim + d) - vsim_tensor_load(t, b * dim + d);

        s += v * v;
    }
    return s;
}

/* k nearest neighbours of point i by insertion into a sorted list (ties: lower index first). */
static void knn_point(const knn_job *j, size_t i, double *dist, size_t *nb)
{
    size_t m = 0, votes = 0;

    for (size_t q = 0; q < j->n; q++) {
        double d;
        size_t pos;

        if (q == i || (j->design && j->design[q] == j->design[i]))
            continue;
        d = sq_dist(j->lat, j->row[i], j->row[q], j->dim);
        if (m == j->k && !(d < dist[m - 1]))
            continue;
        pos = m < j->k ? m++ : m - 1;
        while (pos > 0 && dist[pos - 1] > d) {
            dist[pos] = dist[pos - 1];
            nb[pos] = nb[pos - 1];
            pos--;
        }
        dist[pos] = d;
        nb[pos] = q;
    }
    for (size_t t = 0; t < m; t++)
        votes += j->label[nb[t]] == j->label[i];
    j->agree[i] = m > 0 && 2 * votes > m;
}

static void knn_all(knn_job *j, int n_threads)
{
    long n = (long)j->n;
    int par = (double)j->n * (double)j->n * (double)j->dim >= (double)RULE_PAR_MIN_ELEMS;
#ifndef _OPENMP
    (void)n_threads;
    (void)par;
#endif

#pragma omp parallel for schedule(dynamic, 16) default(none) shared(j, n) \
    num_threads(vsim_omp_resolve(n_threads)) if (par)
    for (long i = 0; i < n; i++) {
        size_t th = (size_t)vsim_omp_thread_num();

        knn_point(j, (size_t)i, j->dist + th * j->k, j->nb + th * j->k);
    }
}

/* RMS distance of the rows of an N x D tensor to their centroid (0 for fewer than 2 rows). */
static double spread(const vsim_tensor *t)
{
    size_t n = t->ndim == 2 ? t->shape[0] : 0, dim = t->ndim == 2 ? t->shape[1] : 0;
    double ss = 0.0;

    if (n < 2)
        return 0.0;
    for (size_t d = 0; d < dim; d++) {
        double sum = 0.0, sq = 0.0;

        for (size_t i = 0; i < n; i++) {
            double x = vsim_tensor_load(t, i * dim + d);

            sum += x;
            sq += x * x;
        }
        ss += fmax(sq - sum * sum / (double)n, 0.0);
    }
    return sqrt(ss / (double)n);
}

/* Agreement score of the (subsampled) embedding; NaN if unusable. */
static int ln_score(const vsim_rule *r, const rule_ctx *c, const rule_entry *lat,
                    const rule_entry *lab, const rule_entry *des, double *out)
{
    size_t n_all = lat->view.ndim == 2 ? lat->view.shape[0] : 0, n, max;
    int nth = vsim_omp_resolve(c->n_threads), rc = VSIM_OK;
    knn_job j = { .lat = &lat->view };
    int64_t *lbl, *dsg = NULL;
    size_t *row;
    size_t agree = 0;

    *out = (double)NAN;
    if (n_all < 2 || vsim_tensor_n_elems(&lab->view) != n_all ||
        (des && vsim_tensor_n_elems(&des->view) != n_all))
        return VSIM_OK;
    max = (size_t)vsim_rule_p(r, "max_points")->i;
    n = n_all < max ? n_all : max;
    j.n = n;
    j.dim = lat->view.shape[1];
    j.k = (size_t)vsim_rule_p(r, "k")->i;
    row = vsim_mallocarray(n, sizeof(*row));
    lbl = vsim_mallocarray(n, sizeof(*lbl));
    dsg = des ? vsim_mallocarray(n, sizeof(*dsg)) : NULL;
    j.dist = vsim_mallocarray((size_t)nth * j.k, sizeof(double));
    j.nb = vsim_mallocarray((size_t)nth * j.k, sizeof(size_t));
    j.agree = vsim_calloc(n, 1);
    if (!row || !lbl || (des && !dsg) || !j.dist || !j.nb || !j.agree) {
        rc = vsim_fail(VSIM_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        row[i] = (size_t)((double)i * (double)n_all / (double)n);
        lbl[i] = (int64_t)vsim_tensor_load(&lab->view, row[i]);
        if (dsg)
            dsg[i] = (int64_t)vsim_tensor_load(&des->view, row[i]);
    }
    j.row = row;
    j.label = lbl;
    j.design = dsg;
    knn_all(&j, nth);
    for (size_t i = 0; i < n; i++)
        agree += j.agree[i];
    *out = (double)agree / (double)n;
done:
    vsim_free(row);
    vsim_free(lbl);
    vsim_free(dsg);
    vsim_free(j.dist);
    vsim_free(j.nb);
    vsim_free(j.agree);
    return rc;
}

static int ln_eval(vsim_rule *r, rule_ctx *c)
{
    ln_state *s = r->state;
    const char *nl = NULL, *nb = NULL, *nd = NULL;
    const rule_entry *lat = find_role(c, r, "tensor_regex", &nl);
    const rule_entry *lab = find_role(c, r, "labels_regex", &nb);
    const rule_entry *des = find_role(c, r, "design_regex", &nd);
    const double thr = vsim_rule_p(r, "threshold")->d, md = vsim_rule_p(r, "min_delta")->d;
    const rule_pval *patience = vsim_rule_p(r, "patience"), *col = vsim_rule_p(r, "collapse");
    double score, sp;
    int rc;

    if (lat && col->set) {
        sp = spread(&lat->view);
        if (sp < col->d * s->max_spread || (sp == 0.0 && s->n_evals))
            return vsim_rule_emit(c, VSIM_RULE_FIRED, nl, -1, sp, col->d * s->max_spread,
                                  "%s: the embedding collapsed: spread %.4g is below %.3g "
                                  "of its largest %.4g", nl, sp, col->d, s->max_spread)
                       ? VSIM_ENOMEM : VSIM_RULE_FIRED;
        s->max_spread = fmax(s->max_spread, sp);
        if (!lab) {
            s->n_evals++;
            return VSIM_RULE_NOT_FIRED;
        }
    }
    if (!lat || !lab)
        return VSIM_RULE_SKIP;
    rc = ln_score(r, c, lat, lab, des, &score);
    if (rc)
        return rc;
    if (isnan(score))
        return VSIM_RULE_SKIP;
    s->n_evals++;
    if (isnan(s->best) || score > s->best + md) {
        s->best = score;
        s->since = 0;
    } else {
        s->since++;
    }
    if (score < thr)
        return vsim_rule_emit(c, VSIM_RULE_FIRED, nl, -1, score, thr,
                              "%s: %.4g of points have a %lld-NN label majority, below %.4g",
                              nl, score, (long long)vsim_rule_p(r, "k")->i, thr)
                   ? VSIM_ENOMEM : VSIM_RULE_FIRED;
    if (patience->set && s->since >= patience->i && s->best < vsim_rule_p(r, "target")->d)
        return vsim_rule_emit(c, VSIM_RULE_FIRED, nl, -1, score, s->best,
                              "%s: k-NN agreement %.4g has not improved on %.4g (by more "
                              "than %.3g) for %lld evaluations", nl, score, s->best, md,
                              (long long)s->since)
                   ? VSIM_ENOMEM : VSIM_RULE_FIRED;
    return VSIM_RULE_NOT_FIRED;
}

const rule_def vsim_rules_embed_defs[] = {
    { "LatentNeighbors",
      "on the embeddings collection: fires when the embedding collapses (its spread falls "
      "below collapse times its largest), when the fraction of points whose label holds a "
      "strict majority among their k nearest latent neighbours (other designs only) is below "
      "threshold, or when it has not improved by more than min_delta for patience "
      "evaluations while below target",
      ln_params, VSIM_ARRAY_LEN(ln_params), ln_setup, ln_bind, ln_eval, NULL, ln_destroy },
};

const size_t vsim_rules_embed_n = VSIM_ARRAY_LEN(vsim_rules_embed_defs);
