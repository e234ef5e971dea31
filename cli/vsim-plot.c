/*
 * cli/vsim-plot.c - charts of a run or a file (issue 6):
 *   vsim-plot scatter|dist|bands|heatmap|lines|images SOURCE... -o OUT.png|svg|pdf [options]
 * Reading goes through analyze/series.h, drawing through plot/plot.h (cairo)
 * or plot/gnuplot.h (--backend gnuplot). See docs/man/vsim-plot.1.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/series.h"
#include "cli/cli.h"
#include "core/fs.h"
#include "core/mem.h"
#include "plot/gnuplot.h"
#include "plot/plot.h"

static struct {
    const char *out, *title, *xlabel, *ylabel, *theme, *backend, *script;
    const char *x, *y, *label, *tensor, *collection, *regex, *kind, *stat, *highlight;
    int width, height, worker, max_classes, linear, log, max_images, n_threads;
    int64_t step;
    double dpi, smooth, point_size, alpha;
} o = { .step = -1, .max_classes = 0, .max_images = 16 };

static const vsim_opt opts[] = {
    VSIM_OPT_STRING('o', "output", &o.out, "FILE", "chart file: .png, .svg or .pdf"),
    VSIM_OPT_INT(0, "width", &o.width, "W", "width in pixels (PNG) or points (default 1200)"),
    VSIM_OPT_INT(0, "height", &o.height, "H", "height (default 900)"),
    VSIM_OPT_DOUBLE(0, "dpi", &o.dpi, "DPI", "PNG resolution (96 = one pixel per unit)"),
    VSIM_OPT_STRING(0, "title", &o.title, "TEXT", "chart title"),
    VSIM_OPT_STRING(0, "xlabel", &o.xlabel, "TEXT", "x-axis label"),
    VSIM_OPT_STRING(0, "ylabel", &o.ylabel, "TEXT", "y-axis label"),
    VSIM_OPT_STRING(0, "theme", &o.theme, "light|dark", "colour theme (default light)"),
    VSIM_OPT_STRING(0, "backend", &o.backend, "cairo|gnuplot", 
                    "renderer (gnuplot: lines, bands, dist)"),
    VSIM_OPT_STRING(0, "gnuplot-script", &o.script, "FILE", 
                    "write the gnuplot script (data inline)"),
    VSIM_OPT_STRING(0, "x", &o.x, "COL", "scatter: x column (CSV name; HDF5 column number)"),
    VSIM_OPT_STRING(0, "y", &o.y, "COL", "scatter: y column"),
    VSIM_OPT_STRING(0, "label", &o.label, "COL", "scatter: class column (HDF5: a dataset path)"),
    VSIM_OPT_STRING(0, "tensor", &o.tensor, "NAME", "scatter from a run: embeddings tensor"),
    VSIM_OPT_STRING(0, "highlight", &o.highlight, "I,J,..", "scatter: ring these points"),
    VSIM_OPT_INT(0, "max-classes", &o.max_classes, "N", 
                 "scatter: merge smaller classes into 'other'"),
    VSIM_OPT_DOUBLE(0, "point-size", &o.point_size, "R", 
                    "scatter: point radius (default by count)"),
    VSIM_OPT_DOUBLE(0, "alpha", &o.alpha, "A", "scatter: point opacity (default by count)"),
    VSIM_OPT_STRING('c', "collection", &o.collection, "NAME", "tensors of this collection"),
    VSIM_OPT_STRING('r', "regex", &o.regex, "RE", "tensors whose names match"),
    VSIM_OPT_INT64('s', "step", &o.step, "STEP", "step to show (default: the last)"),
    VSIM_OPT_INT('w', "worker", &o.worker, "N", "worker whose shards to read (default 0)"),
    VSIM_OPT_STRING(0, "kind", &o.kind, "violin|box|hist", "dist: how to draw each layer"),
    VSIM_OPT_FLAG(0, "linear", &o.linear, "dist: values, not log10|value|"),
    VSIM_OPT_STRING(0, "stat", &o.stat, "NAME", "heatmap: statistic (default l2)"),
    VSIM_OPT_FLAG(0, "log", &o.log, "heatmap: log10 of the statistic; lines: log y axis"),
    VSIM_OPT_DOUBLE(0, "smooth", &o.smooth, "W", "lines: EMA smoothing weight in [0, 1)"),
    VSIM_OPT_INT(0, "max-images", &o.max_images, "N", "images: at most N pairs (default 16)"),
    VSIM_OPT_INT('t', "threads", &o.n_threads, "N", "threads for statistics (0: all)"),
    VSIM_OPT_END
};

static const vsim_cli cli = {
    "vsim-plot", "scatter|dist|bands|heatmap|lines|images SOURCE... -o FILE [options]",
    "Draw charts of a training run (RUN directory) or of a point file (CSV, FILE.h5:/dataset).",
    "Examples:\n"
    "  vsim-plot dist RUN --collection gradients --step 500 -o grads.svg\n"
    "  vsim-plot bands RUN --regex 'conv1' -o bands.png\n"
    "  vsim-plot heatmap RUN --stat l2 --log -o heat.pdf\n"
    "  vsim-plot lines RUN_A RUN_B --regex loss/total --log --smooth 0.6 -o loss.png\n"
    "  vsim-plot scatter tsne.csv --label label -o clusters.png\n",
    1, -1
};

static int gnuplot_wanted(void)
{
    return (o.backend && !strcmp(o.backend, "gnuplot")) || o.script;
}

static int cmd_scatter(char **args, const vsim_plot_style *st)
{
    vsim_series_points p = VSIM_SERIES_POINTS_INIT;
    vsim_scatter s = { 0 };
    size_t hl[256], n_hl = 0;
    int rc;

    rc = vsim_fs_is_dir(args[0])
             ? vsim_series_run_points(args[0], o.step, o.tensor, o.label, &p, NULL)
             : vsim_series_read_points(args[0], o.x, o.y, o.label, &p);
    if (!rc && o.max_classes > 1)
        rc = vsim_series_group_labels(&p, (size_t)o.max_classes);
    for (char *h = (char *)o.highlight, *end; !rc && h && *h && n_hl < 256; h = end) {
        hl[n_hl++] = strtoull(h, &end, 10);
        if (end == h || (*end && *end++ != ','))
            vsim_cli_usage_error(&cli, "--highlight: want point numbers like 3,17,42");
    }
    s = (vsim_scatter){ p.x, p.y, p.n, p.labels, (const char *const *)p.label_names,
                        p.n_labels, n_hl ? hl : NULL, n_hl, o.point_size, o.alpha };
    if (!rc)
        rc = vsim_plot_scatter(&s, st, o.out);
    vsim_series_points_release(&p);
    return rc;
}

static int cmd_dist(char **args, const vsim_plot_style *st, vsim_gnuplot_opts *g)
{
    vsim_series_layers l = VSIM_SERIES_LAYERS_INIT;
    vsim_plot_dist d = { 0 };
    int kind = !o.kind || !strcmp(o.kind, "violin") ? VSIM_PLOT_DIST_VIOLIN
               : !strcmp(o.kind, "box") ? VSIM_PLOT_DIST_BOX : VSIM_PLOT_DIST_HIST;
    int rc = vsim_series_read_layers(args[0], o.collection ? o.collection : "gradients", o.regex,
                                     o.step, o.worker, &l);

    if (rc)
        return rc;
    d = (vsim_plot_dist){ l.n, (const char *const *)l.names, l.views, !o.linear, kind };
    rc = gnuplot_wanted() ? vsim_gnuplot_dist(&d, st, o.out, g)
                          : vsim_plot_dist_chart(&d, st, o.out);
    vsim_series_layers_release(&l);
    return rc;
}

static int cmd_grid(const char *cmd, char **args, const vsim_plot_style *st, vsim_gnuplot_opts *g)
{
    vsim_series_grid_params gp = VSIM_SERIES_GRID_PARAMS_INIT;
    vsim_series_grid gr = VSIM_SERIES_GRID_INIT;
    vsim_plot_bands *b = NULL;
    int rc = VSIM_OK;

    gp.collection = o.collection ? o.collection : "gradients";
    gp.regex = o.regex;
    gp.worker = o.worker;
    gp.n_threads = o.n_threads;
    gp.log10 = o.log;
    if (!strcmp(cmd, "heatmap")) {
        gp.what = VSIM_SERIES_FIELD;
        rc = vsim_series_field_parse(o.stat ? o.stat : "l2", &gp.field);
    }
    if (!rc)
        rc = vsim_series_read_grid(args[0], &gp, &gr);
    if (!rc && gp.what == VSIM_SERIES_FIELD) {
        char label[64];
        vsim_plot_heatmap h = { gr.v, gr.n_rows, gr.n_cols, (const char *const *)gr.names,
                                gr.steps, label };

        snprintf(label, sizeof(label), "%s%s", o.log ? "log10 " : "", o.stat ? o.stat : "l2");
        rc = vsim_plot_heatmap_chart(&h, st, o.out);
    } else if (!rc) {
        b = vsim_calloc(gr.n_rows, sizeof(*b));
        for (size_t i = 0; b && i < gr.n_rows; i++)
            b[i] = (vsim_plot_bands){ gr.names[i], gr.steps, gr.v + i * gr.n_cols * 9, gr.n_cols };
        rc = !b ? vsim_fail(VSIM_ENOMEM, "out of memory")
             : gnuplot_wanted() ? vsim_gnuplot_bands(b, gr.n_rows, st, o.out, g)
                                : vsim_plot_bands_chart(b, gr.n_rows, st, o.out);
    }
    vsim_free(b);
    vsim_series_grid_release(&gr);
    return rc;
}

static int cmd_lines(char **args, int n_args, const vsim_plot_style *st, vsim_gnuplot_opts *g)
{
    vsim_series_grid_params gp = VSIM_SERIES_GRID_PARAMS_INIT;
    vsim_series_grid gr[16];
    vsim_plot_series s[VSIM_PLOT_MAX_CLASSES];
    char names[VSIM_PLOT_MAX_CLASSES][160];
    size_t n = 0;
    int rc = VSIM_OK, n_read = 0;

    gp.collection = o.collection ? o.collection : "losses";
    gp.regex = o.regex;
    gp.worker = o.worker;
    gp.what = VSIM_SERIES_FIELD;
    vsim_series_field_parse("mean", &gp.field);   /* the value of a scalar */
    if (n_args > 16)
        vsim_cli_usage_error(&cli, "at most 16 runs in one line chart");
    for (int r = 0; !rc && r < n_args && r < 16; r++, n_read++)
        rc = vsim_series_read_grid(args[r], &gp, &gr[r]);
    for (int r = 0; !rc && r < n_read; r++)
        for (size_t i = 0; i < gr[r].n_rows && n < VSIM_PLOT_MAX_CLASSES; i++, n++) {
            snprintf(names[n], sizeof(names[n]), "%s%s%s", n_args > 1 ? args[r] : "",
                     n_args > 1 ? ": " : "", gr[r].names[i]);
            s[n] = (vsim_plot_series){ names[n], gr[r].steps, gr[r].v + i * gr[r].n_cols,
                                       gr[r].n_cols };
        }
    if (!rc) {
        vsim_plot_lines l = { s, n, o.log, o.smooth };

        rc = gnuplot_wanted() ? vsim_gnuplot_lines(&l, st, o.out, g)
                              : vsim_plot_lines_chart(&l, st, o.out);
    }
    for (int r = 0; r < n_read; r++)
        vsim_series_grid_release(&gr[r]);
    return rc;
}

