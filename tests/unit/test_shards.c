/*
 * tests/unit/test_shards.c - writer and trial reader: round trip of every dtype
 * and rank, collections, regex collections, save configs, reductions, strided
 * views, multi-worker completeness, refresh, corrupt shards, and the
 * allocation-fault loop.
 * SPDX-License-Identifier: MIT
 */
#include <hdf5.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/mem.h"
#include "readers/h5.h"
#include "readers/trial.h"
#include "readers/writer.h"
#include "tests/vt.h"

static char root[] = "/tmp/vsim-test-shards.XXXXXX";

static void run_path(vsim_buf *b, const char *name)
{
    vsim_buf_reset(b);
    vsim_buf_addf(b, "%s/%s", root, name);
}

/* Deterministic fill so the reader can check values without keeping them. */
static double value_at(int64_t step, size_t i, vsim_dtype dt)
{
    double v = (double)((step * 131 + (int64_t)i * 7) % 251) - 100.0;

    return dt == VSIM_U8 ? fabs(v) : (dt == VSIM_F32 || dt == VSIM_F64 ? v / 8.0 : v);
}

static void fill(void *data, vsim_dtype dt, size_t n, int64_t step)
{
    for (size_t i = 0; i < n; i++) {
        double v = value_at(step, i, dt);

        switch (dt) {
        case VSIM_F32: ((float *)data)[i] = (float)v; break;
        case VSIM_F64: ((double *)data)[i] = v; break;
        case VSIM_I32: ((int32_t *)data)[i] = (int32_t)v; break;
        case VSIM_I64: ((int64_t *)data)[i] = (int64_t)v; break;
        case VSIM_U8: ((uint8_t *)data)[i] = (uint8_t)v; break;
        default: break;
        }
    }
}

static void test_round_trip(void)
{
    vsim_buf dir = VSIM_BUF_INIT, name = VSIM_BUF_INIT;
    vsim_writer_params wp = VSIM_WRITER_PARAMS_INIT;
    vsim_save_config every = VSIM_SAVE_CONFIG_INIT;
    vsim_writer *w;
    vsim_trial *t;
    static unsigned char data[4096];
    size_t shape[VSIM_MAX_DIMS] = { 2, 3, 1, 2, 1, 1, 2, 1 };
    int ok = 1;

    run_path(&dir, "roundtrip");
    wp.durable = 0;
    every.save_interval = 1;
    VT_CHECK(vsim_writer_open(dir.buf, &wp, &w) == VSIM_OK, "open writer");
    VT_CHECK(vsim_writer_set_collection(w, "all", ".*", &every) == VSIM_OK, "regex collection");
    for (int64_t step = 0; step < 3; step++) {
        VT_CHECK(vsim_writer_begin_step(w, step, VSIM_MODE_TRAIN, step) == VSIM_OK, "begin");
        for (int dt = VSIM_F32; dt < VSIM_N_DTYPES; dt++) {
            for (int nd = 0; nd <= VSIM_MAX_DIMS; nd++) {
                vsim_tensor tt;

                vsim_tensor_init(&tt, (vsim_dtype)dt, nd, shape, data);
                fill(data, (vsim_dtype)dt, vsim_tensor_n_elems(&tt), step);
                vsim_buf_reset(&name);
                vsim_buf_addf(&name, "t/%s/rank%d", vsim_dtype_name((vsim_dtype)dt), nd);
                ok &= vsim_writer_save(w, name.buf, NULL, &tt) == VSIM_OK;
            }
        }
        VT_CHECK(vsim_writer_end_step(w) == VSIM_OK, "end step");
    }
    VT_CHECK(ok, "every dtype and rank saved");
    VT_CHECK(vsim_writer_close(w, "completed", 2) == VSIM_OK, "close");

    VT_CHECK(vsim_trial_open(dir.buf, &t) == VSIM_OK, "open trial");
    VT_CHECK(vsim_trial_n_steps(t) == 3, "three steps");
    VT_CHECK(vsim_trial_n_tensors(t) == 5 * (VSIM_MAX_DIMS + 1), "all tensors listed");
    VT_CHECK(!strcmp(vsim_trial_tensor(t, 0)->name, "t/float32/rank0"), "save order kept");
    ok = 1;
    for (size_t i = 0; i < vsim_trial_n_tensors(t); i++) {
        const vsim_tensor_info *ti = vsim_trial_tensor(t, i);
        vsim_tensor v;
        void *buf;
        size_t n_bytes = 0;

        ok &= vsim_trial_read(t, ti->name, 2, 0, &v, &buf) == VSIM_OK;
        if (!buf)
            continue;
        ok &= vsim_trial_value_bytes(t, ti->name, 2, 0, &n_bytes) == VSIM_OK &&
              n_bytes == vsim_tensor_n_elems(&v) * vsim_dtype_size(v.dtype);
        ok &= v.dtype == ti->dtype && v.ndim == ti->ndim;
        for (int d = 0; d < v.ndim; d++)
            ok &= v.shape[d] == shape[d];
        for (size_t k = 0; k < vsim_tensor_n_elems(&v); k++)
            ok &= vsim_tensor_get(&v, k) == (ti->dtype == VSIM_F32
                                                  ? (double)(float)value_at(2, k, ti->dtype)
                                                  : value_at(2, k, ti->dtype));
        ok &= !strcmp(ti->collections, "all");
        vsim_free(buf);
    }
    VT_CHECK(ok, "values, dtypes and shapes read back exactly");
    VT_CHECK(vsim_trial_tensor_last_step(t, 0) == 2, "last step of a tensor");
    {
        const char *status;
        int64_t last;

        VT_CHECK(vsim_trial_ended(t, &status, &last) && !strcmp(status, "completed") &&
                 last == 2, "END read");
    }
    vsim_trial_close(t);
    vsim_buf_release(&dir);
    vsim_buf_release(&name);
}

