/*
 * reports/collect.c - one run gathered for the report (issue 20): the summary
 * (run.json, END, who stopped it, losses and metrics, rule verdicts, the model
 * table, per-layer statistics as vsim-stats computes them) and the data of the
 * curves, sparklines, heat maps, distributions and probe images. It reads the
 * run through the trial API and reuses analyze/ (statistics), rules/ (verdicts)
 * and plot/ (PNG encoding); nothing is computed a second way.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analyze/series.h"
#include "analyze/stats_run.h"
#include "core/fs.h"
#include "core/mem.h"
#include "plot/plot.h"
#include "reports/html.h"
#include "reports/report_int.h"
#include "rules/rules.h"

#define MAX_IMAGE_STEPS 4     /* probe-image strips shown */
#define MAX_IMAGES 8          /* images per strip */
#define HIST_BINS 40
#define HEAT_MAX_COLS 800     /* heat-map columns; more steps are averaged into bins */

void vsim_report_progress(const vsim_report_params *p, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    if (!p || !p->progress)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    p->progress(p->progress_ctx, 0, 0, msg);
}

void vsim_report_missing(report_run *r, const char *section, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_array_append_new(r->missing, json_pack("{s:s,s:s}", "section", section, "message", msg));
}

json_t *vsim_report_b64(const void *data, size_t n_bytes)
{
    vsim_buf b = VSIM_BUF_INIT;
    json_t *s = NULL;

    if (!vsim_html_base64(&b, data, n_bytes))
        s = json_stringn(b.buf, b.len);
    vsim_buf_release(&b);
    return s ? s : json_null();
}

/* ---- run.json, END, STOP ------------------------------------------------------------- */

static json_t *parse_run_json(const vsim_trial *t)
{
    json_t *j = json_loads(vsim_trial_run_json(t), 0, NULL);

    if (!json_is_object(j)) {
        json_decref(j);
        j = json_object();
    }
    return j;
}

/* Who stopped a run: the rule whose verdict STOP holds, or a person. */
static json_t *stopped_by(const char *dir)
{
    vsim_buf path = VSIM_BUF_INIT, text = VSIM_BUF_INIT;
    json_t *v = NULL, *out;

    vsim_buf_addf(&path, "%s/STOP", dir);
    if (vsim_fs_read_file(path.buf, &text)) {
        out = json_string("STOP (the file is gone)");
    } else if ((v = json_loads(text.buf, 0, NULL)) && json_is_string(json_object_get(v, "rule"))) {
        out = json_pack("{s:s,s:I,s:s}", "rule", json_string_value(json_object_get(v, "rule")),
                        "step", json_integer_value(json_object_get(v, "step")), "message",
                        json_is_string(json_object_get(v, "message"))
                            ? json_string_value(json_object_get(v, "message")) : "");
    } else {
        out = json_pack("{s:s,s:s#}", "rule", "", "message", text.buf,
                        (int)(text.len > 200 ? 200 : text.len));
    }
    json_decref(v);
    vsim_buf_release(&path);
    vsim_buf_release(&text);
    return out ? out : json_null();
}

static void collect_run_info(report_run *r)
{
    const vsim_trial *t = r->t;
    const char *status = NULL;
    int64_t last = -1;
    size_t n = vsim_trial_n_steps(t), n_train = 0, n_eval = 0;
    double w0 = NAN, w1 = NAN;
    json_t *hp = json_object_get(r->run_json, "hyperparameters");
    double batch = json_number_value(json_object_get(hp, "batch"));
    int ended = vsim_trial_ended(t, &status, &last);

    for (size_t i = 0; i < n; i++) {
        const vsim_step_info *s = vsim_trial_step(t, i);

        if (s->mode == VSIM_MODE_TRAIN) {
            if (!n_train++)
                w0 = s->wall_time;
            w1 = s->wall_time;
        } else if (s->mode == VSIM_MODE_EVAL) {
            n_eval++;
        }
    }
    json_object_set_new(r->summary, "run_id", json_string(vsim_trial_run_id(t)));
    json_object_set_new(r->summary, "dir", json_string(r->dir));
    json_object_set_new(r->summary, "status", json_string(ended ? status : "running"));
    json_object_set_new(r->summary, "stopped_by",
                        ended && status && !strcmp(status, "stopped") ? stopped_by(r->dir)
                                                                      : json_null());
    json_object_set_new(r->summary, "last_step",
                        n ? json_integer(vsim_trial_step(t, n - 1)->step) : json_null());
    json_object_set_new(r->summary, "steps",
                        json_pack("{s:I,s:I,s:I}", "complete", (json_int_t)n, "train",
                                  (json_int_t)n_train, "eval", (json_int_t)n_eval));
    json_object_set_new(r->summary, "created",
                        json_is_string(json_object_get(r->run_json, "created"))
                            ? json_incref(json_object_get(r->run_json, "created")) : json_null());
    json_object_set_new(r->summary, "wall_time_s",
                        n ? vsim_json_num(vsim_trial_step(t, n - 1)->wall_time -
                                          vsim_trial_step(t, 0)->wall_time) : json_null());
    /* images/s over the training steps' wall times (evaluations included) */
    json_object_set_new(r->summary, "images_per_s",
                        n_train > 1 && batch > 0 && w1 > w0
                            ? vsim_json_num((double)(n_train - 1) * batch / (w1 - w0))
                            : json_null());
    json_object_set_new(r->summary, "hyperparameters",
                        json_is_object(hp) ? json_deep_copy(hp) : json_object());
    if (!json_object_size(json_object_get(r->summary, "hyperparameters")))
        vsim_report_missing(r, "summary", "%s/run.json has no hyperparameters", r->dir);
}

