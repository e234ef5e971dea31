/*
 * readers/run.h - names shared by the shard writer and the trial reader: the
 * run-directory layout (schema "vsim-run/1", shard format v1 of docs/format.md),
 * modes, and reductions.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_READERS_RUN_H
#define VSIM_READERS_RUN_H

#include <stddef.h>
#include <stdint.h>

#define VSIM_RUN_SCHEMA "vsim-run/1"
#define VSIM_SHARD_SCHEMA "vsim-shard/1"
#define VSIM_RUN_JSON "run.json"
#define VSIM_RUN_END "END"
#define VSIM_RUN_STOP "STOP"
#define VSIM_RUN_SHARDS "shards"

/* smdebug's modes; a step belongs to exactly one mode. */
typedef enum vsim_mode {
    VSIM_MODE_TRAIN = 0,
    VSIM_MODE_EVAL,
    VSIM_MODE_PREDICT,
    VSIM_MODE_GLOBAL,
    VSIM_N_MODES
} vsim_mode;

#define VSIM_MODE_ANY (-1)

const char *vsim_mode_name(vsim_mode m);        /* "train", "eval", "predict", "global" */
int vsim_mode_parse(const char *s, vsim_mode *out);  /* VSIM_EINVAL if unknown */

/* Reductions a collection may save instead of values (smdebug's names). */
typedef enum vsim_reduction {
    VSIM_RED_MIN = 0,
    VSIM_RED_MAX,
    VSIM_RED_MEAN,
    VSIM_RED_STD,       /* population standard deviation */
    VSIM_RED_VARIANCE,
    VSIM_RED_SUM,
    VSIM_RED_L1,
    VSIM_RED_L2,
    VSIM_RED_ABS_MIN,
    VSIM_RED_ABS_MAX,
    VSIM_RED_ABS_MEAN,
    VSIM_RED_NAN_COUNT,
    VSIM_N_REDUCTIONS
} vsim_reduction;

#define VSIM_RED_BIT(r) (1u << (r))

const char *vsim_reduction_name(vsim_reduction r);
/* Parse "min,max,l2" into a bitmask; VSIM_EINVAL naming the bad word. */
int vsim_reduction_parse_list(const char *list, unsigned *out_mask);

/* Standard collections of docs/format.md. */
#define VSIM_COLL_WEIGHTS "weights"
#define VSIM_COLL_BIASES "biases"
#define VSIM_COLL_GRADIENTS "gradients"
#define VSIM_COLL_LOSSES "losses"
#define VSIM_COLL_METRICS "metrics"
#define VSIM_COLL_ACTIVATIONS "activations"
#define VSIM_COLL_EMBEDDINGS "embeddings"
#define VSIM_COLL_IMAGES "images"

/* "RUN/shards/w<worker>/step-<12 digits>.h5" into out (appended). */
struct vsim_buf;
int vsim_run_shard_path(struct vsim_buf *out, const char *run_dir, int worker, int64_t step);
/* 1 and *step if name is a shard's file name ("step-" + exactly 12 digits + ".h5"), else 0. */
int vsim_run_parse_shard_name(const char *name, int64_t *step);

/*
 * Append a sorted step list compressed into ranges: "0-500:10,505,510-520:5"
 * (start-end:stride; a stride of 1 is written "0-9").
 */
int vsim_steps_format(struct vsim_buf *out, const int64_t *steps, size_t n);

#endif
