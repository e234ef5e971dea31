/*
 * reports/gate.c - the CI regression gate (issue 14; reports/gate.h). Every
 * figure comes from the report's summary JSON (vsim-summary/1), so the gate
 * judges the numbers the HTML report shows. Per metric: the mean of each side;
 * with two or more runs on both sides a percentile-bootstrap interval of the
 * difference of means (fixed seed, so the verdict is deterministic), and the
 * metric regresses only when the whole interval is worse than the tolerance;
 * with one run per side, the plain difference against the tolerance.
 * SPDX-License-Identifier: MIT
 */
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"
#include "core/mem.h"
#include "core/rng.h"
#include "reports/gate.h"
#include "reports/html.h"

enum { DIR_LOWER = 1, DIR_HIGHER, DIR_WITHIN, DIR_INFO, DIR_COMPLETED, DIR_NEW_FIRING,
       DIR_IGNORE };
enum { ST_PASS = 0, ST_FAIL, ST_IMPROVED, ST_INFO, ST_SKIP };
static const char *dir_names[] = { "", "lower", "higher", "within", "info", "completed",
                                   "new-firing-fails", "ignore" };
static const char *st_names[] = { "pass", "fail", "improved", "info", "skipped" };

typedef struct tol {
    char name[96];            /* a metric, "rule:<Name>" or "grad_norm_ratio" */
    int dir;
    double rel, abs, factor;
    int optional;
} tol;

typedef struct row {
    char metric[200];
    int dir, status, optional;
    size_t nb, nc;
    double bm, bsd, cm, csd, diff, lo, hi, tol;
    int has_ci;
    char bval[64], cval[64];  /* text values (status, rules) */
    char note[240];
} row;

struct vsim_gate {
    row *rows;
    size_t n_rows, cap_rows;
    size_t n_fail, n_improved, n_problems;
    json_t *base_ids, *cand_ids;
    char verdict[512];
};

static const char default_tolerances[] =
    "# vsim-report --print-tolerances: the gate's built-in tolerances, one metric a line:\n"
    "#   METRIC DIRECTION [rel=X%] [abs=Y] [factor=F] [optional]\n"
    "# lower/higher: which way is better; the candidate regresses when it is worse than\n"
    "# the baseline by more than max(abs, rel x |baseline|). within: a ratio candidate /\n"
    "# baseline outside [1/factor, factor]. info: shown, never fails. optional: a metric\n"
    "# missing on a side is skipped instead of failing. A tolerance file holds lines of\n"
    "# the same form; each replaces the built-in line of its metric. rule:NAME ignore\n"
    "# stops one rule's new firing from failing the gate.\n"
    "status            completed\n"
    "eval_loss         lower   rel=2%   abs=0.001\n"
    "eval_loss_best    lower   rel=2%   abs=0.001\n"
    "train_loss        lower   rel=5%   abs=0.001\n"
    "ssim              higher  abs=0.01\n"
    "psnr              higher  abs=0.3\n"
    "knn10_accuracy    higher  abs=0.02\n"
    "trustworthiness   higher  abs=0.01\n"
    "nn10_preservation higher  abs=0.02\n"
    "latent_same_class higher  abs=0.02  optional\n"
    "dead_units        lower   abs=0.05  optional\n"
    "vanishing_layers  lower   abs=0     optional\n"
    "grad_norm_ratio   within  factor=10 optional\n"
    "steps             higher  abs=0\n"
    "n_params          info    optional\n"
    "model_file_bytes  info    optional\n"
    "images_per_s      higher  rel=50%  optional\n"
    "rules             new-firing-fails\n";

static const char *known_metrics[] = { "status", "eval_loss", "eval_loss_best", "train_loss",
                                       "ssim", "psnr", "knn10_accuracy", "trustworthiness",
                                       "nn10_preservation", "latent_same_class", "dead_units",
                                       "vanishing_layers", "grad_norm_ratio", "steps",
                                       "n_params", "model_file_bytes", "images_per_s",
                                       "rules" };

const char *vsim_gate_default_tolerances(void)
{
    return default_tolerances;
}

/* ---- tolerances ------------------------------------------------------------------------- */

static int parse_number(const char *s, int pct_ok, double *out)
{
    char *end;
    double v = strtod(s, &end);

    if (end == s || !isfinite(v) || v < 0)
        return -1;
    if (*end == '%' && pct_ok) {
        v /= 100.0;
        end++;
    }
    if (*end)
        return -1;
    *out = v;
    return 0;
}

static int known(const char *name)
{
    if (!strncmp(name, "rule:", 5) && name[5])
        return 1;
    for (size_t i = 0; i < VSIM_ARRAY_LEN(known_metrics); i++)
        if (!strcmp(name, known_metrics[i]))
            return 1;
    return 0;
}

