/*
 * rules/tensor.c - rules over any selected tensors: AllZero, UnchangedTensor
 * (numpy.allclose over the last num_steps saved steps), TensorVariance and
 * SimilarAcrossRuns (the same tensor at the same step of a second run), Confusion
 * (labels against predictions, normalised per true class).
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "rules/rules_int.h"

static int need_selection(vsim_rule *r)
{
    if (!vsim_rule_p(r, "collection_names")->set && !vsim_rule_p(r, "tensor_regex")->set)
        return vsim_fail(VSIM_EINVAL, "rule %s: give collection_names or tensor_regex",
                         r->def->name);
    return VSIM_OK;
}

/* ---- AllZero ------------------------------------------------------------------------------ */

static const rule_pdef az_params[] = {
    { "collection_names", RULE_P_STRING, "None", "collections to inspect" },
    { "tensor_regex", RULE_P_STRING, "None", "regexes of tensors to inspect (union)" },
    { "threshold", RULE_P_DOUBLE, "100", "fire when at least this percentage of values is 0" },
};

static int az_eval(vsim_rule *r, rule_ctx *c)
{
    const double thr = vsim_rule_p(r, "threshold")->d;
    int fired = 0, evaluated = 0;

    for (size_t k = 0; k < r->n_tensors; k++) {
        const rule_entry *e = vsim_rule_entry(c, r, k);
        const char *name = vsim_rule_tensor_name(c, r->tensors[k]);
        double pct;

        if (!e || !e->has_stats || !e->st.count)
            continue;
        evaluated = 1;
        pct = 100.0 * (double)e->st.n_zeros / (double)e->st.count;
        if (pct >= thr) {
            fired = 1;
            if (vsim_rule_emit(c, VSIM_RULE_FIRED, name, -1, pct, thr,
                               "%s: %.4g%% of %llu values are zero (threshold %.4g%%)", name,
                               pct, (unsigned long long)e->st.count, thr))
                return VSIM_ENOMEM;
        }
    }
    return vsim_rule_answer(fired, evaluated);
}

/* ---- TensorVariance ----------------------------------------------------------------------- */

static const rule_pdef tv_params[] = {
    { "collection_names", RULE_P_STRING, "None", "collections to inspect" },
    { "tensor_regex", RULE_P_STRING, "None", "regexes of tensors to inspect (union)" },
    { "max_threshold", RULE_P_DOUBLE, "None", "fire when the variance is above" },
    { "min_threshold", RULE_P_DOUBLE, "None", "fire when the variance is below" },
};

static int tv_setup(vsim_rule *r)
{
    if (!vsim_rule_p(r, "max_threshold")->set && !vsim_rule_p(r, "min_threshold")->set)
        return vsim_fail(VSIM_EINVAL, "rule TensorVariance: give max_threshold or min_threshold");
    return need_selection(r);
}

static int tv_eval(vsim_rule *r, rule_ctx *c)
{
    const rule_pval *mx = vsim_rule_p(r, "max_threshold"), *mn = vsim_rule_p(r, "min_threshold");
    int fired = 0, evaluated = 0;

    for (size_t k = 0; k < r->n_tensors; k++) {
        const rule_entry *e = vsim_rule_entry(c, r, k);
        const char *name = vsim_rule_tensor_name(c, r->tensors[k]);
        double var;

        if (!e)
            continue;
        if (e->has_stats)
            var = e->st.std * e->st.std;
        else if (e->red_mask & VSIM_RED_BIT(VSIM_RED_VARIANCE))
            var = e->red[VSIM_RED_VARIANCE];
        else if (e->red_mask & VSIM_RED_BIT(VSIM_RED_STD))
            var = e->red[VSIM_RED_STD] * e->red[VSIM_RED_STD];
        else
            continue;
        if (isnan(var))
            continue;
        evaluated = 1;
        if ((mx->set && var > mx->d) || (mn->set && var < mn->d)) {
            int above = mx->set && var > mx->d;

            fired = 1;
            if (vsim_rule_emit(c, VSIM_RULE_FIRED, name, -1, var, above ? mx->d : mn->d,
                               "%s: variance %.4g %s %.4g", name, var,
                               above ? "above" : "below", above ? mx->d : mn->d))
                return VSIM_ENOMEM;
        }
    }
    return vsim_rule_answer(fired, evaluated);
}

