/*
 * plot/render_cairo.c - the only cairo user: measures text (DejaVu Sans via
 * fontconfig) and replays a canvas into PNG, SVG or PDF in memory, then writes
 * the file atomically (core/fs.h), so a failed chart leaves nothing behind.
 * Scatter marks on PNG are rasterised straight into the image surface's
 * pixels (a precomputed anti-aliased disc stamp blended per point): a million
 * points cost tens of milliseconds instead of a million cairo fills.
 * Without cairo (CAIRO=0) text is estimated and writing returns VSIM_EUNSUP.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <string.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/mem.h"
#include "plot/plot_int.h"

#ifdef VSIM_HAVE_CAIRO
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <cairo.h>
#include <setjmp.h>
#ifdef VSIM_HAVE_LIBPNG
#include <png.h>
#endif

typedef struct measurer {
    cairo_surface_t *surface;
    cairo_t *cr;
} measurer;

static void set_font(cairo_t *cr, double size, int bold)
{
    cairo_select_font_face(cr, VSIM_FONT_FAMILY, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

void *vsim_render_measurer_new(void)
{
    measurer *m = vsim_calloc(1, sizeof(*m));

    if (!m)
        return NULL;
    m->surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1);
    m->cr = cairo_create(m->surface);
    return m;
}

void vsim_render_measurer_free(void *p)
{
    measurer *m = p;

    if (!m)
        return;
    cairo_destroy(m->cr);
    cairo_surface_destroy(m->surface);
    vsim_free(m);
}

void vsim_render_measure(void *p, const char *text, double size, int bold, double *w, double *h)
{
    measurer *m = p;
    cairo_text_extents_t te;
    cairo_font_extents_t fe;

    if (!m || cairo_status(m->cr) != CAIRO_STATUS_SUCCESS) {
        *w = 0.62 * size * (double)strlen(text);
        *h = 1.17 * size;
        return;
    }
    set_font(m->cr, size, bold);
    cairo_text_extents(m->cr, text, &te);
    cairo_font_extents(m->cr, &fe);
    *w = te.x_advance;
    *h = fe.ascent + fe.descent;
}

static void set_rgba(cairo_t *cr, vsim_rgba c)
{
    cairo_set_source_rgba(cr, c.r, c.g, c.b, c.a);
}

static void fill_stroke(cairo_t *cr, const vsim_op *op)
{
    if (op->fill.a > 0) {
        set_rgba(cr, op->fill);
        if (op->stroke.a > 0)
            cairo_fill_preserve(cr);
        else
            cairo_fill(cr);
    }
    if (op->stroke.a > 0) {
        static const double dash[2] = { 5.0, 3.0 };

        set_rgba(cr, op->stroke);
        cairo_set_line_width(cr, op->lw > 0 ? op->lw : 1.0);
        cairo_set_dash(cr, dash, op->dash ? 2 : 0, 0);
        cairo_stroke(cr);
    }
    cairo_new_path(cr);
}

static void draw_text(cairo_t *cr, const vsim_op *op)
{
    cairo_font_extents_t fe;
    cairo_text_extents_t te;

    set_font(cr, op->size, op->bold);
    cairo_font_extents(cr, &fe);
    cairo_text_extents(cr, op->text, &te);
    cairo_save(cr);
    cairo_translate(cr, op->x, op->y);
    if (op->angle != 0.0)
        cairo_rotate(cr, -op->angle * M_PI / 180.0);
    set_rgba(cr, op->fill);
    cairo_move_to(cr, -0.5 * op->halign * te.x_advance,
                  -0.5 * op->valign * (fe.ascent + fe.descent) + fe.ascent);
    cairo_show_text(cr, op->text);
    cairo_new_path(cr);
    cairo_restore(cr);
}

/* One pixel of the disc stamp: offset from the centre pixel and coverage 1..255. */
typedef struct stamp_px {
    int dx, dy;
    uint8_t cov;
} stamp_px;

/*
 * Anti-aliased disc of radius r (pixels), 4x4 supersampled, as the list of
 * pixels with non-zero coverage (at most (2R+1)^2 entries); *out_R its reach.
 */