/* One line into *t; VSIM_EINVAL with "name:line: ..." ; 1 for a blank or comment line. */
static int parse_line(char *line, const char *name, int line_no, tol *t)
{
    char *save = NULL, *tok = strtok_r(line, " \t\r", &save);
    int d = 0;

    if (!tok || *tok == '#')
        return 1;
    memset(t, 0, sizeof(*t));
    if (strlen(tok) >= sizeof(t->name) || !known(tok))
        return vsim_fail(VSIM_EINVAL, "%s:%d: unknown metric '%s' (vsim-report "
                                      "--print-tolerances lists them)", name, line_no, tok);
    snprintf(t->name, sizeof(t->name), "%s", tok);
    tok = strtok_r(NULL, " \t\r", &save);
    for (int k = 1; tok && k < (int)VSIM_ARRAY_LEN(dir_names); k++)
        if (!strcmp(tok, dir_names[k]))
            d = k;
    if (!d)
        return vsim_fail(VSIM_EINVAL, "%s:%d: %s: want a direction (lower, higher, within, "
                                      "info, completed, new-firing-fails or ignore), not '%s'",
                         name, line_no, t->name, tok ? tok : "");
    t->dir = d;
    t->factor = 10;
    while ((tok = strtok_r(NULL, " \t\r", &save)) && *tok != '#') {
        int bad = 0;

        if (!strncmp(tok, "rel=", 4))
            bad = parse_number(tok + 4, 1, &t->rel);
        else if (!strncmp(tok, "abs=", 4))
            bad = parse_number(tok + 4, 0, &t->abs);
        else if (!strncmp(tok, "factor=", 7))
            bad = parse_number(tok + 7, 0, &t->factor) || t->factor < 1;
        else if (!strcmp(tok, "optional"))
            t->optional = 1;
        else
            bad = 1;
        if (bad)
            return vsim_fail(VSIM_EINVAL, "%s:%d: %s: bad setting '%s' (rel=X%%, abs=Y, "
                                          "factor=F >= 1, optional)", name, line_no, t->name,
                             tok);
    }
    return VSIM_OK;
}

/* Parse text, appending or replacing (by name) the tolerances in *ts (n, cap). */
static int parse_tolerances(const char *text, const char *name, tol **ts, size_t *n)
{
    char *copy = vsim_malloc(strlen(text) + 1), *line, *save = NULL;
    int rc = VSIM_OK, line_no = 0;

    if (!copy)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    strcpy(copy, text);
    for (char *p = copy; !rc && p; p = save) {
        char *nl = strchr(p, '\n');
        tol t;
        size_t i;
        int r;

        save = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        line = p;
        line_no++;
        r = parse_line(line, name, line_no, &t);
        if (r < 0) {
            rc = r;
            break;
        }
        if (r == 1)
            continue;
        for (i = 0; i < *n && strcmp((*ts)[i].name, t.name); i++)
            ;
        if (i == *n) {
            tol *g = vsim_realloc(*ts, (*n + 1) * sizeof(**ts));

            if (!g) {
                rc = vsim_fail(VSIM_ENOMEM, "out of memory");
                break;
            }
            *ts = g;
            (*n)++;
        }
        (*ts)[i] = t;
    }
    vsim_free(copy);
    return rc;
}

int vsim_gate_check_tolerances(const char *text, const char *name)
{
    tol *ts = NULL;
    size_t n = 0;
    int rc = parse_tolerances(text, name, &ts, &n);

    vsim_free(ts);
    return rc;
}

static const tol *find_tol(const tol *ts, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(ts[i].name, name))
            return &ts[i];
    return NULL;
}

/* ---- inputs ----------------------------------------------------------------------------- */

static int load_summary(const char *path, const vsim_report_params *rp, json_t **out,
                        size_t *n_problems)
{
    vsim_report_result res = { 0 };
    vsim_buf b = VSIM_BUF_INIT;
    json_t *j = NULL;
    json_error_t err;
    int rc;

    *out = NULL;
    if (vsim_fs_is_dir(path)) {
        rc = vsim_report_summary_json(path, rp, &b, &res);
        if (!rc && !(j = json_loads(b.buf, 0, &err)))
            rc = vsim_fail(VSIM_EFORMAT, "%s: summary: %s", path, err.text);
        *n_problems += res.n_problems;
    } else if (!vsim_fs_exists(path)) {
        rc = vsim_fail(VSIM_ENOTFOUND, "%s: no such run directory or summary JSON file", path);
    } else if (!(j = json_load_file(path, 0, &err))) {
        rc = vsim_fail(VSIM_EFORMAT, "%s:%d: not a summary JSON file: %s", path, err.line,
                       err.text);
    } else if (!json_is_object(j) ||
               strcmp(json_string_value(json_object_get(j, "schema")) ?: "", "vsim-summary/1")) {
        rc = vsim_fail(VSIM_EFORMAT, "%s: not a vsim-summary/1 object (vsim-report "
                                     "--summary-json RUN writes one)", path);
    } else {
        rc = VSIM_OK;
        *n_problems += json_array_size(json_object_get(j, "problems"));
    }
    vsim_buf_release(&b);
    if (rc)
        json_decref(j);
    else
        *out = j;
    return rc;
}

