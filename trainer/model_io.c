/*
 * trainer/model_io.c - model files: HDF5 with the spec text as a root
 * attribute and one float32 dataset per weight and bias, in PyTorch's layouts,
 * so that h5py and PyTorch scripts can read them. Written atomically.
 * SPDX-License-Identifier: MIT
 */
#include <hdf5.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/vsim.h"
#include "readers/h5.h"
#include "trainer/model.h"
#include "trainer/model_h5.h"

/* Dataset shape of a layer's weight (rank returned) or bias (rank 1). */
static int param_shape(const vsim_model_layer *l, int bias, hsize_t *dims)
{
    size_t shape[4];
    int rank;

    if (bias) {
        dims[0] = (hsize_t)l->n_out;
        return 1;
    }
    rank = vsim_model_weight_shape(l, shape);
    for (int i = 0; i < rank; i++)
        dims[i] = (hsize_t)shape[i];
    return rank;
}

static int write_str_attr(hid_t obj, const char *name, const char *value)
{
    hid_t type = H5Tcopy(H5T_C_S1), space = H5Screate(H5S_SCALAR), attr = -1;
    int ok = 0;

    if (type >= 0 && space >= 0 && H5Tset_size(type, strlen(value) + 1) >= 0) {
        attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
        ok = attr >= 0 && H5Awrite(attr, type, value) >= 0;
    }
    if (attr >= 0)
        H5Aclose(attr);
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    return ok ? 0 : -1;
}

int vsim_model_h5_write(hid_t file, const vsim_model *m)
{
    hid_t lcpl = vsim_h5_lcpl_intermediate();
    int ok = lcpl >= 0;

    for (int i = 0; ok && i < m->n_layers; i++) {
        for (int bias = 0; ok && bias < 2; bias++) {
            const vsim_model_layer *l = &m->layers[i];
            hsize_t dims[4];
            int rank = param_shape(l, bias, dims);
            char name[64];
            hid_t space = H5Screate_simple(rank, dims, NULL), ds = -1;

            snprintf(name, sizeof(name), "params/%s/%s", l->name, bias ? "bias" : "weight");
            if (space >= 0)
                ds = H5Dcreate2(file, name, H5T_IEEE_F32LE, space, lcpl, H5P_DEFAULT,
                                H5P_DEFAULT);
            ok = ds >= 0 && H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                     m->params + (bias ? l->b_off : l->w_off)) >= 0;
            if (ds >= 0)
                H5Dclose(ds);
            if (space >= 0)
                H5Sclose(space);
        }
    }
    if (lcpl >= 0)
        H5Pclose(lcpl);
    return ok ? 0 : -1;
}

int vsim_model_save(const vsim_model *m, const char *path)
{
    vsim_buf tmp = VSIM_BUF_INIT, spec = VSIM_BUF_INIT;
    hid_t file = -1;
    int rc = VSIM_ENOMEM;

    if (vsim_buf_addf(&tmp, "%s.tmp", path) || vsim_model_spec_format(&m->spec, &spec))
        goto done;
    vsim_h5_quiet();
    file = H5Fcreate(tmp.buf, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0 || write_str_attr(file, "vsim_schema", VSIM_MODEL_SCHEMA) ||
        write_str_attr(file, "model_spec", spec.buf) || vsim_model_h5_write(file, m)) {
        rc = vsim_fail(VSIM_EIO, "%s: cannot write the model file", tmp.buf);
        goto done;
    }
    if (H5Fclose(file) < 0) {
        file = -1;
        rc = vsim_fail(VSIM_EIO, "%s: cannot close the model file", tmp.buf);
        goto done;
    }
    file = -1;
    rc = vsim_fs_fsync_path(tmp.buf);
    if (!rc && rename(tmp.buf, path) != 0)
        rc = vsim_fail(VSIM_EIO, "%s: cannot rename to %s", tmp.buf, path);
done:
    if (file >= 0) {
        H5Fclose(file);
        remove(tmp.buf);
    } else if (rc) {
        remove(tmp.buf);
    }
    if (rc == VSIM_ENOMEM)
        vsim_fail(rc, "%s: out of memory", path);
    vsim_buf_release(&tmp);
    vsim_buf_release(&spec);
    return rc;
}

static int read_spec(hid_t file, const char *path, char *out, size_t n_out)
{
    hid_t attr, type = -1, mem = -1;
    size_t len;
    int ok = 0;

    if (H5Aexists(file, "model_spec") <= 0)
        return vsim_fail(VSIM_EFORMAT, "%s: not a vsim model (no model_spec attribute)", path);
    attr = H5Aopen(file, "model_spec", H5P_DEFAULT);
    if (attr >= 0)
        type = H5Aget_type(attr);
    if (type >= 0 && H5Tget_class(type) == H5T_STRING && !H5Tis_variable_str(type) &&
        (len = H5Tget_size(type)) < n_out) {
        mem = H5Tcopy(H5T_C_S1);
        ok = mem >= 0 && H5Tset_size(mem, len + 1) >= 0 && H5Aread(attr, mem, out) >= 0;
    }
    if (mem >= 0)
        H5Tclose(mem);
    if (type >= 0)
        H5Tclose(type);
    if (attr >= 0)
        H5Aclose(attr);
    return ok ? VSIM_OK : vsim_fail(VSIM_EFORMAT, "%s: unreadable model_spec attribute", path);
}

int vsim_model_h5_read(hid_t file, const char *path, vsim_model *m)
{
    for (int i = 0; i < m->n_layers; i++) {
        for (int bias = 0; bias < 2; bias++) {
            const vsim_model_layer *l = &m->layers[i];
            hsize_t want[4], got[4];
            int rank = param_shape(l, bias, want), ok = 0;
            char name[64];
            hid_t ds, space = -1;

            snprintf(name, sizeof(name), "params/%s/%s", l->name, bias ? "bias" : "weight");
            ds = H5Lexists(file, "params", H5P_DEFAULT) > 0 ? H5Dopen2(file, name, H5P_DEFAULT)
                                                            : -1;
            if (ds >= 0)
                space = H5Dget_space(ds);
            if (space >= 0 && H5Sget_simple_extent_ndims(space) == rank &&
                H5Sget_simple_extent_dims(space, got, NULL) == rank &&
                !memcmp(got, want, (size_t)rank * sizeof(hsize_t)))
                ok = H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                             m->params + (bias ? l->b_off : l->w_off)) >= 0;
            if (space >= 0)
                H5Sclose(space);
            if (ds >= 0)
                H5Dclose(ds);
            if (!ok)
                return vsim_fail(VSIM_EFORMAT, "%s: dataset '/%s' is missing or has the "
                                 "wrong shape", path, name);
        }
    }
    return VSIM_OK;
}

int vsim_model_load(const char *path, int capacity, int n_threads, vsim_model **out)
{
    vsim_model_spec spec;
    vsim_model *m = NULL;
    char text[512];
    hid_t file;
    int rc;

    *out = NULL;
    vsim_h5_quiet();
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        return vsim_fail(VSIM_EIO, "%s: cannot open as HDF5", path);
    rc = read_spec(file, path, text, sizeof(text));
    if (!rc && (rc = vsim_model_spec_parse(text, &spec)) != VSIM_OK)
        vsim_errctx("%s", path);
    if (!rc)
        rc = vsim_model_create(&spec, capacity, 0, n_threads, &m);
    if (!rc)
        rc = vsim_model_h5_read(file, path, m);
    H5Fclose(file);
    if (rc) {
        vsim_model_destroy(m);
        return rc;
    }
    *out = m;
    return VSIM_OK;
}
