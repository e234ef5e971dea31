/*
 * core/tensor.h - plain tensor views (ggml's ne/nb idea): a dtype, a shape and
 * element strides over memory the view does not own.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_CORE_TENSOR_H
#define VSIM_CORE_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "core/vsim.h"

#define VSIM_MAX_DIMS 8

typedef enum vsim_dtype {
    VSIM_DTYPE_INVALID = 0,
    VSIM_F32,
    VSIM_F64,
    VSIM_I32,
    VSIM_I64,
    VSIM_U8,
    VSIM_N_DTYPES
} vsim_dtype;

typedef struct vsim_tensor {
    vsim_dtype dtype;
    int ndim;                        /* 0 (scalar) .. VSIM_MAX_DIMS */
    size_t shape[VSIM_MAX_DIMS];     /* elements per dimension */
    ptrdiff_t stride[VSIM_MAX_DIMS]; /* in elements; row-major contiguous if made by _init */
    void *data;                      /* borrowed */
} vsim_tensor;

/* Bytes per element, 0 for VSIM_DTYPE_INVALID. */
size_t vsim_dtype_size(vsim_dtype t);
/* "float32", "float64", "int32", "int64", "uint8" (numpy's names). */
const char *vsim_dtype_name(vsim_dtype t);
/* Inverse of vsim_dtype_name; VSIM_DTYPE_INVALID if unknown. */
vsim_dtype vsim_dtype_parse(const char *name);

/* Fill a contiguous row-major view. ndim <= VSIM_MAX_DIMS. */
void vsim_tensor_init(vsim_tensor *t, vsim_dtype dtype, int ndim, const size_t *shape,
                      void *data);
/* Number of elements (1 for a scalar; 0 when a dimension is 0). */
size_t vsim_tensor_n_elems(const vsim_tensor *t);
/* 1 if the view is row-major contiguous. */
int vsim_tensor_is_contiguous(const vsim_tensor *t);
/* Element i (row-major order) converted to double. */
double vsim_tensor_get(const vsim_tensor *t, size_t i);

/* Element at flat memory index i of t's data converted to double: element i of
 * a contiguous view, without vsim_tensor_get's stride arithmetic. */
static inline double vsim_tensor_load(const vsim_tensor *t, size_t i)
{
    switch (t->dtype) {
    case VSIM_F32: return (double)((const float *)t->data)[i];
    case VSIM_F64: return ((const double *)t->data)[i];
    case VSIM_I32: return (double)((const int32_t *)t->data)[i];
    case VSIM_I64: return (double)((const int64_t *)t->data)[i];
    case VSIM_U8: return (double)((const uint8_t *)t->data)[i];
    default: VSIM_ASSERT(!"bad dtype"); return 0.0;
    }
}

#endif