/* A numeric metric of one summary; 0 if absent. */
static int metric_value(const json_t *s, const char *name, double *v)
{
    static const struct { const char *name, *path[3]; } map[] = {
        { "eval_loss", { "figures", "eval_loss", "final" } },
        { "eval_loss_best", { "figures", "eval_loss", "best" } },
        { "train_loss", { "figures", "train_loss", "final" } },
        { "ssim", { "figures", "ssim", "final" } },
        { "psnr", { "figures", "psnr", "final" } },
        { "knn10_accuracy", { "embedding", "knn_accuracy", NULL } },
        { "trustworthiness", { "embedding", "trustworthiness", NULL } },
        { "nn10_preservation", { "embedding", "nn_preservation", NULL } },
        { "latent_same_class", { "health", "latent_same_class", NULL } },
        { "dead_units", { "health", "dead_unit_share", NULL } },
        { "vanishing_layers", { "health", "vanishing_share", NULL } },
        { "steps", { "last_step", NULL, NULL } },
        { "n_params", { "health", "n_params", NULL } },
        { "model_file_bytes", { "health", "model_file_bytes", NULL } },
        { "images_per_s", { "images_per_s", NULL, NULL } },
    };

    for (size_t i = 0; i < VSIM_ARRAY_LEN(map); i++) {
        const json_t *o = s;

        if (strcmp(map[i].name, name))
            continue;
        for (int k = 0; k < 3 && map[i].path[k] && o; k++)
            o = json_object_get(o, map[i].path[k]);
        if (!json_is_number(o))
            return 0;
        *v = json_number_value(o);
        return isfinite(*v);
    }
    return 0;
}

/* ---- statistics ------------------------------------------------------------------------- */

static void mean_sd(const double *x, size_t n, double *m, double *sd)
{
    double s = 0, ss = 0;

    for (size_t i = 0; i < n; i++)
        s += x[i];
    *m = n ? s / (double)n : (double)NAN;
    for (size_t i = 0; i < n; i++)
        ss += (x[i] - *m) * (x[i] - *m);
    *sd = n > 1 ? sqrt(ss / (double)(n - 1)) : (double)NAN;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/*
 * The percentile bootstrap is too narrow with a few runs per side (it cannot see
 * more spread than the runs show, and resampling 3 values mostly repeats them):
 * widen the interval about its centre by Student's t over the normal quantile at
 * Welch's degrees of freedom, so that 3 + 3 seeds of one configuration do not
 * look different (issue 14: the gate must not flake on seed noise).
 */
static void widen(const double *b, size_t nb, const double *c, size_t nc, double a, double *lo,
                  double *hi)
{
    double mb, sb, mc, sc, vb, vc, df, f, mid = 0.5 * (*lo + *hi), half = 0.5 * (*hi - *lo);

    mean_sd(b, nb, &mb, &sb);
    mean_sd(c, nc, &mc, &sc);
    vb = sb * sb / (double)nb;
    vc = sc * sc / (double)nc;
    if (!(vb + vc > 0))
        return;
    df = (vb + vc) * (vb + vc) / (vb * vb / (double)(nb - 1) + vc * vc / (double)(nc - 1));
    f = gsl_cdf_tdist_Qinv(a, df) / gsl_cdf_ugaussian_Qinv(a);
    if (f > 1) {
        *lo = mid - f * half;
        *hi = mid + f * half;
    }
}

/* Percentile-bootstrap interval of mean(c) - mean(b), widened for small samples. */
static int bootstrap(const double *b, size_t nb, const double *c, size_t nc,
                     const vsim_gate_params *p, double *lo, double *hi)
{
    double *d = vsim_mallocarray((size_t)p->n_boot, sizeof(*d));
    vsim_rng rng;
    double a = (1.0 - p->confidence) / 2.0;

    if (!d)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    vsim_rng_seed(&rng, p->seed, 0);
    for (int r = 0; r < p->n_boot; r++) {
        double sb = 0, sc = 0;

        for (size_t i = 0; i < nb; i++)
            sb += b[vsim_rng_below(&rng, nb)];
        for (size_t i = 0; i < nc; i++)
            sc += c[vsim_rng_below(&rng, nc)];
        d[r] = sc / (double)nc - sb / (double)nb;
    }
    qsort(d, (size_t)p->n_boot, sizeof(*d), cmp_dbl);
    *lo = d[(size_t)floor(a * (p->n_boot - 1))];
    *hi = d[(size_t)ceil((1.0 - a) * (p->n_boot - 1))];
    vsim_free(d);
    widen(b, nb, c, nc, a, lo, hi);
    return VSIM_OK;
}

/* ---- rows ------------------------------------------------------------------------------- */

static row *new_row(vsim_gate *g, const char *metric, int dir, int optional)
{
    row *r;

    if (g->n_rows == g->cap_rows) {
        size_t cap = g->cap_rows ? 2 * g->cap_rows : 32;
        row *nr = vsim_realloc(g->rows, cap * sizeof(*nr));

        if (!nr)
            return NULL;
        g->rows = nr;
        g->cap_rows = cap;
    }
    r = &g->rows[g->n_rows++];
    memset(r, 0, sizeof(*r));
    snprintf(r->metric, sizeof(r->metric), "%s", metric);
    r->dir = dir;
    r->optional = optional;
    r->bm = r->cm = r->bsd = r->csd = r->diff = r->lo = r->hi = r->tol = (double)NAN;
    return r;
}

static void set_status(vsim_gate *g, row *r, int st)
{
    r->status = st;
    g->n_fail += st == ST_FAIL;
    g->n_improved += st == ST_IMPROVED;
}

/* A numeric metric over both sides. */
static int judge_numeric(vsim_gate *g, const tol *t, const char *metric, const double *b,
                         size_t nb, const double *c, size_t nc, const vsim_gate_params *p)
{
    row *r = new_row(g, metric, t->dir, t->optional);
    double worse, wlo, whi;
    int rc = VSIM_OK;

    if (!r)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    r->nb = nb;
    r->nc = nc;
    mean_sd(b, nb, &r->bm, &r->bsd);
    mean_sd(c, nc, &r->cm, &r->csd);
    if (!nb || !nc) {
        snprintf(r->note, sizeof(r->note), "could not compare: the %s has no %s",
                 !nc ? "candidate" : "baseline", metric);
        set_status(g, r, t->optional || t->dir == DIR_INFO ? ST_SKIP : ST_FAIL);
        return VSIM_OK;
    }
    r->diff = r->cm - r->bm;
    if (t->dir == DIR_INFO) {
        set_status(g, r, ST_INFO);
        return VSIM_OK;
    }
    if (t->dir == DIR_WITHIN) {
        double ratio = r->bm != 0 ? r->cm / r->bm : (r->cm == 0 ? 1.0 : (double)INFINITY);

        r->tol = t->factor;
        snprintf(r->note, sizeof(r->note), "ratio %.4g, allowed 1/%g..%g", ratio, t->factor,
                 t->factor);
        set_status(g, r, ratio > t->factor || ratio < 1.0 / t->factor ? ST_FAIL : ST_PASS);
        return VSIM_OK;
    }
    r->tol = fmax(t->abs, t->rel * fabs(r->bm));
    worse = t->dir == DIR_LOWER ? r->diff : -r->diff;
    wlo = whi = worse;
    if (nb >= 2 && nc >= 2) {
        rc = bootstrap(b, nb, c, nc, p, &r->lo, &r->hi);
        r->has_ci = !rc;
        wlo = t->dir == DIR_LOWER ? r->lo : -r->hi;
        whi = t->dir == DIR_LOWER ? r->hi : -r->lo;
        snprintf(r->note, sizeof(r->note), "%.0f%% interval of the difference (bootstrap, "
                 "t-widened) over %zu + %zu runs", 100 * p->confidence, nb, nc);
    } else {
        snprintf(r->note, sizeof(r->note), "one run on a side: no noise estimate, plain "
                 "tolerance");
    }
    set_status(g, r, wlo > r->tol ? ST_FAIL : whi < -r->tol ? ST_IMPROVED : ST_PASS);
    return rc;
}

static int collect_numeric(json_t **s, size_t n, const char *metric, double *out)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++)
        k += metric_value(s[i], metric, &out[k]);
    return (int)k;
}

