/*
 * reports/embed.c - the report's embedding section (issue 20): Barnes-Hut t-SNE
 * layouts of the latent vectors at the chosen step and at the first step that
 * saved them (clusters forming), kept in a cache outside the run keyed by the
 * run id, the step and a hash of the input and parameters; the quality figures
 * vsim-tsne --quality prints; each point's nearest designs in the latent space;
 * per-design thumbnails (the first view, 32 x 32 grey) in one PNG sprite read from
 * the run's image dataset; a static gallery of nearest neighbours for print.
 * SPDX-License-Identifier: MIT
 */
#include <hdf5.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/tsne.h"
#include "analyze/tsne_io.h"
#include "core/fs.h"
#include "core/mem.h"
#include "plot/plot.h"
#include "readers/h5.h"
#include "reports/html.h"
#include "reports/report_int.h"

#define THUMB 32              /* thumbnail side, pixels */
#define SPRITE_COLS 64        /* thumbnails per sprite row */
#define K_NEIGHBOURS 6        /* nearest designs listed on click */
#define GALLERY_K 5           /* neighbours per gallery row */
#define GALLERY_CLASSES 12    /* gallery rows at most */
#define CACHE_MAGIC "vsim-tsne-cache/1\n"

typedef struct layout {
    double *y;                /* n x 2 */
    uint32_t *nn;             /* n x K_NEIGHBOURS in the latent space, or NULL */
    vsim_tsne_quality q;
    int has_q;
    int cached;
} layout;

/* ---- the cache -------------------------------------------------------------------------- */

static uint64_t input_key(const vsim_tsne_data *d, const vsim_tsne_params *tp, int want_q)
{
    uint64_t h = 0xcbf29ce484222325ull;
    double prm[6] = { tp->perplexity, tp->theta, tp->exaggeration, (double)tp->max_iter,
                      (double)tp->seed, (double)want_q };

    h = vsim_report_fnv1a(h, CACHE_MAGIC, strlen(CACHE_MAGIC));
    h = vsim_report_fnv1a(h, &d->n, sizeof(d->n));
    h = vsim_report_fnv1a(h, &d->dim, sizeof(d->dim));
    h = vsim_report_fnv1a(h, d->x, d->n * d->dim * sizeof(float));
    if (d->labels)
        h = vsim_report_fnv1a(h, d->labels, d->n * sizeof(int32_t));
    return vsim_report_fnv1a(h, prm, sizeof(prm));
}

static void cache_path(vsim_buf *path, const char *dir, const char *run_id, int64_t step,
                       uint64_t key)
{
    vsim_buf_addf(path, "%s/", dir);
    for (const char *c = run_id; *c; c++)   /* run ids are names, never paths */
        vsim_buf_addch(path, (*c == '/' || *c == '.') ? '_' : *c);
    vsim_buf_addf(path, "-step%lld-%016llx.tsne", (long long)step, (unsigned long long)key);
}

/* Layout, neighbours and quality from the cache file; 0 if absent or not usable. */
static int cache_load(const char *path, size_t n, layout *L)
{
    vsim_buf b = VSIM_BUF_INIT;
    size_t hdr = strlen(CACHE_MAGIC), want;
    uint64_t got_n;
    int ok = 0;

    if (vsim_fs_read_file(path, &b))
        return 0;
    want = hdr + 8 + 8 + 7 * 8 + n * 2 * 8 + n * K_NEIGHBOURS * 4;
    if (b.len == want && !memcmp(b.buf, CACHE_MAGIC, hdr)) {
        const char *p = b.buf + hdr;
        uint64_t has_q;
        double qv[7];

        memcpy(&got_n, p, 8);
        memcpy(&has_q, p + 8, 8);
        memcpy(qv, p + 16, sizeof(qv));
        if (got_n == n && (L->y = vsim_mallocarray(n * 2, 8)) &&
            (L->nn = vsim_mallocarray(n * K_NEIGHBOURS, 4))) {
            memcpy(L->y, p + 16 + sizeof(qv), n * 2 * 8);
            memcpy(L->nn, p + 16 + sizeof(qv) + n * 2 * 8, n * K_NEIGHBOURS * 4);
            L->has_q = (int)has_q;
            L->q.kl = qv[0];
            L->q.kl_points = (size_t)qv[1];
            L->q.nn_preservation = qv[2];
            L->q.knn_accuracy = qv[3];
            L->q.trustworthiness = qv[4];
            L->q.trust_points = (size_t)qv[5];
            ok = L->cached = 1;
        }
    }
    vsim_buf_release(&b);
    return ok;
}

