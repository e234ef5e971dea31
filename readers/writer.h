/*
 * readers/writer.h - the capture API: a training job opens a run directory,
 * declares collections with their save configs, and saves tensors step by
 * step; each saved step becomes one HDF5 shard per worker, written atomically
 * (temporary name, fsync, rename). Builds with HDF5 alone (no jansson, GSL, cairo).
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_READERS_WRITER_H
#define VSIM_READERS_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "core/tensor.h"
#include "core/vsim.h"
#include "readers/run.h"

typedef struct vsim_writer vsim_writer;

/*
 * When a collection is saved, in the step counter of its mode (smdebug's
 * mode_step). A step is due if it lies in [start_step, end_step) and is a
 * multiple of save_interval or listed in save_steps.
 */
typedef struct vsim_save_config {
    int64_t save_interval;        /* 0: only save_steps */
    const int64_t *save_steps;    /* explicit steps (copied); may be NULL */
    size_t n_save_steps;
    int64_t start_step;           /* first eligible step */
    int64_t end_step;             /* first step no longer eligible; -1: no end */
    unsigned reductions;          /* VSIM_RED_BIT mask; 0: save the full values */
    unsigned modes;               /* 1 << vsim_mode mask; 0: every mode */
} vsim_save_config;

#define VSIM_SAVE_CONFIG_INIT { .save_interval = 100, .end_step = -1 }

typedef struct vsim_writer_params {
    const char *run_id;           /* NULL: "<basename of dir>-<UTC time>" */
    int worker;                   /* this process's worker index, 0-based */
    int n_workers;                /* workers in the run (>= 1) */
    const char *hyperparams_json; /* JSON object text copied into run.json; may be NULL */
    const char *model_json;       /* JSON value (layers, shapes) for run.json; may be NULL */
    int durable;                  /* VSIM_DURABLE_*: when shards reach the disk (default SYNC) */
    int allow_existing;           /* 0: refuse a folder that already holds run.json */
    double created;               /* run.json's creation time (seconds since the epoch);
                                     0: now (a resumed run passes the original's) */
} vsim_writer_params;

/*
 * Durability of shards. Every mode is atomic for readers and safe against the
 * process being killed at any instant (a shard is renamed into place only once
 * complete; the page cache keeps it). They differ on power loss:
 *  SYNC  fsync the shard, rename, fsync the folder, before end_step returns:
 *        a shard that is visible is on disk. Costs a device flush per step.
 *  ASYNC rename at once; a background thread fsyncs each shard and the folder
 *        in order, at most VSIM_WRITER_ASYNC_DEPTH shards behind (end_step waits
 *        beyond that). On power loss the last few shards may be lost or read as
 *        corrupt, which readers report and skip. close() drains before END.
 *  NONE  never fsync (benchmarks, scratch runs).
 */
enum { VSIM_DURABLE_NONE = 0, VSIM_DURABLE_SYNC = 1, VSIM_DURABLE_ASYNC = 2 };
#define VSIM_WRITER_ASYNC_DEPTH 8

#define VSIM_WRITER_PARAMS_INIT { .n_workers = 1, .durable = VSIM_DURABLE_SYNC }

/*
 * Open (create) the run directory dir for writing. Worker 0 writes run.json
 * at the first vsim_writer_begin_step (and again when collections change).
 * The standard collections are declared with VSIM_SAVE_CONFIG_INIT.
 * Returns VSIM_EINVAL if dir already holds a run and !allow_existing,
 * VSIM_EIO if the folder cannot be created.
 */
int vsim_writer_open(const char *dir, const vsim_writer_params *params, vsim_writer **out);

/*
 * Declare or replace a collection. regex (POSIX extended, may be NULL) makes
 * it a custom collection: every tensor whose name matches belongs to it.
 */
int vsim_writer_set_collection(vsim_writer *w, const char *name, const char *regex,
                               const vsim_save_config *cfg);

/* Start a step. Steps must increase; mode_step counts steps within mode. */
int vsim_writer_begin_step(vsim_writer *w, int64_t step, vsim_mode mode, int64_t mode_step);

/* 1 if any collection is due at the current step (so callers can skip work). */
int vsim_writer_step_due(const vsim_writer *w);

/*
 * 1 if a tensor named name in the comma-separated collections (may be NULL)
 * would be saved at the current step.
 */
int vsim_writer_wants(const vsim_writer *w, const char *name, const char *collections);
/*
 * The same for a step of mode numbered mode_step within it, whether it is in
 * progress or not, so that a trainer can prepare a later step's tensors.
 */
int vsim_writer_wants_at(const vsim_writer *w, const char *name, const char *collections,
                         vsim_mode mode, int64_t mode_step);

/*
 * Save t under /tensors/<name> (or its reductions under /reductions/<name>)
 * in this step's shard if one of its collections is due; VSIM_OK and nothing
 * written otherwise. t may be strided. The name is a '/'-separated path.
 * VSIM_EINVAL for a bad name or a tensor saved twice in a step.
 */
int vsim_writer_save(vsim_writer *w, const char *name, const char *collections,
                     const vsim_tensor *t);

/* Finish the step: close its shard, fsync, rename into place. No-op if nothing was saved. */
int vsim_writer_end_step(vsim_writer *w);

/* 1 if STOP exists in the run directory. */
int vsim_writer_stop_requested(const vsim_writer *w);

/* Finish a pending step, write END (worker 0) with status and the last step, free w. */
int vsim_writer_close(vsim_writer *w, const char *status, int64_t last_step);

/* Free w without END; a pending shard is discarded. NULL is a no-op. */
void vsim_writer_destroy(vsim_writer *w);

/* The run directory w writes into (borrowed). */
const char *vsim_writer_dir(const vsim_writer *w);
/* The run id and creation time run.json records (borrowed). */
const char *vsim_writer_run_id(const vsim_writer *w);
double vsim_writer_created(const vsim_writer *w);

#endif
