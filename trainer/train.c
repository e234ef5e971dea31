/*
 * trainer/train.c - the training job: check every input, open the run, then
 * per step: STOP check, capture of weights and the probe batch, one Adam step
 * (CPU or CUDA), capture of losses, metrics and gradients; evaluation on the
 * held-out designs every eval_interval steps (mode eval, with embeddings);
 * END with completed, stopped or diverged. Steps of both modes share the
 * writer's global step counter (smdebug's convention); mode_step counts
 * training steps in train mode and evaluations in eval mode.
 * SPDX-License-Identifier: MIT
 */
#include "trainer/train.h"

#include <dirent.h>
#include <errno.h>
#include <hdf5.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/rng.h"
#include "core/vsim.h"
#include "trainer/checkpoint.h"
#include "trainer/data.h"
#include "trainer/device.h"
#include "trainer/model.h"
#include "trainer/train_int.h"

typedef struct job {
    const vsim_train_params *p;
    vsim_dataset *ds;
    vsim_model *m;
    vsim_cuda *gpu;
    vsim_writer *w;
    vsim_loss_spec loss;
    vsim_lr_schedule sched;
    vsim_adam adam;
    size_t *train, *val, n_train, n_val;
    size_t *order, pos;           /* shuffled training examples, next position */
    size_t *idx;                  /* the examples of the current batch */
    int gpu_images;               /* the GPU holds the images and gathers batches itself */
    int64_t params_at;            /* GPU: the host parameters are those of this step */
    char why[256];                /* GPU: why the step in hand diverged */
    float *batch, *probe;
    int n_probe;
    vsim_rng rng;
    int64_t steps, global, n_evals;
    int cb_stop;                  /* the progress callback asked to stop */
    int64_t done;                 /* training steps done (the evaluation's drift fault) */
    float *frozen;                /* freeze fault: the layer's parameters when frozen */
    int freeze_layer;
    char model_path[4096];
    char ckpt_path[4096];
    int64_t start;                /* the first step of this process (resume: the checkpoint's) */
    char data_abs[PATH_MAX];      /* the dataset and save config as absolute paths (checkpoint) */
    char cfg_abs[PATH_MAX];
    vsim_buf run_id;              /* resume: run.json's run id and creation time, kept */
    double created;
} job;

/* ---- injected faults (trainer/fault.h) ------------------------------------------------- */

static int fault_on(const job *j, vsim_fault_kind kind, int64_t s, const vsim_fault **f)
{
    for (size_t i = 0; i < j->p->n_faults; i++)
        if (j->p->faults[i].kind == kind && s >= j->p->faults[i].step) {
            if (f)
                *f = &j->p->faults[i];
            return 1;
        }
    return 0;
}

/* Check the faults against the model and apply the ones of the initialisation and data. */
static int faults_setup(job *j)
{
    vsim_model *m = j->m;

    j->freeze_layer = 0;
    if (j->p->n_faults && j->p->device != VSIM_DEVICE_CPU)
        return vsim_fail(VSIM_EINVAL, "--fault: faults are injected on the CPU only "
                         "(--device cpu)");
    for (size_t i = 0; i < j->p->n_faults; i++) {
        const vsim_fault *f = &j->p->faults[i];

        switch (f->kind) {
        case VSIM_FAULT_FREEZE:
            if (!f->layer[0])
                break;
            j->freeze_layer = -1;
            for (int k = 0; k < m->n_layers; k++)
                if (!strcmp(m->layers[k].name, f->layer))
                    j->freeze_layer = k;
            if (j->freeze_layer < 0)
                return vsim_fail(VSIM_EINVAL, "fault '%s': the model has no layer '%s' (its "
                                 "first is %s)", f->text, f->layer, m->layers[0].name);
            break;
        case VSIM_FAULT_ZERO_INIT:
            memset(m->params, 0, m->n_params * sizeof(float));
            break;
        case VSIM_FAULT_INIT_SCALE:
            for (int k = 0; k < m->n_layers; k++)
                for (size_t e = 0; e < m->layers[k].n_w; e++)
                    m->params[m->layers[k].w_off + e] *= (float)f->value;
            break;
        case VSIM_FAULT_CONSTANT_INPUT: {
            double v = f->value < 0.0 ? 0.0 : f->value > 1.0 ? 1.0 : f->value;

            memset(j->ds->images, (int)lround(v * 255.0),
                   vsim_dataset_n_examples(j->ds) * (size_t)j->ds->side * (size_t)j->ds->side);
            break;
        }
        default:
            break;
        }
    }
    return VSIM_OK;
}

/* The learning rate at step s (0 from a stall fault on). */
static double lr_at(const job *j, int64_t s)
{
    return fault_on(j, VSIM_FAULT_STALL, s, NULL) ? 0.0 : vsim_lr_at(&j->sched, j->p->lr, s);
}

/* The latent layer's weights and biases set to 0. */
static void zero_latent(vsim_model *m)
{
    const vsim_model_layer *l = &m->layers[m->latent_layer];

    memset(m->params + l->w_off, 0, l->n_w * sizeof(float));
    memset(m->params + l->b_off, 0, l->n_b * sizeof(float));
}

/* Faults that act on the parameters before step s. */
static int faults_before(job *j, int64_t s)
{
    vsim_model *m = j->m;
    const vsim_fault *f;

    for (size_t i = 0; i < j->p->n_faults; i++) {
        f = &j->p->faults[i];
        if (f->kind == VSIM_FAULT_NAN && s == f->step)    /* the output layer: no ReLU hides it */
            m->params[m->layers[m->n_layers - 1].b_off] = NAN;
        if (f->kind == VSIM_FAULT_DEAD_RELU && s == f->step)
            for (int k = 0; k < m->n_layers; k++)
                if (m->layers[k].act == VSIM_ACT_RELU)
                    for (size_t e = 0; e < m->layers[k].n_b; e++)
                        m->params[m->layers[k].b_off + e] = (float)f->value;
    }
    if (fault_on(j, VSIM_FAULT_COLLAPSE, s, NULL))
        zero_latent(m);
    if (fault_on(j, VSIM_FAULT_FREEZE, s, NULL) && !j->frozen) {
        const vsim_model_layer *l = &m->layers[j->freeze_layer];

        j->frozen = vsim_mallocarray(l->n_w + l->n_b, sizeof(float));
        if (!j->frozen)
            return vsim_fail(VSIM_ENOMEM, "out of memory");
        memcpy(j->frozen, m->params + l->w_off, l->n_w * sizeof(float));
        memcpy(j->frozen + l->n_w, m->params + l->b_off, l->n_b * sizeof(float));
    }
    return VSIM_OK;
}