/* The model table: layer, kind, output shape, parameters and share of the total. */
static void collect_model(report_run *r)
{
    json_t *m = json_object_get(r->run_json, "model"), *layers = json_object_get(m, "layers");
    json_t *out = json_array(), *l;
    double total = json_number_value(json_object_get(m, "n_params"));
    size_t i;

    if (!json_is_array(layers) || !json_array_size(layers)) {
        vsim_report_missing(r, "model", "run.json describes no model layers");
        json_object_set_new(r->summary, "model", json_null());
        json_decref(out);
        return;
    }
    if (!(total > 0))
        json_array_foreach(layers, i, l)
            total += json_number_value(json_object_get(l, "params"));
    json_array_foreach(layers, i, l) {
        double np = json_number_value(json_object_get(l, "params"));
        json_t *shape = json_object_get(l, "out");

        json_array_append_new(out, json_pack("{s:O,s:O,s:O,s:O,s:f}", "name",
                                             json_object_get(l, "name"), "kind",
                                             json_object_get(l, "kind") ? json_object_get(l, "kind")
                                                                        : json_null(),
                                             "out", shape ? shape : json_null(), "params",
                                             json_object_get(l, "params")
                                                 ? json_object_get(l, "params") : json_null(),
                                             "share", total > 0 ? np / total : 0.0));
    }
    json_object_set_new(r->summary, "model",
                        json_pack("{s:f,s:O,s:o}", "n_params", total, "spec",
                                  json_object_get(m, "spec") ? json_object_get(m, "spec")
                                                             : json_null(),
                                  "layers", out));
}

/* ---- scalars: losses and metrics at every step ---------------------------------------- */

typedef struct series {
    const char *name;
    int mode;
    int64_t *steps;
    double *v;
    size_t n, cap;
} series;

static int series_add(series *s, int64_t step, double v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        int64_t *st = vsim_realloc(s->steps, cap * sizeof(*st));

        if (!st)
            return VSIM_ENOMEM;
        s->steps = st;
        double *nv = vsim_realloc(s->v, cap * sizeof(*nv));

        if (!nv)
            return VSIM_ENOMEM;
        s->v = nv;
        s->cap = cap;
    }
    s->steps[s->n] = step;
    s->v[s->n++] = v;
    return VSIM_OK;
}

/* final, best (minimum or maximum) and where, of a series; NULL if empty. */
static json_t *series_figures(const series *s, int higher_is_better)
{
    size_t best = 0;

    if (!s || !s->n)
        return json_null();
    for (size_t i = 1; i < s->n; i++)
        if (isfinite(s->v[i]) && (!isfinite(s->v[best]) ||
                                  (higher_is_better ? s->v[i] > s->v[best] : s->v[i] < s->v[best])))
            best = i;
    return json_pack("{s:s,s:o,s:I,s:o,s:I}", "mode", vsim_mode_name(s->mode), "final",
                     vsim_json_num(s->v[s->n - 1]), "final_step", (json_int_t)s->steps[s->n - 1],
                     "best", vsim_json_num(s->v[best]), "best_step", (json_int_t)s->steps[best]);
}

static const series *find_series(const series *s, size_t n, const char *name, int mode)
{
    for (size_t i = 0; i < n; i++)
        if (s[i].n && s[i].mode == mode && !strcmp(s[i].name, name))
            return &s[i];
    return NULL;
}

