/*
 * plot/plot.h - charts drawn with cairo into PNG, SVG or PDF (format chosen by
 * the file extension). Inputs are plain arrays; plot/ never sees reader handles.
 * Output files are written atomically (temporary name, rename): a failed chart
 * leaves no partial file. Without cairo (CAIRO=0) every chart returns VSIM_EUNSUP.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_PLOT_PLOT_H
#define VSIM_PLOT_PLOT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/tensor.h"
#include "core/vsim.h"

typedef struct vsim_plot_style {
    int width, height;       /* pixels (PNG) or points (SVG/PDF); 0: 1200 x 900 */
    double scale;            /* PNG pixel scale (DPI / 96); 0: 1 */
    int dark;                /* 1: dark theme */
    const char *title;       /* may be NULL */
    const char *xlabel, *ylabel;  /* may be NULL */
} vsim_plot_style;

#define VSIM_PLOT_STYLE_INIT { 0 }

typedef struct vsim_scatter {
    const double *x, *y;              /* n points */
    size_t n;
    const int32_t *labels;            /* n labels in 0..n_labels-1, or NULL (one colour) */
    const char *const *label_names;   /* n_labels names for the legend, or NULL ("0", "1", ...) */
    size_t n_labels;
    const size_t *highlight;          /* indices of points to ring, may be NULL */
    size_t n_highlight;
    double point_size;                /* radius in pixels; 0: automatic by n */
    double alpha;                     /* 0: automatic by n */
} vsim_scatter;

/*
 * Cluster scatter plot coloured by label (categorical palette distinguishable
 * up to 20 classes), with a legend of class names. VSIM_EINVAL for empty or
 * all-NaN data or a label outside 0..n_labels-1; VSIM_ERANGE for more than
 * VSIM_PLOT_MAX_CLASSES classes (group them first); VSIM_EIO naming path.
 * Points with a NaN or infinite coordinate are skipped. PNG draws every
 * point; SVG/PDF see VSIM_PLOT_VECTOR_MAX_POINTS. Thread-safe (no globals).
 */
int vsim_plot_scatter(const vsim_scatter *s, const vsim_plot_style *style, const char *path);

/* Output formats, chosen by the file extension (.png, .svg, .pdf; any case). */
enum vsim_plot_format { VSIM_PLOT_PNG = 1, VSIM_PLOT_SVG, VSIM_PLOT_PDF };

/* The format of path by its extension, or VSIM_EINVAL naming the path. */
int vsim_plot_format_of(const char *path, int *out);

/* Colours the categorical palette tells apart; more classes are an error (group them). */
#define VSIM_PLOT_MAX_CLASSES 20

/*
 * Palette colour k (0..VSIM_PLOT_MAX_CLASSES-1) as 0xRRGGBB; k beyond the
 * palette gets grey (0x9a9a9a), the colour of an "other" class.
 */
uint32_t vsim_plot_palette(size_t k);

/*
 * Vector output (SVG/PDF) of a scatter draws at most this many points, a
 * deterministic every-k-th subsample beyond it (a note in the chart says so):
 * millions of vector circles make files no viewer opens. PNG draws all points.
 */
#define VSIM_PLOT_VECTOR_MAX_POINTS 50000

/* How the per-layer distribution is drawn. */
enum vsim_plot_dist_kind {
    VSIM_PLOT_DIST_VIOLIN = 0,   /* violin (density) with a box inside */
    VSIM_PLOT_DIST_BOX,          /* box (p25-p75, median) and whiskers (p5-p95) */
    VSIM_PLOT_DIST_HIST          /* a small histogram in each layer's row */
};

/*
 * Per-layer distribution at one step: one row per layer, top to bottom in the
 * order given (model order), over a shared value axis. With log_abs the values
 * shown are log10|v| of the finite non-zero elements (axis labelled 10^k), which
 * shows at a glance that one layer's gradients are decades smaller than another's.
 */
