/*
 * tests/helpers/plot-mkrun.c - writes a run for the vsim-plot tests (t0600)
 * through the capture API:
 *   plot-mkrun DIR [STEPS [LAYERS [ELEMS]]]     (defaults 6 steps, 4 layers, 500)
 * Steps 0, 100, 200, ...; per step: LAYERS layers "enc/l<k>" with weights,
 * and gradients "gradients/enc/l<k>/weight" whose magnitude is 10^-(LAYERS-k)
 * (the first layer's gradients are decades smaller than the last one's);
 * loss/total = 1/(1+step/100) and loss/l2; images/input and
 * images/reconstruction (4 x 1 x 8 x 8 floats); embeddings/latent (60 x 3)
 * with embeddings/labels (3 classes, int32). Values are pseudo-random.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "readers/writer.h"

static uint64_t seed = 12345;

static double unif(void)
{
    uint64_t z = (seed += 0x9E3779B97F4A7C15ull);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (double)((z ^ (z >> 31)) >> 11) * 0x1p-53;
}

static double normal(void)
{
    return (unif() + unif() + unif() + unif() - 2.0) * 1.7320508075688772;
}

static int save(vsim_writer *w, const char *name, const char *coll, vsim_dtype dt, int ndim,
                const size_t *shape, void *data)
{
    vsim_tensor t;

    vsim_tensor_init(&t, dt, ndim, shape, data);
    return vsim_writer_save(w, name, coll, &t);
}

static int write_step(vsim_writer *w, int64_t step, int n_layers, size_t elems, float *buf)
{
    size_t sh[1] = { elems }, one[1] = { 1 }, sh_img[4] = { 4, 1, 8, 8 }, sh_lat[2] = { 60, 3 };
    float img[256], rec[256], lat[180];
    int32_t lab[60];
    double loss = 1.0 / (1.0 + step / 100.0), l2 = 0.5 * loss;
    int rc = vsim_writer_begin_step(w, step, VSIM_MODE_TRAIN, step);

    for (int k = 0; !rc && k < n_layers; k++) {
        char name[64];
        double mag = pow(10.0, -(n_layers - k));

        for (size_t i = 0; i < elems; i++)
            buf[i] = (float)(normal() * 0.1);
        snprintf(name, sizeof(name), "enc/l%d/weight", k);
        rc = save(w, name, "weights", VSIM_F32, 1, sh, buf);
        for (size_t i = 0; i < elems; i++)
            buf[i] = (float)(normal() * mag * (1.0 + step / 500.0));
        snprintf(name, sizeof(name), "gradients/enc/l%d/weight", k);
        if (!rc)
            rc = save(w, name, "gradients", VSIM_F32, 1, sh, buf);
    }
    if (!rc)
        rc = save(w, "loss/total", "losses", VSIM_F64, 1, one, &loss);
    if (!rc)
        rc = save(w, "loss/l2", "losses", VSIM_F64, 1, one, &l2);
    for (int i = 0; i < 256; i++) {
        img[i] = (float)((i % 8 + (i / 8) % 8) / 14.0);
        rec[i] = img[i] * 0.8f + 0.1f;
    }
    for (int i = 0; i < 60; i++) {
        lab[i] = i % 3;
        for (int j = 0; j < 3; j++)
            lat[i * 3 + j] = (float)(normal() * 0.3 + (j == 0 ? lab[i] * 3.0 : lab[i] * -2.0));
    }
    if (!rc)
        rc = save(w, "images/input", "images", VSIM_F32, 4, sh_img, img);
    if (!rc)
        rc = save(w, "images/reconstruction", "images", VSIM_F32, 4, sh_img, rec);
    if (!rc)
        rc = save(w, "embeddings/latent", "embeddings", VSIM_F32, 2, sh_lat, lat);
    if (!rc)
        rc = save(w, "embeddings/labels", "embeddings", VSIM_I32, 1, sh_lat, lab);
    return rc ? rc : vsim_writer_end_step(w);
}

int main(int argc, char **argv)
{
    static const char *const colls[] = { "weights", "gradients", "losses", "images",
                                         "embeddings" };
    vsim_writer_params wp = VSIM_WRITER_PARAMS_INIT;
    vsim_save_config every = VSIM_SAVE_CONFIG_INIT;
    long steps = argc > 2 ? atol(argv[2]) : 6;
    int n_layers = argc > 3 ? atoi(argv[3]) : 4;
    size_t elems = argc > 4 ? (size_t)atol(argv[4]) : 500;
    float *buf = malloc(elems * sizeof(float));
    vsim_writer *w;
    int rc;

    if (argc < 2 || !buf || n_layers < 1) {
        fprintf(stderr, "usage: plot-mkrun DIR [STEPS [LAYERS [ELEMS]]]\n");
        return 2;
    }
    every.save_interval = 100;
    wp.durable = 0;
    rc = vsim_writer_open(argv[1], &wp, &w);
    for (size_t i = 0; !rc && i < sizeof(colls) / sizeof(colls[0]); i++)
        rc = vsim_writer_set_collection(w, colls[i], NULL, &every);
    for (long s = 0; !rc && s < steps; s++)
        rc = write_step(w, s * 100, n_layers, elems, buf);
    if (!rc)
        rc = vsim_writer_close(w, "completed", (steps - 1) * 100);
    free(buf);
    if (rc) {
        fprintf(stderr, "plot-mkrun: %s\n", vsim_errmsg());
        return 1;
    }
    return 0;
}
