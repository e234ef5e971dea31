/*
 * samples/dataset.c - the in-memory dataset and its HDF5 file (see
 * samples/dataset.h). Written atomically: a temporary name in the same folder,
 * renamed on success and removed on failure; object timestamps are off so that
 * the same dataset always gives the same bytes.
 * SPDX-License-Identifier: MIT
 */
#include "samples/dataset.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/mem.h"
#include "readers/h5.h"

int vsim_dataset_alloc(vsim_dataset *ds, size_t n, int n_views, int size, int with_views)
{
    size_t img = (size_t)n_views * (size_t)size * (size_t)size;

    ds->n = n;
    ds->n_views = n_views;
    ds->size = size;
    ds->images = vsim_mallocarray(n ? n : 1, img);
    ds->labels = vsim_calloc(n ? n : 1, sizeof(int32_t));
    ds->design_id = vsim_calloc(n ? n : 1, sizeof(int32_t));
    if (with_views)
        ds->view_dirs = vsim_calloc(n ? n : 1, 3 * sizeof(float) * (size_t)n_views);
    if (!ds->images || !ds->labels || !ds->design_id || (with_views && !ds->view_dirs))
        return vsim_fail(VSIM_ENOMEM, "out of memory (%zu images of %d x %d x %d)", n, n_views,
                         size, size);
    return VSIM_OK;
}

void vsim_dataset_release(vsim_dataset *ds)
{
    vsim_dataset z = VSIM_DATASET_INIT;

    vsim_free(ds->images);
    vsim_free(ds->labels);
    vsim_free(ds->design_id);
    vsim_h5_strings_free(ds->label_names, (size_t)ds->n_labels);
    vsim_free(ds->params);
    vsim_h5_strings_free(ds->param_names, (size_t)ds->n_labels * (size_t)ds->n_params);
    vsim_free(ds->view_dirs);
    vsim_h5_strings_free(ds->files, ds->n);
    vsim_free(ds->split);
    *ds = z;
}

/* HDF5 writer state: the file, the path for messages, and the first error. */
typedef struct h5w {
    hid_t file;
    const char *path;
    int rc;
} h5w;

