/*
 * sweep/study.c - Optuna 3.1's PercentilePruner (MedianPruner) and
 * SuccessiveHalvingPruner over a study of trials (sweep/study.h). The numbers
 * follow numpy where Optuna calls it: np.nanmin for a trial's best value and
 * np.nanpercentile (linear, numpy's _lerp) for the others' percentile.
 */
#include "sweep/study.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/vsim.h"

typedef struct trial {
    int64_t *steps;
    double *values;
    size_t n, cap;
    vsim_trial_state state;
    double *rungs;        /* ASHA: the value recorded at each completed rung */
    size_t n_rungs, cap_rungs;
} trial;

struct vsim_study {
    vsim_pruner p;
    trial *t;
    size_t n, cap;
};

static int parse_setting(vsim_pruner *p, const char *key, size_t klen, const char *val)
{
    char *end;
    long long v = strtoll(val, &end, 10);

    if (end == val || (*end && *end != ','))
        return vsim_fail(VSIM_EINVAL, "pruner setting '%.*s': '%s' is not an integer",
                         (int)klen, key, val);
#define IS(k) (klen == strlen(k) && !strncmp(key, k, klen))
    if (IS("startup") && v >= 0) p->n_startup_trials = (int)v;
    else if (IS("warmup") && v >= 0) p->n_warmup_steps = v;
    else if (IS("interval") && v >= 1) p->interval_steps = v;
    else if (IS("min_trials") && v >= 1) p->n_min_trials = (int)v;
    else if (IS("min_resource") && v >= 1) p->min_resource = v;
    else if (IS("rf") && v >= 2) p->reduction_factor = (int)v;
    else if (IS("rate") && v >= 0) p->min_early_stopping_rate = (int)v;
    else
        return vsim_fail(VSIM_EINVAL, "pruner setting '%.*s=%lld': unknown or out of range "
                         "(startup>=0, warmup>=0, interval>=1, min_trials>=1, "
                         "min_resource>=1, rf>=2, rate>=0)", (int)klen, key, v);
#undef IS
    return VSIM_OK;
}

int vsim_pruner_parse(const char *spec, vsim_pruner *out)
{
    vsim_pruner p = VSIM_PRUNER_MEDIAN;
    size_t n = strcspn(spec, ",");
    const char *s;

    if (n == 4 && !strncmp(spec, "none", 4)) {
        p.kind = VSIM_PRUNE_NONE;
    } else if (n == 6 && !strncmp(spec, "median", 6)) {
        p.kind = VSIM_PRUNE_PERCENTILE;
    } else if (n == 4 && !strncmp(spec, "asha", 4)) {
        p.kind = VSIM_PRUNE_ASHA;
    } else if (n > 11 && !strncmp(spec, "percentile:", 11)) {
        char *end;

        p.percentile = strtod(spec + 11, &end);
        if (end != spec + n || !(p.percentile >= 0.0 && p.percentile <= 100.0))
            return vsim_fail(VSIM_EINVAL, "pruner '%s': the percentile must be a number "
                             "from 0 to 100", spec);
    } else {
        return vsim_fail(VSIM_EINVAL, "pruner '%.*s': expected none, median, percentile:Q "
                         "or asha", (int)n, spec);
    }
    for (s = spec + n; *s == ','; s += strcspn(s + 1, ",") + 1) {
        const char *eq = strchr(s + 1, '=');
        int rc;

        if (!eq || eq > s + 1 + strcspn(s + 1, ","))
            return vsim_fail(VSIM_EINVAL, "pruner '%s': settings are key=value", spec);
        if ((rc = parse_setting(&p, s + 1, (size_t)(eq - s - 1), eq + 1)))
            return rc;
    }
    *out = p;
    return VSIM_OK;
}

int vsim_study_create(const vsim_pruner *p, vsim_study **out)
{
    vsim_study *s = vsim_calloc(1, sizeof(*s));

    if (!s)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    s->p = *p;
    *out = s;
    return VSIM_OK;
}

