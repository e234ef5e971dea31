/*
 * rules/engine.c - the rule set: parsing "Name:key=value,..." specs against
 * the built-in definitions, --list, verdict JSON, and the parameter checks.
 * The evaluation loop (one pass, watching, actions) is in rules/run.c.
 * Semantics and the choices made where smdebug is ambiguous: docs/rules.md.
 * SPDX-License-Identifier: MIT
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/fs.h"
#include "core/mem.h"
#include "rules/rules_int.h"

static const struct {
    const rule_def *defs;
    const size_t *n;
} families[] = {
    { vsim_rules_loss_defs, &vsim_rules_loss_n },
    { vsim_rules_grad_defs, &vsim_rules_grad_n },
    { vsim_rules_tensor_defs, &vsim_rules_tensor_n },
    { vsim_rules_act_defs, &vsim_rules_act_n },
    { vsim_rules_embed_defs, &vsim_rules_embed_n },
};

const char *vsim_rule_result_name(int result)
{
    switch (result) {
    case VSIM_RULE_NOT_FIRED: return "not_fired";
    case VSIM_RULE_FIRED: return "fired";
    case VSIM_RULE_SKIP: return "skip";
    case VSIM_RULE_END: return "end";
    default: return "unknown";
    }
}

/*
 * smdebug's rule_configs spell a rule in snake_case (loss_not_decreasing, dead_relu,
 * stalled_training_rule): an underscore goes before each capital that follows a
 * lowercase letter or a digit, and everything is lowercased (issue 13).
 */
void vsim_rule_snake_name(const char *camel, char *out, size_t n_out)
{
    size_t j = 0;

    VSIM_ASSERT(n_out > 0);
    for (size_t i = 0; camel[i] && j + 1 < n_out; i++) {
        unsigned char c = (unsigned char)camel[i];

        if (isupper(c) && i && (islower((unsigned char)camel[i - 1]) ||
                                isdigit((unsigned char)camel[i - 1]))) {
            if (j + 2 >= n_out)
                break;
            out[j++] = '_';
        }
        out[j++] = (char)tolower(c);
    }
    out[j] = '\0';
}

/* A rule by its CamelCase name (any case) or by smdebug's snake_case name. */
static const rule_def *find_def(const char *name, size_t len)
{
    char snake[96];

    for (size_t f = 0; f < VSIM_ARRAY_LEN(families); f++)
        for (size_t i = 0; i < *families[f].n; i++) {
            const rule_def *d = &families[f].defs[i];

            if (strlen(d->name) == len && !strncasecmp(d->name, name, len))
                return d;
            vsim_rule_snake_name(d->name, snake, sizeof(snake));
            if (strlen(snake) == len && !strncasecmp(snake, name, len))
                return d;
        }
    return NULL;
}

int vsim_rules_create(vsim_rules **out)
{
    vsim_rules *rs = vsim_calloc(1, sizeof(*rs));

    *out = NULL;
    if (!rs)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    *out = rs;
    return VSIM_OK;
}

static void free_rule(vsim_rule *r)
{
    if (!r)
        return;
    if (r->def->destroy)
        r->def->destroy(r);
    for (size_t i = 0; i < r->def->n_params; i++)
        vsim_free(r->pv[i].s);
    vsim_free(r->tensors);
    vsim_free(r->need);
    vsim_free(r);
}

void vsim_rules_destroy(vsim_rules *rs)
{
    if (!rs)
        return;
    for (size_t i = 0; i < rs->n_rules; i++)
        free_rule(rs->rules[i]);
    vsim_free(rs->rules);
    vsim_free(rs);
}

size_t vsim_rules_n(const vsim_rules *rs)
{
    return rs->n_rules;
}

const char *vsim_rules_name(const vsim_rules *rs, size_t i)
{
    return i < rs->n_rules ? rs->rules[i]->name : NULL;
}

static char *trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int parse_double(const char *s, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    return errno || end == s || *end || isnan(*out) ? -1 : 0;
}

