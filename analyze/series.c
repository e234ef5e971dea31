/*
 * analyze/series.c - vsim-plot's data readers (analyze/series.h): CSV and
 * HDF5 point files, a run's embeddings, one step of a collection, statistics
 * and percentile bands over steps (walked by vsim_stats_run_dir), images.
 * SPDX-License-Identifier: MIT
 */
#include "analyze/series.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/stats.h"
#include "analyze/stats_run.h"
#include "core/buf.h"
#include "core/fs.h"
#include "core/mem.h"
#include "readers/h5.h"
#include "readers/trial.h"

/* Band percentiles; the same numbers as plot/'s vsim_plot_band_pct (analyze is below plot). */
static const double band_pct[9] = { 0, 6.68, 15.87, 30.85, 50, 69.15, 84.13, 93.32, 100 };

void vsim_series_points_release(vsim_series_points *p)
{
    vsim_h5_strings_free(p->label_names, p->n_labels);
    vsim_free(p->x);
    vsim_free(p->y);
    vsim_free(p->labels);
    memset(p, 0, sizeof(*p));
}

static int points_alloc(vsim_series_points *p, size_t n, int labelled)
{
    p->x = vsim_mallocarray(n ? n : 1, sizeof(double));
    p->y = vsim_mallocarray(n ? n : 1, sizeof(double));
    p->labels = labelled ? vsim_mallocarray(n ? n : 1, sizeof(int32_t)) : NULL;
    if (!p->x || !p->y || (labelled && !p->labels))
        return vsim_fail(VSIM_ENOMEM, "points: out of memory");
    p->n = n;
    return VSIM_OK;
}

/* Split a CSV line in place into at most cap fields (double quotes allowed). */
static size_t split_csv(char *line, char **f, size_t cap)
{
    size_t n = 0;
    char *p = line, *w;

    while (n < cap) {
        int quoted = *p == '"';

        f[n++] = w = p + quoted;
        p += quoted;
        for (; *p && (quoted || *p != ','); p++) {
            if (quoted && *p == '"') {
                if (p[1] == '"') {
                    *w++ = *p++;
                    continue;
                }
                quoted = 0;
                continue;
            }
            *w++ = *p;
        }
        if (!*p) {
            *w = '\0';
            break;
        }
        *w = '\0';
        p++;
    }
    return n;
}

static void chomp(char *s)
{
    size_t n = strlen(s);

    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        s[--n] = '\0';
}

static int parse_num(const char *s, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    while (*end == ' ')
        end++;
    return end != s && !*end;
}

/* Distinct names in first-seen order; returns the index of s, adding it if new. */
static int intern(char ***names, size_t *n, size_t *cap, const char *s, int32_t *out)
{
    for (size_t k = 0; k < *n; k++)
        if (!strcmp((*names)[k], s)) {
            *out = (int32_t)k;
            return VSIM_OK;
        }
    if (vsim_grow((void **)names, cap, *n + 1, sizeof(char *)))
        return vsim_fail(VSIM_ENOMEM, "labels: out of memory");
    if (*n >= INT32_MAX || !((*names)[*n] = vsim_strdup(s)))
        return vsim_fail(VSIM_ENOMEM, "labels: out of memory");
    *out = (int32_t)(*n)++;
    return VSIM_OK;
}

typedef struct label_key {
    const char *name;
    double num;
    size_t k;
} label_key;

static int cmp_num(const void *a, const void *b)
{
    double u = ((const label_key *)a)->num, v = ((const label_key *)b)->num;

    return u < v ? -1 : u > v;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(((const label_key *)a)->name, ((const label_key *)b)->name);
}

