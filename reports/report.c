/*
 * reports/report.c - vsim-report's entry points (reports/report.h): gather each
 * run (collect.c, embed.c), write the page (page.c) atomically, or print one
 * run's summary JSON.
 * SPDX-License-Identifier: MIT
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/clock.h"
#include "core/fs.h"
#include "core/mem.h"
#include "reports/html.h"
#include "reports/report_int.h"

/* The tracks' numbers as float32 base64 (12 per saved step) instead of JSON arrays. */
static void pack_tracks(report_run *r)
{
    json_t *tracks = json_object_get(r->data, "tracks"), *tr;
    const char *name;

    json_object_foreach(tracks, name, tr) {
        json_t *v = json_object_get(tr, "v"), *st = json_object_get(tr, "steps");
        size_t n = json_array_size(v), ns = json_array_size(st);
        float *f = vsim_mallocarray(n ? n : 1, sizeof(*f));
        int32_t *s = vsim_mallocarray(ns ? ns : 1, sizeof(*s));

        for (size_t i = 0; f && i < n; i++) {
            json_t *x = json_array_get(v, i);

            f[i] = json_is_number(x) ? (float)json_number_value(x) : NAN;
        }
        for (size_t i = 0; s && i < ns; i++)
            s[i] = (int32_t)json_integer_value(json_array_get(st, i));
        if (f && s) {
            json_object_set_new(tr, "v", vsim_report_b64(f, n * sizeof(*f)));
            json_object_set_new(tr, "steps", vsim_report_b64(s, ns * sizeof(*s)));
            json_object_set_new(tr, "n", json_integer((json_int_t)ns));
        }
        vsim_free(f);
        vsim_free(s);
    }
}

static void finish_summary(report_run *r)
{
    json_object_set(r->summary, "missing", r->missing);
}

/* ---- the run cache ----------------------------------------------------------------------
 * A finished run never changes (shards are written once, END last), so what the report
 * gathers from it is kept beside the t-SNE layouts, keyed by the run's files: run.json,
 * END, STOP and recorded verdicts by content, every shard by name, size and mtime, the
 * image dataset by size and mtime, and the report's parameters. A live run (no END) is
 * never cached. A warm report then reads one file instead of every shard.
 */
#define RUN_CACHE_TAG "vsim-report-run-cache/4 " VSIM_VERSION

static uint64_t hash_file_text(uint64_t h, const char *dir, const char *name, int *found)
{
    vsim_buf path = VSIM_BUF_INIT, text = VSIM_BUF_INIT;

    vsim_buf_addf(&path, "%s/%s", dir, name);
    *found = !vsim_fs_read_file(path.buf, &text);
    h = vsim_report_fnv1a(h, name, strlen(name) + 1);
    if (*found)
        h = vsim_report_fnv1a(h, text.buf, text.len);
    vsim_buf_release(&path);
    vsim_buf_release(&text);
    return h;
}

static uint64_t hash_stat(uint64_t h, const char *path)
{
    struct stat st;
    int64_t v[3] = { -1, -1, -1 };

    if (!stat(path, &st)) {
        v[0] = (int64_t)st.st_size;
        v[1] = (int64_t)st.st_mtim.tv_sec;
        v[2] = (int64_t)st.st_mtim.tv_nsec;
    }
    return vsim_report_fnv1a(h, v, sizeof(v));
}

/* Shards of every worker folder, order-independent (a sum of per-file hashes). */
static uint64_t hash_shards(const char *dir, size_t *n_files)
{
    vsim_buf path = VSIM_BUF_INIT, f = VSIM_BUF_INIT;
    uint64_t sum = 0;
    DIR *top, *w;
    struct dirent *e, *s;

    vsim_buf_addf(&path, "%s/shards", dir);
    top = opendir(path.buf);
    while (top && (e = readdir(top))) {
        if (e->d_name[0] != 'w')
            continue;
        vsim_buf_reset(&f);
        vsim_buf_addf(&f, "%s/%s", path.buf, e->d_name);
        w = opendir(f.buf);
        while (w && (s = readdir(w))) {
            vsim_buf g = VSIM_BUF_INIT;
            uint64_t h = 0xcbf29ce484222325ull;

            if (s->d_name[0] == '.')
                continue;
            vsim_buf_addf(&g, "%s/%s", f.buf, s->d_name);
            h = vsim_report_fnv1a(h, e->d_name, strlen(e->d_name) + 1);
            h = vsim_report_fnv1a(h, s->d_name, strlen(s->d_name) + 1);
            sum += hash_stat(h, g.buf);
            (*n_files)++;
            vsim_buf_release(&g);
        }
        if (w)
            closedir(w);
    }
    if (top)
        closedir(top);
    vsim_buf_release(&path);
    vsim_buf_release(&f);
    return sum;
}

