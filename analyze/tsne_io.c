/*
 * analyze/tsne_io.c - inputs and outputs of vsim-tsne (issue 7): run tensors
 * through readers/trial.h, HDF5 datasets, CSV, raw float32, label files, and
 * the layout written as CSV or HDF5 (atomically).
 * SPDX-License-Identifier: MIT
 */
#include "analyze/tsne_io.h"

#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <jansson.h>
#include <string.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/tensor.h"
#include "readers/h5.h"
#include "readers/trial.h"

void vsim_tsne_data_release(vsim_tsne_data *d)
{
    vsim_free(d->x);
    vsim_free(d->labels);
    vsim_free(d->ids);
    vsim_h5_strings_free(d->label_names, d->n_labels);
    *d = (vsim_tsne_data)VSIM_TSNE_DATA_INIT;
}

/* Split "file.h5:/path"; returns 0 if spec is not of that form. */
static int split_h5(const char *spec, char *file, size_t cap, const char **dset)
{
    const char *c = strstr(spec, ".h5:");
    size_t n;

    if (!c)
        c = strstr(spec, ".hdf5:");
    if (!c)
        return 0;
    c = strchr(c, ':');
    n = (size_t)(c - spec);
    if (n >= cap)
        return 0;
    memcpy(file, spec, n);
    file[n] = '\0';
    *dset = c + 1;
    return 1;
}