/* ---- UnchangedTensor ---------------------------------------------------------------------- */

static const rule_pdef ut_params[] = {
    { "collection_names", RULE_P_STRING, "None", "collections to inspect" },
    { "tensor_regex", RULE_P_STRING, "None", "regexes of tensors to inspect (union)" },
    { "num_steps", RULE_P_INT, "3", "the last num_steps saved steps (not necessarily "
      "consecutive) must all be allclose to the current value" },
    { "rtol", RULE_P_DOUBLE, "1e-05", "numpy.allclose relative tolerance" },
    { "atol", RULE_P_DOUBLE, "1e-08", "numpy.allclose absolute tolerance" },
    { "equal_nan", RULE_P_BOOL, "False", "NaN equals NaN" },
};

/* The last num_steps - 1 values of one tensor, oldest first (a ring). */
typedef struct hist {
    size_t ti;
    size_t n, head;
    int64_t *gs;
    vsim_tensor *view;         /* view[j].data is buf[j]->data */
    rule_buf **buf;            /* references to the steps' buffers (no copies) */
} hist;

typedef struct hist_set {
    hist *h;
    size_t n, cap;
    size_t depth;              /* num_steps - 1 */
} hist_set;

static int ut_setup(vsim_rule *r)
{
    hist_set *hs;

    if (vsim_rule_p(r, "num_steps")->i < 2)
        return vsim_fail(VSIM_EINVAL, "rule UnchangedTensor: num_steps must be >= 2");
    if (need_selection(r))
        return VSIM_EINVAL;
    hs = vsim_calloc(1, sizeof(*hs));
    if (!hs)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    hs->depth = (size_t)vsim_rule_p(r, "num_steps")->i - 1;
    r->state = hs;
    return VSIM_OK;
}

static void ut_destroy(vsim_rule *r)
{
    hist_set *hs = r->state;

    if (!hs)
        return;
    for (size_t i = 0; i < hs->n; i++) {
        for (size_t j = 0; j < hs->depth; j++)
            vsim_rule_buf_drop(NULL, hs->h[i].buf[j]);
        vsim_free(hs->h[i].buf);
        vsim_free(hs->h[i].view);
        vsim_free(hs->h[i].gs);
    }
    vsim_free(hs->h);
    vsim_free(hs);
}

static hist *get_hist(hist_set *hs, size_t ti)
{
    hist *h;

    for (size_t i = 0; i < hs->n; i++)
        if (hs->h[i].ti == ti)
            return &hs->h[i];
    if (vsim_grow((void **)&hs->h, &hs->cap, hs->n + 1, sizeof(*hs->h)))
        return NULL;
    h = &hs->h[hs->n];
    memset(h, 0, sizeof(*h));
    h->ti = ti;
    h->gs = vsim_calloc(hs->depth, sizeof(*h->gs));
    h->view = vsim_calloc(hs->depth, sizeof(*h->view));
    h->buf = vsim_calloc(hs->depth, sizeof(*h->buf));
    if (!h->gs || !h->view || !h->buf) {
        vsim_free(h->gs);
        vsim_free(h->view);
        vsim_free(h->buf);
        return NULL;
    }
    hs->n++;
    return h;
}

