/*
 * rules/loss.c - rules over scalar series: LossNotDecreasing, Overfit,
 * Overtraining, StalledTrainingRule (smdebug's built-ins) and our
 * ReconstructionStalled (SSIM/PSNR of the probe images not improving).
 * Steps compared are mode steps of the mode the rule follows. docs/rules.md.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/fs.h"
#include "core/mem.h"
#include "rules/rules_int.h"

/* The history of one tensor in one mode. */
typedef struct track {
    size_t ti;
    int mode;
    rule_series s;
    int64_t last_checked;      /* mode step of the last comparison; -1: none */
    double best;               /* lowest (or highest) value so far; NaN: none */
    int64_t since;             /* steps since the last new optimum (Overtraining) */
    double sum;                /* Overfit: training losses since the last eval */
    size_t n_sum;
    int over;                  /* Overfit: consecutive evaluations over the ratio */
    double best_se;            /* LossNotDecreasing (vsim): standard error of the best window */
} track;

typedef struct tracks {
    track *t;
    size_t n, cap;
    unsigned char *seen;       /* per tensor: modes it was seen in (bits) */
    size_t n_seen;
    double last_wall;          /* StalledTrainingRule */
    double stall_fired_at;     /* arrival time of the stall already reported */
} tracks;

static track *get_track(tracks *ts, size_t ti, int mode)
{
    for (size_t i = 0; i < ts->n; i++)
        if (ts->t[i].ti == ti && ts->t[i].mode == mode)
            return &ts->t[i];
    if (vsim_grow((void **)&ts->t, &ts->cap, ts->n + 1, sizeof(*ts->t)))
        return NULL;
    memset(&ts->t[ts->n], 0, sizeof(track));
    ts->t[ts->n].ti = ti;
    ts->t[ts->n].mode = mode;
    ts->t[ts->n].last_checked = -1;
    ts->t[ts->n].best = (double)NAN;
    return &ts->t[ts->n++];
}

/* Record that tensor ti was saved in mode; returns the modes seen so far, or -1 (ENOMEM). */
static int mark_seen(tracks *ts, size_t ti, int mode)
{
    if (ti >= ts->n_seen) {
        size_t n = ti + 16;
        unsigned char *ns = vsim_realloc(ts->seen, n);

        if (!ns)
            return -1;
        memset(ns + ts->n_seen, 0, n - ts->n_seen);
        ts->seen = ns;
        ts->n_seen = n;
    }
    ts->seen[ti] |= (unsigned char)(1u << mode);
    return ts->seen[ti];
}

static int tracks_setup(vsim_rule *r)
{
    tracks *ts = vsim_calloc(1, sizeof(*ts));

    if (!ts)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    ts->last_wall = (double)NAN;
    ts->stall_fired_at = (double)NAN;
    r->state = ts;
    return VSIM_OK;
}

static void tracks_destroy(vsim_rule *r)
{
    tracks *ts = r->state;

    if (!ts)
        return;
    for (size_t i = 0; i < ts->n; i++)
        vsim_rule_series_free(&ts->t[i].s);
    vsim_free(ts->t);
    vsim_free(ts->seen);
    vsim_free(ts);
}

/*
 * The mode a rule with mode=None follows at this step for tensor ti (smdebug's
 * order EVAL, TRAIN, GLOBAL, decided causally): EVAL once the tensor was saved
 * in an EVAL step, else TRAIN once saved in TRAIN, else GLOBAL. -1: not this step.
 */
static int follow_mode(const rule_pval *m, tracks *ts, size_t ti, int step_mode)
{
    int seen = mark_seen(ts, ti, step_mode);

    if (seen < 0)
        return -2;
    if (m && m->set)
        return step_mode == (int)m->i ? step_mode : -1;
    if (seen & (1 << VSIM_MODE_EVAL))
        return step_mode == VSIM_MODE_EVAL ? step_mode : -1;
    if (seen & (1 << VSIM_MODE_TRAIN))
        return step_mode == VSIM_MODE_TRAIN ? step_mode : -1;
    return step_mode == VSIM_MODE_GLOBAL ? step_mode : -1;
}

/* ---- LossNotDecreasing and ReconstructionStalled ---------------------------------------- */