/* Best effort: a cache that cannot be written only costs time next run. */
static void cache_store(const char *dir, const char *path, size_t n, const layout *L)
{
    vsim_buf b = VSIM_BUF_INIT;
    uint64_t n64 = n, has_q = (uint64_t)L->has_q;
    double qv[7] = { L->q.kl, (double)L->q.kl_points, L->q.nn_preservation,
                     L->q.knn_accuracy, L->q.trustworthiness, (double)L->q.trust_points, 0 };

    if (vsim_fs_mkdir_p(dir))
        return;
    if (!vsim_buf_adds(&b, CACHE_MAGIC) && !vsim_buf_add(&b, &n64, 8) &&
        !vsim_buf_add(&b, &has_q, 8) && !vsim_buf_add(&b, qv, sizeof(qv)) &&
        !vsim_buf_add(&b, L->y, n * 2 * 8) && !vsim_buf_add(&b, L->nn, n * K_NEIGHBOURS * 4))
        (void)vsim_fs_write_atomic(path, b.buf, b.len, 0);
    vsim_buf_release(&b);
}

/* ---- layouts ---------------------------------------------------------------------------- */

static int compute_layout(const vsim_tsne_data *d, const vsim_tsne_params *tp, int want_q,
                          layout *L)
{
    vsim_tsne *t = NULL;
    int rc = vsim_tsne_create(d->x, d->n, d->dim, tp, &t);

    if (!rc)
        rc = vsim_tsne_run(t);
    if (!rc && !(L->y = vsim_mallocarray(d->n * 2, 8)))
        rc = vsim_fail(VSIM_ENOMEM, "out of memory for %zu points", d->n);
    if (!rc)
        memcpy(L->y, vsim_tsne_embedding(t), d->n * 2 * 8);
    if (!rc && want_q) {
        vsim_tsne_quality_params qp = VSIM_TSNE_QUALITY_PARAMS_INIT;

        /* as vsim-tsne --quality computes them, on the t-SNE input after PCA */
        qp.perplexity = tp->perplexity;
        qp.n_threads = tp->n_threads;
        rc = vsim_tsne_quality_compute(vsim_tsne_input(t), d->n, vsim_tsne_input_dims(t), L->y,
                                       2, d->labels, &qp, &L->q);
        L->has_q = !rc;
    }
    vsim_tsne_destroy(t);
    if (!rc && !(L->nn = vsim_mallocarray(d->n * K_NEIGHBOURS, 4)))
        rc = vsim_fail(VSIM_ENOMEM, "out of memory for neighbours");
    if (!rc)
        rc = vsim_knn_exact(d->x, d->n, d->dim, K_NEIGHBOURS, tp->seed, tp->n_threads, L->nn,
                            NULL);
    return rc;
}

