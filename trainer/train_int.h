/*
 * trainer/train_int.h - helpers shared by trainer/train.c and trainer/capture.c.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_TRAINER_TRAIN_INT_H
#define VSIM_TRAINER_TRAIN_INT_H

#include "readers/writer.h"
#include "trainer/model.h"

/* Save a float32 tensor of ndim dims (shape given) in collections. */
VSIM_INTERNAL int vsim_capture_f32(vsim_writer *w, const char *name, const char *colls,
                                   const float *data, int ndim, const size_t *shape);
/* Save a scalar (as a float64 tensor of shape [1]). */
VSIM_INTERNAL int vsim_capture_scalar(vsim_writer *w, const char *name, const char *colls,
                                      double v);
/* Weights and biases (before the step's update), if due. */
VSIM_INTERNAL int vsim_capture_params(vsim_writer *w, const vsim_model *m);
/*
 * 1 if vsim_capture_params or vsim_capture_probe would save anything at step
 * mode_step of mode (so a GPU run must bring the parameters back first), 0 if
 * not.
 */
VSIM_INTERNAL int vsim_capture_wants_params(vsim_writer *w, const vsim_model *m,
                                            vsim_mode mode, int64_t mode_step);
/* 1 if vsim_capture_grads would save any gradient at step mode_step of mode. */
VSIM_INTERNAL int vsim_capture_wants_grads(vsim_writer *w, const vsim_model *m,
                                           vsim_mode mode, int64_t mode_step);
/* Gradients and per-layer update ratios of the last step, if due. */
VSIM_INTERNAL int vsim_capture_grads(vsim_writer *w, const vsim_model *m);
/*
 * Activations of every layer and the input/reconstruction images of the probe
 * batch x [b][S][S] (one CPU forward pass over m), if due.
 */
VSIM_INTERNAL int vsim_capture_probe(vsim_writer *w, vsim_model *m, const float *x, int b);
/* Trainer defaults of every standard collection. */
VSIM_INTERNAL int vsim_capture_defaults(vsim_writer *w, int64_t save_interval);

#endif