/* One curve: steps (int32 or float64 when they do not fit) and float64 values in base64. */
static json_t *curve_json(const series *s)
{
    int32_t *st = vsim_mallocarray(s->n ? s->n : 1, sizeof(*st));
    json_t *c;

    if (!st)
        return NULL;
    for (size_t i = 0; i < s->n; i++)
        st[i] = (int32_t)(s->steps[i] > INT32_MAX ? INT32_MAX : s->steps[i]);
    c = json_pack("{s:s,s:s,s:I,s:o,s:o}", "name", s->name, "mode", vsim_mode_name(s->mode), "n",
                  (json_int_t)s->n, "steps", vsim_report_b64(st, s->n * sizeof(*st)), "values",
                  vsim_report_b64(s->v, s->n * sizeof(double)));
    vsim_free(st);
    return c;
}

/*
 * A layer x step heat map of the series whose names start with prefix (the
 * weight-update ratios, saved at training steps): log10 of the values, columns
 * over the saved steps in order (evaluation steps leave no gap), averaged into
 * at most HEAT_MAX_COLS bins, float32 in base64; NaN where nothing was saved.
 */
static int heat_row(const series *s, const char *prefix, size_t plen)
{
    return s->n && !strncmp(s->name, prefix, plen) && s->mode == VSIM_MODE_TRAIN;
}

static json_t *heat_from_series(const series *s, size_t n, const char *prefix)
{
    size_t n_rows = 0, plen = strlen(prefix), n_cols = 0, row = 0;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    json_t *names = json_array(), *out = NULL;
    float *v = NULL;

    for (size_t i = 0; i < n; i++)
        if (heat_row(&s[i], prefix, plen)) {
            n_rows++;
            n_cols = s[i].n > n_cols ? s[i].n : n_cols;
            lo = s[i].steps[0] < lo ? s[i].steps[0] : lo;
            hi = s[i].steps[s[i].n - 1] > hi ? s[i].steps[s[i].n - 1] : hi;
        }
    n_cols = n_cols < HEAT_MAX_COLS ? n_cols : HEAT_MAX_COLS;
    if (!n_rows || !(v = vsim_mallocarray(n_rows * n_cols, sizeof(*v)))) {
        json_decref(names);
        return json_null();
    }
    for (size_t i = 0; i < n; i++) {
        if (!heat_row(&s[i], prefix, plen))
            continue;
        for (size_t c = 0; c < n_cols; c++) {
            /* the saved steps [k0, k1) fall into column c */
            size_t k0 = c * s[i].n / n_cols, k1 = (c + 1) * s[i].n / n_cols, cnt = 0;
            double sum = 0;

            for (size_t k = k0; k < k1; k++)
                if (s[i].v[k] > 0 && isfinite(s[i].v[k])) {
                    sum += log10(s[i].v[k]);
                    cnt++;
                }
            v[row * n_cols + c] = cnt ? (float)(sum / (double)cnt) : NAN;
        }
        json_array_append_new(names, json_string(s[i].name + plen));
        row++;
    }
    out = json_pack("{s:O,s:I,s:I,s:I,s:I,s:s,s:o}", "rows", names, "n_cols", (json_int_t)n_cols,
                    "first_step", (json_int_t)lo, "last_step", (json_int_t)hi, "log10", 1,
                    "label", "weight-update ratio (log10)", "values",
                    vsim_report_b64(v, n_rows * n_cols * sizeof(*v)));
    json_decref(names);
    vsim_free(v);
    return out ? out : json_null();
}

static int is_scalar(const vsim_tensor_info *ti)
{
    size_t n = 1;

    for (int d = 0; d < ti->ndim; d++)
        n *= ti->shape[d];
    return ti->has_values && n == 1;
}

