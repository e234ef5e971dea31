/*
 * readers/h5util.c - HDF5 helpers (see readers/h5.h).
 * SPDX-License-Identifier: MIT
 */
#include "readers/h5.h"

#include <string.h>

#include "core/mem.h"
#include "core/vsim.h"

void vsim_h5_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

hid_t vsim_h5_native(vsim_dtype t)
{
    switch (t) {
    case VSIM_F32: return H5T_NATIVE_FLOAT;
    case VSIM_F64: return H5T_NATIVE_DOUBLE;
    case VSIM_I32: return H5T_NATIVE_INT32;
    case VSIM_I64: return H5T_NATIVE_INT64;
    case VSIM_U8: return H5T_NATIVE_UINT8;
    default: return H5I_INVALID_HID;
    }
}

vsim_dtype vsim_h5_dtype_of(hid_t type)
{
    H5T_class_t cls = H5Tget_class(type);
    size_t size = H5Tget_size(type);

    if (cls == H5T_FLOAT) {
        if (size == 4 && H5Tget_precision(type) == 32)
            return VSIM_F32;
        if (size == 8 && H5Tget_precision(type) == 64)
            return VSIM_F64;
        return VSIM_DTYPE_INVALID;
    }
    if (cls == H5T_INTEGER) {
        H5T_sign_t sign = H5Tget_sign(type);

        if (sign == H5T_SGN_2 && size == 4)
            return VSIM_I32;
        if (sign == H5T_SGN_2 && size == 8)
            return VSIM_I64;
        if (sign == H5T_SGN_NONE && size == 1)
            return VSIM_U8;
    }
    return VSIM_DTYPE_INVALID;
}

int vsim_h5_describe_type(hid_t type, vsim_buf *out)
{
    H5T_class_t cls = H5Tget_class(type);
    size_t bits = H5Tget_size(type) * 8;

    switch (cls) {
    case H5T_FLOAT: return vsim_buf_addf(out, "float%zu", bits);
    case H5T_INTEGER:
        return vsim_buf_addf(out, "%sint%zu", H5Tget_sign(type) == H5T_SGN_NONE ? "u" : "",
                             bits);
    case H5T_STRING: return vsim_buf_adds(out, "string");
    case H5T_COMPOUND: return vsim_buf_adds(out, "compound");
    default: return vsim_buf_adds(out, "unsupported type");
    }
}

static int attr_write(hid_t obj, const char *name, hid_t type, hid_t space, const void *data)
{
    hid_t a;
    herr_t e;

    if (H5Aexists(obj, name) > 0)
        H5Adelete(obj, name);
    a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0)
        return vsim_fail(VSIM_EIO, "cannot create attribute '%s'", name);
    e = H5Awrite(a, type, data);
    H5Aclose(a);
    if (e < 0)
        return vsim_fail(VSIM_EIO, "cannot write attribute '%s'", name);
    return VSIM_OK;
}

static int attr_scalar(hid_t obj, const char *name, hid_t type, const void *v)
{
    hid_t space = H5Screate(H5S_SCALAR);
    int rc = attr_write(obj, name, type, space, v);

    H5Sclose(space);
    return rc;
}

int vsim_h5_attr_set_i64(hid_t obj, const char *name, int64_t v)
{
    return attr_scalar(obj, name, H5T_NATIVE_INT64, &v);
}

int vsim_h5_attr_set_f64(hid_t obj, const char *name, double v)
{
    return attr_scalar(obj, name, H5T_NATIVE_DOUBLE, &v);
}

static hid_t vlen_str_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);

    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

int vsim_h5_attr_set_str(hid_t obj, const char *name, const char *v)
{
    hid_t t = vlen_str_type();
    int rc = attr_scalar(obj, name, t, &v);

    H5Tclose(t);
    return rc;
}

int vsim_h5_attr_set_i64s(hid_t obj, const char *name, const int64_t *v, size_t n)
{
    hsize_t dim = n;
    hid_t space = H5Screate_simple(1, &dim, NULL);
    int rc = attr_write(obj, name, H5T_NATIVE_INT64, space, v);

    H5Sclose(space);
    return rc;
}

int vsim_h5_attr_set_strs(hid_t obj, const char *name, const char *const *v, size_t n)
{
    hsize_t dim = n;
    hid_t space = H5Screate_simple(1, &dim, NULL);
    hid_t t = vlen_str_type();
    int rc = attr_write(obj, name, t, space, v);

    H5Tclose(t);
    H5Sclose(space);
    return rc;
}

static hid_t attr_open(hid_t obj, const char *name, int *rc)
{
    hid_t a;

    if (H5Aexists(obj, name) <= 0) {
        *rc = vsim_fail(VSIM_ENOTFOUND, "attribute '%s' missing", name);
        return H5I_INVALID_HID;
    }
    a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0)
        *rc = vsim_fail(VSIM_EFORMAT, "attribute '%s' unreadable", name);
    return a;
}

static int attr_get_num(hid_t obj, const char *name, hid_t memtype, H5T_class_t want,
                        void *out)
{
    int rc = VSIM_OK;
    hid_t a = attr_open(obj, name, &rc);
    hid_t t, s;

    if (a < 0)
        return rc;
    t = H5Aget_type(a);
    s = H5Aget_space(a);
    if ((H5Tget_class(t) != H5T_INTEGER && H5Tget_class(t) != H5T_FLOAT) ||
        H5Sget_simple_extent_npoints(s) != 1)
        rc = vsim_fail(VSIM_EFORMAT, "attribute '%s' is not a %s scalar", name,
                       want == H5T_INTEGER ? "integer" : "number");
    else if (H5Aread(a, memtype, out) < 0)
        rc = vsim_fail(VSIM_EFORMAT, "attribute '%s' unreadable", name);
    H5Sclose(s);
    H5Tclose(t);
    H5Aclose(a);
    return rc;
}