static stamp_px *disc_stamp(double r, int *out_R, size_t *n_out)
{
    int R = (int)ceil(r + 0.5), side = 2 * R + 1;
    stamp_px *st = vsim_mallocarray((size_t)side * (size_t)side, sizeof(*st));
    size_t n = 0;

    if (!st)
        return NULL;
    for (int j = 0; j < side; j++)
        for (int i = 0; i < side; i++) {
            int in = 0;

            for (int sj = 0; sj < 4; sj++)
                for (int si = 0; si < 4; si++) {
                    double dx = i - R + (si + 0.5) / 4 - 0.5, dy = j - R + (sj + 0.5) / 4 - 0.5;

                    in += dx * dx + dy * dy <= r * r;
                }
            if (in)
                st[n++] = (stamp_px){ i - R, j - R, (uint8_t)((in * 255 + 8) / 16) };
        }
    *out_R = R;
    *n_out = n;
    return st;
}

/* x / 255 rounded, for x in 0..65025 (exact; no division). */
static inline uint32_t div255(uint32_t x)
{
    x += 128;
    return (x + (x >> 8)) >> 8;
}

/* Blend colour rgb (0..255 each) at alpha a8 (0..255) over premultiplied ARGB pixel *p. */
static inline void blend(uint32_t *p, const uint32_t *rgb, uint32_t a8)
{
    uint32_t d = *p, ia = 255 - a8;

    *p = div255(255 * a8 + (d >> 24) * ia) << 24 |
         div255(rgb[0] * a8 + ((d >> 16) & 255) * ia) << 16 |
         div255(rgb[1] * a8 + ((d >> 8) & 255) * ia) << 8 | div255(rgb[2] * a8 + (d & 255) * ia);
}

/* Device-pixel clip rectangle [x0, x1) x [y0, y1) of clip (NULL: the surface). */
static void clip_rect(const vsim_box *clip, double scale, int W, int H, int r[4])
{
    r[0] = 0, r[1] = 0, r[2] = W, r[3] = H;
    if (!clip)
        return;
    r[0] = (int)fmax(0, floor(clip->x * scale));
    r[1] = (int)fmax(0, floor(clip->y * scale));
    r[2] = (int)fmin(W, ceil((clip->x + clip->w) * scale));
    r[3] = (int)fmin(H, ceil((clip->y + clip->h) * scale));
}

/* Rasterise a points batch straight into the image surface, inside clip (device pixels). */
static int raster_points(cairo_surface_t *s, const vsim_points_op *p, double scale,
                         const vsim_box *clip)
{
    int W = cairo_image_surface_get_width(s), H = cairo_image_surface_get_height(s), R = 0, cr[4];
    size_t stride = (size_t)cairo_image_surface_get_stride(s) / 4, n_st = 0;
    uint32_t rgb[VSIM_PLOT_MAX_CLASSES + 1][3], lut[256];
    stamp_px *st = disc_stamp(p->radius * scale, &R, &n_st);
    int n_col = p->n_colors < VSIM_PLOT_MAX_CLASSES + 1 ? (int)p->n_colors
                                                         : VSIM_PLOT_MAX_CLASSES + 1;
    /* pixel = data * a + b, the vsim_scale map folded into two constants per axis */
    double ax = (p->sx.p1 - p->sx.p0) / (p->sx.d1 - p->sx.d0) * scale;
    double bx = p->sx.p0 * scale - p->sx.d0 * ax;
    double ay = (p->sy.p1 - p->sy.p0) / (p->sy.d1 - p->sy.d0) * scale;
    double by = p->sy.p0 * scale - p->sy.d0 * ay;
    uint32_t *px;

    if (!st)
        return vsim_fail(VSIM_ENOMEM, "scatter: out of memory");
    VSIM_ASSERT(!p->sx.log && !p->sy.log);
    for (int k = 0; k < n_col; k++) {
        rgb[k][0] = (uint32_t)lround(p->colors[k].r * 255);
        rgb[k][1] = (uint32_t)lround(p->colors[k].g * 255);
        rgb[k][2] = (uint32_t)lround(p->colors[k].b * 255);
    }
    for (int v = 0; v < 256; v++)
        lut[v] = (uint32_t)lround(v * p->alpha);
    clip_rect(clip, scale, W, H, cr);
    cairo_surface_flush(s);
    px = (uint32_t *)(void *)cairo_image_surface_get_data(s);
    for (size_t i = 0; i < p->n; i += p->stride) {
        double fx = p->x[i] * ax + bx, fy = p->y[i] * ay + by;
        int cx, cy, k = p->labels ? p->labels[i] : 0;

        if (!(fx > -1e6 && fx < 1e6 && fy > -1e6 && fy < 1e6) || k < 0 || k >= n_col)
            continue;
        cx = (int)floor(fx);
        cy = (int)floor(fy);
        if (cx - R >= cr[0] && cx + R < cr[2] && cy - R >= cr[1] && cy + R < cr[3]) {
            uint32_t *c0 = px + (size_t)cy * stride + (size_t)cx;

            for (size_t j = 0; j < n_st; j++)
                blend(c0 + (ptrdiff_t)st[j].dy * (ptrdiff_t)stride + st[j].dx, rgb[k],
                      lut[st[j].cov]);
            continue;
        }
        for (size_t j = 0; j < n_st; j++) {
            int x = cx + st[j].dx, y = cy + st[j].dy;

            if (x >= cr[0] && x < cr[2] && y >= cr[1] && y < cr[3])
                blend(&px[(size_t)y * stride + (size_t)x], rgb[k], lut[st[j].cov]);
        }
    }
    cairo_surface_mark_dirty(s);
    vsim_free(st);
    return VSIM_OK;
}