static void save_f32(vsim_writer *w, const char *name, const char *colls, float v, size_t n)
{
    float *data = calloc(n, sizeof(float));
    size_t shape[1] = { n };
    vsim_tensor t;

    for (size_t i = 0; i < n; i++)
        data[i] = v + (float)i;
    vsim_tensor_init(&t, VSIM_F32, 1, shape, data);
    VT_CHECK(vsim_writer_save(w, name, colls, &t) == VSIM_OK, "save f32");
    free(data);
}

static void test_save_configs(void)
{
    vsim_buf dir = VSIM_BUF_INIT;
    vsim_writer_params wp = VSIM_WRITER_PARAMS_INIT;
    vsim_save_config c = VSIM_SAVE_CONFIG_INIT, r = VSIM_SAVE_CONFIG_INIT;
    int64_t explicit_steps[] = { 7 };
    int64_t steps[64];
    vsim_writer *w;
    vsim_trial *t;
    size_t idx, n, *m;
    double red[VSIM_N_REDUCTIONS];
    unsigned mask;

    run_path(&dir, "configs");
    wp.durable = 0;
    VT_CHECK(vsim_writer_open(dir.buf, &wp, &w) == VSIM_OK, "open");
    c.save_interval = 5;
    c.start_step = 5;
    c.end_step = 20;
    c.save_steps = explicit_steps;
    c.n_save_steps = 1;
    VT_CHECK(vsim_writer_set_collection(w, "weights", NULL, &c) == VSIM_OK, "weights cfg");
    r.save_interval = 2;
    VT_CHECK(vsim_reduction_parse_list("min,max,mean,std,l2,nan_count", &r.reductions) == 0,
             "parse reductions");
    VT_CHECK(vsim_writer_set_collection(w, "gradnorms", "^gradients/", &r) == VSIM_OK,
             "reductions collection");
    c = (vsim_save_config)VSIM_SAVE_CONFIG_INIT;
    c.save_interval = 1;
    c.modes = 1u << VSIM_MODE_EVAL;
    VT_CHECK(vsim_writer_set_collection(w, "losses", NULL, &c) == VSIM_OK, "losses cfg");
    VT_CHECK(vsim_writer_set_collection(w, "bad", "([", &c) == VSIM_EINVAL, "bad regex refused");
    VT_CHECK(strstr(vsim_errmsg(), "([") != NULL, "bad regex named");
    /* what a later step would save, asked before it (and outside any step) */
    VT_CHECK(!vsim_writer_wants(w, "encoder/fc/weight", "weights"), "nothing due outside a step");
    VT_CHECK(vsim_writer_wants_at(w, "encoder/fc/weight", "weights", VSIM_MODE_TRAIN, 5) &&
             vsim_writer_wants_at(w, "encoder/fc/weight", "weights", VSIM_MODE_TRAIN, 7) &&
             !vsim_writer_wants_at(w, "encoder/fc/weight", "weights", VSIM_MODE_TRAIN, 6) &&
             !vsim_writer_wants_at(w, "encoder/fc/weight", "weights", VSIM_MODE_TRAIN, 20) &&
             !vsim_writer_wants_at(w, "encoder/fc/weight", "weights", VSIM_MODE_TRAIN, 0),
             "wants_at: interval, explicit step, start and end");
    VT_CHECK(vsim_writer_wants_at(w, "gradients/x", NULL, VSIM_MODE_TRAIN, 4) &&
             !vsim_writer_wants_at(w, "gradients/x", NULL, VSIM_MODE_TRAIN, 3),
             "wants_at: a regex collection");
    VT_CHECK(vsim_writer_wants_at(w, "loss", "losses", VSIM_MODE_EVAL, 3) &&
             !vsim_writer_wants_at(w, "loss", "losses", VSIM_MODE_TRAIN, 3),
             "wants_at: a collection of one mode");
    for (int64_t s = 0; s < 25; s++) {
        vsim_mode mode = (s % 10 == 9) ? VSIM_MODE_EVAL : VSIM_MODE_TRAIN;

        VT_CHECK(vsim_writer_begin_step(w, s, mode, s) == VSIM_OK, "begin");
        VT_CHECK(vsim_writer_wants_at(w, "encoder/fc/weight", "weights", VSIM_MODE_TRAIN,
                                      s + 1) == (s + 1 == 7 || ((s + 1) % 5 == 0 &&
                                                                s + 1 >= 5 && s + 1 < 20)),
                 "wants_at the next step, inside a step");
        save_f32(w, "encoder/fc/weight", "weights", (float)s, 4);
        save_f32(w, "gradients/encoder/fc/weight", NULL, (float)s, 4);
        save_f32(w, "loss", "losses", (float)s, 1);
        VT_CHECK(vsim_writer_end_step(w) == VSIM_OK, "end");
    }
    VT_CHECK(vsim_writer_begin_step(w, 3, VSIM_MODE_TRAIN, 3) == VSIM_EINVAL,
             "steps must increase");
    VT_CHECK(vsim_writer_begin_step(w, 30, VSIM_MODE_TRAIN, 30) == VSIM_OK, "begin 30");
    save_f32(w, "encoder/fc/weight", "weights", 0, 1);
    {
        float x = 1;
        size_t one = 1;
        vsim_tensor tt;

        vsim_tensor_init(&tt, VSIM_F32, 1, &one, &x);
        c.save_interval = 1;
        c.modes = 0;
        c.end_step = -1;
        vsim_writer_set_collection(w, "always", NULL, &c);
        VT_CHECK(vsim_writer_save(w, "x", "always", &tt) == VSIM_OK, "save once");
        VT_CHECK(vsim_writer_save(w, "x", "always", &tt) == VSIM_EINVAL, "twice refused");
        VT_CHECK(vsim_writer_save(w, "/abs", "always", &tt) == VSIM_EINVAL, "leading slash");
        VT_CHECK(vsim_writer_save(w, "a//b", "always", &tt) == VSIM_EINVAL, "empty component");
        VT_CHECK(vsim_writer_save(w, "a/../b", "always", &tt) == VSIM_EINVAL, "dot-dot");
    }
    VT_CHECK(vsim_writer_close(w, "completed", 30) == VSIM_OK, "close");

    VT_CHECK(vsim_trial_open(dir.buf, &t) == VSIM_OK, "open trial");
    VT_CHECK(vsim_trial_find_tensor(t, "encoder/fc/weight", &idx) == VSIM_OK, "find");
    n = vsim_trial_tensor_steps(t, idx, steps, 64);
    VT_CHECK(n == 4 && steps[0] == 5 && steps[1] == 7 && steps[2] == 10 && steps[3] == 15,
             "interval, explicit step, start and end honoured");
    VT_CHECK(vsim_trial_tensor_last_step(t, idx) == 15, "its last step");
    VT_CHECK(vsim_trial_find_tensor(t, "loss", &idx) == VSIM_OK, "loss");
    n = vsim_trial_tensor_steps(t, idx, steps, 64);
    VT_CHECK(n == 2 && steps[0] == 9 && steps[1] == 19 &&
             vsim_trial_tensor_last_step(t, idx) == 19, "eval-only collection");
    VT_CHECK(vsim_trial_list_steps(t, VSIM_MODE_EVAL, steps, 64) == 2, "eval steps listed");
    VT_CHECK(vsim_trial_find_step(t, 9)->mode == VSIM_MODE_EVAL, "mode recorded");
    VT_CHECK(vsim_trial_find_tensor(t, "gradients/encoder/fc/weight", &idx) == VSIM_OK, "g");
    VT_CHECK(vsim_trial_tensor(t, idx)->has_values == 0 &&
             vsim_trial_tensor(t, idx)->reductions != 0, "reductions only");
    VT_CHECK(vsim_trial_read_reductions(t, "gradients/encoder/fc/weight", 4, 0, red, &mask) ==
             VSIM_OK, "read reductions");
    VT_NEAR(red[VSIM_RED_MIN], 4.0, 0, "min");
    VT_NEAR(red[VSIM_RED_MAX], 7.0, 0, "max");
    VT_NEAR(red[VSIM_RED_MEAN], 5.5, 1e-15, "mean");
    VT_NEAR(red[VSIM_RED_STD], sqrt(1.25), 1e-15, "std (population)");
    VT_NEAR(red[VSIM_RED_L2], sqrt(16.0 + 25 + 36 + 49), 1e-15, "l2");
    VT_CHECK(!(mask & VSIM_RED_BIT(VSIM_RED_L1)), "only requested reductions");
    VT_CHECK(vsim_trial_match(t, "weights", NULL, &m, &n) == VSIM_OK && n == 1, "by collection");
    vsim_free(m);
    VT_CHECK(vsim_trial_match(t, NULL, "fc/weight$", &m, &n) == VSIM_OK && n == 2, "by regex");
    vsim_free(m);
    VT_CHECK(vsim_trial_match(t, NULL, "(", &m, &n) == VSIM_EINVAL, "bad regex");
    VT_CHECK(vsim_trial_read(t, "loss", 4, 0, &(vsim_tensor){ 0 }, &(void *){ NULL }) ==
             VSIM_ENOTFOUND, "not saved there");
    VT_CHECK(vsim_trial_value_bytes(t, "loss", 4, 0, &(size_t){ 0 }) == VSIM_ENOTFOUND,
             "no size where not saved");
    vsim_trial_close(t);
    vsim_buf_release(&dir);
}

