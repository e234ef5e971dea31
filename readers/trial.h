/*
 * readers/trial.h - a training run read as a whole (smdebug's "trial"):
 * workers, modes and steps; tensors, their collections and where they were
 * saved; values and reductions at a step. vsim_trial_refresh picks up shards
 * that landed since, so a live run can be followed. Corrupt shards are
 * recorded (vsim_trial_problem) and skipped; the rest of the run stays readable.
 * A vsim_trial is not thread-safe; reads of different tensors may use
 * separate handles opened on the same run.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_READERS_TRIAL_H
#define VSIM_READERS_TRIAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/tensor.h"
#include "core/vsim.h"
#include "readers/run.h"

typedef struct vsim_trial vsim_trial;

typedef struct vsim_step_info {
    int64_t step;           /* global step */
    vsim_mode mode;
    int64_t mode_step;      /* step within its mode */
    double wall_time;       /* seconds since the epoch, from worker 0's shard */
    int n_shards;           /* workers that wrote this step */
} vsim_step_info;

typedef struct vsim_tensor_info {
    const char *name;           /* "encoder/conv1/weight" */
    const char *collections;    /* comma-separated */
    vsim_dtype dtype;           /* as last seen */
    int ndim;
    size_t shape[VSIM_MAX_DIMS];
    unsigned reductions;        /* reductions saved (mask); 0 when values were saved */
    int has_values;             /* 1 if full values were saved at some step */
    size_t n_saves;             /* (step, worker) pairs holding it */
} vsim_tensor_info;

typedef struct vsim_trial_problem {
    const char *path;           /* the file */
    const char *message;        /* what is wrong with it */
} vsim_trial_problem;

/*
 * Open the run in dir and index the shards present. VSIM_ENOTFOUND if dir is
 * not a run directory, VSIM_EFORMAT for a bad run.json or an unknown schema.
 */
int vsim_trial_open(const char *dir, vsim_trial **out);
void vsim_trial_close(vsim_trial *t);

/* Index shards that landed since the last call; *n_new_steps (may be NULL) gets how many
 * steps became complete. Re-reads END. */
int vsim_trial_refresh(vsim_trial *t, size_t *n_new_steps);

const char *vsim_trial_dir(const vsim_trial *t);
const char *vsim_trial_run_id(const vsim_trial *t);
const char *vsim_trial_run_json(const vsim_trial *t);   /* run.json text */
int vsim_trial_n_workers(const vsim_trial *t);           /* from run.json */

/* 1 and the status/last step from END if the run has ended, else 0. */
int vsim_trial_ended(const vsim_trial *t, const char **status, int64_t *last_step);

/* Complete steps (every worker wrote them), sorted by global step. */
size_t vsim_trial_n_steps(const vsim_trial *t);
const vsim_step_info *vsim_trial_step(const vsim_trial *t, size_t i);
/* Steps of one mode (or VSIM_MODE_ANY): writes at most cap into out, returns the count. */
size_t vsim_trial_list_steps(const vsim_trial *t, int mode, int64_t *out, size_t cap);
/* Steps some but not all workers have written yet. */
size_t vsim_trial_n_incomplete(const vsim_trial *t);
/* The info of global step, or NULL if it is not a complete step. */
const vsim_step_info *vsim_trial_find_step(const vsim_trial *t, int64_t step);

/* Tensors in first-seen order (the order the trainer saved them: model order). */
size_t vsim_trial_n_tensors(const vsim_trial *t);
const vsim_tensor_info *vsim_trial_tensor(const vsim_trial *t, size_t i);
/* Index of a tensor by name; VSIM_ENOTFOUND. */
int vsim_trial_find_tensor(const vsim_trial *t, const char *name, size_t *out);
/*
 * Tensors in collection (NULL: any) whose name matches regex (POSIX extended,
 * NULL: any). *out is allocated (vsim_free); VSIM_EINVAL for a bad regex.
 */
int vsim_trial_match(const vsim_trial *t, const char *collection, const char *regex,
                     size_t **out, size_t *n_out);
/* Complete steps at which tensor i was saved (any worker); returns count, writes <= cap. */
size_t vsim_trial_tensor_steps(const vsim_trial *t, size_t i, int64_t *out, size_t cap);
/* The last complete step at which tensor i was saved (any worker); -1 if none. */
int64_t vsim_trial_tensor_last_step(const vsim_trial *t, size_t i);
/* 1 if tensor i was saved at (step, worker). */
int vsim_trial_has(const vsim_trial *t, size_t i, int64_t step, int worker);

/*
 * Read tensor name at (step, worker). *out_view describes the values (row-major);
 * *out_data is allocated with vsim_malloc and owned by the caller.
 * VSIM_ENOTFOUND if not saved there; VSIM_EFORMAT/VSIM_EIO naming the shard.
 */
int vsim_trial_read(const vsim_trial *t, const char *name, int64_t step, int worker,
                    vsim_tensor *out_view, void **out_data);
/* As vsim_trial_read, into buf of cap_bytes; VSIM_ERANGE if too small. */
int vsim_trial_read_into(const vsim_trial *t, const char *name, int64_t step, int worker,
                         void *buf, size_t cap_bytes, vsim_tensor *out_view);
/*
 * Bytes vsim_trial_read_into needs for name at (step, worker), from the index
 * (no I/O), so a caller can size or reuse its buffer. VSIM_ENOTFOUND if values
 * were not saved there; VSIM_EFORMAT for an impossible shape.
 */
int vsim_trial_value_bytes(const vsim_trial *t, const char *name, int64_t step, int worker,
                           size_t *out_bytes);
/*
 * Map the values of name at (step, worker) read-only from the page cache
 * instead of copying them (mmap of the shard's bytes; zero-copy). Only for a
 * contiguous dataset stored in the native byte order; VSIM_EUNSUP otherwise
 * (read it with vsim_trial_read then), VSIM_ENOTFOUND if not saved there.
 * *out_view points into the mapping, which stays valid after the trial is
 * closed, until vsim_trial_unmap(*out_map, *out_len). Shards never change once
 * written (docs/format.md); a shard truncated while mapped raises SIGBUS on access
 * (vsim_cli_sigbus in the programs turns that into an error message).
 * Worth it for large tensors: a mapping costs a system call and page-table
 * entries, so vsim-rules maps tensors of VSIM_TRIAL_MAP_MIN bytes and more.
 */
#define VSIM_TRIAL_MAP_MIN ((size_t)1 << 20)
/* flags: VSIM_MAP_POPULATE maps every page at once (one system call; what a
 * serial reader wants); 0 leaves the page faults to the threads that read the
 * values (what vsim-stats, computing in parallel, wants: ~10 % faster). */
#define VSIM_MAP_POPULATE 1
int vsim_trial_map(const vsim_trial *t, const char *name, int64_t step, int worker,
                   unsigned flags, vsim_tensor *out_view, void **out_map, size_t *out_len);
void vsim_trial_unmap(void *map, size_t len);
/*
 * Saved reductions of name at (step, worker): values[r] for each r in *out_mask
 * (values has VSIM_N_REDUCTIONS entries).
 */
int vsim_trial_read_reductions(const vsim_trial *t, const char *name, int64_t step, int worker,
                               double *values, unsigned *out_mask);

/* Files that could not be used, with the reason; stable across refreshes. */
size_t vsim_trial_n_problems(const vsim_trial *t);
const vsim_trial_problem *vsim_trial_problem_at(const vsim_trial *t, size_t i);

#endif
