/*
 * reports/report.h - vsim-report: one self-contained HTML file that shows a run,
 * or several side by side, to a person (issue 20): summary, curves, per-layer
 * statistics and distributions, probe images, the t-SNE cluster chart with every
 * point and its nearest designs. Everything inline: no request to the network.
 * The same runs and parameters give a byte-identical file. Design: docs/report.md.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_REPORTS_REPORT_H
#define VSIM_REPORTS_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/progress.h"
#include "core/vsim.h"

typedef enum vsim_report_theme {
    VSIM_REPORT_THEME_AUTO = 0,     /* follow prefers-color-scheme */
    VSIM_REPORT_THEME_LIGHT,
    VSIM_REPORT_THEME_DARK
} vsim_report_theme;

typedef struct vsim_report_params {
    const char *title;          /* NULL: "vsim report: <run id>" */
    int64_t step;               /* step for the layer table, histograms, embeddings; -1: last */
    int theme;                  /* vsim_report_theme */
    int tsne;                   /* 1: t-SNE cluster charts (default); 0: none */
    int timestamp;              /* 1: write the generation time into the page */
    const char *cache_dir;      /* t-SNE layout cache; NULL: none (the CLI picks the default) */
    const char *data;           /* the image dataset for thumbnails; NULL: run.json's "data" */
    size_t max_thumbnails;      /* designs with a thumbnail (10000) */
    int n_threads;              /* 0 = OpenMP default */
    const char *banner_html;    /* trusted HTML put above the summary (the gate's verdicts);
                                   NULL: none */
    vsim_progress_fn progress;  void *progress_ctx;   /* may be NULL */
} vsim_report_params;

#define VSIM_REPORT_PARAMS_INIT { .step = -1, .tsne = 1, .max_thumbnails = 10000 }

/* What one report took and found. */
typedef struct vsim_report_result {
    size_t n_runs;
    size_t n_problems;          /* shards skipped (the CLI exits 4), over all runs */
    size_t n_missing;           /* sections that say what is missing */
    size_t bytes;               /* size of the page */
    size_t thumbnail_bytes;     /* of which the thumbnail sprites (PNG) */
    size_t n_thumbnails;
    size_t n_points;            /* t-SNE points drawn, over all charts */
    int tsne_cached;            /* layouts taken from the cache */
    int tsne_computed;          /* layouts computed */
    double seconds;
} vsim_report_result;

/*
 * Write the report of the n_runs run directories to out_path (atomically: a
 * temporary file in the same folder, renamed; nothing is left behind on error).
 * A run whose shards are partly corrupt is reported with the bad files named
 * (r->n_problems); a section whose data is missing says so. VSIM_ENOTFOUND or
 * VSIM_EFORMAT when a run cannot be opened at all, VSIM_EIO, VSIM_ENOMEM.
 * The run directories are only read (the t-SNE cache lives outside them).
 * r may be NULL.
 */
int vsim_report_write(const char *const *runs, size_t n_runs, const vsim_report_params *p,
                      const char *out_path, vsim_report_result *r);

/*
 * The summary figures of one run as the JSON object the page embeds in
 * <script type="application/json" id="vsim-summary"> (an array of these for
 * several runs), appended to out with a newline. Schema: docs/report.md.
 */
int vsim_report_summary_json(const char *run, const vsim_report_params *p, vsim_buf *out,
                             vsim_report_result *r);

#endif