static const rule_pdef lnd_params[] = {
    { "collection_names", RULE_P_STRING, "None", "collections whose scalars are losses" },
    { "tensor_regex", RULE_P_STRING, "None", "regexes of loss tensors (union with the above)" },
    { "use_losses_collection", RULE_P_BOOL, "True", "also use the collection 'losses'" },
    { "num_steps", RULE_P_INT, "10",
      "compare with the newest saved step at least num_steps behind; check every num_steps" },
    { "diff_percent", RULE_P_DOUBLE, "0.0",
      "fire unless the loss decreased by more than this percentage" },
    { "increase_threshold_percent", RULE_P_DOUBLE, "5",
      "fire if the loss rose more than this percentage above its minimum so far" },
    { "mode", RULE_P_MODE, "None", "TRAIN, EVAL or GLOBAL; None: vsim every mode saved, "
      "smdebug EVAL, then TRAIN, then GLOBAL" },
    { "z", RULE_P_DOUBLE, "3", "vsim: a change counts when beyond z standard errors of the "
      "window means (minibatch noise)" },
    { "warmup_steps", RULE_P_INT, "100", "vsim: no progress is expected before this global "
      "step (a slow start is not a stall)" },
};

static const rule_pdef rs_params[] = {
    { "metric", RULE_P_STRING, "ssim", "ssim or psnr (higher is better)" },
    { "tensor_regex", RULE_P_STRING, "None", "regex of the metric tensor; None: ^metrics/METRIC$" },
    { "num_steps", RULE_P_INT, "10", "compare with the newest saved step >= num_steps behind" },
    { "delta", RULE_P_DOUBLE, "0.001", "fire unless the metric improved by more than delta" },
    { "mode", RULE_P_MODE, "None", "TRAIN, EVAL or GLOBAL; None: EVAL, then TRAIN, then GLOBAL" },
};

static int lnd_setup(vsim_rule *r)
{
    if (vsim_rule_p(r, "num_steps")->i < 1)
        return vsim_fail(VSIM_EINVAL, "rule %s: num_steps must be >= 1", r->def->name);
    if (!strcmp(r->def->name, "LossNotDecreasing") &&
        !vsim_rule_p(r, "use_losses_collection")->i && !vsim_rule_p(r, "collection_names")->set &&
        !vsim_rule_p(r, "tensor_regex")->set)
        return vsim_fail(VSIM_EINVAL, "rule LossNotDecreasing: give collection_names or "
                         "tensor_regex when use_losses_collection is false");
    if (!strcmp(r->def->name, "ReconstructionStalled")) {
        const char *m = vsim_rule_p(r, "metric")->s;

        if (!m || (strcmp(m, "ssim") && strcmp(m, "psnr")))
            return vsim_fail(VSIM_EINVAL, "rule ReconstructionStalled: metric must be ssim or "
                             "psnr, not '%s'", m ? m : "None");
    }
    return tracks_setup(r);
}

static int lnd_bind(vsim_rule *r, rule_ctx *c)
{
    int rc;

    if (!strcmp(r->def->name, "ReconstructionStalled")) {
        char re[64];
        const rule_pval *tr = vsim_rule_p(r, "tensor_regex");

        snprintf(re, sizeof(re), "^metrics/%s$", vsim_rule_p(r, "metric")->s);
        return vsim_rule_bind_select(r, c, NULL, tr->set ? tr->s : re, RULE_NEED_VALUES);
    }
    rc = vsim_rule_bind_select(r, c, vsim_rule_p(r, "collection_names")->s,
                               vsim_rule_p(r, "tensor_regex")->s, RULE_NEED_VALUES);
    if (!rc && vsim_rule_p(r, "use_losses_collection")->i)
        rc = vsim_rule_bind_select(r, c, VSIM_COLL_LOSSES, NULL, RULE_NEED_VALUES);
    return rc;
}

/* Percentage by which cur is below prev (negative: it rose). */
static double decrease_pct(double prev, double cur)
{
    if (prev == 0.0)
        return cur < 0.0 ? (double)INFINITY : cur > 0.0 ? -(double)INFINITY : 0.0;
    return (prev - cur) / fabs(prev) * 100.0;
}