static void vector_points(cairo_t *cr, const vsim_points_op *p)
{
    for (size_t i = 0; i < p->n; i += p->stride) {
        double x = vsim_scale_map(&p->sx, p->x[i]), y = vsim_scale_map(&p->sy, p->y[i]);
        size_t k = p->labels ? (size_t)p->labels[i] : 0;
        vsim_rgba c;

        if (!isfinite(x) || !isfinite(y) || k >= p->n_colors)
            continue;
        c = p->colors[k];
        c.a = p->alpha;
        cairo_arc(cr, x, y, p->radius, 0, 2 * M_PI);
        set_rgba(cr, c);
        cairo_fill(cr);
    }
}

static void draw_image(cairo_t *cr, const vsim_op *op)
{
    cairo_surface_t *img = cairo_image_surface_create_for_data(
        (unsigned char *)op->argb, CAIRO_FORMAT_ARGB32, op->iw, op->ih, op->iw * 4);

    cairo_save(cr);
    cairo_rectangle(cr, op->box.x, op->box.y, op->box.w, op->box.h);
    cairo_clip(cr);
    cairo_translate(cr, op->box.x, op->box.y);
    cairo_scale(cr, op->box.w / op->iw, op->box.h / op->ih);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_paint(cr);
    cairo_restore(cr);
    cairo_surface_destroy(img);
}

static int replay(const vsim_canvas *c, cairo_t *cr, cairo_surface_t *raster)
{
    const vsim_box *clip = NULL;
    int rc = VSIM_OK;

    set_rgba(cr, c->theme->bg);
    cairo_paint(cr);
    for (size_t i = 0; !rc && i < c->n_ops; i++) {
        const vsim_op *op = &c->ops[i];

        switch (op->kind) {
        case VSIM_OP_RECT:
            cairo_rectangle(cr, op->box.x, op->box.y, op->box.w, op->box.h);
            fill_stroke(cr, op);
            break;
        case VSIM_OP_PATH:
            for (size_t k = 0; k < op->n_xy; k++)
                cairo_line_to(cr, op->xy[2 * k], op->xy[2 * k + 1]);
            if (op->fill.a > 0)
                cairo_close_path(cr);
            fill_stroke(cr, op);
            break;
        case VSIM_OP_TEXT:
            draw_text(cr, op);
            break;
        case VSIM_OP_POINTS:
            if (raster)
                rc = raster_points(raster, op->pts, c->scale, clip);
            else
                vector_points(cr, op->pts);
            break;
        case VSIM_OP_IMAGE:
            draw_image(cr, op);
            break;
        case VSIM_OP_CLIP:
            cairo_save(cr);
            cairo_rectangle(cr, op->box.x, op->box.y, op->box.w, op->box.h);
            cairo_clip(cr);
            clip = &op->box;
            break;
        case VSIM_OP_UNCLIP:
            cairo_restore(cr);
            clip = NULL;
            break;
        }
    }
    return rc;
}

