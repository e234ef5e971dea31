/*
 * tests/unit/test_plot.c - plot/ (issue 6): scale and ticks numerically;
 * charts decoded back (PNG through cairo) and checked for colours in the
 * expected regions, legend swatches and nothing outside the plot area; SVG
 * marks counted; PDF header and page count; no overlapping text on a
 * 40-layer chart (from the layout); bad input gives clear errors and no files.
 * SPDX-License-Identifier: MIT
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/mem.h"
#include "plot/gnuplot.h"
#include "plot/plot.h"
#include "plot/plot_int.h"
#include "plot/scale.h"
#include "tests/vt.h"

#ifdef VSIM_HAVE_CAIRO
#include <cairo.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
/*
 * fontconfig keeps its configuration and pattern caches until exit (cairo's
 * toy font API never frees them): not our leaks. LeakSanitizer's hook.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig\n";
}
#endif

static char dir[256];

static const char *tmp_path(const char *name)
{
    static char p[4][512];
    static int k;

    k = (k + 1) % 4;
    snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
    return p[k];
}

static void test_scale(void)
{
    vsim_ticks t;
    char s[64];
    double lo, hi, y[3] = { 1, 2, NAN }, sm[3];
    double v[4] = { NAN, 3, -1, INFINITY };
    vsim_scale sc = { 0, 10, 100, 200, 0 };

    VT_NEAR(vsim_scale_nice_step(10, 5), 2, 1e-12, "nice step 10/5");
    VT_NEAR(vsim_scale_nice_step(0.7, 5), 0.2, 1e-12, "nice step 0.7/5");
    VT_NEAR(vsim_scale_nice_step(1234, 4), 500, 1e-12, "nice step 1234/4");
    vsim_scale_ticks(0, 1, 6, &t);
    VT_CHECK(t.n == 6 && t.v[0] == 0 && fabs(t.v[5] - 1) < 1e-12, "ticks 0..1");
    VT_NEAR(t.step, 0.2, 1e-12, "ticks 0..1 step");
    vsim_scale_ticks(-3.2, 7.9, 12, &t);
    VT_CHECK(t.n == 11 && t.v[0] == -3 && t.v[10] == 7, "ticks -3.2..7.9");
    for (int m = 2; m < 30; m++) {
        vsim_scale_ticks(-0.37, 123.4, m, &t);
        VT_CHECK((int)t.n <= m && t.n >= 2, "tick count within the limit");
    }
    vsim_scale_format(0.1 * 3, 0.1, 0, s, sizeof(s));
    VT_CHECK(!strcmp(s, "0.3"), "format 0.3");
    vsim_scale_format(1e-17, 0.5, 0, s, sizeof(s));
    VT_CHECK(!strcmp(s, "0.0"), "format near zero");
    vsim_scale_format(0, 5e-8, 0, s, sizeof(s));
    VT_CHECK(!strcmp(s, "0"), "format zero among small ticks");
    vsim_scale_format(2e-6, 1e-6, 0, s, sizeof(s));
    VT_CHECK(!strcmp(s, "2e-06"), "format small");
    vsim_scale_format(-3, 1, 1, s, sizeof(s));
    VT_CHECK(!strcmp(s, "10⁻³"), "format log decade");
    vsim_scale_log_ticks(-7.2, -0.5, 10, &t);
    VT_CHECK(t.n == 7 && t.v[0] == -7 && t.v[6] == -1 && t.log, "log ticks decades");
    vsim_scale_log_ticks(-7.2, 5.5, 5, &t);
    VT_CHECK(t.n <= 5 && t.n >= 2, "log ticks thinned");
    vsim_scale_log_ticks(0.0, 1.5, 10, &t);
    VT_CHECK(t.n == 5 && fabs(t.v[1] - log10(2)) < 1e-12, "log ticks 1 2 5 10 20");
    VT_CHECK(vsim_scale_range(v, 4, 0, &lo, &hi) == VSIM_OK && lo == -1 && hi == 3, "range");
    VT_CHECK(vsim_scale_range(v, 1, 0, &lo, &hi) == VSIM_EINVAL, "range of NaN fails");
    VT_CHECK(vsim_scale_range(v + 2, 1, 1, &lo, &hi) == VSIM_EINVAL, "log range of -1 fails");
    lo = hi = 5;
    vsim_scale_pad(&lo, &hi, 0);
    VT_CHECK(lo < 5 && hi > 5, "single value widened");
    VT_NEAR(vsim_scale_map(&sc, 2.5), 125, 1e-12, "map linear");
    sc = (vsim_scale){ 0, 2, 0, 100, 1 };
    VT_NEAR(vsim_scale_map(&sc, 10), 50, 1e-12, "map log");
    {
        double pos[5] = { 0, 10, 20, 30, 40 }, ext[5] = { 15, 15, 15, 15, 15 };

        VT_CHECK(vsim_scale_thin(pos, ext, 5, 2) == 2, "thin every other label");
        VT_CHECK(vsim_scale_thin(pos, ext, 5, 30) == 5, "thin to one label");
    }
    vsim_scale_smooth(y, 3, 0.5, sm);
    VT_NEAR(sm[0], 1, 1e-12, "smooth first");
    VT_NEAR(sm[1], 1.25 / 0.75, 1e-12, "smooth debiased");
    VT_CHECK(isnan(sm[2]), "smooth NaN passes");
}

/* No .tmp or other leftovers beside the expected files. */
static int count_files(const char *suffix)
{
    struct dirent *e;
    DIR *d = opendir(dir);
    int n = 0;

    while (d && (e = readdir(d)))
        n += strlen(e->d_name) > strlen(suffix) &&
             !strcmp(e->d_name + strlen(e->d_name) - strlen(suffix), suffix);
    if (d)
        closedir(d);
    return n;
}