/* Faults that undo the update of step s (the gradients stay as computed). */
static void faults_after(job *j, int64_t s)
{
    vsim_model *m = j->m;

    if (fault_on(j, VSIM_FAULT_COLLAPSE, s, NULL))
        zero_latent(m);
    if (j->frozen) {
        const vsim_model_layer *l = &m->layers[j->freeze_layer];

        memcpy(m->params + l->w_off, j->frozen, l->n_w * sizeof(float));
        memcpy(m->params + l->b_off, j->frozen + l->n_w, l->n_b * sizeof(float));
    }
}

/* A CPU training step whose gradients a grad-scale fault multiplies by VALUE^(s - S + 1). */
static int scaled_train_step(job *j, int64_t s, const vsim_fault *f, double lr,
                             vsim_loss_value *v)
{
    vsim_model *m = j->m;
    const float *y = vsim_model_forward(m, j->batch, j->p->batch);
    double scale = pow(f->value, (double)(s - f->step + 1));
    int rc = vsim_loss_eval(&j->loss, y, j->batch, j->p->batch, m->spec.input, m->spec.input,
                            m->d_a, v, m->n_threads);

    if (rc)
        return rc;
    if (!isfinite(v->total))
        return vsim_fail(VSIM_ENUMERIC, "loss is %s", isnan(v->total) ? "NaN" : "infinite");
    vsim_model_backward(m, j->batch, j->p->batch, m->d_a);
    for (size_t e = 0; e < m->n_params; e++)
        m->grads[e] = (float)((double)m->grads[e] * scale);
    return vsim_model_adam_step(m, &j->adam, lr);
}

/* Everything that can be checked before the run directory is touched. */
static int check_inputs(job *j, const char *data_path)
{
    const vsim_train_params *p = j->p;
    vsim_model_spec spec;
    int rc;

    if (p->batch < 1)
        return vsim_fail(VSIM_EINVAL, "batch size %d < 1", p->batch);
    if (p->steps < 0 || (p->steps == 0 && !(p->epochs > 0.0)))
        return vsim_fail(VSIM_EINVAL, "give a positive number of steps or epochs");
    if (!(p->val_frac >= 0.0 && p->val_frac < 1.0))
        return vsim_fail(VSIM_EINVAL, "validation fraction %g outside [0, 1)", p->val_frac);
    if ((rc = vsim_model_spec_parse(p->model ? p->model : "wide", &spec)) ||
        (rc = vsim_loss_parse(p->loss ? p->loss : "l2", &j->loss)) ||
        (rc = vsim_lr_parse(p->lr_decay, &j->sched)) ||
        (rc = vsim_device_check((vsim_device)p->device)))
        return rc;
    if (p->save_config && (rc = vsim_train_save_config(p->save_config, NULL)))
        return rc;
    if ((rc = vsim_dataset_load(data_path, &j->ds)))
        return rc;
    if (j->ds->side != spec.input)
        return vsim_fail(VSIM_EINVAL, "%s: images are %dx%d but model '%s' takes %dx%d",
                         data_path, j->ds->side, j->ds->side, p->model ? p->model : "wide",
                         spec.input, spec.input);
    if (j->loss.w_ssim > 0.0 && spec.input < 11)
        return vsim_fail(VSIM_EINVAL, "the SSIM loss needs images of at least 11x11");
    rc = vsim_dataset_split(j->ds, p->val_frac, p->seed, &j->train, &j->n_train, &j->val,
                            &j->n_val);
    if (rc)
        return rc;
    if (j->n_train == 0)
        return vsim_fail(VSIM_EINVAL, "%s: no training examples", data_path);
    j->steps = p->steps > 0 ? p->steps
                            : (int64_t)ceil(p->epochs * (double)j->n_train / (double)p->batch);
    rc = vsim_model_create(&spec, p->batch, p->seed, p->n_threads, &j->m);
    return rc ? rc : faults_setup(j);
}

static int add_json_kv(vsim_buf *b, const char *key, const char *str, double num, int last)
{
    int rc = vsim_buf_add_json_str(b, key);

    if (!rc)
        rc = vsim_buf_adds(b, ": ");
    if (!rc)
        rc = str ? vsim_buf_add_json_str(b, str) : vsim_buf_add_json_num(b, num);
    if (!rc)
        rc = vsim_buf_adds(b, last ? "}" : ", ");
    return rc;
}