static int ut_one(vsim_rule *r, rule_ctx *c, hist_set *hs, hist *h, const rule_entry *e,
                  const char *name)
{
    const double rtol = vsim_rule_p(r, "rtol")->d, atol = vsim_rule_p(r, "atol")->d;
    const int eq_nan = (int)vsim_rule_p(r, "equal_nan")->i;
    size_t slot = (h->head + h->n) % hs->depth;
    int same = h->n == hs->depth, rc = 2;

    for (size_t j = 0; same && j < h->n; j++) {
        const vsim_tensor *old = &h->view[(h->head + j) % hs->depth];

        same = vsim_tensor_n_elems(old) == vsim_tensor_n_elems(&e->view) &&
               vsim_rule_allclose(old, &e->view, rtol, atol, eq_nan, c->n_threads);
    }
    if (h->n == hs->depth)
        rc = same ? (vsim_rule_emit(c, VSIM_RULE_FIRED, name, h->gs[h->head], 0, atol,
                                    "%s: unchanged (allclose rtol %.3g atol %.3g) over the "
                                    "last %zu saved steps since step %lld", name, rtol, atol,
                                    hs->depth + 1, (long long)h->gs[h->head]) ? -1 : 1)
                  : 0;
    /* Push the current value, dropping the oldest when full. */
    if (h->n == hs->depth) {
        slot = h->head;
        h->head = (h->head + 1) % hs->depth;
    } else {
        h->n++;
    }
    vsim_rule_buf_drop(&c->pool, h->buf[slot]);
    h->buf[slot] = vsim_rule_buf_hold(e->buf);
    h->view[slot] = e->view;
    h->gs[slot] = c->step->step;
    return rc;
}

static int ut_bind(vsim_rule *r, rule_ctx *c)
{
    return vsim_rule_bind_default_all(r, c, RULE_NEED_VALUES);
}

static int ut_eval(vsim_rule *r, rule_ctx *c)
{
    hist_set *hs = r->state;
    int fired = 0, evaluated = 0;

    for (size_t k = 0; k < r->n_tensors; k++) {
        const rule_entry *e = vsim_rule_entry(c, r, k);
        hist *h;
        int rc;

        if (!e || !e->has_values)
            continue;
        h = get_hist(hs, r->tensors[k]);
        if (!h)
            return vsim_fail(VSIM_ENOMEM, "out of memory");
        rc = ut_one(r, c, hs, h, e, vsim_rule_tensor_name(c, r->tensors[k]));
        if (rc < 0)
            return VSIM_ENOMEM;
        fired |= rc == 1;
        evaluated |= rc <= 1;
    }
    return vsim_rule_answer(fired, evaluated);
}

/* ---- SimilarAcrossRuns -------------------------------------------------------------------- */

static const rule_pdef sar_params[] = {
    { "other", RULE_P_STRING, "None", "the other run's directory (smdebug: other_trial)" },
    { "other_trial", RULE_P_STRING, "None", "same as other" },
    { "collection_names", RULE_P_STRING, "None", "collections to compare" },
    { "tensor_regex", RULE_P_STRING, "None", "regexes of tensors to compare (union)" },
    { "rtol", RULE_P_DOUBLE, "1e-05", "numpy.allclose relative tolerance" },
    { "atol", RULE_P_DOUBLE, "1e-08", "numpy.allclose absolute tolerance" },
};

typedef struct sar_state {
    vsim_trial *other;
    int64_t refreshed_at;      /* the base step the other trial was last refreshed for */
} sar_state;

static const char *sar_path(const vsim_rule *r)
{
    const rule_pval *o = vsim_rule_p(r, "other"), *ot = vsim_rule_p(r, "other_trial");

    return o->set ? o->s : ot->set ? ot->s : NULL;
}

static int sar_setup(vsim_rule *r)
{
    sar_state *s;

    if (!sar_path(r))
        return vsim_fail(VSIM_EINVAL, "rule SimilarAcrossRuns: give other=PATH (the second run)");
    s = vsim_calloc(1, sizeof(*s));
    if (!s)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    s->refreshed_at = -1;
    r->state = s;
    return VSIM_OK;
}

