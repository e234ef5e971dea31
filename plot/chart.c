/*
 * plot/chart.c - pieces every chart shares: output format by extension, axes
 * layout (title, axis labels, tick labels thinned until they do not overlap),
 * frame, legend, categorical row labels, and finishing (replay into a file).
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "plot/plot_int.h"

#define TICK_LEN 4.0

int vsim_plot_format_of(const char *path, int *out)
{
    const char *dot = path ? strrchr(path, '.') : NULL;

    if (dot && !strcasecmp(dot, ".png"))
        *out = VSIM_PLOT_PNG;
    else if (dot && !strcasecmp(dot, ".svg"))
        *out = VSIM_PLOT_SVG;
    else if (dot && !strcasecmp(dot, ".pdf"))
        *out = VSIM_PLOT_PDF;
    else
        return vsim_fail(VSIM_EINVAL, "%s: unknown chart format (want .png, .svg or .pdf)",
                         path ? path : "(null)");
    return VSIM_OK;
}

static void compute_ticks(double lo, double hi, int log, int max_ticks, vsim_ticks *t)
{
    if (log)
        vsim_scale_log_ticks(log10(lo), log10(hi), max_ticks, t);
    else
        vsim_scale_ticks(lo, hi, max_ticks, t);
}

static double tick_value(const vsim_ticks *t, size_t i)
{
    return t->log ? pow(10.0, t->v[i]) : t->v[i];
}

/* Widest tick label of t at size. */
static double ticks_width(vsim_canvas *c, const vsim_ticks *t, double size)
{
    double wmax = 0.0;

    for (size_t i = 0; i < t->n; i++) {
        char s[64];
        double w, h;

        vsim_scale_format(t->v[i], t->step, t->log, s, sizeof(s));
        vsim_canvas_measure(c, s, size, 0, &w, &h);
        if (w > wmax)
            wmax = w;
    }
    return wmax;
}

/* x ticks whose labels keep a gap of one em between neighbours. */
static void fit_x_ticks(vsim_canvas *c, const vsim_axes_spec *sp, const vsim_scale *sx,
                        double size, vsim_ticks *t)
{
    int max_ticks = (int)((sx->p1 - sx->p0) / 50.0);

    if (max_ticks > 12)
        max_ticks = 12;
    for (; max_ticks >= 2; max_ticks--) {
        double pos[VSIM_SCALE_MAX_TICKS], ext[VSIM_SCALE_MAX_TICKS];

        compute_ticks(sp->xlo, sp->xhi, sp->xlog, max_ticks, t);
        for (size_t i = 0; i < t->n; i++) {
            char s[64];
            double h;

            vsim_scale_format(t->v[i], t->step, t->log, s, sizeof(s));
            vsim_canvas_measure(c, s, size, 0, &ext[i], &h);
            pos[i] = vsim_scale_map(sx, tick_value(t, i));
        }
        if (vsim_scale_thin(pos, ext, t->n, size) == 1)
            return;
    }
    compute_ticks(sp->xlo, sp->xhi, sp->xlog, 2, t);
    if (t->n > 2)
        t->n = 2;
}

static void draw_ticks(vsim_canvas *c, const vsim_axes *ax, double size)
{
    const vsim_theme *th = c->theme;
    const vsim_box *a = &ax->area;

    for (size_t i = 0; i < ax->ty.n; i++) {
        double y = vsim_scale_map(&ax->sy, tick_value(&ax->ty, i));
        char s[64];

        vsim_canvas_line(c, a->x, y, a->x + a->w, y, th->grid, 1.0, 0);
        vsim_canvas_line(c, a->x - TICK_LEN, y, a->x, y, th->frame, 1.0, 0);
        vsim_scale_format(ax->ty.v[i], ax->ty.step, ax->ty.log, s, sizeof(s));
        vsim_canvas_text(c, a->x - TICK_LEN - 2, y, s, size, 2, 1, 0, th->muted, 0);
    }
    for (size_t i = 0; i < ax->tx.n; i++) {
        double x = vsim_scale_map(&ax->sx, tick_value(&ax->tx, i));
        char s[64];

        vsim_canvas_line(c, x, a->y, x, a->y + a->h, th->grid, 1.0, 0);
        vsim_canvas_line(c, x, a->y + a->h, x, a->y + a->h + TICK_LEN, th->frame, 1.0, 0);
        vsim_scale_format(ax->tx.v[i], ax->tx.step, ax->tx.log, s, sizeof(s));
        vsim_canvas_text(c, x, a->y + a->h + TICK_LEN + 2, s, size, 1, 0, 0, th->muted, 0);
    }
}

