/*
 * plot/canvas.c - the display list charts draw into (plot/plot_int.h), themes
 * and colour maps. Adding an operation never fails loudly: the first
 * allocation failure is kept in c->status and reported when the chart finishes
 * (cairo's own error model), which keeps chart code free of checks per line.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <string.h>

#include "core/mem.h"
#include "plot/plot_int.h"

static const vsim_theme light_theme = {
    .bg = { 1, 1, 1, 1 },
    .fg = { 0.13, 0.13, 0.13, 1 },
    .muted = { 0.38, 0.38, 0.38, 1 },
    .grid = { 0.88, 0.88, 0.88, 1 },
    .frame = { 0.55, 0.55, 0.55, 1 },
    .plot_bg = { 1, 1, 1, 1 },
    .missing = { 0.85, 0.85, 0.85, 1 },
};

static const vsim_theme dark_theme = {
    .bg = { 0.11, 0.12, 0.14, 1 },
    .fg = { 0.90, 0.90, 0.90, 1 },
    .muted = { 0.65, 0.65, 0.65, 1 },
    .grid = { 0.24, 0.25, 0.28, 1 },
    .frame = { 0.45, 0.45, 0.48, 1 },
    .plot_bg = { 0.11, 0.12, 0.14, 1 },
    .missing = { 0.30, 0.30, 0.30, 1 },
};

const vsim_theme *vsim_theme_get(int dark)
{
    return dark ? &dark_theme : &light_theme;
}

vsim_rgba vsim_rgb_hex(uint32_t rgb, double alpha)
{
    vsim_rgba c = { ((rgb >> 16) & 255) / 255.0, ((rgb >> 8) & 255) / 255.0, (rgb & 255) / 255.0,
                    alpha };

    return c;
}

/*
 * Tableau 10 (matplotlib's default cycle) followed by ten saturated colours
 * of other hues, so 20 classes stay apart on light and dark backgrounds.
 */
static const uint32_t palette[VSIM_PLOT_MAX_CLASSES] = {
    0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b, 0xe377c2, 0x7f7f7f,
    0xbcbd22, 0x17becf, 0x000080, 0x808000, 0x800000, 0xf032e6, 0x469990, 0xe6b800,
    0x00c957, 0x6a3d9a, 0xff9e9e, 0xa6761d
};

uint32_t vsim_plot_palette(size_t k)
{
    return k < VSIM_PLOT_MAX_CLASSES ? palette[k] : 0x9a9a9a;
}

/* Viridis sampled at 9 stops (matplotlib's table), linearly interpolated. */
vsim_rgba vsim_viridis(double t)
{
    static const uint32_t stops[9] = { 0x440154, 0x472d7b, 0x3b528b, 0x2c728e, 0x21918c,
                                       0x28ae80, 0x5ec962, 0xaddc30, 0xfde725 };
    vsim_rgba a, b, c;
    double f;
    int i;

    if (!(t > 0.0))
        t = 0.0;
    if (t > 1.0)
        t = 1.0;
    f = t * 8.0;
    i = (int)f;
    if (i > 7)
        i = 7;
    f -= i;
    a = vsim_rgb_hex(stops[i], 1.0);
    b = vsim_rgb_hex(stops[i + 1], 1.0);
    c.r = a.r + (b.r - a.r) * f;
    c.g = a.g + (b.g - a.g) * f;
    c.b = a.b + (b.b - a.b) * f;
    c.a = 1.0;
    return c;
}

int vsim_canvas_create(const vsim_plot_style *style, vsim_canvas **out)
{
    vsim_plot_style def = VSIM_PLOT_STYLE_INIT;
    vsim_canvas *c;

    *out = NULL;
    if (!style)
        style = &def;
    if (style->width < 0 || style->height < 0 || style->width > 20000 || style->height > 20000 ||
        (style->width && style->width < 64) || (style->height && style->height < 64))
        return vsim_fail(VSIM_EINVAL, "chart size %dx%d is out of range (64..20000)",
                         style->width, style->height);
    if (style->scale < 0 || style->scale > 16 || !isfinite(style->scale))
        return vsim_fail(VSIM_EINVAL, "pixel scale %g is out of range (0..16)", style->scale);
    c = vsim_calloc(1, sizeof(*c));
    if (!c)
        return vsim_fail(VSIM_ENOMEM, "chart: out of memory");
    c->width = style->width ? style->width : 1200;
    c->height = style->height ? style->height : 900;
    c->scale = style->scale > 0 ? style->scale : 1.0;
    c->theme = vsim_theme_get(style->dark);
    c->measurer = vsim_render_measurer_new();
    *out = c;
    return VSIM_OK;
}

void vsim_canvas_destroy(vsim_canvas *c)
{
    if (!c)
        return;
    vsim_render_measurer_free(c->measurer);
    vsim_arena_release(&c->arena);
    vsim_free(c->ops);
    vsim_free(c);
}

