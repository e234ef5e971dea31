/*
 * trainer/data.c - loading the HDF5 image dataset and splitting it by design.
 * SPDX-License-Identifier: MIT
 */
#include "trainer/data.h"

#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"
#include "core/rng.h"
#include "core/vsim.h"
#include "readers/h5.h"

/* Open dataset name and check its rank; 0 rank check: any. */
static int read_images(hid_t file, const char *path, vsim_dataset *ds)
{
    hid_t d, space = -1, type = -1;
    hsize_t dims[4];
    int rank = -1, rc = VSIM_OK;

    if (H5Lexists(file, "images", H5P_DEFAULT) <= 0)
        return vsim_fail(VSIM_EFORMAT, "%s: no 'images' dataset (not a vsim-render dataset)",
                         path);
    d = H5Dopen2(file, "images", H5P_DEFAULT);
    if (d < 0)
        return vsim_fail(VSIM_EFORMAT, "%s: 'images' is not a dataset", path);
    space = H5Dget_space(d);
    type = H5Dget_type(d);
    if (space >= 0)
        rank = H5Sget_simple_extent_ndims(space);
    if (rank == 3 || rank == 4)
        H5Sget_simple_extent_dims(space, dims, NULL);
    if (type < 0 || H5Tget_class(type) != H5T_INTEGER || H5Tget_size(type) != 1 ||
        H5Tget_sign(type) != H5T_SGN_NONE) {
        rc = vsim_fail(VSIM_EFORMAT, "%s: 'images' is not uint8", path);
    } else if (rank != 3 && rank != 4) {
        rc = vsim_fail(VSIM_EFORMAT, "%s: 'images' has rank %d, want 4 (N x V x S x S)",
                       path, rank);
    } else if (dims[rank - 1] != dims[rank - 2] || dims[0] == 0 || dims[rank - 1] == 0 ||
               (rank == 4 && dims[1] == 0)) {
        rc = vsim_fail(VSIM_EFORMAT, "%s: 'images' is empty or its images are not square",
                       path);
    } else {
        ds->n_designs = (size_t)dims[0];
        ds->n_views = rank == 4 ? (int)dims[1] : 1;
        ds->side = (int)dims[rank - 1];
        ds->images = vsim_malloc(vsim_dataset_n_examples(ds) * (size_t)ds->side
                                 * (size_t)ds->side);
        if (!ds->images)
            rc = vsim_fail(VSIM_ENOMEM, "%s: out of memory for the images", path);
        else if (H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, ds->images) < 0)
            rc = vsim_fail(VSIM_EIO, "%s: cannot read 'images'", path);
    }
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    H5Dclose(d);
    return rc;
}