static void test_strided(void)
{
    vsim_buf dir = VSIM_BUF_INIT;
    vsim_writer_params wp = VSIM_WRITER_PARAMS_INIT;
    vsim_writer *w;
    vsim_trial *t;
    double m[3][4];
    size_t shape[2] = { 4, 3 };
    vsim_tensor tt, v;
    void *buf;
    int ok = 1;

    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++)
            m[i][j] = i * 10 + j;
    vsim_tensor_init(&tt, VSIM_F64, 2, shape, m);
    tt.stride[0] = 1;
    tt.stride[1] = 4;   /* the transpose of m */
    run_path(&dir, "strided");
    VT_CHECK(vsim_writer_open(dir.buf, &wp, &w) == VSIM_OK, "open");
    vsim_writer_begin_step(w, 0, VSIM_MODE_TRAIN, 0);
    VT_CHECK(vsim_writer_save(w, "mt", "weights", &tt) == VSIM_OK, "save strided");
    VT_CHECK(vsim_writer_close(w, "completed", 0) == VSIM_OK, "close");
    VT_CHECK(vsim_trial_open(dir.buf, &t) == VSIM_OK, "open trial");
    VT_CHECK(vsim_trial_read(t, "mt", 0, 0, &v, &buf) == VSIM_OK, "read");
    for (int j = 0; buf && j < 4; j++)
        for (int i = 0; i < 3; i++)
            ok &= ((double *)buf)[j * 3 + i] == m[i][j];
    VT_CHECK(ok, "transposed view stored row-major");
    vsim_free(buf);
    vsim_trial_close(t);
    VT_CHECK(vsim_writer_open(dir.buf, &wp, &w) == VSIM_EINVAL, "existing run refused");
    VT_CHECK(strstr(vsim_errmsg(), "already holds a run") != NULL, "message says why");
    vsim_buf_release(&dir);
}

