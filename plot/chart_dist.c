/*
 * plot/chart_dist.c - per-layer distribution at one step (issue 6): one row
 * per layer in model order over a shared value axis (log10|v| on request),
 * drawn as violins with a box inside, boxes, or small histograms. Each layer
 * is summarised in O(n): one pass transforms the values into a float scratch
 * buffer and finds the range, a second fills a 2048-bin histogram from which
 * the percentiles (within 1/2048 of the range) and the density are read.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <string.h>

#include "core/mem.h"
#include "plot/plot_int.h"

#define FINE_BINS 2048

/* Transformed finite values of t into buf; returns how many. */
static size_t gather(const vsim_tensor *t, int log_abs, float *buf)
{
    size_t n = vsim_tensor_n_elems(t), m = 0;
    int contiguous = vsim_tensor_is_contiguous(t);

    for (size_t i = 0; i < n; i++) {
        double v;

        if (contiguous && t->dtype == VSIM_F32)
            v = ((const float *)t->data)[i];
        else if (contiguous && t->dtype == VSIM_F64)
            v = ((const double *)t->data)[i];
        else
            v = vsim_tensor_get(t, i);
        if (!isfinite(v) || (log_abs && v == 0.0))
            continue;
        buf[m++] = (float)(log_abs ? log10(fabs(v)) : v);
    }
    return m;
}

/* Percentile q of the histogram (numpy's linear rule on the rank, linear inside a bin). */
static double hist_pct(const uint32_t *h, size_t n, double lo, double bw, double q)
{
    double rank = q / 100.0 * (double)(n - 1), cum = 0.0;

    for (size_t b = 0; b < FINE_BINS; b++) {
        if (cum + h[b] > rank)
            return lo + bw * (b + (rank - cum + 0.5) / h[b]);
        cum += h[b];
    }
    return lo + bw * FINE_BINS;
}

static void summarize_buf(const float *v, size_t m, uint32_t *h, vsim_dist_summary *out)
{
    double lo = INFINITY, hi = -INFINITY, bw, peak = 0.0, sm[VSIM_DIST_BINS];

    for (size_t i = 0; i < m; i++) {
        lo = fmin(lo, v[i]);
        hi = fmax(hi, v[i]);
    }
    out->min = lo;
    out->max = hi;
    bw = hi > lo ? (hi - lo) / FINE_BINS : 1.0 / FINE_BINS;
    memset(h, 0, FINE_BINS * sizeof(*h));
    for (size_t i = 0; i < m; i++) {
        size_t b = (size_t)(((double)v[i] - lo) / bw);

        h[b < FINE_BINS ? b : FINE_BINS - 1]++;
    }
    out->p5 = hist_pct(h, m, lo, bw, 5);
    out->p25 = hist_pct(h, m, lo, bw, 25);
    out->p50 = hist_pct(h, m, lo, bw, 50);
    out->p75 = hist_pct(h, m, lo, bw, 75);
    out->p95 = hist_pct(h, m, lo, bw, 95);
    memset(out->density, 0, sizeof(out->density));
    for (size_t b = 0; b < FINE_BINS; b++)
        out->density[b * VSIM_DIST_BINS / FINE_BINS] += h[b];
    for (size_t b = 0; b < VSIM_DIST_BINS; b++) {
        double l = b ? out->density[b - 1] : 0;
        double r = b + 1 < VSIM_DIST_BINS ? out->density[b + 1] : 0;

        sm[b] = 0.25 * l + 0.5 * out->density[b] + 0.25 * r;
        peak = fmax(peak, sm[b]);
    }
    for (size_t b = 0; b < VSIM_DIST_BINS; b++)
        out->density[b] = peak > 0 ? sm[b] / peak : 0.0;
}