#ifdef VSIM_HAVE_CAIRO
typedef struct img {
    cairo_surface_t *s;
    uint32_t *px;
    int w, h, stride;
} img;

static int img_load(img *m, const char *path)
{
    m->s = cairo_image_surface_create_from_png(path);
    if (cairo_surface_status(m->s) != CAIRO_STATUS_SUCCESS)
        return -1;
    m->w = cairo_image_surface_get_width(m->s);
    m->h = cairo_image_surface_get_height(m->s);
    m->stride = cairo_image_surface_get_stride(m->s) / 4;
    m->px = (uint32_t *)(void *)cairo_image_surface_get_data(m->s);
    return 0;
}

/* Pixels of exactly rgb inside [x0, x1) x [y0, y1). */
static long img_count(const img *m, uint32_t rgb, double x0, double y0, double x1, double y1)
{
    long n = 0;

    for (int y = (int)fmax(0, y0); y < (int)fmin(m->h, y1); y++)
        for (int x = (int)fmax(0, x0); x < (int)fmin(m->w, x1); x++)
            n += (m->px[y * m->stride + x] & 0xFFFFFF) == rgb;
    return n;
}

static vsim_box plot_area(const vsim_canvas *c)
{
    for (size_t i = 0; i < c->n_ops; i++)
        if (c->ops[i].kind == VSIM_OP_CLIP)
            return c->ops[i].box;
    return (vsim_box){ 0, 0, 0, 0 };
}

static void test_scatter_png(void)
{
    double x[200], y[200];
    int32_t lab[200];
    const char *names[2] = { "left", "right" };
    vsim_scatter s = { x, y, 200, lab, names, 2, NULL, 0, 3.0, 1.0 };
    vsim_plot_style st = { 800, 600, 1, 0, "clusters", "x", "y" };
    vsim_canvas *c;
    vsim_box a;
    img m;

    for (int i = 0; i < 200; i++) {
        lab[i] = i % 2;
        x[i] = (i % 2 ? 10 : 0) + (i % 10) * 0.1;
        y[i] = (i / 10) * 0.5;
    }
    VT_CHECK(vsim_plot_scatter(&s, &st, tmp_path("sc.png")) == VSIM_OK, "scatter png");
    VT_CHECK(vsim_chart_scatter_build(&s, &st, 0, &c) == VSIM_OK, "scatter layout");
    a = plot_area(c);
    vsim_canvas_destroy(c);
    VT_CHECK(a.w > 400 && a.h > 300, "plot area is most of the chart");
    if (img_load(&m, tmp_path("sc.png"))) {
        VT_CHECK(0, "decode scatter png");
        return;
    }
    VT_CHECK(m.w == 800 && m.h == 600, "png size");
    VT_CHECK(img_count(&m, 0x1f77b4, a.x, a.y, a.x + a.w / 3, a.y + a.h) > 100,
             "blue points on the left");
    VT_CHECK(img_count(&m, 0xff7f0e, a.x + 2 * a.w / 3, a.y, a.x + a.w, a.y + a.h) > 100,
             "orange points on the right");
    VT_CHECK(img_count(&m, 0x1f77b4, a.x + a.w / 3, a.y, a.x + a.w, a.y + a.h) == 0,
             "no blue on the right");
    VT_CHECK(img_count(&m, 0x1f77b4, a.x + a.w + 2, a.y, m.w, a.y + 40) > 20 &&
             img_count(&m, 0xff7f0e, a.x + a.w + 2, a.y, m.w, a.y + 40) > 20,
             "legend swatches");
    VT_CHECK(img_count(&m, 0x1f77b4, 0, 0, m.w, a.y - 1) +
             img_count(&m, 0x1f77b4, 0, a.y + a.h + 1, m.w, m.h) +
             img_count(&m, 0x1f77b4, 0, 0, a.x - 1, m.h) == 0, "nothing outside the plot area");
    cairo_surface_destroy(m.s);
    st.scale = 2;
    st.dark = 1;
    VT_CHECK(vsim_plot_scatter(&s, &st, tmp_path("sc2.png")) == VSIM_OK && !img_load(&m,
             tmp_path("sc2.png")), "scatter at 2x, dark");
    VT_CHECK(m.w == 1600 && m.h == 1200, "png size at 2x");
    {
        uint32_t p = m.px[2 * m.stride + 2];

        VT_CHECK(abs((int)(p >> 16 & 255) - 28) <= 2 && abs((int)(p & 255) - 36) <= 2,
                 "dark background");
    }
    cairo_surface_destroy(m.s);
}