static void sar_destroy(vsim_rule *r)
{
    sar_state *s = r->state;

    if (s)
        vsim_trial_close(s->other);
    vsim_free(s);
}

static int sar_bind(vsim_rule *r, rule_ctx *c)
{
    sar_state *s = r->state;

    if (!s->other && vsim_trial_open(sar_path(r), &s->other))
        return vsim_errctx("rule SimilarAcrossRuns: other run");
    return vsim_rule_bind_default_all(r, c, RULE_NEED_VALUES);
}

static int sar_one(vsim_rule *r, rule_ctx *c, sar_state *s, const rule_entry *e,
                   const char *name)
{
    vsim_tensor ov;
    void *od = NULL;
    int rc = vsim_trial_read(s->other, name, c->step->step, 0, &ov, &od), close;

    if (rc == VSIM_ENOTFOUND)
        return 2;
    if (rc)
        return -1;
    close = vsim_tensor_n_elems(&ov) == vsim_tensor_n_elems(&e->view) &&
            vsim_rule_allclose(&e->view, &ov, vsim_rule_p(r, "rtol")->d,
                               vsim_rule_p(r, "atol")->d, 0, c->n_threads);
    rc = 0;
    if (!close)
        rc = vsim_rule_emit(c, VSIM_RULE_FIRED, name, c->step->step,
                            vsim_rule_diff_l2(&e->view, &ov, c->n_threads), (double)NAN,
                            "%s differs from the other run (%s) at step %lld", name,
                            sar_path(r), (long long)c->step->step) ? -1 : 1;
    vsim_free(od);
    return rc;
}

static int sar_eval(vsim_rule *r, rule_ctx *c)
{
    sar_state *s = r->state;
    int fired = 0, evaluated = 0;

    if (!vsim_trial_find_step(s->other, c->step->step) && c->watch &&
        s->refreshed_at != c->step->step) {
        s->refreshed_at = c->step->step;
        if (vsim_trial_refresh(s->other, NULL))
            return vsim_errstatus();
    }
    if (!vsim_trial_find_step(s->other, c->step->step))
        return VSIM_RULE_SKIP;
    for (size_t k = 0; k < r->n_tensors; k++) {
        const rule_entry *e = vsim_rule_entry(c, r, k);
        int rc;

        if (!e || !e->has_values)
            continue;
        rc = sar_one(r, c, s, e, vsim_rule_tensor_name(c, r->tensors[k]));
        if (rc < 0)
            return vsim_errstatus() ? vsim_errstatus() : VSIM_ENOMEM;
        fired |= rc == 1;
        evaluated |= rc <= 1;
    }
    return vsim_rule_answer(fired, evaluated);
}

/* ---- Confusion ---------------------------------------------------------------------------- */

static const rule_pdef cf_params[] = {
    { "category_no", RULE_P_INT, "None", "number of classes; None: 1 + the largest label seen" },
    { "labels", RULE_P_STRING, "labels", "name of the true-labels tensor (1-d, integers)" },
    { "predictions", RULE_P_STRING, "predictions",
      "name of the predictions tensor: 1-d class indices, or N x C scores (argmax)" },
    { "labels_collection", RULE_P_STRING, "labels", "collection holding the labels tensor" },
    { "predictions_collection", RULE_P_STRING, "predictions",
      "collection holding the predictions tensor" },
    { "min_diag", RULE_P_DOUBLE, "0.9", "fire when a class's recall (diagonal / row) is below" },
    { "max_off_diag", RULE_P_DOUBLE, "0.1",
      "fire when a share of a class predicted as another (off-diagonal / row) is above" },
};

/* 1 if one of the comma-separated names in want is among the comma-separated have. */
static int in_list(const char *have, const char *want)
{
    for (const char *w = want; *w;) {
        size_t lw = strcspn(w, ",");

        if (lw && vsim_list_has(have, w, lw))
            return 1;
        w += lw + (w[lw] == ',');
    }
    return 0;
}