static void judge_status(vsim_gate *g, json_t **b, size_t nb, json_t **c, size_t nc)
{
    row *r = new_row(g, "status", DIR_COMPLETED, 0);
    const char *bs = nb ? json_string_value(json_object_get(b[0], "status")) : NULL;
    int bad = 0;

    if (!r)
        return;
    snprintf(r->bval, sizeof(r->bval), "%s", bs ? bs : "?");
    for (size_t i = 0; i < nc; i++) {
        const char *cs = json_string_value(json_object_get(c[i], "status"));

        if (!i || (cs && strcmp(cs, "completed")))
            snprintf(r->cval, sizeof(r->cval), "%s", cs ? cs : "?");
        bad |= !cs || (strcmp(cs, "completed") && (!bs || strcmp(cs, bs)));
    }
    snprintf(r->note, sizeof(r->note), bad ? "a candidate did not complete (diverged, "
             "stopped, failed or still running)" : "the candidate completed");
    r->nb = nb;
    r->nc = nc;
    set_status(g, r, bad ? ST_FAIL : ST_PASS);
}

static int fired(json_t *s, const char *rule)
{
    json_t *v;
    size_t i;

    json_array_foreach(json_object_get(json_object_get(s, "rules"), "verdicts"), i, v)
        if (!strcmp(json_string_value(json_object_get(v, "rule")) ?: "", rule))
            return json_is_true(json_object_get(v, "fired")) ? 1 : 0;
    return -1;
}

