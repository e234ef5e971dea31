/*
 * rules/grad.c - rules over gradients and weights: VanishingGradient,
 * ExplodingTensor, WeightUpdateRatio and PoorWeightInitialization (smdebug's
 * built-ins). Statistics come from analyze/stats.h through the shared step
 * entries; WeightUpdateRatio keeps a reference to each weight's previous value.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "rules/rules_int.h"

/* ---- VanishingGradient -------------------------------------------------------------------- */

static const rule_pdef vg_params[] = {
    { "threshold", RULE_P_DOUBLE, "0.0000001", "fire when the mean of |gradient| is below" },
    { "collection_names", RULE_P_STRING, "gradients", "collections of gradient tensors" },
    { "tensor_regex", RULE_P_STRING, "None", "regexes of gradient tensors (union)" },
};

/* Mean of |x| over the finite values, from the statistics or the saved reductions. */
static double abs_mean(const rule_entry *e)
{
    if (e->has_stats)
        return e->st.n_finite ? e->st.l1 / (double)e->st.n_finite : (double)NAN;
    if (e->red_mask & VSIM_RED_BIT(VSIM_RED_ABS_MEAN))
        return e->red[VSIM_RED_ABS_MEAN];
    return (double)NAN;
}

static int vg_eval(vsim_rule *r, rule_ctx *c)
{
    const double thr = vsim_rule_p(r, "threshold")->d;
    int fired = 0, evaluated = 0;

    for (size_t k = 0; k < r->n_tensors; k++) {
        const rule_entry *e = vsim_rule_entry(c, r, k);
        const char *name = vsim_rule_tensor_name(c, r->tensors[k]);
        double m = e ? abs_mean(e) : (double)NAN;

        if (isnan(m))
            continue;
        evaluated = 1;
        if (m < thr) {
            fired = 1;
            if (vsim_rule_emit(c, VSIM_RULE_FIRED, name, -1, m, thr,
                               "%s: mean |gradient| %.4g below %.4g", name, m, thr))
                return VSIM_ENOMEM;
        }
    }
    return vsim_rule_answer(fired, evaluated);
}

/* ---- ExplodingTensor ---------------------------------------------------------------------- */

static const rule_pdef et_params[] = {
    { "collection_names", RULE_P_STRING, "None",
      "collections to inspect (None and no regex: all)" },
    { "tensor_regex", RULE_P_STRING, "None", "regexes of tensors to inspect (union)" },
    { "only_nan", RULE_P_BOOL, "False", "look for NaN only, not for infinities" },
};

static int et_eval(vsim_rule *r, rule_ctx *c)
{
    const int only_nan = (int)vsim_rule_p(r, "only_nan")->i;
    int fired = 0, evaluated = 0;

    for (size_t k = 0; k < r->n_tensors; k++) {
        const rule_entry *e = vsim_rule_entry(c, r, k);
        const char *name = vsim_rule_tensor_name(c, r->tensors[k]);
        double n_nan = 0.0, n_inf = 0.0;

        if (!e)
            continue;
        if (e->has_stats) {
            n_nan = (double)e->st.n_nan;
            n_inf = (double)(e->st.n_posinf + e->st.n_neginf);
        } else if (e->red_mask & VSIM_RED_BIT(VSIM_RED_NAN_COUNT)) {
            n_nan = e->red[VSIM_RED_NAN_COUNT];
        } else if (e->red_mask) {
            for (int i = 0; i < VSIM_N_REDUCTIONS; i++)
                if ((e->red_mask & VSIM_RED_BIT(i)) && !isfinite(e->red[i]))
                    n_nan += isnan(e->red[i]), n_inf += isinf(e->red[i]);
        } else {
            continue;
        }
        evaluated = 1;
        if (n_nan > 0 || (!only_nan && n_inf > 0)) {
            fired = 1;
            if (vsim_rule_emit(c, VSIM_RULE_FIRED, name, -1, n_nan + (only_nan ? 0 : n_inf), 0,
                               "%s: %.0f NaN and %.0f infinite values", name, n_nan, n_inf))
                return VSIM_ENOMEM;
        }
    }
    return vsim_rule_answer(fired, evaluated);
}

/* ---- WeightUpdateRatio -------------------------------------------------------------------- */

