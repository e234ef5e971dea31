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
#include "core/fs.h"
#include "core/mem.h"
#include "reports/gate.h"
#include "reports/report.h"

static const vsim_cli CLI = {
    "vsim-report", "RUN [RUN...] -o report.html [options]",
    "Write one offline HTML report of a run, or compare several.",
    "Examples:\n  vsim-report demo/run -o demo/report.html\n"
    "  vsim-report runs/a runs/b runs/c -o compare.html --title 'lr sweep'\n"
    "  vsim-report --summary-json demo/run\n"
    "  vsim-report --baseline base.json --candidate runs/new --junit gate.xml --md gate.md\n"
    "Exit status: 0 written (gate: no regression), 1 error (no file is left behind),\n"
    "2 usage or a bad tolerance file, 3 gate: a regression, 4 some shards were corrupt\n"
    "and skipped (named on stderr).\n", 0, -1
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

/* Split a comma-separated list in place (s is a copy the caller owns). */
static size_t split(char *s, const char **out, size_t cap)
{
    size_t n = 0;

    for (char *tok = strtok(s, ","); tok && n < cap; tok = strtok(NULL, ","))
        if (*tok)
            out[n++] = tok;
    return n;
}

static int write_out(const char *path, const vsim_buf *b)
{
    if (!strcmp(path, "-"))
        return fwrite(b->buf, 1, b->len, stdout) == b->len ? 0 : vsim_fail(VSIM_EIO, "stdout");
    return vsim_fs_write_atomic(path, b->buf, b->len, 1);
}

typedef struct gate_opts {
    const char *base, *cand, *tol_file, *md, *junit, *json, *html;
    int md_budget;
} gate_opts;

/* --baseline/--candidate: compare, write what was asked, return the exit status. */
static int gate(const gate_opts *o, vsim_report_params *p)
{
    vsim_gate_params gp = VSIM_GATE_PARAMS_INIT;
    const char *base[64], *cand[64], *runs[128];
    char *bl = strdup(o->base), *cl = strdup(o->cand);
    size_t nb = split(bl, base, 64), nc = split(cl, cand, 64), nr = 0;
    vsim_buf tol = VSIM_BUF_INIT, b = VSIM_BUF_INIT;
    vsim_gate *g = NULL;
    int rc = 0;

    if (!nb || !nc)
        vsim_cli_usage_error(&CLI, "--baseline and --candidate each need a run or summary");
    if (o->tol_file) {
        if (vsim_fs_read_file(o->tol_file, &tol))
            return vsim_cli_error(CLI.prog);
        if (vsim_gate_check_tolerances(tol.buf, o->tol_file))
            vsim_cli_usage_error(&CLI, "%s", vsim_errmsg());
        gp.tolerances = tol.buf;
        gp.tolerances_name = o->tol_file;
    }
    gp.md_budget = (size_t)o->md_budget;
    rc = vsim_gate_run(base, nb, cand, nc, &gp, p, &g);
    if (!rc && (o->md || (!o->junit && !o->json && !o->html)))
        rc = vsim_gate_markdown(g, gp.md_budget, &b) || write_out(o->md ? o->md : "-", &b);
    if (!rc && o->junit && !(rc = vsim_gate_junit(g, (vsim_buf_reset(&b), &b))))
        rc = write_out(o->junit, &b);
    if (!rc && o->json && !(rc = vsim_gate_json(g, (vsim_buf_reset(&b), &b))))
        rc = write_out(o->json, &b);
    for (size_t i = 0; i < nb + nc; i++)   /* the HTML shows the run directories */
        if (vsim_fs_is_dir(i < nb ? base[i] : cand[i - nb]))
            runs[nr++] = i < nb ? base[i] : cand[i - nb];
    if (!rc && o->html && nr && !(rc = vsim_gate_html(g, (vsim_buf_reset(&b), &b)))) {
        p->banner_html = b.buf;
        rc = vsim_report_write(runs, nr, p, o->html, NULL);
    }
    if (!rc)
        fprintf(stderr, "vsim-report: %s\n", vsim_gate_verdict_line(g));
    rc = rc ? vsim_cli_error(CLI.prog) : vsim_gate_regressed(g) ? VSIM_EXIT_FINDING
         : vsim_gate_n_problems(g) ? VSIM_EXIT_PARTIAL : VSIM_EXIT_OK;
    vsim_gate_destroy(g);
    vsim_buf_release(&tol);
    vsim_buf_release(&b);
    free(bl);
    free(cl);
    return rc;
}

int main(int argc, char **argv)
{
    vsim_report_params p = VSIM_REPORT_PARAMS_INIT;
    vsim_report_result r = { 0 };
    const char *out = NULL, *theme = "auto", *cache = NULL;
    int no_tsne = 0, summary = 0, first, rc, max_thumbs = 10000, print_tol = 0;
    gate_opts go = { .md_budget = 60000 };
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
        VSIM_OPT_STRING(0, "baseline", &go.base, "A[,A2..]", "gate: baseline runs or summaries"),
        VSIM_OPT_STRING(0, "candidate", &go.cand, "B[,B2..]", "gate: candidate runs or summaries"),
        VSIM_OPT_STRING(0, "tolerances", &go.tol_file, "FILE", "gate: tolerances over the defaults"),
        VSIM_OPT_STRING(0, "md", &go.md, "FILE", "gate: Markdown verdict (- : stdout)"),
        VSIM_OPT_STRING(0, "junit", &go.junit, "FILE", "gate: JUnit XML"),
        VSIM_OPT_STRING(0, "json", &go.json, "FILE", "gate: JSON, every metric"),
        VSIM_OPT_STRING(0, "html", &go.html, "FILE", "gate: the comparison report, verdicts on top"),
        VSIM_OPT_INT(0, "md-budget", &go.md_budget, "N", "gate: most Markdown characters (60000)"),
        VSIM_OPT_FLAG(0, "print-tolerances", &print_tol, "print the built-in tolerances"),
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
    if (print_tol) {
        fputs(vsim_gate_default_tolerances(), stdout);
        return VSIM_EXIT_OK;
    }
    if ((go.base || go.cand) && (first < argc || summary || out))
        vsim_cli_usage_error(&CLI, "--baseline/--candidate take no RUN, -o or --summary-json");
    if ((go.base != NULL) != (go.cand != NULL))
        vsim_cli_usage_error(&CLI, "give both --baseline and --candidate");
    if (go.md_budget < 1000)
        vsim_cli_usage_error(&CLI, "--md-budget must be at least 1000");
    if (!go.base && first == argc)
        vsim_cli_usage_error(&CLI, "give a RUN (or --baseline and --candidate)");
    if (summary && argc - first != 1)
        vsim_cli_usage_error(&CLI, "--summary-json takes exactly one RUN");
    if (!summary && !out && !go.base)
        vsim_cli_usage_error(&CLI, "give the output file with -o FILE");
    p.tsne = !no_tsne;
    p.max_thumbnails = (size_t)max_thumbs;
    p.cache_dir = cache_dir(cache, &cb);
    if (!vsim_cli_quiet())
        p.progress = progress;
    if (go.base) {
        rc = gate(&go, &p);
        vsim_buf_release(&cb);
        return rc;
    }
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
