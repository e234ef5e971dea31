/*
 * plot/chart_lines.c - loss and metric curves of one or several runs (log
 * axis and TensorBoard smoothing on request; with smoothing the raw curve is
 * drawn faint beneath), and image grids of inputs beside reconstructions.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <string.h>

#include "core/mem.h"
#include "plot/plot_int.h"

static int usable(double x, double y, int log_y)
{
    return isfinite(x) && isfinite(y) && (!log_y || y > 0.0);
}

static int lines_range(const vsim_plot_lines *l, vsim_axes_spec *sp)
{
    size_t n_ok = 0;

    sp->xlo = sp->ylo = INFINITY;
    sp->xhi = sp->yhi = -INFINITY;
    for (size_t k = 0; k < l->n_series; k++) {
        const vsim_plot_series *s = &l->series[k];

        for (size_t i = 0; i < s->n; i++) {
            if (!usable(s->x[i], s->y[i], l->log_y))
                continue;
            n_ok++;
            sp->xlo = fmin(sp->xlo, s->x[i]);
            sp->xhi = fmax(sp->xhi, s->x[i]);
            sp->ylo = fmin(sp->ylo, s->y[i]);
            sp->yhi = fmax(sp->yhi, s->y[i]);
        }
    }
    if (!n_ok)
        return vsim_fail(VSIM_EINVAL, "line chart: no %s values to draw",
                         l->log_y ? "positive finite" : "finite");
    vsim_scale_pad(&sp->xlo, &sp->xhi, 0.0);
    if (l->log_y) {
        double a = log10(sp->ylo), b = log10(sp->yhi);

        vsim_scale_pad(&a, &b, 0.04);
        sp->ylo = pow(10.0, a);
        sp->yhi = pow(10.0, b);
    } else {
        vsim_scale_pad(&sp->ylo, &sp->yhi, 0.04);
    }
    sp->ylog = l->log_y;
    return VSIM_OK;
}

/* Polyline through the usable points of (x, y); breaks at gaps. */
static void curve(vsim_canvas *c, const vsim_axes *ax, const double *x, const double *y, size_t n,
                  int log_y, vsim_rgba col, double lw)
{
    double *xy = vsim_mallocarray(2 * (n ? n : 1), sizeof(double));
    size_t m = 0;

    if (!xy) {
        c->status = vsim_fail(VSIM_ENOMEM, "line chart: out of memory");
        return;
    }
    for (size_t i = 0; i <= n; i++) {
        if (i < n && usable(x[i], y[i], log_y)) {
            xy[2 * m] = vsim_scale_map(&ax->sx, x[i]);
            xy[2 * m + 1] = vsim_scale_map(&ax->sy, y[i]);
            m++;
            continue;
        }
        if (m == 1)
            vsim_canvas_rect(c, (vsim_box){ xy[0] - lw, xy[1] - lw, 2 * lw, 2 * lw }, col,
                             (vsim_rgba){ 0 }, 0);
        else
            vsim_canvas_path(c, xy, m, (vsim_rgba){ 0 }, col, lw);
        m = 0;
    }
    vsim_free(xy);
}

static void draw_series(vsim_canvas *c, const vsim_plot_lines *l, const vsim_axes *ax,
                        const vsim_rgba *cols)
{
    for (size_t k = 0; k < l->n_series && !c->status; k++) {
        const vsim_plot_series *s = &l->series[k];
        vsim_rgba col = cols[k];
        double *sm;

        if (!(l->smooth > 0)) {
            curve(c, ax, s->x, s->y, s->n, l->log_y, col, 1.8);
            continue;
        }
        col.a = 0.25;
        curve(c, ax, s->x, s->y, s->n, l->log_y, col, 1.2);
        sm = vsim_mallocarray(s->n ? s->n : 1, sizeof(double));
        if (!sm) {
            c->status = vsim_fail(VSIM_ENOMEM, "line chart: out of memory");
            return;
        }
        vsim_scale_smooth(s->y, s->n, l->smooth, sm);
        curve(c, ax, s->x, sm, s->n, l->log_y, cols[k], 1.8);
        vsim_free(sm);
    }
}