static void write_dset(h5w *w, const char *name, hid_t type, int rank, const hsize_t *dims,
                       const void *data, int compress)
{
    hid_t space = -1, dcpl = -1, dset = -1;
    hsize_t chunk[4];

    if (w->rc)
        return;
    space = H5Screate_simple(rank, dims, NULL);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (space < 0 || dcpl < 0 || H5Pset_obj_track_times(dcpl, 0) < 0)
        goto fail;
    if (compress && dims[0] > 0 && H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) {
        hsize_t row = 1;

        for (int k = 1; k < rank; k++)
            row *= chunk[k] = dims[k];
        chunk[0] = row >= (1u << 20) ? 1 : (1u << 20) / row;
        chunk[0] = chunk[0] > dims[0] ? dims[0] : chunk[0];
        if (H5Pset_chunk(dcpl, rank, chunk) < 0 || H5Pset_deflate(dcpl, 1) < 0)
            goto fail;
    }
    dset = H5Dcreate2(w->file, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (dset < 0 || H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        goto fail;
    goto done;
fail:
    w->rc = vsim_fail(VSIM_EIO, "%s: cannot write dataset '%s'", w->path, name);
done:
    if (dset >= 0)
        H5Dclose(dset);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
}

static hid_t string_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);

    if (t >= 0 && (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

static void write_strings(h5w *w, const char *name, int rank, const hsize_t *dims,
                          char *const *s)
{
    hid_t t;

    if (w->rc)
        return;
    t = string_type();
    if (t < 0) {
        w->rc = vsim_fail(VSIM_EIO, "%s: cannot make a string type", w->path);
        return;
    }
    write_dset(w, name, t, rank, dims, s, 0);
    H5Tclose(t);
}

static void write_attr(h5w *w, const char *name, hid_t type, const void *value)
{
    hid_t space, attr = -1;

    if (w->rc)
        return;
    space = H5Screate(H5S_SCALAR);
    if (space >= 0)
        attr = H5Acreate2(w->file, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0 || H5Awrite(attr, type, value) < 0)
        w->rc = vsim_fail(VSIM_EIO, "%s: cannot write attribute '%s'", w->path, name);
    if (attr >= 0)
        H5Aclose(attr);
    if (space >= 0)
        H5Sclose(space);
}

static void write_str_attr(h5w *w, const char *name, const char *value)
{
    hid_t t = string_type();

    if (t < 0 && !w->rc)
        w->rc = vsim_fail(VSIM_EIO, "%s: cannot make a string type", w->path);
    if (t >= 0) {
        write_attr(w, name, t, &value);
        H5Tclose(t);
    }
}

static void write_all(h5w *w, const vsim_dataset *ds)
{
    hsize_t d[4] = { ds->n, (hsize_t)ds->n_views, (hsize_t)ds->size, (hsize_t)ds->size };
    hsize_t nl = (hsize_t)ds->n_labels, pn[2] = { ds->n, (hsize_t)ds->n_params };
    hsize_t vd[3] = { ds->n, (hsize_t)ds->n_views, 3 };
    hsize_t pnames[2] = { nl, (hsize_t)ds->n_params };
    int32_t s32[3] = { ds->size, ds->n_views, ds->supersample };

    write_dset(w, "images", H5T_NATIVE_UINT8, 4, d, ds->images, 1);
    write_dset(w, "labels", H5T_NATIVE_INT32, 1, d, ds->labels, 0);
    write_strings(w, "label_names", 1, &nl, ds->label_names);
    write_dset(w, "design_id", H5T_NATIVE_INT32, 1, d, ds->design_id, 0);
    if (ds->params && ds->n_params > 0) {
        write_dset(w, "params", H5T_NATIVE_DOUBLE, 2, pn, ds->params, 0);
        write_strings(w, "param_names", 2, pnames, ds->param_names);
    }
    if (ds->view_dirs)
        write_dset(w, "view_dirs", H5T_NATIVE_FLOAT, 3, vd, ds->view_dirs, 0);
    if (ds->files)
        write_strings(w, "files", 1, d, ds->files);
    if (ds->split)
        write_dset(w, "split", H5T_NATIVE_UINT8, 1, d, ds->split, 0);
    write_str_attr(w, "vsim_schema", VSIM_DATASET_SCHEMA);
    write_str_attr(w, "generator", "vsim-render " VSIM_VERSION);
    write_str_attr(w, "source", ds->source ? ds->source : "unknown");
    write_str_attr(w, "view_mode", ds->view_mode ? ds->view_mode : "none");
    write_attr(w, "seed", H5T_NATIVE_UINT64, &ds->seed);
    write_attr(w, "size", H5T_NATIVE_INT32, &s32[0]);
    write_attr(w, "views", H5T_NATIVE_INT32, &s32[1]);
    write_attr(w, "supersample", H5T_NATIVE_INT32, &s32[2]);
}

int vsim_dataset_write(const vsim_dataset *ds, const char *path)
{
    vsim_buf tmp = VSIM_BUF_INIT;
    H5E_auto2_t old_fn;
    void *old_ctx;
    h5w w = { -1, path, VSIM_OK };
    hid_t fcpl;

    if (vsim_buf_addf(&tmp, "%s.tmp.%ld", path, (long)getpid()))
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    H5Eget_auto2(H5E_DEFAULT, &old_fn, &old_ctx);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    fcpl = H5Pcreate(H5P_FILE_CREATE);
    if (fcpl >= 0)
        H5Pset_obj_track_times(fcpl, 0);
    w.file = H5Fcreate(tmp.buf, H5F_ACC_TRUNC, fcpl >= 0 ? fcpl : H5P_DEFAULT, H5P_DEFAULT);
    if (fcpl >= 0)
        H5Pclose(fcpl);
    if (w.file < 0)
        w.rc = vsim_fail(VSIM_EIO, "%s: cannot create the file (temporary %s)", path, tmp.buf);
    else
        write_all(&w, ds);
    if (w.file >= 0 && H5Fclose(w.file) < 0 && !w.rc)
        w.rc = vsim_fail(VSIM_EIO, "%s: cannot close the file", path);
    if (!w.rc && rename(tmp.buf, path) != 0)
        w.rc = vsim_fail(VSIM_EIO, "%s: cannot rename %s into place", path, tmp.buf);
    if (w.rc)
        unlink(tmp.buf);
    H5Eset_auto2(H5E_DEFAULT, old_fn, old_ctx);
    vsim_buf_release(&tmp);
    return w.rc;
}