int vsim_h5_attr_get_i64(hid_t obj, const char *name, int64_t *out)
{
    return attr_get_num(obj, name, H5T_NATIVE_INT64, H5T_INTEGER, out);
}

int vsim_h5_attr_get_f64(hid_t obj, const char *name, double *out)
{
    return attr_get_num(obj, name, H5T_NATIVE_DOUBLE, H5T_FLOAT, out);
}

int vsim_h5_attr_get_str(hid_t obj, const char *name, vsim_buf *out)
{
    int rc = VSIM_OK;
    hid_t a = attr_open(obj, name, &rc);
    hid_t t, s, mt = H5I_INVALID_HID;

    if (a < 0)
        return rc;
    t = H5Aget_type(a);
    s = H5Aget_space(a);
    if (H5Tget_class(t) != H5T_STRING || H5Sget_simple_extent_npoints(s) != 1) {
        rc = vsim_fail(VSIM_EFORMAT, "attribute '%s' is not a string", name);
    } else if (H5Tis_variable_str(t) > 0) {
        char *v = NULL;

        mt = vlen_str_type();
        if (H5Aread(a, mt, &v) < 0 || !v)
            rc = vsim_fail(VSIM_EFORMAT, "attribute '%s' unreadable", name);
        else
            rc = vsim_buf_adds(out, v);
        if (v)
            H5free_memory(v);
    } else {
        size_t n = H5Tget_size(t);
        char *v = vsim_malloc(n + 1);

        mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, n + 1);
        if (!v)
            rc = vsim_fail(VSIM_ENOMEM, "out of memory");
        else if (H5Aread(a, mt, v) < 0)
            rc = vsim_fail(VSIM_EFORMAT, "attribute '%s' unreadable", name);
        else
            rc = vsim_buf_add(out, v, strnlen(v, n));
        vsim_free(v);
    }
    if (mt >= 0)
        H5Tclose(mt);
    H5Sclose(s);
    H5Tclose(t);
    H5Aclose(a);
    return rc;
}

hid_t vsim_h5_lcpl_intermediate(void)
{
    hid_t p = H5Pcreate(H5P_LINK_CREATE);

    H5Pset_create_intermediate_group(p, 1);
    H5Pset_char_encoding(p, H5T_CSET_UTF8);
    return p;
}

void vsim_h5_strings_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        vsim_free(v[i]);
    vsim_free(v);
}

/* Copy n strings out of HDF5's read buffer (vlen: char *[n]; fixed: n x width bytes). */
static int copy_strings(const void *raw, int vlen, size_t width, size_t n, char **out)
{
    for (size_t i = 0; i < n; i++) {
        const char *s = vlen ? ((char *const *)raw)[i] : (const char *)raw + i * width;

        out[i] = vlen ? vsim_strdup(s ? s : "") : vsim_strndup(s, width);
        if (!out[i])
            return vsim_fail(VSIM_ENOMEM, "out of memory");
    }
    return VSIM_OK;
}

int vsim_h5_read_strings(hid_t loc, const char *file, const char *name, char ***out,
                         size_t *n_out)
{
    hid_t d, type = H5I_INVALID_HID, space = H5I_INVALID_HID, mt = H5I_INVALID_HID;
    hssize_t n = -1;
    char **v = NULL;
    void *raw = NULL;
    int vlen = 0, rc = VSIM_OK;
    size_t width = 0;

    *out = NULL;
    *n_out = 0;
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0)
        return vsim_fail(VSIM_ENOTFOUND, "%s: no dataset '%s'", file, name);
    d = H5Dopen2(loc, name, H5P_DEFAULT);
    if (d >= 0) {
        type = H5Dget_type(d);
        space = H5Dget_space(d);
        n = H5Sget_simple_extent_npoints(space);
    }
    if (d < 0 || n < 0 || H5Tget_class(type) != H5T_STRING) {
        rc = vsim_fail(VSIM_EFORMAT, "%s: '%s' is not a dataset of strings", file, name);
        goto done;
    }
    vlen = H5Tis_variable_str(type) > 0;
    width = vlen ? sizeof(char *) : H5Tget_size(type);
    mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, vlen ? H5T_VARIABLE : width);
    H5Tset_cset(mt, H5Tget_cset(type));   /* no conversion: h5py writes UTF-8 */
    raw = vsim_calloc((size_t)n ? (size_t)n : 1, width);
    v = vsim_calloc((size_t)n + 1, sizeof(*v));
    if (!raw || !v)
        rc = vsim_fail(VSIM_ENOMEM, "out of memory reading '%s'", name);
    else if (n && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0)
        rc = vsim_fail(VSIM_EFORMAT, "%s: cannot read '%s'", file, name);
    else
        rc = copy_strings(raw, vlen, width, (size_t)n, v);
    if (raw && vlen && n)   /* NULL entries of a failed read are skipped */
        H5Dvlen_reclaim(mt, space, H5P_DEFAULT, raw);
done:
    if (rc) {
        vsim_h5_strings_free(v, (size_t)(n > 0 ? n : 0));
    } else {
        *out = v;
        *n_out = (size_t)n;
    }
    vsim_free(raw);
    if (mt >= 0)
        H5Tclose(mt);
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    if (d >= 0)
        H5Dclose(d);
    return rc;
}