static void test_workers_and_refresh(void)
{
    vsim_buf dir = VSIM_BUF_INIT;
    vsim_writer_params p0 = VSIM_WRITER_PARAMS_INIT, p1 = VSIM_WRITER_PARAMS_INIT;
    vsim_writer *w0, *w1;
    vsim_trial *t;
    size_t n_new;

    run_path(&dir, "workers");
    p0.n_workers = p1.n_workers = 2;
    p0.durable = p1.durable = 0;
    p1.worker = 1;
    VT_CHECK(vsim_writer_open(dir.buf, &p0, &w0) == VSIM_OK, "w0");
    VT_CHECK(vsim_writer_open(dir.buf, &p1, &w1) == VSIM_OK, "w1");
    vsim_writer_begin_step(w0, 0, VSIM_MODE_TRAIN, 0);
    save_f32(w0, "a", "weights", 1, 3);
    vsim_writer_end_step(w0);
    VT_CHECK(vsim_trial_open(dir.buf, &t) == VSIM_OK, "open trial");
    VT_CHECK(vsim_trial_n_steps(t) == 0 && vsim_trial_n_incomplete(t) == 1,
             "step incomplete until every worker wrote it");
    vsim_writer_begin_step(w1, 0, VSIM_MODE_TRAIN, 0);
    save_f32(w1, "a", "weights", 2, 3);
    vsim_writer_end_step(w1);
    VT_CHECK(vsim_trial_refresh(t, &n_new) == VSIM_OK && n_new == 1, "refresh sees it");
    VT_CHECK(vsim_trial_n_steps(t) == 1, "complete now");
    VT_CHECK(vsim_trial_refresh(t, &n_new) == VSIM_OK && n_new == 0, "nothing new");
    VT_CHECK(!vsim_trial_ended(t, NULL, NULL), "not ended");
    vsim_writer_close(w1, "completed", 0);
    vsim_writer_close(w0, "stopped", 0);
    vsim_trial_refresh(t, NULL);
    {
        const char *st;

        VT_CHECK(vsim_trial_ended(t, &st, NULL) && !strcmp(st, "stopped"), "END status");
    }
    {
        vsim_tensor v;
        void *b;

        VT_CHECK(vsim_trial_read(t, "a", 0, 1, &v, &b) == VSIM_OK &&
                 ((float *)b)[0] == 2.0f, "worker 1's values");
        vsim_free(b);
    }
    vsim_trial_close(t);
    vsim_buf_release(&dir);
}