static int count_str(const vsim_buf *b, const char *pat)
{
    size_t m = strlen(pat);
    int n = 0;

    for (size_t i = 0; i + m <= b->len; i++)
        n += !memcmp(b->buf + i, pat, m);
    return n;
}

static void test_svg_pdf(void)
{
    double x[80], y[80];
    int32_t lab[80];
    vsim_scatter s = { x, y, 80, lab, NULL, 2, NULL, 0, 3.0, 1.0 };
    vsim_buf b = VSIM_BUF_INIT;

    for (int i = 0; i < 80; i++) {
        x[i] = i;
        y[i] = i * i;
        lab[i] = i < 50 ? 0 : 1;
    }
    VT_CHECK(vsim_plot_scatter(&s, NULL, tmp_path("sc.svg")) == VSIM_OK, "scatter svg");
    VT_CHECK(vsim_fs_read_file(tmp_path("sc.svg"), &b) == VSIM_OK, "read svg");
    /* 50 marks + 1 legend swatch of class 0, 30 + 1 of class 1 */
    VT_CHECK(count_str(&b, "fill:rgb(12.156863%,46.666667%,70.588235%)") == 51,
             "svg marks of class 0");
    VT_CHECK(count_str(&b, "fill:rgb(100%,49.803922%,5.490196%)") == 31,
             "svg marks of class 1");
    vsim_buf_reset(&b);
    VT_CHECK(vsim_plot_scatter(&s, NULL, tmp_path("sc.pdf")) == VSIM_OK, "scatter pdf");
    VT_CHECK(vsim_fs_read_file(tmp_path("sc.pdf"), &b) == VSIM_OK && !strncmp(b.buf, "%PDF", 4),
             "pdf header");
    VT_CHECK(count_str(&b, "/Type /Page\n") + count_str(&b, "/Type /Page ") +
             count_str(&b, "/Type /Page>") == 1, "pdf has one page");
    vsim_buf_reset(&b);
    {
        /* beyond VSIM_PLOT_VECTOR_MAX_POINTS, vector output draws 1 in k and says so */
        size_t n = VSIM_PLOT_VECTOR_MAX_POINTS + 1;
        double *bx = vsim_mallocarray(n, sizeof(double));
        vsim_scatter big = { bx, bx, n, NULL, NULL, 0, NULL, 0, 1.0, 1.0 };

        for (size_t i = 0; bx && i < n; i++)
            bx[i] = (double)(i % 1000);
        VT_CHECK(bx && vsim_plot_scatter(&big, NULL, tmp_path("big.svg")) == VSIM_OK &&
                 vsim_fs_read_file(tmp_path("big.svg"), &b) == VSIM_OK, "big svg");
        VT_CHECK(count_str(&b, "fill:rgb(12.156863%,46.666667%,70.588235%)") ==
                 (int)(n + 1) / 2, "svg subsampled to 1 in 2");
        vsim_free(bx);
    }
    vsim_buf_release(&b);
}