/* A rule firing on some candidate and on no baseline fails, unless rule:NAME ignore. */
static void judge_rules(vsim_gate *g, const tol *ts, size_t n_ts, json_t **b, size_t nb,
                        json_t **c, size_t nc)
{
    json_t *names = json_object(), *v;
    const char *name;
    size_t i;

    for (size_t k = 0; k < nb + nc; k++)
        json_array_foreach(json_object_get(json_object_get(k < nb ? b[k] : c[k - nb], "rules"),
                                           "verdicts"), i, v)
            json_object_set(names, json_string_value(json_object_get(v, "rule")) ?: "?",
                            json_true());
    json_object_foreach(names, name, v) {
        char key[120];
        const tol *t;
        int in_b = 0, in_c = 0;
        row *r;

        snprintf(key, sizeof(key), "rule:%s", name);
        t = find_tol(ts, n_ts, key);
        for (size_t k = 0; k < nb; k++)
            in_b += fired(b[k], name) == 1;
        for (size_t k = 0; k < nc; k++)
            in_c += fired(c[k], name) == 1;
        if (!(r = new_row(g, key, t ? t->dir : DIR_NEW_FIRING, 0)))
            break;
        snprintf(r->bval, sizeof(r->bval), "fired in %d of %zu", in_b, nb);
        snprintf(r->cval, sizeof(r->cval), "fired in %d of %zu", in_c, nc);
        r->nb = nb;
        r->nc = nc;
        if (t && t->dir == DIR_IGNORE) {
            snprintf(r->note, sizeof(r->note), "ignored by the tolerances");
            set_status(g, r, ST_INFO);
        } else if (in_c && !in_b) {
            snprintf(r->note, sizeof(r->note), "fires on the candidate, not on the baseline");
            set_status(g, r, ST_FAIL);
        } else {
            set_status(g, r, in_b && !in_c ? ST_IMPROVED : ST_PASS);
        }
    }
    json_decref(names);
}

/* Per-gradient-tensor L2 ratio candidate / baseline (means over runs). */
static int judge_grad_norms(vsim_gate *g, const tol *t, json_t **b, size_t nb, json_t **c,
                            size_t nc, const vsim_gate_params *p)
{
    json_t *gn = nb ? json_object_get(json_object_get(b[0], "health"), "grad_norms") : NULL, *v;
    const char *name;
    double *xb = vsim_mallocarray(nb + 1, sizeof(double)), *xc = vsim_mallocarray(nc + 1, 8);
    int rc = xb && xc ? VSIM_OK : vsim_fail(VSIM_ENOMEM, "out of memory");

    json_object_foreach(gn, name, v) {
        char metric[200];
        size_t kb = 0, kc = 0;

        if (rc)
            break;
        for (size_t k = 0; k < nb; k++) {
            json_t *x = json_object_get(json_object_get(json_object_get(b[k], "health"),
                                                        "grad_norms"), name);

            if (json_is_number(x))
                xb[kb++] = json_number_value(x);
        }
        for (size_t k = 0; k < nc; k++) {
            json_t *x = json_object_get(json_object_get(json_object_get(c[k], "health"),
                                                        "grad_norms"), name);

            if (json_is_number(x))
                xc[kc++] = json_number_value(x);
        }
        snprintf(metric, sizeof(metric), "grad_norm_ratio:%s", name);
        rc = judge_numeric(g, t, metric, xb, kb, xc, kc, p);
    }
    vsim_free(xb);
    vsim_free(xc);
    return rc;
}

static json_t *ids_of(json_t **s, size_t n, const char *const *paths)
{
    json_t *a = json_array();

    for (size_t i = 0; i < n; i++) {
        const char *id = json_string_value(json_object_get(s[i], "run_id"));

        json_array_append_new(a, json_string(id ? id : paths[i]));
    }
    return a;
}

static void make_verdict(vsim_gate *g)
{
    size_t n = 0, used;

    used = (size_t)snprintf(g->verdict, sizeof(g->verdict), g->n_fail
                            ? "regression: %zu of %zu checks failed ("
                            : "no regression: %zu of %zu checks failed", g->n_fail, g->n_rows);
    for (size_t i = 0; g->n_fail && i < g->n_rows && used < sizeof(g->verdict) - 40; i++) {
        if (g->rows[i].status != ST_FAIL)
            continue;
        used += (size_t)snprintf(g->verdict + used, sizeof(g->verdict) - used, "%s%s",
                                 n++ ? ", " : "", g->rows[i].metric);
    }
    if (g->n_fail)
        snprintf(g->verdict + used, sizeof(g->verdict) - used, "%s)",
                 n < g->n_fail ? ", ..." : "");
    if (g->n_improved) {
        used = strlen(g->verdict);
        snprintf(g->verdict + used, sizeof(g->verdict) - used, "; %zu improved", g->n_improved);
    }
}

