/*
 * trainer/device.h - choosing the backend at run time (--device cpu|cuda) and
 * the CUDA backend's C interface. The CUDA side lives in trainer/cuda.cu
 * (cuBLAS + kernels of our own), built when nvcc is found; without it
 * trainer/cuda_stub.c answers VSIM_EUNSUP. CUDA errors become VSIM_EDEVICE
 * here, at the boundary. The host model stays the reference copy: the device
 * copies its parameters at creation and vsim_cuda_download brings them (and
 * the gradients and norms of the last step) back for capture and saving.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_TRAINER_DEVICE_H
#define VSIM_TRAINER_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "trainer/loss.h"
#include "trainer/model.h"

typedef enum vsim_device {
    VSIM_DEVICE_CPU = 0,
    VSIM_DEVICE_CUDA = 1
} vsim_device;

/* "cpu" or "cuda"; VSIM_EINVAL (negative) naming the text otherwise. */
int vsim_device_parse(const char *name);
/* 1 if this build has the CUDA backend. */
int vsim_device_cuda_built(void);
/*
 * VSIM_OK if device can run here; VSIM_EUNSUP for cuda on a build without
 * CUDA, VSIM_EDEVICE when no GPU is usable (the message says why).
 */
int vsim_device_check(vsim_device device);

typedef struct vsim_cuda vsim_cuda;

/* Copy m's parameters to the GPU and allocate work for m->capacity images. */
int vsim_cuda_create(const vsim_model *m, vsim_cuda **out);
/* As vsim_model_train_step, on the GPU. VSIM_ENUMERIC for a NaN/Inf loss or lr. */
int vsim_cuda_train_step(vsim_cuda *g, const float *x, int b, const vsim_loss_spec *loss,
                         const vsim_adam *adam, double lr, vsim_loss_value *out);
/*
 * Put the dataset's n_examples images (side x side uint8 each, as
 * vsim_dataset holds them) on the GPU, so that training batches are gathered
 * there (vsim_cuda_train_launch_idx) with no copy from the host. VSIM_EUNSUP when
 * they would take over a quarter of the GPU's free memory: batches then come
 * from the host.
 */
int vsim_cuda_set_images(vsim_cuda *g, const uint8_t *images, size_t n_examples);
/*
 * Queue a training step on examples idx[0..b) of the images set above and
 * return at once; vsim_cuda_train_finish waits for it and answers as
 * vsim_cuda_train_step. One step at a time: every other call on g refuses
 * (VSIM_EINVAL) between the two.
 */
int vsim_cuda_train_launch_idx(vsim_cuda *g, const size_t *idx, int b,
                               const vsim_loss_spec *loss, const vsim_adam *adam, double lr);
int vsim_cuda_train_finish(vsim_cuda *g, vsim_loss_value *out);
/* As vsim_model_eval_batch, on the GPU. */
int vsim_cuda_eval_batch(vsim_cuda *g, const float *x, int b, const vsim_loss_spec *loss,
                         vsim_loss_value *out);
/* What vsim_cuda_download copies back. */
#define VSIM_CUDA_STATS 1u    /* grad_norm and update_ratio of the last step */
#define VSIM_CUDA_PARAMS 2u   /* parameters */
#define VSIM_CUDA_GRADS 4u    /* gradients of the last step */
#define VSIM_CUDA_ADAM 8u     /* Adam moments and step count (a checkpoint) */

/* Copy the parts in `what` back into m (the model g was created from). */
int vsim_cuda_download(vsim_cuda *g, vsim_model *m, unsigned what);
void vsim_cuda_destroy(vsim_cuda *g);

#endif
