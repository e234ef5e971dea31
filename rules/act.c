/*
 * rules/act.c - rules over activations and inputs: DeadRelu, SaturatedActivation
 * and CheckInputImages (smdebug's built-ins). A "node" is one feature of a
 * (batch, features) tensor or one channel of a (batch, channels, ...) tensor;
 * its activity is the fraction of its values (over the batch and positions)
 * in the active range. Layer activation kinds come from run.json's model.
 * SPDX-License-Identifier: MIT
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "core/omp.h"
#include "rules/rules_int.h"

/* Split t into (batch, nodes, positions). */
static void node_dims(const vsim_tensor *t, size_t *b, size_t *c, size_t *s)
{
    *b = 1;
    *c = t->ndim >= 1 ? t->shape[0] : 1;
    *s = 1;
    if (t->ndim >= 2) {
        *b = t->shape[0];
        *c = t->shape[1];
        for (int i = 2; i < t->ndim; i++)
            *s *= t->shape[i];
    }
}

/*
 * Count nodes whose activity (percentage of values v with lo < v < hi) is below
 * inactivity_pct. OpenMP across nodes; integer counts, so thread-independent.
 */
static size_t count_inactive(const vsim_tensor *t, double lo, double hi, double inactivity_pct,
                             size_t *n_nodes, int n_threads)
{
    size_t b, c, s, n_inactive = 0;
    long nc;
    int par;

    node_dims(t, &b, &c, &s);
    nc = (long)c;
    *n_nodes = c;
    par = b * c * s >= RULE_PAR_MIN_ELEMS;
#ifndef _OPENMP
    (void)n_threads;
    (void)par;
#endif
#pragma omp parallel for schedule(static) default(none) \
    shared(t, b, c, s, nc, lo, hi, inactivity_pct) reduction(+ : n_inactive) \
    num_threads(vsim_omp_resolve(n_threads)) if (par)
    for (long j = 0; j < nc; j++) {
        size_t active = 0;

        for (size_t i = 0; i < b; i++)
            for (size_t k = 0; k < s; k++) {
                double v = vsim_tensor_load(t, (i * c + (size_t)j) * s + k);

                active += v > lo && v < hi;
            }
        if (100.0 * (double)active / (double)(b * s) < inactivity_pct)
            n_inactive++;
    }
    return n_inactive;
}

/* Activation kinds of bound tensors, cached at bind time (indexed by tensor index). */
enum { ACT_UNKNOWN = 0, ACT_RELU, ACT_SIGMOID, ACT_TANH, ACT_OTHER };

typedef struct act_state {
    unsigned char *kind;       /* per tensor index */
    unsigned char *is_input;   /* 1: the tensor is the activation's input (name *_input) */
    size_t n;
    double *sum;               /* CheckInputImages: per channel */
    double *cnt;
    size_t n_ch;
    uint64_t n_samples;
} act_state;

static int act_setup(vsim_rule *r)
{
    r->state = vsim_calloc(1, sizeof(act_state));
    return r->state ? VSIM_OK : vsim_fail(VSIM_ENOMEM, "out of memory");
}

static void act_destroy(vsim_rule *r)
{
    act_state *s = r->state;

    if (!s)
        return;
    vsim_free(s->kind);
    vsim_free(s->is_input);
    vsim_free(s->sum);
    vsim_free(s->cnt);
    vsim_free(s);
}

/*
 * The activation function of layer LAYER for tensor "activations/LAYER" from
 * run.json's model layers ("relu", "sigmoid", "none", ...), or NULL.
 */
static const char *layer_act(const json_t *layers, const char *tensor)
{
    const char *layer = strchr(tensor, '/');
    const json_t *l;
    size_t i;

    if (!layer)
        return NULL;
    json_array_foreach(layers, i, l) {
        const char *name = json_string_value(json_object_get(l, "name"));
        const char *act = json_string_value(json_object_get(l, "act"));

        if (name && act && !strcmp(name, layer + 1))
            return act;
    }
    return NULL;
}

static int kind_of(const json_t *layers, const char *name)
{
    const char *act = layer_act(layers, name);

    if (act)
        return !strcmp(act, "relu") ? ACT_RELU : !strcmp(act, "sigmoid") ? ACT_SIGMOID
               : !strcmp(act, "tanh") ? ACT_TANH : ACT_OTHER;
    if (strstr(name, "relu"))
        return ACT_RELU;
    if (strstr(name, "sigmoid"))
        return ACT_SIGMOID;
    if (strstr(name, "tanh"))
        return ACT_TANH;
    return ACT_UNKNOWN;
}