static int hyper_json(const job *j, const char *data_path, vsim_buf *b)
{
    const vsim_train_params *p = j->p;
    int rc = vsim_buf_adds(b, "{");

    if (!rc) rc = add_json_kv(b, "data", data_path, 0, 0);
    if (!rc) rc = add_json_kv(b, "model", p->model ? p->model : "wide", 0, 0);
    if (!rc) rc = add_json_kv(b, "loss", p->loss ? p->loss : "l2", 0, 0);
    if (!rc) rc = add_json_kv(b, "steps", NULL, (double)j->steps, 0);
    if (!rc) rc = add_json_kv(b, "batch", NULL, p->batch, 0);
    if (!rc) rc = add_json_kv(b, "lr", NULL, p->lr, 0);
    if (!rc) rc = add_json_kv(b, "lr_decay", p->lr_decay ? p->lr_decay : "none", 0, 0);
    if (!rc) rc = add_json_kv(b, "device", p->device ? "cuda" : "cpu", 0, 0);
    if (!rc) rc = add_json_kv(b, "threads", NULL, p->n_threads, 0);
    if (!rc) rc = add_json_kv(b, "seed", NULL, (double)p->seed, 0);
    if (!rc) rc = add_json_kv(b, "val_frac", NULL, p->val_frac, 0);
    if (!rc) rc = add_json_kv(b, "n_train", NULL, (double)j->n_train, 0);
    if (!rc) rc = add_json_kv(b, "n_val", NULL, (double)j->n_val, 0);
    if (!rc && p->argv_json)
        rc = vsim_buf_addf(b, "\"argv\": %s, ", p->argv_json);
    if (!rc && p->n_faults) {
        rc = vsim_buf_adds(b, "\"faults\": [");
        for (size_t i = 0; !rc && i < p->n_faults; i++) {
            if (i)
                rc = vsim_buf_adds(b, ", ");
            if (!rc)
                rc = vsim_buf_add_json_str(b, p->faults[i].text);
        }
        if (!rc)
            rc = vsim_buf_adds(b, "], ");
    }
    if (!rc && j->ds && j->ds->label_names_json)
        rc = vsim_buf_addf(b, "\"label_names\": %s, ", j->ds->label_names_json);
    if (!rc) rc = add_json_kv(b, "eval_interval", NULL, (double)p->eval_interval, 1);
    return rc;
}

static int model_json(const vsim_model *m, vsim_buf *b)
{
    static const char *kinds[] = { "conv", "fc", "deconv" };
    static const char *acts[] = { "none", "relu", "sigmoid" };
    vsim_buf spec = VSIM_BUF_INIT;
    int rc = vsim_model_spec_format(&m->spec, &spec);

    if (!rc)
        rc = vsim_buf_addf(b, "{\"spec\": \"%s\", \"n_params\": %zu, \"latent\": %d, "
                           "\"layers\": [", spec.buf, m->n_params, vsim_model_latent_dim(m));
    for (int i = 0; !rc && i < m->n_layers; i++) {
        const vsim_model_layer *l = &m->layers[i];

        rc = vsim_buf_addf(b, "%s{\"name\": \"%s\", \"kind\": \"%s\", \"act\": \"%s\", "
                           "\"in\": [%d, %d, %d], \"out\": [%d, %d, %d], \"params\": %zu}",
                           i ? ", " : "", l->name, kinds[l->kind], acts[l->act], l->n_in,
                           l->in_side, l->in_side, l->n_out, l->out_side, l->out_side,
                           l->n_w + l->n_b);
    }
    if (!rc)
        rc = vsim_buf_adds(b, "]}");
    vsim_buf_release(&spec);
    return rc;
}

static int open_run(job *j, const char *data_path, const char *run_dir)
{
    vsim_writer_params wp = VSIM_WRITER_PARAMS_INIT;
    vsim_buf hyper = VSIM_BUF_INIT, model = VSIM_BUF_INIT;
    int rc = hyper_json(j, data_path, &hyper);

    if (!rc)
        rc = model_json(j->m, &model);
    if (rc) {
        rc = vsim_fail(VSIM_ENOMEM, "out of memory");
        goto done;
    }
    wp.hyperparams_json = hyper.buf;
    wp.model_json = model.buf;
    wp.durable = j->p->durable;
    if (j->p->resume) {
        wp.allow_existing = 1;
        wp.run_id = j->run_id.buf;
        wp.created = j->created;
    }
    rc = vsim_writer_open(run_dir, &wp, &j->w);
    if (!rc)
        rc = vsim_capture_defaults(j->w, j->p->save_interval);
    if (!rc && j->p->save_config)
        rc = vsim_train_save_config(j->p->save_config, j->w);
    if (!rc && (snprintf(j->model_path, sizeof(j->model_path), "%s/model.h5", run_dir) >=
                    (int)sizeof(j->model_path) ||
                snprintf(j->ckpt_path, sizeof(j->ckpt_path), "%s/" VSIM_CHECKPOINT_FILE,
                         run_dir) >= (int)sizeof(j->ckpt_path)))
        rc = vsim_fail(VSIM_EINVAL, "%s: path too long", run_dir);
done:
    vsim_buf_release(&hyper);
    vsim_buf_release(&model);
    return rc;
}

/* The next b examples of the shuffled training order into j->idx (a new
 * shuffle at the start of each epoch). */
static void next_indices(job *j, int b)
{
    for (int i = 0; i < b; i++) {
        if (j->pos == 0)
            for (size_t k = j->n_train - 1; k > 0; k--) {
                size_t r = (size_t)vsim_rng_below(&j->rng, k + 1), t = j->order[k];

                j->order[k] = j->order[r];
                j->order[r] = t;
            }
        j->idx[i] = j->order[j->pos];
        j->pos = (j->pos + 1) % j->n_train;
    }
}

/* Bring the host model up to date with the GPU (no-op on the CPU). */
static int sync_host(job *j)
{
    return j->gpu ? vsim_cuda_download(j->gpu, j->m, VSIM_CUDA_PARAMS) : VSIM_OK;
}

static int save_losses(job *j, const vsim_loss_value *v)
{
    int rc = vsim_capture_scalar(j->w, "loss/total", VSIM_COLL_LOSSES, v->total);

    if (!rc && j->loss.w_l2 > 0.0)
        rc = vsim_capture_scalar(j->w, "loss/l2", VSIM_COLL_LOSSES, v->mse);
    if (!rc && j->loss.w_ssim > 0.0)
        rc = vsim_capture_scalar(j->w, "loss/ssim", VSIM_COLL_LOSSES, 1.0 - v->ssim);
    if (!rc)
        rc = vsim_capture_scalar(j->w, "metrics/ssim", VSIM_COLL_METRICS, v->ssim);
    if (!rc)
        rc = vsim_capture_scalar(j->w, "metrics/psnr", VSIM_COLL_METRICS, v->psnr);
    return rc;
}

/*
 * Latent vectors of the whole validation set, with labels, design ids and
 * views. known: the latents already computed (by the CPU evaluation's forward
 * passes), or NULL to compute them here on the host model (after the GPU).
 */
