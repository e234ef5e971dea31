/*
 * tests/helpers/report-mkrun.c - small runs for the vsim-report tests (t0900)
 * and benchmark, through the capture API:
 *   report-mkrun DIR healthy|xss|noembed|noeval|empty|large [STEPS LAYERS POINTS]
 * healthy: 12 train steps (losses, metrics, update ratios every step; weights and
 * gradients of 3 layers at steps 0, 5, 10), evaluations at steps 6 and 13 with
 * 120 embeddings of 3 classes (labels, design ids) and the eval loss.
 * xss: the same with HTML/JS payloads in tensor names, label names, the run id
 * and hyper-parameter values. noembed / noeval: without embeddings / evaluations;
 * empty: run.json only. large: STEPS train steps, LAYERS layers (scalars every
 * step, weights and gradients every 100 steps) and POINTS embeddings at the end.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readers/writer.h"

#define XSS "</script><script>top[\"pwned\"]=1</script>\"><img src=x onerror=top[\"pwned\"]=2>"

static uint64_t seed = 777;

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
                const size_t *shape, const void *data)
{
    vsim_tensor t;

    vsim_tensor_init(&t, dt, ndim, shape, (void *)data);
    return vsim_writer_save(w, name, coll, &t);
}

static int scalar(vsim_writer *w, const char *name, const char *coll, double v)
{
    size_t one[1] = { 1 };

    return save(w, name, coll, VSIM_F64, 1, one, &v);
}

static const char *layer(int xss, int k, char *buf, size_t n)
{
    if (xss && k == 1)
        snprintf(buf, n, "enc/" XSS);
    else
        snprintf(buf, n, "enc/l%d", k);
    return buf;
}

static int train_step(vsim_writer *w, int64_t step, int n_layers, int xss, int tensors,
                      size_t elems)
{
    float *buf = malloc(elems * sizeof(float));
    size_t sh[1] = { elems };
    char name[256], lay[200];
    int rc = buf ? vsim_writer_begin_step(w, step, VSIM_MODE_TRAIN, step) : -2;

    if (!rc)
        rc = scalar(w, "loss/total", "losses", 0.5 / (1.0 + (double)step / 4.0) + 0.01 * unif());
    if (!rc)
        rc = scalar(w, "metrics/ssim", "metrics", 0.9 - 0.5 / (1.0 + (double)step / 4.0));
    for (int k = 0; !rc && k < n_layers; k++) {
        snprintf(name, sizeof(name), "metrics/update_ratio/%s", layer(xss, k, lay, sizeof(lay)));
        rc = scalar(w, name, "metrics", 1e-3 * pow(10.0, -k * 0.3) * (1 + 0.1 * normal()));
    }
    for (int k = 0; !rc && tensors && k < n_layers; k++) {
        for (size_t i = 0; i < elems; i++)
            buf[i] = (float)(normal() * 0.1);
        snprintf(name, sizeof(name), "%s/weight", layer(xss, k, lay, sizeof(lay)));
        rc = save(w, name, "weights", VSIM_F32, 1, sh, buf);
        for (size_t i = 0; i < elems; i++)
            buf[i] = (float)(normal() * 1e-3 * (k + 1));
        snprintf(name, sizeof(name), "gradients/%s/weight", layer(xss, k, lay, sizeof(lay)));
        if (!rc)
            rc = save(w, name, "gradients", VSIM_F32, 1, sh, buf);
    }
    free(buf);
    return rc ? rc : vsim_writer_end_step(w);
}

static int eval_step(vsim_writer *w, int64_t step, int64_t mode_step, size_t n, int embed)
{
    size_t sh[2] = { n, 8 };
    float *lat = malloc(n * 8 * sizeof(float));
    int32_t *lab = malloc(n * sizeof(int32_t)), *ids = malloc(n * sizeof(int32_t));
    int rc = lat && lab && ids ? vsim_writer_begin_step(w, step, VSIM_MODE_EVAL, mode_step) : -2;

    if (!rc)
        rc = scalar(w, "loss/total", "losses", 0.05 + 0.1 / (double)(step + 1));
    for (size_t i = 0; i < n; i++) {
        lab[i] = (int32_t)(i % 3);
        ids[i] = (int32_t)(i / 2);   /* two snapshots per design */
        for (int j = 0; j < 8; j++)
            lat[i * 8 + j] = (float)(normal() * 0.4 + (j == lab[i] ? 4.0 : 0.0));
    }
    if (!rc && embed)
        rc = save(w, "embeddings/latent", "embeddings", VSIM_F32, 2, sh, lat);
    if (!rc && embed)
        rc = save(w, "embeddings/labels", "embeddings", VSIM_I32, 1, sh, lab);
    if (!rc && embed)
        rc = save(w, "embeddings/design_id", "embeddings", VSIM_I32, 1, sh, ids);
    free(lat);
    free(lab);
    free(ids);
    return rc ? rc : vsim_writer_end_step(w);
}