static cairo_status_t to_buf(void *closure, const unsigned char *data, unsigned int length)
{
    return vsim_buf_add(closure, data, length) ? CAIRO_STATUS_NO_MEMORY : CAIRO_STATUS_SUCCESS;
}

#ifdef VSIM_HAVE_LIBPNG
static void png_to_buf(png_structp png, png_bytep data, png_size_t n)
{
    if (vsim_buf_add(png_get_io_ptr(png), data, n))
        png_error(png, "out of memory");
}

static void png_no_flush(png_structp png)
{
    (void)png;
}

/* libpng's default handlers print on stderr; the library never prints. */
static void png_quiet_error(png_structp png, png_const_charp msg)
{
    (void)msg;
    png_longjmp(png, 1);
}

static void png_quiet_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* One surface row (premultiplied ARGB32) as RGB or, if any pixel is not opaque, RGBA. */
static void png_row(const uint32_t *src, int w, int alpha, unsigned char *dst)
{
    for (int x = 0; x < w; x++) {
        uint32_t p = src[x], a = p >> 24;
        uint32_t c[3] = { (p >> 16) & 255, (p >> 8) & 255, p & 255 };

        for (int k = 0; k < 3; k++)
            *dst++ = (unsigned char)(a == 255 || a == 0 ? c[k] : (c[k] * 255 + a / 2) / a);
        if (alpha)
            *dst++ = (unsigned char)a;
    }
}

/*
 * Encode the image surface with libpng at zlib level 3 and the Sub filter:
 * for a busy scatter chart three to four times faster than cairo's encoder
 * (default level, adaptive filters) for files a few percent larger. Charts are
 * opaque, so the PNG is RGB; the pHYs chunk records the resolution.
 */
static int encode_png(cairo_surface_t *s, double scale, vsim_buf *out)
{
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s), alpha = 0;
    size_t stride = (size_t)cairo_image_surface_get_stride(s) / 4;
    const uint32_t *px = (const uint32_t *)(const void *)cairo_image_surface_get_data(s);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, png_quiet_error,
                                              png_quiet_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    unsigned char *volatile row = vsim_malloc((size_t)w * 4);

    cairo_surface_flush(s);
    for (size_t i = 0; i < (size_t)h * stride && !alpha; i++)
        alpha = (px[i] >> 24) != 255 && (int)(i % stride) < w;
    if (!png || !info || !row || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        vsim_free(row);
        return VSIM_ENOMEM;
    }
    png_set_write_fn(png, out, png_to_buf, png_no_flush);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8,
                 alpha ? PNG_COLOR_TYPE_RGB_ALPHA : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_pHYs(png, info, (png_uint_32)lround(96.0 * scale / 0.0254),
                 (png_uint_32)lround(96.0 * scale / 0.0254), PNG_RESOLUTION_METER);
    png_set_compression_level(png, 3);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB);
    png_write_info(png, info);
    for (int y = 0; y < h; y++) {
        png_row(px + (size_t)y * stride, w, alpha, row);
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    vsim_free(row);
    return VSIM_OK;
}
#else
static int encode_png(cairo_surface_t *s, double scale, vsim_buf *out)
{
    (void)scale;
    return cairo_surface_write_to_png_stream(s, to_buf, out) == CAIRO_STATUS_SUCCESS
               ? VSIM_OK : VSIM_ENOMEM;
}
#endif

static cairo_surface_t *make_surface(const vsim_canvas *c, int format, vsim_buf *buf)
{
    if (format == VSIM_PLOT_PNG)
        return cairo_image_surface_create(CAIRO_FORMAT_ARGB32, (int)lround(c->width * c->scale),
                                          (int)lround(c->height * c->scale));
    if (format == VSIM_PLOT_SVG)
        return cairo_svg_surface_create_for_stream(to_buf, buf, c->width, c->height);
    return cairo_pdf_surface_create_for_stream(to_buf, buf, c->width, c->height);
}