static const rule_pdef wur_params[] = {
    { "num_steps", RULE_P_INT, "None",
      "None: compare with the previous saved step; N: only if it is >= step - N" },
    { "large_threshold", RULE_P_DOUBLE, "10.0", "fire when |w_t - w_prev| / |w_prev| is above" },
    { "small_threshold", RULE_P_DOUBLE, "0.00000001", "fire when the ratio is below" },
    { "epsilon", RULE_P_DOUBLE, "0.000000001", "added to |w_prev| against division by 0" },
    { "collection_names", RULE_P_STRING, "weights", "collections of weight tensors" },
    { "tensor_regex", RULE_P_STRING, "None", "regexes of weight tensors (union)" },
};

typedef struct prev_w {
    size_t ti;
    int mode;
    int64_t ms, gs;
    double l2;
    vsim_tensor view;          /* view.data is buf->data */
    rule_buf *buf;             /* a reference to the step's buffer (no copy) */
} prev_w;

typedef struct prev_set {
    prev_w *p;
    size_t n, cap;
} prev_set;

static int prev_setup(vsim_rule *r)
{
    r->state = vsim_calloc(1, sizeof(prev_set));
    r->modes = (1u << VSIM_MODE_TRAIN) | (1u << VSIM_MODE_GLOBAL);
    return r->state ? VSIM_OK : vsim_fail(VSIM_ENOMEM, "out of memory");
}

static void prev_destroy(vsim_rule *r)
{
    prev_set *ps = r->state;

    if (!ps)
        return;
    for (size_t i = 0; i < ps->n; i++)
        vsim_rule_buf_drop(NULL, ps->p[i].buf);
    vsim_free(ps->p);
    vsim_free(ps);
}

static prev_w *get_prev(prev_set *ps, size_t ti, int mode)
{
    for (size_t i = 0; i < ps->n; i++)
        if (ps->p[i].ti == ti && ps->p[i].mode == mode)
            return &ps->p[i];
    if (vsim_grow((void **)&ps->p, &ps->cap, ps->n + 1, sizeof(*ps->p)))
        return NULL;
    memset(&ps->p[ps->n], 0, sizeof(prev_w));
    ps->p[ps->n].ti = ti;
    ps->p[ps->n].mode = mode;
    ps->p[ps->n].ms = -1;
    return &ps->p[ps->n++];
}

static int same_shape(const vsim_tensor *a, const vsim_tensor *b)
{
    if (a->ndim != b->ndim || a->dtype != b->dtype)
        return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return 0;
    return 1;
}

/* Keep e as the previous value: a reference to the step's buffer, dropping the older one. */
static void keep_prev(rule_ctx *c, prev_w *p, const rule_entry *e)
{
    vsim_rule_buf_drop(&c->pool, p->buf);
    p->buf = vsim_rule_buf_hold(e->buf);
    p->view = e->view;
    p->ms = c->step->mode_step;
    p->gs = c->step->step;
    p->l2 = e->st.l2;
}

static int wur_one(vsim_rule *r, rule_ctx *c, prev_w *p, const rule_entry *e, const char *name)
{
    const rule_pval *ns = vsim_rule_p(r, "num_steps");
    const double large = vsim_rule_p(r, "large_threshold")->d;
    const double small = vsim_rule_p(r, "small_threshold")->d;
    double ratio;

    if (!p->buf || !same_shape(&p->view, &e->view) ||
        (ns->set && p->ms < c->step->mode_step - ns->i))
        return 2;
    ratio = vsim_rule_diff_l2(&e->view, &p->view, c->n_threads) /
            (p->l2 + vsim_rule_p(r, "epsilon")->d);
    if (isnan(ratio))
        return 2;
    if (ratio > large || ratio < small)
        return vsim_rule_emit(c, VSIM_RULE_FIRED, name, p->gs, ratio, ratio > large ? large : small,
                              "%s: update/weight ratio %.4g since step %lld is %s %.4g", name,
                              ratio, (long long)p->gs, ratio > large ? "above" : "below",
                              ratio > large ? large : small) ? -1 : 1;
    return 0;
}

static int wur_bind(vsim_rule *r, rule_ctx *c)
{
    return vsim_rule_bind_default_all(r, c, RULE_NEED_VALUES | RULE_NEED_STATS);
}

static int wur_eval(vsim_rule *r, rule_ctx *c)
{
    prev_set *ps = r->state;
    int fired = 0, evaluated = 0;

    for (size_t k = 0; k < r->n_tensors; k++) {
        const rule_entry *e = vsim_rule_entry(c, r, k);
        prev_w *p;
        int rc;

        if (!e || !e->has_values || !e->has_stats)
            continue;
        p = get_prev(ps, r->tensors[k], (int)c->step->mode);
        if (!p)
            return vsim_fail(VSIM_ENOMEM, "out of memory");
        rc = wur_one(r, c, p, e, vsim_rule_tensor_name(c, r->tensors[k]));
        if (rc < 0)
            return VSIM_ENOMEM;
        keep_prev(c, p, e);
        fired |= rc == 1;
        evaluated |= rc <= 1;
    }
    return vsim_rule_answer(fired, evaluated);
}

