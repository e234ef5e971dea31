/*
 * rules/tensor.c - rules over any selected tensors: AllZero, UnchangedTensor
 * (numpy.allclose over the last num_steps saved steps), TensorVariance and
 * SimilarAcrossRuns (the same tensor at the same step of a second run).
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "rules/rules_int.h"

static int fired_or(int fired, int evaluated)
{
    return fired ? VSIM_RULE_FIRED : evaluated ? VSIM_RULE_NOT_FIRED : VSIM_RULE_SKIP;
}

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

static int stats_bind(vsim_rule *r, rule_ctx *c)
{
    return vsim_rule_bind_default_all(r, c, RULE_NEED_STATS);
}

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
    return fired_or(fired, evaluated);
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
    return fired_or(fired, evaluated);
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
    vsim_tensor *view;
    void **data;
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
            vsim_free(hs->h[i].data[j]);
        vsim_free(hs->h[i].data);
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
    if (hs->n == hs->cap) {
        size_t cap = hs->cap ? 2 * hs->cap : 16;
        hist *nh = vsim_reallocarray(hs->h, cap, sizeof(*nh));

        if (!nh)
            return NULL;
        hs->h = nh;
        hs->cap = cap;
    }
    h = &hs->h[hs->n];
    memset(h, 0, sizeof(*h));
    h->ti = ti;
    h->gs = vsim_calloc(hs->depth, sizeof(*h->gs));
    h->view = vsim_calloc(hs->depth, sizeof(*h->view));
    h->data = vsim_calloc(hs->depth, sizeof(*h->data));
    if (!h->gs || !h->view || !h->data) {
        vsim_free(h->gs);
        vsim_free(h->view);
        vsim_free(h->data);
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
    vsim_free(h->data[slot]);
    h->data[slot] = NULL;
    if (vsim_rule_copy(&e->view, &h->view[slot], &h->data[slot]))
        return -1;
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
    return fired_or(fired, evaluated);
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
    return fired_or(fired, evaluated);
}

const rule_def vsim_rules_tensor_defs[] = {
    { "AllZero", "fires when at least threshold percent of a tensor's values are zero",
      az_params, VSIM_ARRAY_LEN(az_params), need_selection, stats_bind, az_eval, NULL, NULL },
    { "UnchangedTensor",
      "fires when a tensor is allclose at its last num_steps saved steps (the current one "
      "compared with each of the previous num_steps - 1)",
      ut_params, VSIM_ARRAY_LEN(ut_params), ut_setup, ut_bind, ut_eval, NULL, ut_destroy },
    { "TensorVariance",
      "fires when a tensor's variance is above max_threshold or below min_threshold",
      tv_params, VSIM_ARRAY_LEN(tv_params), tv_setup, stats_bind, tv_eval, NULL, NULL },
    { "SimilarAcrossRuns",
      "fires when a tensor differs (not numpy.allclose) from the same tensor at the same step "
      "of the other run",
      sar_params, VSIM_ARRAY_LEN(sar_params), sar_setup, sar_bind, sar_eval, NULL,
      sar_destroy },
};

const size_t vsim_rules_tensor_n = VSIM_ARRAY_LEN(vsim_rules_tensor_defs);