/*
 * Bind the tensors of a rule: tensor_regex if given; otherwise the activations
 * collection filtered to layers whose kind is in kinds (a bit mask), plus
 * smdebug's default regexes (default_re).
 */
static int act_bind_kinds(vsim_rule *r, rule_ctx *c, unsigned kinds, const char *default_re)
{
    act_state *s = r->state;
    const rule_pval *tr = vsim_rule_p(r, "tensor_regex");
    size_t n = vsim_trial_n_tensors(c->trial), *idx = NULL, n_idx = 0, n_old = s->n;
    int rc;

    if (n > s->n) {
        unsigned char *nk = vsim_realloc(s->kind, n), *ni;

        if (!nk)
            return vsim_fail(VSIM_ENOMEM, "out of memory");
        s->kind = nk;
        ni = vsim_realloc(s->is_input, n);
        if (!ni)
            return vsim_fail(VSIM_ENOMEM, "out of memory");
        s->is_input = ni;
        s->n = n;
    }
    if (n > n_old) {
        /* classify the tensors new since the last bind; run.json is parsed once */
        const char *text = vsim_trial_run_json(c->trial);
        json_t *root = text ? json_loads(text, 0, NULL) : NULL;
        const json_t *layers = json_object_get(json_object_get(root, "model"), "layers");

        for (size_t ti = n_old; ti < n; ti++) {
            const char *name = vsim_rule_tensor_name(c, ti);
            size_t len = strlen(name);

            s->kind[ti] = (unsigned char)kind_of(layers, name);
            s->is_input[ti] = len >= 6 && !strcmp(name + len - 6, "_input");
        }
        json_decref(root);
    }
    if (tr->set)
        return vsim_rule_bind_select(r, c, NULL, tr->s, RULE_NEED_VALUES);
    rc = vsim_rule_bind_select(r, c, NULL, default_re, RULE_NEED_VALUES);
    if (!rc)
        rc = vsim_trial_match(c->trial, VSIM_COLL_ACTIVATIONS, NULL, &idx, &n_idx);
    for (size_t i = 0; !rc && i < n_idx; i++)
        if (kinds & (1u << s->kind[idx[i]]))
            rc = vsim_rule_bind_add(r, idx[i], RULE_NEED_VALUES);
    vsim_free(idx);
    return rc;
}

/* ---- DeadRelu ----------------------------------------------------------------------------- */

static const rule_pdef dr_params[] = {
    { "tensor_regex", RULE_P_STRING, "None",
      "regexes of ReLU outputs; None: relu layers of collection activations, .*relu_output" },
    { "threshold_inactivity", RULE_P_DOUBLE, "1.0",
      "a node active (> 0) in less than this percentage of its values is dead" },
    { "threshold_layer", RULE_P_DOUBLE, "90.0",
      "fire when more than this percentage of a layer's nodes are dead" },
};

static int dr_bind(vsim_rule *r, rule_ctx *c)
{
    return act_bind_kinds(r, c, 1u << ACT_RELU, ".*relu_output");
}

static int layer_eval(vsim_rule *r, rule_ctx *c, int dead_relu)
{
    act_state *s = r->state;
    const double inact = vsim_rule_p(r, "threshold_inactivity")->d;
    const double thr = vsim_rule_p(r, "threshold_layer")->d;
    int fired = 0, evaluated = 0;

    for (size_t k = 0; k < r->n_tensors; k++) {
        const rule_entry *e = vsim_rule_entry(c, r, k);
        const size_t ti = r->tensors[k];
        const char *name = vsim_rule_tensor_name(c, ti);
        double lo = 0.0, hi = (double)INFINITY, pct;
        size_t n_nodes, n_bad;

        if (!e || !e->has_values || !vsim_tensor_n_elems(&e->view))
            continue;
        if (!dead_relu) {
            const rule_pval *rg = vsim_rule_p(r, s->kind[ti] == ACT_TANH || strstr(name, "tanh")
                                                     ? "threshold_tanh" : "threshold_sigmoid");
            int tanh_ = rg == vsim_rule_p(r, "threshold_tanh");

            lo = rg->lo;
            hi = rg->hi;
            if (!s->is_input[ti]) {   /* outputs: map the input range through the function */
                lo = tanh_ ? tanh(lo) : 1.0 / (1.0 + exp(-lo));
                hi = tanh_ ? tanh(hi) : 1.0 / (1.0 + exp(-hi));
            }
        }
        n_bad = count_inactive(&e->view, lo, hi, inact, &n_nodes, c->n_threads);
        pct = 100.0 * (double)n_bad / (double)n_nodes;
        evaluated = 1;
        if (pct > thr) {
            fired = 1;
            if (vsim_rule_emit(c, VSIM_RULE_FIRED, name, -1, pct, thr,
                               "%s: %zu of %zu nodes (%.4g%%) %s", name, n_bad, n_nodes, pct,
                               dead_relu ? "dead" : "saturated"))
                return VSIM_ENOMEM;
        }
    }
    return vsim_rule_answer(fired, evaluated);
}