void vsim_study_destroy(vsim_study *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        vsim_free(s->t[i].steps);
        vsim_free(s->t[i].values);
        vsim_free(s->t[i].rungs);
    }
    vsim_free(s->t);
    vsim_free(s);
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    void *q;
    size_t c = *cap ? *cap : 8;

    if (need <= *cap)
        return VSIM_OK;
    while (c < need)
        c *= 2;
    if (!(q = vsim_reallocarray(*p, c, size)))
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    *p = q;
    *cap = c;
    return VSIM_OK;
}

int vsim_study_add_trial(vsim_study *s, size_t *id)
{
    int rc = grow((void **)&s->t, &s->cap, s->n + 1, sizeof(trial));

    if (rc)
        return rc;
    memset(&s->t[s->n], 0, sizeof(trial));
    *id = s->n++;
    return VSIM_OK;
}

void vsim_study_set_state(vsim_study *s, size_t id, vsim_trial_state state)
{
    if (id < s->n)
        s->t[id].state = state;
}

static int value_at(const trial *t, int64_t step, double *v)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->steps[i] == step) {
            *v = t->values[i];
            return 1;
        }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* np.nanpercentile(a, q) with the default linear method, numpy's _lerp included. */
static double nanpercentile(double *a, size_t n, double q)
{
    size_t m = 0, lo, hi;
    double virt, gamma, diff;

    for (size_t i = 0; i < n; i++)
        if (!isnan(a[i]))
            a[m++] = a[i];
    if (!m)
        return (double)NAN;
    qsort(a, m, sizeof(double), cmp_double);
    virt = (double)(m - 1) * (q / 100.0);
    lo = (size_t)floor(virt);
    if (lo > m - 1)
        lo = m - 1;
    hi = lo + 1 < m ? lo + 1 : m - 1;
    gamma = virt - (double)lo;
    diff = a[hi] - a[lo];
    return gamma >= 0.5 ? a[hi] - diff * (1.0 - gamma) : a[lo] + diff * gamma;
}

static int percentile_decide(vsim_study *s, size_t id, int64_t step, vsim_prune_decision *d)
{
    const vsim_pruner *p = &s->p;
    const trial *t = &s->t[id];
    size_t n_complete = 0, n_vals = 0;
    int64_t nearest, second_last = -1;
    double best = (double)NAN, *vals;

    for (size_t i = 0; i < s->n; i++)
        n_complete += s->t[i].state == VSIM_TRIAL_COMPLETE;
    d->n_reference = n_complete;
    if (n_complete == 0 || n_complete < (size_t)p->n_startup_trials) {
        d->why = "startup trials";
        return VSIM_OK;
    }
    if (step < p->n_warmup_steps) {
        d->why = "warm-up";
        return VSIM_OK;
    }
    nearest = (step - p->n_warmup_steps) / p->interval_steps * p->interval_steps +
              p->n_warmup_steps;
    for (size_t i = 0; i < t->n; i++)
        if (t->steps[i] > second_last && t->steps[i] != step)
            second_last = t->steps[i];
    if (!(second_last < nearest)) {
        d->why = "between checks";
        return VSIM_OK;
    }
    for (size_t i = 0; i < t->n; i++)   /* np.nanmin */
        if (!isnan(t->values[i]) && (isnan(best) || t->values[i] < best))
            best = t->values[i];
    d->value = best;
    if (isnan(best)) {
        d->prune = 1;
        d->why = "no finite value";
        return VSIM_OK;
    }
    if (!(vals = vsim_mallocarray(n_complete, sizeof(double))))
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    for (size_t i = 0; i < s->n; i++)
        if (s->t[i].state == VSIM_TRIAL_COMPLETE && value_at(&s->t[i], step, &vals[n_vals]))
            n_vals++;
    d->n_reference = n_vals;
    if (n_vals < (size_t)p->n_min_trials) {
        d->why = "too few trials at this step";
    } else {
        d->reference = nanpercentile(vals, n_vals, p->percentile);
        if (isnan(d->reference)) {
            d->why = "no finite reference";
        } else {
            d->prune = best > d->reference;
            d->why = d->prune ? "worse than the percentile" : "within the percentile";
        }
    }
    vsim_free(vals);
    return VSIM_OK;
}