int vsim_dist_summarize(const vsim_tensor *t, int log_abs, vsim_dist_summary *out)
{
    size_t n = vsim_tensor_n_elems(t);
    float *buf;
    uint32_t *h;

    memset(out, 0, sizeof(*out));
    if (n == 0)
        return VSIM_OK;
    buf = vsim_mallocarray(n, sizeof(float));
    h = vsim_mallocarray(FINE_BINS, sizeof(uint32_t));
    if (!buf || !h) {
        vsim_free(buf);
        vsim_free(h);
        return vsim_fail(VSIM_ENOMEM, "distribution of %zu values: out of memory", n);
    }
    out->n = gather(t, log_abs, buf);
    if (out->n)
        summarize_buf(buf, out->n, h, out);
    vsim_free(buf);
    vsim_free(h);
    return VSIM_OK;
}

/* One layer's row: violin, box or histogram between y0 and y0 + row_h. */
static void draw_row(vsim_canvas *c, const vsim_dist_summary *s, const vsim_scale *sx, double y0,
                     double row_h, int kind, vsim_rgba col)
{
    vsim_rgba none = { 0, 0, 0, 0 }, dark = { col.r * 0.55, col.g * 0.55, col.b * 0.55, 1 };
    double cy = y0 + row_h / 2, bw = (s->max - s->min) / VSIM_DIST_BINS, box_h = row_h * 0.28;
    double xy[4 * VSIM_DIST_BINS + 4], x25, x50;

    if (kind == VSIM_PLOT_DIST_HIST) {
        for (size_t b = 0; b < VSIM_DIST_BINS; b++) {
            double x0 = vsim_scale_map(sx, s->min + b * bw);
            double x1 = vsim_scale_map(sx, s->min + (b + 1) * bw);
            double hh = s->density[b] * row_h * 0.85;

            if (hh > 0)
                vsim_canvas_rect(c, (vsim_box){ x0, y0 + row_h * 0.925 - hh, fmax(x1 - x0, 0.5),
                                                hh }, col, none, 0);
        }
        return;
    }
    if (kind == VSIM_PLOT_DIST_VIOLIN && s->max > s->min) {
        for (size_t b = 0; b < VSIM_DIST_BINS; b++) {
            double x = vsim_scale_map(sx, s->min + (b + 0.5) * bw);
            double hh = s->density[b] * row_h * 0.45;

            xy[2 * b] = x;
            xy[2 * b + 1] = cy - hh;
            xy[4 * VSIM_DIST_BINS - 2 * b - 2] = x;
            xy[4 * VSIM_DIST_BINS - 2 * b - 1] = cy + hh;
        }
        col.a = 0.55;
        vsim_canvas_path(c, xy, 2 * VSIM_DIST_BINS, col, none, 0);
        col.a = 1.0;
        box_h = row_h * 0.16;
    }
    x25 = vsim_scale_map(sx, s->p25);
    x50 = vsim_scale_map(sx, s->p50);
    vsim_canvas_line(c, vsim_scale_map(sx, s->p5), cy, vsim_scale_map(sx, s->p95), cy, dark, 1, 0);
    vsim_canvas_rect(c, (vsim_box){ x25, cy - box_h / 2,
                                    fmax(0.5, vsim_scale_map(sx, s->p75) - x25), box_h },
                     kind == VSIM_PLOT_DIST_VIOLIN ? dark : col, dark, 1.0);
    vsim_canvas_line(c, x50, cy - box_h / 2 - 1, x50, cy + box_h / 2 + 1, c->theme->bg, 2.0, 0);
}

static double names_width(vsim_canvas *c, const vsim_plot_dist *d, double cap)
{
    double wmax = 0.0;

    for (size_t i = 0; i < d->n_layers; i++) {
        double w, h;

        vsim_canvas_measure(c, d->names && d->names[i] ? d->names[i] : "?", VSIM_FONT_TICK, 0,
                            &w, &h);
        wmax = fmax(wmax, w);
    }
    return fmin(wmax, cap);
}