static int save_embeddings(job *j, const float *known)
{
    const int cap = j->m->capacity, dim = vsim_model_latent_dim(j->m);
    float *lat = known ? NULL : vsim_mallocarray(j->n_val * (size_t)dim, sizeof(float));
    int32_t *labels = vsim_mallocarray(j->n_val, sizeof(int32_t));
    int64_t *ids = vsim_mallocarray(j->n_val, sizeof(int64_t));
    size_t shape[2] = { j->n_val, (size_t)dim };
    vsim_tensor t;
    int rc;

    if ((!known && !lat) || !labels || !ids) {
        rc = vsim_fail(VSIM_ENOMEM, "embeddings: out of memory");
        goto done;
    }
    for (size_t i = 0; !known && i < j->n_val; i += (size_t)cap) {
        int b = j->n_val - i < (size_t)cap ? (int)(j->n_val - i) : cap;

        vsim_dataset_batch(j->ds, j->val + i, (size_t)b, j->batch);
        vsim_model_forward(j->m, j->batch, b);
        vsim_model_latent(j->m, b, lat + i * (size_t)dim);
    }
    for (size_t i = 0; i < j->n_val; i++) {
        size_t d = j->val[i] / (size_t)j->ds->n_views;

        labels[i] = j->ds->labels[d];
        ids[i] = j->ds->design_id[d];
    }
    rc = vsim_capture_f32(j->w, "embeddings/latent", VSIM_COLL_EMBEDDINGS, known ? known : lat,
                          2, shape);
    vsim_tensor_init(&t, VSIM_I32, 1, shape, labels);
    if (!rc)
        rc = vsim_writer_save(j->w, "embeddings/labels", VSIM_COLL_EMBEDDINGS, &t);
    vsim_tensor_init(&t, VSIM_I64, 1, shape, ids);
    if (!rc)
        rc = vsim_writer_save(j->w, "embeddings/design_id", VSIM_COLL_EMBEDDINGS, &t);
done:
    vsim_free(lat);
    vsim_free(labels);
    vsim_free(ids);
    return rc;
}

/* An eval-drift fault: the validation images brighten by VALUE per step since it began. */
static void eval_drift(job *j, int b)
{
    const vsim_fault *f;
    size_t n = (size_t)b * vsim_model_image_elems(j->m);
    float shift;

    if (!fault_on(j, VSIM_FAULT_EVAL_DRIFT, j->done, &f))
        return;
    shift = (float)(f->value * (double)(j->done - f->step));
    for (size_t e = 0; e < n; e++)
        j->batch[e] = j->batch[e] + shift > 1.0f ? 1.0f : j->batch[e] + shift;
}

/* One evaluation over the validation designs: a step of mode eval. */
static int evaluate(job *j, double *loss_out)
{
    const int cap = j->m->capacity, dim = vsim_model_latent_dim(j->m);
    vsim_loss_value sum = { 0, 0, 0, 0 };
    float *lat = NULL;      /* CPU: the latents, taken from the evaluation's own forward passes */
    int rc, want_emb;

    *loss_out = NAN;
    if (j->n_val == 0)
        return VSIM_OK;
    rc = vsim_writer_begin_step(j->w, j->global++, VSIM_MODE_EVAL, j->n_evals++);
    want_emb = !rc && vsim_writer_wants(j->w, "embeddings/latent", VSIM_COLL_EMBEDDINGS);
    if (want_emb && !j->gpu && !(lat = vsim_mallocarray(j->n_val * (size_t)dim, sizeof(float))))
        rc = vsim_fail(VSIM_ENOMEM, "embeddings: out of memory");
    for (size_t i = 0; !rc && i < j->n_val; i += (size_t)cap) {
        int b = j->n_val - i < (size_t)cap ? (int)(j->n_val - i) : cap;
        vsim_loss_value v;

        vsim_dataset_batch(j->ds, j->val + i, (size_t)b, j->batch);
        eval_drift(j, b);
        rc = j->gpu ? vsim_cuda_eval_batch(j->gpu, j->batch, b, &j->loss, &v)
                    : vsim_model_eval_batch(j->m, j->batch, b, &j->loss, &v);
        if (lat)
            vsim_model_latent(j->m, b, lat + i * (size_t)dim);
        sum.total += v.total * b;
        sum.mse += v.mse * b;
        sum.ssim += v.ssim * b;
    }
    if (rc) {
        vsim_free(lat);
        return rc;
    }
    sum.total /= (double)j->n_val;
    sum.mse /= (double)j->n_val;
    sum.ssim /= (double)j->n_val;
    sum.psnr = sum.mse > 0.0 ? 10.0 * log10(1.0 / sum.mse) : (double)INFINITY;
    *loss_out = sum.total;
    rc = save_losses(j, &sum);
    if (!rc && want_emb && !(rc = sync_host(j)))
        rc = save_embeddings(j, lat);
    vsim_free(lat);
    if (!rc)
        rc = vsim_writer_end_step(j->w);
    return rc;
}

/* The weights, biases and probe activations of the current step, if due. */
static int capture_params(job *j)
{
    int rc = vsim_capture_params(j->w, j->m);

    return rc ? rc : vsim_capture_probe(j->w, j->m, j->probe, j->n_probe);
}

/*
 * The rest of step s's shard once the step is done: losses, learning rate,
 * gradients and update ratios (already on the host), then the shard closed;
 * a diverged step (why says how) ends the run with VSIM_ENUMERIC.
 */
static int end_shard(job *j, int64_t s, const vsim_loss_value *v, double lr, int diverged,
                     const char *why)
{
    int rc = save_losses(j, v);

    if (!rc)
        rc = vsim_capture_scalar(j->w, "metrics/lr", VSIM_COLL_METRICS, lr);
    if (!rc && !diverged)
        rc = vsim_capture_grads(j->w, j->m);
    if (!rc)
        rc = vsim_writer_end_step(j->w);
    if (!rc && diverged)
        rc = vsim_fail(VSIM_ENUMERIC, "step %lld: %s: training diverged (END says diverged; "
                       "the shards so far are kept)", (long long)s, why);
    return rc;
}