void vsim_chart_axes(vsim_canvas *c, vsim_box box, const vsim_axes_spec *sp, vsim_axes *out)
{
    const vsim_theme *th = c->theme;
    double size = sp->font > 0 ? sp->font : VSIM_FONT_TICK, pad = 0.6 * size;
    double top = box.y + pad, bottom = box.y + box.h - pad, left = box.x + pad;
    double right = box.x + box.w - pad - sp->right, w, h, tick_h;
    int max_y;

    memset(out, 0, sizeof(*out));
    if (sp->title) {
        char fitted[512];
        vsim_box b;

        vsim_chart_fit_text(c, sp->title, size + 4, 1, box.w - 2 * pad, fitted, sizeof(fitted));
        b = vsim_canvas_text(c, box.x + box.w / 2, top, fitted, size + 4, 1, 0, 0, th->fg, 1);
        top += b.h + pad;
    }
    if (sp->xlabel) {
        vsim_canvas_measure(c, sp->xlabel, size + 1, 0, &w, &h);
        bottom -= h + 0.5 * pad;
    }
    vsim_canvas_measure(c, "0123456789", size, 0, &w, &tick_h);
    bottom -= tick_h + TICK_LEN + 2;
    if (sp->ylabel) {
        vsim_canvas_measure(c, sp->ylabel, size + 1, 0, &w, &h);
        left += h + pad;
    }
    max_y = (int)((bottom - top) / (tick_h * 2.8));
    if (!sp->no_yticks) {
        compute_ticks(sp->ylo, sp->yhi, sp->ylog, max_y < 2 ? 2 : (max_y > 10 ? 10 : max_y),
                      &out->ty);
        left += ticks_width(c, &out->ty, size) + TICK_LEN + 2;
    }
    left += sp->left_min;   /* room for categorical row labels, right of the y label */
    right -= 0.5 * size;   /* room for half of the last x tick label */
    if (right < left + 10)
        right = left + 10;
    if (bottom < top + 10)
        bottom = top + 10;
    out->area = (vsim_box){ left, top, right - left, bottom - top };
    out->sx = (vsim_scale){ sp->xlog ? log10(sp->xlo) : sp->xlo,
                            sp->xlog ? log10(sp->xhi) : sp->xhi, left, right, sp->xlog };
    out->sy = (vsim_scale){ sp->ylog ? log10(sp->ylo) : sp->ylo,
                            sp->ylog ? log10(sp->yhi) : sp->yhi, bottom, top, sp->ylog };
    fit_x_ticks(c, sp, &out->sx, size, &out->tx);
    if (sp->xlabel)
        vsim_canvas_text(c, left + (right - left) / 2, box.y + box.h - pad, sp->xlabel,
                         size + 1, 1, 2, 0, th->fg, 0);
    if (sp->ylabel)
        vsim_canvas_text(c, box.x + pad, top + (bottom - top) / 2, sp->ylabel, size + 1, 1, 0,
                         90, th->fg, 0);
    vsim_canvas_rect(c, out->area, th->plot_bg, (vsim_rgba){ 0, 0, 0, 0 }, 0);
    draw_ticks(c, out, size);
}

void vsim_chart_frame(vsim_canvas *c, const vsim_axes *ax)
{
    vsim_canvas_rect(c, ax->area, (vsim_rgba){ 0, 0, 0, 0 }, c->theme->frame, 1.0);
}

double vsim_chart_legend_width(vsim_canvas *c, const char *const *names, size_t n, double size)
{
    double wmax = 0.0;

    for (size_t i = 0; i < n; i++) {
        double w, h;

        vsim_canvas_measure(c, names[i], size, 0, &w, &h);
        if (w > wmax)
            wmax = w;
    }
    return wmax + 2.2 * size;
}

void vsim_chart_legend(vsim_canvas *c, double x, double y, double max_h,
                       const char *const *names, const vsim_rgba *colors, size_t n, int disc)
{
    double size = VSIM_FONT_TICK, row;

    while (size > 8.0 && n * 1.5 * size > max_h)
        size -= 0.5;
    row = 1.5 * size;
    for (size_t i = 0; i < n; i++) {
        double cy = y + (i + 0.5) * row;
        vsim_rgba none = { 0, 0, 0, 0 };

        if (disc) {
            vsim_box sw = { x, cy - 0.35 * size, 0.7 * size, 0.7 * size };

            vsim_canvas_rect(c, sw, colors[i], none, 0);
        } else {
            vsim_canvas_line(c, x, cy, x + 1.4 * size, cy, colors[i], 2.5, 0);
        }
        vsim_canvas_text(c, x + (disc ? 1.2 : 1.9) * size, cy, names[i], size, 0, 1, 0,
                         c->theme->fg, 0);
    }
}

void vsim_chart_fit_text(vsim_canvas *c, const char *name, double size, int bold, double max_w,
                         char *out, size_t cap)
{
    const char *p = name;
    double w, h;

    snprintf(out, cap, "%s", name);
    vsim_canvas_measure(c, out, size, bold, &w, &h);
    while (w > max_w && strlen(p) > 4) {
        p++;
        while ((*p & 0xC0) == 0x80)
            p++;
        snprintf(out, cap, "…%s", p);
        vsim_canvas_measure(c, out, size, bold, &w, &h);
    }
}

void vsim_chart_row_labels(vsim_canvas *c, const char *const *names, size_t n, double x_right,
                           double y_top, double row_h, double max_w)
{
    double size = row_h * 0.75, w, h;
    size_t k = 1;

    if (size > VSIM_FONT_TICK)
        size = VSIM_FONT_TICK;
    if (size < 7.0) {
        /* rows too thin for legible text: label every k-th row */
        size = 7.0;
        vsim_canvas_measure(c, "Ag", size, 0, &w, &h);
        k = (size_t)ceil((h + 1.0) / row_h);
    }
    for (size_t i = 0; i < n; i += k) {
        char s[256];

        vsim_chart_fit_text(c, names && names[i] ? names[i] : "?", size, 0, max_w, s,
                            sizeof(s));
        vsim_canvas_text(c, x_right, y_top + (i + 0.5) * row_h, s, size, 2, 1, 0,
                         c->theme->fg, 0);
    }
}

int vsim_chart_finish(vsim_canvas *c, const char *path)
{
    if (c->note)
        vsim_canvas_text(c, c->width - 4.0, c->height - 3.0, c->note, 9.0, 2, 2, 0,
                         c->theme->muted, 0);
    if (c->status)
        return c->status;
    return vsim_render_write(c, path);
}