static int get_layout(const char *dir, const char *run_id, const vsim_report_params *p,
                      const vsim_tsne_data *d, int want_q, layout *L)
{
    vsim_tsne_params tp = VSIM_TSNE_PARAMS_INIT;
    vsim_buf path = VSIM_BUF_INIT;
    double pmax = vsim_tsne_max_perplexity(d->n);
    int rc = VSIM_OK;

    tp.perplexity = pmax < 30.0 ? pmax : 30.0;
    /* below a few thousand points one thread is faster (thread start-up and barriers cost
     * more than they share); the layout is the same for any thread count */
    tp.n_threads = p->n_threads ? p->n_threads : d->n < 4000 ? 1 : 0;
    if (p->cache_dir)
        cache_path(&path, p->cache_dir, run_id, d->step, input_key(d, &tp, want_q));
    if (p->cache_dir && cache_load(path.buf, d->n, L)) {
        vsim_report_progress(p, "%s: t-SNE of step %lld from the cache", dir,
                             (long long)d->step);
    } else {
        vsim_report_progress(p, "%s: t-SNE of %zu points at step %lld", dir, d->n,
                             (long long)d->step);
        rc = compute_layout(d, &tp, want_q, L);
        if (!rc && p->cache_dir)
            cache_store(p->cache_dir, path.buf, d->n, L);
    }
    vsim_buf_release(&path);
    return rc;
}

/* Coordinates as uint16 over their bounding box (a 65536-step grid is far below a pixel). */
static json_t *coords_json(const double *y, size_t n)
{
    double lo[2] = { INFINITY, INFINITY }, hi[2] = { -INFINITY, -INFINITY };
    uint16_t *q = vsim_mallocarray(n * 2, sizeof(*q));
    json_t *o;

    if (!q)
        return NULL;
    for (size_t i = 0; i < n; i++)
        for (int a = 0; a < 2; a++) {
            lo[a] = fmin(lo[a], y[2 * i + a]);
            hi[a] = fmax(hi[a], y[2 * i + a]);
        }
    for (size_t i = 0; i < n; i++)
        for (int a = 0; a < 2; a++) {
            double span = hi[a] > lo[a] ? hi[a] - lo[a] : 1.0;

            q[2 * i + a] = (uint16_t)lrint((y[2 * i + a] - lo[a]) / span * 65535.0);
        }
    o = json_pack("{s:[f,f,f,f],s:o}", "box", lo[0], hi[0], lo[1], hi[1], "xy",
                  vsim_report_b64(q, n * 2 * sizeof(*q)));
    vsim_free(q);
    return o;
}

/* ---- thumbnails ------------------------------------------------------------------------- */

typedef struct thumbs {
    size_t n;                 /* designs with a thumbnail */
    int64_t *ids;             /* their design ids, sorted */
    uint8_t *px;              /* n x THUMB x THUMB */
} thumbs;