/* One training step with its capture. *diverged is set for a NaN/Inf loss or lr. */
static int train_step(job *j, int64_t s, vsim_loss_value *v, int *diverged)
{
    const double lr = lr_at(j, s);
    const vsim_fault *gs = NULL;
    int rc = vsim_writer_begin_step(j->w, j->global++, VSIM_MODE_TRAIN, s), step_rc;
    char why[256];

    /* the parameters come back from a GPU only when weights, biases or the
     * probe are due, not at every step that saves losses or metrics */
    if (!rc && vsim_capture_wants_params(j->w, j->m, VSIM_MODE_TRAIN, s) &&
        !(rc = sync_host(j)))
        rc = capture_params(j);
    if (!rc)
        rc = faults_before(j, s);
    if (rc)
        return rc;
    next_indices(j, j->p->batch);
    vsim_dataset_batch(j->ds, j->idx, (size_t)j->p->batch, j->batch);
    if (!j->gpu && fault_on(j, VSIM_FAULT_GRAD_SCALE, s, &gs))
        step_rc = scaled_train_step(j, s, gs, lr, v);
    else if (j->gpu)
        step_rc = vsim_cuda_train_step(j->gpu, j->batch, j->p->batch, &j->loss, &j->adam, lr,
                                       v);
    else
        step_rc = vsim_model_train_step(j->m, j->batch, j->p->batch, &j->loss, &j->adam, lr,
                                        v);
    if (step_rc && step_rc != VSIM_ENUMERIC)
        return step_rc;
    *diverged = step_rc == VSIM_ENUMERIC;
    snprintf(why, sizeof(why), "%s", *diverged ? vsim_errmsg() : "");
    if (!*diverged)
        faults_after(j, s);
    if (!*diverged && j->gpu &&
        (rc = vsim_cuda_download(j->gpu, j->m, VSIM_CUDA_STATS |
                                 (vsim_capture_wants_grads(j->w, j->m, VSIM_MODE_TRAIN, s)
                                      ? VSIM_CUDA_GRADS : 0))))
        return rc;
    return end_shard(j, s, v, lr, *diverged, why);
}

/*
 * The pipelined GPU step (the images on the GPU): gpu_launch queues step s,
 * gpu_finish waits for it, gpu_shard writes its shard, and run_loop queues
 * step s + 1 before writing step s's shard, so that the GPU computes while
 * the shard is written. What the shard needs from the GPU comes back first:
 * the parameters before the step is queued, the gradients when it is done.
 */
static int gpu_launch(job *j, int64_t s)
{
    int rc;

    if (vsim_capture_wants_params(j->w, j->m, VSIM_MODE_TRAIN, s)) {
        if ((rc = sync_host(j)) != VSIM_OK)
            return rc;
        j->params_at = s;
    }
    next_indices(j, j->p->batch);
    return vsim_cuda_train_launch_idx(j->gpu, j->idx, j->p->batch, &j->loss, &j->adam,
                                      lr_at(j, s));
}

static int gpu_finish(job *j, int64_t s, vsim_loss_value *v, int *diverged)
{
    int rc = vsim_cuda_train_finish(j->gpu, v);

    if (rc && rc != VSIM_ENUMERIC)
        return rc;
    *diverged = rc == VSIM_ENUMERIC;
    snprintf(j->why, sizeof(j->why), "%s", *diverged ? vsim_errmsg() : "");
    if (*diverged)
        return VSIM_OK;
    return vsim_cuda_download(j->gpu, j->m, VSIM_CUDA_STATS |
                              (vsim_capture_wants_grads(j->w, j->m, VSIM_MODE_TRAIN, s)
                                   ? VSIM_CUDA_GRADS : 0));
}

static int gpu_shard(job *j, int64_t s, const vsim_loss_value *v, int diverged)
{
    int rc = vsim_writer_begin_step(j->w, j->global++, VSIM_MODE_TRAIN, s);

    if (!rc && j->params_at == s)
        rc = capture_params(j);
    return rc ? rc : end_shard(j, s, v, lr_at(j, s), diverged, j->why);
}

/* 1 if the loop evaluates or checkpoints after step s (the GPU must be idle then) */
static int pause_after(const job *j, int64_t s)
{
    const vsim_train_params *p = j->p;

    return (p->eval_interval > 0 && (s + 1) % p->eval_interval == 0 && s + 1 < j->steps) ||
           (p->checkpoint_interval > 0 && (s + 1) % p->checkpoint_interval == 0);
}

/*
 * model.h5 and checkpoint.h5 at a step boundary: next is the first step not
 * yet trained (the order, position and RNG are then those its batch starts from).
 */
static int checkpoint(job *j, int64_t next)
{
    vsim_ckpt c = { .next_step = next, .global = j->global, .n_evals = j->n_evals,
                    .pos = j->pos, .n_order = j->n_train, .order = j->order,
                    .run_id = vsim_writer_run_id(j->w), .created = vsim_writer_created(j->w) };
    int rc = j->gpu ? vsim_cuda_download(j->gpu, j->m, VSIM_CUDA_PARAMS | VSIM_CUDA_ADAM)
                    : VSIM_OK;

    memcpy(c.rng, j->rng.s, sizeof(c.rng));
    if (!rc)
        rc = vsim_model_save(j->m, j->model_path);
    if (!rc)
        rc = vsim_ckpt_save(j->ckpt_path, j->m, &c, j->p, j->data_abs,
                            j->cfg_abs[0] ? j->cfg_abs : NULL, j->steps);
    return rc;
}

static void report(job *j, int64_t done, const vsim_loss_value *v, double t0)
{
    int64_t here = done - j->start;   /* steps this process trained */
    double el = vsim_clock_s() - t0, ips = el > 0 ? (double)here * j->p->batch / el : 0.0;
    double eta = here > 0 ? el / (double)here * (double)(j->steps - done) : 0.0;
    char msg[160];

    if (!j->p->progress)
        return;
    snprintf(msg, sizeof(msg), "step %lld/%lld loss %.6g images/s %.1f eta %.0fs",
             (long long)done, (long long)j->steps, v->total, ips, eta);
    if (j->p->progress(j->p->progress_ctx, (size_t)done, (size_t)j->steps, msg))
        j->cb_stop = 1;
}