static int dr_eval(vsim_rule *r, rule_ctx *c)
{
    return layer_eval(r, c, 1);
}

/* ---- SaturatedActivation ------------------------------------------------------------------ */

static const rule_pdef sa_params[] = {
    { "collection_names", RULE_P_STRING, "None", "accepted for compatibility (see tensor_regex)" },
    { "tensor_regex", RULE_P_STRING, "None", "regexes of tanh/sigmoid tensors; None: sigmoid and "
      "tanh layers of collection activations, .*tanh_input, .*sigmoid_input" },
    { "threshold_tanh", RULE_P_RANGE, "(-9.4999, 9.4999)", "tanh inputs outside are saturated" },
    { "threshold_sigmoid", RULE_P_RANGE, "(-23, 16.99999)",
      "sigmoid inputs outside are saturated" },
    { "threshold_inactivity", RULE_P_DOUBLE, "1.0",
      "a node inside the range in less than this percentage of its values is saturated" },
    { "threshold_layer", RULE_P_DOUBLE, "50.0",
      "fire when more than this percentage of a layer's nodes are saturated" },
};

static int sa_bind(vsim_rule *r, rule_ctx *c)
{
    const rule_pval *cn = vsim_rule_p(r, "collection_names");
    int rc = act_bind_kinds(r, c, (1u << ACT_SIGMOID) | (1u << ACT_TANH),
                            ".*tanh_input,.*sigmoid_input");

    if (!rc && cn->set)
        rc = vsim_rule_bind_select(r, c, cn->s, NULL, RULE_NEED_VALUES);
    return rc;
}

static int sa_eval(vsim_rule *r, rule_ctx *c)
{
    return layer_eval(r, c, 0);
}

/* ---- CheckInputImages --------------------------------------------------------------------- */

static const rule_pdef cii_params[] = {
    { "threshold_mean", RULE_P_DOUBLE, "None", "fire when a channel's mean differs more from 0" },
    { "threshold_std", RULE_P_DOUBLE, "0.01",
      "fire when the images' mean per-image standard deviation is below (constant images)" },
    { "threshold_samples", RULE_P_INT, "500", "images to see before judging" },
    { "regex", RULE_P_STRING, "^images/input$", "regex of the input image tensor" },
    { "channel", RULE_P_INT, "1", "axis of the colour channel (NCHW: 1)" },
};

static int cii_bind(vsim_rule *r, rule_ctx *c)
{
    return vsim_rule_bind_select(r, c, NULL, vsim_rule_p(r, "regex")->s, RULE_NEED_VALUES);
}

/* Add the per-channel sums of t (channel axis ax) to the state. */
static int cii_add(act_state *s, const vsim_tensor *t, int ax)
{
    size_t n_ch = ax < t->ndim ? t->shape[ax] : 1, inner = 1, n = vsim_tensor_n_elems(t);

    if (!s->sum) {
        s->sum = vsim_calloc(n_ch, sizeof(double));
        s->cnt = vsim_calloc(n_ch, sizeof(double));
        s->n_ch = n_ch;
        if (!s->sum || !s->cnt)
            return vsim_fail(VSIM_ENOMEM, "out of memory");
    }
    if (n_ch != s->n_ch)
        return VSIM_OK;
    for (int i = ax + 1; i < t->ndim; i++)
        inner *= t->shape[i];
    for (size_t i = 0; i < n; i++) {
        size_t ch = ax < t->ndim ? (i / inner) % n_ch : 0;

        s->sum[ch] += vsim_tensor_load(t, i);
        s->cnt[ch] += 1.0;
    }
    s->n_samples += t->ndim ? t->shape[0] : 1;
    return VSIM_OK;
}