/* Bound tensors: role 1 = labels, 2 = predictions (kept in r->state, per bound index). */
static int cf_bind(vsim_rule *r, rule_ctx *c)
{
    const rule_pval *lab = vsim_rule_p(r, "labels"), *pred = vsim_rule_p(r, "predictions");
    const rule_pval *lc = vsim_rule_p(r, "labels_collection");
    const rule_pval *pc = vsim_rule_p(r, "predictions_collection");
    int rc = VSIM_OK;

    for (size_t ti = 0; !rc && ti < vsim_trial_n_tensors(c->trial); ti++) {
        const vsim_tensor_info *info = vsim_trial_tensor(c->trial, ti);
        int is_lab = (lab->set && !strcmp(info->name, lab->s)) ||
                     (lc->set && in_list(info->collections, lc->s));
        int is_pred = (pred->set && !strcmp(info->name, pred->s)) ||
                      (pc->set && in_list(info->collections, pc->s));

        if (is_lab != is_pred)
            rc = vsim_rule_bind_add(r, ti, RULE_NEED_VALUES);
    }
    return rc;
}

static int cf_role(const rule_ctx *c, const vsim_rule *r, size_t ti)
{
    const rule_pval *lab = vsim_rule_p(r, "labels"), *lc = vsim_rule_p(r, "labels_collection");
    const vsim_tensor_info *info = vsim_trial_tensor(c->trial, ti);

    return ((lab->set && !strcmp(info->name, lab->s)) ||
            (lc->set && in_list(info->collections, lc->s))) ? 1 : 2;
}

/* Class of row i: the value of a 1-d tensor, the argmax of a row of a 2-d one. */
static long cf_class(const vsim_tensor *t, size_t i)
{
    size_t n_cols, best = 0;

    if (t->ndim <= 1)
        return (long)vsim_tensor_load(t, i);
    n_cols = vsim_tensor_n_elems(t) / t->shape[0];
    for (size_t j = 1; j < n_cols; j++)
        if (vsim_tensor_load(t, i * n_cols + j) > vsim_tensor_load(t, i * n_cols + best))
            best = j;
    return (long)best;
}

/* The confusion matrix of the n (label y[i], prediction p[i]) pairs, checked. */
static int cf_matrix(vsim_rule *r, rule_ctx *c, const long *y, const long *p, size_t n,
                     long n_cls, const char *name)
{
    double *m = vsim_calloc((size_t)n_cls * (size_t)n_cls, sizeof(double));
    const double min_diag = vsim_rule_p(r, "min_diag")->d;
    const double max_off = vsim_rule_p(r, "max_off_diag")->d;
    int fired = 0;

    if (!m)
        return vsim_fail(VSIM_ENOMEM, "out of memory for a %ld-class confusion matrix", n_cls);
    for (size_t i = 0; i < n; i++)
        if (y[i] >= 0 && y[i] < n_cls && p[i] >= 0 && p[i] < n_cls)
            m[y[i] * n_cls + p[i]] += 1;
    for (long i = 0; i < n_cls && !fired; i++) {
        double row = 0;

        for (long j = 0; j < n_cls; j++)
            row += m[i * n_cls + j];
        for (long j = 0; j < n_cls && row > 0 && !fired; j++) {
            double v = m[i * n_cls + j] / row;

            if (i == j && v < min_diag)
                fired = vsim_rule_emit(c, VSIM_RULE_FIRED, name, -1, v, min_diag,
                                       "class %ld: %.4g of its samples predicted right, below "
                                       "min_diag %.4g", i, v, min_diag) ? -1 : 1;
            else if (i != j && v > max_off)
                fired = vsim_rule_emit(c, VSIM_RULE_FIRED, name, -1, v, max_off,
                                       "class %ld: %.4g of its samples predicted as class %ld, "
                                       "above max_off_diag %.4g", i, v, j, max_off) ? -1 : 1;
        }
    }
    vsim_free(m);
    return fired < 0 ? VSIM_ENOMEM : fired;
}

