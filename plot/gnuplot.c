/*
 * plot/gnuplot.c - gnuplot backend (plot/gnuplot.h): scripts with inline data
 * blocks ($d0 << EOD ... EOD, gnuplot >= 5), run as `gnuplot SCRIPT 2>&1`
 * through popen so gnuplot's complaints come back as the error message.
 * SPDX-License-Identifier: MIT
 */
#include "plot/gnuplot.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/mem.h"
#include "plot/plot_int.h"

/* Append s as a gnuplot double-quoted string. */
static void add_str(vsim_buf *b, const char *s)
{
    vsim_buf_addch(b, '"');
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\')
            vsim_buf_addch(b, '\\');
        vsim_buf_addch(b, *s == '\n' ? ' ' : *s);
    }
    vsim_buf_addch(b, '"');
}

static void add_colour(vsim_buf *b, vsim_rgba c)
{
    vsim_buf_addf(b, "\"#%02x%02x%02x\"", (int)lround(c.r * 255), (int)lround(c.g * 255),
                  (int)lround(c.b * 255));
}

/* Terminal, output and theme lines. */
static int preamble(vsim_buf *b, const vsim_plot_style *st, const char *out, int format)
{
    int w = st && st->width ? st->width : 1200, h = st && st->height ? st->height : 900;
    double scale = st && st->scale > 0 ? st->scale : 1.0;
    const vsim_theme *th = vsim_theme_get(st && st->dark);

    vsim_buf_addf(b, "# vsim %s: edit and re-run with `gnuplot THIS_FILE`\n", VSIM_VERSION);
    if (format == VSIM_PLOT_PNG)
        vsim_buf_addf(b, "set terminal pngcairo size %d,%d fontscale %g noenhanced font "
                      "\"DejaVu Sans,10\" background ", (int)lround(w * scale),
                      (int)lround(h * scale), scale);
    else if (format == VSIM_PLOT_SVG)
        vsim_buf_addf(b, "set terminal svg size %d,%d noenhanced font \"DejaVu Sans,10\" "
                      "background ", w, h);
    else
        vsim_buf_addf(b, "set terminal pdfcairo size %.3fin,%.3fin noenhanced font "
                      "\"DejaVu Sans,10\" background ", w / 72.0, h / 72.0);
    add_colour(b, th->bg);
    vsim_buf_adds(b, "\nset output ");
    add_str(b, out);
    vsim_buf_adds(b, "\nset border lc rgb ");
    add_colour(b, th->frame);
    vsim_buf_adds(b, "\nset grid lc rgb ");
    add_colour(b, th->grid);
    vsim_buf_adds(b, "\nset key textcolor rgb ");
    add_colour(b, th->fg);
    vsim_buf_adds(b, "\nset tics textcolor rgb ");
    add_colour(b, th->muted);
    vsim_buf_adds(b, "\n");
    if (st && st->title) {
        vsim_buf_adds(b, "set title ");
        add_str(b, st->title);
        vsim_buf_adds(b, " textcolor rgb ");
        add_colour(b, th->fg);
        vsim_buf_adds(b, "\n");
    }
    if (st && st->ylabel) {
        vsim_buf_adds(b, "set ylabel ");
        add_str(b, st->ylabel);
        vsim_buf_adds(b, "\n");
    }
    return VSIM_OK;
}

const char *vsim_gnuplot_find(const vsim_gnuplot_opts *o, char *buf, size_t cap)
{
    const char *prog = o && o->program ? o->program : getenv("VSIM_GNUPLOT");
    const char *path = getenv("PATH");

    if (!prog || !*prog)
        prog = "gnuplot";
    if (strchr(prog, '/'))
        return access(prog, X_OK) == 0 ? prog : NULL;
    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        const char *e = strchr(p, ':');
        size_t n = e ? (size_t)(e - p) : strlen(p);

        snprintf(buf, cap, "%.*s/%s", (int)n, n ? p : ".", prog);
        if (access(buf, X_OK) == 0)
            return buf;
        p += n + (e != NULL);
    }
    return NULL;
}

