/*
 * trainer/data.h - the image dataset vsim-render writes (issue 3): `images`
 * (uint8, N x V x S x S), `labels` (int32, N), `design_id` (N); training
 * examples are single views (N * V of them), the validation split is by design.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_TRAINER_DATA_H
#define VSIM_TRAINER_DATA_H

#include <stddef.h>
#include <stdint.h>

typedef struct vsim_dataset {
    size_t n_designs;     /* N */
    int n_views;          /* V */
    int side;             /* S */
    uint8_t *images;      /* N * V * S * S */
    int32_t *labels;      /* N; zeros when the file has no labels */
    int64_t *design_id;   /* N; 0..N-1 when the file has no design_id */
    char *label_names_json;  /* JSON array of `label_names`, or NULL when the file has none */
} vsim_dataset;

/*
 * Load path. `images` may also be N x S x S (V = 1). VSIM_EIO if the file
 * cannot be opened, VSIM_EFORMAT naming the file and dataset when `images`
 * is missing, not uint8, of the wrong rank or not square, or `labels` /
 * `design_id` do not have N entries; VSIM_ENOMEM.
 */
int vsim_dataset_load(const char *path, vsim_dataset **out);
void vsim_dataset_destroy(vsim_dataset *ds);

/* Number of examples (N * V). */
size_t vsim_dataset_n_examples(const vsim_dataset *ds);

/*
 * Split the examples by design: about val_frac of the distinct design ids
 * (at least one when val_frac > 0 and there are two or more) go to
 * validation, drawn with vsim_rng (seed, stream 1). OUT: train and validation
 * example indices (caller frees with vsim_free) and their counts.
 */
int vsim_dataset_split(const vsim_dataset *ds, double val_frac, uint64_t seed,
                       size_t **train, size_t *n_train, size_t **val, size_t *n_val);

/* Examples idx[0..n) as floats in [0, 1], [n][S][S], into out. */
void vsim_dataset_batch(const vsim_dataset *ds, const size_t *idx, size_t n, float *out);

#endif
