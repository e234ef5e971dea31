/*
 * analyze/tsne_io.h - loading t-SNE inputs and writing layouts for vsim-tsne
 * (issue 7): a tensor of a training run, an HDF5 dataset ("file.h5:/path"),
 * CSV, raw float32; labels from a run, an HDF5 dataset or a text file; the
 * layout as CSV or HDF5. Not thread-safe across calls on one file.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_ANALYZE_TSNE_IO_H
#define VSIM_ANALYZE_TSNE_IO_H

#include <stddef.h>
#include <stdint.h>

#include "core/vsim.h"

/* A loaded matrix with optional labels and ids; release with vsim_tsne_data_release. */
typedef struct vsim_tsne_data {
    float *x;               /* n x dim, row-major */
    size_t n, dim;
    int32_t *labels;        /* n labels in 0..n_labels-1, or NULL */
    char **label_names;     /* n_labels names (text labels file), or NULL */
    size_t n_labels;
    int64_t *ids;           /* n design ids, or NULL */
    int64_t step;           /* the run step read, -1 otherwise */
} vsim_tsne_data;

#define VSIM_TSNE_DATA_INIT { NULL, 0, 0, NULL, NULL, 0, NULL, -1 }

void vsim_tsne_data_release(vsim_tsne_data *d);

/*
 * Load spec: "FILE.h5:/path" (an HDF5 dataset of rank 2, any numeric type),
 * a ".csv"/".tsv"/".txt" file (one row per line, comma/tab/space separated; a
 * first line that is not numeric is skipped as a header), or raw float32 with
 * raw_dims columns (raw_dims 0: error). VSIM_EIO, VSIM_EFORMAT naming the file.
 */
int vsim_tsne_load_matrix(const char *spec, size_t raw_dims, vsim_tsne_data *out);

/*
 * Load tensor from run dir at step (< 0: the last step it was saved at),
 * worker 0; labels_tensor and ids_tensor (may be NULL) from the same step when
 * the run has them (missing ones are left NULL).
 */
int vsim_tsne_load_run(const char *dir, const char *tensor, int64_t step,
                       const char *labels_tensor, const char *ids_tensor, vsim_tsne_data *out);

/*
 * Labels for d->n points from spec ("FILE.h5:/path" integer dataset, or a text
 * file with one label per line: integers, or names numbered in sorted order).
 * Replaces d->labels. VSIM_EINVAL if the count differs from d->n (naming both).
 */
int vsim_tsne_load_labels(const char *spec, vsim_tsne_data *d);

/*
 * Write layout y (n x dims) to path: ".h5" (datasets /coords, /labels, /ids)
 * or CSV (header x,y[,z][,label][,id]). labels/ids may be NULL. Atomic
 * (temporary name, rename). VSIM_EIO naming the path.
 */
int vsim_tsne_write_layout(const char *path, const double *y, size_t n, int dims,
                           const vsim_tsne_data *d);

#endif