static int parse_bool(const char *s, long long *out)
{
    static const char *yes[] = { "true", "1", "yes", "on" }, *no[] = { "false", "0", "no", "off" };

    for (size_t i = 0; i < 4; i++) {
        if (!strcasecmp(s, yes[i])) {
            *out = 1;
            return 0;
        }
        if (!strcasecmp(s, no[i])) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static int parse_range(const char *s, double *lo, double *hi)
{
    char buf[128], *sep, *a, *b;
    size_t n = strlen(s);

    if (n + 1 > sizeof(buf))
        return -1;
    memcpy(buf, s, n + 1);
    a = trim(buf);
    if (*a == '(' || *a == '[') {
        n = strlen(a);
        if (n < 2 || (a[n - 1] != ')' && a[n - 1] != ']'))
            return -1;
        a[n - 1] = '\0';
        a = trim(a + 1);
    }
    sep = strpbrk(a + (*a == '-'), ",:");
    if (!sep)
        return -1;
    *sep = '\0';
    b = trim(sep + 1);
    a = trim(a);
    if (parse_double(a, lo) || parse_double(b, hi) || *lo >= *hi)
        return -1;
    return 0;
}

/* Parse text into pv as type; -1 with a reason in why for a malformed value. */
static int parse_value(const rule_pdef *pd, const char *text, rule_pval *pv, const char **why)
{
    char *end;

    vsim_free(pv->s);
    memset(pv, 0, sizeof(*pv));
    if (!strcasecmp(text, "None")) {
        if (pd->type == RULE_P_BOOL || pd->type == RULE_P_RANGE) {
            *why = pd->type == RULE_P_BOOL ? "want true or false" : "want (lo, hi)";
            return -1;
        }
        pv->i = -1;
        pv->d = (double)NAN;
        return 0;
    }
    pv->set = 1;
    switch (pd->type) {
    case RULE_P_INT:
        errno = 0;
        pv->i = strtoll(text, &end, 10);
        if (errno || end == text || *end || pv->i < 0) {
            *why = "want a non-negative integer";
            return -1;
        }
        pv->d = (double)pv->i;
        return 0;
    case RULE_P_DOUBLE:
        *why = "want a number";
        return parse_double(text, &pv->d);
    case RULE_P_BOOL:
        *why = "want true or false";
        return parse_bool(text, &pv->i);
    case RULE_P_MODE: {
        char low[16];
        size_t n = strlen(text);
        vsim_mode m;

        *why = "want TRAIN, EVAL, PREDICT or GLOBAL";
        if (n >= sizeof(low))
            return -1;
        for (size_t i = 0; i <= n; i++)
            low[i] = (char)tolower((unsigned char)text[i]);
        if (vsim_mode_parse(low, &m))
            return -1;
        pv->i = m;
        return 0;
    }
    case RULE_P_RANGE:
        *why = "want (lo, hi) or lo:hi with lo < hi";
        return parse_range(text, &pv->lo, &pv->hi);
    default:
        pv->s = vsim_strdup(text);
        *why = "out of memory";
        return pv->s ? 0 : -1;
    }
}

static int find_param(const rule_def *d, const char *key)
{
    for (size_t i = 0; i < d->n_params; i++)
        if (!strcmp(d->params[i].name, key))
            return (int)i;
    return -1;
}

/* "vsim" -> 0, "smdebug" -> 1 (any case); -1 for anything else. */
static int parse_semantics(const char *name)
{
    return !strcasecmp(name, "vsim") ? 0 : !strcasecmp(name, "smdebug") ? 1 : -1;
}

int vsim_rules_set_semantics(vsim_rules *rs, const char *name)
{
    int sm = parse_semantics(name);

    if (sm < 0)
        return vsim_fail(VSIM_EINVAL, "unknown semantics '%s' (want vsim or smdebug)", name);
    rs->smdebug = sm;
    return VSIM_OK;
}

/*
 * The semantics a spec's parameters ask for ("semantics=..." among them), else dflt;
 * -1 for a value that is neither. The defaults depend on it, so it is read first.
 */
static int spec_semantics(const char *params, int dflt)
{
    int sm = dflt;

    for (const char *p = params; p && *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
        size_t n = strcspn(p, ","), k = 0;
        char val[32];

        while (k < n && isspace((unsigned char)p[k]))
            k++;
        if (n - k < 10 || strncasecmp(p + k, "semantics", 9))
            continue;
        k += 9;
        while (k < n && isspace((unsigned char)p[k]))
            k++;
        if (k >= n || p[k] != '=')
            continue;
        k++;
        while (k < n && isspace((unsigned char)p[k]))
            k++;
        while (n > k && isspace((unsigned char)p[n - 1]))
            n--;
        if (n - k >= sizeof(val))
            return -1;
        memcpy(val, p + k, n - k);
        val[n - k] = '\0';
        sm = parse_semantics(val);
        if (sm < 0)
            return -1;
    }
    return sm;
}

static int set_param(vsim_rule *r, const char *key, const char *val)
{
    const char *why = "";
    int k = find_param(r->def, key);

    if (!strcmp(key, "semantics"))
        return VSIM_OK;      /* applied by spec_semantics before the defaults */
    if (k < 0) {
        vsim_buf known = VSIM_BUF_INIT;

        for (size_t i = 0; i < r->def->n_params; i++)
            vsim_buf_addf(&known, "%s%s", i ? ", " : "", r->def->params[i].name);
        vsim_fail(VSIM_EINVAL, "rule %s: unknown parameter '%s' (known: %s)", r->def->name,
                  key, known.len ? known.buf : "none");
        vsim_buf_release(&known);
        return VSIM_EINVAL;
    }
    if (!*val)
        return vsim_fail(VSIM_EINVAL, "rule %s: parameter '%s' has no value", r->def->name, key);
    if (parse_value(&r->def->params[k], val, &r->pv[k], &why))
        return vsim_fail(VSIM_EINVAL, "rule %s: parameter %s: malformed value '%s' (%s)",
                         r->def->name, key, val, why);
    return VSIM_OK;
}

/*
 * Where the vsim defaults differ from smdebug's (issue 19): each measured on the
 * labelled corpus of healthy and broken runs, docs/rules.md. semantics=smdebug
 * puts smdebug's back.
 */
static const struct {
    const char *rule, *param, *smdebug;
} smdebug_defaults[] = {
    { "LossNotDecreasing", "warmup_steps", "0" },
    { "Overtraining", "delta", "0.1" },
    { "Overtraining", "patience_validation", "10" },
    { "PoorWeightInitialization", "distribution_range", "0.001" },
    { "DeadRelu", "threshold_layer", "50.0" },
    { "PoorWeightInitialization", "threshold", "10.0" },
    { "PoorWeightInitialization", "patience", "5" },
    { "PoorWeightInitialization", "min_elements", "1" },
    { "LatentNeighbors", "threshold", "0.5" },
    { "LatentNeighbors", "patience", "5" },
    { "LatentNeighbors", "collapse", "None" },
    { "CheckInputImages", "threshold_mean", "0.2" },
    { "CheckInputImages", "threshold_std", "None" },
};

const char *vsim_rule_smdebug_default(const char *rule, const char *param)
{
    for (size_t i = 0; i < VSIM_ARRAY_LEN(smdebug_defaults); i++)
        if (!strcmp(smdebug_defaults[i].rule, rule) && !strcmp(smdebug_defaults[i].param, param))
            return smdebug_defaults[i].smdebug;
    return NULL;
}

static const char *rule_default(const rule_def *d, const rule_pdef *pd, int smdebug)
{
    const char *sm = smdebug ? vsim_rule_smdebug_default(d->name, pd->name) : NULL;

    return sm ? sm : pd->def;
}

static int new_rule(const rule_def *d, int smdebug, vsim_rule **out)
{
    vsim_rule *r = vsim_calloc(1, sizeof(*r));
    const char *why = "";

    *out = NULL;
    if (!r)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    r->def = d;
    r->smdebug = smdebug;
    r->sum.first_fired_step = -1;
    VSIM_ASSERT(d->n_params <= RULE_MAX_PARAMS);
    for (size_t i = 0; i < d->n_params; i++)
        if (parse_value(&d->params[i], rule_default(d, &d->params[i], smdebug), &r->pv[i],
                        &why)) {
            free_rule(r);
            return vsim_fail(VSIM_ENOMEM, "rule %s: default of %s: %s", d->name,
                             d->params[i].name, why);
        }
    *out = r;
    return VSIM_OK;
}

/* Apply "key=value,key=value" (a token without '=' continues the previous value). */
static int apply_params(vsim_rule *r, const char *text)
{
    vsim_buf key = VSIM_BUF_INIT, val = VSIM_BUF_INIT;
    const char *p = text;
    int rc = VSIM_OK, have = 0;

    while (!rc && *p) {
        size_t n = strcspn(p, ",");
        char *tok = vsim_strndup(p, n), *t, *eq;

        if (!tok)
            rc = vsim_fail(VSIM_ENOMEM, "out of memory");
        t = tok ? trim(tok) : NULL;
        eq = t ? strchr(t, '=') : NULL;
        if (!rc && eq) {
            if (have)
                rc = set_param(r, key.buf, trim(val.buf));
            *eq = '\0';
            vsim_buf_reset(&key);
            vsim_buf_reset(&val);
            vsim_buf_adds(&key, trim(t));
            vsim_buf_adds(&val, eq + 1);
            have = 1;
            if (!rc && !key.len)
                rc = vsim_fail(VSIM_EINVAL, "rule %s: empty parameter name in '%s'",
                               r->def->name, text);
        } else if (!rc && have) {
            vsim_buf_addch(&val, ',');
            vsim_buf_adds(&val, t);
        } else if (!rc && *t) {
            rc = vsim_fail(VSIM_EINVAL, "rule %s: malformed parameter '%s' (want key=value)",
                           r->def->name, t);
        }
        vsim_free(tok);
        p += n + (p[n] == ',');
    }
    if (!rc && have)
        rc = set_param(r, key.buf, trim(val.buf));
    vsim_buf_release(&key);
    vsim_buf_release(&val);
    return rc;
}

static int push_rule(vsim_rules *rs, vsim_rule *r)
{
    vsim_rule **nr = vsim_reallocarray(rs->rules, rs->n_rules + 1, sizeof(*nr));
    size_t same = 0;

    if (!nr)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    rs->rules = nr;
    for (size_t i = 0; i < rs->n_rules; i++)
        same += rs->rules[i]->def == r->def;
    if (same)
        snprintf(r->name, sizeof(r->name), "%s#%zu", r->def->name, same + 1);
    else
        snprintf(r->name, sizeof(r->name), "%s", r->def->name);
    r->sum.rule = r->name;
    rs->rules[rs->n_rules++] = r;
    return VSIM_OK;
}

int vsim_rules_add(vsim_rules *rs, const char *spec)
{
    const char *colon = strchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    const rule_def *d;
    vsim_rule *r;
    int rc, sm;

    while (n && isspace((unsigned char)*spec)) {
        spec++;
        n--;
    }
    while (n && isspace((unsigned char)spec[n - 1]))
        n--;
    if (!n)
        return vsim_fail(VSIM_EINVAL, "empty rule name in '%s'", spec);
    d = find_def(spec, n);
    if (!d)
        return vsim_fail(VSIM_EINVAL, "unknown rule '%.*s' (vsim-rules --list shows them)",
                         (int)n, spec);
    sm = spec_semantics(colon ? colon + 1 : NULL, rs->smdebug);
    if (sm < 0)
        return vsim_fail(VSIM_EINVAL, "rule %s: parameter semantics: want vsim or smdebug",
                         d->name);
    rc = new_rule(d, sm, &r);
    if (!rc && colon)
        rc = apply_params(r, colon + 1);
    if (!rc && d->setup)
        rc = d->setup(r);
    if (!rc)
        rc = push_rule(rs, r);
    if (rc)
        free_rule(r);
    return rc;
}

int vsim_rules_add_file(vsim_rules *rs, const char *path)
{
    vsim_buf text = VSIM_BUF_INIT;
    char *line, *save = NULL;
    int rc = vsim_fs_read_file(path, &text), line_no = 0;

    if (rc)
        return rc;
    for (char *p = text.buf; !rc && p && *p; p = save) {
        char *nl = strchr(p, '\n'), *hash;

        save = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        line_no++;
        hash = strchr(p, '#');
        if (hash)
            *hash = '\0';
        line = trim(p);
        if (!*line)
            continue;
        rc = vsim_rules_add(rs, line);
        if (rc)
            vsim_errctx("%s:%d", path, line_no);
    }
    vsim_buf_release(&text);
    return rc;
}

int vsim_rules_add_defaults(vsim_rules *rs)
{
    static const char *defaults[] = { "LossNotDecreasing", "VanishingGradient",
                                      "ExplodingTensor", "WeightUpdateRatio", "DeadRelu",
                                      "LatentNeighbors" };
    int rc = VSIM_OK;

    for (size_t i = 0; !rc && i < VSIM_ARRAY_LEN(defaults); i++)
        rc = vsim_rules_add(rs, defaults[i]);
    return rc;
}

static const char *type_name(int type)
{
    switch (type) {
    case RULE_P_INT: return "integer";
    case RULE_P_DOUBLE: return "number";
    case RULE_P_BOOL: return "boolean";
    case RULE_P_MODE: return "mode";
    case RULE_P_RANGE: return "(lo, hi)";
    default: return "string";
    }
}

int vsim_rules_list(vsim_buf *out)
{
    int rc = VSIM_OK;

    for (size_t f = 0; !rc && f < VSIM_ARRAY_LEN(families); f++)
        for (size_t i = 0; !rc && i < *families[f].n; i++) {
            const rule_def *d = &families[f].defs[i];

            char snake[96];

            vsim_rule_snake_name(d->name, snake, sizeof(snake));
            rc = vsim_buf_addf(out, "%s (%s)\n    %s\n", d->name, snake, d->summary);
            for (size_t k = 0; !rc && k < d->n_params; k++) {
                const rule_pdef *pd = &d->params[k];
                const char *sm = vsim_rule_smdebug_default(d->name, pd->name);

                rc = vsim_buf_addf(out, "    %-26s %s, default %s", pd->name,
                                   type_name(pd->type), pd->def);
                if (!rc && sm)
                    rc = vsim_buf_addf(out, " (smdebug: %s)", sm);
                if (!rc)
                    rc = vsim_buf_addf(out, ": %s\n", pd->help);
            }
            if (!rc)
                rc = vsim_buf_addf(out, "    %-26s string, default vsim: vsim (the defaults "
                                   "above) or smdebug (smdebug's defaults and algorithm)\n",
                                   "semantics");
            if (!rc)
                rc = vsim_buf_addch(out, '\n');
        }
    return rc;
}

int vsim_verdict_json(const vsim_verdict *v, vsim_buf *out)
{
    int rc = vsim_buf_adds(out, "{\"type\": \"verdict\", \"rule\": ");

    if (!rc) rc = vsim_buf_add_json_str(out, v->rule);
    if (!rc) rc = vsim_buf_addf(out, ", \"result\": \"%s\", \"step\": %lld",
                                vsim_rule_result_name(v->result), (long long)v->step);
    if (!rc && v->mode >= 0)
        rc = vsim_buf_addf(out, ", \"mode\": \"%s\", \"mode_step\": %lld",
                           vsim_mode_name((vsim_mode)v->mode), (long long)v->mode_step);
    if (!rc && v->tensor[0]) {
        rc = vsim_buf_adds(out, ", \"tensor\": ");
        if (!rc) rc = vsim_buf_add_json_str(out, v->tensor);
    }
    if (!rc && v->ref_step >= 0)
        rc = vsim_buf_addf(out, ", \"ref_step\": %lld", (long long)v->ref_step);
    if (!rc && !isnan(v->value)) {
        rc = vsim_buf_adds(out, ", \"value\": ");
        if (!rc) rc = vsim_buf_add_json_num(out, v->value);
    }
    if (!rc && !isnan(v->threshold)) {
        rc = vsim_buf_adds(out, ", \"threshold\": ");
        if (!rc) rc = vsim_buf_add_json_num(out, v->threshold);
    }
    if (!rc) rc = vsim_buf_adds(out, ", \"message\": ");
    if (!rc) rc = vsim_buf_add_json_str(out, v->message);
    if (!rc) rc = vsim_buf_addch(out, '}');
    return rc;
}

const rule_pval *vsim_rule_p(const vsim_rule *r, const char *name)
{
    int k = find_param(r->def, name);

    VSIM_ASSERT(k >= 0);
    return &r->pv[k];
}