static void test_async_fsync(void)
{
    vsim_buf dir = VSIM_BUF_INIT;
    vsim_writer_params wp = VSIM_WRITER_PARAMS_INIT;
    vsim_writer *w;
    vsim_trial *t;
    int ok = 1;

    run_path(&dir, "async");
    wp.durable = VSIM_DURABLE_ASYNC;
    VT_CHECK(vsim_writer_open(dir.buf, &wp, &w) == VSIM_OK, "open async");
    for (int64_t s = 0; s < 3 * VSIM_WRITER_ASYNC_DEPTH; s++) {
        ok &= vsim_writer_begin_step(w, s * 100, VSIM_MODE_TRAIN, s * 100) == VSIM_OK;
        save_f32(w, "a", "weights", (float)s, 64);
        ok &= vsim_writer_end_step(w) == VSIM_OK;
    }
    VT_CHECK(ok, "steps written with background fsync");
    VT_CHECK(vsim_trial_open(dir.buf, &t) == VSIM_OK, "visible before close");
    VT_CHECK(vsim_trial_n_steps(t) == 3 * VSIM_WRITER_ASYNC_DEPTH, "every shard renamed at once");
    vsim_trial_close(t);
    VT_CHECK(vsim_writer_close(w, "completed", 2300) == VSIM_OK, "close drains");
    wp.durable = 7;
    run_path(&dir, "async2");
    VT_CHECK(vsim_writer_open(dir.buf, &wp, &w) == VSIM_EINVAL, "bad durability refused");
    vsim_buf_release(&dir);
}

