/*
 * core/tensor.c - dtype table and tensor-view helpers.
 * SPDX-License-Identifier: MIT
 */
#include "core/tensor.h"

#include <string.h>

#include "core/vsim.h"

static const struct {
    const char *name;
    size_t size;
} dtypes[VSIM_N_DTYPES] = {
    [VSIM_DTYPE_INVALID] = { "invalid", 0 },
    [VSIM_F32] = { "float32", 4 },
    [VSIM_F64] = { "float64", 8 },
    [VSIM_I32] = { "int32", 4 },
    [VSIM_I64] = { "int64", 8 },
    [VSIM_U8] = { "uint8", 1 },
};

size_t vsim_dtype_size(vsim_dtype t)
{
    return (t > 0 && t < VSIM_N_DTYPES) ? dtypes[t].size : 0;
}

const char *vsim_dtype_name(vsim_dtype t)
{
    return (t > 0 && t < VSIM_N_DTYPES) ? dtypes[t].name : "invalid";
}

vsim_dtype vsim_dtype_parse(const char *name)
{
    for (int t = 1; t < VSIM_N_DTYPES; t++)
        if (!strcmp(name, dtypes[t].name))
            return (vsim_dtype)t;
    return VSIM_DTYPE_INVALID;
}

void vsim_tensor_init(vsim_tensor *t, vsim_dtype dtype, int ndim, const size_t *shape,
                      void *data)
{
    ptrdiff_t s = 1;

    VSIM_ASSERT(ndim >= 0 && ndim <= VSIM_MAX_DIMS);
    memset(t, 0, sizeof(*t));
    t->dtype = dtype;
    t->ndim = ndim;
    t->data = data;
    for (int i = ndim - 1; i >= 0; i--) {
        t->shape[i] = shape[i];
        t->stride[i] = s;
        s *= (ptrdiff_t)(shape[i] ? shape[i] : 1);
    }
}

size_t vsim_tensor_n_elems(const vsim_tensor *t)
{
    size_t n = 1;

    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

int vsim_tensor_is_contiguous(const vsim_tensor *t)
{
    ptrdiff_t s = 1;

    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] > 1 && t->stride[i] != s)
            return 0;
        s *= (ptrdiff_t)(t->shape[i] ? t->shape[i] : 1);
    }
    return 1;
}

static ptrdiff_t offset_of(const vsim_tensor *t, size_t i)
{
    ptrdiff_t off = 0;

    for (int d = t->ndim - 1; d >= 0; d--) {
        size_t n = t->shape[d];

        off += (ptrdiff_t)(i % n) * t->stride[d];
        i /= n;
    }
    return off;
}

double vsim_tensor_get(const vsim_tensor *t, size_t i)
{
    return vsim_tensor_load(t, (size_t)offset_of(t, i));
}