int vsim_gate_run(const char *const *base, size_t n_base, const char *const *cand, size_t n_cand,
                  const vsim_gate_params *p, const vsim_report_params *rp, vsim_gate **out)
{
    vsim_gate_params dp = VSIM_GATE_PARAMS_INIT;
    vsim_gate *g = vsim_calloc(1, sizeof(*g));
    json_t **s = vsim_calloc(n_base + n_cand + 1, sizeof(*s));
    double *xb = vsim_mallocarray(n_base + 1, sizeof(double));
    double *xc = vsim_mallocarray(n_cand + 1, sizeof(double));
    tol *ts = NULL;
    size_t n_ts = 0;
    int rc = g && s && xb && xc ? VSIM_OK : vsim_fail(VSIM_ENOMEM, "out of memory");

    p = p ? p : &dp;
    *out = NULL;
    VSIM_ASSERT(n_base > 0 && n_cand > 0);
    if (!rc)
        rc = parse_tolerances(default_tolerances, "built-in tolerances", &ts, &n_ts);
    if (!rc && p->tolerances)
        rc = parse_tolerances(p->tolerances, p->tolerances_name ? p->tolerances_name
                                                                : "tolerances", &ts, &n_ts);
    for (size_t i = 0; !rc && i < n_base + n_cand; i++)
        rc = load_summary(i < n_base ? base[i] : cand[i - n_base], rp, &s[i], &g->n_problems);
    for (size_t k = 0; !rc && k < n_ts; k++) {
        const tol *t = &ts[k];

        if (!strcmp(t->name, "status")) {
            judge_status(g, s, n_base, s + n_base, n_cand);
        } else if (!strcmp(t->name, "rules")) {
            judge_rules(g, ts, n_ts, s, n_base, s + n_base, n_cand);
        } else if (!strcmp(t->name, "grad_norm_ratio")) {
            rc = judge_grad_norms(g, t, s, n_base, s + n_base, n_cand, p);
        } else if (strncmp(t->name, "rule:", 5) && t->dir != DIR_IGNORE) {
            size_t kb = (size_t)collect_numeric(s, n_base, t->name, xb);
            size_t kc = (size_t)collect_numeric(s + n_base, n_cand, t->name, xc);

            rc = judge_numeric(g, t, t->name, xb, kb, xc, kc, p);
        }
    }
    if (!rc) {
        g->base_ids = ids_of(s, n_base, base);
        g->cand_ids = ids_of(s + n_base, n_cand, cand);
        make_verdict(g);
    }
    for (size_t i = 0; s && i < n_base + n_cand; i++)
        json_decref(s[i]);
    vsim_free(s);
    vsim_free(xb);
    vsim_free(xc);
    vsim_free(ts);
    if (rc) {
        vsim_gate_destroy(g);
        return rc;
    }
    *out = g;
    return VSIM_OK;
}

void vsim_gate_destroy(vsim_gate *g)
{
    if (!g)
        return;
    json_decref(g->base_ids);
    json_decref(g->cand_ids);
    vsim_free(g->rows);
    vsim_free(g);
}

int vsim_gate_regressed(const vsim_gate *g)
{
    return g->n_fail > 0;
}

size_t vsim_gate_n_problems(const vsim_gate *g)
{
    return g->n_problems;
}

const char *vsim_gate_verdict_line(const vsim_gate *g)
{
    return g->verdict;
}

/* ---- outputs ---------------------------------------------------------------------------- */

static void fmt_num(char *buf, size_t n, double v)
{
    if (isfinite(v))
        snprintf(buf, n, "%.6g", v);
    else
        snprintf(buf, n, "-");
}

/* The side's value as text: "0.0175" or "0.0175 ± 0.0004 (3 runs)", or a text value. */
static void side_text(char *buf, size_t n, const row *r, int cand)
{
    const char *tv = cand ? r->cval : r->bval;
    double m = cand ? r->cm : r->bm, sd = cand ? r->csd : r->bsd;
    size_t k = cand ? r->nc : r->nb;

    if (*tv)
        snprintf(buf, n, "%s", tv);
    else if (!isfinite(m))
        snprintf(buf, n, "-");
    else if (k > 1 && isfinite(sd))
        snprintf(buf, n, "%.6g ± %.2g (%zu runs)", m, sd, k);
    else
        snprintf(buf, n, "%.6g", m);
}

static void diff_text(char *buf, size_t n, const row *r)
{
    char d[32], lo[32], hi[32];

    fmt_num(d, sizeof(d), r->diff);
    if (r->has_ci) {
        fmt_num(lo, sizeof(lo), r->lo);
        fmt_num(hi, sizeof(hi), r->hi);
        snprintf(buf, n, "%s [%s, %s]", d, lo, hi);
    } else {
        snprintf(buf, n, "%s", d);
    }
}

static void tol_text(char *buf, size_t n, const row *r)
{
    if (r->dir == DIR_WITHIN)
        snprintf(buf, n, "x%g", r->tol);
    else if (isfinite(r->tol))
        snprintf(buf, n, "%.4g", r->tol);
    else
        snprintf(buf, n, "-");
}

/* Markdown table cells: | escaped and newlines dropped. */
static void md_cell(vsim_buf *out, const char *s)
{
    vsim_buf_adds(out, " ");
    for (; *s; s++) {
        if (*s == '|')
            vsim_buf_adds(out, "\\|");
        else if (*s == '<')
            vsim_buf_adds(out, "&lt;");
        else if (*s != '\n' && *s != '\r')
            vsim_buf_addch(out, *s);
    }
    vsim_buf_adds(out, " |");
}