/* Append s to b in single quotes for /bin/sh. */
static void add_shell(vsim_buf *b, const char *s)
{
    vsim_buf_addch(b, '\'');
    for (; *s; s++)
        if (*s == '\'')
            vsim_buf_adds(b, "'\\''");
        else
            vsim_buf_addch(b, *s);
    vsim_buf_addch(b, '\'');
}

/* Run prog on script; gnuplot's output (errors) is gathered into err. */
static int run_gnuplot(const char *prog, const char *script, vsim_buf *err)
{
    vsim_buf cmd = VSIM_BUF_INIT;
    char line[512];
    FILE *f;
    int st;

    add_shell(&cmd, prog);
    vsim_buf_addch(&cmd, ' ');
    add_shell(&cmd, script);
    vsim_buf_adds(&cmd, " 2>&1 </dev/null");
    fflush(NULL);
    f = popen(cmd.buf, "r");
    vsim_buf_release(&cmd);
    if (!f)
        return vsim_fail(VSIM_EIO, "cannot run %s: %s", prog, strerror(errno));
    while (fgets(line, sizeof(line), f))
        if (err->len < 4096)
            vsim_buf_adds(err, line);
    st = pclose(f);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return VSIM_EIO;
    return VSIM_OK;
}

/* First non-empty line of gnuplot's output, for the error message. */
static const char *first_line(vsim_buf *err)
{
    char *s = err->buf, *nl;

    while (*s == '\n' || *s == ' ')
        s++;
    if ((nl = strchr(s, '\n')) && nl[1] && strstr(nl + 1, "line "))
        nl = strchr(nl + 1, '\n');   /* gnuplot puts the offending line before "line N: ..." */
    if (nl)
        *nl = '\0';
    return *s ? s : "no output file (unknown reason)";
}

typedef int (*script_fn)(vsim_buf *b, const void *chart, const vsim_plot_style *st,
                         const char *out, int format);

static int render(script_fn fn, const void *chart, const vsim_plot_style *st, const char *path,
                  const vsim_gnuplot_opts *o)
{
    vsim_buf script = VSIM_BUF_INIT, tmp = VSIM_BUF_INIT, gp = VSIM_BUF_INIT, err = VSIM_BUF_INIT;
    char found[4096];
    const char *prog = NULL;
    struct stat sb;
    int format = VSIM_PLOT_PNG, rc = VSIM_OK;

    if (!path && !(o && o->script_path))
        return vsim_fail(VSIM_EINVAL, "gnuplot: neither an output file nor a script path");
    if (path && (rc = vsim_plot_format_of(path, &format)))
        return rc;
    if (o && o->script_path) {
        int sf = format;

        if (!path && vsim_plot_format_of(o->script_path, &sf))
            sf = VSIM_PLOT_PNG;
        if ((rc = fn(&script, chart, st, path ? path : "chart.png", sf)) ||
            (rc = vsim_fs_write_atomic(o->script_path, script.buf, script.len, 0)))
            goto done;
    }
    if (!path)
        goto done;
    prog = vsim_gnuplot_find(o, found, sizeof(found));
    if (!prog) {
        rc = vsim_fail(VSIM_ENOTFOUND, "gnuplot is not installed (not found in PATH); install "
                       "it (Debian: gnuplot-nox) or use the cairo backend");
        goto done;
    }
    vsim_buf_reset(&script);
    vsim_buf_addf(&tmp, "%s.tmp", path);
    vsim_buf_addf(&gp, "%s.gp.tmp", path);
    if ((rc = fn(&script, chart, st, tmp.buf, format)) ||
        (rc = vsim_fs_write_atomic(gp.buf, script.buf, script.len, 0)))
        goto done;
    rc = run_gnuplot(prog, gp.buf, &err);
    unlink(gp.buf);
    if (!rc && (stat(tmp.buf, &sb) != 0 || sb.st_size == 0))
        rc = VSIM_EIO;
    if (rc && rc != VSIM_EIO)
        goto done;
    if (rc) {
        rc = vsim_fail(VSIM_EIO, "%s: gnuplot failed: %s", path, first_line(&err));
    } else if (rename(tmp.buf, path) != 0) {
        rc = vsim_fail(VSIM_EIO, "%s: rename failed: %s", path, strerror(errno));
    }
done:
    if (tmp.len)
        unlink(tmp.buf);
    vsim_buf_release(&script);
    vsim_buf_release(&tmp);
    vsim_buf_release(&gp);
    vsim_buf_release(&err);
    return rc;
}