/* Scalars of collections losses and metrics, step by step (one shard open per step). */
static int collect_scalars(report_run *r)
{
    const vsim_trial *t = r->t;
    size_t n_t = vsim_trial_n_tensors(t), n_steps = vsim_trial_n_steps(t), n_s = 0;
    size_t *idx = vsim_mallocarray(n_t ? n_t : 1, sizeof(*idx));
    series *s = vsim_calloc(n_t * VSIM_N_MODES + 1, sizeof(*s));
    json_t *curves = json_array(), *figs;
    int rc = idx && s ? VSIM_OK : vsim_fail(VSIM_ENOMEM, "out of memory");
    size_t n_idx = 0;

    for (size_t i = 0; !rc && i < n_t; i++) {
        const vsim_tensor_info *ti = vsim_trial_tensor(t, i);

        if ((vsim_list_has(ti->collections, "losses", 6) ||
             vsim_list_has(ti->collections, "metrics", 7)) && is_scalar(ti))
            idx[n_idx++] = i;
    }
    for (size_t k = 0; !rc && k < n_steps; k++) {
        const vsim_step_info *st = vsim_trial_step(t, k);

        for (size_t j = 0; !rc && j < n_idx; j++) {
            const vsim_tensor_info *ti = vsim_trial_tensor(t, idx[j]);
            double buf[2];
            vsim_tensor view;
            series *se = &s[j * VSIM_N_MODES + (size_t)st->mode];

            if (!vsim_trial_has(t, idx[j], st->step, 0))
                continue;
            if (vsim_trial_read_into(t, ti->name, st->step, 0, buf, sizeof(buf), &view))
                continue;   /* a corrupt shard: already a trial problem */
            se->name = ti->name;
            se->mode = (int)st->mode;
            rc = series_add(se, st->step, vsim_tensor_get(&view, 0));
        }
    }
    n_s = n_idx * VSIM_N_MODES;
    for (size_t i = 0; !rc && i < n_s; i++)
        if (s[i].n && strncmp(s[i].name, "metrics/update_ratio/", 21))
            json_array_append_new(curves, curve_json(&s[i]));
    if (!rc) {
        const series *ssim = find_series(s, n_s, "metrics/ssim", VSIM_MODE_EVAL);
        const series *psnr = find_series(s, n_s, "metrics/psnr", VSIM_MODE_EVAL);

        ssim = ssim ? ssim : find_series(s, n_s, "metrics/ssim", VSIM_MODE_TRAIN);
        psnr = psnr ? psnr : find_series(s, n_s, "metrics/psnr", VSIM_MODE_TRAIN);
        figs = json_pack("{s:o,s:o,s:o,s:o}", "train_loss",
                         series_figures(find_series(s, n_s, "loss/total", VSIM_MODE_TRAIN), 0),
                         "eval_loss",
                         series_figures(find_series(s, n_s, "loss/total", VSIM_MODE_EVAL), 0),
                         "ssim", series_figures(ssim, 1), "psnr", series_figures(psnr, 1));
        json_object_set_new(r->summary, "figures", figs);
        if (!json_array_size(curves))
            vsim_report_missing(r, "curves", "%s saved no losses or metrics", r->dir);
        else if (!find_series(s, n_s, "loss/total", VSIM_MODE_EVAL))
            vsim_report_missing(r, "curves", "%s has no evaluation steps: no eval loss", r->dir);
        json_object_set_new(r->data, "curves", curves);
        json_object_set_new(r->data, "heat_update",
                            heat_from_series(s, n_s, "metrics/update_ratio/"));
        curves = NULL;
    }
    json_decref(curves);
    for (size_t i = 0; s && i < n_t * VSIM_N_MODES + 1; i++) {
        vsim_free(s[i].steps);
        vsim_free(s[i].v);
    }
    vsim_free(s);
    vsim_free(idx);
    return rc;
}

/* ---- per-layer statistics -------------------------------------------------------------- */

typedef struct layer_walk {
    report_run *r;
    json_t *rows;               /* summary rows at the chosen step (vsim-stats' JSON) */
    json_t *hist;               /* data: histogram per tensor at the chosen step */
    json_t *tracks;             /* data: per tensor, steps x (mean std l2 9 pcts) */
    const double *pct;
    size_t n_pct;
} layer_walk;

static json_t *stats_row_json(const vsim_stats_row *row)
{
    json_t *o = json_object();
    char nm[16];

    json_object_set_new(o, "worker", json_integer(row->worker));
    json_object_set_new(o, "step", json_integer(row->step));
    json_object_set_new(o, "mode", json_string(vsim_mode_name(row->mode)));
    json_object_set_new(o, "tensor", json_string(row->tensor));
    json_object_set_new(o, "collections", json_string(row->collections));
    json_object_set_new(o, "layer", json_string(row->layer));
    for (int f = 0; f < VSIM_STATS_F_PCT0 + (int)row->stats->n_pct; f++) {
        double v = vsim_stats_field(row->stats, f);
        int known = (row->known >> f) & 1;

        if (f >= VSIM_STATS_F_PCT0)
            snprintf(nm, sizeof(nm), "p%g", row->stats->pct_q[f - VSIM_STATS_F_PCT0]);
        json_object_set_new(o, f < VSIM_STATS_F_PCT0 ? vsim_stats_field_name(f) : nm,
                            !known ? json_null()
                            : f < VSIM_STATS_F_MIN ? json_integer((json_int_t)v)
                                                   : vsim_json_num(v));
    }
    return o;
}