static void test_alloc_faults(void)
{
    double x[50], y[50];
    int32_t lab[50];
    vsim_scatter s = { x, y, 50, lab, NULL, 3, NULL, 0, 0, 0 };
    int n_enomem = 0, ok = 0;

    for (int i = 0; i < 50; i++) {
        x[i] = i;
        y[i] = sin(i);
        lab[i] = i % 3;
    }
    for (long n = 1; n < 200 && !ok; n++) {
        int rc;

        vsim_mem_fail_after(n);
        rc = vsim_plot_scatter(&s, NULL, tmp_path("fault.png"));
        vsim_mem_fail_after(0);
        if (rc == VSIM_OK)
            ok = 1;
        else if (rc == VSIM_ENOMEM)
            n_enomem++;
    }
    VT_CHECK(ok && n_enomem > 0, "allocation failures give ENOMEM, then success");
    VT_CHECK(count_files(".tmp") == 0, "no temporary files after faults");
}
#endif

/* All text boxes of a canvas: no two overlap and all lie inside the canvas. */
static int text_ok(const vsim_canvas *c, size_t *n_text)
{
    static vsim_box boxes[4096];
    size_t n = 0;

    for (size_t i = 0; i < c->n_ops && n < 4096; i++)
        if (c->ops[i].kind == VSIM_OP_TEXT) {
            vsim_box b = c->ops[i].box;

            if (b.x < -0.5 || b.y < -0.5 || b.x + b.w > c->width + 0.5 ||
                b.y + b.h > c->height + 0.5)
                return 0;
            boxes[n++] = b;
        }
    *n_text = n;
    return !vsim_boxes_overlap(boxes, n);
}

static void test_dist_layout(void)
{
    enum { L = 40, N = 400 };
    static float v[L][N];
    static char names[L][48];
    const char *np[L];
    vsim_tensor t[L];
    vsim_plot_dist d = { L, np, t, 1, VSIM_PLOT_DIST_VIOLIN };
    vsim_plot_style st = VSIM_PLOT_STYLE_INIT;
    vsim_canvas *c;
    size_t n_text, shape = N;

    for (int k = 0; k < L; k++) {
        snprintf(names[k], sizeof(names[k]), "%s/block%d/conv%d/weight",
                 k < L / 2 ? "encoder" : "decoder", k / 4, k % 4);
        np[k] = names[k];
        for (int i = 0; i < N; i++)
            v[k][i] = (float)((i - N / 2 + 0.5) * pow(10.0, -8 + k * 0.2));
        vsim_tensor_init(&t[k], VSIM_F32, 1, &shape, v[k]);
    }
    st.title = "gradients at step 500";
    st.ylabel = "layer";
    VT_CHECK(vsim_chart_dist_build(&d, &st, &c) == VSIM_OK, "40-layer dist builds");
    VT_CHECK(text_ok(c, &n_text) && n_text >= L + 4, "40 layer names, no overlap");
    vsim_canvas_destroy(c);
    st.height = 400;
    st.width = 500;
    VT_CHECK(vsim_chart_dist_build(&d, &st, &c) == VSIM_OK, "small 40-layer dist builds");
    VT_CHECK(text_ok(c, &n_text) && n_text >= L / 3, "small chart thins names, no overlap");
    vsim_canvas_destroy(c);
    for (int kind = 0; kind < 3; kind++) {
        d.kind = kind;
        st.height = st.width = 0;
        VT_CHECK(vsim_plot_dist_chart(&d, &st, tmp_path("dist.svg")) == VSIM_OK ||
                 vsim_errstatus() == VSIM_EUNSUP, "dist kinds draw");
    }
    {
        /* small multiples of 40 layers: panel titles and ticks stay apart */
        static double pct[L][6 * 9];
        static vsim_plot_bands b[L];
        double steps[6] = { 0, 100, 200, 300, 400, 500 };

        for (int k = 0; k < L; k++) {
            for (int i = 0; i < 6 * 9; i++)
                pct[k][i] = (i % 9 - 4) * pow(10.0, -k * 0.2) * (1 + i / 9 * 0.1);
            b[k] = (vsim_plot_bands){ np[k], steps, pct[k], 6 };
        }
        VT_CHECK(vsim_chart_bands_build(b, L, NULL, &c) == VSIM_OK, "40 band panels build");
        VT_CHECK(text_ok(c, &n_text) && n_text > L, "40 band panels: no overlapping text");
        vsim_canvas_destroy(c);
    }
    {
        vsim_plot_heatmap h = { NULL, L, 3, np, NULL, "log10 l2" };
        double hv[L * 3], steps[3] = { 0, 100, 200 };

        for (int i = 0; i < L * 3; i++)
            hv[i] = i * 0.1;
        h.v = hv;
        h.col_steps = steps;
        VT_CHECK(vsim_chart_heatmap_build(&h, NULL, &c) == VSIM_OK, "heatmap builds");
        VT_CHECK(text_ok(c, &n_text), "heatmap text does not overlap");
        vsim_canvas_destroy(c);
    }
}