/* One tensor at one step: 1 fired, 0 evaluated, 2 nothing to compare, < 0 error. */
static int lnd_one(rule_ctx *c, const vsim_rule *r, track *t, const char *name, double v)
{
    const int64_t ms = c->step->mode_step, n = vsim_rule_p(r, "num_steps")->i;
    const int higher = !strcmp(r->def->name, "ReconstructionStalled");
    long k;
    int rc = 2;

    if (t->last_checked >= 0 && ms < t->last_checked + n)
        goto push;
    k = vsim_rule_series_newest_le(&t->s, ms - n);
    if (k < 0)
        goto push;
    t->last_checked = ms;
    rc = 0;
    if (higher) {
        double gain = v - t->s.v[k], delta = vsim_rule_p(r, "delta")->d;

        if (!(gain > delta))
            rc = vsim_rule_emit(c, VSIM_RULE_FIRED, name, t->s.gs[k], gain, delta,
                                "%s is %.6g, %.6g at step %lld: improved by %.6g, not more "
                                "than delta %.6g", name, v, t->s.v[k], (long long)t->s.gs[k],
                                gain, delta) ? -1 : 1;
    } else {
        double dec = decrease_pct(t->s.v[k], v), dp = vsim_rule_p(r, "diff_percent")->d;
        const rule_pval *inc = vsim_rule_p(r, "increase_threshold_percent");
        double limit = inc->set ? t->best + fabs(t->best) * inc->d / 100.0 : (double)INFINITY;

        if (!(dec > dp))
            rc = vsim_rule_emit(c, VSIM_RULE_FIRED, name, t->s.gs[k], dec, dp,
                                "%s is %.6g, %.6g at step %lld: decreased %.4g%%, not more "
                                "than diff_percent %.4g%%", name, v, t->s.v[k],
                                (long long)t->s.gs[k], dec, dp) ? -1 : 1;
        else if (v > limit)
            rc = vsim_rule_emit(c, VSIM_RULE_FIRED, name, -1, v, limit,
                                "%s is %.6g, more than %.4g%% above its minimum %.6g", name, v,
                                inc->d, t->best) ? -1 : 1;
    }
push:
    if (isnan(t->best) || (higher ? v > t->best : v < t->best))
        t->best = v;
    if (vsim_rule_series_push(&t->s, ms, c->step->step, v))
        return -1;
    return rc;
}

/* Mean and standard error of the mean of s->v[from .. from + w - 1] (se 0 for w = 1). */
static void window_stats(const rule_series *s, size_t from, size_t w, double *mean, double *se)
{
    double sum = 0.0, ss = 0.0;

    for (size_t i = from; i < from + w; i++)
        sum += s->v[i];
    *mean = sum / (double)w;
    for (size_t i = from; i < from + w; i++)
        ss += (s->v[i] - *mean) * (s->v[i] - *mean);
    *se = w > 1 ? sqrt(ss / (double)(w - 1) / (double)w) : 0.0;
}

/*
 * LossNotDecreasing with vsim semantics (docs/rules.md): the loss judged on window
 * means, not single minibatch values. TRAIN and GLOBAL: windows of num_steps saved
 * values, checked every num_steps mode steps once two windows exist; EVAL (one value
 * over the whole validation set each time): windows of one value, checked at every
 * evaluation. Fires when the newest window is not below the first by more than
 * max(diff_percent of it, z standard errors) -- the loss made no progress since the
 * start -- or is more than increase_threshold_percent plus z standard errors above
 * the best window so far -- it rose. 1 fired, 0 evaluated, 2 not checked, < 0 error.
 */