/* The probe batch: the first validation examples (training ones if none). */
static int make_probe(job *j)
{
    const size_t *src = j->n_val ? j->val : j->train;
    size_t n = j->n_val ? j->n_val : j->n_train;

    j->n_probe = (int)((size_t)j->p->n_probe < n ? (size_t)j->p->n_probe : n);
    if (j->n_probe > j->m->capacity)
        j->n_probe = j->m->capacity;
    if (j->n_probe < 1)
        j->n_probe = 1;
    j->probe = vsim_mallocarray((size_t)j->n_probe * vsim_model_image_elems(j->m),
                                sizeof(float));
    j->batch = vsim_mallocarray((size_t)j->m->capacity * vsim_model_image_elems(j->m),
                                sizeof(float));
    j->order = vsim_mallocarray(j->n_train, sizeof(size_t));
    j->idx = vsim_mallocarray((size_t)j->m->capacity, sizeof(size_t));
    if (!j->probe || !j->batch || !j->order || !j->idx)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    memcpy(j->order, j->train, j->n_train * sizeof(size_t));
    vsim_dataset_batch(j->ds, src, (size_t)j->n_probe, j->probe);
    vsim_rng_seed(&j->rng, j->p->seed, 2);
    return VSIM_OK;
}

/* The loop; status tells how it ended. */
static int run_loop(job *j, vsim_train_result *res)
{
    const vsim_train_params *p = j->p;
    vsim_loss_value v = { NAN, NAN, NAN, NAN };
    double t0 = vsim_clock_s(), t1 = t0, eval_loss = NAN, end;
    int64_t s = j->start, here;
    int rc = VSIM_OK, launch_rc = VSIM_OK, diverged = 0, stopped = 0, queued = 0;

    j->params_at = -1;
    /* a resumed run whose last process stopped before the evaluation due after its
     * last step (a progress callback's stop) does it first */
    if (p->eval_interval > 0 && s > 0 && s % p->eval_interval == 0 && s < j->steps &&
        j->n_evals < s / p->eval_interval)
        rc = evaluate(j, &eval_loss);
    /* a fresh run saves its starting point, so that it can be resumed from step 0 */
    if (!rc && s == 0 && p->checkpoint_interval > 0)
        rc = checkpoint(j, 0);
    for (; !rc && s < j->steps; s++) {
        if (!queued && vsim_writer_stop_requested(j->w)) {
            stopped = 1;
            break;
        }
        if (j->gpu_images) {
            rc = queued ? VSIM_OK : gpu_launch(j, s);
            queued = 0;
            if (!rc)
                rc = gpu_finish(j, s, &v, &diverged);
            if (!rc && !diverged) {
                if (s == j->start)
                    t1 = vsim_clock_s();
                report(j, s + 1, &v, t0);
                /* queue the next step now unless something must happen between the
                 * two: its parameters to save (they would overwrite this step's
                 * on the host), an evaluation, a checkpoint, a stop */
                if (s + 1 < j->steps && !j->cb_stop && !pause_after(j, s) &&
                    !vsim_capture_wants_params(j->w, j->m, VSIM_MODE_TRAIN, s + 1) &&
                    !vsim_writer_stop_requested(j->w)) {
                    launch_rc = gpu_launch(j, s + 1);
                    queued = launch_rc == VSIM_OK;
                }
            }
            /* step s is done: its shard is written even when queueing s + 1 failed */
            if (!rc)
                rc = gpu_shard(j, s, &v, diverged);
            if (!rc && launch_rc) {
                rc = launch_rc;
                s++;            /* the loop's count of finished steps */
            }
            if (rc)
                break;
        } else {
            rc = train_step(j, s, &v, &diverged);
            if (rc)
                break;
            if (s == j->start)
                t1 = vsim_clock_s();
            report(j, s + 1, &v, t0);
        }
        j->done = s + 1;
        if (j->cb_stop) {
            stopped = 1;
            s++;
            break;
        }
        if (p->eval_interval > 0 && (s + 1) % p->eval_interval == 0 && s + 1 < j->steps &&
            (rc = evaluate(j, &eval_loss)))
            break;
        if (p->checkpoint_interval > 0 && (s + 1) % p->checkpoint_interval == 0 &&
            (rc = checkpoint(j, s + 1)))
            break;
    }
    end = vsim_clock_s();
    res->seconds = end - t0;
    res->steps = diverged ? s + 1 : s;
    res->last_loss = v.total;
    here = res->steps - j->start;   /* the steps this process trained */
    res->images_per_s = res->seconds > 0 ? (double)here * p->batch / res->seconds : 0;
    res->images_per_s_steady = here > 1 && end > t1
                                   ? (double)(here - 1) * p->batch / (end - t1)
                                   : res->images_per_s;
    /* a stopped run skips the final evaluation: STOP asks for a prompt exit */
    if (!rc && !diverged && (stopped || (rc = evaluate(j, &eval_loss)) == VSIM_OK))
        rc = checkpoint(j, s);
    res->last_eval_loss = eval_loss;
    snprintf(res->status, sizeof(res->status), "%s",
             diverged ? "diverged" : stopped ? "stopped" : "completed");
    return rc;
}

/* ---- resuming a run from its checkpoint ------------------------------------------------ */

/* The status in RUN/END ("" if there is no END) into status[n]. */
static void end_status(const char *run_dir, char *status, size_t n)
{
    vsim_buf path = VSIM_BUF_INIT, text = VSIM_BUF_INIT;
    const char *k;

    status[0] = '\0';
    if (!vsim_buf_addf(&path, "%s/" VSIM_RUN_END, run_dir) && vsim_fs_exists(path.buf) &&
        !vsim_fs_read_file(path.buf, &text) && (k = strstr(text.buf, "\"status\"")) &&
        (k = strchr(k + 8, '"')))
        snprintf(status, n, "%.*s", (int)strcspn(k + 1, "\""), k + 1);
    vsim_buf_release(&path);
    vsim_buf_release(&text);
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return x < y ? -1 : x > y;
}

