/*
 * plot/chart_grid.c - charts over steps: TensorBoard-style percentile bands
 * (one tensor, or small multiples of many) and the layer-by-step heat map of
 * a statistic with its colour bar (issue 6).
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>

#include "core/mem.h"
#include "plot/plot_int.h"

/* Normal-distribution basis points TensorBoard's distributions view uses. */
const double vsim_plot_band_pct[VSIM_PLOT_N_BAND_PCT] = { 0, 6.68, 15.87, 30.85, 50,
                                                          69.15, 84.13, 93.32, 100 };

/* 1 and the finite range of a series' percentiles, or 0 if it has none. */
static int bands_range(const vsim_plot_bands *s, double *ylo, double *yhi)
{
    return vsim_scale_range(s->pct, s->n_steps * VSIM_PLOT_N_BAND_PCT, 0, ylo, yhi) == VSIM_OK;
}

/* Band between percentile columns a and b over one run [i0, i1) of finite rows. */
static void band_run(vsim_canvas *c, const vsim_plot_bands *s, const vsim_axes *ax, size_t i0,
                     size_t i1, int a, int b, vsim_rgba col)
{
    size_t n = i1 - i0, k = 0;
    double *xy;

    if (n == 1) {
        double x = vsim_scale_map(&ax->sx, s->steps[i0]);
        double y0 = vsim_scale_map(&ax->sy, s->pct[i0 * VSIM_PLOT_N_BAND_PCT + b]);
        double y1 = vsim_scale_map(&ax->sy, s->pct[i0 * VSIM_PLOT_N_BAND_PCT + a]);

        vsim_canvas_rect(c, (vsim_box){ x - 2, y0, 4, y1 - y0 }, col, (vsim_rgba){ 0 }, 0);
        return;
    }
    xy = vsim_mallocarray(4 * n, sizeof(double));
    if (!xy) {
        c->status = vsim_fail(VSIM_ENOMEM, "bands: out of memory");
        return;
    }
    for (size_t i = i0; i < i1; i++, k++) {
        xy[2 * k] = vsim_scale_map(&ax->sx, s->steps[i]);
        xy[2 * k + 1] = vsim_scale_map(&ax->sy, s->pct[i * VSIM_PLOT_N_BAND_PCT + b]);
    }
    for (size_t i = i1; i-- > i0; k++) {
        xy[2 * k] = vsim_scale_map(&ax->sx, s->steps[i]);
        xy[2 * k + 1] = vsim_scale_map(&ax->sy, s->pct[i * VSIM_PLOT_N_BAND_PCT + a]);
    }
    vsim_canvas_path(c, xy, 2 * n, col, (vsim_rgba){ 0 }, 0);
    vsim_free(xy);
}

static int row_finite(const vsim_plot_bands *s, size_t i)
{
    for (int j = 0; j < VSIM_PLOT_N_BAND_PCT; j++)
        if (!isfinite(s->pct[i * VSIM_PLOT_N_BAND_PCT + j]))
            return 0;
    return isfinite(s->steps[i]);
}

static void draw_bands(vsim_canvas *c, const vsim_plot_bands *s, const vsim_axes *ax,
                       vsim_rgba col)
{
    static const double alpha[4] = { 0.18, 0.28, 0.40, 0.55 };
    vsim_rgba med = { col.r * 0.6, col.g * 0.6, col.b * 0.6, 1 };

    for (size_t i0 = 0; i0 < s->n_steps;) {
        size_t i1 = i0;

        while (i1 < s->n_steps && row_finite(s, i1))
            i1++;
        if (i1 == i0) {
            i0++;
            continue;
        }
        for (int k = 0; k < 4; k++) {
            col.a = alpha[k];
            band_run(c, s, ax, i0, i1, k, VSIM_PLOT_N_BAND_PCT - 1 - k, col);
        }
        for (size_t i = i0; i + 1 < i1; i++)
            vsim_canvas_line(c, vsim_scale_map(&ax->sx, s->steps[i]),
                             vsim_scale_map(&ax->sy, s->pct[i * VSIM_PLOT_N_BAND_PCT + 4]),
                             vsim_scale_map(&ax->sx, s->steps[i + 1]),
                             vsim_scale_map(&ax->sy, s->pct[(i + 1) * VSIM_PLOT_N_BAND_PCT + 4]),
                             med, 1.5, 0);
        i0 = i1;
    }
}