int vsim_chart_lines_build(const vsim_plot_lines *l, const vsim_plot_style *st, vsim_canvas **out)
{
    vsim_rgba cols[VSIM_PLOT_MAX_CLASSES];
    const char *names[VSIM_PLOT_MAX_CLASSES];
    vsim_axes_spec spec = { 0 };
    vsim_canvas *c;
    vsim_axes ax;
    int rc;

    *out = NULL;
    if (!l || l->n_series == 0 || !l->series)
        return vsim_fail(VSIM_EINVAL, "line chart: no series");
    if (l->n_series > VSIM_PLOT_MAX_CLASSES)
        return vsim_fail(VSIM_ERANGE, "line chart: %zu series, but the palette tells only %d "
                         "apart", l->n_series, VSIM_PLOT_MAX_CLASSES);
    if (!(l->smooth >= 0 && l->smooth < 1))
        return vsim_fail(VSIM_EINVAL, "line chart: smoothing %g is outside [0, 1)", l->smooth);
    if ((rc = lines_range(l, &spec)) || (rc = vsim_canvas_create(st, &c)))
        return rc;
    for (size_t k = 0; k < l->n_series; k++) {
        cols[k] = vsim_rgb_hex(vsim_plot_palette(k), 1.0);
        names[k] = l->series[k].name ? l->series[k].name : "?";
    }
    spec.title = st ? st->title : NULL;
    spec.xlabel = st && st->xlabel ? st->xlabel : "step";
    spec.ylabel = st ? st->ylabel : NULL;
    if (l->n_series > 1)
        spec.right = vsim_chart_legend_width(c, names, l->n_series, VSIM_FONT_TICK) + 12;
    vsim_chart_axes(c, (vsim_box){ 0, 0, c->width, c->height }, &spec, &ax);
    vsim_canvas_clip(c, ax.area);
    draw_series(c, l, &ax, cols);
    vsim_canvas_unclip(c);
    vsim_chart_frame(c, &ax);
    if (l->n_series > 1)
        vsim_chart_legend(c, ax.area.x + ax.area.w + 14, ax.area.y, ax.area.h, names, cols,
                          l->n_series, 0);
    *out = c;
    return VSIM_OK;
}

int vsim_plot_lines_chart(const vsim_plot_lines *l, const vsim_plot_style *style,
                          const char *path)
{
    vsim_canvas *c;
    int format, rc = vsim_plot_format_of(path, &format);

    if (rc || (rc = vsim_chart_lines_build(l, style, &c)))
        return rc;
    rc = vsim_chart_finish(c, path);
    vsim_canvas_destroy(c);
    return rc;
}

/* Image k of a stack (channels x h x w floats) into ARGB pixels. */
static void to_argb(const vsim_plot_images *im, const float *img, uint32_t *px)
{
    size_t plane = im->h * im->w, nc = im->channels;
    double lo = 0.0, hi = 1.0;

    if (im->normalize) {
        lo = INFINITY;
        hi = -INFINITY;
        for (size_t i = 0; i < plane * nc; i++)
            if (isfinite(img[i])) {
                lo = fmin(lo, img[i]);
                hi = fmax(hi, img[i]);
            }
        if (!(hi > lo))
            hi = lo + 1.0;
    }
    for (size_t i = 0; i < plane; i++) {
        uint32_t ch[3];

        for (size_t k = 0; k < 3; k++) {
            double v = ((double)img[(nc == 3 ? k : 0) * plane + i] - lo) / (hi - lo);

            v = isfinite(v) ? fmin(fmax(v, 0.0), 1.0) : 0.0;
            ch[k] = (uint32_t)lround(v * 255);
        }
        px[i] = 0xFF000000u | ch[0] << 16 | ch[1] << 8 | ch[2];
    }
}