/* The checkpoint's state into the job; its data order must be a permutation of
 * this split's training examples (the same dataset, seed and split). */
static int resume_state(job *j)
{
    vsim_ckpt c = { .n_order = j->n_train, .order = j->order };
    size_t *a = vsim_mallocarray(j->n_train, sizeof(size_t));
    size_t *b = vsim_mallocarray(j->n_train, sizeof(size_t));
    int rc = a && b ? vsim_ckpt_load_state(j->ckpt_path, j->m, &c, &j->run_id)
                    : vsim_fail(VSIM_ENOMEM, "out of memory");

    if (!rc) {
        memcpy(a, j->order, j->n_train * sizeof(size_t));
        memcpy(b, j->train, j->n_train * sizeof(size_t));
        qsort(a, j->n_train, sizeof(size_t), cmp_size);
        qsort(b, j->n_train, sizeof(size_t), cmp_size);
        if (memcmp(a, b, j->n_train * sizeof(size_t)))
            rc = vsim_fail(VSIM_EFORMAT, "%s: its data order is not this dataset's training "
                           "split (was the dataset changed?)", j->ckpt_path);
    }
    if (!rc && c.next_step > j->steps)
        rc = vsim_fail(VSIM_EFORMAT, "%s: step %lld is past the run's %lld steps",
                       j->ckpt_path, (long long)c.next_step, (long long)j->steps);
    if (!rc) {
        j->start = j->done = c.next_step;
        j->global = c.global;
        j->n_evals = c.n_evals;
        j->pos = c.pos;
        j->created = c.created;
        memcpy(j->rng.s, c.rng, sizeof(c.rng));
    }
    vsim_free(a);
    vsim_free(b);
    return rc;
}

/* Remove what the interrupted process wrote after its checkpoint: shards of global
 * steps from `from` on, temporary files, END and STOP. */
static int clean_after(const char *run_dir, int64_t from)
{
    vsim_buf path = VSIM_BUF_INIT;
    const char *names[] = { VSIM_RUN_END, "STOP" };
    struct dirent *e;
    DIR *d;
    int rc = vsim_buf_addf(&path, "%s/" VSIM_RUN_SHARDS "/w0", run_dir);

    if (!rc && (d = opendir(path.buf)) != NULL) {
        size_t base = path.len;

        while (!rc && (e = readdir(d)) != NULL) {
            const char *n = e->d_name;
            size_t len = strlen(n);
            int64_t step;
            int stale = len > 4 && !strcmp(n + len - 4, ".tmp");

            if (!stale && vsim_run_parse_shard_name(n, &step))
                stale = step >= from;
            if (!stale)
                continue;
            path.len = base;
            path.buf[base] = '\0';
            rc = vsim_buf_addf(&path, "/%s", n);
            if (!rc && unlink(path.buf) != 0)
                rc = vsim_fail(VSIM_EIO, "%s: cannot remove: %s", path.buf, strerror(errno));
        }
        closedir(d);
    }
    for (size_t i = 0; !rc && i < VSIM_ARRAY_LEN(names); i++) {
        vsim_buf_reset(&path);
        rc = vsim_buf_addf(&path, "%s/%s", run_dir, names[i]);
        if (!rc && unlink(path.buf) != 0 && errno != ENOENT)
            rc = vsim_fail(VSIM_EIO, "%s: cannot remove: %s", path.buf, strerror(errno));
    }
    vsim_buf_release(&path);
    return rc;
}

static void job_release(job *j)
{
    vsim_cuda_destroy(j->gpu);
    vsim_model_destroy(j->m);
    vsim_dataset_destroy(j->ds);
    vsim_free(j->train);
    vsim_free(j->val);
    vsim_free(j->order);
    vsim_free(j->idx);
    vsim_free(j->batch);
    vsim_free(j->probe);
    vsim_free(j->frozen);
    vsim_buf_release(&j->run_id);
}

int vsim_train_run(const char *data_path, const char *run_dir, const vsim_train_params *p,
                   vsim_train_result *out)
{
    job j;
    vsim_adam adam = VSIM_ADAM_INIT;
    int64_t last;
    int rc, close_rc;
    char why[512];

    memset(&j, 0, sizeof(j));
    memset(out, 0, sizeof(*out));
    out->last_loss = out->last_eval_loss = NAN;
    j.p = p;
    j.adam = adam;
    if (p->resume) {
        end_status(run_dir, why, sizeof(why));
        if (!strcmp(why, "completed")) {
            snprintf(out->status, sizeof(out->status), "completed");
            return VSIM_OK;
        }
        if (!strcmp(why, "diverged"))
            return vsim_fail(VSIM_EINVAL, "%s: the run diverged; there is nothing sound to "
                             "resume", run_dir);
    }
    rc = check_inputs(&j, data_path);
    if (!rc && !realpath(data_path, j.data_abs))
        rc = vsim_fail(VSIM_EIO, "%s: %s", data_path, strerror(errno));
    if (!rc && p->save_config && !realpath(p->save_config, j.cfg_abs))
        rc = vsim_fail(VSIM_EIO, "%s: %s", p->save_config, strerror(errno));
    if (!rc)
        rc = make_probe(&j);
    if (!rc && snprintf(j.ckpt_path, sizeof(j.ckpt_path), "%s/" VSIM_CHECKPOINT_FILE,
                        run_dir) >= (int)sizeof(j.ckpt_path))
        rc = vsim_fail(VSIM_EINVAL, "%s: path too long", run_dir);
    if (!rc && p->resume)
        rc = resume_state(&j);
    if (!rc && p->device == VSIM_DEVICE_CUDA)
        rc = vsim_cuda_create(j.m, &j.gpu);
    if (!rc && j.gpu) {
        /* batches are gathered on the GPU when the images fit there */
        int r = vsim_cuda_set_images(j.gpu, j.ds->images, vsim_dataset_n_examples(j.ds));

        j.gpu_images = r == VSIM_OK;
        if (r != VSIM_OK && r != VSIM_EUNSUP)
            rc = r;
    }
    if (!rc)
        rc = open_run(&j, data_path, run_dir);
    if (!rc && p->resume)
        rc = clean_after(run_dir, j.global);
    if (rc) {
        vsim_writer_destroy(j.w);
        job_release(&j);
        return rc;
    }
    out->n_params = j.m->n_params;
    rc = run_loop(&j, out);
    last = j.global > 0 ? j.global - 1 : 0;     /* the writer's step of the last shard */
    /* END records how far the run got; an I/O or device error ends it as failed,
     * and the run's own error (kept across the close) is the one reported */
    snprintf(why, sizeof(why), "%s", vsim_errmsg());
    close_rc = vsim_writer_close(j.w, rc && rc != VSIM_ENUMERIC ? "failed" : out->status, last);
    if (rc)
        vsim_fail(rc, "%s", why);
    else
        rc = close_rc;
    job_release(&j);
    return rc;
}

