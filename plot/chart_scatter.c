/*
 * plot/chart_scatter.c - cluster scatter plot (issue 6): points coloured by
 * label, legend of class names, highlighted points ringed, point size and
 * alpha chosen by the number of points. PNG draws every point (rasterised in
 * plot/render_cairo.c); SVG and PDF draw at most VSIM_PLOT_VECTOR_MAX_POINTS,
 * an every-k-th subsample noted in the chart.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>

#include "plot/plot_int.h"

static int check_scatter(const vsim_scatter *s, size_t *n_finite)
{
    size_t nf = 0;

    if (!s || s->n == 0 || !s->x || !s->y)
        return vsim_fail(VSIM_EINVAL, "scatter: no points to draw");
    if (s->labels && s->n_labels > VSIM_PLOT_MAX_CLASSES)
        return vsim_fail(VSIM_ERANGE, "scatter: %zu classes, but the palette tells only %d "
                         "apart; group the smaller classes into one", s->n_labels,
                         VSIM_PLOT_MAX_CLASSES);
    for (size_t i = 0; i < s->n; i++) {
        if (s->labels && (s->labels[i] < 0 || (size_t)s->labels[i] >= s->n_labels))
            return vsim_fail(VSIM_EINVAL, "scatter: point %zu has label %d, outside 0..%zu", i,
                             (int)s->labels[i], s->n_labels ? s->n_labels - 1 : 0);
        nf += isfinite(s->x[i]) && isfinite(s->y[i]);
    }
    for (size_t i = 0; i < s->n_highlight; i++)
        if (s->highlight[i] >= s->n)
            return vsim_fail(VSIM_EINVAL, "scatter: highlighted point %zu does not exist (%zu "
                             "points)", s->highlight[i], s->n);
    if (nf == 0)
        return vsim_fail(VSIM_EINVAL, "scatter: all %zu points are NaN or infinite", s->n);
    *n_finite = nf;
    return VSIM_OK;
}

/* Range of the points where both coordinates are finite. */
static void point_range(const vsim_scatter *s, double *xlo, double *xhi, double *ylo, double *yhi)
{
    *xlo = *ylo = INFINITY;
    *xhi = *yhi = -INFINITY;
    for (size_t i = 0; i < s->n; i++) {
        double x = s->x[i], y = s->y[i];

        if (!isfinite(x) || !isfinite(y))
            continue;
        *xlo = fmin(*xlo, x);
        *xhi = fmax(*xhi, x);
        *ylo = fmin(*ylo, y);
        *yhi = fmax(*yhi, y);
    }
    vsim_scale_pad(xlo, xhi, 0.03);
    vsim_scale_pad(ylo, yhi, 0.03);
}

static void draw_highlights(vsim_canvas *c, const vsim_scatter *s, const vsim_axes *ax, double r)
{
    for (size_t i = 0; i < s->n_highlight; i++) {
        size_t k = s->highlight[i];
        double x = vsim_scale_map(&ax->sx, s->x[k]), y = vsim_scale_map(&ax->sy, s->y[k]);
        double xy[2 * 25];

        if (!isfinite(x) || !isfinite(y))
            continue;
        for (int j = 0; j < 25; j++) {
            xy[2 * j] = x + r * cos(j * 2 * M_PI / 24);
            xy[2 * j + 1] = y + r * sin(j * 2 * M_PI / 24);
        }
        vsim_canvas_path(c, xy, 25, (vsim_rgba){ 0, 0, 0, 0 }, c->theme->fg, 1.5);
    }
}

int vsim_chart_scatter_build(const vsim_scatter *s, const vsim_plot_style *st, int vector,
                             vsim_canvas **out)
{
    vsim_rgba colors[VSIM_PLOT_MAX_CLASSES];
    char defnames[VSIM_PLOT_MAX_CLASSES][24];
    const char *names[VSIM_PLOT_MAX_CLASSES];
    size_t n_finite = 0, n_col = s && s->labels ? s->n_labels : 1;
    vsim_axes_spec spec = { 0 };
    vsim_points_op p = { 0 };
    vsim_canvas *c;
    vsim_axes ax;
    int rc = check_scatter(s, &n_finite);

    *out = NULL;
    if (rc || (rc = vsim_canvas_create(st, &c)))
        return rc;
    for (size_t k = 0; k < n_col; k++) {
        colors[k] = vsim_rgb_hex(vsim_plot_palette(k), 1.0);
        snprintf(defnames[k], sizeof(defnames[k]), "%zu", k);
        names[k] = s->label_names && s->label_names[k] ? s->label_names[k] : defnames[k];
    }
    point_range(s, &spec.xlo, &spec.xhi, &spec.ylo, &spec.yhi);
    spec.title = st ? st->title : NULL;
    spec.xlabel = st ? st->xlabel : NULL;
    spec.ylabel = st ? st->ylabel : NULL;
    if (s->labels)
        spec.right = vsim_chart_legend_width(c, names, n_col, VSIM_FONT_TICK) + 12;
    vsim_chart_axes(c, (vsim_box){ 0, 0, c->width, c->height }, &spec, &ax);
    p.x = s->x;
    p.y = s->y;
    p.n = s->n;
    p.labels = s->labels;
    p.colors = colors;
    p.n_colors = n_col;
    p.radius = s->point_size > 0 ? s->point_size
               : fmax(0.8, n_finite <= 1000 ? 4.5 : 4.5 * pow(1000.0 / n_finite, 0.25));
    p.alpha = s->alpha > 0 ? fmin(s->alpha, 1.0)
              : fmax(0.15, n_finite <= 1000 ? 0.9 : 0.9 * pow(1000.0 / n_finite, 0.3));
    p.sx = ax.sx;
    p.sy = ax.sy;
    p.stride = 1;
    if (vector && s->n > VSIM_PLOT_VECTOR_MAX_POINTS) {
        char *note = vsim_arena_alloc(&c->arena, 96);

        p.stride = (s->n + VSIM_PLOT_VECTOR_MAX_POINTS - 1) / VSIM_PLOT_VECTOR_MAX_POINTS;
        if (note)
            snprintf(note, 96, "%zu of %zu points drawn (1 in %zu; PNG draws all)",
                     (s->n + p.stride - 1) / p.stride, s->n, p.stride);
        c->note = note;
    }
    vsim_canvas_clip(c, ax.area);
    vsim_canvas_points(c, &p);
    draw_highlights(c, s, &ax, fmax(5.0, 2.5 * p.radius));
    vsim_canvas_unclip(c);
    vsim_chart_frame(c, &ax);
    if (s->labels)
        vsim_chart_legend(c, ax.area.x + ax.area.w + 14, ax.area.y, ax.area.h, names, colors,
                          n_col, 1);
    *out = c;
    return VSIM_OK;
}

int vsim_plot_scatter(const vsim_scatter *s, const vsim_plot_style *style, const char *path)
{
    vsim_canvas *c;
    int format, rc = vsim_plot_format_of(path, &format);

    if (rc || (rc = vsim_chart_scatter_build(s, style, format != VSIM_PLOT_PNG, &c)))
        return rc;
    rc = vsim_chart_finish(c, path);
    vsim_canvas_destroy(c);
    return rc;
}
