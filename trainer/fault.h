/*
 * trainer/fault.h - faults a training job injects on purpose (vsim-train
 * --fault KIND[=VALUE][@STEP]), one pathology each from a known step: the
 * broken half of the labelled corpus the rules are measured on (issue 19).
 * What each does: docs/man/vsim-train.1 and docs/rules.md.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_TRAINER_FAULT_H
#define VSIM_TRAINER_FAULT_H

#include <stdint.h>

#include "core/vsim.h"

typedef enum vsim_fault_kind {
    VSIM_FAULT_NAN = 1,        /* @S: one output-layer bias becomes NaN (the loss follows) */
    VSIM_FAULT_DEAD_RELU,      /* @S: every ReLU layer's bias set to VALUE (-10) */
    VSIM_FAULT_FREEZE,         /* @S: layer VALUE (first layer) never updated from S */
    VSIM_FAULT_CONSTANT_INPUT, /* every image is the constant VALUE (0.5) */
    VSIM_FAULT_ZERO_INIT,      /* every weight and bias starts at 0 */
    VSIM_FAULT_INIT_SCALE,     /* the initial weights times VALUE */
    VSIM_FAULT_COLLAPSE,       /* @S: the latent layer zeroed and held at 0 */
    VSIM_FAULT_STALL,          /* @S: the learning rate is 0 from S */
    VSIM_FAULT_EVAL_DRIFT,     /* @S: validation images drift from S, VALUE a step */
    VSIM_FAULT_GRAD_SCALE      /* @S: gradients times VALUE^(s - S + 1) (100) from S: they
                                  grow until they overflow, as unclipped ones explode */
} vsim_fault_kind;

typedef struct vsim_fault {
    vsim_fault_kind kind;
    int64_t step;              /* the step it starts at (0 for the init faults) */
    double value;
    char layer[32];            /* freeze: the layer's name ("" = the first layer) */
    const char *text;          /* the spec as given (borrowed) */
} vsim_fault;

/* Parse "KIND[=VALUE][@STEP]". VSIM_EINVAL naming the text and the known kinds. */
int vsim_fault_parse(const char *text, vsim_fault *out);
/* The kinds, for messages and --help. */
const char *vsim_fault_kinds(void);

#endif
