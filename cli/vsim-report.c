/*
 * cli/vsim-report.c - one self-contained HTML report of a run, or of several
 * runs side by side (issue 20; docs/man/vsim-report.1, reports/report.h).
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/clock.h"
#include "reports/report.h"

static const vsim_cli CLI = {
    "vsim-report", "RUN [RUN...] -o report.html [options]",
    "Write one offline HTML report of a run, or compare several.",
    "Examples:\n  vsim-report demo/run -o demo/report.html\n"
    "  vsim-report runs/a runs/b runs/c -o compare.html --title 'lr sweep'\n"
    "  vsim-report --summary-json demo/run\n"
    "Exit status: 0 written, 1 error (no file is left behind), 2 usage,\n"
    "4 written, but some shards were corrupt and skipped (named on stderr).\n", 1, -1
};

static double t_start;

static int progress(void *ctx, size_t done, size_t total, const char *msg)
{
    (void)ctx;
    (void)done;
    (void)total;
    fprintf(stderr, "vsim-report: %6.2f s  %s\n", vsim_clock_s() - t_start, msg ? msg : "");
    return 0;
}

/* --cache DIR, or $XDG_CACHE_HOME/vsim/tsne, or ~/.cache/vsim/tsne; "none": no cache. */
static const char *cache_dir(const char *opt, vsim_buf *b)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

    if (opt)
        return strcmp(opt, "none") ? opt : NULL;
    if (xdg && *xdg)
        vsim_buf_addf(b, "%s/vsim/tsne", xdg);
    else if (home && *home)
        vsim_buf_addf(b, "%s/.cache/vsim/tsne", home);
    else
        return NULL;
    return b->buf;
}

int main(int argc, char **argv)
{
    vsim_report_params p = VSIM_REPORT_PARAMS_INIT;
    vsim_report_result r = { 0 };
    const char *out = NULL, *theme = "auto", *cache = NULL;
    int no_tsne = 0, summary = 0, first, rc, max_thumbs = 10000;
    vsim_buf cb = VSIM_BUF_INIT, js = VSIM_BUF_INIT;
    vsim_opt opts[] = {
        VSIM_OPT_STRING('o', "output", &out, "FILE", "the HTML file to write"),
        VSIM_OPT_STRING(0, "title", &p.title, "T", "page title (vsim report: RUN_ID)"),
        VSIM_OPT_INT64(0, "step", &p.step, "N", "step of the layer table and embeddings (last)"),
        VSIM_OPT_STRING(0, "theme", &theme, "auto|light|dark", "colours (auto: the viewer's)"),
        VSIM_OPT_FLAG(0, "no-tsne", &no_tsne, "no t-SNE cluster charts"),
        VSIM_OPT_FLAG(0, "timestamp", &p.timestamp, "write the time into the page"),
        VSIM_OPT_STRING(0, "cache", &cache, "DIR", "t-SNE layout cache (~/.cache/vsim/tsne); none"),
        VSIM_OPT_STRING(0, "data", &p.data, "FILE", "image dataset for thumbnails (run.json's)"),
        VSIM_OPT_INT(0, "max-thumbnails", &max_thumbs, "N", "designs with a thumbnail (10000)"),
        VSIM_OPT_FLAG(0, "summary-json", &summary, "print the summary JSON of one RUN and exit"),
        VSIM_OPT_INT('j', "threads", &p.n_threads, "N", "OpenMP threads (0: all)"),
        VSIM_OPT_END
    };

    vsim_cli_omp_passive(argv);
    vsim_cli_sigbus("vsim-report");
    t_start = vsim_clock_s();
    vsim_cli_parse(&CLI, opts, argc, argv, &first);
    if (!strcmp(theme, "auto") || !strcmp(theme, "light") || !strcmp(theme, "dark"))
        p.theme = theme[0] == 'a' ? VSIM_REPORT_THEME_AUTO
                  : theme[0] == 'l' ? VSIM_REPORT_THEME_LIGHT : VSIM_REPORT_THEME_DARK;
    else
        vsim_cli_usage_error(&CLI, "--theme: want auto, light or dark, not '%s'", theme);
    if (max_thumbs < 0)
        vsim_cli_usage_error(&CLI, "--max-thumbnails must be 0 or more");
    if (summary && argc - first != 1)
        vsim_cli_usage_error(&CLI, "--summary-json takes exactly one RUN");
    if (!summary && !out)
        vsim_cli_usage_error(&CLI, "give the output file with -o FILE");
    p.tsne = !no_tsne;
    p.max_thumbnails = (size_t)max_thumbs;
    p.cache_dir = cache_dir(cache, &cb);
    if (!vsim_cli_quiet())
        p.progress = progress;
    if (summary) {
        rc = vsim_report_summary_json(argv[first], &p, &js, &r);
        if (!rc)
            fputs(js.buf, stdout);
    } else {
        rc = vsim_report_write((const char *const *)argv + first, (size_t)(argc - first), &p,
                               out, &r);
        if (!rc && !vsim_cli_quiet())
            fprintf(stderr, "vsim-report: wrote %s (%zu bytes, %zu t-SNE points, %d layouts "
                            "computed, %d cached, %zu thumbnails in %zu bytes) in %.2f s\n",
                    out, r.bytes, r.n_points, r.tsne_computed, r.tsne_cached, r.n_thumbnails,
                    r.thumbnail_bytes, r.seconds);
    }
    vsim_buf_release(&cb);
    vsim_buf_release(&js);
    if (rc)
        return vsim_cli_error(CLI.prog);
    if (r.n_problems) {
        fprintf(stderr, "vsim-report: %zu corrupt shard(s) skipped (named in the report)\n",
                r.n_problems);
        return VSIM_EXIT_PARTIAL;
    }
    return VSIM_EXIT_OK;
}
