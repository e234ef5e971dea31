/*
 * tests/helpers/rules-mkrun.c - builds synthetic runs that trigger (or do not
 * trigger) each built-in rule, with the trainer's tensor names:
 *   rules-mkrun SCENARIO DIR [--steps N] [--at K] [--eval-every E] [--sleep-ms M]
 *               [--seed S] [--wide ELEMS]
 * Scenarios: healthy plateau vanishing exploding nan deadrelu unchanged allzero
 * saturated overfit badinit images latent-random ssim-stalled gap live.
 * The problem starts at train step K (default STEPS/2). "live" writes until
 * DIR/STOP appears (STEPS 0) and prints each step saved; its loss plateaus from K.
 * "gap" sleeps 2 s before step K. --wide adds layer wide/fc of ELEMS weights.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/mem.h"
#include "core/rng.h"
#include "readers/writer.h"

#define BATCH 16
#define N_DESIGNS 12
#define N_VIEWS 5

typedef struct scen {
    const char *name;
    long steps, at, eval_every, sleep_ms, wide;
    uint64_t seed;
} scen;

static int is(const scen *sc, const char *n)
{
    return !strcmp(sc->name, n);
}

static float *w_enc, *w_dec, *w_wide;
static vsim_rng rng;

static int save(vsim_writer *w, const char *name, const char *coll, vsim_dtype dt, int ndim,
                const size_t *shape, void *data)
{
    vsim_tensor t;

    vsim_tensor_init(&t, dt, ndim, shape, data);
    return vsim_writer_save(w, name, coll, &t);
}

static int scalar(vsim_writer *w, const char *name, const char *coll, double v)
{
    size_t one = 1;

    return save(w, name, coll, VSIM_F64, 1, &one, &v);
}

static double train_loss(const scen *sc, long s)
{
    long eff = s;

    if ((is(sc, "plateau") || is(sc, "live")) && s >= sc->at)
        return exp(-0.04 * (double)sc->at);
    return exp(-0.04 * (double)eff) * (1.0 + 0.005 * vsim_rng_normal(&rng));
}

static int weights_and_grads(vsim_writer *w, const scen *sc, long s)
{
    size_t se[2] = { 16, 8 }, sd[2] = { 8, 16 }, swd[1] = { (size_t)sc->wide }, nb = 16;
    float g[128], bias[16];
    int rc = 0;
    int frozen = is(sc, "unchanged") && s >= sc->at;

    for (size_t i = 0; i < 128 && !frozen; i++) {
        w_enc[i] += (float)(1e-3 * vsim_rng_normal(&rng));
        w_dec[i] += (float)(1e-3 * vsim_rng_normal(&rng));
    }
    for (long i = 0; i < sc->wide && !frozen; i++)
        w_wide[i] += (float)(1e-3 * vsim_rng_normal(&rng));
    for (size_t i = 0; i < 16; i++)
        bias[i] = is(sc, "allzero") && s >= sc->at ? 0.0f : (float)(0.01 * (double)(i + 1));
    rc = rc ? rc : save(w, "encoder/fc1/weight", "weights", VSIM_F32, 2, se, w_enc);
    rc = rc ? rc : save(w, "decoder/fc1/weight", "weights", VSIM_F32, 2, sd, w_dec);
    rc = rc ? rc : save(w, "encoder/fc1/bias", "biases", VSIM_F32, 1, &nb, bias);
    if (!rc && sc->wide)
        rc = save(w, "wide/fc/weight", "weights", VSIM_F32, 1, swd, w_wide);
    for (int layer = 0; !rc && layer < 2; layer++) {
        for (size_t i = 0; i < 128; i++) {
            double v = 0.01 * vsim_rng_normal(&rng);

            if (is(sc, "vanishing") && s >= sc->at)
                v *= 1e-8;
            g[i] = (float)v;
        }
        if (is(sc, "nan") && s == sc->at)
            g[5] = NAN;
        if (is(sc, "exploding") && s == sc->at)
            g[7] = INFINITY;
        rc = save(w, layer ? "gradients/decoder/fc1/weight" : "gradients/encoder/fc1/weight",
                  "gradients", VSIM_F32, 2, layer ? sd : se, g);
    }
    if (!rc && sc->wide) {
        rc = save(w, "gradients/wide/fc/weight", "gradients", VSIM_F32, 1, swd, w_wide);
    }
    return rc;
}

static int activations(vsim_writer *w, const scen *sc, long s)
{
    float relu[BATCH * 16], lat[BATCH * 8], sig[BATCH * 16], img[BATCH * 64];
    size_t sr[2] = { BATCH, 16 }, sl[2] = { BATCH, 8 }, si[4] = { BATCH, 1, 8, 8 };
    int bad = is(sc, "badinit") && s < 10;
    int rc;

    for (size_t i = 0; i < BATCH * 16; i++) {
        double x = vsim_rng_normal(&rng) + 0.5;

        if (is(sc, "deadrelu") && s >= sc->at && i % 16 < 12)
            x = -1.0;
        relu[i] = (float)(x > 0 ? x : 0.0);
        x = 3.0 * vsim_rng_normal(&rng) * (bad ? 100.0 : 1.0);
        if (is(sc, "saturated") && s >= sc->at)
            x = i % 2 ? 40.0 : -40.0;
        sig[i] = (float)(1.0 / (1.0 + exp(-x)));
    }
    for (size_t i = 0; i < BATCH * 8; i++)
        lat[i] = (float)(0.8 * vsim_rng_normal(&rng) * (bad ? 0.01 : 1.0));
    for (size_t i = 0; i < BATCH * 64; i++)
        img[i] = (float)(vsim_rng_normal(&rng) + (is(sc, "images") ? 0.5 : 0.0));
    rc = save(w, "activations/encoder/fc1", "activations", VSIM_F32, 2, sr, relu);
    rc = rc ? rc : save(w, "activations/encoder/fc2", "activations", VSIM_F32, 2, sl, lat);
    rc = rc ? rc : save(w, "activations/decoder/fc1", "activations", VSIM_F32, 2, sr, sig);
    rc = rc ? rc : save(w, "images/input", "images", VSIM_F32, 4, si, img);
    return rc;
}

static int embeddings(vsim_writer *w, const scen *sc)
{
    enum { N = N_DESIGNS * N_VIEWS, D = 4 };
    float lat[N * D];
    int32_t lab[N];
    int64_t des[N];
    size_t sl[2] = { N, D }, sn = N;
    int rc;

    for (int i = 0; i < N; i++) {
        int d = i / N_VIEWS;

        lab[i] = d % 3;
        des[i] = 1000 + d;
        for (int k = 0; k < D; k++)
            lat[i * D + k] = is(sc, "latent-random")
                                 ? (float)vsim_rng_normal(&rng)
                                 : (float)((k == lab[i] ? 5.0 : 0.0) + 0.3 * vsim_rng_normal(&rng));
    }
    rc = save(w, "embeddings/latent", "embeddings", VSIM_F32, 2, sl, lat);
    rc = rc ? rc : save(w, "embeddings/labels", "embeddings", VSIM_I32, 1, &sn, lab);
    rc = rc ? rc : save(w, "embeddings/design_id", "embeddings", VSIM_I64, 1, &sn, des);
    return rc;
}

static double ssim_at(const scen *sc, long s)
{
    if (is(sc, "ssim-stalled") && s >= sc->at)
        s = sc->at;
    return 1.0 - 0.5 * exp(-0.04 * (double)s);
}

static int train_step(vsim_writer *w, const scen *sc, int64_t g, long s)
{
    double loss = train_loss(sc, s);
    int rc = vsim_writer_begin_step(w, g, VSIM_MODE_TRAIN, s);

    rc = rc ? rc : scalar(w, "loss/total", "losses", loss);
    rc = rc ? rc : scalar(w, "metrics/ssim", "metrics", ssim_at(sc, s));
    rc = rc ? rc : scalar(w, "metrics/lr", "metrics", 1e-3);
    rc = rc ? rc : weights_and_grads(w, sc, s);
    rc = rc ? rc : activations(w, sc, s);
    return rc ? rc : vsim_writer_end_step(w);
}

static int eval_step(vsim_writer *w, const scen *sc, int64_t g, long n_eval, long s)
{
    double loss = exp(-0.04 * (double)s) * (is(sc, "overfit") ? 1.5 : 1.05);
    int rc = vsim_writer_begin_step(w, g, VSIM_MODE_EVAL, n_eval);

    rc = rc ? rc : scalar(w, "loss/total", "losses", loss);
    rc = rc ? rc : scalar(w, "metrics/ssim", "metrics", ssim_at(sc, s));
    rc = rc ? rc : embeddings(w, sc);
    return rc ? rc : vsim_writer_end_step(w);
}

static void nap(long ms)
{
    if (ms > 0)
        nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L }, NULL);
}

static int parse_args(int argc, char **argv, scen *sc)
{
    sc->name = argv[1];
    sc->steps = 60;
    sc->at = -1;
    sc->eval_every = 10;
    sc->seed = 1;
    for (int i = 3; i + 1 < argc; i += 2) {
        long v = atol(argv[i + 1]);

        if (!strcmp(argv[i], "--steps")) sc->steps = v;
        else if (!strcmp(argv[i], "--at")) sc->at = v;
        else if (!strcmp(argv[i], "--eval-every")) sc->eval_every = v;
        else if (!strcmp(argv[i], "--sleep-ms")) sc->sleep_ms = v;
        else if (!strcmp(argv[i], "--seed")) sc->seed = (uint64_t)v;
        else if (!strcmp(argv[i], "--wide")) sc->wide = v;
        else return -1;
    }
    if (sc->at < 0)
        sc->at = sc->steps ? sc->steps / 2 : 20;
    return 0;
}

static const char model_json[] =
    "{\"layers\": [{\"name\": \"encoder/fc1\", \"kind\": \"fc\", \"act\": \"relu\"}, "
    "{\"name\": \"encoder/fc2\", \"kind\": \"fc\", \"act\": \"none\"}, "
    "{\"name\": \"decoder/fc1\", \"kind\": \"fc\", \"act\": \"sigmoid\"}]}";

int main(int argc, char **argv)
{
    vsim_writer_params wp = VSIM_WRITER_PARAMS_INIT;
    vsim_save_config every = VSIM_SAVE_CONFIG_INIT;
    const char *colls[] = { "weights", "biases", "gradients", "losses", "metrics",
                            "activations", "embeddings", "images" };
    vsim_writer *w = NULL;
    const char *status = "completed";
    int64_t g = 0;
    long s, n_eval = 0;
    scen sc = { 0 };
    int rc = 0;

    if (argc < 3 || parse_args(argc, argv, &sc)) {
        fprintf(stderr, "usage: rules-mkrun SCENARIO DIR [--steps N] [--at K] [--eval-every E] "
                        "[--sleep-ms M] [--seed S] [--wide ELEMS]\n");
        return 2;
    }
    vsim_rng_seed(&rng, sc.seed, 0);
    w_enc = vsim_calloc(128, sizeof(float));
    w_dec = vsim_calloc(128, sizeof(float));
    w_wide = vsim_calloc(sc.wide ? (size_t)sc.wide : 1, sizeof(float));
    for (size_t i = 0; w_enc && w_dec && i < 128; i++) {
        w_enc[i] = (float)(0.1 * vsim_rng_normal(&rng));
        w_dec[i] = (float)(0.1 * vsim_rng_normal(&rng));
    }
    for (long i = 0; w_wide && i < sc.wide; i++)
        w_wide[i] = (float)(0.1 * vsim_rng_normal(&rng));
    every.save_interval = 1;
    wp.model_json = model_json;
    wp.durable = 0;
    rc = !w_enc || !w_dec || !w_wide || vsim_writer_open(argv[2], &wp, &w);
    for (size_t i = 0; !rc && i < sizeof(colls) / sizeof(colls[0]); i++)
        rc = vsim_writer_set_collection(w, colls[i], NULL, &every);
    for (s = 0; !rc && (sc.steps == 0 || s < sc.steps); s++) {
        if (is(&sc, "gap") && s == sc.at)
            nap(2000);
        rc = train_step(w, &sc, g++, s);
        if (!rc && sc.eval_every > 0 && (s + 1) % sc.eval_every == 0)
            rc = eval_step(w, &sc, g++, n_eval++, s);
        if (!rc && is(&sc, "live")) {
            printf("%ld\n", s);
            fflush(stdout);
        }
        if (!rc && vsim_writer_stop_requested(w)) {
            status = "stopped";
            s++;
            break;
        }
        nap(sc.sleep_ms);
    }
    if (rc || vsim_writer_close(w, status, g - 1)) {
        fprintf(stderr, "rules-mkrun: %s\n", vsim_errmsg());
        return 1;
    }
    vsim_free(w_enc);
    vsim_free(w_dec);
    vsim_free(w_wide);
    return 0;
}