/* The cache file of a finished run, or 0 when the run must be read (live, no cache). */
static int run_cache_path(const char *dir, const vsim_report_params *p, vsim_buf *out)
{
    uint64_t h = 0xcbf29ce484222325ull, shards;
    size_t n_files = 0;
    int has_end, found;
    int64_t prm[4] = { p->step, p->tsne, (int64_t)p->max_thumbnails, 1 };
    vsim_buf rj = VSIM_BUF_INIT;
    json_t *j;
    const char *id;

    if (!p->cache_dir)
        return 0;
    /* bump the version whenever what collect.c or embed.c gathers changes */
    h = vsim_report_fnv1a(h, RUN_CACHE_TAG, strlen(RUN_CACHE_TAG));
    h = hash_file_text(h, dir, "END", &has_end);
    if (!has_end)
        return 0;
    h = hash_file_text(h, dir, "run.json", &found);
    h = hash_file_text(h, dir, "STOP", &found);
    h = hash_file_text(h, dir, "rules/verdicts.jsonl", &found);
    shards = hash_shards(dir, &n_files);
    h = vsim_report_fnv1a(h, &shards, sizeof(shards));
    h = vsim_report_fnv1a(h, &n_files, sizeof(n_files));
    h = vsim_report_fnv1a(h, prm, sizeof(prm));
    if (p->data) {
        h = vsim_report_fnv1a(h, p->data, strlen(p->data) + 1);
        h = hash_stat(h, p->data);
    }
    vsim_buf_addf(&rj, "%s/run.json", dir);
    j = json_load_file(rj.buf, 0, NULL);
    j = j ? j : json_object();
    id = json_string_value(json_object_get(j, "run_id"));
    if (!p->data) {   /* the dataset run.json names, relative to where we are */
        const char *data = json_string_value(json_object_get(
            json_object_get(j, "hyperparameters"), "data"));

        h = data ? hash_stat(h, data) : h;
    }
    vsim_buf_addf(out, "%s/", p->cache_dir);
    for (const char *c = id ? id : "run"; *c; c++)
        vsim_buf_addch(out, (*c == '/' || *c == '.') ? '_' : *c);
    vsim_buf_addf(out, "-report-%016llx.json", (unsigned long long)h);
    json_decref(j);
    vsim_buf_release(&rj);
    return 1;
}

static int run_cache_load(const char *path, const char *dir, report_run *r,
                          vsim_report_result *res)
{
    json_t *j = json_load_file(path, 0, NULL);
    json_t *sum = json_object_get(j, "summary"), *data = json_object_get(j, "data");

    if (!json_is_object(sum) || !json_is_object(data) ||
        !json_is_array(json_object_get(sum, "missing"))) {
        json_decref(j);
        return 0;
    }
    memset(r, 0, sizeof(*r));
    r->dir = dir;
    r->summary = json_incref(sum);
    r->data = json_incref(data);
    r->missing = json_incref(json_object_get(sum, "missing"));
    r->run_json = json_object();
    r->step = json_integer_value(json_object_get(j, "step"));
    if (!json_is_integer(json_object_get(j, "step")))
        r->step = -1;
    r->n_problems = json_array_size(json_object_get(sum, "problems"));
    json_object_set_new(r->summary, "dir", json_string(dir));
    res->tsne_cached += (int)json_array_size(
        json_object_get(json_object_get(data, "embeddings"), "charts"));
    res->n_points += (size_t)json_integer_value(json_object_get(j, "n_points"));
    res->n_thumbnails += (size_t)json_integer_value(json_object_get(j, "n_thumbnails"));
    res->thumbnail_bytes += (size_t)json_integer_value(json_object_get(j, "thumbnail_bytes"));
    json_decref(j);
    return 1;
}