static int cmd_images(char **args, const vsim_plot_style *st)
{
    vsim_series_images im = VSIM_SERIES_IMAGES_INIT;
    size_t max_n = (size_t)(o.max_images > 0 ? o.max_images : 16);
    int rc = vsim_series_read_images(args[0], o.step, max_n, &im);
    vsim_plot_images pi = { im.input, im.recon, im.n, im.channels, im.h, im.w, 0 };
    if (!rc)
        rc = vsim_plot_images_chart(&pi, st, o.out);
    vsim_series_images_release(&im);
    return rc;
}

int main(int argc, char **argv)
{
    vsim_plot_style st = VSIM_PLOT_STYLE_INIT;
    vsim_gnuplot_opts g = VSIM_GNUPLOT_OPTS_INIT;
    const char *cmd = argc > 1 ? argv[1] : "";
    int first, rc, n_args;

    if (argc > 1 && argv[1][0] != '-') {
        argv[1] = argv[0];
        argc--, argv++;
    }
    vsim_cli_parse(&cli, opts, argc, argv, &first);
    n_args = argc - first;
    if (!o.out && !o.script)
        vsim_cli_usage_error(&cli, "-o FILE is required");
    if (o.theme && strcmp(o.theme, "light") && strcmp(o.theme, "dark"))
        vsim_cli_usage_error(&cli, "--theme: want light or dark, not '%s'", o.theme);
    if (o.backend && strcmp(o.backend, "cairo") && strcmp(o.backend, "gnuplot"))
        vsim_cli_usage_error(&cli, "--backend: want cairo or gnuplot, not '%s'", o.backend);
    if (o.kind && strcmp(o.kind, "violin") && strcmp(o.kind, "box") && strcmp(o.kind, "hist"))
        vsim_cli_usage_error(&cli, "--kind: want violin, box or hist, not '%s'", o.kind);
    st = (vsim_plot_style){ o.width, o.height, o.dpi > 0 ? o.dpi / 96.0 : 0,
                            o.theme && !strcmp(o.theme, "dark"), o.title, o.xlabel, o.ylabel };
    g.script_path = o.script;
    if (gnuplot_wanted() && strcmp(cmd, "lines") && strcmp(cmd, "bands") && strcmp(cmd, "dist"))
        vsim_cli_usage_error(&cli, "the gnuplot backend draws lines, bands and dist charts");
    if (!strcmp(cmd, "scatter"))
        rc = cmd_scatter(argv + first, &st);
    else if (!strcmp(cmd, "dist"))
        rc = cmd_dist(argv + first, &st, &g);
    else if (!strcmp(cmd, "bands") || !strcmp(cmd, "heatmap"))
        rc = cmd_grid(cmd, argv + first, &st, &g);
    else if (!strcmp(cmd, "lines"))
        rc = cmd_lines(argv + first, n_args, &st, &g);
    else if (!strcmp(cmd, "images"))
        rc = cmd_images(argv + first, &st);
    else
        vsim_cli_usage_error(&cli, "unknown chart '%s' (want scatter, dist, bands, heatmap, "
                             "lines or images)", cmd);
    if (rc)
        return vsim_cli_error(cli.prog);
    if (!vsim_cli_quiet())
        fprintf(stderr, "vsim-plot: wrote %s\n", o.out ? o.out : o.script);
    return VSIM_EXIT_OK;
}