/* Create and write one dataset; 1 on success. */
static int put(hid_t f, const char *name, hid_t space, hid_t ftype, hid_t mtype, const void *data)
{
    hid_t d = H5Dcreate2(f, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int ok = d >= 0 && H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0;

    if (d >= 0)
        H5Dclose(d);
    return ok;
}

/* Write the embeddings file of vsim_train_embed into an open HDF5 file. */
static int write_embed_file(hid_t f, const float *lat, size_t n, int dim,
                            const vsim_dataset *ds, const char *spec)
{
    int32_t *labels = vsim_mallocarray(n, sizeof(int32_t)), *views;
    int64_t *ids = vsim_mallocarray(n, sizeof(int64_t));
    hsize_t d2[2] = { n, (hsize_t)dim }, d1 = n;
    hid_t s2 = H5Screate_simple(2, d2, NULL), s1 = H5Screate_simple(1, &d1, NULL);
    hid_t sa = H5Screate(H5S_SCALAR), ts = H5Tcopy(H5T_C_S1), a;
    int ok = 1;

    views = vsim_mallocarray(n, sizeof(int32_t));
    if (!labels || !ids || !views) {
        ok = 0;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        labels[i] = ds->labels[i / (size_t)ds->n_views];
        ids[i] = ds->design_id[i / (size_t)ds->n_views];
        views[i] = (int32_t)(i % (size_t)ds->n_views);
    }
    ok = put(f, "latent", s2, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, lat) &&
         put(f, "labels", s1, H5T_STD_I32LE, H5T_NATIVE_INT32, labels) &&
         put(f, "design_id", s1, H5T_STD_I64LE, H5T_NATIVE_INT64, ids) &&
         put(f, "view", s1, H5T_STD_I32LE, H5T_NATIVE_INT32, views);
    H5Tset_size(ts, strlen(spec) + 1);
    a = H5Acreate2(f, "model_spec", ts, sa, H5P_DEFAULT, H5P_DEFAULT);
    ok = ok && a >= 0 && H5Awrite(a, ts, spec) >= 0;
    if (a >= 0)
        H5Aclose(a);
done:
    H5Tclose(ts);
    H5Sclose(sa);
    H5Sclose(s1);
    H5Sclose(s2);
    vsim_free(labels);
    vsim_free(ids);
    vsim_free(views);
    return ok ? VSIM_OK : VSIM_EIO;
}

int vsim_train_embed(const char *model_path, const char *data_path, const char *out_path,
                     int batch, int n_threads)
{
    vsim_model *m = NULL;
    vsim_dataset *ds = NULL;
    vsim_buf tmp = VSIM_BUF_INIT, spec = VSIM_BUF_INIT;
    float *lat = NULL, *x = NULL;
    size_t n = 0, *idx = NULL;
    int rc, dim;
    hid_t f;

    rc = vsim_model_load(model_path, batch > 0 ? batch : 64, n_threads, &m);
    if (!rc)
        rc = vsim_dataset_load(data_path, &ds);
    if (!rc && ds->side != m->spec.input)
        rc = vsim_fail(VSIM_EINVAL, "%s: images are %dx%d but the model takes %dx%d",
                       data_path, ds->side, ds->side, m->spec.input, m->spec.input);
    if (rc)
        goto done;
    n = vsim_dataset_n_examples(ds);
    dim = vsim_model_latent_dim(m);
    lat = vsim_mallocarray(n * (size_t)dim, sizeof(float));
    x = vsim_mallocarray((size_t)m->capacity * vsim_model_image_elems(m), sizeof(float));
    idx = vsim_mallocarray((size_t)m->capacity, sizeof(size_t));
    if (!lat || !x || !idx || vsim_buf_addf(&tmp, "%s.tmp", out_path) ||
        vsim_model_spec_format(&m->spec, &spec)) {
        rc = vsim_fail(VSIM_ENOMEM, "embed: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i += (size_t)m->capacity) {
        int b = n - i < (size_t)m->capacity ? (int)(n - i) : m->capacity;

        for (int k = 0; k < b; k++)
            idx[k] = i + (size_t)k;
        vsim_dataset_batch(ds, idx, (size_t)b, x);
        vsim_model_forward(m, x, b);
        vsim_model_latent(m, b, lat + i * (size_t)dim);
    }
    f = H5Fcreate(tmp.buf, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) {
        rc = vsim_fail(VSIM_EIO, "%s: cannot create", tmp.buf);
        goto done;
    }
    rc = write_embed_file(f, lat, n, dim, ds, spec.buf);
    if (H5Fclose(f) < 0 || rc)
        rc = vsim_fail(VSIM_EIO, "%s: cannot write the embeddings", tmp.buf);
    if (!rc && rename(tmp.buf, out_path) != 0)
        rc = vsim_fail(VSIM_EIO, "%s: cannot rename to %s", tmp.buf, out_path);
    if (rc)
        remove(tmp.buf);
done:
    vsim_free(lat);
    vsim_free(x);
    vsim_free(idx);
    vsim_buf_release(&tmp);
    vsim_buf_release(&spec);
    vsim_dataset_destroy(ds);
    vsim_model_destroy(m);
    return rc;
}
