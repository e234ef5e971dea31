/*
 * reports/report_int.h - what the report's units share: one run gathered into
 * JSON (its summary and its charts' data), the embedding section, the page.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_REPORTS_REPORT_INT_H
#define VSIM_REPORTS_REPORT_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/vsim.h"
#include "readers/trial.h"
#include "reports/report.h"


/* One run as the report sees it. */
typedef struct report_run {
    const char *dir;            /* borrowed */
    vsim_trial *t;
    json_t *run_json;           /* run.json parsed (an object; empty if unparsable) */
    json_t *summary;            /* the "vsim-summary/1" object */
    json_t *data;               /* the charts' data (object) */
    json_t *missing;            /* array of {section, message} (also in summary) */
    int64_t step;               /* the step of the layer table and histograms; -1: none */
    size_t n_problems;
} report_run;

/* Progress on the caller's callback, if any ("vsim-report: <msg>"). */
VSIM_INTERNAL void vsim_report_progress(const vsim_report_params *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Record that section cannot be shown and why (into r->missing). */
VSIM_INTERNAL void vsim_report_missing(report_run *r, const char *section, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Open dir: the trial, run.json and the summary's skeleton. */
VSIM_INTERNAL int vsim_report_open(const char *dir, report_run *r);
/* Gather everything but the embeddings into r (opened). */
VSIM_INTERNAL int vsim_report_collect(const vsim_report_params *p, report_run *r);

/*
 * The embedding section: start reads the embeddings and starts the t-SNE layouts
 * (cached) on a thread; finish joins it and writes the section (quality,
 * neighbours, thumbnails, gallery) and frees e; abandon joins and frees only.
 */
typedef struct report_emb report_emb;
VSIM_INTERNAL int vsim_report_emb_start(report_run *r, const vsim_report_params *p,
                                        report_emb **out);
VSIM_INTERNAL int vsim_report_emb_finish(report_run *r, const vsim_report_params *p,
                                         report_emb *e, vsim_report_result *res);
VSIM_INTERNAL void vsim_report_emb_abandon(report_emb *e);
VSIM_INTERNAL void vsim_report_run_release(report_run *r);

/* FNV-1a, 64 bits, continuing from h (0xcbf29ce484222325 to start): the caches' keys. */
static inline uint64_t vsim_report_fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;

    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* Base64 of an array of n items of size bytes each, as a new JSON string. */
VSIM_INTERNAL json_t *vsim_report_b64(const void *data, size_t n_bytes);

/* The page for the runs, into out. */
VSIM_INTERNAL int vsim_report_page(report_run *runs, size_t n_runs, const vsim_report_params *p,
                                   vsim_buf *out);

/* Inline assets (reports/assets/, embedded at build time by scripts/embed.sh). */
extern const char vsim_report_js[];
extern const char vsim_report_css[];

#endif
