/*
 * plot/plot_int.h - plot/ internals: the canvas (a display list of drawing
 * operations that charts build and plot/render_cairo.c replays), themes, and
 * the shared chart pieces (frame, axes, legend). Charts never call cairo;
 * layout can therefore be inspected by tests (text boxes, plot area) without
 * rendering. Not installed.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_PLOT_PLOT_INT_H
#define VSIM_PLOT_PLOT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/mem.h"
#include "core/vsim.h"
#include "plot/plot.h"
#include "plot/scale.h"

typedef struct vsim_rgba {
    double r, g, b, a;       /* 0..1, not premultiplied; a = 0: nothing drawn */
} vsim_rgba;

typedef struct vsim_theme {
    vsim_rgba bg, fg, muted, grid, frame, plot_bg, missing;
} vsim_theme;

typedef enum vsim_op_kind {
    VSIM_OP_RECT = 0,        /* box, fill and/or stroke */
    VSIM_OP_PATH,            /* polyline (stroke) or polygon (fill) through xy */
    VSIM_OP_TEXT,
    VSIM_OP_POINTS,          /* a batch of discs: scatter marks */
    VSIM_OP_IMAGE,           /* ARGB pixels scaled (nearest) into box */
    VSIM_OP_CLIP,            /* clip the following operations to box */
    VSIM_OP_UNCLIP
} vsim_op_kind;

/* A batch of scatter marks; the arrays are borrowed from the chart's caller. */
typedef struct vsim_points_op {
    const double *x, *y;
    size_t n;
    size_t stride;           /* draw every stride-th point (vector subsampling); >= 1 */
    const int32_t *labels;   /* may be NULL: colors[0] */
    const vsim_rgba *colors; /* per label */
    size_t n_colors;
    double radius;           /* pixels */
    double alpha;            /* 0..1 */
    vsim_scale sx, sy;       /* data to pixels */
} vsim_points_op;

typedef struct vsim_op {
    vsim_op_kind kind;
    vsim_rgba fill, stroke;  /* a = 0: not filled / not stroked */
    double lw;               /* stroke width in pixels */
    int dash;                /* 1: dashed stroke */
    vsim_box box;            /* RECT, IMAGE, CLIP; TEXT: the ink box as laid out */
    double *xy;              /* PATH: n_xy (x, y) pairs, owned by the canvas arena */
    size_t n_xy;
    const char *text;        /* TEXT: owned by the canvas arena */
    double x, y;             /* TEXT: anchor */
    double size;             /* TEXT: font size in pixels */
    double angle;            /* TEXT: 0 or 90 (reads bottom to top) */
    int halign, valign;      /* TEXT: 0 left/top, 1 centre, 2 right/bottom */
    int bold;                /* TEXT */
    vsim_points_op *pts;     /* POINTS */
    uint32_t *argb;          /* IMAGE: iw x ih pixels 0xAARRGGBB (premultiplied), arena */
    int iw, ih;
} vsim_op;

typedef struct vsim_canvas {
    int width, height;       /* pixels (PNG before scaling) or points (SVG/PDF) */
    double scale;            /* PNG pixel scale */
    const vsim_theme *theme;
    vsim_op *ops;
    size_t n_ops, cap_ops;
    vsim_arena arena;        /* paths, strings, images */
    int status;              /* first failure (sticky); charts check it once at the end */
    void *measurer;          /* backend's text measuring context */
    const char *note;        /* a remark drawn at the bottom right (e.g. subsampling) */
} vsim_canvas;

/* Base font sizes in pixels. */
#define VSIM_FONT_TICK 12.0
#define VSIM_FONT_LABEL 13.0
#define VSIM_FONT_TITLE 16.0
#define VSIM_FONT_FAMILY "DejaVu Sans"

VSIM_INTERNAL const vsim_theme *vsim_theme_get(int dark);
VSIM_INTERNAL vsim_rgba vsim_rgb_hex(uint32_t rgb, double alpha);
/* Viridis colour map at t in [0, 1] (clamped). */
VSIM_INTERNAL vsim_rgba vsim_viridis(double t);

/* A canvas for style (defaults applied: 1200 x 900, scale 1). */
VSIM_INTERNAL int vsim_canvas_create(const vsim_plot_style *style, vsim_canvas **out);
VSIM_INTERNAL void vsim_canvas_destroy(vsim_canvas *c);
VSIM_INTERNAL void vsim_canvas_rect(vsim_canvas *c, vsim_box b, vsim_rgba fill, vsim_rgba stroke,
                                    double lw);
VSIM_INTERNAL void vsim_canvas_line(vsim_canvas *c, double x0, double y0, double x1, double y1,
                                    vsim_rgba color, double lw, int dash);
/* Copy n (x, y) pairs; fill.a > 0 closes and fills the polygon. */
VSIM_INTERNAL void vsim_canvas_path(vsim_canvas *c, const double *xy, size_t n, vsim_rgba fill,
                                    vsim_rgba stroke, double lw);
/* Text anchored at (x, y); returns its ink box (also stored in the operation). */
VSIM_INTERNAL vsim_box vsim_canvas_text(vsim_canvas *c, double x, double y, const char *text,
                                        double size, int halign, int valign, double angle,
                                        vsim_rgba color, int bold);
/* Width and height of text at size (pixels), from the backend (or an estimate). */
VSIM_INTERNAL void vsim_canvas_measure(vsim_canvas *c, const char *text, double size, int bold,
                                       double *w, double *h);
