/*
 * trainer/train.h - the training job behind vsim-train (issue 4): data,
 * model, loss, Adam with learning-rate decay, a validation split by design,
 * capture through readers/writer.h, STOP, END and divergence; and the
 * embedding export of a saved model.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_TRAINER_TRAIN_H
#define VSIM_TRAINER_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "core/progress.h"
#include "readers/writer.h"
#include "trainer/fault.h"

/* Learning-rate schedule: lr(step) = lr0 * gamma^floor(step/every) or gamma^(step/every). */
typedef enum vsim_lr_kind {
    VSIM_LR_CONSTANT = 0,
    VSIM_LR_STEP,
    VSIM_LR_EXP
} vsim_lr_kind;

typedef struct vsim_lr_schedule {
    vsim_lr_kind kind;
    double gamma;       /* factor per `every` steps */
    int64_t every;      /* steps, >= 1 */
} vsim_lr_schedule;

/* "none", "step:GAMMA:EVERY" or "exp:GAMMA:EVERY". VSIM_EINVAL naming the text. */
int vsim_lr_parse(const char *text, vsim_lr_schedule *out);
/* The learning rate at (0-based) step. */
double vsim_lr_at(const vsim_lr_schedule *s, double lr0, int64_t step);

/*
 * Read a save-config file: one collection per line,
 *     NAME [regex=ERE] [interval=N] [steps=S1,S2,..] [start=S] [end=E]
 *          [reductions=min,max,..] [modes=train,eval,..]
 * with '#' comments; each line replaces that collection's config in w.
 * With w NULL the file is only checked. VSIM_EIO, VSIM_EINVAL naming file:line.
 */
int vsim_train_save_config(const char *path, vsim_writer *w);

typedef struct vsim_train_params {
    const char *model;            /* preset or spec (trainer/model.h); NULL: "wide" */
    const char *loss;             /* trainer/loss.h syntax; NULL: "l2" */
    int64_t steps;                /* training steps; 0: use epochs */
    double epochs;                /* passes over the training split when steps == 0 */
    int batch;                    /* images per step */
    double lr;                    /* initial learning rate */
    const char *lr_decay;         /* vsim_lr_parse syntax; NULL: none */
    int device;                   /* vsim_device */
    int n_threads;                /* 0: OpenMP default */
    uint64_t seed;                /* weights, split, batches */
    double val_frac;              /* share of designs held out for validation */
    int64_t eval_interval;        /* evaluate every N steps (and at the end); 0: end only */
    int64_t save_interval;        /* interval of the tensor collections */
    const char *save_config;      /* save-config file, or NULL */
    int64_t checkpoint_interval;  /* save RUN/model.h5 every N steps (and at the end); 0: end */
    int n_probe;                  /* images of the fixed probe batch */
    int durable;                  /* VSIM_DURABLE_* of readers/writer.h */
    const char *argv_json;        /* command line as a JSON array for run.json, or NULL */
    const vsim_fault *faults;     /* faults to inject (trainer/fault.h; CPU only), or NULL */
    size_t n_faults;
    int resume;                   /* 1: continue run_dir from its checkpoint (the parameters
                                     must be the run's own: vsim_train_saved_load) */
    vsim_progress_fn progress;    /* called after every step; may be NULL */
    void *progress_ctx;
} vsim_train_params;

#define VSIM_TRAIN_PARAMS_INIT { .batch = 64, .lr = 1e-3, .seed = 1, .val_frac = 0.1, \
                                 .eval_interval = 100, .save_interval = 100, .n_probe = 8, \
                                 .durable = VSIM_DURABLE_ASYNC, .steps = 1000 }

typedef struct vsim_train_result {
    char status[16];          /* "completed", "stopped" or "diverged" */
    int64_t steps;            /* training steps done */
    double last_loss;         /* loss of the last training step */
    double last_eval_loss;    /* loss of the last evaluation (NaN if none) */
    double seconds;           /* wall time of the training loop */
    double images_per_s;      /* training images per second */
    double images_per_s_steady;  /* the same after the first step (which carries the
                                  * GPU's one-time start: kernel loading, cuBLAS set-up) */
    size_t n_params;
} vsim_train_result;

/*
 * Train on the dataset at data_path into the run directory run_dir. Every
 * input (dataset, spec, image size, loss, schedule, save config, device) is
 * checked before run_dir is touched, so a bad input writes nothing.
 * Returns VSIM_OK for status completed or stopped (STOP file, or the progress
 * callback asked to stop); VSIM_ENUMERIC with status diverged (END written,
 * shards kept) when the loss or learning rate stops being finite; other
 * codes for errors. OUT: *out (also filled on VSIM_ENUMERIC).
 * With p->resume the run continues from RUN/checkpoint.h5: the shards of the
 * steps after the checkpoint, END and STOP are removed, and the tensors of
 * every later step are those of an uninterrupted run (bit for bit on the CPU
 * with the same thread count). A completed run has nothing to resume
 * (VSIM_OK, status completed, nothing written); a diverged one is refused.
 */
int vsim_train_run(const char *data_path, const char *run_dir, const vsim_train_params *p,
                   vsim_train_result *out);

/* The checkpoint a run writes at every --checkpoint-interval steps and at its end. */
#define VSIM_CHECKPOINT_FILE "checkpoint.h5"
#define VSIM_TRAIN_MAX_FAULTS 8

/* A run's parameters as its checkpoint saved them (strings owned here). */
typedef struct vsim_train_saved {
    vsim_train_params p;          /* resume = 1; strings point into this struct */
    char *data;                   /* the dataset, as an absolute path */
    int64_t next_step;            /* the first step the resumed run trains */
    char *model, *loss, *lr_decay, *save_config, *argv_json;
    char fault_text[VSIM_TRAIN_MAX_FAULTS][64];
    vsim_fault faults[VSIM_TRAIN_MAX_FAULTS];
} vsim_train_saved;

/*
 * Read the parameters of the run in run_dir from its checkpoint, to continue
 * it with vsim_train_run(out->data, run_dir, &out->p, ...) (a caller may
 * change n_threads, durable, progress). VSIM_ENOTFOUND if the run has no
 * checkpoint, VSIM_EFORMAT naming the file.
 */
int vsim_train_saved_load(const char *run_dir, vsim_train_saved *out);
void vsim_train_saved_release(vsim_train_saved *s);

/*
 * Write the latent vectors of every example of data_path under the model
 * file model_path into out_path (HDF5, atomically): latent (float32 N*V x L),
 * labels (int32), design_id (int64), view (int32), attribute model_spec.
 */
int vsim_train_embed(const char *model_path, const char *data_path, const char *out_path,
                     int batch, int n_threads);

#endif