int main(int argc, char **argv)
{
    static const char *const colls[] = { "weights", "gradients", "losses", "metrics",
                                         "embeddings" };
    vsim_writer_params wp = VSIM_WRITER_PARAMS_INIT;
    vsim_save_config every = VSIM_SAVE_CONFIG_INIT;
    const char *mode = argc > 2 ? argv[2] : "";
    int xss = !strcmp(mode, "xss"), large = !strcmp(mode, "large");
    int64_t steps = large && argc > 3 ? atoll(argv[3]) : 12;
    int n_layers = large && argc > 4 ? atoi(argv[4]) : 3;
    size_t points = large && argc > 5 ? (size_t)atoll(argv[5]) : 120;
    char hp[1024];
    vsim_writer *w;
    int rc;

    if (argc < 3 || (!xss && !large && strcmp(mode, "healthy") && strcmp(mode, "noembed") &&
                     strcmp(mode, "noeval") && strcmp(mode, "empty"))) {
        fprintf(stderr, "usage: report-mkrun DIR healthy|xss|noembed|noeval|empty|large "
                        "[STEPS LAYERS POINTS]\n");
        return 2;
    }
    snprintf(hp, sizeof(hp), "{\"lr\": 0.001, \"batch\": 16, \"note\": \"%s\", \"label_names\": "
                             "[\"alpha%s\", \"beta\", \"gamma\"]}",
             xss ? "<\\/script><script>top[\\\"pwned\\\"]=3<\\/script>" : "plain",
             xss ? "<img src=x onerror=top[\\\"pwned\\\"]=4>" : "");
    every.save_interval = 1;
    wp.durable = VSIM_DURABLE_NONE;
    wp.hyperparams_json = hp;
    wp.run_id = xss ? "run-<b>bold</b>-\"quoted\"" : NULL;
    rc = vsim_writer_open(argv[1], &wp, &w);
    for (size_t i = 0; !rc && i < sizeof(colls) / sizeof(colls[0]); i++)
        rc = vsim_writer_set_collection(w, colls[i], NULL, &every);
    if (!strcmp(mode, "empty"))
        steps = 0;
    for (int64_t s = 0, ev = 0, t = 0; !rc && t < steps; s++) {
        if (large) {
            rc = train_step(w, s, n_layers, 0, t % 100 == 0 || t == steps - 1, 1000);
            t++;
            if (!rc && t == steps)
                rc = eval_step(w, ++s, ev++, points, 1);
        } else if (strcmp(mode, "noeval") && (s == 6 || s == 13)) {
            rc = eval_step(w, s, ev++, points, strcmp(mode, "noembed"));
        } else {
            rc = train_step(w, s, n_layers, xss, t % 5 == 0, 200);
            t++;
        }
    }
    if (!rc && strcmp(mode, "noeval") && strcmp(mode, "empty") && !large)
        rc = eval_step(w, 13, 1, points, strcmp(mode, "noembed"));
    if (!rc)
        rc = vsim_writer_close(w, "completed", 13);
    if (rc) {
        fprintf(stderr, "report-mkrun: %s\n", vsim_errmsg());
        return 1;
    }
    return 0;
}