/* Sort the class names (numerically if all are numbers) and renumber the labels. */
static int sort_labels(vsim_series_points *p)
{
    size_t n = p->n_labels ? p->n_labels : 1;
    label_key *key = vsim_mallocarray(n, sizeof(label_key));
    int32_t *map = vsim_mallocarray(n, sizeof(int32_t));
    char **names = vsim_mallocarray(n, sizeof(char *));
    int numeric = 1;

    if (!key || !map || !names) {
        vsim_free(key), vsim_free(map), vsim_free(names);
        return vsim_fail(VSIM_ENOMEM, "labels: out of memory");
    }
    for (size_t k = 0; k < p->n_labels; k++) {
        key[k] = (label_key){ p->label_names[k], 0.0, k };
        numeric &= parse_num(p->label_names[k], &key[k].num);
    }
    qsort(key, p->n_labels, sizeof(label_key), numeric ? cmp_num : cmp_str);
    for (size_t k = 0; k < p->n_labels; k++) {
        map[key[k].k] = (int32_t)k;
        names[k] = p->label_names[key[k].k];
    }
    for (size_t i = 0; i < p->n; i++)
        p->labels[i] = map[p->labels[i]];
    vsim_free(p->label_names);
    p->label_names = names;
    vsim_free(key);
    vsim_free(map);
    return VSIM_OK;
}

#define MAX_COLS 256

static int find_col(char **head, size_t n_head, const char *name, const char *path, int *out)
{
    for (size_t k = 0; k < n_head; k++)
        if (!strcmp(head[k], name)) {
            *out = (int)k;
            return VSIM_OK;
        }
    return vsim_fail(VSIM_ENOTFOUND, "%s: no column '%s' in the header", path, name);
}

/* Pick x, y and label columns from the header and the first data row. */
static int csv_columns(char **head, size_t n_head, char *first, const char *path,
                       const char *xcol, const char *ycol, const char *labelcol, int *cx, int *cy,
                       int *cl)
{
    char *f[MAX_COLS];
    size_t nf = split_csv(first, f, MAX_COLS);
    int rc = VSIM_OK;
    double d;

    *cl = -1;
    if (labelcol && (rc = find_col(head, n_head, labelcol, path, cl)))
        return rc;
    if (!labelcol)
        for (size_t k = 0; k < n_head; k++)
            if (!strcmp(head[k], "label"))
                *cl = (int)k;
    *cx = *cy = -1;
    if (xcol && (rc = find_col(head, n_head, xcol, path, cx)))
        return rc;
    if (ycol && (rc = find_col(head, n_head, ycol, path, cy)))
        return rc;
    for (size_t k = 0; k < nf && k < n_head && (*cx < 0 || *cy < 0); k++) {
        if ((int)k == *cl || (int)k == *cx || (int)k == *cy || !parse_num(f[k], &d))
            continue;
        if (*cx < 0)
            *cx = (int)k;
        else
            *cy = (int)k;
    }
    if (*cx < 0 || *cy < 0)
        return vsim_fail(VSIM_EFORMAT, "%s: need two numeric columns (name them with --x and "
                         "--y)", path);
    return VSIM_OK;
}

/* Parse the data lines of a CSV file (already split into lines) into p. */
static int csv_rows(char **lines, size_t n_lines, int cx, int cy, int cl, vsim_series_points *p)
{
    size_t cap_names = 0, n = 0;
    int rc = points_alloc(p, n_lines, cl >= 0);

    for (size_t i = 0; !rc && i < n_lines; i++) {
        char *f[MAX_COLS];
        size_t nf;

        if (!*lines[i])
            continue;
        nf = split_csv(lines[i], f, MAX_COLS);
        p->x[n] = (size_t)cx < nf && parse_num(f[cx], &p->x[n]) ? p->x[n] : (double)NAN;
        p->y[n] = (size_t)cy < nf && parse_num(f[cy], &p->y[n]) ? p->y[n] : (double)NAN;
        if (cl >= 0)
            rc = intern(&p->label_names, &p->n_labels, &cap_names,
                        (size_t)cl < nf ? f[cl] : "", &p->labels[n]);
        n++;
    }
    p->n = n;
    return rc;
}