static int cf_eval(vsim_rule *r, rule_ctx *c)
{
    const rule_pval *cat = vsim_rule_p(r, "category_no");
    const rule_entry *lab = NULL, *pred = NULL;
    const char *name = NULL;
    long n_cls = 0, *y, *p;
    size_t n;
    int fired;

    for (size_t k = 0; k < r->n_tensors; k++) {
        const rule_entry *e = vsim_rule_entry(c, r, k);
        int role;

        if (!e || !e->has_values)
            continue;
        role = cf_role(c, r, r->tensors[k]);
        if (role == 1 && !lab)
            lab = e;
        else if (role == 2 && !pred) {
            pred = e;
            name = vsim_rule_tensor_name(c, r->tensors[k]);
        }
    }
    if (!lab || !pred)
        return VSIM_RULE_SKIP;
    n = vsim_tensor_n_elems(&lab->view);
    if (n == 0 || (pred->view.ndim <= 1 ? vsim_tensor_n_elems(&pred->view)
                                        : pred->view.shape[0]) != n)
        return vsim_rule_emit(c, VSIM_RULE_SKIP, name, -1, (double)n, 0,
                              "%s: predictions do not match the %zu labels", name, n)
                   ? VSIM_ENOMEM : VSIM_RULE_SKIP;
    /* every sample's label and predicted class, once */
    y = vsim_mallocarray(2 * n, sizeof(*y));
    if (!y)
        return vsim_fail(VSIM_ENOMEM, "out of memory for %zu labels", n);
    p = y + n;
    for (size_t i = 0; i < n; i++) {
        y[i] = (long)vsim_tensor_load(&lab->view, i);
        p[i] = cf_class(&pred->view, i);
        n_cls = y[i] + 1 > n_cls ? y[i] + 1 : n_cls;
        n_cls = p[i] + 1 > n_cls ? p[i] + 1 : n_cls;
    }
    if (cat->set)
        n_cls = (long)cat->i;
    if (n_cls < 1 || n_cls > 100000) {
        vsim_free(y);
        return VSIM_RULE_SKIP;
    }
    fired = cf_matrix(r, c, y, p, n, n_cls, name);
    vsim_free(y);
    return fired < 0 ? fired : vsim_rule_answer(fired, 1);
}

const rule_def vsim_rules_tensor_defs[] = {
    { "AllZero", "fires when at least threshold percent of a tensor's values are zero",
      az_params, VSIM_ARRAY_LEN(az_params), need_selection, vsim_rule_bind_stats, az_eval, NULL,
      NULL },
    { "UnchangedTensor",
      "fires when a tensor is allclose at its last num_steps saved steps (the current one "
      "compared with each of the previous num_steps - 1)",
      ut_params, VSIM_ARRAY_LEN(ut_params), ut_setup, ut_bind, ut_eval, NULL, ut_destroy },
    { "TensorVariance",
      "fires when a tensor's variance is above max_threshold or below min_threshold",
      tv_params, VSIM_ARRAY_LEN(tv_params), tv_setup, vsim_rule_bind_stats, tv_eval, NULL, NULL },
    { "SimilarAcrossRuns",
      "fires when a tensor differs (not numpy.allclose) from the same tensor at the same step "
      "of the other run",
      sar_params, VSIM_ARRAY_LEN(sar_params), sar_setup, sar_bind, sar_eval, NULL,
      sar_destroy },
    { "Confusion",
      "fires when, in the confusion matrix of labels against predictions normalised per true "
      "class (each row sums to 1), a diagonal entry is below min_diag or an off-diagonal "
      "entry above max_off_diag",
      cf_params, VSIM_ARRAY_LEN(cf_params), NULL, cf_bind, cf_eval, NULL, NULL },
};

const size_t vsim_rules_tensor_n = VSIM_ARRAY_LEN(vsim_rules_tensor_defs);