static int on_step_row(void *ctx, const vsim_stats_row *row)
{
    layer_walk *w = ctx;

    if (row->kind == VSIM_STATS_ROW_PROBLEM) {
        return 0;
    } else if (row->kind != VSIM_STATS_ROW_TENSOR) {
        return 0;
    }
    json_array_append_new(w->rows, stats_row_json(row));
    if (row->hist && row->hist->n_bins) {
        json_t *c = json_array();

        for (size_t b = 0; b < row->hist->n_bins; b++)
            json_array_append_new(c, json_integer((json_int_t)row->hist->counts[b]));
        json_object_set_new(w->hist, row->tensor,
                            json_pack("{s:o,s:o,s:o}", "lo", vsim_json_num(row->hist->lo), "hi",
                                      vsim_json_num(row->hist->hi), "counts", c));
    }
    return 0;
}

/* The table rows (and histograms) at one step, exactly as `vsim-stats -c weights -c biases
 * -c gradients [--step N] --format json` computes them. */
static int collect_layer_table(report_run *r, const vsim_report_params *p)
{
    static const char *colls[] = { "weights", "biases", "gradients" };
    vsim_stats_run_params sp = VSIM_STATS_RUN_PARAMS_INIT;
    layer_walk w = { r, json_array(), json_object(), NULL, NULL, 0 };
    int rc;

    sp.collections = colls;
    sp.n_collections = 3;
    sp.step = p->step;
    sp.stats.n_bins = HIST_BINS;
    sp.stats.n_threads = p->n_threads;
    rc = vsim_stats_run_dir(r->dir, &sp, on_step_row, &w, NULL);
    if (rc == VSIM_ENOTFOUND && p->step >= 0) {
        vsim_report_missing(r, "layers", "%s: %s", r->dir, vsim_errmsg());
        rc = VSIM_OK;
    } else if (rc == VSIM_ENOTFOUND) {
        rc = VSIM_OK;
    }
    if (!rc && !json_array_size(w.rows))
        vsim_report_missing(r, "layers", "%s saved no weights, biases or gradients", r->dir);
    r->step = json_array_size(w.rows)
                  ? json_integer_value(json_object_get(json_array_get(w.rows, 0), "step")) : -1;
    json_object_set_new(r->summary, "layers_step", r->step >= 0 ? json_integer(r->step)
                                                                : json_null());
    json_object_set_new(r->summary, "layers", w.rows);
    json_object_set_new(r->data, "hist", w.hist);
    return rc;
}

static int on_track_row(void *ctx, const vsim_stats_row *row)
{
    layer_walk *w = ctx;
    json_t *tr;
    float v[3 + VSIM_PLOT_N_BAND_PCT];

    if (row->kind != VSIM_STATS_ROW_TENSOR || row->worker != 0)
        return 0;
    tr = json_object_get(w->tracks, row->tensor);
    if (!tr) {
        tr = json_pack("{s:[],s:[]}", "steps", "v");
        json_object_set_new(w->tracks, row->tensor, tr);
    }
    v[0] = (float)row->stats->mean;
    v[1] = (float)row->stats->std;
    v[2] = (float)row->stats->l2;
    for (size_t k = 0; k < VSIM_PLOT_N_BAND_PCT; k++)
        v[3 + k] = (float)row->stats->pct[k];
    json_array_append_new(json_object_get(tr, "steps"), json_integer(row->step));
    for (size_t k = 0; k < VSIM_ARRAY_LEN(v); k++)
        json_array_append_new(json_object_get(tr, "v"), vsim_json_num((double)v[k]));
    return 0;
}

/*
 * Weights and gradients over every saved step: mean, std, L2 and TensorBoard's
 * nine band percentiles per tensor and step (sparklines, bands, the gradient-norm
 * heat map), in one walk over the run.
 */
static int collect_tracks(report_run *r, const vsim_report_params *p)
{
    static const char *colls[] = { "weights", "gradients" };
    vsim_stats_run_params sp = VSIM_STATS_RUN_PARAMS_INIT;
    layer_walk w = { r, NULL, NULL, json_object(), NULL, 0 };
    int rc;

    sp.collections = colls;
    sp.n_collections = 2;
    sp.all_steps = 1;
    sp.worker = 0;
    sp.stats.percentiles = vsim_plot_band_pct;
    sp.stats.n_percentiles = VSIM_PLOT_N_BAND_PCT;
    sp.stats.n_threads = p->n_threads;
    rc = vsim_stats_run_dir(r->dir, &sp, on_track_row, &w, NULL);
    if (rc == VSIM_ENOTFOUND)
        rc = VSIM_OK;
    json_object_set_new(r->data, "tracks", w.tracks);
    json_object_set_new(r->data, "track_fields",
                        json_pack("[s,s,s,[f,f,f,f,f,f,f,f,f]]", "mean", "std", "l2",
                                  vsim_plot_band_pct[0], vsim_plot_band_pct[1],
                                  vsim_plot_band_pct[2], vsim_plot_band_pct[3],
                                  vsim_plot_band_pct[4], vsim_plot_band_pct[5],
                                  vsim_plot_band_pct[6], vsim_plot_band_pct[7],
                                  vsim_plot_band_pct[8]));
    return rc;
}