/* Best effort, as the t-SNE cache: failing to write it only costs time next run. */
static void run_cache_store(const char *path, const vsim_report_params *p, const report_run *r,
                            const vsim_report_result *before, const vsim_report_result *res)
{
    json_t *j = json_pack("{s:O,s:O,s:I,s:I,s:I,s:I}", "summary", r->summary, "data", r->data,
                          "step", (json_int_t)r->step, "n_points",
                          (json_int_t)(res->n_points - before->n_points), "n_thumbnails",
                          (json_int_t)(res->n_thumbnails - before->n_thumbnails),
                          "thumbnail_bytes",
                          (json_int_t)(res->thumbnail_bytes - before->thumbnail_bytes));
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                       JSON_REAL_PRECISION(17)) : NULL;

    if (text && !vsim_fs_mkdir_p(p->cache_dir))
        (void)vsim_fs_write_atomic(path, text, strlen(text), 0);
    free(text);
    json_decref(j);
}

static int gather(const char *dir, const vsim_report_params *p, report_run *r,
                  vsim_report_result *res)
{
    vsim_buf cpath = VSIM_BUF_INIT;
    vsim_report_result before = *res;
    int cached = run_cache_path(dir, p, &cpath), rc = VSIM_OK;

    if (cached && run_cache_load(cpath.buf, dir, r, res)) {
        vsim_report_progress(p, "%s: from the cache (%s)", dir, cpath.buf);
    } else {
        report_emb *e = NULL;

        /* the t-SNE layouts compute on a thread while the rest of the run is read */
        rc = vsim_report_open(dir, r);
        if (!rc)
            rc = vsim_report_emb_start(r, p, &e);
        if (!rc)
            rc = vsim_report_collect(p, r);
        if (!rc)
            rc = vsim_report_emb_finish(r, p, e, res);
        else
            vsim_report_emb_abandon(e);
        if (!rc) {
            pack_tracks(r);
            finish_summary(r);
            if (cached)
                run_cache_store(cpath.buf, p, r, &before, res);
        }
    }
    if (!rc) {
        res->n_problems += r->n_problems;
        res->n_missing += json_array_size(r->missing);
    }
    if (rc)
        vsim_errctx("%s", dir);
    vsim_buf_release(&cpath);
    return rc;
}

int vsim_report_write(const char *const *runs, size_t n_runs, const vsim_report_params *p,
                      const char *out_path, vsim_report_result *r)
{
    vsim_report_params dp = VSIM_REPORT_PARAMS_INIT;
    vsim_report_result res = { 0 };
    report_run *rr;
    vsim_buf page = VSIM_BUF_INIT;
    double t0 = vsim_clock_s();
    int rc = VSIM_OK;

    p = p ? p : &dp;
    VSIM_ASSERT(n_runs > 0);
    rr = vsim_calloc(n_runs, sizeof(*rr));
    if (!rr)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < n_runs; i++)
        rc = gather(runs[i], p, &rr[i], &res);
    if (!rc) {
        vsim_report_progress(p, "writing %s", out_path);
        rc = vsim_report_page(rr, n_runs, p, &page);
    }
    if (!rc)
        rc = vsim_fs_write_atomic(out_path, page.buf, page.len, 1);
    res.n_runs = n_runs;
    res.bytes = page.len;
    res.seconds = vsim_clock_s() - t0;
    for (size_t i = 0; i < n_runs; i++)
        vsim_report_run_release(&rr[i]);
    vsim_free(rr);
    vsim_buf_release(&page);
    if (!rc && r)
        *r = res;
    return rc;
}

int vsim_report_summary_json(const char *run, const vsim_report_params *p, vsim_buf *out,
                             vsim_report_result *r)
{
    vsim_report_params dp = VSIM_REPORT_PARAMS_INIT;
    vsim_report_result res = { 0 };
    report_run rr;
    int rc;

    p = p ? p : &dp;
    rc = gather(run, p, &rr, &res);
    if (!rc)
        rc = vsim_html_json(out, rr.summary, 0);
    if (!rc)
        rc = vsim_buf_addch(out, '\n');
    vsim_report_run_release(&rr);
    res.n_runs = 1;
    if (!rc && r)
        *r = res;
    return rc;
}