/* Read an HDF5 dataset of rank 1 or 2 converted to mem_type; *rows, *cols. */
static int read_h5(const char *spec, hid_t mem_type, size_t elem_bytes, void **out,
                   size_t *rows, size_t *cols)
{
    char file[4096];
    const char *dname;
    hid_t f = H5I_INVALID_HID, d = H5I_INVALID_HID, s = H5I_INVALID_HID;
    hsize_t dims[2] = { 0, 1 };
    int rank, status = VSIM_OK;
    void *buf = NULL;

    if (!split_h5(spec, file, sizeof(file), &dname))
        return vsim_fail(VSIM_EINVAL, "%s: not of the form FILE.h5:/dataset", spec);
    vsim_h5_quiet();
    if ((f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
        return vsim_fail(VSIM_EIO, "%s: cannot open as HDF5", file);
    if ((d = H5Dopen2(f, dname, H5P_DEFAULT)) < 0) {
        status = vsim_fail(VSIM_ENOTFOUND, "%s: no dataset '%s'", file, dname);
        goto done;
    }
    s = H5Dget_space(d);
    rank = H5Sget_simple_extent_ndims(s);
    if (rank < 1 || rank > 2) {
        status = vsim_fail(VSIM_EFORMAT, "%s: dataset '%s' has rank %d, want 1 or 2", file,
                           dname, rank);
        goto done;
    }
    H5Sget_simple_extent_dims(s, dims, NULL);
    buf = vsim_mallocarray((size_t)dims[0] * (size_t)dims[1] + 1, elem_bytes);
    if (!buf) {
        status = vsim_fail(VSIM_ENOMEM, "%s: out of memory", file);
        goto done;
    }
    if (H5Dread(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        status = vsim_fail(VSIM_EFORMAT, "%s: cannot read '%s' as numbers", file, dname);
        goto done;
    }
    *rows = (size_t)dims[0];
    *cols = (size_t)dims[1];
    *out = buf;
    buf = NULL;
done:
    vsim_free(buf);
    if (s >= 0)
        H5Sclose(s);
    if (d >= 0)
        H5Dclose(d);
    H5Fclose(f);
    return status;
}

static int is_text(const char *spec)
{
    const char *dot = strrchr(spec, '.');

    return dot && (!strcmp(dot, ".csv") || !strcmp(dot, ".tsv") || !strcmp(dot, ".txt"));
}

/* Parse numeric text: rows of separated numbers, optional header line. */
static int parse_csv(const char *path, char *text, vsim_tsne_data *out)
{
    size_t cap = 0, n_vals = 0, rows = 0, cols = 0, line_no = 0;
    float *v = NULL;
    char *save = NULL;

    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t c = 0;
        char *p = line, *end;

        line_no++;
        while (*p) {
            while (*p == ',' || *p == ' ' || *p == '\t' || *p == '\r' || *p == ';')
                p++;
            if (!*p)
                break;
            errno = 0;
            double x = strtod(p, &end);
            if (end == p) {
                if (rows == 0 && c == 0 && line_no == 1)
                    goto next_line;          /* a header */
                vsim_free(v);
                return vsim_fail(VSIM_EFORMAT, "%s: line %zu: not a number: '%.20s'", path,
                                 line_no, p);
            }
            if (n_vals == cap) {
                float *nv = vsim_reallocarray(v, cap = cap ? 2 * cap : 4096, sizeof(*v));
                if (!nv) {
                    vsim_free(v);
                    return vsim_fail(VSIM_ENOMEM, "%s: out of memory", path);
                }
                v = nv;
            }
            v[n_vals++] = (float)x;
            c++;
            p = end;
        }
        if (c == 0)
            continue;
        if (rows && c != cols) {
            vsim_free(v);
            return vsim_fail(VSIM_EFORMAT, "%s: line %zu has %zu values, earlier lines %zu",
                             path, line_no, c, cols);
        }
        cols = c;
        rows++;
next_line:;
    }
    out->x = v;
    out->n = rows;
    out->dim = cols;
    return VSIM_OK;
}

int vsim_tsne_load_matrix(const char *spec, size_t raw_dims, vsim_tsne_data *out)
{
    vsim_buf b = VSIM_BUF_INIT;
    vsim_tsne_data d = VSIM_TSNE_DATA_INIT;
    int status;

    if (strstr(spec, ".h5:") || strstr(spec, ".hdf5:")) {
        void *buf = NULL;
        status = read_h5(spec, H5T_NATIVE_FLOAT, sizeof(float), &buf, &d.n, &d.dim);
        d.x = buf;
    } else {
        status = vsim_fs_read_file(spec, &b);
        if (status)
            return status;
        if (is_text(spec)) {
            status = parse_csv(spec, b.buf, &d);
        } else if (raw_dims == 0) {
            status = vsim_fail(VSIM_EINVAL, "%s: raw float32 input needs --dims", spec);
        } else if (b.len % (raw_dims * sizeof(float))) {
            status = vsim_fail(VSIM_EFORMAT, "%s: %zu bytes is not a multiple of %zu float32 "
                               "columns", spec, b.len, raw_dims);
        } else {
            d.n = b.len / (raw_dims * sizeof(float));
            d.dim = raw_dims;
            d.x = vsim_mallocarray(d.n * d.dim + 1, sizeof(float));
            if (!d.x)
                status = vsim_fail(VSIM_ENOMEM, "%s: out of memory", spec);
            else
                memcpy(d.x, b.buf, b.len);
        }
    }
    vsim_buf_release(&b);
    if (!status && d.n == 0)
        status = vsim_fail(VSIM_EFORMAT, "%s: no rows", spec);
    if (status) {
        vsim_tsne_data_release(&d);
        return status;
    }
    *out = d;
    return VSIM_OK;
}

static int last_step(const vsim_trial *t, const char *tensor, int64_t *step)
{
    size_t i;
    int status = vsim_trial_find_tensor(t, tensor, &i);

    if (status)
        return vsim_fail(VSIM_ENOTFOUND, "%s: no tensor '%s' in the run", vsim_trial_dir(t),
                         tensor);
    *step = vsim_trial_tensor_last_step(t, i);
    if (*step < 0)
        return vsim_fail(VSIM_ENOTFOUND, "%s: tensor '%s' has no complete step",
                         vsim_trial_dir(t), tensor);
    return VSIM_OK;
}

/* Read a run tensor at step as n x dim floats (rank 1 gives dim 1). */
static int read_run_f32(const vsim_trial *t, const char *name, int64_t step, float **out,
                        size_t *n, size_t *dim)
{
    vsim_tensor v;
    void *data = NULL;
    float *x;
    size_t ne;
    int status = vsim_trial_read(t, name, step, 0, &v, &data);

    if (status)
        return status;
    ne = vsim_tensor_n_elems(&v);
    if (v.ndim < 1 || v.ndim > 2 || ne == 0) {
        vsim_free(data);
        return vsim_fail(VSIM_EFORMAT, "%s: tensor '%s' at step %lld has rank %d, want 2",
                         vsim_trial_dir(t), name, (long long)step, v.ndim);
    }
    x = vsim_mallocarray(ne, sizeof(*x));
    if (!x) {
        vsim_free(data);
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < ne; i++)
        x[i] = (float)vsim_tensor_get(&v, i);
    *n = v.shape[0];
    *dim = v.ndim == 2 ? v.shape[1] : 1;
    *out = x;
    vsim_free(data);
    return VSIM_OK;
}

/*
 * Class names from run.json's hyperparameters.label_names (the trainer copies
 * the dataset's label_names there), when there is one name per label value.
 */
static int names_from_run_json(const vsim_trial *t, vsim_tsne_data *d)
{
    json_t *root = json_loads(vsim_trial_run_json(t), 0, NULL);
    json_t *names = json_object_get(json_object_get(root, "hyperparameters"), "label_names");
    size_t n = json_array_size(names);
    int32_t mx = -1;
    int status = VSIM_OK;

    for (size_t i = 0; i < d->n; i++)
        mx = d->labels[i] > mx ? d->labels[i] : mx;
    if (n > 0 && (size_t)mx < n) {
        d->label_names = vsim_calloc(n, sizeof(char *));
        for (size_t i = 0; d->label_names && i < n && !status; i++) {
            const char *s = json_string_value(json_array_get(names, i));

            d->label_names[i] = vsim_strdup(s ? s : "?");
            if (!d->label_names[i])
                status = vsim_fail(VSIM_ENOMEM, "out of memory");
        }
        if (!d->label_names)
            status = vsim_fail(VSIM_ENOMEM, "out of memory");
        d->n_labels = n;
    }
    json_decref(root);
    return status;
}

int vsim_tsne_load_run(const char *dir, const char *tensor, int64_t step,
                       const char *labels_tensor, const char *ids_tensor, vsim_tsne_data *out)
{
    vsim_trial *t = NULL;
    vsim_tsne_data d = VSIM_TSNE_DATA_INIT;
    float *lab = NULL, *ids = NULL;
    size_t nl = 0, dl = 0, ni = 0, di = 0, idx;
    int status = vsim_trial_open(dir, &t);

    if (!status && step < 0)
        status = last_step(t, tensor, &step);
    if (!status)
        status = read_run_f32(t, tensor, step, &d.x, &d.n, &d.dim);
    if (status)
        goto done;
    d.step = step;
    if (labels_tensor && vsim_trial_find_tensor(t, labels_tensor, &idx) == VSIM_OK &&
        vsim_trial_has(t, idx, step, 0)) {
        status = read_run_f32(t, labels_tensor, step, &lab, &nl, &dl);
        if (!status && (nl != d.n || dl != 1))
            status = vsim_fail(VSIM_EFORMAT, "%s: '%s' has %zu values for %zu points", dir,
                               labels_tensor, nl * dl, d.n);
        d.labels = status ? NULL : vsim_mallocarray(d.n, sizeof(int32_t));
        if (!status && !d.labels)
            status = vsim_fail(VSIM_ENOMEM, "out of memory for %zu labels", d.n);
        for (size_t i = 0; d.labels && i < d.n; i++)
            d.labels[i] = (int32_t)lab[i];
    }
    if (!status && ids_tensor && vsim_trial_find_tensor(t, ids_tensor, &idx) == VSIM_OK &&
        vsim_trial_has(t, idx, step, 0)) {
        status = read_run_f32(t, ids_tensor, step, &ids, &ni, &di);  /* exact below 2^24 */
        d.ids = !status && ni == d.n ? vsim_mallocarray(d.n, sizeof(int64_t)) : NULL;
        if (!status && ni == d.n && !d.ids)
            status = vsim_fail(VSIM_ENOMEM, "out of memory for %zu ids", d.n);
        for (size_t i = 0; d.ids && i < d.n; i++)
            d.ids[i] = (int64_t)ids[i];
    }
    if (!status && d.labels)
        status = names_from_run_json(t, &d);
done:
    vsim_free(lab);
    vsim_free(ids);
    vsim_trial_close(t);
    if (status) {
        vsim_tsne_data_release(&d);
        return status;
    }
    *out = d;
    return VSIM_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Text labels: integers, or names numbered in sorted order. */
static int parse_labels(const char *path, char *text, size_t n_want, vsim_tsne_data *d)
{
    char **tok = vsim_calloc(n_want + 1, sizeof(*tok)), *save = NULL;
    size_t n = 0, n_names = 0;
    int numeric = 1, status = VSIM_OK;

    if (!tok)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    for (char *l = strtok_r(text, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save)) {
        if (!*l)
            continue;
        if (n < n_want + 1)
            tok[n] = l;
        n++;
        char *end;
        long v = strtol(l, &end, 10);
        if (*end || v < 0 || v > INT32_MAX)
            numeric = 0;
    }
    if (n != n_want) {
        vsim_free(tok);
        return vsim_fail(VSIM_EINVAL, "%s: %zu labels for %zu points", path, n, n_want);
    }
    vsim_free(d->labels);
    d->labels = vsim_mallocarray(n + 1, sizeof(int32_t));
    if (!d->labels)
        status = vsim_fail(VSIM_ENOMEM, "out of memory");
    for (size_t i = 0; !status && numeric && i < n; i++)
        d->labels[i] = (int32_t)strtol(tok[i], NULL, 10);
    if (!status && !numeric) {
        char **names = vsim_mallocarray(n, sizeof(*names));
        if (!names) {
            vsim_free(tok);
            return vsim_fail(VSIM_ENOMEM, "out of memory");
        }
        memcpy(names, tok, n * sizeof(*names));
        qsort(names, n, sizeof(*names), cmp_str);
        for (size_t i = 0; i < n; i++)
            if (i == 0 || strcmp(names[i], names[n_names - 1]))
                names[n_names++] = names[i];
        d->label_names = vsim_calloc(n_names, sizeof(char *));
        d->n_labels = d->label_names ? n_names : 0;
        for (size_t i = 0; d->label_names && i < n_names; i++)
            if (!(d->label_names[i] = vsim_strdup(names[i])))
                status = vsim_fail(VSIM_ENOMEM, "out of memory");
        if (!d->label_names)
            status = vsim_fail(VSIM_ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
            char **hit = bsearch(&tok[i], names, n_names, sizeof(*names), cmp_str);
            d->labels[i] = (int32_t)(hit - names);
        }
        vsim_free(names);
    }
    vsim_free(tok);
    return status;
}

int vsim_tsne_load_labels(const char *spec, vsim_tsne_data *d)
{
    vsim_buf b = VSIM_BUF_INIT;
    int status;

    if (strstr(spec, ".h5:") || strstr(spec, ".hdf5:")) {
        void *buf = NULL;
        size_t rows = 0, cols = 0;
        status = read_h5(spec, H5T_NATIVE_INT32, sizeof(int32_t), &buf, &rows, &cols);
        if (!status && rows * cols != d->n) {
            vsim_free(buf);
            return vsim_fail(VSIM_EINVAL, "%s: %zu labels for %zu points", spec, rows * cols,
                             d->n);
        }
        if (!status) {
            vsim_free(d->labels);
            d->labels = buf;
        }
        return status;
    }
    status = vsim_fs_read_file(spec, &b);
    if (status)
        return status;
    status = parse_labels(spec, b.buf, d->n, d);
    vsim_buf_release(&b);
    return status;
}

static int write_csv(const char *path, const double *y, size_t n, int dims,
                     const vsim_tsne_data *d)
{
    vsim_buf b = VSIM_BUF_INIT;
    int status = vsim_buf_adds(&b, dims == 2 ? "x,y" : "x,y,z");

    if (d->labels)
        status |= vsim_buf_adds(&b, ",label");
    if (d->ids)
        status |= vsim_buf_adds(&b, ",id");
    status |= vsim_buf_addch(&b, '\n');
    for (size_t i = 0; i < n && !status; i++) {
        for (int c = 0; c < dims; c++)
            status |= vsim_buf_addf(&b, "%s%.9g", c ? "," : "", y[i * (size_t)dims + (size_t)c]);
        if (d->labels && d->label_names)
            status |= vsim_buf_addf(&b, ",%s", d->label_names[d->labels[i]]);
        else if (d->labels)
            status |= vsim_buf_addf(&b, ",%d", (int)d->labels[i]);
        if (d->ids)
            status |= vsim_buf_addf(&b, ",%lld", (long long)d->ids[i]);
        status |= vsim_buf_addch(&b, '\n');
    }
    if (status) {
        vsim_buf_release(&b);
        return vsim_fail(VSIM_ENOMEM, "%s: out of memory", path);
    }
    status = vsim_fs_write_atomic(path, b.buf, b.len, 0);
    vsim_buf_release(&b);
    return status;
}

static int write_dset(hid_t f, const char *name, hid_t type, int rank, const hsize_t *dims,
                      const void *data)
{
    hid_t s = H5Screate_simple(rank, dims, NULL), ds;
    herr_t e = -1;

    ds = H5Dcreate2(f, name, type, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ds >= 0) {
        e = H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
        H5Dclose(ds);
    }
    H5Sclose(s);
    return e < 0 ? -1 : 0;
}

static int write_h5(const char *path, const double *y, size_t n, int dims,
                    const vsim_tsne_data *d)
{
    vsim_buf tmp = VSIM_BUF_INIT;
    hsize_t sh[2] = { n, (hsize_t)dims };
    hid_t f;
    int bad;

    if (vsim_buf_addf(&tmp, "%s.tmp", path))
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    vsim_h5_quiet();
    f = H5Fcreate(tmp.buf, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) {
        vsim_buf_release(&tmp);
        return vsim_fail(VSIM_EIO, "%s: cannot create", path);
    }
    bad = write_dset(f, "coords", H5T_NATIVE_DOUBLE, 2, sh, y);
    if (d->labels)
        bad |= write_dset(f, "labels", H5T_NATIVE_INT32, 1, sh, d->labels);
    if (d->ids)
        bad |= write_dset(f, "ids", H5T_NATIVE_INT64, 1, sh, d->ids);
    bad |= H5Fclose(f) < 0;
    if (bad || rename(tmp.buf, path)) {
        remove(tmp.buf);
        vsim_buf_release(&tmp);
        return vsim_fail(VSIM_EIO, "%s: cannot write", path);
    }
    vsim_buf_release(&tmp);
    return VSIM_OK;
}

int vsim_tsne_write_layout(const char *path, const double *y, size_t n, int dims,
                           const vsim_tsne_data *d)
{
    const char *dot = strrchr(path, '.');

    if (dot && (!strcmp(dot, ".h5") || !strcmp(dot, ".hdf5")))
        return write_h5(path, y, n, dims, d);
    return write_csv(path, y, n, dims, d);
}