static int lnd_vsim(rule_ctx *c, const vsim_rule *r, track *t, const char *name, double v)
{
    const int64_t ms = c->step->mode_step, n = vsim_rule_p(r, "num_steps")->i;
    const int eval = t->mode == VSIM_MODE_EVAL;
    const size_t w = eval ? 1 : (size_t)n;
    const double z = vsim_rule_p(r, "z")->d, dp = vsim_rule_p(r, "diff_percent")->d;
    const rule_pval *inc = vsim_rule_p(r, "increase_threshold_percent");
    double m0, se0, m1, se1, need, limit;
    int rc = 0;

    if (vsim_rule_series_push(&t->s, ms, c->step->step, v))
        return -1;
    if (t->s.n < 2 * w || (!eval && t->last_checked >= 0 && ms < t->last_checked + n))
        return 2;
    t->last_checked = ms;
    window_stats(&t->s, 0, w, &m0, &se0);
    window_stats(&t->s, t->s.n - w, w, &m1, &se1);
    need = fmax(dp / 100.0 * fabs(m0), z * sqrt(se0 * se0 + se1 * se1));
    if (!(m0 - m1 > need) && c->step->step >= vsim_rule_p(r, "warmup_steps")->i)
        return vsim_rule_emit(c, VSIM_RULE_FIRED, name, t->s.gs[w - 1], decrease_pct(m0, m1),
                              dp, "%s: %s %.6g is not below the first%s %.6g (step %lld) by "
                              "more than %.4g (diff_percent %.4g%%, %.3g standard errors)",
                              name, w > 1 ? "the mean of the last window" : "the value",
                              m1, w > 1 ? " window's" : " value", m0,
                              (long long)t->s.gs[w - 1], need, dp, z) ? -1 : 1;
    limit = inc->set ? t->best + fabs(t->best) * inc->d / 100.0 +
                       z * sqrt(se1 * se1 + t->best_se * t->best_se)
                     : (double)INFINITY;
    if (!isnan(t->best) && m1 > limit)
        rc = vsim_rule_emit(c, VSIM_RULE_FIRED, name, -1, m1, limit, "%s: %s %.6g is more "
                            "than %.4g%% (and %.3g standard errors) above its best %.6g", name,
                            w > 1 ? "the mean of the last window" : "it", m1, inc->d, z,
                            t->best) ? -1 : 1;
    if (isnan(t->best) || m1 < t->best) {
        t->best = m1;
        t->best_se = se1;
    }
    return rc;
}

static int lnd_eval(vsim_rule *r, rule_ctx *c)
{
    tracks *ts = r->state;
    const int vsim = !r->smdebug && !strcmp(r->def->name, "LossNotDecreasing");
    int fired = 0, evaluated = 0;

    for (size_t k = 0; k < r->n_tensors; k++) {
        const rule_entry *e = vsim_rule_entry(c, r, k);
        int mode, rc;
        track *t;
        double v;

        if (!e)
            continue;
        if (vsim) {
            const rule_pval *m = vsim_rule_p(r, "mode");

            mode = !m->set || m->i == c->step->mode ? (int)c->step->mode : -1;
        } else {
            mode = follow_mode(vsim_rule_p(r, "mode"), ts, r->tensors[k], (int)c->step->mode);
        }
        if (mode == -2)
            return vsim_fail(VSIM_ENOMEM, "out of memory");
        v = vsim_rule_scalar(e);
        if (mode < 0 || isnan(v))
            continue;
        t = get_track(ts, r->tensors[k], mode);
        if (!t)
            return vsim_fail(VSIM_ENOMEM, "out of memory");
        rc = vsim ? lnd_vsim(c, r, t, vsim_rule_tensor_name(c, r->tensors[k]), v)
                  : lnd_one(c, r, t, vsim_rule_tensor_name(c, r->tensors[k]), v);
        if (rc < 0)
            return vsim_errstatus() ? vsim_errstatus() : VSIM_ENOMEM;
        fired |= rc == 1;
        evaluated |= rc <= 1;
    }
    return vsim_rule_answer(fired, evaluated);
}

/* ---- Overfit ------------------------------------------------------------------------------ */

static const rule_pdef overfit_params[] = {
    { "tensor_regex", RULE_P_STRING, "None", "regexes of loss tensors; None: collection losses" },
    { "start_step", RULE_P_INT, "0", "first (global) step at which losses are compared" },
    { "patience", RULE_P_INT, "1", "evaluations in a row over ratio_threshold before firing" },
    { "ratio_threshold", RULE_P_DOUBLE, "0.1",
      "(validation - mean training loss) / mean training loss above which it counts" },
    { "min_rise", RULE_P_DOUBLE, "0.01", "vsim: the validation loss must also be above its "
      "best so far by more than this fraction (a gap alone is not overfitting)" },
};