static void lay_out_dist(vsim_canvas *c, const vsim_plot_dist *d, const vsim_plot_style *st,
                         const vsim_dist_summary *sum, double lo, double hi)
{
    vsim_axes_spec spec = { 0 };
    vsim_rgba col = vsim_rgb_hex(vsim_plot_palette(0), 1.0);
    double name_w = names_width(c, d, 0.35 * c->width), row_h;
    vsim_scale sx;
    vsim_axes ax;

    vsim_scale_pad(&lo, &hi, 0.03);
    spec.xlog = d->log_abs;
    spec.xlo = d->log_abs ? pow(10.0, lo) : lo;
    spec.xhi = d->log_abs ? pow(10.0, hi) : hi;
    spec.ylo = 0;
    spec.yhi = (double)d->n_layers;
    spec.no_yticks = 1;
    spec.left_min = name_w + 16;
    spec.title = st && st->title ? st->title : NULL;
    spec.xlabel = st && st->xlabel ? st->xlabel : (d->log_abs ? "|value| (log scale)" : "value");
    spec.ylabel = st ? st->ylabel : NULL;
    vsim_chart_axes(c, (vsim_box){ 0, 0, c->width, c->height }, &spec, &ax);
    sx = ax.sx;
    sx.log = 0;   /* summaries are already in log10 units */
    row_h = ax.area.h / (double)d->n_layers;
    for (size_t i = 0; i < d->n_layers; i++) {
        double y0 = ax.area.y + i * row_h;

        vsim_rgba stripe = c->theme->grid;

        stripe.a = 0.45;
        if (i % 2)
            vsim_canvas_rect(c, (vsim_box){ ax.area.x, y0, ax.area.w, row_h }, stripe,
                             (vsim_rgba){ 0, 0, 0, 0 }, 0);
    }
    vsim_canvas_clip(c, ax.area);
    for (size_t i = 0; i < d->n_layers; i++) {
        double y0 = ax.area.y + i * row_h;

        if (sum[i].n)
            draw_row(c, &sum[i], &sx, y0, row_h, d->kind, col);
        else
            vsim_canvas_text(c, ax.area.x + 4, y0 + row_h / 2, "no data", fmin(row_h * 0.7, 10.0),
                             0, 1, 0, c->theme->muted, 0);
    }
    vsim_canvas_unclip(c);
    vsim_chart_frame(c, &ax);
    vsim_chart_row_labels(c, d->names, d->n_layers, ax.area.x - 6, ax.area.y, row_h, name_w);
}

int vsim_chart_dist_build(const vsim_plot_dist *d, const vsim_plot_style *st, vsim_canvas **out)
{
    vsim_dist_summary *sum;
    double lo = INFINITY, hi = -INFINITY;
    vsim_canvas *c = NULL;
    int rc = VSIM_OK;

    *out = NULL;
    if (!d || d->n_layers == 0 || !d->layers)
        return vsim_fail(VSIM_EINVAL, "distribution chart: no layers");
    sum = vsim_calloc(d->n_layers, sizeof(*sum));
    if (!sum)
        return vsim_fail(VSIM_ENOMEM, "distribution chart: out of memory");
    for (size_t i = 0; !rc && i < d->n_layers; i++) {
        rc = vsim_dist_summarize(&d->layers[i], d->log_abs, &sum[i]);
        if (!rc && sum[i].n) {
            lo = fmin(lo, sum[i].min);
            hi = fmax(hi, sum[i].max);
        }
    }
    if (!rc && lo > hi)
        rc = vsim_fail(VSIM_EINVAL, "distribution chart: no layer has a %s value to show",
                       d->log_abs ? "finite non-zero" : "finite");
    if (!rc)
        rc = vsim_canvas_create(st, &c);
    if (!rc) {
        lay_out_dist(c, d, st, sum, lo, hi);
        *out = c;
    }
    vsim_free(sum);
    return rc;
}

int vsim_plot_dist_chart(const vsim_plot_dist *d, const vsim_plot_style *style, const char *path)
{
    vsim_canvas *c;
    int format, rc = vsim_plot_format_of(path, &format);

    if (rc || (rc = vsim_chart_dist_build(d, style, &c)))
        return rc;
    rc = vsim_chart_finish(c, path);
    vsim_canvas_destroy(c);
    return rc;
}