/* vsim_h5_read_strings: variable and fixed length, absent, not strings. */
static void test_h5_strings(void)
{
    vsim_buf path = VSIM_BUF_INIT;
    const char *vl[3] = { "bracket", "", "gear" };
    char fixed[2][6] = { "plate", "ring" };
    hsize_t n3 = 3, n2 = 2;
    hid_t f, sp3, sp2, tv, tf, d;
    char **out;
    size_t n;
    int x = 1;

    run_path(&path, "strings.h5");
    f = H5Fcreate(path.buf, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    sp3 = H5Screate_simple(1, &n3, NULL);
    sp2 = H5Screate_simple(1, &n2, NULL);
    tv = H5Tcopy(H5T_C_S1);
    H5Tset_size(tv, H5T_VARIABLE);
    H5Tset_cset(tv, H5T_CSET_UTF8);
    tf = H5Tcopy(H5T_C_S1);
    H5Tset_size(tf, 6);
    d = H5Dcreate2(f, "vl", tv, sp3, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, tv, H5S_ALL, H5S_ALL, H5P_DEFAULT, vl);
    H5Dclose(d);
    d = H5Dcreate2(f, "fixed", tf, sp2, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, tf, H5S_ALL, H5S_ALL, H5P_DEFAULT, fixed);
    H5Dclose(d);
    d = H5Dcreate2(f, "num", H5T_NATIVE_INT, sp2, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, (int[2]){ x, x });
    H5Dclose(d);
    VT_CHECK(vsim_h5_read_strings(f, path.buf, "vl", &out, &n) == VSIM_OK && n == 3 &&
             !strcmp(out[0], "bracket") && !strcmp(out[1], "") && !strcmp(out[2], "gear") &&
             out[3] == NULL, "variable-length UTF-8 strings");
    vsim_h5_strings_free(out, n);
    VT_CHECK(vsim_h5_read_strings(f, path.buf, "fixed", &out, &n) == VSIM_OK && n == 2 &&
             !strcmp(out[0], "plate") && !strcmp(out[1], "ring"), "fixed-length strings");
    vsim_h5_strings_free(out, n);
    VT_CHECK(vsim_h5_read_strings(f, path.buf, "nope", &out, &n) == VSIM_ENOTFOUND && !out,
             "absent dataset");
    VT_CHECK(vsim_h5_read_strings(f, path.buf, "num", &out, &n) == VSIM_EFORMAT &&
             strstr(vsim_errmsg(), "'num' is not a dataset of strings"), "numbers refused");
    H5Tclose(tv);
    H5Tclose(tf);
    H5Sclose(sp3);
    H5Sclose(sp2);
    H5Fclose(f);
    vsim_buf_release(&path);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    fputs(text, f);
    fclose(f);
}

static void test_bad_input(void)
{
    vsim_buf dir = VSIM_BUF_INIT, path = VSIM_BUF_INIT;
    vsim_writer_params wp = VSIM_WRITER_PARAMS_INIT;
    vsim_writer *w;
    vsim_trial *t;

    run_path(&dir, "nonexistent");
    VT_CHECK(vsim_trial_open(dir.buf, &t) == VSIM_ENOTFOUND && !t, "missing folder");
    VT_CHECK(strstr(vsim_errmsg(), "no such run directory"), "message");
    run_path(&dir, "");
    VT_CHECK(vsim_trial_open(dir.buf, &t) == VSIM_ENOTFOUND, "no run.json");
    VT_CHECK(strstr(vsim_errmsg(), "no run.json"), "message names run.json");
    run_path(&dir, "badjson");
    vsim_fs_mkdir_p(dir.buf);
    vsim_buf_addf(&path, "%s/run.json", dir.buf);
    write_file(path.buf, "{\"schema\": \"vsim-run/1\",\n oops}");
    VT_CHECK(vsim_trial_open(dir.buf, &t) == VSIM_EFORMAT, "bad json");
    VT_CHECK(strstr(vsim_errmsg(), "run.json: line 2"), "line named");
    write_file(path.buf, "{\"schema\": \"vsim-run/9\"}");
    VT_CHECK(vsim_trial_open(dir.buf, &t) == VSIM_EFORMAT, "unknown schema");
    VT_CHECK(strstr(vsim_errmsg(), "vsim-run/9"), "schema named");

    /* a run with one good, one truncated and one garbage shard, and a stray tmp */
    run_path(&dir, "corrupt");
    wp.durable = 0;
    VT_CHECK(vsim_writer_open(dir.buf, &wp, &w) == VSIM_OK, "open");
    for (int64_t s = 0; s < 3; s++) {
        vsim_writer_begin_step(w, s * 100, VSIM_MODE_TRAIN, s * 100);
        save_f32(w, "a", "weights", 1, 1000);
        vsim_writer_end_step(w);
    }
    vsim_writer_close(w, "completed", 200);
    vsim_buf_reset(&path);
    vsim_run_shard_path(&path, dir.buf, 0, 100);
    VT_CHECK(truncate(path.buf, 1500) == 0, "truncate");
    vsim_buf_reset(&path);
    vsim_run_shard_path(&path, dir.buf, 0, 200);
    write_file(path.buf, "this is not HDF5");
    vsim_buf_reset(&path);
    vsim_run_shard_path(&path, dir.buf, 0, 300);
    vsim_buf_adds(&path, ".tmp");
    write_file(path.buf, "half");
    VT_CHECK(vsim_trial_open(dir.buf, &t) == VSIM_OK, "corrupt shards do not stop the run");
    VT_CHECK(vsim_trial_n_steps(t) == 1, "the good step stays readable");
    VT_CHECK(vsim_trial_n_problems(t) == 2, "two problems");
    VT_CHECK(vsim_trial_n_problems(t) == 2 &&
             strstr(vsim_trial_problem_at(t, 0)->path, "step-0000000001") &&
             strstr(vsim_trial_problem_at(t, 1)->path, "step-0000000002") &&
             strstr(vsim_trial_problem_at(t, 0)->message, "truncated or corrupt"),
             "problems name the files");
    vsim_trial_close(t);
    vsim_buf_release(&dir);
    vsim_buf_release(&path);
}

/* Fail the Nth allocation for N = 1.. and expect clean errors (ASan checks leaks). */
static void test_alloc_faults(void)
{
    vsim_buf dir = VSIM_BUF_INIT;
    int clean = 1, n_fail_runs = 0;

    for (long n = 1; n < 400; n++) {
        vsim_writer_params wp = VSIM_WRITER_PARAMS_INIT;
        vsim_writer *w = NULL;
        vsim_trial *t = NULL;
        int rc;
        char cmd[256];

        run_path(&dir, "faults");
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir.buf);
        if (system(cmd) != 0)
            break;
        wp.durable = 0;
        vsim_mem_fail_after(n);
        rc = vsim_writer_open(dir.buf, &wp, &w);
        if (!rc)
            rc = vsim_writer_begin_step(w, 0, VSIM_MODE_TRAIN, 0);
        if (!rc) {
            float x[4] = { 1, 2, 3, 4 };
            size_t four = 4;
            vsim_tensor tt;

            vsim_tensor_init(&tt, VSIM_F32, 1, &four, x);
            rc = vsim_writer_save(w, "layer/w", "weights", &tt);
        }
        if (!rc) {
            rc = vsim_writer_close(w, "completed", 0);
            w = NULL;
        }
        vsim_writer_destroy(w);
        if (!rc)
            rc = vsim_trial_open(dir.buf, &t);
        vsim_trial_close(t);
        clean &= rc == VSIM_OK || rc == VSIM_ENOMEM || rc == VSIM_EIO;
        if (vsim_mem_n_failed() == 0)
            break;
        n_fail_runs++;
    }
    vsim_mem_fail_after(0);
    VT_CHECK(clean, "every injected failure gives a clean error");
    VT_CHECK(n_fail_runs > 20, "the loop reached many allocation sites");
    vsim_buf_release(&dir);
}