/* ---- PoorWeightInitialization ------------------------------------------------------------- */

static const rule_pdef pwi_params[] = {
    { "activation_inputs_regex", RULE_P_STRING, "None",
      "regexes of activation tensors; None: collection activations" },
    { "threshold", RULE_P_DOUBLE, "1000.0",
      "fire when max/min variance of the activations across layers is above" },
    { "distribution_range", RULE_P_DOUBLE, "1e-7",
      "fire when the 95th minus 5th percentile of a gradient is below" },
    { "patience", RULE_P_INT, "None", "steps the loss may go without a new minimum "
      "(None: not tested)" },
    { "steps", RULE_P_INT, "10", "the rule looks at training steps 0 .. steps-1 only" },
    { "min_elements", RULE_P_INT, "16", "tensors with fewer values are not judged (a "
      "one-channel bias has no spread)" },
};

typedef struct pwi_state {
    rule_series loss;
} pwi_state;

static int pwi_setup(vsim_rule *r)
{
    if (vsim_rule_p(r, "patience")->set && vsim_rule_p(r, "patience")->i < 1)
        return vsim_fail(VSIM_EINVAL, "rule PoorWeightInitialization: patience must be >= 1");
    r->state = vsim_calloc(1, sizeof(pwi_state));
    r->modes = 1u << VSIM_MODE_TRAIN;
    return r->state ? VSIM_OK : vsim_fail(VSIM_ENOMEM, "out of memory");
}

static void pwi_destroy(vsim_rule *r)
{
    pwi_state *s = r->state;

    if (s)
        vsim_rule_series_free(&s->loss);
    vsim_free(s);
}

static int pwi_bind(vsim_rule *r, rule_ctx *c)
{
    const rule_pval *ar = vsim_rule_p(r, "activation_inputs_regex");
    int rc = vsim_rule_bind_select(r, c, ar->set ? NULL : VSIM_COLL_ACTIVATIONS, ar->s,
                                   RULE_NEED_STATS);

    if (!rc)
        rc = vsim_rule_bind_select(r, c, VSIM_COLL_GRADIENTS, NULL, RULE_NEED_PCT);
    if (!rc)
        rc = vsim_rule_bind_select(r, c, VSIM_COLL_LOSSES, NULL, RULE_NEED_VALUES);
    return rc;
}

static int in_coll(const rule_ctx *c, size_t ti, const char *coll)
{
    const char *cs = vsim_trial_tensor(c->trial, ti)->collections;

    return cs && vsim_list_has(cs, coll, strlen(coll));
}

/* Variance ratio across activation layers, and the narrowest gradient distribution. */
static int pwi_tensors(vsim_rule *r, rule_ctx *c, int *evaluated)
{
    const rule_pval *ar = vsim_rule_p(r, "activation_inputs_regex");
    double vmin = (double)INFINITY, vmax = -(double)INFINITY, spread = (double)INFINITY;
    const char *nmin = NULL, *nmax = NULL, *nspread = NULL;
    size_t n_act = 0;
    int rc = VSIM_OK;

    for (size_t k = 0; k < r->n_tensors; k++) {
        const rule_entry *e = vsim_rule_entry(c, r, k);
        const char *name = vsim_rule_tensor_name(c, r->tensors[k]);

        if (!e || !e->has_stats || !e->st.n_finite ||
            e->st.count < (uint64_t)vsim_rule_p(r, "min_elements")->i)
            continue;
        if ((r->need[k] & RULE_NEED_PCT) && e->st.n_pct == 2 &&
            e->st.pct[1] - e->st.pct[0] < spread) {
            spread = e->st.pct[1] - e->st.pct[0];
            nspread = name;
        }
        if (ar->set ? !(r->need[k] & RULE_NEED_STATS) || (r->need[k] & RULE_NEED_PCT)
                    : !in_coll(c, r->tensors[k], VSIM_COLL_ACTIVATIONS))
            continue;
        n_act++;
        if (e->st.std * e->st.std < vmin)
            vmin = e->st.std * e->st.std, nmin = name;
        if (e->st.std * e->st.std > vmax)
            vmax = e->st.std * e->st.std, nmax = name;
    }
    if (n_act >= 2) {
        double ratio = vmax / vmin, thr = vsim_rule_p(r, "threshold")->d;

        *evaluated = 1;
        if (vmax > 0 && !(ratio <= thr))
            rc = vsim_rule_emit(c, VSIM_RULE_FIRED, nmax, -1, ratio, thr,
                                "activation variance %.4g (%s) / %.4g (%s) = %.4g above %.4g",
                                vmax, nmax, vmin, nmin, ratio, thr) ? VSIM_ENOMEM : 1;
    }
    if (rc >= 0 && nspread) {
        double thr = vsim_rule_p(r, "distribution_range")->d;

        *evaluated = 1;
        if (spread < thr)
            rc = vsim_rule_emit(c, VSIM_RULE_FIRED, nspread, -1, spread, thr,
                                "%s: 5th..95th percentile range %.4g below %.4g", nspread,
                                spread, thr) ? VSIM_ENOMEM : 1;
    }
    return rc;
}

