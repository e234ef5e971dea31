/*
 * samples/sheet.c - contact sheet of a dataset (one row per label, a few
 * designs with all their views) drawn with cairo, encoded as PNG in memory and
 * written atomically (vsim_fs_write_atomic). Compiled to VSIM_EUNSUP without
 * cairo.
 * SPDX-License-Identifier: MIT
 */
#include "samples/dataset.h"

#ifdef VSIM_HAVE_CAIRO
#include <cairo.h>
#include <math.h>
#include <string.h>

#include "core/buf.h"
#include "core/fs.h"

#define LABEL_MIN_W 60    /* narrowest label column, pixels */
#define LABEL_MAX_W 360   /* widest; longer labels are ellipsized (the HDF5 keeps them whole) */
#define LABEL_PAD 6       /* left of the text, and at least as much before the first image */
#define FONT_SIZE 13.0
#define GAP 2          /* between views */
#define DESIGN_GAP 10  /* between designs */

/* Copy the grey image (s x s) into the RGB24 surface at (x0, y0). */
static void blit(unsigned char *px, int stride, int x0, int y0, const uint8_t *img, int s)
{
    for (int y = 0; y < s; y++) {
        uint32_t *row = (uint32_t *)(px + (size_t)(y0 + y) * (size_t)stride) + x0;

        for (int x = 0; x < s; x++) {
            uint32_t g = img[(size_t)y * (size_t)s + (size_t)x];

            row[x] = 0xff000000u | g << 16 | g << 8 | g;
        }
    }
}

static void set_font(cairo_t *cr)
{
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, FONT_SIZE);
}

/* Ink extent to the right of the pen's start, in pixels, of text drawn with set_font. */
static double text_right(cairo_t *cr, const char *text)
{
    cairo_text_extents_t e;

    cairo_text_extents(cr, text, &e);
    return e.x_bearing + e.width;
}

/*
 * The label column's width: the longest label plus padding on both sides, within
 * [LABEL_MIN_W, LABEL_MAX_W] (issue 13: long mesh-folder names ran into the images).
 */
static int label_width(const vsim_dataset *ds)
{
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
    cairo_t *cr = cairo_create(surf);
    double widest = 0.0;

    set_font(cr);
    for (int l = 0; l < ds->n_labels; l++) {
        double r = text_right(cr, ds->label_names[l]);

        if (r > widest)
            widest = r;
    }
    cairo_destroy(cr);
    cairo_surface_destroy(surf);
    widest = ceil(widest) + 2 * LABEL_PAD;
    return widest < LABEL_MIN_W ? LABEL_MIN_W : widest > LABEL_MAX_W ? LABEL_MAX_W : (int)widest;
}

/* Draw name at (x, y), cut at a character boundary with "..." to fit in max_w pixels. */
static void show_fitted(cairo_t *cr, const char *name, double x, double y, double max_w)
{
    char text[256];
    size_t n = strlen(name);

    if (text_right(cr, name) <= max_w || n == 0) {
        cairo_move_to(cr, x, y);
        cairo_show_text(cr, name);
        return;
    }
    if (n > sizeof(text) - 4)
        n = sizeof(text) - 4;
    do {
        while (n > 0 && ((unsigned char)name[n] & 0xc0) == 0x80)
            n--;   /* never split a UTF-8 sequence */
        memcpy(text, name, n);
        memcpy(text + n, "...", 4);
    } while (text_right(cr, text) > max_w && n-- > 0);
    cairo_move_to(cr, x, y);
    cairo_show_text(cr, text);
}

static void draw(cairo_surface_t *surf, const vsim_dataset *ds, int per_label, int label_w,
                 int design_w, int row_h)
{
    unsigned char *px = cairo_image_surface_get_data(surf);
    int stride = cairo_image_surface_get_stride(surf), s = ds->size;
    size_t img = (size_t)s * (size_t)s;
    cairo_t *cr;

    cairo_surface_flush(surf);
    for (int l = 0; l < ds->n_labels; l++) {
        int shown = 0;

        for (size_t i = 0; i < ds->n && shown < per_label; i++) {
            if (ds->labels[i] != l)
                continue;
            for (int v = 0; v < ds->n_views; v++)
                blit(px, stride, label_w + shown * design_w + v * (s + GAP), l * row_h + GAP,
                     ds->images + (i * (size_t)ds->n_views + (size_t)v) * img, s);
            shown++;
        }
    }
    cairo_surface_mark_dirty(surf);
    cr = cairo_create(surf);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    set_font(cr);
    for (int l = 0; l < ds->n_labels; l++)
        show_fitted(cr, ds->label_names[l], LABEL_PAD, l * row_h + 0.5 * row_h + 5.0,
                    label_w - 2 * LABEL_PAD);
    cairo_destroy(cr);
}

static cairo_status_t png_to_buf(void *closure, const unsigned char *data, unsigned int length)
{
    return vsim_buf_add(closure, data, length) ? CAIRO_STATUS_NO_MEMORY : CAIRO_STATUS_SUCCESS;
}

int vsim_dataset_sheet(const vsim_dataset *ds, const char *path, int per_label)
{
    int s = ds->size, design_w = ds->n_views * (s + GAP) + DESIGN_GAP, row_h = s + 2 * GAP;
    int label_w = label_width(ds), w = label_w + per_label * design_w, h = ds->n_labels * row_h;
    vsim_buf png = VSIM_BUF_INIT;
    cairo_surface_t *surf;
    cairo_t *cr;
    int rc = VSIM_OK;

    if (per_label < 1 || ds->n_labels < 1 || (double)w * h > 1e9)
        return vsim_fail(VSIM_EINVAL, "%s: nothing to show or a sheet too large", path);
    surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(surf);
        return vsim_fail(VSIM_ENOMEM, "%s: cannot make a %d x %d image", path, w, h);
    }
    cr = cairo_create(surf);
    cairo_set_source_rgb(cr, 0.93, 0.93, 0.9);
    cairo_paint(cr);
    cairo_destroy(cr);
    draw(surf, ds, per_label, label_w, design_w, row_h);
    if (cairo_surface_write_to_png_stream(surf, png_to_buf, &png) != CAIRO_STATUS_SUCCESS)
        rc = vsim_fail(VSIM_ENOMEM, "%s: cannot encode the PNG", path);
    else
        rc = vsim_fs_write_atomic(path, png.buf, png.len, 0);
    cairo_surface_destroy(surf);
    vsim_buf_release(&png);
    return rc;
}

#else

int vsim_dataset_sheet(const vsim_dataset *ds, const char *path, int per_label)
{
    (void)ds;
    (void)per_label;
    return vsim_fail(VSIM_EUNSUP, "%s: contact sheets need cairo (built with CAIRO=0)", path);
}

#endif