/* Read an optional 1-D integer dataset of n entries converted to mem_type. */
static int read_ids(hid_t file, const char *path, const char *name, hid_t mem_type, size_t n,
                    void *out, int *found)
{
    hid_t d, space;
    hsize_t dims[2];
    int ok;

    *found = 0;
    if (H5Lexists(file, name, H5P_DEFAULT) <= 0)
        return VSIM_OK;
    d = H5Dopen2(file, name, H5P_DEFAULT);
    if (d < 0)
        return vsim_fail(VSIM_EFORMAT, "%s: '%s' is not a dataset", path, name);
    space = H5Dget_space(d);
    ok = space >= 0 && H5Sget_simple_extent_ndims(space) == 1 &&
         H5Sget_simple_extent_dims(space, dims, NULL) == 1 && dims[0] == (hsize_t)n &&
         H5Dread(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0;
    if (space >= 0)
        H5Sclose(space);
    H5Dclose(d);
    if (!ok)
        return vsim_fail(VSIM_EFORMAT, "%s: '%s' is not an integer vector of %zu entries", path,
                         name, n);
    *found = 1;
    return VSIM_OK;
}

/* `label_names` as a JSON array; absent: VSIM_OK and NULL. */
static int read_label_names(hid_t file, const char *path, char **out)
{
    vsim_buf b = VSIM_BUF_INIT;
    char **names;
    size_t n;
    int rc = vsim_h5_read_strings(file, path, "label_names", &names, &n);

    *out = NULL;
    if (rc == VSIM_ENOTFOUND)
        return VSIM_OK;
    for (size_t i = 0; !rc && i < n; i++) {
        rc = vsim_buf_adds(&b, i ? ", " : "[");
        if (!rc)
            rc = vsim_buf_add_json_str(&b, names[i]);
    }
    if (!rc && n > 0)
        rc = vsim_buf_addch(&b, ']');
    if (!rc && n > 0 && !(*out = vsim_buf_detach(&b, NULL)))
        rc = vsim_fail(VSIM_ENOMEM, "out of memory");
    vsim_h5_strings_free(names, n);
    vsim_buf_release(&b);
    return rc;
}

int vsim_dataset_load(const char *path, vsim_dataset **out)
{
    vsim_dataset *ds;
    hid_t file;
    int rc, found;

    *out = NULL;
    vsim_h5_quiet();
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        return vsim_fail(VSIM_EIO, "%s: cannot open as HDF5", path);
    ds = vsim_calloc(1, sizeof(*ds));
    rc = ds ? read_images(file, path, ds) : vsim_fail(VSIM_ENOMEM, "%s: out of memory", path);
    if (!rc) {
        ds->labels = vsim_calloc(ds->n_designs, sizeof(int32_t));
        ds->design_id = vsim_calloc(ds->n_designs, sizeof(int64_t));
        if (!ds->labels || !ds->design_id)
            rc = vsim_fail(VSIM_ENOMEM, "%s: out of memory", path);
    }
    if (!rc)
        rc = read_ids(file, path, "labels", H5T_NATIVE_INT32, ds->n_designs, ds->labels,
                      &found);
    if (!rc)
        rc = read_ids(file, path, "design_id", H5T_NATIVE_INT64, ds->n_designs, ds->design_id,
                      &found);
    if (!rc && !found)
        for (size_t i = 0; i < ds->n_designs; i++)
            ds->design_id[i] = (int64_t)i;
    if (!rc)
        rc = read_label_names(file, path, &ds->label_names_json);
    H5Fclose(file);
    if (rc) {
        vsim_dataset_destroy(ds);
        return rc;
    }
    *out = ds;
    return VSIM_OK;
}

void vsim_dataset_destroy(vsim_dataset *ds)
{
    if (!ds)
        return;
    vsim_free(ds->images);
    vsim_free(ds->labels);
    vsim_free(ds->design_id);
    vsim_free(ds->label_names_json);
    vsim_free(ds);
}

size_t vsim_dataset_n_examples(const vsim_dataset *ds)
{
    return ds->n_designs * (size_t)ds->n_views;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* 1 if id is in the sorted array ids[0..n). */
static int contains(const int64_t *ids, size_t n, int64_t id)
{
    return bsearch(&id, ids, n, sizeof(int64_t), cmp_i64) != NULL;
}

int vsim_dataset_split(const vsim_dataset *ds, double val_frac, uint64_t seed,
                       size_t **train, size_t *n_train, size_t **val, size_t *n_val)
{
    const size_t n_ex = vsim_dataset_n_examples(ds);
    int64_t *ids = vsim_mallocarray(ds->n_designs, sizeof(int64_t));
    size_t *tr = vsim_mallocarray(n_ex, sizeof(size_t));
    size_t *va = vsim_mallocarray(n_ex ? n_ex : 1, sizeof(size_t));
    size_t n_ids = 0, n_pick = 0, nt = 0, nv = 0;
    vsim_rng rng;

    if (!ids || !tr || !va) {
        vsim_free(ids);
        vsim_free(tr);
        vsim_free(va);
        return vsim_fail(VSIM_ENOMEM, "split: out of memory");
    }
    memcpy(ids, ds->design_id, ds->n_designs * sizeof(int64_t));
    qsort(ids, ds->n_designs, sizeof(int64_t), cmp_i64);
    for (size_t i = 0; i < ds->n_designs; i++)
        if (i == 0 || ids[i] != ids[n_ids - 1])
            ids[n_ids++] = ids[i];
    if (val_frac > 0.0 && n_ids >= 2) {
        n_pick = (size_t)(val_frac * (double)n_ids + 0.5);
        n_pick = n_pick < 1 ? 1 : n_pick > n_ids - 1 ? n_ids - 1 : n_pick;
    }
    /* partial Fisher-Yates: the first n_pick ids become validation designs */
    vsim_rng_seed(&rng, seed, 1);
    for (size_t i = 0; i < n_pick; i++) {
        size_t j = i + (size_t)vsim_rng_below(&rng, n_ids - i);
        int64_t t = ids[i];

        ids[i] = ids[j];
        ids[j] = t;
    }
    qsort(ids, n_pick, sizeof(int64_t), cmp_i64);
    for (size_t d = 0; d < ds->n_designs; d++) {
        int is_val = contains(ids, n_pick, ds->design_id[d]);

        for (int v = 0; v < ds->n_views; v++) {
            size_t ex = d * (size_t)ds->n_views + (size_t)v;

            if (is_val)
                va[nv++] = ex;
            else
                tr[nt++] = ex;
        }
    }
    vsim_free(ids);
    *train = tr;
    *n_train = nt;
    *val = va;
    *n_val = nv;
    return VSIM_OK;
}

void vsim_dataset_batch(const vsim_dataset *ds, const size_t *idx, size_t n, float *out)
{
    const size_t px = (size_t)ds->side * (size_t)ds->side;

    for (size_t i = 0; i < n; i++) {
        const uint8_t *src = ds->images + idx[i] * px;

        for (size_t j = 0; j < px; j++)
            out[i * px + j] = (float)src[j] * (1.0f / 255.0f);
    }
}