static int pwi_loss(vsim_rule *r, rule_ctx *c, int *evaluated)
{
    pwi_state *s = r->state;
    const int64_t patience = vsim_rule_p(r, "patience")->i;

    if (!vsim_rule_p(r, "patience")->set)
        return 0;
    for (size_t k = 0; k < r->n_tensors; k++) {
        const rule_entry *e = vsim_rule_entry(c, r, k);
        double v, before = (double)INFINITY, recent = (double)INFINITY;
        const char *name;

        if (!e || !(r->need[k] & RULE_NEED_VALUES) || !in_coll(c, r->tensors[k], VSIM_COLL_LOSSES))
            continue;
        v = vsim_rule_scalar(e);
        name = vsim_rule_tensor_name(c, r->tensors[k]);
        if (isnan(v) || vsim_rule_series_push(&s->loss, c->step->mode_step, c->step->step, v))
            return isnan(v) ? 0 : VSIM_ENOMEM;
        if (s->loss.n <= (size_t)patience)
            return 0;
        *evaluated = 1;
        for (size_t i = 0; i < s->loss.n; i++)
            if (i + (size_t)patience < s->loss.n)
                before = fmin(before, s->loss.v[i]);
            else
                recent = fmin(recent, s->loss.v[i]);
        if (recent >= before)
            return vsim_rule_emit(c, VSIM_RULE_FIRED, name, -1, recent, before,
                                  "%s: no new minimum in the last %lld steps (%.6g >= %.6g)",
                                  name, (long long)patience, recent, before) ? VSIM_ENOMEM : 1;
        return 0;
    }
    return 0;
}

static int pwi_eval(vsim_rule *r, rule_ctx *c)
{
    int evaluated = 0, a, b;

    if (c->step->mode_step >= vsim_rule_p(r, "steps")->i)
        return VSIM_RULE_END;
    a = pwi_tensors(r, c, &evaluated);
    if (a < 0)
        return a;
    b = pwi_loss(r, c, &evaluated);
    if (b < 0)
        return b;
    return vsim_rule_answer(a == 1 || b == 1, evaluated);
}

const rule_def vsim_rules_grad_defs[] = {
    { "VanishingGradient",
      "fires when the mean absolute value of a gradient is below threshold",
      vg_params, VSIM_ARRAY_LEN(vg_params), NULL, vsim_rule_bind_stats, vg_eval, NULL, NULL },
    { "ExplodingTensor",
      "fires when a tensor holds NaN or (unless only_nan) infinite values",
      et_params, VSIM_ARRAY_LEN(et_params), NULL, vsim_rule_bind_stats, et_eval, NULL, NULL },
    { "WeightUpdateRatio",
      "fires when |w_t - w_prev| / (|w_prev| + epsilon) of a weight is above large_threshold "
      "or below small_threshold (TRAIN steps, else GLOBAL)",
      wur_params, VSIM_ARRAY_LEN(wur_params), prev_setup, wur_bind, wur_eval, NULL,
      prev_destroy },
    { "PoorWeightInitialization",
      "in the first training steps: fires when the activations' variance differs across layers "
      "by more than threshold, a gradient's 5..95th percentile range is below "
      "distribution_range, or the loss finds no new minimum for patience steps",
      pwi_params, VSIM_ARRAY_LEN(pwi_params), pwi_setup, pwi_bind, pwi_eval, NULL,
      pwi_destroy },
};

const size_t vsim_rules_grad_n = VSIM_ARRAY_LEN(vsim_rules_grad_defs);