static int lines_script(vsim_buf *b, const void *chart, const vsim_plot_style *st,
                        const char *out, int format)
{
    const vsim_plot_lines *l = chart;
    int smooth = l->smooth > 0;

    preamble(b, st, out, format);
    vsim_buf_adds(b, "set xlabel ");
    add_str(b, st && st->xlabel ? st->xlabel : "step");
    vsim_buf_adds(b, "\nset key outside right top\n");
    if (l->log_y)
        vsim_buf_adds(b, "set logscale y\n");
    for (size_t k = 0; k < l->n_series; k++) {
        const vsim_plot_series *s = &l->series[k];
        double *sm = vsim_mallocarray(s->n ? s->n : 1, sizeof(double));

        if (!sm)
            return vsim_fail(VSIM_ENOMEM, "gnuplot: out of memory");
        vsim_scale_smooth(s->y, s->n, smooth ? l->smooth : 0.0, sm);
        vsim_buf_addf(b, "$d%zu << EOD\n", k);
        for (size_t i = 0; i < s->n; i++) {
            if (!isfinite(s->x[i]) || !isfinite(s->y[i]) || (l->log_y && !(s->y[i] > 0))) {
                vsim_buf_adds(b, "\n");
                continue;
            }
            vsim_buf_addf(b, "%.17g %.17g %.17g\n", s->x[i], s->y[i], sm[i]);
        }
        vsim_buf_adds(b, "EOD\n");
        vsim_free(sm);
    }
    vsim_buf_adds(b, "plot ");
    for (size_t k = 0; k < l->n_series; k++) {
        vsim_rgba c = vsim_rgb_hex(vsim_plot_palette(k), 1.0);

        if (smooth) {
            vsim_buf_addf(b, "$d%zu using 1:2 with lines lw 1 lc rgb ", k);
            add_colour(b, c);
            vsim_buf_adds(b, " dt 3 notitle, ");
        }
        vsim_buf_addf(b, "$d%zu using 1:%d with lines lw 2 lc rgb ", k, smooth ? 3 : 2);
        add_colour(b, c);
        vsim_buf_adds(b, " title ");
        add_str(b, l->series[k].name ? l->series[k].name : "?");
        vsim_buf_adds(b, k + 1 < l->n_series ? ", \\\n     " : "\n");
    }
    return VSIM_OK;
}

int vsim_gnuplot_lines(const vsim_plot_lines *l, const vsim_plot_style *style, const char *path,
                       const vsim_gnuplot_opts *opts)
{
    vsim_canvas *c;
    int rc = vsim_chart_lines_build(l, style, &c);   /* same validation as the cairo chart */

    vsim_canvas_destroy(c);
    return rc ? rc : render(lines_script, l, style, path, opts);
}

static void bands_block(vsim_buf *b, const vsim_plot_bands *s, size_t k)
{
    vsim_buf_addf(b, "$b%zu << EOD\n", k);
    for (size_t i = 0; i < s->n_steps; i++) {
        int ok = isfinite(s->steps[i]);

        for (int j = 0; j < VSIM_PLOT_N_BAND_PCT; j++)
            ok = ok && isfinite(s->pct[i * VSIM_PLOT_N_BAND_PCT + j]);
        if (!ok) {
            vsim_buf_adds(b, "\n");
            continue;
        }
        vsim_buf_addf(b, "%.17g", s->steps[i]);
        for (int j = 0; j < VSIM_PLOT_N_BAND_PCT; j++)
            vsim_buf_addf(b, " %.9g", s->pct[i * VSIM_PLOT_N_BAND_PCT + j]);
        vsim_buf_adds(b, "\n");
    }
    vsim_buf_adds(b, "EOD\n");
}

