/*
 * plot/scale.h - the numbers behind a chart, with no drawing: data ranges,
 * "nice" tick steps (1, 2, 5 x 10^k, Heckbert, Graphics Gems 1990), log-axis
 * ticks, tick-label formatting, mapping data to pixels, label thinning so text
 * never overlaps, and TensorBoard's debiased EMA smoothing. Tested numerically
 * (tests/unit/test_plot.c). Every function here is pure and thread-safe.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_PLOT_SCALE_H
#define VSIM_PLOT_SCALE_H

#include <stddef.h>

#include "core/vsim.h"

#define VSIM_SCALE_MAX_TICKS 64

/* A box in pixels: x, y of the top-left corner, width and height. */
typedef struct vsim_box {
    double x, y, w, h;
} vsim_box;

/* Ticks of one axis: values in data units (log axes: log10 of the data). */
typedef struct vsim_ticks {
    size_t n;
    double v[VSIM_SCALE_MAX_TICKS];
    double step;        /* distance between major ticks (log axes: in decades) */
    int log;            /* 1: v are log10 exponents, labelled 10^v */
} vsim_ticks;

/* Map from data [d0, d1] to pixels [p0, p1]; log: data is mapped through log10 first. */
typedef struct vsim_scale {
    double d0, d1;      /* data range (log axes: log10 of the data) */
    double p0, p1;      /* pixel range; p1 < p0 for a y axis growing upwards */
    int log;
} vsim_scale;

/*
 * Finite min and max of v (log: of the positive values only). VSIM_EINVAL with
 * "no finite values" (or "no positive values") when there is nothing to show.
 */
int vsim_scale_range(const double *v, size_t n, int log, double *out_lo, double *out_hi);

/*
 * Widen [*lo, *hi] for display: a zero-width range becomes [v - 0.5, v + 0.5]
 * (or +-10% of |v|), then pad is added on each side as a fraction of the width.
 */
void vsim_scale_pad(double *lo, double *hi, double pad);

/* The nice step (1, 2 or 5 x 10^k) that cuts span into at most max_ticks intervals. */
double vsim_scale_nice_step(double span, int max_ticks);

/*
 * Ticks inside [lo, hi] at multiples of a nice step, at most max_ticks of them
 * (max_ticks >= 2). Tick values are rounded to the step so that 0.1 * 3 prints
 * as 0.3. For lo == hi a single tick.
 */
void vsim_scale_ticks(double lo, double hi, int max_ticks, vsim_ticks *out);

/*
 * Ticks of a log axis whose range is given in decades [lo10, hi10]: integer
 * decades (every k-th when there are many; step = k); when the range spans
 * under two decades, the 2x and 5x marks as well (then v holds log10 of those
 * values and step is 0.5, which vsim_scale_format labels as plain numbers).
 */
void vsim_scale_log_ticks(double lo10, double hi10, int max_ticks, vsim_ticks *out);

/* Extend [*lo, *hi] outwards to multiples of the nice step for max_ticks. */
void vsim_scale_nice_range(double *lo, double *hi, int max_ticks);

/*
 * Format tick value v of an axis whose step is step: enough decimals to tell
 * neighbours apart, scientific notation (1e-06 style) for very large or small
 * values, "0" for values within step * 1e-9 of zero. log: v is an exponent and
 * the label is 10^v written with Unicode superscripts ("10⁻³"), or, when
 * step < 1 (1-2-5 marks), the plain value ("0.2"). Writes at most cap bytes
 * (NUL included).
 */
void vsim_scale_format(double v, double step, int log, char *out, size_t cap);

/* Pixel position of data value v (log scales take the value itself, not its log). */
double vsim_scale_map(const vsim_scale *s, double v);

/* 1 if boxes a and b overlap (touching edges do not count). */
int vsim_box_overlap(const vsim_box *a, const vsim_box *b);

/* 1 if any two of the n boxes overlap (O(n^2); n is a few hundred labels at most). */
int vsim_boxes_overlap(const vsim_box *boxes, size_t n);

/*
 * Stride k >= 1 such that labels 0, k, 2k, ... centred at pos[i] (increasing
 * or decreasing) with extents ext[i] along the axis and at least gap pixels
 * between neighbours do not overlap.
 */
size_t vsim_scale_thin(const double *pos, const double *ext, size_t n, double gap);

/*
 * TensorBoard's smoothing: debiased exponential moving average with weight w
 * in [0, 1) (0: no smoothing). Non-finite inputs are copied through and do
 * not enter the average. out may equal y.
 */
void vsim_scale_smooth(const double *y, size_t n, double w, double *out);

#endif
