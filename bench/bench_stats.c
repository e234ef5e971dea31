/*
 * bench/bench_stats.c - helpers for bench/bench-stats.sh (issue 5):
 *   bench_stats gen DIR STEPS MAX_MB   write a run: per step float32 tensors of 1 KiB,
 *                                      4 KiB, ... up to MAX_MB/4 MiB, a float64 one, and
 *                                      one of MAX_MB MiB every other step
 *   bench_stats read FILE...           read the files' bytes (1 MiB read()s): the
 *                                      physical limit from the page cache; prints
 *                                      bytes and seconds
 *   bench_stats trial RUN              read every tensor of every step through the
 *                                      trial API (the floor below vsim-stats's compute)
 * Values: a pool of normal deviates, windowed and scaled per tensor and step.
 * SPDX-License-Identifier: MIT
 */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/mem.h"
#include "core/rng.h"
#include "readers/trial.h"
#include "readers/writer.h"

#define POOL (1u << 22)

static int read_files(int n, char **paths)
{
    static char buf[1 << 20];
    double t0 = vsim_clock_s();
    size_t total = 0;

    for (int i = 0; i < n; i++) {
        int fd = open(paths[i], O_RDONLY);
        ssize_t got;

        if (fd < 0) {
            perror(paths[i]);
            return 1;
        }
        while ((got = read(fd, buf, sizeof(buf))) > 0)
            total += (size_t)got;
        close(fd);
    }
    printf("%zu %.6f\n", total, vsim_clock_s() - t0);
    return 0;
}

static int save_window(vsim_writer *w, const char *name, const float *pool, size_t off,
                       size_t n, float scale, float *tmp)
{
    size_t shape[1] = { n };
    vsim_tensor t;

    for (size_t i = 0; i < n; i++)
        tmp[i] = scale * pool[(off + i) % POOL];
    vsim_tensor_init(&t, VSIM_F32, 1, shape, tmp);
    return vsim_writer_save(w, name, "weights", &t);
}

static int gen_step(vsim_writer *w, long s, size_t max_bytes, const float *pool, float *tmp,
                    double *tmp64)
{
    char name[64];
    size_t k = 0, n64 = max_bytes / 32;
    size_t shape[2] = { 16, n64 / 16 };
    vsim_tensor t;
    int rc = VSIM_OK;

    for (size_t bytes = 1024; !rc && bytes <= max_bytes / 4; bytes *= 4, k++) {
        snprintf(name, sizeof(name), "layer%zu/weight", k);
        rc = save_window(w, name, pool, (size_t)s * 7919 + k * 131, bytes / 4,
                         0.1f / (float)(1 + k), tmp);
    }
    if (!rc && s % 2 == 0)
        rc = save_window(w, "big/weight", pool, (size_t)s * 104729, max_bytes / 4, 0.02f, tmp);
    for (size_t i = 0; !rc && i < n64; i++)
        tmp64[i] = (double)pool[(i * 3 + (size_t)s) % POOL] + 1e3;
    vsim_tensor_init(&t, VSIM_F64, 2, shape, tmp64);
    if (!rc)
        rc = vsim_writer_save(w, "head/weight", "weights", &t);
    return rc;
}

static int gen(const char *dir, long steps, long max_mb)
{
    vsim_writer_params wp = VSIM_WRITER_PARAMS_INIT;
    vsim_save_config every = VSIM_SAVE_CONFIG_INIT;
    size_t max_bytes = (size_t)max_mb << 20;
    float *pool = malloc(POOL * sizeof(float)), *tmp = malloc(max_bytes);
    double *tmp64 = malloc(max_bytes / 4);
    vsim_writer *w = NULL;
    vsim_rng r;
    int rc;

    if (!pool || !tmp || !tmp64)
        return 1;
    vsim_rng_seed(&r, 2026, 0);
    for (size_t i = 0; i < POOL; i++)
        pool[i] = (float)vsim_rng_normal(&r);
    pool[12345] = (float)NAN;
    every.save_interval = 1;
    wp.durable = 0;
    rc = vsim_writer_open(dir, &wp, &w);
    if (!rc)
        rc = vsim_writer_set_collection(w, "weights", NULL, &every);
    for (long s = 0; !rc && s < steps; s++) {
        rc = vsim_writer_begin_step(w, s, VSIM_MODE_TRAIN, s);
        if (!rc)
            rc = gen_step(w, s, max_bytes, pool, tmp, tmp64);
        if (!rc)
            rc = vsim_writer_end_step(w);
    }
    if (!rc) {
        rc = vsim_writer_close(w, "completed", steps - 1);
        w = NULL;
    }
    if (rc)
        fprintf(stderr, "bench_stats: %s\n", vsim_errmsg());
    vsim_writer_destroy(w);
    free(pool);
    free(tmp);
    free(tmp64);
    return rc ? 1 : 0;
}

static int read_trial(const char *dir)
{
    double t0 = vsim_clock_s();
    vsim_trial *t;
    size_t total = 0;

    if (vsim_trial_open(dir, &t)) {
        fprintf(stderr, "bench_stats: %s\n", vsim_errmsg());
        return 1;
    }
    for (size_t s = 0; s < vsim_trial_n_steps(t); s++) {
        int64_t step = vsim_trial_step(t, s)->step;

        for (size_t i = 0; i < vsim_trial_n_tensors(t); i++) {
            const char *name = vsim_trial_tensor(t, i)->name;
            vsim_tensor v;
            void *data;

            if (!vsim_trial_has(t, i, step, 0) || vsim_trial_read(t, name, step, 0, &v, &data))
                continue;
            total += vsim_tensor_n_elems(&v) * vsim_dtype_size(v.dtype);
            vsim_free(data);
        }
    }
    vsim_trial_close(t);
    printf("%zu %.6f\n", total, vsim_clock_s() - t0);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "trial"))
        return read_trial(argv[2]);
    if (argc >= 5 && !strcmp(argv[1], "gen"))
        return gen(argv[2], atol(argv[3]), atol(argv[4]));
    if (argc >= 3 && !strcmp(argv[1], "read"))
        return read_files(argc - 2, argv + 2);
    fprintf(stderr, "usage: bench_stats gen DIR STEPS MAX_MB | read FILE... | trial RUN\n");
    return 2;
}