static void thumbs_release(thumbs *th)
{
    vsim_free(th->ids);
    vsim_free(th->px);
    memset(th, 0, sizeof(*th));
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static long thumb_index(const thumbs *th, int64_t id)
{
    const int64_t *hit = th->n ? bsearch(&id, th->ids, th->n, sizeof(*th->ids), cmp_i64) : NULL;

    return hit ? (long)(hit - th->ids) : -1;
}

/* The image dataset: p->data, or run.json's hyperparameters.data as given or beside the run. */
static int dataset_path(report_run *r, const vsim_report_params *p, vsim_buf *out)
{
    const char *data = p->data ? p->data
                               : json_string_value(json_object_get(
                                     json_object_get(r->run_json, "hyperparameters"), "data"));

    if (!data)
        return 0;
    vsim_buf_adds(out, data);
    if (p->data || vsim_fs_exists(out->buf) || data[0] == '/')
        return 1;
    vsim_buf_reset(out);
    vsim_buf_addf(out, "%s/../%s", r->dir, data);
    if (vsim_fs_exists(out->buf))
        return 1;
    vsim_buf_reset(out);
    vsim_buf_adds(out, data);
    return 1;
}

/* Box-filter the s x s image src down to THUMB x THUMB (nearest when s < THUMB). */
static void shrink(const uint8_t *src, size_t s, uint8_t *dst)
{
    for (size_t y = 0; y < THUMB; y++)
        for (size_t x = 0; x < THUMB; x++) {
            size_t y0 = y * s / THUMB, y1 = (y + 1) * s / THUMB, x0 = x * s / THUMB,
                   x1 = (x + 1) * s / THUMB, sum = 0, cnt = 0;

            y1 = y1 > y0 ? y1 : y0 + 1;
            x1 = x1 > x0 ? x1 : x0 + 1;
            for (size_t yy = y0; yy < y1; yy++)
                for (size_t xx = x0; xx < x1; xx++) {
                    sum += src[yy * s + xx];
                    cnt++;
                }
            dst[y * THUMB + x] = (uint8_t)((sum + cnt / 2) / cnt);
        }
}

/* Read the first view of the designs in want (sorted, unique) from the dataset file. */
static int read_thumbs(const char *path, const int64_t *want, size_t n_want, thumbs *th)
{
    hid_t f = -1, ds = -1, sp = -1, mem = -1, dsid = -1;
    hsize_t dims[4], start[4] = { 0 }, count[4];
    int32_t *ids = NULL;
    uint8_t *img = NULL;
    int rc = VSIM_OK;
    size_t n, s;

    vsim_h5_quiet();
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return vsim_fail(VSIM_EIO, "%s: cannot open the image dataset", path);
    ds = H5Dopen2(f, "images", H5P_DEFAULT);
    sp = ds >= 0 ? H5Dget_space(ds) : -1;
    if (sp < 0 || H5Sget_simple_extent_ndims(sp) != 4 ||
        H5Sget_simple_extent_dims(sp, dims, NULL) < 0 || dims[2] != dims[3]) {
        rc = vsim_fail(VSIM_EFORMAT, "%s: no images dataset of N x V x S x S", path);
        goto done;
    }
    n = dims[0];
    s = dims[2];
    ids = vsim_mallocarray(n ? n : 1, sizeof(*ids));
    img = vsim_mallocarray(s ? s * s : 1, 1);
    th->ids = vsim_mallocarray(n_want ? n_want : 1, sizeof(*th->ids));
    th->px = vsim_mallocarray((n_want ? n_want : 1) * THUMB * THUMB, 1);
    if (!ids || !img || !th->ids || !th->px) {
        rc = vsim_fail(VSIM_ENOMEM, "out of memory for thumbnails");
        goto done;
    }
    dsid = H5Dopen2(f, "design_id", H5P_DEFAULT);
    if (dsid < 0 || H5Dread(dsid, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, ids) < 0)
        for (size_t i = 0; i < n; i++)
            ids[i] = (int32_t)i;   /* no design_id: rows are the designs */
    count[0] = 1;
    count[1] = 1;
    count[2] = s;
    count[3] = s;
    mem = H5Screate_simple(4, count, NULL);
    for (size_t i = 0; i < n && th->n < n_want; i++) {
        int64_t id = ids[i];

        if (!bsearch(&id, want, n_want, sizeof(*want), cmp_i64) || thumb_index(th, id) >= 0)
            continue;
        start[0] = i;
        if (H5Sselect_hyperslab(sp, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
            H5Dread(ds, H5T_NATIVE_UINT8, mem, sp, H5P_DEFAULT, img) < 0) {
            rc = vsim_fail(VSIM_EIO, "%s: cannot read images row %zu", path, i);
            goto done;
        }
        /* keep ids sorted: insertion (designs usually arrive in order) */
        size_t at = th->n;

        while (at > 0 && th->ids[at - 1] > id)
            at--;
        memmove(th->ids + at + 1, th->ids + at, (th->n - at) * sizeof(*th->ids));
        memmove(th->px + (at + 1) * THUMB * THUMB, th->px + at * THUMB * THUMB,
                (th->n - at) * THUMB * THUMB);
        th->ids[at] = id;
        shrink(img, s, th->px + at * THUMB * THUMB);
        th->n++;
    }
done:
    if (mem >= 0)
        H5Sclose(mem);
    if (dsid >= 0)
        H5Dclose(dsid);
    if (sp >= 0)
        H5Sclose(sp);
    if (ds >= 0)
        H5Dclose(ds);
    H5Fclose(f);
    vsim_free(ids);
    vsim_free(img);
    return rc;
}

/* All thumbnails in one grey PNG, SPRITE_COLS a row, as a JSON object. */
static json_t *sprite_json(const thumbs *th, vsim_report_result *res)
{
    size_t cols = th->n < SPRITE_COLS ? th->n : SPRITE_COLS, rows = (th->n + cols - 1) / cols;
    size_t W = cols * THUMB, H = rows * THUMB;
    uint8_t *px = vsim_calloc(W * H, 1);
    vsim_buf png = VSIM_BUF_INIT;
    json_t *ids = json_array(), *o = NULL;

    if (!px)
        return NULL;
    for (size_t t = 0; t < th->n; t++) {
        size_t x0 = (t % cols) * THUMB, y0 = (t / cols) * THUMB;

        for (size_t y = 0; y < THUMB; y++)
            memcpy(px + (y0 + y) * W + x0, th->px + (t * THUMB + y) * THUMB, THUMB);
        json_array_append_new(ids, json_integer(th->ids[t]));
    }
    if (!vsim_plot_png_gray(px, W, H, &png)) {
        o = json_pack("{s:I,s:I,s:o,s:o}", "size", (json_int_t)THUMB, "cols", (json_int_t)cols,
                      "ids", ids, "png", vsim_report_b64(png.buf, png.len));
        res->thumbnail_bytes += png.len;
        res->n_thumbnails += th->n;
        ids = NULL;
    }
    json_decref(ids);
    vsim_free(px);
    vsim_buf_release(&png);
    return o;
}

/*
 * Gallery for print: the first point of each class (up to GALLERY_CLASSES) and its
 * GALLERY_K nearest neighbours in the latent space; with thumbnails, one PNG strip per row.
 */
static json_t *gallery_json(const vsim_tsne_data *d, const layout *L, const thumbs *th)
{
    json_t *rows = json_array();
    int seen[GALLERY_CLASSES * 8] = { 0 };

    for (size_t i = 0; d->labels && i < d->n && json_array_size(rows) < GALLERY_CLASSES; i++) {
        int32_t lab = d->labels[i];
        json_t *nb = json_array(), *row;
        uint8_t strip[(GALLERY_K + 1) * (THUMB + 4) * THUMB];
        size_t W = (GALLERY_K + 1) * (THUMB + 4);
        int have = th->n > 0;

        if (lab < 0 || lab >= (int32_t)VSIM_ARRAY_LEN(seen) || seen[lab]) {
            json_decref(nb);
            continue;
        }
        seen[lab] = 1;
        memset(strip, 255, sizeof(strip));
        for (size_t k = 0; k <= GALLERY_K; k++) {
            size_t j = k ? L->nn[i * K_NEIGHBOURS + k - 1] : i;
            long ti = d->ids ? thumb_index(th, d->ids[j]) : -1;

            if (k)
                json_array_append_new(nb, json_integer((json_int_t)j));
            have = have && ti >= 0;
            for (size_t y = 0; ti >= 0 && y < THUMB; y++)
                memcpy(strip + y * W + k * (THUMB + 4), th->px + ((size_t)ti * THUMB + y) * THUMB,
                       THUMB);
        }
        row = json_pack("{s:I,s:I,s:o}", "query", (json_int_t)i, "label", (json_int_t)lab,
                        "neighbors", nb);
        if (have) {
            vsim_buf png = VSIM_BUF_INIT;

            if (!vsim_plot_png_gray(strip, W, THUMB, &png))
                json_object_set_new(row, "png", vsim_report_b64(png.buf, png.len));
            vsim_buf_release(&png);
        }
        json_array_append_new(rows, row);
    }
    return rows;
}

/* ---- the section ------------------------------------------------------------------------ */

static json_t *quality_json(const layout *L, const vsim_tsne_data *d, double perplexity)
{
    if (!L->has_q)
        return json_null();
    return json_pack("{s:I,s:I,s:I,s:f,s:o,s:I,s:o,s:o,s:o,s:I,s:I}", "step",
                     (json_int_t)d->step, "n", (json_int_t)d->n, "dim", (json_int_t)d->dim,
                     "perplexity", perplexity, "kl", vsim_json_num(L->q.kl), "kl_points",
                     (json_int_t)L->q.kl_points, "nn_preservation",
                     vsim_json_num(L->q.nn_preservation), "knn_accuracy",
                     vsim_json_num(L->q.knn_accuracy), "trustworthiness",
                     vsim_json_num(L->q.trustworthiness), "trust_points",
                     (json_int_t)L->q.trust_points, "k", (json_int_t)10);
}

static json_t *chart_json(const vsim_tsne_data *d, const layout *L, int with_nn)
{
    json_t *c = coords_json(L->y, d->n);
    uint16_t *lab = d->labels ? vsim_mallocarray(d->n, sizeof(*lab)) : NULL;
    int32_t *ids = d->ids ? vsim_mallocarray(d->n, sizeof(*ids)) : NULL;

    if (!c)
        return NULL;
    json_object_set_new(c, "step", json_integer(d->step));
    json_object_set_new(c, "n", json_integer((json_int_t)d->n));
    for (size_t i = 0; lab && i < d->n; i++)
        lab[i] = (uint16_t)(d->labels[i] < 0 ? 0xffff : d->labels[i]);
    for (size_t i = 0; ids && i < d->n; i++)
        ids[i] = (int32_t)d->ids[i];
    json_object_set_new(c, "labels", lab ? vsim_report_b64(lab, d->n * 2) : json_null());
    json_object_set_new(c, "ids", ids ? vsim_report_b64(ids, d->n * 4) : json_null());
    if (with_nn) {
        uint16_t *nn16 = d->n <= 65535 ? vsim_mallocarray(d->n * K_NEIGHBOURS, 2) : NULL;

        for (size_t i = 0; nn16 && i < d->n * K_NEIGHBOURS; i++)
            nn16[i] = (uint16_t)L->nn[i];
        json_object_set_new(c, "k", json_integer(K_NEIGHBOURS));
        json_object_set_new(c, "nn_bits", json_integer(nn16 ? 16 : 32));
        json_object_set_new(c, "nn", nn16 ? vsim_report_b64(nn16, d->n * K_NEIGHBOURS * 2)
                                          : vsim_report_b64(L->nn, d->n * K_NEIGHBOURS * 4));
        vsim_free(nn16);
    }
    vsim_free(lab);
    vsim_free(ids);
    return c;
}

static json_t *label_names(report_run *r, const vsim_tsne_data *d)
{
    json_t *hp = json_object_get(r->run_json, "hyperparameters");
    json_t *names = json_object_get(hp, "label_names");

    if (d->label_names) {
        json_t *a = json_array();

        for (size_t i = 0; i < d->n_labels; i++)
            json_array_append_new(a, json_string(d->label_names[i]));
        return a;
    }
    return json_is_array(names) ? json_deep_copy(names) : json_array();
}

/* Sorted unique design ids of d (the first max of them), for the thumbnails. */
static int64_t *unique_ids(const vsim_tsne_data *d, size_t max, size_t *n_out)
{
    int64_t *u = vsim_mallocarray(d->n ? d->n : 1, sizeof(*u));
    size_t n = 0;

    if (!u)
        return NULL;
    memcpy(u, d->ids, d->n * sizeof(*u));
    qsort(u, d->n, sizeof(*u), cmp_i64);
    for (size_t i = 0; i < d->n; i++)
        if (!n || u[n - 1] != u[i])
            u[n++] = u[i];
    *n_out = n < max ? n : max;
    return u;
}

static void add_thumbnails(report_run *r, const vsim_report_params *p, const vsim_tsne_data *d,
                           thumbs *th, json_t *sec, vsim_report_result *res)
{
    vsim_buf path = VSIM_BUF_INIT;
    size_t n_want = 0;
    int64_t *want;

    if (!d->ids || !p->max_thumbnails) {
        if (!d->ids)
            vsim_report_missing(r, "embeddings", "no design ids (embeddings/design_id): "
                                                 "no thumbnails");
        return;
    }
    if (!dataset_path(r, p, &path)) {
        vsim_report_missing(r, "embeddings", "run.json names no image dataset: no thumbnails "
                                             "(vsim-report --data FILE gives one)");
    } else if ((want = unique_ids(d, p->max_thumbnails, &n_want)) != NULL) {
        if (read_thumbs(path.buf, want, n_want, th))
            vsim_report_missing(r, "embeddings", "no thumbnails: %s", vsim_errmsg());
        else if (th->n)
            json_object_set_new(sec, "thumbs", sprite_json(th, res));
        vsim_free(want);
    }
    vsim_buf_release(&path);
}

/* The step of the embeddings: the last saved at or before p->step (-1: the last). */
static int pick_steps(report_run *r, const vsim_report_params *p, int64_t *first, int64_t *last)
{
    size_t i, n;
    int64_t steps[4096];

    if (vsim_trial_find_tensor(r->t, "embeddings/latent", &i))
        return 0;
    n = vsim_trial_tensor_steps(r->t, i, steps, VSIM_ARRAY_LEN(steps));
    n = n < VSIM_ARRAY_LEN(steps) ? n : VSIM_ARRAY_LEN(steps);
    *first = *last = -1;
    for (size_t k = 0; k < n; k++)
        if (p->step < 0 || steps[k] <= p->step) {
            if (*first < 0)
                *first = steps[k];
            *last = steps[k];
        }
    return *last >= 0;
}

/*
 * The embedding work of one run. The inputs are read (HDF5, which this build does
 * not share between threads) before the layouts start on a thread of their own,
 * so that the t-SNE computes while the caller reads the rest of the run.
 */
struct report_emb {
    vsim_tsne_data d, d0;       /* the chosen step's embeddings, and the first saved step's */
    layout L, L0;
    int have_d0, run_tsne;
    char *run_id;
    const char *dir;
    const vsim_report_params *p;
    pthread_t thread;
    int started;
    int status;                 /* of the layouts */
    char message[512];          /* vsim_errmsg() of the thread, when status < 0 */
};

static void *layouts(void *arg)
{
    report_emb *e = arg;

    e->status = get_layout(e->dir, e->run_id, e->p, &e->d, 1, &e->L);
    if (!e->status && e->have_d0)
        e->status = get_layout(e->dir, e->run_id, e->p, &e->d0, 0, &e->L0);
    if (e->status)
        snprintf(e->message, sizeof(e->message), "%s", vsim_errmsg());
    return NULL;
}

int vsim_report_emb_start(report_run *r, const vsim_report_params *p, report_emb **out)
{
    report_emb *e = vsim_calloc(1, sizeof(*e));
    int64_t first, last;

    *out = e;
    if (!e)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    e->d = (vsim_tsne_data)VSIM_TSNE_DATA_INIT;
    e->d0 = (vsim_tsne_data)VSIM_TSNE_DATA_INIT;
    e->dir = r->dir;
    e->p = p;
    json_object_set_new(r->summary, "embedding", json_null());
    if (!pick_steps(r, p, &first, &last)) {
        vsim_report_missing(r, "embeddings", "%s saved no embeddings (embeddings/latent)%s",
                            r->dir, p->step >= 0 ? " at or before the chosen step" : "");
        return VSIM_OK;
    }
    if (vsim_tsne_load_run(r->dir, "embeddings/latent", last, "embeddings/labels",
                           "embeddings/design_id", &e->d)) {
        vsim_report_missing(r, "embeddings", "%s", vsim_errmsg());
        return VSIM_OK;
    }
    if (!p->tsne) {
        vsim_report_missing(r, "embeddings", "t-SNE turned off (--no-tsne)");
        return VSIM_OK;
    }
    if (e->d.n < 8) {
        vsim_report_missing(r, "embeddings", "only %zu embeddings at step %lld: too few for "
                                             "t-SNE", e->d.n, (long long)e->d.step);
        return VSIM_OK;
    }
    e->have_d0 = first != last && !vsim_tsne_load_run(r->dir, "embeddings/latent", first,
                                                      "embeddings/labels",
                                                      "embeddings/design_id", &e->d0) &&
                 e->d0.n >= 8;
    e->run_id = vsim_malloc(strlen(vsim_trial_run_id(r->t)) + 1);
    if (!e->run_id)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    strcpy(e->run_id, vsim_trial_run_id(r->t));
    e->run_tsne = 1;
    e->started = !pthread_create(&e->thread, NULL, layouts, e);
    if (!e->started)
        layouts(e);   /* no thread to be had: compute here */
    return VSIM_OK;
}

static void emb_free(report_emb *e)
{
    vsim_free(e->L.y);
    vsim_free(e->L.nn);
    vsim_free(e->L0.y);
    vsim_free(e->L0.nn);
    vsim_tsne_data_release(&e->d);
    vsim_tsne_data_release(&e->d0);
    vsim_free(e->run_id);
    vsim_free(e);
}

int vsim_report_emb_finish(report_run *r, const vsim_report_params *p, report_emb *e,
                           vsim_report_result *res)
{
    thumbs th = { 0 };
    json_t *sec = json_object(), *charts = json_array();
    int rc = VSIM_OK;

    if (!e)
        return VSIM_OK;
    if (e->started)
        pthread_join(e->thread, NULL);
    if (e->d.x) {
        json_object_set_new(sec, "label_names", label_names(r, &e->d));
        json_object_set_new(sec, "dim", json_integer((json_int_t)e->d.dim));
    }
    if (!e->run_tsne)
        goto done;
    if (e->status) {
        rc = vsim_fail(e->status, "%s", e->message);
        goto done;
    }
    res->tsne_cached += e->L.cached + (e->have_d0 && e->L0.cached);
    res->tsne_computed += !e->L.cached + (e->have_d0 && !e->L0.cached);
    res->n_points += e->d.n + (e->have_d0 ? e->d0.n : 0);
    json_object_set_new(r->summary, "embedding",
                        quality_json(&e->L, &e->d, fmin(30.0, vsim_tsne_max_perplexity(e->d.n))));
    json_array_append_new(charts, chart_json(&e->d, &e->L, 1));
    if (e->d.labels) {   /* the share of each point's latent neighbours with its label */
        size_t same = 0;

        for (size_t i = 0; i < e->d.n; i++)
            for (size_t k = 0; k < K_NEIGHBOURS; k++)
                same += e->d.labels[e->L.nn[i * K_NEIGHBOURS + k]] == e->d.labels[i];
        json_object_set_new(json_object_get(r->summary, "health"), "latent_same_class",
                            json_real((double)same / (double)(e->d.n * K_NEIGHBOURS)));
    }
    if (e->have_d0)
        json_array_append_new(charts, chart_json(&e->d0, &e->L0, 0));
    add_thumbnails(r, p, &e->d, &th, sec, res);
    json_object_set_new(sec, "gallery", gallery_json(&e->d, &e->L, &th));
done:
    json_object_set_new(sec, "charts", charts);
    json_object_set_new(r->data, "embeddings", sec);
    thumbs_release(&th);
    emb_free(e);
    return rc;
}

/* Join and free without writing the section (the caller failed before finishing). */
void vsim_report_emb_abandon(report_emb *e)
{
    if (!e)
        return;
    if (e->started)
        pthread_join(e->thread, NULL);
    emb_free(e);
}