static void md_row(vsim_buf *out, const row *r)
{
    char b[96], c[96], d[128], t[32];

    side_text(b, sizeof(b), r, 0);
    side_text(c, sizeof(c), r, 1);
    diff_text(d, sizeof(d), r);
    tol_text(t, sizeof(t), r);
    vsim_buf_adds(out, "|");
    md_cell(out, r->metric);
    md_cell(out, dir_names[r->dir]);
    md_cell(out, b);
    md_cell(out, c);
    md_cell(out, d);
    md_cell(out, t);
    md_cell(out, st_names[r->status]);
    md_cell(out, r->note);
    vsim_buf_addch(out, '\n');
}

static const char md_head[] = "| metric | better | baseline | candidate | difference [interval] "
                              "| tolerance | status | note |\n|---|---|---|---|---|---|---|---|\n";

/* Append rows of status st (or all: -1) to b while within budget; count the others. */
static size_t md_rows(const vsim_gate *g, int st, vsim_buf *b, size_t budget, size_t reserve)
{
    vsim_buf one = VSIM_BUF_INIT;
    size_t omitted = 0;

    for (size_t i = 0; i < g->n_rows; i++) {
        if (st >= 0 && g->rows[i].status != st)
            continue;
        vsim_buf_reset(&one);
        md_row(&one, &g->rows[i]);
        if (b->len + one.len + reserve > budget) {
            omitted++;
            continue;
        }
        vsim_buf_add(b, one.buf, one.len);
    }
    vsim_buf_release(&one);
    return omitted;
}

int vsim_gate_markdown(const vsim_gate *g, size_t budget, vsim_buf *out)
{
    vsim_buf b = VSIM_BUF_INIT;
    const char *tail = "\n</details>\n";
    size_t omitted = 0, reserve = 400;   /* room for the details header and the notes */
    int rc;

    vsim_buf_addf(&b, "## vsim gate: %s\n\n%s\n\nBaseline: ", g->n_fail ? "❌ regression"
                  : "✅ no regression", g->verdict);
    for (size_t i = 0; i < json_array_size(g->base_ids); i++)
        vsim_buf_addf(&b, "%s`%s`", i ? ", " : "",
                      json_string_value(json_array_get(g->base_ids, i)));
    vsim_buf_adds(&b, ". Candidate: ");
    for (size_t i = 0; i < json_array_size(g->cand_ids); i++)
        vsim_buf_addf(&b, "%s`%s`", i ? ", " : "",
                      json_string_value(json_array_get(g->cand_ids, i)));
    vsim_buf_adds(&b, ".\n\n");
    if (g->n_fail) {
        vsim_buf_adds(&b, "### Failures\n\n");
        vsim_buf_adds(&b, md_head);
        omitted += md_rows(g, ST_FAIL, &b, budget, reserve);
        vsim_buf_addch(&b, '\n');
    }
    vsim_buf_addf(&b, "<details><summary>All %zu checks</summary>\n\n", g->n_rows);
    vsim_buf_adds(&b, md_head);
    omitted += md_rows(g, -1, &b, budget, reserve);
    if (omitted)
        vsim_buf_addf(&b, "\n%zu more rows omitted to stay within %zu characters; the JSON and "
                      "JUnit outputs have them all.\n", omitted, budget);
    vsim_buf_adds(&b, tail);
    rc = b.len <= budget ? vsim_buf_add(out, b.buf, b.len)
                         : vsim_fail(VSIM_ERANGE, "the verdict alone exceeds --md-budget %zu",
                                     budget);
    vsim_buf_release(&b);
    return rc;
}

static void xml_attr(vsim_buf *out, const char *name, const char *v)
{
    vsim_buf_addf(out, " %s=\"", name);
    vsim_html_text(out, v);
    vsim_buf_addch(out, '"');
}

