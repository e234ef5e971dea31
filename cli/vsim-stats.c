/*
 * cli/vsim-stats.c - per-layer statistics of a run (issue 5): options, one call
 * to vsim_stats_run_dir (analyze/stats_run.h), and printing the rows as a
 * table, CSV or JSON. Exit 4 when some shard was corrupt and skipped.
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/stats_run.h"
#include "cli/cli.h"

enum { FMT_TABLE, FMT_CSV, FMT_JSON };

typedef struct out_ctx {
    const vsim_stats_run_params *p;
    int format, header_done;
    json_t *rows;                /* JSON document rows (NULL when streaming lines) */
    const char *last_layer;      /* table --by-layer: the block being printed */
    char layer_buf[512];
} out_ctx;

static const vsim_cli cli = {
    "vsim-stats", "RUN [options]",
    "Per-tensor statistics of a training run: counts, min, max, mean, std, norms, percentiles.",
    "Examples:\n  vsim-stats run/                          last complete step, as a table\n"
    "  vsim-stats run/ --all-steps --format csv  every step, CSV\n"
    "  vsim-stats run/ --collection gradients --across-steps   spot vanishing gradients\n",
    1, 1
};

static vsim_stats_run_params params = VSIM_STATS_RUN_PARAMS_INIT;
static const char *collections[64];
static double pcts[VSIM_STATS_MAX_PCT];
static int format = FMT_TABLE;
static int n_bins;

static int cb_steps(const vsim_opt *o, const char *arg)
{
    (void)o;
    return vsim_stats_parse_range(arg, &params) ? -1 : 0;
}

static int cb_collection(const vsim_opt *o, const char *arg)
{
    (void)o;
    if (params.n_collections >= VSIM_ARRAY_LEN(collections))
        return -1;
    collections[params.n_collections++] = arg;
    params.collections = collections;
    return 0;
}

static int cb_mode(const vsim_opt *o, const char *arg)
{
    vsim_mode m;

    (void)o;
    if (vsim_mode_parse(arg, &m))
        return -1;
    params.mode = (int)m;
    return 0;
}

static int cb_percentiles(const vsim_opt *o, const char *arg)
{
    char *end;
    size_t n = 0;

    (void)o;
    for (const char *s = arg; *s && n < VSIM_STATS_MAX_PCT; s = *end ? end + 1 : end) {
        pcts[n] = strtod(s, &end);
        if (end == s || (*end && *end != ',') || !(pcts[n] >= 0 && pcts[n] <= 100))
            return -1;
        n++;
    }
    params.stats.percentiles = pcts;
    params.stats.n_percentiles = n;
    return 0;
}

static int cb_format(const vsim_opt *o, const char *arg)
{
    (void)o;
    format = !strcmp(arg, "table") ? FMT_TABLE : !strcmp(arg, "csv") ? FMT_CSV
             : !strcmp(arg, "json") ? FMT_JSON : -1;
    return format < 0 ? -1 : 0;
}

/* ---- printing ---- */

static void put_num(double v, int known, const char *fmt)
{
    if (!known)
        return;
    if (isnan(v))
        fputs("nan", stdout);
    else if (isinf(v))
        fputs(v > 0 ? "inf" : "-inf", stdout);
    else
        printf(fmt, v);
}