static int read_csv(const char *path, const char *xcol, const char *ycol, const char *labelcol,
                    vsim_series_points *out)
{
    vsim_buf text = VSIM_BUF_INIT;
    char **lines = NULL, *head[MAX_COLS], *first_copy = NULL;
    size_t n_lines = 0, n_head;
    int cx, cy, cl, rc = vsim_fs_read_file(path, &text);

    if (rc)
        return vsim_errctx("cannot read points");
    for (size_t i = 0; i < text.len; i++)
        n_lines += text.buf[i] == '\n';
    lines = vsim_mallocarray(n_lines + 1, sizeof(char *));
    if (!lines) {
        rc = vsim_fail(VSIM_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    n_lines = 0;
    for (char *s = text.buf, *nl; s && *s; s = nl ? nl + 1 : NULL) {
        nl = strchr(s, '\n');
        if (nl)
            *nl = '\0';
        chomp(s);
        if (*s && *s != '#')
            lines[n_lines++] = s;
    }
    if (n_lines < 2) {
        rc = vsim_fail(VSIM_EFORMAT, "%s: no data rows (want a header line, then rows)", path);
        goto done;
    }
    n_head = split_csv(lines[0], head, MAX_COLS);
    first_copy = vsim_strdup(lines[1]);
    if (!first_copy) {
        rc = vsim_fail(VSIM_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    rc = csv_columns(head, n_head, first_copy, path, xcol, ycol, labelcol, &cx, &cy, &cl);
    if (!rc)
        rc = csv_rows(lines + 1, n_lines - 1, cx, cy, cl, out);
    if (!rc && cl >= 0)
        rc = sort_labels(out);
done:
    if (rc)
        vsim_series_points_release(out);
    vsim_free(first_copy);
    vsim_free(lines);
    vsim_buf_release(&text);
    return rc;
}

/* Read a whole dataset of file as doubles (n_rows x n_cols; 1-D: n_cols = 1). */
static int h5_read_doubles(hid_t file, const char *path, const char *ds, double **out,
                           size_t *n_rows, size_t *n_cols)
{
    hid_t d = H5Dopen2(file, ds, H5P_DEFAULT), sp = H5I_INVALID_HID;
    hsize_t dims[2] = { 0, 1 };
    int rank, rc = VSIM_OK;

    *out = NULL;
    if (d < 0)
        return vsim_fail(VSIM_ENOTFOUND, "%s: no dataset '%s'", path, ds);
    sp = H5Dget_space(d);
    rank = sp < 0 ? -1 : H5Sget_simple_extent_ndims(sp);
    if (rank < 1 || rank > 2 || H5Sget_simple_extent_dims(sp, dims, NULL) < 0) {
        rc = vsim_fail(VSIM_EFORMAT, "%s: dataset '%s' has rank %d, want 1 or 2", path, ds, rank);
        goto done;
    }
    *out = vsim_mallocarray((size_t)(dims[0] * dims[1]) + 1, sizeof(double));
    if (!*out) {
        rc = vsim_fail(VSIM_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    if (H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) < 0) {
        vsim_free(*out);
        *out = NULL;
        rc = vsim_fail(VSIM_EFORMAT, "%s: dataset '%s' is not numeric", path, ds);
        goto done;
    }
    *n_rows = (size_t)dims[0];
    *n_cols = (size_t)dims[1];
done:
    if (sp >= 0)
        H5Sclose(sp);
    H5Dclose(d);
    return rc;
}

static int col_number(const char *s, size_t def, size_t *out)
{
    char *end;
    long v;

    if (!s) {
        *out = def;
        return VSIM_OK;
    }
    v = strtol(s, &end, 10);
    if (end == s || *end || v < 0)
        return vsim_fail(VSIM_EINVAL, "HDF5 column '%s' is not a column number", s);
    *out = (size_t)v;
    return VSIM_OK;
}

/* Labels from integer values: classes named by the numbers, sorted. */
static int labels_from_values(vsim_series_points *p, const double *v)
{
    size_t cap = 0;
    int rc = VSIM_OK;

    p->labels = vsim_mallocarray(p->n ? p->n : 1, sizeof(int32_t));
    if (!p->labels)
        return vsim_fail(VSIM_ENOMEM, "labels: out of memory");
    for (size_t i = 0; !rc && i < p->n; i++) {
        char s[32];

        snprintf(s, sizeof(s), "%.15g", v[i]);
        rc = intern(&p->label_names, &p->n_labels, &cap, s, &p->labels[i]);
    }
    return rc ? rc : sort_labels(p);
}

static int read_h5(const char *spec, const char *xcol, const char *ycol, const char *labelcol,
                   vsim_series_points *out)
{
    const char *colon = strstr(spec, ":/");
    char *path = vsim_strndup(spec, (size_t)(colon - spec));
    double *v = NULL, *lab = NULL;
    size_t nr, nc, lr, lc, cx, cy;
    hid_t f;
    int rc;

    if (!path)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    vsim_h5_quiet();
    if ((rc = col_number(xcol, 0, &cx)) || (rc = col_number(ycol, 1, &cy))) {
        vsim_free(path);
        return rc;
    }
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        rc = vsim_fail(VSIM_ENOTFOUND, "%s: cannot open as HDF5", path);
        vsim_free(path);
        return rc;
    }
    rc = h5_read_doubles(f, path, colon + 1, &v, &nr, &nc);
    if (!rc && (cx >= nc || cy >= nc))
        rc = vsim_fail(VSIM_EFORMAT, "%s: dataset '%s' has %zu columns", path, colon + 1, nc);
    if (!rc && nr == 0)
        rc = vsim_fail(VSIM_EFORMAT, "%s: dataset '%s' has no rows", path, colon + 1);
    if (!rc && labelcol) {
        rc = h5_read_doubles(f, path, labelcol, &lab, &lr, &lc);
        if (!rc && lr != nr)
            rc = vsim_fail(VSIM_EFORMAT, "%s: %zu labels for %zu points", path, lr, nr);
    }
    if (!rc)
        rc = points_alloc(out, nr, 0);
    for (size_t i = 0; !rc && i < nr; i++) {
        out->x[i] = v[i * nc + cx];
        out->y[i] = v[i * nc + cy];
    }
    if (!rc && lab)
        rc = labels_from_values(out, lab);
    if (rc)
        vsim_series_points_release(out);
    H5Fclose(f);
    vsim_free(v);
    vsim_free(lab);
    vsim_free(path);
    return rc;
}

int vsim_series_read_points(const char *spec, const char *xcol, const char *ycol,
                            const char *labelcol, vsim_series_points *out)
{
    memset(out, 0, sizeof(*out));
    if (strstr(spec, ":/"))
        return read_h5(spec, xcol, ycol, labelcol, out);
    if (!vsim_fs_exists(spec))
        return vsim_fail(VSIM_ENOTFOUND, "%s: no such file", spec);
    return read_csv(spec, xcol, ycol, labelcol, out);
}

/* The last complete step at which tensor i was saved, or -1. */

/* Read name at step (worker 0) as doubles. */
static int read_doubles(vsim_trial *t, const char *name, int64_t step, double **out,
                        vsim_tensor *view)
{
    void *data = NULL;
    size_t n;
    int rc = vsim_trial_read(t, name, step, 0, view, &data);

    *out = NULL;
    if (rc)
        return rc;
    n = vsim_tensor_n_elems(view);
    *out = vsim_mallocarray(n ? n : 1, sizeof(double));
    if (!*out) {
        vsim_free(data);
        return vsim_fail(VSIM_ENOMEM, "%s: out of memory", name);
    }
    for (size_t i = 0; i < n; i++)
        (*out)[i] = vsim_tensor_get(view, i);
    vsim_free(data);
    view->data = NULL;
    return VSIM_OK;
}

static int run_points_from(vsim_trial *t, int64_t step, const char *tensor, const char *lab,
                           vsim_series_points *out)
{
    vsim_tensor v, lv;
    double *x = NULL, *l = NULL;
    size_t n, d, li;
    int rc = read_doubles(t, tensor, step, &x, &v);

    if (rc)
        return rc;
    n = v.ndim >= 1 ? v.shape[0] : 1;
    d = n ? vsim_tensor_n_elems(&v) / n : 0;
    if (v.ndim != 2 || d < 2)
        rc = vsim_fail(VSIM_EFORMAT, "%s at step %lld: want an N x D (D >= 2) tensor", tensor,
                       (long long)step);
    if (!rc)
        rc = points_alloc(out, n, 0);
    for (size_t i = 0; !rc && i < n; i++) {
        out->x[i] = x[i * d];
        out->y[i] = x[i * d + 1];
    }
    if (!rc && vsim_trial_find_tensor(t, lab, &li) == VSIM_OK && vsim_trial_has(t, li, step, 0)) {
        rc = read_doubles(t, lab, step, &l, &lv);
        if (!rc && vsim_tensor_n_elems(&lv) == n)
            rc = labels_from_values(out, l);
    }
    vsim_free(x);
    vsim_free(l);
    return rc;
}

int vsim_series_run_points(const char *dir, int64_t step, const char *tensor,
                           const char *labels_tensor, vsim_series_points *out, int64_t *out_step)
{
    vsim_trial *t;
    size_t i;
    int rc;

    memset(out, 0, sizeof(*out));
    tensor = tensor ? tensor : "embeddings/latent";
    if ((rc = vsim_trial_open(dir, &t)))
        return rc;
    rc = vsim_trial_find_tensor(t, tensor, &i);
    if (rc)
        rc = vsim_fail(VSIM_ENOTFOUND, "%s: the run has no tensor '%s'", dir, tensor);
    if (!rc && step < 0 && (step = vsim_trial_tensor_last_step(t, i)) < 0)
        rc = vsim_fail(VSIM_ENOTFOUND, "%s: '%s' was never saved", dir, tensor);
    if (!rc)
        rc = run_points_from(t, step, tensor, labels_tensor ? labels_tensor : "embeddings/labels",
                             out);
    if (rc)
        vsim_series_points_release(out);
    else if (out_step)
        *out_step = step;
    vsim_trial_close(t);
    return rc;
}

int vsim_series_group_labels(vsim_series_points *p, size_t max_classes)
{
    size_t *count, keep = max_classes - 1;
    int32_t *map;
    char **names;

    if (!p->labels || p->n_labels <= max_classes || max_classes < 2)
        return VSIM_OK;
    count = vsim_calloc(p->n_labels, sizeof(size_t));
    map = vsim_mallocarray(p->n_labels, sizeof(int32_t));
    names = vsim_calloc(keep + 1, sizeof(char *));
    if (!count || !map || !names || !(names[keep] = vsim_strdup("other"))) {
        vsim_free(count), vsim_free(map), vsim_free(names);
        return vsim_fail(VSIM_ENOMEM, "labels: out of memory");
    }
    for (size_t i = 0; i < p->n; i++)
        count[p->labels[i]]++;
    /* the keep largest classes stay, in their original order */
    for (size_t k = 0; k < p->n_labels; k++) {
        size_t larger = 0;

        for (size_t j = 0; j < p->n_labels; j++)
            larger += count[j] > count[k] || (count[j] == count[k] && j < k);
        map[k] = larger < keep ? (int32_t)larger : (int32_t)keep;
    }
    for (size_t k = 0; k < p->n_labels; k++)
        if ((size_t)map[k] >= keep)
            vsim_free(p->label_names[k]);
    /* renumber kept classes in original order so the legend keeps the file's order */
    for (size_t k = 0, next = 0; k < p->n_labels; k++)
        if ((size_t)map[k] < keep) {
            names[next] = p->label_names[k];
            map[k] = (int32_t)next++;
        }
    for (size_t i = 0; i < p->n; i++)
        p->labels[i] = map[p->labels[i]];
    vsim_free(p->label_names);
    p->label_names = names;
    p->n_labels = keep + 1;
    vsim_free(count);
    vsim_free(map);
    return VSIM_OK;
}

void vsim_series_layers_release(vsim_series_layers *l)
{
    for (size_t i = 0; i < l->n; i++) {
        vsim_free(l->names[i]);
        vsim_free(l->data[i]);
    }
    vsim_free(l->names);
    vsim_free(l->views);
    vsim_free(l->data);
    memset(l, 0, sizeof(*l));
    l->step = -1;
}

/* name without its collection prefix ("gradients/enc/w" in gradients -> "enc/w"). */
static char *display_name(const char *name, const char *collection)
{
    size_t n = collection ? strlen(collection) : 0;

    if (n && !strncmp(name, collection, n) && name[n] == '/' && name[n + 1])
        name += n + 1;
    return vsim_strdup(name);
}

static int layers_alloc(vsim_series_layers *out, size_t n)
{
    out->names = vsim_calloc(n ? n : 1, sizeof(char *));
    out->views = vsim_calloc(n ? n : 1, sizeof(vsim_tensor));
    out->data = vsim_calloc(n ? n : 1, sizeof(void *));
    if (!out->names || !out->views || !out->data)
        return vsim_fail(VSIM_ENOMEM, "layers: out of memory");
    return VSIM_OK;
}

int vsim_series_read_layers(const char *dir, const char *collection, const char *regex,
                            int64_t step, int worker, vsim_series_layers *out)
{
    size_t *idx = NULL, n_idx = 0;
    vsim_trial *t;
    int rc;

    memset(out, 0, sizeof(*out));
    out->step = -1;
    if ((rc = vsim_trial_open(dir, &t)))
        return rc;
    rc = vsim_trial_match(t, collection, regex, &idx, &n_idx);
    if (!rc && n_idx == 0)
        rc = vsim_fail(VSIM_ENOTFOUND, "%s: no tensor in collection '%s'%s%s", dir,
                       collection ? collection : "(any)", regex ? " matching " : "",
                       regex ? regex : "");
    for (size_t k = 0; !rc && step < 0 && k < n_idx; k++) {
        int64_t s = vsim_trial_tensor_last_step(t, idx[k]);

        if (s > step)
            step = s;
    }
    if (!rc)
        rc = layers_alloc(out, n_idx);
    for (size_t k = 0; !rc && k < n_idx; k++) {
        const vsim_tensor_info *ti = vsim_trial_tensor(t, idx[k]);

        if (!vsim_trial_has(t, idx[k], step, worker) || !ti->has_values)
            continue;
        rc = vsim_trial_read(t, ti->name, step, worker, &out->views[out->n], &out->data[out->n]);
        if (!rc && !(out->names[out->n] = display_name(ti->name, collection)))
            rc = vsim_fail(VSIM_ENOMEM, "layers: out of memory");
        if (!rc)
            out->n++;
        else
            vsim_free(out->data[out->n]);
    }
    if (!rc && out->n == 0)
        rc = vsim_fail(VSIM_ENOTFOUND, "%s: no values of collection '%s' saved at step %lld",
                       dir, collection ? collection : "(any)", (long long)step);
    if (rc)
        vsim_series_layers_release(out);
    else
        out->step = step;
    vsim_free(idx);
    vsim_trial_close(t);
    return rc;
}

void vsim_series_grid_release(vsim_series_grid *g)
{
    vsim_h5_strings_free(g->names, g->n_rows);
    vsim_free(g->steps);
    vsim_free(g->v);
    memset(g, 0, sizeof(*g));
}

int vsim_series_field_parse(const char *name, int *out)
{
    for (int f = 0; f < VSIM_STATS_F_PCT0; f++)
        if (!strcmp(vsim_stats_field_name(f), name)) {
            *out = f;
            return VSIM_OK;
        }
    return vsim_fail(VSIM_EINVAL, "unknown statistic '%s' (want count, nan, zeros, min, max, "
                     "mean, std, l1 or l2)", name);
}

/* Rows gathered while walking: (tensor, step, values). */
typedef struct grid_obs {
    size_t tensor;
    int64_t step;
    double v[9];
} grid_obs;

typedef struct grid_walk {
    const vsim_series_grid_params *p;
    char **names;
    size_t n_names, cap_names;
    grid_obs *obs;
    size_t n_obs, cap_obs;
    int status;
} grid_walk;

static int walk_name(grid_walk *w, const char *name, size_t *out)
{
    char *d;

    for (size_t k = w->n_names; k-- > 0;)
        if (!strcmp(w->names[k], name)) {
            *out = k;
            return VSIM_OK;
        }
    if (vsim_grow((void **)&w->names, &w->cap_names, w->n_names + 1, sizeof(char *)))
        return VSIM_ENOMEM;
    if (!(d = vsim_strdup(name)))
        return VSIM_ENOMEM;
    w->names[w->n_names] = d;
    *out = w->n_names++;
    return VSIM_OK;
}

static int walk_row(void *ctx, const vsim_stats_row *row)
{
    grid_walk *w = ctx;
    grid_obs *o;

    if (row->kind != VSIM_STATS_ROW_TENSOR)
        return 0;
    if (vsim_grow((void **)&w->obs, &w->cap_obs, w->n_obs + 1, sizeof(grid_obs)))
        return (w->status = vsim_fail(VSIM_ENOMEM, "series: out of memory")), 1;
    o = &w->obs[w->n_obs];
    if (walk_name(w, row->tensor, &o->tensor))
        return (w->status = vsim_fail(VSIM_ENOMEM, "series: out of memory")), 1;
    o->step = row->step;
    for (int j = 0; j < 9; j++) {
        int f = w->p->what == VSIM_SERIES_BANDS ? VSIM_STATS_F_PCT0 + j : w->p->field;
        double v = (row->known >> f) & 1 ? vsim_stats_field(row->stats, f) : (double)NAN;

        o->v[j] = w->p->log10 ? (v > 0 ? log10(v) : (double)NAN) : v;
    }
    w->n_obs++;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* Turn the observations into the grid (distinct steps as columns). */
static int fill_grid(grid_walk *w, vsim_series_grid *g)
{
    size_t n_per = w->p->what == VSIM_SERIES_BANDS ? 9 : 1, n_steps = 0;
    int64_t *steps = vsim_mallocarray(w->n_obs + 1, sizeof(int64_t));

    if (!steps)
        return vsim_fail(VSIM_ENOMEM, "series: out of memory");
    for (size_t i = 0; i < w->n_obs; i++)
        steps[i] = w->obs[i].step;
    qsort(steps, w->n_obs, sizeof(int64_t), cmp_i64);
    for (size_t i = 0; i < w->n_obs; i++)
        if (!n_steps || steps[n_steps - 1] != steps[i])
            steps[n_steps++] = steps[i];
    g->n_rows = w->n_names;
    g->n_cols = n_steps;
    g->n_per = n_per;
    g->steps = vsim_mallocarray(n_steps + 1, sizeof(double));
    g->v = vsim_mallocarray(g->n_rows * n_steps * n_per + 1, sizeof(double));
    if (!g->steps || !g->v) {
        vsim_free(steps);
        return vsim_fail(VSIM_ENOMEM, "series: out of memory");
    }
    for (size_t j = 0; j < n_steps; j++)
        g->steps[j] = (double)steps[j];
    for (size_t i = 0; i < g->n_rows * n_steps * n_per; i++)
        g->v[i] = NAN;
    for (size_t i = 0; i < w->n_obs; i++) {
        int64_t *at = bsearch(&w->obs[i].step, steps, n_steps, sizeof(int64_t), cmp_i64);
        double *dst = g->v + (w->obs[i].tensor * n_steps + (size_t)(at - steps)) * n_per;

        memcpy(dst, w->obs[i].v, n_per * sizeof(double));
    }
    vsim_free(steps);
    return VSIM_OK;
}

int vsim_series_read_grid(const char *dir, const vsim_series_grid_params *p,
                          vsim_series_grid *out)
{
    vsim_stats_run_params rp = VSIM_STATS_RUN_PARAMS_INIT;
    const char *colls[1] = { p->collection };
    grid_walk w = { p, NULL, 0, 0, NULL, 0, 0, VSIM_OK };
    int rc;

    memset(out, 0, sizeof(*out));
    rp.stats.percentiles = band_pct;
    rp.stats.n_percentiles = p->what == VSIM_SERIES_BANDS ? 9 : 0;
    rp.stats.n_threads = p->n_threads;
    rp.all_steps = 1;
    rp.collections = p->collection ? colls : NULL;
    rp.n_collections = p->collection ? 1 : 0;
    rp.regex = p->regex;
    rp.worker = p->worker;
    rc = vsim_stats_run_dir(dir, &rp, walk_row, &w, NULL);
    if (!rc && w.status)
        rc = w.status;
    if (!rc && w.n_obs == 0)
        rc = vsim_fail(VSIM_ENOTFOUND, "%s: no tensor in collection '%s'%s%s", dir,
                       p->collection ? p->collection : "(any)", p->regex ? " matching " : "",
                       p->regex ? p->regex : "");
    if (!rc)
        rc = fill_grid(&w, out);
    if (!rc) {
        out->names = w.names;
        for (size_t i = 0; i < w.n_names; i++) {
            char *d = display_name(w.names[i], p->collection);

            if (!d) {
                rc = vsim_fail(VSIM_ENOMEM, "series: out of memory");
                break;
            }
            vsim_free(w.names[i]);
            w.names[i] = d;
        }
        w.names = NULL;
    }
    if (rc)
        vsim_series_grid_release(out);
    vsim_h5_strings_free(w.names, w.n_names);
    vsim_free(w.obs);
    return rc;
}

void vsim_series_images_release(vsim_series_images *im)
{
    vsim_free(im->input);
    vsim_free(im->recon);
    memset(im, 0, sizeof(*im));
    im->step = -1;
}

/* Read an image stack as floats; shape (n, c, h, w), (n, h, w) or (h, w). */
static int read_stack(vsim_trial *t, const char *name, int64_t step, size_t max_n, float **out,
                      size_t shape[4])
{
    vsim_tensor v;
    void *data = NULL;
    size_t n, per;
    int rc = vsim_trial_read(t, name, step, 0, &v, &data);

    *out = NULL;
    if (rc)
        return rc;
    if (v.ndim < 2 || v.ndim > 4) {
        vsim_free(data);
        return vsim_fail(VSIM_EFORMAT, "%s: rank %d, want 2 to 4", name, v.ndim);
    }
    shape[0] = v.ndim >= 3 ? v.shape[0] : 1;
    shape[1] = v.ndim == 4 ? v.shape[1] : 1;
    shape[2] = v.shape[v.ndim - 2];
    shape[3] = v.shape[v.ndim - 1];
    n = max_n && shape[0] > max_n ? max_n : shape[0];
    per = shape[1] * shape[2] * shape[3];
    *out = vsim_mallocarray(n * per + 1, sizeof(float));
    if (*out)
        for (size_t i = 0; i < n * per; i++)
            (*out)[i] = (float)(vsim_tensor_get(&v, i) / (v.dtype == VSIM_U8 ? 255.0 : 1.0));
    shape[0] = n;
    vsim_free(data);
    return *out ? VSIM_OK : vsim_fail(VSIM_ENOMEM, "%s: out of memory", name);
}

int vsim_series_read_images(const char *dir, int64_t step, size_t max_n,
                            vsim_series_images *out)
{
    size_t si[4], sr[4], i;
    vsim_trial *t;
    int rc;

    memset(out, 0, sizeof(*out));
    out->step = -1;
    if ((rc = vsim_trial_open(dir, &t)))
        return rc;
    if ((rc = vsim_trial_find_tensor(t, "images/input", &i)))
        rc = vsim_fail(VSIM_ENOTFOUND, "%s: the run saved no images (collection images)", dir);
    if (!rc && step < 0)
        step = vsim_trial_tensor_last_step(t, i);
    if (!rc)
        rc = read_stack(t, "images/input", step, max_n, &out->input, si);
    if (!rc && vsim_trial_find_tensor(t, "images/reconstruction", &i) == VSIM_OK &&
        vsim_trial_has(t, i, step, 0)) {
        rc = read_stack(t, "images/reconstruction", step, max_n, &out->recon, sr);
        if (!rc && memcmp(si, sr, sizeof(si))) {
            vsim_free(out->recon);
            out->recon = NULL;
        }
    }
    vsim_errclear();
    if (!rc) {
        out->n = si[0];
        out->channels = si[1];
        out->h = si[2];
        out->w = si[3];
        out->step = step;
    } else {
        vsim_series_images_release(out);
    }
    vsim_trial_close(t);
    return rc;
}
