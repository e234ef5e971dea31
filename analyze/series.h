/*
 * analyze/series.h - the data behind vsim-plot's charts, read into plain
 * arrays (plot/ never sees reader handles): scatter points from a CSV file,
 * an HDF5 dataset or a run's embeddings; the tensors of a collection at one
 * step; a statistic or TensorBoard's percentile bands of each tensor over
 * steps (through analyze/stats_run.h); the images collection. Issue 6.
 * Every result is a caller-owned value type: *_INIT, then *_release.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_ANALYZE_SERIES_H
#define VSIM_ANALYZE_SERIES_H

#include <stddef.h>
#include <stdint.h>

#include "core/tensor.h"
#include "core/vsim.h"

/* Points with optional class labels; label_names[k] names class k. */
typedef struct vsim_series_points {
    double *x, *y;
    size_t n;
    int32_t *labels;           /* n entries in 0..n_labels-1, or NULL */
    char **label_names;        /* n_labels names */
    size_t n_labels;
} vsim_series_points;

#define VSIM_SERIES_POINTS_INIT { NULL, NULL, 0, NULL, NULL, 0 }

void vsim_series_points_release(vsim_series_points *p);

/*
 * Read points from spec: "FILE.csv" (a header line; xcol/ycol name columns,
 * NULL: the first two numeric columns; labelcol names the class column, NULL:
 * a column called "label" if there is one) or "FILE.h5:/DATASET" (rows of an
 * N x >= 2 dataset; xcol/ycol are column numbers, default 0 and 1; labelcol
 * names a 1-D integer dataset of the same file). Unparsable numbers become NaN.
 * Class names are sorted (numerically when all are numbers). VSIM_ENOTFOUND for
 * a missing file or column, VSIM_EFORMAT for a file without data rows.
 */
int vsim_series_read_points(const char *spec, const char *xcol, const char *ycol,
                            const char *labelcol, vsim_series_points *out);

/*
 * The first two columns of tensor (default "embeddings/latent") of run dir at
 * step (-1: the last step holding it), labelled by labels_tensor (default
 * "embeddings/labels"; absent: unlabelled). *out_step (may be NULL) gets the step.
 */
int vsim_series_run_points(const char *dir, int64_t step, const char *tensor,
                           const char *labels_tensor, vsim_series_points *out, int64_t *out_step);

/* Keep the max_classes - 1 largest classes and merge the rest into "other" (the last class). */
int vsim_series_group_labels(vsim_series_points *p, size_t max_classes);

/* Tensors of one step: names (the collection's prefix removed), views, owned data. */
typedef struct vsim_series_layers {
    size_t n;
    char **names;
    vsim_tensor *views;
    void **data;
    int64_t step;
} vsim_series_layers;

#define VSIM_SERIES_LAYERS_INIT { 0, NULL, NULL, NULL, -1 }

void vsim_series_layers_release(vsim_series_layers *l);

/*
 * The tensors of collection (NULL: any) matching regex (NULL: any) at step
 * (-1: the last complete step holding any of them) of worker, in model order.
 * VSIM_ENOTFOUND when nothing matches or the step does not hold them.
 */
int vsim_series_read_layers(const char *dir, const char *collection, const char *regex,
                            int64_t step, int worker, vsim_series_layers *out);

/* What a grid holds per (tensor, step). */
enum vsim_series_what {
    VSIM_SERIES_BANDS = 0,      /* the 9 percentiles of plot/plot.h's vsim_plot_band_pct */
    VSIM_SERIES_FIELD           /* one statistic (vsim_stats_field index) */
};

/* Tensors x steps x n_per values; NaN where a tensor was not saved at a step. */
typedef struct vsim_series_grid {
    size_t n_rows, n_cols, n_per;
    char **names;               /* n_rows tensor names, model order (collection prefix removed) */
    double *steps;              /* n_cols, increasing */
    double *v;                  /* n_rows x n_cols x n_per */
} vsim_series_grid;

#define VSIM_SERIES_GRID_INIT { 0, 0, 0, NULL, NULL, NULL }

void vsim_series_grid_release(vsim_series_grid *g);

typedef struct vsim_series_grid_params {
    const char *collection;     /* NULL: any */
    const char *regex;          /* NULL: any */
    int worker;                 /* which worker's shards */
    int what;                   /* enum vsim_series_what */
    int field;                  /* VSIM_SERIES_FIELD: a vsim_stats_field index */
    int log10;                  /* 1: log10 of the statistic (non-positive values: NaN) */
    int n_threads;
} vsim_series_grid_params;

#define VSIM_SERIES_GRID_PARAMS_INIT { NULL, NULL, 0, VSIM_SERIES_BANDS, 0, 0, 0 }

/* Walk every complete step of the run and fill *out. VSIM_ENOTFOUND if nothing matches. */
int vsim_series_read_grid(const char *dir, const vsim_series_grid_params *p,
                          vsim_series_grid *out);

/* A statistic by name ("mean", "l2", "max", ...) as a vsim_stats_field index; VSIM_EINVAL. */
int vsim_series_field_parse(const char *name, int *out);

/* Images and reconstructions as floats, n x channels x h x w (uint8 scaled to [0, 1]). */
typedef struct vsim_series_images {
    float *input, *recon;       /* recon may be NULL */
    size_t n, channels, h, w;
    int64_t step;
} vsim_series_images;

#define VSIM_SERIES_IMAGES_INIT { NULL, NULL, 0, 0, 0, 0, -1 }

void vsim_series_images_release(vsim_series_images *im);

/*
 * images/input and images/reconstruction at step (-1: the last step holding
 * images/input), at most max_n images (0: all).
 */
int vsim_series_read_images(const char *dir, int64_t step, size_t max_n,
                            vsim_series_images *out);

#endif
