/*
 * trainer/checkpoint.h - the training job's checkpoint (RUN/checkpoint.h5):
 * what trainer/train.c saves at every checkpoint and reads back to resume.
 * The public side (the saved parameters of a run) is in trainer/train.h.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_TRAINER_CHECKPOINT_H
#define VSIM_TRAINER_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/vsim.h"
#include "trainer/model.h"
#include "trainer/train.h"

/* The loop's state at a step boundary. */
typedef struct vsim_ckpt {
    int64_t next_step;        /* the first training step not yet done */
    int64_t global;           /* the writer's next global step */
    int64_t n_evals;          /* evaluations done */
    size_t pos, n_order;      /* the shuffled training order and the next position in it */
    size_t *order;            /* n_order entries (the caller's; filled on load) */
    uint64_t rng[4];          /* the batch RNG */
    const char *run_id;       /* run.json's (saving) */
    double created;           /* run.json's creation time */
} vsim_ckpt;

/*
 * Write path atomically: m's parameters and Adam state, c, and the job's
 * parameters p (data_abs and save_config_abs: absolute paths; steps: the
 * resolved number of training steps).
 */
VSIM_INTERNAL int vsim_ckpt_save(const char *path, const vsim_model *m, const vsim_ckpt *c,
                                 const vsim_train_params *p, const char *data_abs,
                                 const char *save_config_abs, int64_t steps);
/*
 * Read path into m (parameters, Adam) and c (counters, order of c->n_order
 * entries into c->order, RNG, created); the run id is appended to run_id.
 * VSIM_ENOTFOUND if there is no checkpoint, VSIM_EFORMAT naming the file.
 */
VSIM_INTERNAL int vsim_ckpt_load_state(const char *path, vsim_model *m, vsim_ckpt *c,
                                       vsim_buf *run_id);

#endif