/*
 * Dead units at the table's step: for each ReLU layer's activations on the probe
 * batch (N x C [x H x W]), the share of units (channels) never above zero.
 */
static void collect_dead_units(report_run *r)
{
    size_t *idx = NULL, n = 0;
    json_t *dead = json_object();

    if (r->step >= 0 && !vsim_trial_match(r->t, "activations", NULL, &idx, &n)) {
        for (size_t i = 0; i < n; i++) {
            const vsim_tensor_info *ti = vsim_trial_tensor(r->t, idx[i]);
            vsim_tensor v;
            void *data = NULL;
            size_t per, units, n_dead = 0, batch;

            if (ti->ndim < 2 || !vsim_trial_has(r->t, idx[i], r->step, 0) ||
                vsim_trial_read(r->t, ti->name, r->step, 0, &v, &data))
                continue;
            batch = v.shape[0];
            units = v.shape[1];
            per = batch * units;
            per = vsim_tensor_n_elems(&v) / (per ? per : 1);
            for (size_t u = 0; u < units; u++) {
                int alive = 0;

                for (size_t b = 0; b < batch && !alive; b++)
                    for (size_t e = 0; e < per && !alive; e++)
                        alive = vsim_tensor_load(&v, (b * units + u) * per + e) > 0;
                n_dead += !alive;
            }
            json_object_set_new(dead, ti->name + strlen("activations/"),
                                json_real((double)n_dead / (double)(units ? units : 1)));
            vsim_free(data);
        }
    }
    vsim_free(idx);
    json_object_set_new(r->data, "dead_units", dead);
}

/*
 * Layer health for the CI gate (issue 14): the mean share of dead units over the
 * layers with activations, the share of gradient tensors whose mean |g| is below
 * VanishingGradient's default threshold (1e-7), each gradient tensor's L2 norm at
 * the table's step (weights), the parameter count and the model file's size.
 */
static void collect_health(report_run *r)
{
    json_t *h = json_object(), *dead = json_object_get(r->data, "dead_units"), *v, *gn;
    json_t *m = json_object_get(r->summary, "model");
    vsim_buf path = VSIM_BUF_INIT;
    struct stat st;
    size_t n_grad = 0, n_van = 0, i;
    double sum = 0;
    const char *k, *tensor;

    json_object_foreach(dead, k, v)
        sum += json_number_value(v);
    json_object_set_new(h, "dead_unit_share", json_object_size(dead)
                        ? json_real(sum / (double)json_object_size(dead)) : json_null());
    gn = json_object();
    json_array_foreach(json_object_get(r->summary, "layers"), i, v) {
        const char *coll = json_string_value(json_object_get(v, "collections"));
        double l1 = json_number_value(json_object_get(v, "l1"));
        double cnt = json_number_value(json_object_get(v, "count"));

        if (!coll || !vsim_list_has(coll, "gradients", 9))
            continue;
        n_grad++;
        n_van += cnt > 0 && l1 / cnt < 1e-7;
        /* the gate compares weight gradients: bias gradients are few and noisy */
        tensor = json_string_value(json_object_get(v, "tensor"));
        if (tensor && strlen(tensor) > 6 && !strcmp(tensor + strlen(tensor) - 6, "weight"))
            json_object_set(gn, tensor, json_object_get(v, "l2"));
    }
    json_object_set_new(h, "vanishing_share", n_grad ? json_real((double)n_van /
                                                                 (double)n_grad) : json_null());
    json_object_set_new(h, "grad_norms", gn);
    json_object_set_new(h, "n_params", json_is_object(m) ? json_incref(json_object_get(m,
                                                           "n_params")) : json_null());
    vsim_buf_addf(&path, "%s/model.h5", r->dir);
    json_object_set_new(h, "model_file_bytes", stat(path.buf, &st) ? json_null()
                                               : json_integer((json_int_t)st.st_size));
    json_object_set_new(r->summary, "health", h);
    vsim_buf_release(&path);
}

/* ---- rule verdicts ---------------------------------------------------------------------- */

typedef struct verdicts {
    json_t *rules;              /* rule -> {fired, n_fired, first_step, message} */
} verdicts;

