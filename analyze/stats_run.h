/*
 * analyze/stats_run.h - statistics of a whole run (vsim-stats, issue 5): pick
 * steps, workers and tensors of a trial, read each tensor once and compute its
 * statistics (OpenMP across small tensors and inside large ones), and hand the
 * rows to a callback in a fixed order: step, worker, tensor (model order, or
 * grouped by layer). Optionally summarises each tensor across the steps, and
 * follows a live run. Corrupt shards become problem rows; the rest goes on.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_ANALYZE_STATS_RUN_H
#define VSIM_ANALYZE_STATS_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "analyze/stats.h"
#include "core/progress.h"
#include "core/vsim.h"
#include "readers/run.h"

typedef struct vsim_stats_run_params {
    vsim_stats_params stats;     /* percentiles, histogram, n_threads */
    int64_t step;                /* >= 0: only this step (VSIM_ENOTFOUND if not complete) */
    int has_range;               /* 1: the steps first..last (both included), every k-th */
    int64_t first, last, every;  /* every: steps with (s - first) % every == 0; 1 = all */
    int all_steps;               /* 1: every complete step; else (no step/range) the last */
    const char *const *collections;  /* tensors in any of these collections; NULL: any */
    size_t n_collections;
    const char *regex;           /* POSIX extended over tensor names; NULL: any */
    int worker;                  /* -1: every worker */
    int mode;                    /* a vsim_mode or VSIM_MODE_ANY */
    int across_steps;            /* 1: one series row per tensor instead of per-step rows */
    int by_layer;                /* 1: group a layer's tensors (weight, bias, gradients) */
    int follow;                  /* 1: after the selection, wait for new steps until END */
    double poll_s;               /* follow: seconds between looks (default 0.5) */
    double idle_timeout_s;       /* follow: give up after this long without a new step; 0: never */
    size_t batch_bytes;          /* read this much before computing (default 32 MiB) */
    int copy_values;             /* 1: read every tensor; 0 (default): map those of
                                    VSIM_TRIAL_MAP_MIN bytes and more (vsim_trial_map) */
} vsim_stats_run_params;

#define VSIM_STATS_RUN_PARAMS_INIT { .stats = VSIM_STATS_PARAMS_INIT, .step = -1, .every = 1, \
                                     .worker = -1, .mode = VSIM_MODE_ANY, .poll_s = 0.5 }

typedef enum vsim_stats_row_kind {
    VSIM_STATS_ROW_TENSOR = 0,   /* stats of one tensor at one step and worker */
    VSIM_STATS_ROW_SERIES,       /* across-steps summary of one tensor */
    VSIM_STATS_ROW_PROBLEM,      /* a file that could not be used */
    VSIM_STATS_ROW_STEP_DONE     /* every row of a step has been given (for --follow flushing) */
} vsim_stats_row_kind;

/* One result row; every pointer is borrowed for the duration of the callback. */
typedef struct vsim_stats_row {
    vsim_stats_row_kind kind;
    int worker;                  /* -1 in a series row that merges workers */
    int64_t step;
    vsim_mode mode;
    const char *tensor;
    const char *collections;     /* comma-separated */
    const char *layer;           /* the layer the tensor belongs to */
    const vsim_stats *stats;     /* ROW_TENSOR */
    uint64_t known;              /* bit f set: field f of stats is known (reduction-only
                                  * saves know only what was saved) */
    const vsim_hist *hist;       /* ROW_TENSOR with histograms asked for, else NULL */
    const vsim_stats_series *series; /* ROW_SERIES */
    const char *path;            /* ROW_PROBLEM: the file (may be NULL) */
    const char *message;         /* ROW_PROBLEM: what is wrong */
} vsim_stats_row;

/* Called for each row in order; a non-zero return stops the walk (VSIM_OK is returned). */
typedef int (*vsim_stats_row_fn)(void *ctx, const vsim_stats_row *row);

typedef struct vsim_stats_run_result {
    size_t n_rows;               /* tensor and series rows */
    size_t n_steps;              /* steps visited */
    size_t n_problems;           /* problem rows (exit status 4 in the CLI) */
} vsim_stats_run_result;

/*
 * Walk the run in dir as p selects, calling fn for each row. *out (may be NULL)
 * gets the counts. Returns VSIM_OK even when some shards were corrupt (they are
 * problem rows); VSIM_ENOTFOUND/VSIM_EFORMAT when dir is not a readable run or
 * a chosen step does not exist, VSIM_EINVAL for bad parameters (a bad regex),
 * VSIM_ENOMEM. Not thread-safe for one dir; uses OpenMP inside.
 */
int vsim_stats_run_dir(const char *dir, const vsim_stats_run_params *p, vsim_stats_row_fn fn,
                       void *ctx, vsim_stats_run_result *out);

/*
 * The layer of a tensor name: "encoder/conv1/weight" -> "encoder/conv1"; gradient
 * spellings ("gradients/X/weight", "X/weight/grad", "X/weight_grad") and
 * "activations/X" map to X (trainer/capture.c's names).
 */
void vsim_stats_layer_of(const char *name, char *out, size_t cap);

/* Parse "A:B[:K]" (A or B may be empty: open end) into p->first/last/every. */
int vsim_stats_parse_range(const char *s, vsim_stats_run_params *p);

#endif
