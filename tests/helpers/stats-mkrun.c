/*
 * tests/helpers/stats-mkrun.c - writes a run for the vsim-stats tests (t0500)
 * through the capture API:
 *   stats-mkrun DIR STEPS [WORKERS [SLEEP_MS [ELEMS]]]
 * Steps 0, 10, 20, ... (mode train; every third one eval); per worker and step:
 * enc/conv1/weight (float32, ELEMS x 3, shrinking gradients-like spread),
 * enc/conv1/bias (float64, with a NaN, +Inf and -Inf), gradients/enc/conv1/weight
 * (float32), dec/fc/weight (float64, 2-D), dec/fc/step (int32), images/input
 * (uint8), loss (float32 scalar). Values are pseudo-random (splitmix64).
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "readers/writer.h"

#define MAX_WORKERS 4

static uint64_t mix(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double unif(uint64_t *s)
{
    *s = mix(*s);
    return (double)(*s >> 11) * 0x1p-53;
}

static double normal(uint64_t *s)
{
    return (unif(s) + unif(s) + unif(s) + unif(s) - 2.0) * 1.7320508075688772;
}

static int save(vsim_writer *w, const char *name, const char *coll, vsim_dtype dt, int ndim,
                const size_t *shape, void *data)
{
    vsim_tensor t;

    vsim_tensor_init(&t, dt, ndim, shape, data);
    return vsim_writer_save(w, name, coll, &t);
}

static int write_step(vsim_writer *w, int64_t step, int worker, size_t elems)
{
    uint64_t seed = (uint64_t)step * 1000003u + (uint64_t)worker * 7919u + 1;
    size_t n_w = elems * 3, sh_w[1] = { n_w }, sh_b[1] = { 17 }, sh_fc[2] = { 8, elems / 4 + 1 };
    size_t sh_i[1] = { 50 }, sh_img[3] = { 2, 8, 8 };
    size_t n_fc = sh_fc[0] * sh_fc[1];
    float *wt = malloc(n_w * sizeof(float)), *gr = malloc(n_w * sizeof(float)), loss;
    double *fc = malloc(n_fc * sizeof(double)), bias[17];
    int32_t ints[50];
    uint8_t img[128];
    double scale = pow(0.9, (double)step / 10.0);
    int rc;

    if (!wt || !gr || !fc)
        return -1;
    for (size_t i = 0; i < n_w; i++) {
        wt[i] = (float)(0.1 * normal(&seed));
        gr[i] = (float)(0.01 * scale * normal(&seed));
        if (i % 97 == 5)
            wt[i] = 0.0f;
    }
    for (size_t i = 0; i < 17; i++)
        bias[i] = normal(&seed);
    bias[3] = NAN;
    bias[7] = INFINITY;
    bias[11] = -INFINITY;
    for (size_t i = 0; i < n_fc; i++)
        fc[i] = 1e3 + normal(&seed);
    for (size_t i = 0; i < 50; i++)
        ints[i] = (int32_t)(unif(&seed) * 200.0) - 100;
    for (size_t i = 0; i < 128; i++)
        img[i] = (uint8_t)(unif(&seed) * 256.0);
    loss = (float)(1.0 / (1.0 + (double)step));
    rc = save(w, "enc/conv1/weight", "weights", VSIM_F32, 1, sh_w, wt) ||
         save(w, "enc/conv1/bias", "biases", VSIM_F64, 1, sh_b, bias) ||
         save(w, "gradients/enc/conv1/weight", "gradients", VSIM_F32, 1, sh_w, gr) ||
         save(w, "dec/fc/weight", "weights", VSIM_F64, 2, sh_fc, fc) ||
         save(w, "dec/fc/step", "metrics", VSIM_I32, 1, sh_i, ints) ||
         save(w, "images/input", "images", VSIM_U8, 3, sh_img, img) ||
         save(w, "loss", "losses", VSIM_F32, 0, NULL, &loss);
    free(wt);
    free(gr);
    free(fc);
    return rc;
}

int main(int argc, char **argv)
{
    static const char *const colls[] = { "weights", "biases", "gradients", "metrics",
                                         "images", "losses" };
    vsim_writer *w[MAX_WORKERS] = { NULL };
    vsim_save_config every = VSIM_SAVE_CONFIG_INIT;
    long steps, n_workers, sleep_ms, elems;

    if (argc < 3) {
        fprintf(stderr, "usage: stats-mkrun DIR STEPS [WORKERS [SLEEP_MS [ELEMS]]]\n");
        return 2;
    }
    steps = atol(argv[2]);
    n_workers = argc > 3 ? atol(argv[3]) : 1;
    sleep_ms = argc > 4 ? atol(argv[4]) : 0;
    elems = argc > 5 ? atol(argv[5]) : 1000;
    if (n_workers < 1 || n_workers > MAX_WORKERS || elems < 1)
        return 2;
    every.save_interval = 10;
    for (long k = 0; k < n_workers; k++) {
        vsim_writer_params wp = VSIM_WRITER_PARAMS_INIT;

        wp.worker = (int)k;
        wp.n_workers = (int)n_workers;
        wp.allow_existing = k > 0;
        wp.durable = 0;
        if (vsim_writer_open(argv[1], &wp, &w[k]))
            goto fail;
        for (size_t c = 0; c < sizeof(colls) / sizeof(colls[0]); c++)
            if (vsim_writer_set_collection(w[k], colls[c], NULL, &every))
                goto fail;
    }
    for (long s = 0; s < steps; s++) {
        int64_t step = 10 * s;
        vsim_mode mode = s % 3 == 2 ? VSIM_MODE_EVAL : VSIM_MODE_TRAIN;

        for (long k = 0; k < n_workers; k++)
            if (vsim_writer_begin_step(w[k], step, mode, step) ||
                write_step(w[k], step, (int)k, (size_t)elems) || vsim_writer_end_step(w[k]))
                goto fail;
        printf("%lld\n", (long long)step);
        fflush(stdout);
        if (sleep_ms)
            nanosleep(&(struct timespec){ sleep_ms / 1000, (sleep_ms % 1000) * 1000000L }, NULL);
    }
    for (long k = 0; k < n_workers; k++) {
        int rc = vsim_writer_close(w[k], "completed", 10 * (steps - 1));

        w[k] = NULL;
        if (rc)
            goto fail;
    }
    return 0;
fail:
    fprintf(stderr, "stats-mkrun: %s\n", vsim_errmsg());
    for (long k = 0; k < n_workers; k++)
        vsim_writer_destroy(w[k]);
    return 1;
}