static int bands_script(vsim_buf *b, const void *chart, const vsim_plot_style *st,
                        const char *out, int format)
{
    static const double alpha[4] = { 0.18, 0.28, 0.40, 0.55 };
    const vsim_plot_bands *s = ((const vsim_plot_bands *const *)chart)[0];
    size_t n = (size_t)(uintptr_t)((const void *const *)chart)[1];
    size_t cols = (size_t)ceil(sqrt((double)n)), rows = (n + cols - 1) / cols;
    vsim_rgba c = vsim_rgb_hex(vsim_plot_palette(1), 1.0);

    preamble(b, st, out, format);
    vsim_buf_adds(b, "set key off\nset xlabel \"step\"\n");
    for (size_t k = 0; k < n; k++)
        bands_block(b, &s[k], k);
    if (n > 1)
        vsim_buf_addf(b, "set multiplot layout %zu,%zu\nunset xlabel\n", rows, cols);
    for (size_t k = 0; k < n; k++) {
        if (n > 1 || !(st && st->title)) {
            vsim_buf_adds(b, "set title ");
            add_str(b, s[k].name ? s[k].name : "");
            vsim_buf_adds(b, "\n");
        }
        vsim_buf_adds(b, "plot ");
        for (int j = 0; j < 4; j++) {
            vsim_buf_addf(b, "$b%zu using 1:%d:%d with filledcurves fc rgb ", k, 2 + j, 10 - j);
            add_colour(b, c);
            vsim_buf_addf(b, " fs transparent solid %.2f noborder, ", alpha[j]);
        }
        vsim_buf_addf(b, "$b%zu using 1:6 with lines lw 2 lc rgb ", k);
        add_colour(b, c);
        vsim_buf_adds(b, "\n");
    }
    if (n > 1)
        vsim_buf_adds(b, "unset multiplot\n");
    return VSIM_OK;
}

int vsim_gnuplot_bands(const vsim_plot_bands *s, size_t n_series, const vsim_plot_style *style,
                       const char *path, const vsim_gnuplot_opts *opts)
{
    const void *pair[2] = { s, (const void *)(uintptr_t)n_series };
    vsim_canvas *c;
    int rc = vsim_chart_bands_build(s, n_series, style, &c);

    vsim_canvas_destroy(c);
    return rc ? rc : render(bands_script, pair, style, path, opts);
}

static int dist_script(vsim_buf *b, const void *chart, const vsim_plot_style *st,
                       const char *out, int format)
{
    const vsim_plot_dist *d = chart;
    vsim_rgba c = vsim_rgb_hex(vsim_plot_palette(0), 1.0);

    preamble(b, st, out, format);
    vsim_buf_adds(b, "set key off\nset boxwidth 0.6 relative\nset style fill solid 0.5\n"
                  "set xtics rotate by -50 left\nset ylabel ");
    add_str(b, st && st->ylabel ? st->ylabel : d->log_abs ? "log10 |value|" : "value");
    vsim_buf_addf(b, "\nset xrange [-0.5:%.1f]\n$d << EOD\n", d->n_layers - 0.5);
    for (size_t i = 0; i < d->n_layers; i++) {
        vsim_dist_summary s;
        int rc = vsim_dist_summarize(&d->layers[i], d->log_abs, &s);

        if (rc)
            return rc;
        vsim_buf_addf(b, "%zu ", i);
        add_str(b, d->names && d->names[i] ? d->names[i] : "?");
        if (s.n)
            vsim_buf_addf(b, " %.9g %.9g %.9g %.9g %.9g\n", s.p5, s.p25, s.p50, s.p75, s.p95);
        else
            vsim_buf_adds(b, " NaN NaN NaN NaN NaN\n");
    }
    vsim_buf_adds(b, "EOD\nplot $d using 1:4:3:7:6:xtic(2) with candlesticks whiskerbars lc rgb ");
    add_colour(b, c);
    vsim_buf_adds(b, ", '' using 1:5:5:5:5 with candlesticks lt -1 lw 2\n");
    return VSIM_OK;
}

int vsim_gnuplot_dist(const vsim_plot_dist *d, const vsim_plot_style *style, const char *path,
                      const vsim_gnuplot_opts *opts)
{
    vsim_canvas *c;
    int rc = vsim_chart_dist_build(d, style, &c);

    vsim_canvas_destroy(c);
    return rc ? rc : render(dist_script, d, style, path, opts);
}