int vsim_gate_junit(const vsim_gate *g, vsim_buf *out)
{
    size_t n_skip = 0;

    for (size_t i = 0; i < g->n_rows; i++)
        n_skip += g->rows[i].status == ST_SKIP;
    vsim_buf_addf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"
                       "  <testsuite name=\"vsim-gate\" tests=\"%zu\" failures=\"%zu\" "
                       "errors=\"0\" skipped=\"%zu\" time=\"0\">\n    <properties>\n",
                  g->n_rows, g->n_fail, n_skip);
    for (int side = 0; side < 2; side++) {
        json_t *ids = side ? g->cand_ids : g->base_ids;

        for (size_t i = 0; i < json_array_size(ids); i++) {
            char name[64];

            snprintf(name, sizeof(name), "%s.run_id.%zu", side ? "candidate" : "baseline", i);
            vsim_buf_adds(out, "      <property");
            xml_attr(out, "name", name);
            xml_attr(out, "value", json_string_value(json_array_get(ids, i)));
            vsim_buf_adds(out, "/>\n");
        }
    }
    vsim_buf_adds(out, "    </properties>\n");
    for (size_t i = 0; i < g->n_rows; i++) {
        const row *r = &g->rows[i];
        char b[96], c[96], d[128], t[32], msg[1024];

        side_text(b, sizeof(b), r, 0);
        side_text(c, sizeof(c), r, 1);
        diff_text(d, sizeof(d), r);
        tol_text(t, sizeof(t), r);
        snprintf(msg, sizeof(msg), "%s (%s is better): baseline %s, candidate %s, difference "
                 "%s, tolerance %s: %s", r->metric, dir_names[r->dir], b, c, d, t, r->note);
        vsim_buf_adds(out, "    <testcase");
        xml_attr(out, "classname", "vsim.gate");
        xml_attr(out, "name", r->metric);
        vsim_buf_adds(out, " time=\"0\"");
        if (r->status == ST_FAIL) {
            vsim_buf_adds(out, ">\n      <failure");
            xml_attr(out, "message", msg);
            xml_attr(out, "type", "regression");
            vsim_buf_adds(out, ">");
            vsim_html_text(out, msg);
            vsim_buf_adds(out, "</failure>\n    </testcase>\n");
        } else if (r->status == ST_SKIP) {
            vsim_buf_adds(out, ">\n      <skipped");
            xml_attr(out, "message", r->note);
            vsim_buf_adds(out, "/>\n    </testcase>\n");
        } else {
            vsim_buf_adds(out, ">\n      <system-out>");
            vsim_html_text(out, msg);
            vsim_buf_adds(out, "</system-out>\n    </testcase>\n");
        }
    }
    return vsim_buf_adds(out, "  </testsuite>\n</testsuites>\n");
}

int vsim_gate_json(const vsim_gate *g, vsim_buf *out)
{
    json_t *a = json_array(), *o;
    int rc;

    for (size_t i = 0; i < g->n_rows; i++) {
        const row *r = &g->rows[i];

        json_array_append_new(a, json_pack(
            "{s:s,s:s,s:o,s:o,s:o,s:o,s:I,s:I,s:o,s:o,s:o,s:s,s:s}", "metric", r->metric,
            "direction", dir_names[r->dir], "baseline",
            *r->bval ? json_string(r->bval) : vsim_json_num(r->bm), "baseline_sd",
            vsim_json_num(r->bsd), "candidate",
            *r->cval ? json_string(r->cval) : vsim_json_num(r->cm), "candidate_sd",
            vsim_json_num(r->csd), "n_baseline", (json_int_t)r->nb, "n_candidate",
            (json_int_t)r->nc, "diff", vsim_json_num(r->diff), "ci",
            r->has_ci ? json_pack("[o,o]", vsim_json_num(r->lo), vsim_json_num(r->hi))
                      : json_null(),
            "tolerance", vsim_json_num(r->tol), "status", st_names[r->status], "note",
            r->note));
    }
    o = json_pack("{s:s,s:s,s:s,s:O,s:O,s:o}", "schema", "vsim-gate/1", "verdict",
                  g->n_fail ? "regression" : "pass", "message", g->verdict, "baseline",
                  g->base_ids, "candidate", g->cand_ids, "metrics", a);
    rc = vsim_html_json(out, o, 0);
    vsim_buf_addch(out, '\n');
    json_decref(o);
    return rc;
}

int vsim_gate_html(const vsim_gate *g, vsim_buf *out)
{
    vsim_buf_addf(out, "<section id=\"gate\"><h2>Regression gate</h2><p class=\"verdict %s\">",
                  g->n_fail ? "fail" : "pass");
    vsim_html_text(out, g->verdict);
    vsim_buf_adds(out, "</p><table class=\"sortable\"><thead><tr><th>metric</th><th>better</th>"
                       "<th>baseline</th><th>candidate</th><th>difference [interval]</th>"
                       "<th>tolerance</th><th>status</th><th>note</th></tr></thead><tbody>");
    for (size_t i = 0; i < g->n_rows; i++) {
        const row *r = &g->rows[i];
        char cells[5][128];
        const char *v[8];

        side_text(cells[0], sizeof(cells[0]), r, 0);
        side_text(cells[1], sizeof(cells[1]), r, 1);
        diff_text(cells[2], sizeof(cells[2]), r);
        tol_text(cells[3], sizeof(cells[3]), r);
        v[0] = r->metric;
        v[1] = dir_names[r->dir];
        v[2] = cells[0];
        v[3] = cells[1];
        v[4] = cells[2];
        v[5] = cells[3];
        v[6] = st_names[r->status];
        v[7] = r->note;
        vsim_buf_addf(out, "<tr class=\"%s\">", r->status == ST_FAIL ? "fired" : "ok");
        for (int k = 0; k < 8; k++) {
            vsim_buf_adds(out, "<td>");
            vsim_html_text(out, v[k]);
            vsim_buf_adds(out, "</td>");
        }
        vsim_buf_adds(out, "</tr>");
    }
    return vsim_buf_adds(out, "</tbody></table></section>");
}