/*
 * vsim_trial_map: the mapped values are the read ones (a 1 MiB-aligned large
 * tensor and a small unaligned one), the mapping outlives the trial, and a
 * shard cut short before mapping is an error naming it, not a SIGBUS later.
 */
static void test_map(void)
{
    vsim_buf dir = VSIM_BUF_INIT, shard = VSIM_BUF_INIT;
    vsim_writer_params wp = VSIM_WRITER_PARAMS_INIT;
    vsim_save_config every = VSIM_SAVE_CONFIG_INIT;
    const char *names[2] = { "big", "small" };
    size_t lens[2] = { 400000, 1000 }, len[2] = { 0, 0 };
    void *map[2] = { NULL, NULL }, *buf;
    vsim_tensor v, m[2];
    vsim_writer *w;
    vsim_trial *t;
    int ok = 1;

    run_path(&dir, "map");
    wp.durable = 0;
    every.save_interval = 1;
    VT_CHECK(vsim_writer_open(dir.buf, &wp, &w) == VSIM_OK &&
             vsim_writer_set_collection(w, "weights", NULL, &every) == VSIM_OK &&
             vsim_writer_begin_step(w, 0, VSIM_MODE_TRAIN, 0) == VSIM_OK, "writer");
    save_f32(w, "small", "weights", 3.0f, lens[1]);
    save_f32(w, "big", "weights", -7.0f, lens[0]);
    VT_CHECK(vsim_writer_end_step(w) == VSIM_OK && vsim_writer_close(w, "completed", 0) ==
             VSIM_OK, "one step");
    VT_CHECK(vsim_trial_open(dir.buf, &t) == VSIM_OK, "open");
    for (int k = 0; k < 2; k++) {
        ok &= vsim_trial_map(t, names[k], 0, 0, (unsigned)k * VSIM_MAP_POPULATE, &m[k], &map[k],
                             &len[k]) == VSIM_OK;
        ok &= vsim_trial_read(t, names[k], 0, 0, &v, &buf) == VSIM_OK &&
              vsim_tensor_n_elems(&m[k]) == lens[k] && m[k].dtype == VSIM_F32 &&
              !memcmp(m[k].data, buf, lens[k] * sizeof(float));
        vsim_free(buf);
    }
    VT_CHECK(ok, "mapped values equal the read ones");
    VT_CHECK(vsim_trial_map(t, "nope", 0, 0, 0, &v, &buf, &len[0]) == VSIM_ENOTFOUND,
             "unknown tensor: not found");
    vsim_trial_close(t);
    VT_CHECK(((float *)m[0].data)[lens[0] - 1] == -7.0f + (float)(lens[0] - 1) &&
             ((float *)m[1].data)[0] == 3.0f, "mappings outlive the trial");
    vsim_trial_unmap(map[0], len[0]);
    vsim_trial_unmap(map[1], len[1]);

    /* the shard cut short after the trial indexed it: mapping the big tensor
     * fails with a message, no SIGBUS */
    vsim_buf_addf(&shard, "%s/shards/w0/step-000000000000.h5", dir.buf);
    VT_CHECK(vsim_trial_open(dir.buf, &t) == VSIM_OK, "reopen");
    VT_CHECK(truncate(shard.buf, 2 << 20) == 0, "truncate the shard");
    VT_CHECK(vsim_trial_map(t, "big", 0, 0, 0, &v, &buf, &len[0]) < 0 &&
             strstr(vsim_errmsg(), "step-000000000000.h5") != NULL, "truncated: error naming it");
    vsim_trial_close(t);
    vsim_buf_release(&shard);
    vsim_buf_release(&dir);
}

int main(void)
{
    char cmd[128];
    int rc;

    if (!mkdtemp(root))
        return 1;
    test_round_trip();
    test_map();
    test_save_configs();
    test_strided();
    test_workers_and_refresh();
    test_async_fsync();
    test_h5_strings();
    test_bad_input();
    test_alloc_faults();
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    rc = system(cmd);
    (void)rc;
    return VT_REPORT("shards");
}
