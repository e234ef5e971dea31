/*
 * samples/dataset.h - the image dataset vsim-render produces, in memory and as
 * one HDF5 file: images (uint8, N x V x S x S), labels (int32, N), label_names
 * (strings), design_id (int32, N), params (float64, N x P, NaN where a family has
 * fewer), param_names (strings, L x P), view_dirs (float32, N x V x 3), and
 * optionally files (strings, N) and split (uint8, N: 0 train, 1 test); root
 * attributes vsim_schema = "vsim-samples/1", source, seed, size, views,
 * supersample, view_mode. Layout notes: samples/README.md.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_SAMPLES_DATASET_H
#define VSIM_SAMPLES_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "core/vsim.h"

#define VSIM_DATASET_SCHEMA "vsim-samples/1"

typedef struct vsim_dataset {
    size_t n;               /* designs (rows) */
    int n_views;            /* V */
    int size;               /* S */
    uint8_t *images;        /* n * n_views * size * size */
    int32_t *labels;        /* n, indices into label_names */
    int32_t *design_id;     /* n */
    char **label_names;     /* n_labels strings */
    int n_labels;
    double *params;         /* n * n_params, or NULL */
    int n_params;           /* P */
    char **param_names;     /* n_labels * n_params strings ("" where unused), or NULL */
    float *view_dirs;       /* n * n_views * 3 unit vectors towards the camera, or NULL */
    char **files;           /* n source paths, or NULL */
    uint8_t *split;         /* n: 0 train, 1 test, or NULL */
    uint64_t seed;          /* the --seed that made it */
    int supersample;        /* samples per pixel side, 0 if not rendered */
    const char *source;     /* static: "procedural", "mesh" or "fashion-mnist" */
    const char *view_mode;  /* static: "fixed", "random" or "none" */
} vsim_dataset;

#define VSIM_DATASET_INIT { 0, 0, 0, NULL, NULL, NULL, NULL, 0, NULL, 0, NULL, NULL, NULL, \
                            NULL, 0, 0, NULL, NULL }

/* Allocate the per-row arrays (images, labels, design_id, and view_dirs if views). */
int vsim_dataset_alloc(vsim_dataset *ds, size_t n, int n_views, int size, int with_views);
/* Free everything and re-initialise. */
void vsim_dataset_release(vsim_dataset *ds);

/*
 * Write ds to path atomically (a temporary file in the same folder, renamed
 * over path): on any error nothing is left behind and path is untouched.
 * The bytes depend only on ds (no timestamps). VSIM_EIO, VSIM_ENOMEM.
 */
int vsim_dataset_write(const vsim_dataset *ds, const char *path);

/*
 * Contact sheet: one row per label with up to per_label designs, each showing
 * all its views, as a PNG written atomically. VSIM_EUNSUP in a build without cairo.
 */
int vsim_dataset_sheet(const vsim_dataset *ds, const char *path, int per_label);

/*
 * Fashion-MNIST importer: read the idx files (train-*-idx?-ubyte and t10k-*,
 * gzip-compressed or not) in dir into out (V = 1, S = 28, split 0 = train,
 * 1 = test); at most limit images per split (0 = all). VSIM_ENOTFOUND when the
 * files are absent, VSIM_EFORMAT for a bad header.
 */
int vsim_dataset_fmnist(const char *dir, size_t limit, vsim_dataset *out);

/* Default folder of Debian's dataset-fashion-mnist package. */
#define VSIM_FMNIST_DIR "/usr/share/datasets/fashion-mnist"

#endif