typedef struct vsim_plot_dist {
    size_t n_layers;
    const char *const *names;        /* n_layers names */
    const vsim_tensor *layers;       /* n_layers views (any dtype, borrowed) */
    int log_abs;                     /* 1: log10|v| */
    int kind;                        /* enum vsim_plot_dist_kind */
} vsim_plot_dist;

/*
 * Draw the chart. VSIM_EINVAL if there are no layers or no layer has a value to
 * show; a layer without any is drawn as an empty row marked "no data".
 */
int vsim_plot_dist_chart(const vsim_plot_dist *d, const vsim_plot_style *style, const char *path);

/* The percentiles of a band chart: TensorBoard's distributions (0, +-1.5, +-1, +-0.5 sigma). */
#define VSIM_PLOT_N_BAND_PCT 9
extern const double vsim_plot_band_pct[VSIM_PLOT_N_BAND_PCT];

/* One tensor's percentile bands over steps. */
typedef struct vsim_plot_bands {
    const char *name;            /* panel title (small multiples) or chart subtitle */
    const double *steps;         /* n_steps, increasing */
    const double *pct;           /* n_steps x VSIM_PLOT_N_BAND_PCT, row-major */
    size_t n_steps;
} vsim_plot_bands;

/*
 * Distribution over steps as TensorBoard draws it: bands p0-p100, p7-p93,
 * p16-p84, p31-p69 and the median line. One series: one chart; several: a
 * grid of small multiples (one panel per series, each with its own y range).
 * Non-finite percentiles leave gaps. VSIM_EINVAL if nothing is finite.
 */
int vsim_plot_bands_chart(const vsim_plot_bands *s, size_t n_series, const vsim_plot_style *style,
                          const char *path);

/* A rows x cols matrix of a statistic: rows are layers (model order), columns steps. */
typedef struct vsim_plot_heatmap {
    const double *v;             /* n_rows x n_cols, row-major; NaN: missing (grey) */
    size_t n_rows, n_cols;
    const char *const *row_names;   /* n_rows */
    const double *col_steps;     /* n_cols step numbers, increasing */
    const char *value_label;     /* colour-bar label, e.g. "log10 L2 norm"; may be NULL */
} vsim_plot_heatmap;

/* Layer-by-step heat map (viridis) with a colour bar. VSIM_EINVAL if nothing is finite. */
int vsim_plot_heatmap_chart(const vsim_plot_heatmap *h, const vsim_plot_style *style,
                            const char *path);

/* One curve. */
typedef struct vsim_plot_series {
    const char *name;            /* legend entry (e.g. "run-a loss/total") */
    const double *x, *y;         /* n points; non-finite y leaves a gap */
    size_t n;
} vsim_plot_series;

typedef struct vsim_plot_lines {
    const vsim_plot_series *series;
    size_t n_series;
    int log_y;                   /* 1: logarithmic y axis (values <= 0 are skipped) */
    double smooth;               /* TensorBoard EMA weight in [0, 1); raw curve drawn faint */
} vsim_plot_lines;

/* Line chart of losses or metrics, one colour per series, legend when > 1. */
int vsim_plot_lines_chart(const vsim_plot_lines *l, const vsim_plot_style *style,
                          const char *path);

/* Image pairs: inputs beside their reconstructions. */
typedef struct vsim_plot_images {
    const float *input;          /* n x channels x h x w (channels 1 or 3), borrowed */
    const float *recon;          /* the same shape, or NULL (inputs only) */
    size_t n, channels, h, w;
    int normalize;               /* 1: stretch each image to its own min..max; 0: clamp [0,1] */
} vsim_plot_images;

/* Grid of images, "input | reconstruction" pairs, nearest-neighbour scaled. */
int vsim_plot_images_chart(const vsim_plot_images *im, const vsim_plot_style *style,
                           const char *path);

/*
 * Encode an 8-bit grey image (w x h bytes, row-major) as PNG, appended to out
 * (for pages that inline their images). VSIM_EINVAL for an empty or huge image,
 * VSIM_ENOMEM, VSIM_EUNSUP in a build without cairo.
 */
int vsim_plot_png_gray(const uint8_t *px, size_t w, size_t h, vsim_buf *out);

#endif