static void note_verdict(verdicts *vs, const char *rule, int fired, int64_t step,
                         const char *msg)
{
    json_t *o = json_object_get(vs->rules, rule);

    if (!o) {
        o = json_pack("{s:s,s:b,s:I,s:n,s:s}", "rule", rule, "fired", 0, "n_fired",
                      (json_int_t)0, "first_step", "message", "");
        json_object_set_new(vs->rules, rule, o);
    }
    if (!fired)
        return;
    if (!json_is_true(json_object_get(o, "fired"))) {
        json_object_set_new(o, "fired", json_true());
        json_object_set_new(o, "first_step", json_integer(step));
        json_object_set_new(o, "message", json_string(msg));
    }
    json_object_set_new(o, "n_fired", json_integer(json_integer_value(
                                          json_object_get(o, "n_fired")) + 1));
}

static int on_verdict(void *ctx, const vsim_verdict *v)
{
    note_verdict(ctx, v->rule, v->result == VSIM_RULE_FIRED, v->step, v->message);
    return 0;
}

/* RUN/rules/verdicts.jsonl when recorded (vsim-rules --record); unreadable lines skipped. */
static int read_recorded(report_run *r, verdicts *vs)
{
    vsim_buf path = VSIM_BUF_INIT, text = VSIM_BUF_INIT;
    int found = 0;

    vsim_buf_addf(&path, "%s/rules/verdicts.jsonl", r->dir);
    if (!vsim_fs_read_file(path.buf, &text)) {
        found = 1;
        for (char *line = strtok(text.buf, "\n"); line; line = strtok(NULL, "\n")) {
            json_t *v = json_loads(line, 0, NULL);
            const char *rule = json_string_value(json_object_get(v, "rule"));
            const char *res = json_string_value(json_object_get(v, "result"));
            const char *msg = json_string_value(json_object_get(v, "message"));

            if (rule && res)
                note_verdict(vs, rule, !strcmp(res, "fired"),
                             json_integer_value(json_object_get(v, "step")), msg ? msg : "");
            json_decref(v);
        }
    }
    vsim_buf_release(&path);
    vsim_buf_release(&text);
    return found;
}

static int collect_rules(report_run *r, const vsim_report_params *p)
{
    verdicts vs = { json_object() };
    vsim_rules *rs = NULL;
    vsim_rules_params rp = VSIM_RULES_PARAMS_INIT;
    vsim_rules_summary sum = VSIM_RULES_SUMMARY_INIT;
    const char *source = "recorded";
    json_t *list = json_array(), *o;
    const char *key;
    size_t n_fired = 0;
    int rc = VSIM_OK;

    if (!read_recorded(r, &vs)) {
        source = "evaluated (default rules)";
        rp.on_verdict = on_verdict;
        rp.verdict_ctx = &vs;
        rp.n_threads = p->n_threads;
        rc = vsim_rules_create(&rs);
        if (!rc)
            rc = vsim_rules_add_defaults(rs);
        if (!rc)
            rc = vsim_rules_run(rs, r->dir, &rp, &sum);
        for (size_t i = 0; !rc && i < sum.n_rules; i++)
            note_verdict(&vs, sum.rules[i].rule, 0, -1, "");
        vsim_rules_summary_release(&sum);
        vsim_rules_destroy(rs);
        if (rc) {
            vsim_report_missing(r, "rules", "the rules could not be evaluated: %s",
                                vsim_errmsg());
            rc = VSIM_OK;
        }
    }
    json_object_foreach(vs.rules, key, o) {
        n_fired += json_is_true(json_object_get(o, "fired"));
        json_array_append(list, o);
    }
    json_object_set_new(r->summary, "rules",
                        json_pack("{s:s,s:I,s:o}", "source", source, "n_fired",
                                  (json_int_t)n_fired, "verdicts", list));
    json_decref(vs.rules);
    return rc;
}

/* ---- probe images ----------------------------------------------------------------------- */

/* Inputs over reconstructions as one grey strip (2 rows), PNG in base64. */
static json_t *image_strip(const vsim_series_images *im)
{
    size_t n = im->n < MAX_IMAGES ? im->n : MAX_IMAGES, h = im->h, w = im->w, gap = 2;
    size_t W = n * (w + gap), H = 2 * h + gap;
    uint8_t *px = vsim_calloc(W * H, 1);
    vsim_buf png = VSIM_BUF_INIT;
    json_t *out = NULL;

    if (!px)
        return NULL;
    memset(px, 128, W * H);
    for (size_t i = 0; i < n; i++)
        for (size_t row = 0; row < 2; row++) {
            const float *src = row ? im->recon : im->input;

            if (!src)
                continue;
            src += i * im->channels * h * w;
            for (size_t y = 0; y < h; y++)
                for (size_t x = 0; x < w; x++) {
                    float v = src[y * w + x];

                    v = v < 0 ? 0 : v > 1 ? 1 : v;
                    px[(row * (h + gap) + y) * W + i * (w + gap) + x] =
                        (uint8_t)lrintf(v * 255.0f);
                }
        }
    if (!vsim_plot_png_gray(px, W, H, &png))
        out = json_pack("{s:I,s:I,s:I,s:b,s:o}", "step", (json_int_t)im->step, "n",
                        (json_int_t)n, "size", (json_int_t)w, "recon", im->recon != NULL, "png",
                        vsim_report_b64(png.buf, png.len));
    vsim_free(px);
    vsim_buf_release(&png);
    return out;
}