/* The mean over the images (first axis) of each image's standard deviation. */
static double mean_image_std(const vsim_tensor *t)
{
    size_t n_img = t->ndim ? t->shape[0] : 1, n = vsim_tensor_n_elems(t);
    size_t per = n_img ? n / n_img : 0;
    double acc = 0.0;

    if (!per)
        return (double)NAN;
    for (size_t i = 0; i < n_img; i++) {
        double sum = 0.0, sq = 0.0;

        for (size_t e = 0; e < per; e++) {
            double x = vsim_tensor_load(t, i * per + e);

            sum += x;
            sq += x * x;
        }
        acc += sqrt(fmax(sq / (double)per - (sum / (double)per) * (sum / (double)per), 0.0));
    }
    return acc / (double)n_img;
}

static int cii_eval(vsim_rule *r, rule_ctx *c)
{
    act_state *s = r->state;
    const double thr = vsim_rule_p(r, "threshold_mean")->d;
    const rule_pval *tstd = vsim_rule_p(r, "threshold_std");
    int fired = 0, evaluated = 0;

    for (size_t k = 0; k < r->n_tensors; k++) {
        const rule_entry *e = vsim_rule_entry(c, r, k);
        const char *name = vsim_rule_tensor_name(c, r->tensors[k]);

        if (!e || !e->has_values)
            continue;
        if (tstd->set) {
            double sd = mean_image_std(&e->view);

            evaluated = 1;
            if (sd < tstd->d) {
                fired = 1;
                if (vsim_rule_emit(c, VSIM_RULE_FIRED, name, -1, sd, tstd->d,
                                   "%s: the images are constant: mean per-image standard "
                                   "deviation %.4g is below %.4g", name, sd, tstd->d))
                    return VSIM_ENOMEM;
            }
        }
        if (!vsim_rule_p(r, "threshold_mean")->set)
            break;
        if (cii_add(s, &e->view, (int)vsim_rule_p(r, "channel")->i))
            return VSIM_ENOMEM;
        if (s->n_samples < (uint64_t)vsim_rule_p(r, "threshold_samples")->i)
            continue;
        evaluated = 1;
        for (size_t ch = 0; ch < s->n_ch; ch++) {
            double mean = s->sum[ch] / s->cnt[ch];

            if (fabs(mean) > thr) {
                fired = 1;
                if (vsim_rule_emit(c, VSIM_RULE_FIRED, name, -1, mean, thr,
                                   "%s: channel %zu mean %.4g over %llu images differs from 0 "
                                   "by more than %.4g", name, ch, mean,
                                   (unsigned long long)s->n_samples, thr))
                    return VSIM_ENOMEM;
            }
        }
        break;
    }
    return vsim_rule_answer(fired, evaluated);
}

const rule_def vsim_rules_act_defs[] = {
    { "DeadRelu",
      "fires when more than threshold_layer percent of a ReLU layer's nodes are active (> 0) "
      "in less than threshold_inactivity percent of their values",
      dr_params, VSIM_ARRAY_LEN(dr_params), act_setup, dr_bind, dr_eval, NULL, act_destroy },
    { "SaturatedActivation",
      "fires when more than threshold_layer percent of a tanh/sigmoid layer's nodes are inside "
      "the non-saturated range in less than threshold_inactivity percent of their values "
      "(ranges are on inputs; for outputs they are mapped through the function)",
      sa_params, VSIM_ARRAY_LEN(sa_params), act_setup, sa_bind, sa_eval, NULL, act_destroy },
    { "CheckInputImages",
      "fires when the input images are constant (mean per-image standard deviation below "
      "threshold_std), or when the mean of an input-image channel over at least "
      "threshold_samples images differs from 0 by more than threshold_mean (smdebug's test)",
      cii_params, VSIM_ARRAY_LEN(cii_params), act_setup, cii_bind, cii_eval, NULL,
      act_destroy },
};

const size_t vsim_rules_act_n = VSIM_ARRAY_LEN(vsim_rules_act_defs);