static int asha_decide(vsim_study *s, size_t id, int64_t step, double value,
                       vsim_prune_decision *d)
{
    const vsim_pruner *p = &s->p;
    trial *t = &s->t[id];
    int rc;

    d->value = value;
    d->why = "before the next rung";
    for (;;) {
        int r = (int)t->n_rungs;
        double rung_step = (double)p->min_resource *
                           pow((double)p->reduction_factor, p->min_early_stopping_rate + r);
        size_t n = 0, idx;
        double *comp;

        d->rung = r;
        if ((double)step < rung_step)
            return VSIM_OK;
        if (isnan(value)) {
            d->prune = 1;
            d->why = "no finite value";
            return VSIM_OK;
        }
        /* the other trials' values at this rung (any state), then this one's */
        if (!(comp = vsim_mallocarray(s->n + 1, sizeof(double))))
            return vsim_fail(VSIM_ENOMEM, "out of memory");
        for (size_t i = 0; i < s->n; i++)
            if (i != id && s->t[i].n_rungs > (size_t)r)
                comp[n++] = s->t[i].rungs[r];
        comp[n++] = value;
        if ((rc = grow((void **)&t->rungs, &t->cap_rungs, t->n_rungs + 1, sizeof(double)))) {
            vsim_free(comp);
            return rc;
        }
        t->rungs[t->n_rungs++] = value;
        idx = n / (size_t)p->reduction_factor;
        idx = idx ? idx - 1 : 0;
        qsort(comp, n, sizeof(double), cmp_double);
        d->reference = comp[idx];
        d->n_reference = n - 1;
        vsim_free(comp);
        if (!(value <= d->reference)) {
            d->prune = 1;
            d->why = "not in the rung's top 1/rf";
            return VSIM_OK;
        }
        d->why = "promoted";
    }
}

int vsim_study_report(vsim_study *s, size_t id, int64_t step, double value,
                      vsim_prune_decision *d)
{
    trial *t;
    int64_t last = -1;
    double v;

    *d = (vsim_prune_decision){ .step = step, .value = value, .reference = (double)NAN,
                                .rung = -1, .why = "no pruner" };
    if (id >= s->n)
        return vsim_fail(VSIM_EINVAL, "no trial %zu", id);
    t = &s->t[id];
    if (!value_at(t, step, &v)) {   /* Optuna ignores a step reported again */
        if (t->n == t->cap) {
            size_t c = t->cap ? 2 * t->cap : 16;
            int64_t *st = vsim_reallocarray(t->steps, c, sizeof(int64_t));
            double *va;

            if (st)
                t->steps = st;
            va = st ? vsim_reallocarray(t->values, c, sizeof(double)) : NULL;
            if (!va)
                return vsim_fail(VSIM_ENOMEM, "out of memory");
            t->values = va;
            t->cap = c;
        }
        t->steps[t->n] = step;
        t->values[t->n++] = value;
    }
    for (size_t i = 0; i < t->n; i++)   /* trial.last_step */
        if (t->steps[i] > last)
            last = t->steps[i];
    d->step = last;
    value_at(t, last, &d->value);
    if (s->p.kind == VSIM_PRUNE_PERCENTILE)
        return percentile_decide(s, id, last, d);
    if (s->p.kind == VSIM_PRUNE_ASHA)
        return asha_decide(s, id, last, d->value, d);
    return VSIM_OK;
}