static int loss_bind(vsim_rule *r, rule_ctx *c)
{
    const rule_pval *tr = vsim_rule_p(r, "tensor_regex");

    return vsim_rule_bind_select(r, c, tr->set ? NULL : VSIM_COLL_LOSSES, tr->s,
                                 RULE_NEED_VALUES);
}

static int overfit_eval(vsim_rule *r, rule_ctx *c)
{
    tracks *ts = r->state;
    int fired = 0, evaluated = 0, rc = VSIM_OK;
    const int64_t patience = vsim_rule_p(r, "patience")->i;
    const double thr = vsim_rule_p(r, "ratio_threshold")->d;

    for (size_t k = 0; !rc && k < r->n_tensors; k++) {
        const rule_entry *e = vsim_rule_entry(c, r, k);
        const char *name = vsim_rule_tensor_name(c, r->tensors[k]);
        track *t = e ? get_track(ts, r->tensors[k], 0) : NULL;
        double v = e ? vsim_rule_scalar(e) : (double)NAN, mean, ratio;
        int rising;

        if (!e || isnan(v))
            continue;
        if (!t)
            return vsim_fail(VSIM_ENOMEM, "out of memory");
        if (c->step->mode == VSIM_MODE_TRAIN) {
            t->sum += v;
            t->n_sum++;
            continue;
        }
        if (c->step->mode != VSIM_MODE_EVAL || !t->n_sum ||
            c->step->step < vsim_rule_p(r, "start_step")->i)
            continue;
        mean = t->sum / (double)t->n_sum;
        ratio = (v - mean) / fabs(mean);
        t->sum = 0.0;
        t->n_sum = 0;
        evaluated = 1;
        /* vsim: overfitting is the validation loss getting worse while the gap is wide;
         * a steady generalisation gap of a model still improving is not */
        rising = r->smdebug || (!isnan(t->best) && v > t->best * (1.0 + vsim_rule_p(r,
                                                                  "min_rise")->d));
        if (isnan(t->best) || v < t->best)
            t->best = v;
        t->over = ratio > thr && rising ? t->over + 1 : 0;
        if (t->over >= patience) {
            fired = 1;
            rc = vsim_rule_emit(c, VSIM_RULE_FIRED, name, -1, ratio, thr,
                                "%s: validation %.6g vs mean training %.6g: ratio %.4g over "
                                "%.4g for %d evaluation(s)", name, v, mean, ratio, thr, t->over);
        }
    }
    if (rc)
        return rc;
    return vsim_rule_answer(fired, evaluated);
}

/* ---- Overtraining ------------------------------------------------------------------------- */

static const rule_pdef overtraining_params[] = {
    { "patience_train", RULE_P_INT, "5", "training steps (vsim: windows) without a new "
      "optimum before firing" },
    { "patience_validation", RULE_P_INT, "2",
      "validation steps without a new optimum before firing" },
    { "delta", RULE_P_DOUBLE, "0.01",
      "relative improvement (fraction of the best loss) that makes a new optimum" },
    { "tensor_regex", RULE_P_STRING, "None", "regexes of loss tensors; None: collection losses" },
    { "window", RULE_P_INT, "10", "vsim: training losses are judged on means of this many "
      "values (an evaluation is one value)" },
    { "z", RULE_P_DOUBLE, "3", "vsim: a new optimum must also be beyond z standard errors" },
};

/*
 * Overtraining with vsim semantics: TRAIN losses judged on means of `window`
 * values (one check a window), EVAL losses one value an evaluation; a new optimum
 * must be below the best by more than max(delta of it, z standard errors of the
 * two window means). Fires when patience_train windows (patience_validation
 * evaluations) went by without one. 1 fired, 0 evaluated, 2 not checked, < 0 error.
 */