static vsim_op *push(vsim_canvas *c, vsim_op_kind kind)
{
    vsim_op *op;

    if (c->status)
        return NULL;
    if (vsim_grow((void **)&c->ops, &c->cap_ops, c->n_ops + 1, sizeof(*c->ops))) {
        c->status = vsim_fail(VSIM_ENOMEM, "chart: out of memory");
        return NULL;
    }
    op = &c->ops[c->n_ops++];
    memset(op, 0, sizeof(*op));
    op->kind = kind;
    return op;
}

static void *arena_copy(vsim_canvas *c, const void *p, size_t n_bytes)
{
    void *q;

    if (c->status)
        return NULL;
    q = vsim_arena_alloc(&c->arena, n_bytes ? n_bytes : 1);
    if (!q) {
        c->status = vsim_fail(VSIM_ENOMEM, "chart: out of memory");
        return NULL;
    }
    if (p)
        memcpy(q, p, n_bytes);
    return q;
}

void vsim_canvas_rect(vsim_canvas *c, vsim_box b, vsim_rgba fill, vsim_rgba stroke, double lw)
{
    vsim_op *op = push(c, VSIM_OP_RECT);

    if (!op)
        return;
    op->box = b;
    op->fill = fill;
    op->stroke = stroke;
    op->lw = lw;
}

void vsim_canvas_line(vsim_canvas *c, double x0, double y0, double x1, double y1,
                      vsim_rgba color, double lw, int dash)
{
    double xy[4] = { x0, y0, x1, y1 };
    vsim_rgba none = { 0, 0, 0, 0 };

    vsim_canvas_path(c, xy, 2, none, color, lw);
    if (!c->status)
        c->ops[c->n_ops - 1].dash = dash;
}

void vsim_canvas_path(vsim_canvas *c, const double *xy, size_t n, vsim_rgba fill,
                      vsim_rgba stroke, double lw)
{
    double *copy;
    vsim_op *op;

    if (n < 2)
        return;
    copy = arena_copy(c, xy, 2 * n * sizeof(double));
    op = copy ? push(c, VSIM_OP_PATH) : NULL;
    if (!op)
        return;
    op->xy = copy;
    op->n_xy = n;
    op->fill = fill;
    op->stroke = stroke;
    op->lw = lw;
}

void vsim_canvas_measure(vsim_canvas *c, const char *text, double size, int bold, double *w,
                         double *h)
{
    vsim_render_measure(c->measurer, text, size, bold, w, h);
}

vsim_box vsim_canvas_text(vsim_canvas *c, double x, double y, const char *text, double size,
                          int halign, int valign, double angle, vsim_rgba color, int bold)
{
    vsim_box b = { x, y, 0, 0 };
    double w, h, along, across;
    char *copy;
    vsim_op *op;

    if (!text || !*text)
        return b;
    vsim_canvas_measure(c, text, size, bold, &w, &h);
    /* the box along the reading direction, then turned for vertical text */
    along = -0.5 * halign * w;
    across = -0.5 * valign * h;
    if (angle == 0.0) {
        b = (vsim_box){ x + along, y + across, w, h };
    } else {
        b = (vsim_box){ x + across, y - along - w, h, w };
    }
    copy = arena_copy(c, text, strlen(text) + 1);
    op = copy ? push(c, VSIM_OP_TEXT) : NULL;
    if (!op)
        return b;
    op->text = copy;
    op->x = x;
    op->y = y;
    op->size = size;
    op->halign = halign;
    op->valign = valign;
    op->angle = angle;
    op->fill = color;
    op->bold = bold;
    op->box = b;
    return b;
}

void vsim_canvas_points(vsim_canvas *c, const vsim_points_op *p)
{
    vsim_points_op *copy = arena_copy(c, p, sizeof(*p));
    vsim_rgba *colors = arena_copy(c, p->colors, p->n_colors * sizeof(*colors));
    vsim_op *op = copy && colors ? push(c, VSIM_OP_POINTS) : NULL;

    if (!op)
        return;
    copy->colors = colors;
    if (copy->stride < 1)
        copy->stride = 1;
    op->pts = copy;
}

void vsim_canvas_image(vsim_canvas *c, vsim_box b, const uint32_t *argb, int iw, int ih)
{
    uint32_t *copy = arena_copy(c, argb, (size_t)iw * (size_t)ih * sizeof(uint32_t));
    vsim_op *op = copy ? push(c, VSIM_OP_IMAGE) : NULL;

    if (!op)
        return;
    op->box = b;
    op->argb = copy;
    op->iw = iw;
    op->ih = ih;
}

void vsim_canvas_clip(vsim_canvas *c, vsim_box b)
{
    vsim_op *op = push(c, VSIM_OP_CLIP);

    if (op)
        op->box = b;
}

void vsim_canvas_unclip(vsim_canvas *c)
{
    push(c, VSIM_OP_UNCLIP);
}
