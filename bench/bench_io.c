/*
 * bench/bench_io.c - shard write and read throughput beside the physical limit
 * on this machine: plain write()/read() of the same bytes into as many files
 * (page cache, no fsync on either side), and the fixed cost of opening a shard
 * and listing its tensors (trial open / number of shards).
 *   bench_io DIR
 * SPDX-License-Identifier: MIT
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/fs.h"
#include "core/mem.h"
#include "readers/trial.h"
#include "readers/writer.h"

#define N_TENSORS 8

static int sh(const char *fmt, const char *arg)
{
    char cmd[1024];

    snprintf(cmd, sizeof(cmd), fmt, arg);
    return system(cmd);
}

static double write_run(const char *dir, size_t elems, int n_steps, float *data)
{
    vsim_writer_params wp = VSIM_WRITER_PARAMS_INIT;
    vsim_save_config every = VSIM_SAVE_CONFIG_INIT;
    vsim_writer *w;
    double t0;

    wp.durable = 0;
    every.save_interval = 1;
    if (vsim_writer_open(dir, &wp, &w) || vsim_writer_set_collection(w, "weights", NULL, &every))
        return -1;
    t0 = vsim_clock_s();
    for (int s = 0; s < n_steps; s++) {
        vsim_writer_begin_step(w, s, VSIM_MODE_TRAIN, s);
        for (int k = 0; k < N_TENSORS; k++) {
            char name[32];
            vsim_tensor t;

            snprintf(name, sizeof(name), "layer%d/weight", k);
            vsim_tensor_init(&t, VSIM_F32, 1, &elems, data);
            if (vsim_writer_save(w, name, "weights", &t))
                return -1;
        }
        if (vsim_writer_end_step(w))
            return -1;
    }
    vsim_writer_close(w, "completed", n_steps - 1);
    return vsim_clock_s() - t0;
}

static double write_raw(const char *dir, size_t bytes, int n_steps, const float *data)
{
    vsim_buf p = VSIM_BUF_INIT;
    double t0;

    vsim_fs_mkdir_p(dir);
    t0 = vsim_clock_s();
    for (int s = 0; s < n_steps; s++) {
        int fd;

        vsim_buf_reset(&p);
        vsim_buf_addf(&p, "%s/f%06d.tmp", dir, s);
        fd = open(p.buf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        for (int k = 0; k < N_TENSORS; k++)
            if (write(fd, data, bytes) != (ssize_t)bytes)
                return -1;
        close(fd);
        {
            vsim_buf q = VSIM_BUF_INIT;

            vsim_buf_add(&q, p.buf, p.len - 4);
            rename(p.buf, q.buf);
            vsim_buf_release(&q);
        }
    }
    vsim_buf_release(&p);
    return vsim_clock_s() - t0;
}

static double read_run(const char *dir, size_t bytes, float *buf, double *open_s, int *n_shards)
{
    vsim_trial *t;
    double t0 = vsim_clock_s(), t1;

    if (vsim_trial_open(dir, &t))
        return -1;
    t1 = vsim_clock_s();
    *open_s = t1 - t0;
    *n_shards = (int)vsim_trial_n_steps(t);
    for (size_t i = 0; i < vsim_trial_n_steps(t); i++) {
        for (size_t k = 0; k < vsim_trial_n_tensors(t); k++) {
            vsim_tensor v;

            if (vsim_trial_read_into(t, vsim_trial_tensor(t, k)->name,
                                     vsim_trial_step(t, i)->step, 0, buf, bytes, &v))
                return -1;
        }
    }
    vsim_trial_close(t);
    return vsim_clock_s() - t1;
}

static double read_raw(const char *dir, size_t bytes, int n_steps, float *buf)
{
    vsim_buf p = VSIM_BUF_INIT;
    double t0 = vsim_clock_s();

    for (int s = 0; s < n_steps; s++) {
        int fd;

        vsim_buf_reset(&p);
        vsim_buf_addf(&p, "%s/f%06d", dir, s);
        fd = open(p.buf, O_RDONLY);
        for (int k = 0; k < N_TENSORS; k++)
            if (read(fd, buf, bytes) != (ssize_t)bytes)
                return -1;
        close(fd);
    }
    vsim_buf_release(&p);
    return vsim_clock_s() - t0;
}

int main(int argc, char **argv)
{
    static const size_t sizes[] = { 4096, 1 << 20, 64 << 20 };
    static const char *labels[] = { "4 KB", "1 MB", "64 MB" };
    const char *root = argc > 1 ? argv[1] : "bench/out/io";
    vsim_buf d1 = VSIM_BUF_INIT, d2 = VSIM_BUF_INIT;

    printf("%-6s %6s %9s | %10s %10s %6s | %10s %10s %6s | %12s\n", "tensor", "shards",
           "total MB", "shard w", "write()", "ratio", "shard r", "read()", "ratio",
           "open+list");
    for (size_t z = 0; z < 3; z++) {
        size_t bytes = sizes[z], elems = bytes / 4;
        int n_steps = (int)(512.0 * 1048576 / (double)(bytes * N_TENSORS));
        float *data = vsim_malloc(bytes), *buf = vsim_malloc(bytes);
        double best[4] = { 1e9, 1e9, 1e9, 1e9 }, open_s = 0, mb;
        int n_shards = 0;

        if (n_steps > 1000)
            n_steps = 1000;
        if (n_steps < 4)
            n_steps = 4;
        for (size_t i = 0; i < elems; i++)
            data[i] = (float)i * 0.5f;
        mb = (double)bytes * N_TENSORS * n_steps / 1048576.0;
        for (int rep = 0; rep < 4; rep++) {
            double w, r, o = 0;

            vsim_buf_reset(&d1);
            vsim_buf_reset(&d2);
            vsim_buf_addf(&d1, "%s/run", root);
            vsim_buf_addf(&d2, "%s/raw", root);
            sh("rm -rf '%s'", root);
            /* alternate which side goes first: fresh page-cache pages cost more than
             * recycled ones on this VM, and the side going first gets the recycled ones */
            for (int side = 0; side < 2; side++) {
                if ((side + rep) % 2 == 0) {
                    w = write_raw(d2.buf, bytes, n_steps, data);
                    best[1] = w < best[1] ? w : best[1];
                    r = read_raw(d2.buf, bytes, n_steps, buf);
                    best[3] = r < best[3] ? r : best[3];
                } else {
                    w = write_run(d1.buf, elems, n_steps, data);
                    best[0] = w < best[0] ? w : best[0];
                    r = read_run(d1.buf, bytes, buf, &o, &n_shards);
                    best[2] = r < best[2] ? r : best[2];
                }
            }
            open_s = rep == 0 || o < open_s ? o : open_s;
        }
        printf("%-6s %6d %9.0f | %7.0f MB/s %5.0f MB/s %5.0f%% | %5.0f MB/s %5.0f MB/s %5.0f%% | "
               "%7.3f ms/shard\n", labels[z], n_steps, mb, mb / best[0], mb / best[1],
               100 * best[1] / best[0], mb / best[2], mb / best[3], 100 * best[3] / best[2],
               1e3 * open_s / (n_shards ? n_shards : 1));
        fflush(stdout);
        vsim_free(data);
        vsim_free(buf);
    }
    sh("rm -rf '%s'", root);
    printf("goal: >= 70%% of write()/read() for tensors >= 1 MB; open+list < 1 ms per shard "
           "(%d tensors per shard; best of 4, sides alternating; page cache, no fsync on "
           "either side)\n", N_TENSORS);
    vsim_buf_release(&d1);
    vsim_buf_release(&d2);
    return 0;
}
