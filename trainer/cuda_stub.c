/*
 * trainer/cuda_stub.c - the CUDA backend of a build without nvcc: every entry
 * point answers VSIM_EUNSUP (trainer/device.h).
 * SPDX-License-Identifier: MIT
 */
#include "core/vsim.h"
#include "trainer/device.h"

#define NO_CUDA "this vsim-train was built without CUDA (no nvcc at build time); use --device cpu"

int vsim_device_cuda_built(void)
{
    return 0;
}

int vsim_device_check(vsim_device device)
{
    if (device == VSIM_DEVICE_CPU)
        return VSIM_OK;
    return vsim_fail(VSIM_EUNSUP, NO_CUDA);
}

int vsim_cuda_create(const vsim_model *m, vsim_cuda **out)
{
    (void)m;
    *out = NULL;
    return vsim_fail(VSIM_EUNSUP, NO_CUDA);
}

int vsim_cuda_train_step(vsim_cuda *g, const float *x, int b, const vsim_loss_spec *loss,
                         const vsim_adam *adam, double lr, vsim_loss_value *out)
{
    (void)g, (void)x, (void)b, (void)loss, (void)adam, (void)lr, (void)out;
    return vsim_fail(VSIM_EUNSUP, NO_CUDA);
}

int vsim_cuda_set_images(vsim_cuda *g, const uint8_t *images, size_t n_examples)
{
    (void)g, (void)images, (void)n_examples;
    return vsim_fail(VSIM_EUNSUP, NO_CUDA);
}

int vsim_cuda_train_launch_idx(vsim_cuda *g, const size_t *idx, int b,
                               const vsim_loss_spec *loss, const vsim_adam *adam, double lr)
{
    (void)g, (void)idx, (void)b, (void)loss, (void)adam, (void)lr;
    return vsim_fail(VSIM_EUNSUP, NO_CUDA);
}

int vsim_cuda_train_finish(vsim_cuda *g, vsim_loss_value *out)
{
    (void)g, (void)out;
    return vsim_fail(VSIM_EUNSUP, NO_CUDA);
}

int vsim_cuda_eval_batch(vsim_cuda *g, const float *x, int b, const vsim_loss_spec *loss,
                         vsim_loss_value *out)
{
    (void)g, (void)x, (void)b, (void)loss, (void)out;
    return vsim_fail(VSIM_EUNSUP, NO_CUDA);
}

int vsim_cuda_download(vsim_cuda *g, vsim_model *m, unsigned what)
{
    (void)g, (void)m, (void)what;
    return vsim_fail(VSIM_EUNSUP, NO_CUDA);
}

void vsim_cuda_destroy(vsim_cuda *g)
{
    (void)g;
}