static void image_cell(vsim_canvas *c, const vsim_plot_images *im, const float *img, vsim_box b,
                       uint32_t *px)
{
    double s = fmin(b.w / im->w, b.h / im->h);
    vsim_box fit = { b.x + (b.w - s * im->w) / 2, b.y + (b.h - s * im->h) / 2, s * im->w,
                     s * im->h };

    to_argb(im, img, px);
    vsim_canvas_image(c, fit, px, (int)im->w, (int)im->h);
    vsim_canvas_rect(c, fit, (vsim_rgba){ 0 }, c->theme->frame, 0.5);
}

static void image_grid(vsim_canvas *c, const vsim_plot_images *im, double top, uint32_t *px)
{
    size_t per = im->recon ? 2 : 1, n_cols, n_rows;
    size_t elems = im->channels * im->h * im->w;
    double aspect = (double)im->w * per / im->h, cw, ch, gap = 10;

    n_cols = (size_t)lround(sqrt(im->n * (double)c->width / (c->height - top) / aspect));
    n_cols = n_cols < 1 ? 1 : (n_cols > im->n ? im->n : n_cols);
    n_rows = (im->n + n_cols - 1) / n_cols;
    cw = (c->width - gap) / (double)n_cols;
    ch = (c->height - top - gap) / (double)n_rows;
    for (size_t i = 0; i < im->n; i++) {
        double x = gap + (i % n_cols) * cw, y = top + (i / n_cols) * ch;
        double w = (cw - gap) / per;

        image_cell(c, im, im->input + i * elems, (vsim_box){ x, y, w - 2, ch - gap }, px);
        if (im->recon)
            image_cell(c, im, im->recon + i * elems, (vsim_box){ x + w, y, w - 2, ch - gap }, px);
    }
}

int vsim_chart_images_build(const vsim_plot_images *im, const vsim_plot_style *st,
                            vsim_canvas **out)
{
    vsim_canvas *c;
    uint32_t *px;
    double top = 8;
    int rc;

    *out = NULL;
    if (!im || !im->input || im->n == 0 || im->h == 0 || im->w == 0)
        return vsim_fail(VSIM_EINVAL, "image grid: no images");
    if (im->channels != 1 && im->channels != 3)
        return vsim_fail(VSIM_EINVAL, "image grid: %zu channels (want 1 or 3)", im->channels);
    if (im->h > 4096 || im->w > 4096 || im->n > 4096)
        return vsim_fail(VSIM_ERANGE, "image grid: %zu images of %zux%zu is too many to show",
                         im->n, im->h, im->w);
    if ((rc = vsim_canvas_create(st, &c)))
        return rc;
    px = vsim_mallocarray(im->h * im->w, sizeof(uint32_t));
    if (!px) {
        vsim_canvas_destroy(c);
        return vsim_fail(VSIM_ENOMEM, "image grid: out of memory");
    }
    if (st && st->title)
        top += vsim_canvas_text(c, c->width / 2.0, top, st->title, VSIM_FONT_TITLE, 1, 0, 0,
                                c->theme->fg, 1).h + 6;
    vsim_canvas_text(c, c->width / 2.0, top, im->recon ? "input | reconstruction" : "input",
                     VSIM_FONT_LABEL, 1, 0, 0, c->theme->muted, 0);
    top += VSIM_FONT_LABEL * 1.6;
    image_grid(c, im, top, px);
    vsim_free(px);
    *out = c;
    return VSIM_OK;
}

int vsim_plot_images_chart(const vsim_plot_images *im, const vsim_plot_style *style,
                           const char *path)
{
    vsim_canvas *c;
    int format, rc = vsim_plot_format_of(path, &format);

    if (rc || (rc = vsim_chart_images_build(im, style, &c)))
        return rc;
    rc = vsim_chart_finish(c, path);
    vsim_canvas_destroy(c);
    return rc;
}