VSIM_INTERNAL void vsim_canvas_points(vsim_canvas *c, const vsim_points_op *p);
/* Copy iw x ih ARGB pixels, drawn scaled into b with nearest-neighbour filtering. */
VSIM_INTERNAL void vsim_canvas_image(vsim_canvas *c, vsim_box b, const uint32_t *argb, int iw,
                                     int ih);
VSIM_INTERNAL void vsim_canvas_clip(vsim_canvas *c, vsim_box b);
VSIM_INTERNAL void vsim_canvas_unclip(vsim_canvas *c);

/* Backend (plot/render_cairo.c; without cairo: estimates and VSIM_EUNSUP). */
VSIM_INTERNAL void *vsim_render_measurer_new(void);
VSIM_INTERNAL void vsim_render_measurer_free(void *m);
VSIM_INTERNAL void vsim_render_measure(void *m, const char *text, double size, int bold,
                                       double *w, double *h);
/* Replay c into path (format by extension), atomically. VSIM_EUNSUP without cairo. */
VSIM_INTERNAL int vsim_render_write(const vsim_canvas *c, const char *path);

/* Axes of an x/y chart. */
typedef struct vsim_axes {
    vsim_box area;           /* the plot area */
    vsim_scale sx, sy;
    vsim_ticks tx, ty;
} vsim_axes;

/* What an axis pair should show. */
typedef struct vsim_axes_spec {
    double xlo, xhi, ylo, yhi;   /* data range (log axes: positive values) */
    int xlog, ylog;
    const char *xlabel, *ylabel, *title;
    double right;                /* extra right margin (legend, colour bar), pixels */
    double font;                 /* tick font size (0: VSIM_FONT_TICK) */
    int no_yticks;               /* 1: categorical y (rows labelled by the caller) */
    double left_min;             /* extra left margin for categorical row labels, pixels */
} vsim_axes_spec;

/*
 * Lay out an axes pair inside box (the whole canvas for a single chart, a cell
 * for small multiples): title, axis labels and tick labels that do not overlap;
 * draws background, grid, ticks and labels; *out gets the plot area and scales.
 */
VSIM_INTERNAL void vsim_chart_axes(vsim_canvas *c, vsim_box box, const vsim_axes_spec *spec,
                                   vsim_axes *out);
/* Draw the frame around the plot area (after the data). */
VSIM_INTERNAL void vsim_chart_frame(vsim_canvas *c, const vsim_axes *ax);
/* Width a legend of these names needs at font size. */
VSIM_INTERNAL double vsim_chart_legend_width(vsim_canvas *c, const char *const *names, size_t n,
                                             double size);
/* Legend at (x, y) top-left: swatches (discs if disc, else lines) and names. */
VSIM_INTERNAL void vsim_chart_legend(vsim_canvas *c, double x, double y, double max_h,
                                     const char *const *names, const vsim_rgba *colors,
                                     size_t n, int disc);
/* Replay into path, or the canvas's first failure. */
VSIM_INTERNAL int vsim_chart_finish(vsim_canvas *c, const char *path);

/* Copy text into out, replacing leading characters by "…" until it is at most max_w wide. */
VSIM_INTERNAL void vsim_chart_fit_text(vsim_canvas *c, const char *text, double size, int bold,
                                       double max_w, char *out, size_t cap);
/* Categorical labels of rows: font size and stride so they never overlap. */
VSIM_INTERNAL void vsim_chart_row_labels(vsim_canvas *c, const char *const *names, size_t n,
                                         double x_right, double y_top, double row_h,
                                         double max_w);

/* Builders behind the public charts; tests inspect the canvas they return. */
VSIM_INTERNAL int vsim_chart_scatter_build(const vsim_scatter *s, const vsim_plot_style *st,
                                           int vector, vsim_canvas **out);
VSIM_INTERNAL int vsim_chart_dist_build(const vsim_plot_dist *d, const vsim_plot_style *st,
                                        vsim_canvas **out);
VSIM_INTERNAL int vsim_chart_bands_build(const vsim_plot_bands *s, size_t n,
                                         const vsim_plot_style *st, vsim_canvas **out);
VSIM_INTERNAL int vsim_chart_heatmap_build(const vsim_plot_heatmap *h, const vsim_plot_style *st,
                                           vsim_canvas **out);
VSIM_INTERNAL int vsim_chart_lines_build(const vsim_plot_lines *l, const vsim_plot_style *st,
                                         vsim_canvas **out);
VSIM_INTERNAL int vsim_chart_images_build(const vsim_plot_images *im, const vsim_plot_style *st,
                                          vsim_canvas **out);

/* Summary of one layer's distribution (shared by the cairo and gnuplot charts). */
#define VSIM_DIST_BINS 64
typedef struct vsim_dist_summary {
    size_t n;                    /* values shown (finite; non-zero when log_abs) */
    double min, max;
    double p5, p25, p50, p75, p95;
    double density[VSIM_DIST_BINS];  /* histogram over [min, max], normalised to max 1 */
} vsim_dist_summary;

/* Summarise t (log_abs: log10|v|). VSIM_ENOMEM only; n = 0 when nothing to show. */
VSIM_INTERNAL int vsim_dist_summarize(const vsim_tensor *t, int log_abs, vsim_dist_summary *out);

#endif