static void bands_panel(vsim_canvas *c, const vsim_plot_bands *s, vsim_box cell, double font,
                        const char *title, const vsim_plot_style *st)
{
    vsim_axes_spec spec = { 0 };
    vsim_rgba col = vsim_rgb_hex(vsim_plot_palette(1), 1.0);
    char fitted[256];
    vsim_axes ax;

    if (!bands_range(s, &spec.ylo, &spec.yhi))
        spec.ylo = 0, spec.yhi = 1;
    spec.xlo = s->n_steps ? s->steps[0] : 0;
    spec.xhi = s->n_steps ? s->steps[s->n_steps - 1] : 1;
    vsim_scale_pad(&spec.xlo, &spec.xhi, 0.0);
    vsim_scale_pad(&spec.ylo, &spec.yhi, 0.04);
    spec.font = font;
    if (title) {
        vsim_chart_fit_text(c, title, font + 4, 1, cell.w - 2 * font, fitted, sizeof(fitted));
        spec.title = fitted;
    }
    spec.xlabel = font >= VSIM_FONT_TICK ? (st && st->xlabel ? st->xlabel : "step") : NULL;
    spec.ylabel = font >= VSIM_FONT_TICK ? (st ? st->ylabel : NULL) : NULL;
    vsim_chart_axes(c, cell, &spec, &ax);
    vsim_canvas_clip(c, ax.area);
    draw_bands(c, s, &ax, col);
    vsim_canvas_unclip(c);
    vsim_chart_frame(c, &ax);
}

int vsim_chart_bands_build(const vsim_plot_bands *s, size_t n, const vsim_plot_style *st,
                           vsim_canvas **out)
{
    size_t cols, rows, any = 0;
    vsim_canvas *c;
    double top = 0, font;
    int rc;

    *out = NULL;
    for (size_t i = 0; s && i < n; i++) {
        double lo, hi;

        if (s[i].n_steps && (!s[i].steps || !s[i].pct))
            return vsim_fail(VSIM_EINVAL, "bands: series %zu has no data arrays", i);
        any += bands_range(&s[i], &lo, &hi);
    }
    if (!s || n == 0 || !any)
        return vsim_fail(VSIM_EINVAL, "bands: no finite percentiles to draw");
    if ((rc = vsim_canvas_create(st, &c)))
        return rc;
    if (n == 1) {
        bands_panel(c, s, (vsim_box){ 0, 0, c->width, c->height }, VSIM_FONT_TICK,
                    st && st->title ? st->title : s->name, st);
        *out = c;
        return VSIM_OK;
    }
    if (st && st->title) {
        vsim_box b = vsim_canvas_text(c, c->width / 2.0, 8, st->title, VSIM_FONT_TITLE, 1, 0, 0,
                                      c->theme->fg, 1);

        top = b.h + 12;
    }
    cols = (size_t)ceil(sqrt(n * (double)c->width / c->height));
    cols = cols > n ? n : cols;
    rows = (n + cols - 1) / cols;
    font = fmax(7.0, fmin(VSIM_FONT_TICK - 2, (c->height - top) / rows / 14.0));
    for (size_t i = 0; i < n; i++) {
        double cw = c->width / (double)cols, ch = (c->height - top) / (double)rows;
        vsim_box cell = { (i % cols) * cw, top + (i / cols) * ch, cw, ch };

        bands_panel(c, &s[i], cell, font, s[i].name, st);
    }
    *out = c;
    return VSIM_OK;
}

int vsim_plot_bands_chart(const vsim_plot_bands *s, size_t n_series, const vsim_plot_style *style,
                          const char *path)
{
    vsim_canvas *c;
    int format, rc = vsim_plot_format_of(path, &format);

    if (rc || (rc = vsim_chart_bands_build(s, n_series, style, &c)))
        return rc;
    rc = vsim_chart_finish(c, path);
    vsim_canvas_destroy(c);
    return rc;
}

/* Left and right edge of column j: half-way to the neighbouring steps. */
static void col_edges(const vsim_plot_heatmap *h, size_t j, double *x0, double *x1)
{
    const double *s = h->col_steps;
    double half = h->n_cols > 1 ? 0.5 * (j + 1 < h->n_cols ? s[j + 1] - s[j] : s[j] - s[j - 1])
                                : 0.5;

    *x0 = j > 0 ? 0.5 * (s[j - 1] + s[j]) : s[j] - half;
    *x1 = j + 1 < h->n_cols ? 0.5 * (s[j] + s[j + 1]) : s[j] + half;
}