static int overtraining_vsim(rule_ctx *c, const vsim_rule *r, track *t, const char *name,
                             double v)
{
    const int eval = t->mode == VSIM_MODE_EVAL;
    const size_t w = eval ? 1 : (size_t)vsim_rule_p(r, "window")->i;
    const int64_t patience = vsim_rule_p(r, eval ? "patience_validation" : "patience_train")->i;
    const double delta = vsim_rule_p(r, "delta")->d, z = vsim_rule_p(r, "z")->d;
    double m, se;

    if (vsim_rule_series_push(&t->s, c->step->mode_step, c->step->step, v))
        return -1;
    if (t->s.n < w || t->s.n % w)
        return 2;
    window_stats(&t->s, t->s.n - w, w, &m, &se);
    if (isnan(t->best) ||
        m < t->best - fmax(delta * fabs(t->best), z * sqrt(se * se + t->best_se * t->best_se))) {
        t->best = m;
        t->best_se = se;
        t->since = 0;
        return 0;
    }
    if (++t->since < patience)
        return 0;
    return vsim_rule_emit(c, VSIM_RULE_FIRED, name, -1, (double)t->since, (double)patience,
                          "%s (%s): no new optimum (below %.6g by more than %.3g of it and "
                          "%.3g standard errors) for %lld %s", name,
                          vsim_mode_name((vsim_mode)t->mode), t->best, delta, z,
                          (long long)t->since, eval ? "evaluations" : "windows") ? -1 : 1;
}

static int overtraining_eval(vsim_rule *r, rule_ctx *c)
{
    tracks *ts = r->state;
    const int mode = (int)c->step->mode;
    const double delta = vsim_rule_p(r, "delta")->d;
    int fired = 0, evaluated = 0, rc = VSIM_OK;

    if (mode != VSIM_MODE_TRAIN && mode != VSIM_MODE_EVAL)
        return VSIM_RULE_SKIP;
    for (size_t k = 0; !rc && k < r->n_tensors; k++) {
        const rule_entry *e = vsim_rule_entry(c, r, k);
        const char *name = vsim_rule_tensor_name(c, r->tensors[k]);
        const int64_t patience = vsim_rule_p(r, mode == VSIM_MODE_TRAIN ? "patience_train"
                                                                        : "patience_validation")->i;
        /* vsim: the validation loss once it exists (smooth), the training loss before */
        int follow = r->smdebug || !e ? mode : follow_mode(NULL, ts, r->tensors[k], mode);
        track *t = e && follow == mode ? get_track(ts, r->tensors[k], mode) : NULL;
        double v = e ? vsim_rule_scalar(e) : (double)NAN;

        if (follow == -2)
            return vsim_fail(VSIM_ENOMEM, "out of memory");
        if (!e || isnan(v) || follow != mode)
            continue;
        if (!t)
            return vsim_fail(VSIM_ENOMEM, "out of memory");
        if (!r->smdebug) {
            int o = overtraining_vsim(c, r, t, name, v);

            if (o < 0)
                return vsim_errstatus() ? vsim_errstatus() : VSIM_ENOMEM;
            fired |= o == 1;
            evaluated |= o <= 1;
            continue;
        }
        evaluated = 1;
        if (isnan(t->best) || v < t->best - delta * fabs(t->best)) {
            t->best = v;
            t->since = 0;
            continue;
        }
        if (++t->since >= patience) {
            fired = 1;
            rc = vsim_rule_emit(c, VSIM_RULE_FIRED, name, -1, (double)t->since,
                                (double)patience, "%s (%s): no new optimum (by %.3g of %.6g) "
                                "for %lld steps", name, vsim_mode_name((vsim_mode)mode), delta,
                                t->best, (long long)t->since);
        }
    }
    if (rc)
        return rc;
    return vsim_rule_answer(fired, evaluated);
}

/* ---- StalledTrainingRule ------------------------------------------------------------------ */

static const rule_pdef stalled_params[] = {
    { "threshold", RULE_P_INT, "1800", "seconds without a new step before firing" },
    { "stop_training_on_fire", RULE_P_BOOL, "False", "write STOP into the run when it fires" },
    { "training_job_name_prefix", RULE_P_STRING, "None", "accepted for compatibility; unused" },
};

static int stalled_setup(vsim_rule *r)
{
    r->had_tensors = 1;
    return tracks_setup(r);
}

static int stalled_fire(vsim_rule *r, rule_ctx *c, double gap)
{
    const double thr = (double)vsim_rule_p(r, "threshold")->i;
    int rc = vsim_rule_emit(c, VSIM_RULE_FIRED, NULL, -1, gap, thr,
                            "no new step for %.1f s (threshold %.0f s)", gap, thr);

    if (!rc && vsim_rule_p(r, "stop_training_on_fire")->i) {
        vsim_buf path = VSIM_BUF_INIT;
        static const char body[] = "{\"reason\": \"StalledTrainingRule\"}\n";

        rc = vsim_buf_addf(&path, "%s/%s", vsim_trial_dir(c->trial), VSIM_RUN_STOP);
        if (!rc)
            rc = vsim_fs_write_atomic(path.buf, body, sizeof(body) - 1, 1);
        vsim_buf_release(&path);
    }
    return rc;
}