static void test_bad_input(void)
{
    double x[3] = { NAN, NAN, NAN }, y[3] = { 1, 2, 3 }, one = 1.0;
    int32_t lab[3] = { 0, 1, 7 };
    vsim_scatter s = { x, y, 0, NULL, NULL, 0, NULL, 0, 0, 0 };
    vsim_plot_series ser = { "loss", x, y, 3 };
    vsim_plot_lines l = { &ser, 1, 0, 0 };
    double pct[9 * 2], st2[2] = { 0, 1 };
    vsim_plot_bands b = { "w", st2, pct, 2 };
    vsim_plot_heatmap h = { x, 1, 3, NULL, y, NULL };

    VT_CHECK(vsim_plot_scatter(&s, NULL, tmp_path("bad.png")) == VSIM_EINVAL, "empty scatter");
    s.n = 3;
    VT_CHECK(vsim_plot_scatter(&s, NULL, tmp_path("bad.png")) == VSIM_EINVAL &&
             strstr(vsim_errmsg(), "NaN"), "all-NaN scatter");
    s.x = y;
    s.labels = lab;
    s.n_labels = 3;
    VT_CHECK(vsim_plot_scatter(&s, NULL, tmp_path("bad.png")) == VSIM_EINVAL &&
             strstr(vsim_errmsg(), "label 7"), "label outside the classes");
    s.n_labels = 25;
    VT_CHECK(vsim_plot_scatter(&s, NULL, tmp_path("bad.png")) == VSIM_ERANGE &&
             strstr(vsim_errmsg(), "palette"), "labels beyond the palette");
    s.labels = NULL;
    VT_CHECK(vsim_plot_scatter(&s, NULL, tmp_path("bad.gif")) == VSIM_EINVAL, "unknown format");
    VT_CHECK(vsim_plot_lines_chart(&l, NULL, tmp_path("bad.png")) == VSIM_EINVAL, "NaN lines");
    for (int i = 0; i < 18; i++)
        pct[i] = NAN;
    VT_CHECK(vsim_plot_bands_chart(&b, 1, NULL, tmp_path("bad.png")) == VSIM_EINVAL, "NaN bands");
    VT_CHECK(vsim_plot_heatmap_chart(&h, NULL, tmp_path("bad.png")) == VSIM_EINVAL,
             "NaN heat map");
    VT_CHECK(vsim_fs_exists(tmp_path("bad.png")) == 0 && count_files(".tmp") == 0,
             "no files from bad input");
#ifdef VSIM_HAVE_CAIRO
    s.x = &one;
    s.y = &one;
    s.n = 1;
    VT_CHECK(vsim_plot_scatter(&s, NULL, tmp_path("one.png")) == VSIM_OK, "single point");
    VT_CHECK(vsim_plot_scatter(&s, NULL, "/nonexistent-dir/x.png") == VSIM_EIO &&
             strstr(vsim_errmsg(), "/nonexistent-dir/x.png"), "unwritable path");
    VT_CHECK(vsim_fs_exists("/nonexistent-dir/x.png.tmp") == 0, "no partial file");
    ser.x = st2;
    ser.y = st2;
    ser.n = 1;
    VT_CHECK(vsim_plot_lines_chart(&l, NULL, tmp_path("one-line.pdf")) == VSIM_OK,
             "single-point line");
#else
    (void)one;
#endif
}

int main(void)
{
    snprintf(dir, sizeof(dir), "%s/vsim-test-plot.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR")
                                                                             : "/tmp");
    if (!mkdtemp(dir))
        return 1;
    test_scale();
#ifdef VSIM_HAVE_CAIRO
    test_scatter_png();
    test_svg_pdf();
    test_alloc_faults();
#endif
    test_dist_layout();
    test_bad_input();
    {
        char cmd[600];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
    }
    return VT_REPORT("plot");
}