static void put_csv_str(const char *s)
{
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static void pct_name(char *buf, size_t cap, double q)
{
    snprintf(buf, cap, "p%g", q);
}

static void csv_header(const out_ctx *o, int series)
{
    char nm[32];

    if (series) {
        printf("worker,tensor,collections,n_steps,first_step,last_step,l2_trend");
        for (int f = 0; f < VSIM_STATS_F_PCT0 + (int)o->p->stats.n_percentiles; f++) {
            if (f >= VSIM_STATS_F_PCT0)
                pct_name(nm, sizeof(nm), o->p->stats.percentiles[f - VSIM_STATS_F_PCT0]);
            else
                snprintf(nm, sizeof(nm), "%s", vsim_stats_field_name(f));
            printf(",%s_first,%s_last,%s_min,%s_max", nm, nm, nm, nm);
        }
    } else {
        printf("worker,step,mode,tensor,collections,count,nan,posinf,neginf,zeros,"
               "min,max,mean,std,l1,l2");
        for (size_t i = 0; i < o->p->stats.n_percentiles; i++) {
            pct_name(nm, sizeof(nm), o->p->stats.percentiles[i]);
            printf(",%s", nm);
        }
        if (o->p->stats.n_bins)
            printf(",hist_lo,hist_hi,hist");
    }
    printf("%s\n", o->p->by_layer ? ",layer" : "");
}

static void csv_row(const vsim_stats_row *r)
{
    int n_fields = VSIM_STATS_F_PCT0 + (int)r->stats->n_pct;

    printf("%d,%" PRId64 ",%s,", r->worker, r->step, vsim_mode_name(r->mode));
    put_csv_str(r->tensor);
    putchar(',');
    put_csv_str(r->collections);
    for (int f = 0; f < n_fields; f++) {
        putchar(',');
        put_num(vsim_stats_field(r->stats, f), (r->known >> (f < 63 ? f : 63)) & 1,
                f < VSIM_STATS_F_MIN ? "%.0f" : "%.17g");
    }
    if (r->hist) {
        printf(",%.17g,%.17g,", r->hist->lo, r->hist->hi);
        for (size_t b = 0; b < r->hist->n_bins; b++)
            printf("%s%" PRIu64, b ? ";" : "", r->hist->counts[b]);
    }
}

static void csv_series(const vsim_stats_row *r)
{
    const vsim_stats_series *s = r->series;

    printf("%d,", r->worker);
    put_csv_str(r->tensor);
    putchar(',');
    put_csv_str(r->collections);
    printf(",%" PRIu64 ",%" PRId64 ",%" PRId64 ",", s->n_obs, s->first_step, s->last_step);
    put_num(vsim_stats_series_trend(s), 1, "%.17g");
    for (size_t f = 0; f < s->n_fields; f++) {
        const double v[4] = { s->first[f], s->last[f], s->min[f], s->max[f] };

        for (int k = 0; k < 4; k++) {
            putchar(',');
            put_num(v[k], 1, "%.17g");
        }
    }
}

static json_t *num_json(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *row_json(const vsim_stats_row *r)
{
    json_t *o = json_object();
    char nm[32];

    json_object_set_new(o, "worker", json_integer(r->worker));
    if (r->kind == VSIM_STATS_ROW_TENSOR) {
        json_object_set_new(o, "step", json_integer(r->step));
        json_object_set_new(o, "mode", json_string(vsim_mode_name(r->mode)));
    }
    json_object_set_new(o, "tensor", json_string(r->tensor));
    json_object_set_new(o, "collections", json_string(r->collections));
    json_object_set_new(o, "layer", json_string(r->layer));
    if (r->kind == VSIM_STATS_ROW_SERIES) {
        const vsim_stats_series *s = r->series;

        json_object_set_new(o, "n_steps", json_integer((json_int_t)s->n_obs));
        json_object_set_new(o, "first_step", json_integer(s->first_step));
        json_object_set_new(o, "last_step", json_integer(s->last_step));
        json_object_set_new(o, "l2_trend", num_json(vsim_stats_series_trend(s)));
        for (size_t f = 0; f < s->n_fields; f++) {
            if (f >= VSIM_STATS_F_PCT0)
                pct_name(nm, sizeof(nm), params.stats.percentiles[f - VSIM_STATS_F_PCT0]);
            json_object_set_new(o, f < VSIM_STATS_F_PCT0 ? vsim_stats_field_name((int)f) : nm,
                                json_pack("{s:o,s:o,s:o,s:o}", "first", num_json(s->first[f]),
                                          "last", num_json(s->last[f]), "min",
                                          num_json(s->min[f]), "max", num_json(s->max[f])));
        }
        return o;
    }
    for (int f = 0; f < VSIM_STATS_F_PCT0 + (int)r->stats->n_pct; f++) {
        double v = vsim_stats_field(r->stats, f);
        int known = (r->known >> (f < 63 ? f : 63)) & 1;

        if (f >= VSIM_STATS_F_PCT0)
            pct_name(nm, sizeof(nm), r->stats->pct_q[f - VSIM_STATS_F_PCT0]);
        json_object_set_new(o, f < VSIM_STATS_F_PCT0 ? vsim_stats_field_name(f) : nm,
                            !known ? json_null() : f < VSIM_STATS_F_MIN
                            ? json_integer((json_int_t)v) : num_json(v));
    }
    if (r->hist) {
        json_t *c = json_array();

        for (size_t b = 0; b < r->hist->n_bins; b++)
            json_array_append_new(c, json_integer((json_int_t)r->hist->counts[b]));
        json_object_set_new(o, "hist", json_pack("{s:f,s:f,s:b,s:o}", "lo", r->hist->lo, "hi",
                                                 r->hist->hi, "log", r->hist->log, "counts", c));
    }
    return o;
}

static void table_row(out_ctx *o, const vsim_stats_row *r)
{
    const vsim_stats *s = r->stats;

    if (!o->header_done) {
        printf("%-6s %-3s %-36s %10s %5s %5s %7s %11s %11s %11s %11s %11s", "STEP", "W",
               "TENSOR", "COUNT", "NAN", "INF", "ZEROS", "MIN", "MAX", "MEAN", "STD", "L2");
        for (size_t i = 0; i < s->n_pct; i++) {
            char nm[32];

            pct_name(nm, sizeof(nm), s->pct_q[i]);
            printf(" %11s", nm);
        }
        putchar('\n');
        o->header_done = 1;
    }
    if (params.by_layer && (!o->last_layer || strcmp(o->layer_buf, r->layer))) {
        snprintf(o->layer_buf, sizeof(o->layer_buf), "%s", r->layer);
        o->last_layer = o->layer_buf;
        printf("[%s]\n", r->layer);
    }
    printf("%-6" PRId64 " %-3d %-36s %10" PRIu64 " %5" PRIu64 " %5" PRIu64 " %7" PRIu64,
           r->step, r->worker, r->tensor, s->count, s->n_nan, s->n_posinf + s->n_neginf,
           s->n_zeros);
    for (int f = VSIM_STATS_F_MIN; f < VSIM_STATS_F_PCT0 + (int)s->n_pct; f++) {
        if (f == VSIM_STATS_F_L1)
            continue;
        printf(" %11.4g", vsim_stats_field(s, f));
    }
    putchar('\n');
}

static int on_row(void *ctx, const vsim_stats_row *r)
{
    out_ctx *o = ctx;

    if (r->kind == VSIM_STATS_ROW_PROBLEM) {
        vsim_cli_warn(cli.prog, "%s%s%s (skipped)", r->path ? r->path : "", r->path ? ": " : "",
                      r->message);
        return 0;
    }
    if (r->kind == VSIM_STATS_ROW_STEP_DONE) {
        fflush(stdout);
        return 0;
    }
    if (o->format == FMT_JSON) {
        if (o->rows)
            json_array_append_new(o->rows, row_json(r));
        else {
            json_t *j = row_json(r);

            json_dumpf(j, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
            putchar('\n');
            json_decref(j);
        }
        return 0;
    }
    if (o->format == FMT_CSV || r->kind == VSIM_STATS_ROW_SERIES) {
        if (!o->header_done)
            csv_header(o, r->kind == VSIM_STATS_ROW_SERIES);
        o->header_done = 1;
        if (r->kind == VSIM_STATS_ROW_SERIES)
            csv_series(r);
        else
            csv_row(r);
        printf("%s%s\n", params.by_layer ? "," : "", params.by_layer ? r->layer : "");
        return 0;
    }
    table_row(o, r);
    return 0;
}

int main(int argc, char **argv)
{
    const vsim_opt opts[] = {
        VSIM_OPT_INT64(0, "step", &params.step, "N", "only step N"),
        VSIM_OPT_CALLBACK(0, "steps", NULL, "A:B[:K]", "steps A..B (both included), every K",
                          cb_steps),
        VSIM_OPT_FLAG(0, "all-steps", &params.all_steps, "every complete step"),
        VSIM_OPT_CALLBACK('c', "collection", NULL, "NAME", "tensors of this collection "
                          "(repeatable)", cb_collection),
        VSIM_OPT_STRING('r', "regex", &params.regex, "RE", "tensors whose name matches RE"),
        VSIM_OPT_INT('w', "worker", &params.worker, "W", "only worker W"),
        VSIM_OPT_CALLBACK('m', "mode", NULL, "MODE", "train, eval, predict or global", cb_mode),
        VSIM_OPT_CALLBACK('p', "percentiles", NULL, "LIST", "e.g. 1,5,25,50,75,95,99 "
                          "(the default)", cb_percentiles),
        VSIM_OPT_INT(0, "bins", &n_bins, "N", "add an N-bin histogram"),
        VSIM_OPT_FLAG(0, "log-bins", &params.stats.log_bins, "histogram of log10|x|"),
        VSIM_OPT_CALLBACK('f', "format", NULL, "FMT", "table, csv or json", cb_format),
        VSIM_OPT_FLAG(0, "across-steps", &params.across_steps, "one row per tensor over the "
                      "steps: first, last, min, max, L2 trend"),
        VSIM_OPT_FLAG(0, "by-layer", &params.by_layer, "group each layer's tensors"),
        VSIM_OPT_FLAG(0, "follow", &params.follow, "then print new steps as they land, "
                      "until END"),
        VSIM_OPT_DOUBLE(0, "idle-timeout", &params.idle_timeout_s, "SEC", "--follow: stop "
                        "after SEC without a new step"),
        VSIM_OPT_INT('t', "threads", &params.stats.n_threads, "N", "OpenMP threads "
                     "(0: all)"),
        VSIM_OPT_END
    };
    out_ctx o = { .p = &params };
    vsim_stats_run_result res = { 0, 0, 0 };
    int first, rc;

    vsim_cli_omp_passive(argv);
    vsim_cli_sigbus("vsim-stats");
    vsim_cli_parse(&cli, opts, argc, argv, &first);
    params.stats.n_bins = n_bins > 0 ? (size_t)n_bins : 0;
    if (n_bins < 0 || params.stats.n_threads < 0)
        vsim_cli_usage_error(&cli, "--bins and --threads must not be negative");
    if (params.all_steps + params.has_range + (params.step >= 0) > 1)
        vsim_cli_usage_error(&cli, "--step, --steps and --all-steps exclude each other");
    o.format = format;
    if (format == FMT_JSON && !params.follow)
        o.rows = json_array();
    rc = vsim_stats_run_dir(argv[first], &params, on_row, &o, &res);
    if (rc) {
        json_decref(o.rows);
        return vsim_cli_error(cli.prog);
    }
    if (o.rows) {
        json_t *doc = json_pack("{s:s,s:o,s:I}", "run", argv[first], "rows", o.rows,
                                "problems", (json_int_t)res.n_problems);

        json_dumpf(doc, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
        putchar('\n');
        json_decref(doc);
    }
    fflush(stdout);
    return res.n_problems ? VSIM_EXIT_PARTIAL : VSIM_EXIT_OK;
}
