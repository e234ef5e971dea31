/*
 * reports/gate.h - the CI regression gate (issue 14): the summaries of baseline
 * and candidate runs (several seeds per side allowed) compared metric by metric,
 * each with a direction and a tolerance, seed noise handled by a bootstrap
 * interval of the difference; verdicts as Markdown, JUnit XML and JSON.
 * Decision rule and tolerance file: docs/ci.md and vsim-report(1).
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_REPORTS_GATE_H
#define VSIM_REPORTS_GATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/vsim.h"
#include "reports/report.h"

typedef struct vsim_gate vsim_gate;

typedef struct vsim_gate_params {
    const char *tolerances;     /* tolerance file text to apply over the defaults; NULL: none */
    const char *tolerances_name;/* its name, for error messages */
    size_t md_budget;           /* most characters of the Markdown (60000) */
    int n_boot;                 /* bootstrap resamples (2000) */
    uint64_t seed;              /* bootstrap seed (1): the verdict is deterministic */
    double confidence;          /* of the interval (0.95) */
} vsim_gate_params;

#define VSIM_GATE_PARAMS_INIT { .md_budget = 60000, .n_boot = 2000, .seed = 1, .confidence = 0.95 }

/* The built-in tolerances, one documented line per metric (--print-tolerances). */
const char *vsim_gate_default_tolerances(void);

/*
 * Check a tolerance file's text: VSIM_EINVAL naming name:line and what is wrong
 * for the first bad line, else VSIM_OK.
 */
int vsim_gate_check_tolerances(const char *text, const char *name);

/*
 * Compare. Each of base[0..n_base) and cand[0..n_cand) is a run directory (read
 * through the report's summary code, rp) or a summary JSON file saved by
 * vsim-report --summary-json. Returns VSIM_OK and sets *out (verdict inside),
 * VSIM_EINVAL for bad tolerances, or the error of an input that cannot be read.
 */
int vsim_gate_run(const char *const *base, size_t n_base, const char *const *cand, size_t n_cand,
                  const vsim_gate_params *p, const vsim_report_params *rp, vsim_gate **out);
void vsim_gate_destroy(vsim_gate *g);

/* 1 if some metric regressed (the CLI exits 3). */
int vsim_gate_regressed(const vsim_gate *g);
/* Shards skipped in the inputs (the CLI exits 4 when nothing regressed). */
size_t vsim_gate_n_problems(const vsim_gate *g);
/* One line: "regression: 3 of 17 metrics worse than tolerance (eval_loss, ...)". */
const char *vsim_gate_verdict_line(const vsim_gate *g);

/* The verdicts, appended to out; byte-identical for the same inputs. */
int vsim_gate_markdown(const vsim_gate *g, size_t budget, vsim_buf *out);
int vsim_gate_junit(const vsim_gate *g, vsim_buf *out);
int vsim_gate_json(const vsim_gate *g, vsim_buf *out);
/* The verdict table as HTML, for the top of the comparison report. */
int vsim_gate_html(const vsim_gate *g, vsim_buf *out);

#endif