static int collect_images(report_run *r)
{
    size_t i_in;
    int64_t steps[64];
    size_t n, pick[MAX_IMAGE_STEPS], n_pick = 0;
    json_t *strips = json_array();

    if (vsim_trial_find_tensor(r->t, "images/input", &i_in)) {
        vsim_report_missing(r, "images", "%s saved no probe images (images/input)", r->dir);
        json_object_set_new(r->data, "images", strips);
        return VSIM_OK;
    }
    n = vsim_trial_tensor_steps(r->t, i_in, steps, VSIM_ARRAY_LEN(steps));
    n = n < VSIM_ARRAY_LEN(steps) ? n : VSIM_ARRAY_LEN(steps);
    for (size_t k = 0; k < MAX_IMAGE_STEPS && k < n; k++) {
        size_t at = n <= MAX_IMAGE_STEPS ? k : k * (n - 1) / (MAX_IMAGE_STEPS - 1);

        if (!n_pick || pick[n_pick - 1] != at)
            pick[n_pick++] = at;
    }
    for (size_t k = 0; k < n_pick; k++) {
        vsim_series_images im = VSIM_SERIES_IMAGES_INIT;
        json_t *s;

        if (vsim_series_read_images(r->dir, steps[pick[k]], MAX_IMAGES, &im)) {
            vsim_report_missing(r, "images", "%s", vsim_errmsg());
            continue;
        }
        s = image_strip(&im);
        if (s)
            json_array_append_new(strips, s);
        else
            vsim_report_missing(r, "images", "step %lld: %s", (long long)im.step,
                                vsim_errmsg());
        vsim_series_images_release(&im);
    }
    json_object_set_new(r->data, "images", strips);
    return VSIM_OK;
}

/* ---- the run ---------------------------------------------------------------------------- */

static void collect_problems(report_run *r)
{
    json_t *a = json_array();

    r->n_problems = vsim_trial_n_problems(r->t);
    for (size_t i = 0; i < r->n_problems; i++) {
        const vsim_trial_problem *pr = vsim_trial_problem_at(r->t, i);

        json_array_append_new(a, json_pack("{s:s,s:s}", "path", pr->path, "message",
                                           pr->message));
    }
    json_object_set_new(r->summary, "problems", a);
}

int vsim_report_open(const char *dir, report_run *r)
{
    int rc;

    memset(r, 0, sizeof(*r));
    r->dir = dir;
    r->step = -1;
    rc = vsim_trial_open(dir, &r->t);
    if (rc)
        return rc;
    r->run_json = parse_run_json(r->t);
    r->summary = json_pack("{s:s}", "schema", "vsim-summary/1");
    r->data = json_object();
    r->missing = json_array();
    if (!r->summary || !r->data || !r->missing)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    if (!vsim_trial_n_steps(r->t))
        vsim_report_missing(r, "run", "%s has no complete steps yet", dir);
    collect_run_info(r);
    collect_model(r);
    return VSIM_OK;
}

int vsim_report_collect(const vsim_report_params *p, report_run *r)
{
    const char *dir = r->dir;
    int rc;

    vsim_report_progress(p, "%s: losses and metrics", dir);
    rc = collect_scalars(r);
    vsim_report_progress(p, "%s: per-layer statistics", dir);
    if (!rc)
        rc = collect_layer_table(r, p);
    if (!rc)
        rc = collect_tracks(r, p);
    if (!rc)
        collect_dead_units(r);
    if (!rc)
        collect_health(r);
    vsim_report_progress(p, "%s: rules", dir);
    if (!rc)
        rc = collect_rules(r, p);
    if (!rc)
        rc = collect_images(r);
    if (!rc)
        collect_problems(r);
    return rc;
}

void vsim_report_run_release(report_run *r)
{
    vsim_trial_close(r->t);
    json_decref(r->run_json);
    json_decref(r->summary);
    json_decref(r->data);
    json_decref(r->missing);
    memset(r, 0, sizeof(*r));
}
