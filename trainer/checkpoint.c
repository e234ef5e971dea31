/*
 * trainer/checkpoint.c - RUN/checkpoint.h5: everything a training job needs
 * to continue exactly where it was (vsim-train --resume): the parameters (as
 * in a model file), Adam's moments and step count, the step counters, the
 * shuffled data order with its position and the RNG state, and the job's own
 * parameters, so that `vsim-train --resume RUN` needs nothing else. Written
 * atomically (temporary name, fsync, rename) beside model.h5. Layout:
 * docs/format.md.
 * SPDX-License-Identifier: MIT
 */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/vsim.h"
#include "readers/h5.h"
#include "trainer/checkpoint.h"
#include "trainer/model_h5.h"

#define CKPT_SCHEMA "vsim-checkpoint-1"

static int put(hid_t f, const char *name, hid_t ftype, hid_t mtype, size_t n, const void *data)
{
    hsize_t d = n;
    hid_t space = H5Screate_simple(1, &d, NULL), ds = -1;
    int ok = space >= 0;

    if (ok)
        ds = H5Dcreate2(f, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ok = ds >= 0 && (n == 0 || H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    if (ds >= 0)
        H5Dclose(ds);
    if (space >= 0)
        H5Sclose(space);
    return ok ? 0 : -1;
}

/* Read the 1-D dataset name of n elements; VSIM_EFORMAT naming path if absent or of
 * another length. */
static int get(hid_t f, const char *path, const char *name, hid_t mtype, size_t n, void *data)
{
    hid_t ds = H5Lexists(f, name, H5P_DEFAULT) > 0 ? H5Dopen2(f, name, H5P_DEFAULT) : -1;
    hid_t space = ds >= 0 ? H5Dget_space(ds) : -1;
    hsize_t d = 0;
    int ok = space >= 0 && H5Sget_simple_extent_ndims(space) == 1 &&
             H5Sget_simple_extent_dims(space, &d, NULL) == 1 && d == n &&
             (n == 0 || H5Dread(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);

    if (space >= 0)
        H5Sclose(space);
    if (ds >= 0)
        H5Dclose(ds);
    return ok ? VSIM_OK : vsim_fail(VSIM_EFORMAT, "%s: dataset '/%s' is missing or does not "
                                    "hold %zu values", path, name, n);
}

/* The number of values in dataset name, -1 if there is none. */
static hssize_t extent(hid_t f, const char *name)
{
    hid_t ds = H5Lexists(f, name, H5P_DEFAULT) > 0 ? H5Dopen2(f, name, H5P_DEFAULT) : -1;
    hid_t space = ds >= 0 ? H5Dget_space(ds) : -1;
    hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;

    if (space >= 0)
        H5Sclose(space);
    if (ds >= 0)
        H5Dclose(ds);
    return n;
}

static int write_job_attrs(hid_t f, const vsim_train_params *p, const char *data_abs,
                           const char *save_config_abs, int64_t steps)
{
    const char *texts[VSIM_TRAIN_MAX_FAULTS];
    size_t nf = p->n_faults < VSIM_TRAIN_MAX_FAULTS ? p->n_faults : VSIM_TRAIN_MAX_FAULTS;

    for (size_t i = 0; i < nf; i++)
        texts[i] = p->faults[i].text;
    return vsim_h5_attr_set_str(f, "data", data_abs) ||
           vsim_h5_attr_set_str(f, "model", p->model ? p->model : "wide") ||
           vsim_h5_attr_set_str(f, "loss", p->loss ? p->loss : "l2") ||
           vsim_h5_attr_set_i64(f, "steps", steps) ||
           vsim_h5_attr_set_i64(f, "batch", p->batch) ||
           vsim_h5_attr_set_f64(f, "lr", p->lr) ||
           vsim_h5_attr_set_str(f, "lr_decay", p->lr_decay ? p->lr_decay : "none") ||
           vsim_h5_attr_set_i64(f, "device", p->device) ||
           vsim_h5_attr_set_i64(f, "threads", p->n_threads) ||
           vsim_h5_attr_set_i64(f, "seed", (int64_t)p->seed) ||
           vsim_h5_attr_set_f64(f, "val_frac", p->val_frac) ||
           vsim_h5_attr_set_i64(f, "eval_interval", p->eval_interval) ||
           vsim_h5_attr_set_i64(f, "save_interval", p->save_interval) ||
           vsim_h5_attr_set_str(f, "save_config", save_config_abs ? save_config_abs : "") ||
           vsim_h5_attr_set_i64(f, "checkpoint_interval", p->checkpoint_interval) ||
           vsim_h5_attr_set_i64(f, "probe", p->n_probe) ||
           vsim_h5_attr_set_i64(f, "durable", p->durable) ||
           vsim_h5_attr_set_str(f, "argv", p->argv_json ? p->argv_json : "[]") ||
           vsim_h5_attr_set_i64(f, "n_faults", (int64_t)nf) ||
           (nf && vsim_h5_attr_set_strs(f, "faults", texts, nf));
}

int vsim_ckpt_save(const char *path, const vsim_model *m, const vsim_ckpt *c,
                   const vsim_train_params *p, const char *data_abs,
                   const char *save_config_abs, int64_t steps)
{
    vsim_buf tmp = VSIM_BUF_INIT;
    uint64_t *order = NULL;
    hid_t f = -1;
    int rc = VSIM_OK, bad;

    if (vsim_buf_addf(&tmp, "%s.tmp", path) ||
        !(order = vsim_mallocarray(c->n_order ? c->n_order : 1, sizeof(uint64_t)))) {
        rc = vsim_fail(VSIM_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    for (size_t i = 0; i < c->n_order; i++)
        order[i] = (uint64_t)c->order[i];
    vsim_h5_quiet();
    f = H5Fcreate(tmp.buf, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    bad = f < 0 || vsim_h5_attr_set_str(f, "vsim_schema", CKPT_SCHEMA) ||
          vsim_h5_attr_set_str(f, "run_id", c->run_id) ||
          vsim_h5_attr_set_f64(f, "created_unix", c->created) ||
          vsim_h5_attr_set_i64(f, "next_step", c->next_step) ||
          vsim_h5_attr_set_i64(f, "global_step", c->global) ||
          vsim_h5_attr_set_i64(f, "n_evals", c->n_evals) ||
          vsim_h5_attr_set_i64(f, "data_pos", (int64_t)c->pos) ||
          vsim_h5_attr_set_i64(f, "adam_t", m->adam_t) ||
          write_job_attrs(f, p, data_abs, save_config_abs, steps) ||
          vsim_model_h5_write(f, m) ||
          put(f, "adam_m", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, m->n_params, m->adam_m) ||
          put(f, "adam_v", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, m->n_params, m->adam_v) ||
          put(f, "data_order", H5T_STD_U64LE, H5T_NATIVE_UINT64, c->n_order, order) ||
          put(f, "rng_state", H5T_STD_U64LE, H5T_NATIVE_UINT64, 4, c->rng);
    if (f >= 0 && H5Fclose(f) < 0)
        bad = 1;
    f = -1;
    if (bad) {
        rc = vsim_fail(VSIM_EIO, "%s: cannot write the checkpoint", tmp.buf);
        goto done;
    }
    rc = vsim_fs_fsync_path(tmp.buf);
    if (!rc && rename(tmp.buf, path) != 0)
        rc = vsim_fail(VSIM_EIO, "%s: cannot rename to %s", tmp.buf, path);
done:
    if (rc && tmp.buf)
        remove(tmp.buf);
    vsim_free(order);
    vsim_buf_release(&tmp);
    return rc;
}

static int open_ckpt(const char *path, hid_t *out)
{
    vsim_buf schema = VSIM_BUF_INIT;
    hid_t f;
    int rc;

    if (!vsim_fs_exists(path))
        return vsim_fail(VSIM_ENOTFOUND, "%s: no checkpoint (the run was made without "
                         "--checkpoint-interval, or was killed before its first checkpoint)",
                         path);
    vsim_h5_quiet();
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return vsim_fail(VSIM_EFORMAT, "%s: cannot open as HDF5", path);
    rc = vsim_h5_attr_get_str(f, "vsim_schema", &schema);
    if (rc || strcmp(schema.buf, CKPT_SCHEMA)) {
        H5Fclose(f);
        rc = vsim_fail(VSIM_EFORMAT, "%s: not a vsim checkpoint (schema '%s', want '%s')",
                       path, schema.buf ? schema.buf : "", CKPT_SCHEMA);
        vsim_buf_release(&schema);
        return rc;
    }
    vsim_buf_release(&schema);
    *out = f;
    return VSIM_OK;
}

static int get_i64(hid_t f, const char *path, const char *name, int64_t *out)
{
    return vsim_h5_attr_get_i64(f, name, out)
               ? vsim_fail(VSIM_EFORMAT, "%s: attribute '%s' missing or not an integer", path,
                           name)
               : VSIM_OK;
}

static int get_f64(hid_t f, const char *path, const char *name, double *out)
{
    return vsim_h5_attr_get_f64(f, name, out)
               ? vsim_fail(VSIM_EFORMAT, "%s: attribute '%s' missing or not a number", path,
                           name)
               : VSIM_OK;
}

static int get_str(hid_t f, const char *path, const char *name, char **out)
{
    vsim_buf b = VSIM_BUF_INIT;

    if (vsim_h5_attr_get_str(f, name, &b)) {
        vsim_buf_release(&b);
        return vsim_fail(VSIM_EFORMAT, "%s: attribute '%s' missing or not a string", path, name);
    }
    *out = b.buf ? vsim_buf_detach(&b, NULL) : vsim_strdup("");
    return *out ? VSIM_OK : vsim_fail(VSIM_ENOMEM, "out of memory");
}

static int load_faults(hid_t f, const char *path, vsim_train_saved *s)
{
    int64_t n = 0;
    char **texts = NULL;
    size_t n_texts = 0;
    hid_t a;
    int rc = get_i64(f, path, "n_faults", &n);

    if (rc || n == 0)
        return rc;
    if (n < 0 || n > VSIM_TRAIN_MAX_FAULTS)
        return vsim_fail(VSIM_EFORMAT, "%s: %lld faults (at most %d)", path, (long long)n,
                         VSIM_TRAIN_MAX_FAULTS);
    /* a variable-length string array attribute */
    a = H5Aopen(f, "faults", H5P_DEFAULT);
    if (a >= 0) {
        hid_t mt = H5Tcopy(H5T_C_S1);

        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5T_CSET_UTF8);
        texts = vsim_calloc((size_t)n, sizeof(char *));
        if (texts && H5Aread(a, mt, texts) >= 0)
            n_texts = (size_t)n;
        H5Tclose(mt);
        H5Aclose(a);
    }
    if (n_texts != (size_t)n)
        rc = vsim_fail(VSIM_EFORMAT, "%s: attribute 'faults' unreadable", path);
    for (size_t i = 0; !rc && i < n_texts; i++) {
        snprintf(s->fault_text[i], sizeof(s->fault_text[i]), "%s", texts[i]);
        rc = vsim_fault_parse(s->fault_text[i], &s->faults[i]);
        if (rc)
            vsim_errctx("%s", path);
        s->faults[i].text = s->fault_text[i];
    }
    for (size_t i = 0; texts && i < n_texts; i++)
        H5free_memory(texts[i]);
    vsim_free(texts);
    if (!rc) {
        s->p.faults = s->faults;
        s->p.n_faults = (size_t)n;
    }
    return rc;
}

int vsim_train_saved_load(const char *run_dir, vsim_train_saved *s)
{
    vsim_train_params dflt = VSIM_TRAIN_PARAMS_INIT;
    vsim_buf path = VSIM_BUF_INIT;
    int64_t v;
    hid_t f = -1;
    int rc;

    memset(s, 0, sizeof(*s));
    s->p = dflt;
    if (vsim_buf_addf(&path, "%s/" VSIM_CHECKPOINT_FILE, run_dir))
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    rc = open_ckpt(path.buf, &f);
    if (!rc) rc = get_str(f, path.buf, "data", &s->data);
    if (!rc) rc = get_str(f, path.buf, "model", &s->model);
    if (!rc) rc = get_str(f, path.buf, "loss", &s->loss);
    if (!rc) rc = get_str(f, path.buf, "lr_decay", &s->lr_decay);
    if (!rc) rc = get_str(f, path.buf, "save_config", &s->save_config);
    if (!rc) rc = get_str(f, path.buf, "argv", &s->argv_json);
    if (!rc) rc = get_i64(f, path.buf, "steps", &s->p.steps);
    if (!rc && !(rc = get_i64(f, path.buf, "batch", &v)))
        s->p.batch = (int)v;
    if (!rc) rc = get_f64(f, path.buf, "lr", &s->p.lr);
    if (!rc && !(rc = get_i64(f, path.buf, "device", &v)))
        s->p.device = (int)v;
    if (!rc && !(rc = get_i64(f, path.buf, "threads", &v)))
        s->p.n_threads = (int)v;
    if (!rc && !(rc = get_i64(f, path.buf, "seed", &v)))
        s->p.seed = (uint64_t)v;
    if (!rc) rc = get_f64(f, path.buf, "val_frac", &s->p.val_frac);
    if (!rc) rc = get_i64(f, path.buf, "eval_interval", &s->p.eval_interval);
    if (!rc) rc = get_i64(f, path.buf, "save_interval", &s->p.save_interval);
    if (!rc) rc = get_i64(f, path.buf, "checkpoint_interval", &s->p.checkpoint_interval);
    if (!rc && !(rc = get_i64(f, path.buf, "probe", &v)))
        s->p.n_probe = (int)v;
    if (!rc && !(rc = get_i64(f, path.buf, "durable", &v)))
        s->p.durable = (int)v;
    if (!rc) rc = get_i64(f, path.buf, "next_step", &s->next_step);
    if (!rc) rc = load_faults(f, path.buf, s);
    if (f >= 0)
        H5Fclose(f);
    if (!rc) {
        s->p.model = s->model;
        s->p.loss = s->loss;
        s->p.lr_decay = strcmp(s->lr_decay, "none") ? s->lr_decay : NULL;
        s->p.save_config = s->save_config[0] ? s->save_config : NULL;
        s->p.argv_json = s->argv_json;
        s->p.resume = 1;
    } else {
        vsim_train_saved_release(s);
    }
    vsim_buf_release(&path);
    return rc;
}

void vsim_train_saved_release(vsim_train_saved *s)
{
    vsim_free(s->data);
    vsim_free(s->model);
    vsim_free(s->loss);
    vsim_free(s->lr_decay);
    vsim_free(s->save_config);
    vsim_free(s->argv_json);
    s->data = s->model = s->loss = s->lr_decay = s->save_config = s->argv_json = NULL;
}

int vsim_ckpt_load_state(const char *path, vsim_model *m, vsim_ckpt *c, vsim_buf *run_id)
{
    uint64_t *order = NULL;
    int64_t v;
    hid_t f = -1;
    int rc = open_ckpt(path, &f);

    if (!rc) rc = vsim_h5_attr_get_str(f, "run_id", run_id)
                      ? vsim_fail(VSIM_EFORMAT, "%s: no run_id attribute", path) : VSIM_OK;
    if (!rc) rc = get_f64(f, path, "created_unix", &c->created);
    if (!rc) rc = get_i64(f, path, "next_step", &c->next_step);
    if (!rc) rc = get_i64(f, path, "global_step", &c->global);
    if (!rc) rc = get_i64(f, path, "n_evals", &c->n_evals);
    if (!rc && !(rc = get_i64(f, path, "data_pos", &v)))
        c->pos = (size_t)v;
    if (!rc) rc = get_i64(f, path, "adam_t", &m->adam_t);
    if (!rc && (c->next_step < 0 || c->global < c->next_step || c->n_evals < 0 ||
                c->pos >= (c->n_order ? c->n_order : 1)))
        rc = vsim_fail(VSIM_EFORMAT, "%s: inconsistent counters (step %lld, global %lld, "
                       "position %zu of %zu)", path, (long long)c->next_step,
                       (long long)c->global, c->pos, c->n_order);
    if (!rc) rc = vsim_model_h5_read(f, path, m);
    if (!rc) rc = get(f, path, "adam_m", H5T_NATIVE_FLOAT, m->n_params, m->adam_m);
    if (!rc) rc = get(f, path, "adam_v", H5T_NATIVE_FLOAT, m->n_params, m->adam_v);
    if (!rc) rc = get(f, path, "rng_state", H5T_NATIVE_UINT64, 4, c->rng);
    if (!rc && !(order = vsim_mallocarray(c->n_order ? c->n_order : 1, sizeof(uint64_t))))
        rc = vsim_fail(VSIM_ENOMEM, "out of memory");
    if (!rc && extent(f, "data_order") != (hssize_t)c->n_order)
        rc = vsim_fail(VSIM_EFORMAT, "%s: its data order holds %lld training examples, the "
                       "dataset's split %zu (was the dataset changed?)", path,
                       (long long)extent(f, "data_order"), c->n_order);
    if (!rc) rc = get(f, path, "data_order", H5T_NATIVE_UINT64, c->n_order, order);
    for (size_t i = 0; !rc && i < c->n_order; i++) {
        if (order[i] > SIZE_MAX)
            rc = vsim_fail(VSIM_EFORMAT, "%s: data_order[%zu] out of range", path, i);
        else
            c->order[i] = (size_t)order[i];
    }
    vsim_free(order);
    if (f >= 0)
        H5Fclose(f);
    return rc;
}