static void colour_bar(vsim_canvas *c, const vsim_axes *ax, double vlo, double vhi,
                       const char *label)
{
    double x = ax->area.x + ax->area.w + 16, w = 16, y0 = ax->area.y, hh = ax->area.h;
    vsim_scale sv = { vlo, vhi, y0 + hh, y0, 0 };
    vsim_rgba none = { 0 };
    vsim_ticks t;

    for (int k = 0; k < 64; k++)
        vsim_canvas_rect(c, (vsim_box){ x, y0 + hh * (63 - k) / 64.0, w, hh / 64.0 + 0.5 },
                         vsim_viridis((k + 0.5) / 64.0), none, 0);
    vsim_canvas_rect(c, (vsim_box){ x, y0, w, hh }, none, c->theme->frame, 1.0);
    vsim_scale_ticks(vlo, vhi, (int)fmax(2, fmin(8, hh / 40)), &t);
    for (size_t i = 0; i < t.n; i++) {
        double y = vsim_scale_map(&sv, t.v[i]);
        char s[64];

        vsim_scale_format(t.v[i], t.step, 0, s, sizeof(s));
        vsim_canvas_line(c, x + w, y, x + w + 4, y, c->theme->frame, 1.0, 0);
        vsim_canvas_text(c, x + w + 6, y, s, VSIM_FONT_TICK, 0, 1, 0, c->theme->muted, 0);
    }
    if (label)
        vsim_canvas_text(c, c->width - 6.0, y0 + hh / 2, label, VSIM_FONT_LABEL, 1, 2, 90,
                         c->theme->fg, 0);
}

static void heat_cells(vsim_canvas *c, const vsim_plot_heatmap *h, const vsim_axes *ax,
                       double vlo, double vhi)
{
    double row_h = ax->area.h / (double)h->n_rows, span = vhi > vlo ? vhi - vlo : 1.0;
    vsim_rgba none = { 0 };

    for (size_t i = 0; i < h->n_rows; i++)
        for (size_t j = 0; j < h->n_cols; j++) {
            double v = h->v[i * h->n_cols + j], x0, x1, px0, px1;

            col_edges(h, j, &x0, &x1);
            px0 = vsim_scale_map(&ax->sx, x0);
            px1 = vsim_scale_map(&ax->sx, x1);
            vsim_canvas_rect(c, (vsim_box){ px0, ax->area.y + i * row_h, px1 - px0 + 1.0,
                                            row_h + 1.0 },
                             isfinite(v) ? vsim_viridis((v - vlo) / span) : c->theme->missing,
                             none, 0);
        }
}

int vsim_chart_heatmap_build(const vsim_plot_heatmap *h, const vsim_plot_style *st,
                             vsim_canvas **out)
{
    double vlo, vhi, name_w = 0, x0, x1, w, hh;
    vsim_axes_spec spec = { 0 };
    vsim_canvas *c;
    vsim_axes ax;
    int rc;

    *out = NULL;
    if (!h || !h->v || h->n_rows == 0 || h->n_cols == 0 || !h->col_steps)
        return vsim_fail(VSIM_EINVAL, "heat map: no data");
    if (vsim_scale_range(h->v, h->n_rows * h->n_cols, 0, &vlo, &vhi))
        return vsim_fail(VSIM_EINVAL, "heat map: all %zu values are NaN or infinite",
                         h->n_rows * h->n_cols);
    if ((rc = vsim_canvas_create(st, &c)))
        return rc;
    vsim_scale_pad(&vlo, &vhi, 0.0);
    for (size_t i = 0; i < h->n_rows; i++) {
        vsim_canvas_measure(c, h->row_names && h->row_names[i] ? h->row_names[i] : "?",
                            VSIM_FONT_TICK, 0, &w, &hh);
        name_w = fmax(name_w, fmin(w, 0.3 * c->width));
    }
    col_edges(h, 0, &x0, &x1);
    spec.xlo = x0;
    col_edges(h, h->n_cols - 1, &x0, &x1);
    spec.xhi = x1;
    spec.ylo = 0;
    spec.yhi = (double)h->n_rows;
    spec.no_yticks = 1;
    spec.left_min = name_w + 16;
    spec.right = 90;
    spec.title = st ? st->title : NULL;
    spec.xlabel = st && st->xlabel ? st->xlabel : "step";
    vsim_chart_axes(c, (vsim_box){ 0, 0, c->width, c->height }, &spec, &ax);
    heat_cells(c, h, &ax, vlo, vhi);
    vsim_chart_frame(c, &ax);
    vsim_chart_row_labels(c, h->row_names, h->n_rows, ax.area.x - 6, ax.area.y,
                          ax.area.h / (double)h->n_rows, name_w);
    colour_bar(c, &ax, vlo, vhi, h->value_label);
    *out = c;
    return VSIM_OK;
}

int vsim_plot_heatmap_chart(const vsim_plot_heatmap *h, const vsim_plot_style *style,
                            const char *path)
{
    vsim_canvas *c;
    int format, rc = vsim_plot_format_of(path, &format);

    if (rc || (rc = vsim_chart_heatmap_build(h, style, &c)))
        return rc;
    rc = vsim_chart_finish(c, path);
    vsim_canvas_destroy(c);
    return rc;
}