static int stalled_eval(vsim_rule *r, rule_ctx *c)
{
    tracks *ts = r->state;
    double gap = c->step->wall_time - ts->last_wall;
    int rc = VSIM_OK, fired = 0;

    if (!isnan(ts->last_wall) && gap > (double)vsim_rule_p(r, "threshold")->i) {
        rc = stalled_fire(r, c, gap);
        fired = 1;
    }
    if (!isnan(c->step->wall_time))
        ts->last_wall = c->step->wall_time;
    return rc ? rc : fired ? VSIM_RULE_FIRED : VSIM_RULE_NOT_FIRED;
}

static int stalled_idle(vsim_rule *r, rule_ctx *c, int final)
{
    tracks *ts = r->state;
    const double thr = (double)vsim_rule_p(r, "threshold")->i;
    double gap;

    if (c->watch) {
        gap = c->now - c->last_arrival;
        if (gap <= thr || ts->stall_fired_at == c->last_arrival)
            return VSIM_RULE_NOT_FIRED;
        ts->stall_fired_at = c->last_arrival;
        return stalled_fire(r, c, gap) ? VSIM_ENOMEM : VSIM_RULE_FIRED;
    }
    if (!final || isnan(ts->last_wall) || vsim_trial_ended(c->trial, NULL, NULL))
        return VSIM_RULE_NOT_FIRED;
    gap = c->now - ts->last_wall;
    if (gap <= thr)
        return VSIM_RULE_NOT_FIRED;
    return stalled_fire(r, c, gap) ? VSIM_ENOMEM : VSIM_RULE_FIRED;
}

const rule_def vsim_rules_loss_defs[] = {
    { "LossNotDecreasing",
      "vsim: fires when a loss's window mean (num_steps training values; one evaluation) "
      "made no progress since the first window (diff_percent, z standard errors), or rose "
      "more than increase_threshold_percent (and z standard errors) above its best window; "
      "smdebug: when a loss did not decrease (by more than diff_percent) against the newest "
      "saved step at least num_steps behind, or rose more than increase_threshold_percent "
      "above its minimum; checked every num_steps steps of the mode followed",
      lnd_params, VSIM_ARRAY_LEN(lnd_params), lnd_setup, lnd_bind, lnd_eval, NULL,
      tracks_destroy },
    { "Overfit",
      "fires when (validation loss - mean training loss since the previous evaluation) / mean "
      "training loss exceeds ratio_threshold for patience evaluations in a row (vsim: while "
      "the validation loss is more than min_rise above its best)",
      overfit_params, VSIM_ARRAY_LEN(overfit_params), tracks_setup, loss_bind, overfit_eval,
      NULL, tracks_destroy },
    { "Overtraining",
      "fires when the training loss found no new optimum for patience_train steps, or the "
      "validation loss none for patience_validation steps",
      overtraining_params, VSIM_ARRAY_LEN(overtraining_params), tracks_setup, loss_bind,
      overtraining_eval, NULL, tracks_destroy },
    { "StalledTrainingRule",
      "fires when no new step was saved for threshold seconds (watching: since the last step "
      "arrived; offline: gaps between steps' wall times, and an unfinished run's last step)",
      stalled_params, VSIM_ARRAY_LEN(stalled_params), stalled_setup, NULL, stalled_eval,
      stalled_idle, tracks_destroy },
    { "ReconstructionStalled",
      "fires when the probe images' SSIM or PSNR (metrics/ssim, metrics/psnr) did not improve "
      "by more than delta against the newest saved step at least num_steps behind",
      rs_params, VSIM_ARRAY_LEN(rs_params), lnd_setup, lnd_bind, lnd_eval, NULL,
      tracks_destroy },
};

const size_t vsim_rules_loss_n = VSIM_ARRAY_LEN(vsim_rules_loss_defs);
