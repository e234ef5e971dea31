/*
 * readers/h5.h - thin helpers over the HDF5 C API used by the shard writer,
 * the trial reader and other writers of HDF5 files (samples, trainer):
 * dtype mapping, attributes, intermediate groups. Errors become VSIM_EIO or
 * VSIM_EFORMAT naming the file and object; HDF5's own printing is switched off.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_READERS_H5_H
#define VSIM_READERS_H5_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/tensor.h"

/* Switch off HDF5's automatic error printing (idempotent). */
void vsim_h5_quiet(void);

/* Native HDF5 type for a dtype (not to be closed), or H5I_INVALID_HID. */
hid_t vsim_h5_native(vsim_dtype t);
/* The vsim dtype of an HDF5 datatype, VSIM_DTYPE_INVALID if unsupported. */
vsim_dtype vsim_h5_dtype_of(hid_t type);
/* Human-readable description of an HDF5 datatype ("float16", "string", ...), into out. */
int vsim_h5_describe_type(hid_t type, vsim_buf *out);

/* Attributes on an object (file root: the file id). */
int vsim_h5_attr_set_i64(hid_t obj, const char *name, int64_t v);
int vsim_h5_attr_set_f64(hid_t obj, const char *name, double v);
int vsim_h5_attr_set_str(hid_t obj, const char *name, const char *v);
int vsim_h5_attr_set_i64s(hid_t obj, const char *name, const int64_t *v, size_t n);
/* Variable-length UTF-8 string array attribute (h5py reads it as a list of str). */
int vsim_h5_attr_set_strs(hid_t obj, const char *name, const char *const *v, size_t n);

/* Readers return VSIM_ENOTFOUND if absent, VSIM_EFORMAT if of the wrong kind. */
int vsim_h5_attr_get_i64(hid_t obj, const char *name, int64_t *out);
int vsim_h5_attr_get_f64(hid_t obj, const char *name, double *out);
/* Fixed or variable-length string attribute, appended to out. */
int vsim_h5_attr_get_str(hid_t obj, const char *name, vsim_buf *out);

/*
 * Read the string dataset name of loc (any rank; variable or fixed length,
 * ASCII or UTF-8) into *out: a NULL-terminated array of *n_out strings, all
 * vsim_malloc'ed (free with vsim_h5_strings_free). VSIM_ENOTFOUND if absent,
 * VSIM_EFORMAT if it holds no strings; messages name file.
 */
int vsim_h5_read_strings(hid_t loc, const char *file, const char *name, char ***out,
                         size_t *n_out);
void vsim_h5_strings_free(char **v, size_t n);

/* A link-creation property list that creates intermediate groups (close with H5Pclose). */
hid_t vsim_h5_lcpl_intermediate(void);

#endif