int vsim_render_write(const vsim_canvas *c, const char *path)
{
    vsim_buf buf = VSIM_BUF_INIT;
    cairo_surface_t *s;
    cairo_t *cr;
    int format, rc = vsim_plot_format_of(path, &format);

    if (rc)
        return rc;
    s = make_surface(c, format, &buf);
    cr = cairo_create(s);
    if (format == VSIM_PLOT_PNG)
        cairo_scale(cr, c->scale, c->scale);
    rc = replay(c, cr, format == VSIM_PLOT_PNG ? s : NULL);
    if (!rc && cairo_status(cr) != CAIRO_STATUS_SUCCESS)
        rc = vsim_fail(VSIM_ENOMEM, "%s: cairo: %s", path,
                       cairo_status_to_string(cairo_status(cr)));
    cairo_destroy(cr);
    if (!rc && format == VSIM_PLOT_PNG && encode_png(s, c->scale, &buf) != VSIM_OK)
        rc = vsim_fail(VSIM_ENOMEM, "%s: cannot encode the PNG (out of memory)", path);
    cairo_surface_finish(s);
    if (!rc && cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
        rc = vsim_fail(VSIM_ENOMEM, "%s: cairo: %s", path,
                       cairo_status_to_string(cairo_surface_status(s)));
    cairo_surface_destroy(s);
    if (!rc)
        rc = vsim_fs_write_atomic(path, buf.buf, buf.len, 0);
    vsim_buf_release(&buf);
    return rc;
}


/*
 * An 8-bit grey image (w x h, row-major) as PNG bytes: libpng with a grey colour
 * type when the build has it (a third of RGB's bytes), else cairo's RGB.
 */
int vsim_plot_png_gray(const uint8_t *px, size_t w, size_t h, vsim_buf *out)
{
#ifdef VSIM_HAVE_LIBPNG
    png_structp png;
    png_infop info;

    if (!w || !h || w > 1u << 20 || h > 1u << 20)
        return vsim_fail(VSIM_EINVAL, "a %zu x %zu image cannot be a PNG", w, h);
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, png_quiet_error,
                                  png_quiet_warning);
    info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return vsim_fail(VSIM_ENOMEM, "out of memory encoding a %zu x %zu PNG", w, h);
    }
    png_set_write_fn(png, out, png_to_buf, png_no_flush);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 9);
    png_write_info(png, info);
    for (size_t y = 0; y < h; y++)
        png_write_row(png, (png_const_bytep)(px + y * w));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return VSIM_OK;
#else
    cairo_surface_t *s;
    uint32_t *dst;
    size_t stride;
    int rc;

    if (!w || !h || w > 1u << 15 || h > 1u << 15)
        return vsim_fail(VSIM_EINVAL, "a %zu x %zu image cannot be a PNG", w, h);
    s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)w, (int)h);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        return vsim_fail(VSIM_ENOMEM, "out of memory for a %zu x %zu image", w, h);
    }
    cairo_surface_flush(s);
    dst = (uint32_t *)(void *)cairo_image_surface_get_data(s);
    stride = (size_t)cairo_image_surface_get_stride(s) / 4;
    for (size_t y = 0; y < h; y++)
        for (size_t x = 0; x < w; x++) {
            uint32_t g = px[y * w + x];

            dst[y * stride + x] = 0xff000000u | g << 16 | g << 8 | g;
        }
    cairo_surface_mark_dirty(s);
    rc = cairo_surface_write_to_png_stream(s, to_buf, out) == CAIRO_STATUS_SUCCESS
             ? VSIM_OK : vsim_fail(VSIM_ENOMEM, "out of memory encoding a PNG");
    cairo_surface_destroy(s);
    return rc;
#endif
}

#else /* !VSIM_HAVE_CAIRO */

void *vsim_render_measurer_new(void)
{
    return NULL;
}

void vsim_render_measurer_free(void *p)
{
    (void)p;
}

void vsim_render_measure(void *p, const char *text, double size, int bold, double *w, double *h)
{
    size_t n = 0;

    (void)p;
    for (const char *s = text; *s; s++)
        n += (*s & 0xC0) != 0x80;
    *w = (bold ? 0.68 : 0.62) * size * (double)n;
    *h = 1.17 * size;
}

int vsim_render_write(const vsim_canvas *c, const char *path)
{
    (void)c;
    return vsim_fail(VSIM_EUNSUP, "%s: charts need cairo (this build has CAIRO=0)", path);
}

int vsim_plot_png_gray(const uint8_t *px, size_t w, size_t h, vsim_buf *out)
{
    (void)px;
    (void)w;
    (void)h;
    (void)out;
    return vsim_fail(VSIM_EUNSUP, "images need cairo (this build has CAIRO=0)");
}

#endif
