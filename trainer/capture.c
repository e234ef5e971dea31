/*
 * trainer/capture.c - what vsim-train saves through the capture API
 * (readers/writer.h), its default save configs, the save-config file, and
 * learning-rate schedules. Tensor names: LAYER/weight, LAYER/bias,
 * gradients/LAYER/weight and /bias, loss/NAME, metrics/NAME, activations/LAYER,
 * embeddings/NAME, images/input and images/reconstruction (docs/man/vsim-train.1).
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/vsim.h"
#include "readers/run.h"
#include "trainer/train.h"
#include "trainer/train_int.h"

int vsim_lr_parse(const char *text, vsim_lr_schedule *out)
{
    vsim_lr_schedule s = { VSIM_LR_CONSTANT, 1.0, 1 };
    char kind[8], *end;
    const char *p;
    long long every;

    if (!text || !strcmp(text, "none") || !*text) {
        *out = s;
        return VSIM_OK;
    }
    p = strchr(text, ':');
    if (!p || (size_t)(p - text) >= sizeof(kind))
        goto bad;
    memcpy(kind, text, (size_t)(p - text));
    kind[p - text] = '\0';
    if (!strcmp(kind, "step"))
        s.kind = VSIM_LR_STEP;
    else if (!strcmp(kind, "exp"))
        s.kind = VSIM_LR_EXP;
    else
        goto bad;
    errno = 0;
    s.gamma = strtod(p + 1, &end);
    if (errno || end == p + 1 || *end != ':' || !(s.gamma > 0.0) || !isfinite(s.gamma))
        goto bad;
    every = strtoll(end + 1, &end, 10);
    if (*end || every < 1)
        goto bad;
    s.every = every;
    *out = s;
    return VSIM_OK;
bad:
    return vsim_fail(VSIM_EINVAL, "bad learning-rate decay '%s' (want none, "
                     "step:GAMMA:EVERY or exp:GAMMA:EVERY)", text);
}

double vsim_lr_at(const vsim_lr_schedule *s, double lr0, int64_t step)
{
    if (s->kind == VSIM_LR_STEP)
        return lr0 * pow(s->gamma, (double)(step / s->every));
    if (s->kind == VSIM_LR_EXP)
        return lr0 * pow(s->gamma, (double)step / (double)s->every);
    return lr0;
}

static int parse_steps(const char *v, int64_t **steps, size_t *n)
{
    size_t cap = 1;
    const char *p;

    for (p = v; *p; p++)
        cap += *p == ',';
    *steps = vsim_mallocarray(cap, sizeof(int64_t));
    if (!*steps)
        return VSIM_ENOMEM;
    *n = 0;
    for (p = v; *p;) {
        char *end;
        long long s = strtoll(p, &end, 10);

        if (end == p || s < 0 || (*end && *end != ','))
            return VSIM_EINVAL;
        (*steps)[(*n)++] = s;
        p = *end ? end + 1 : end;
    }
    return VSIM_OK;
}

static int parse_modes(const char *v, unsigned *mask)
{
    char buf[64];

    *mask = 0;
    if (strlen(v) >= sizeof(buf))
        return VSIM_EINVAL;
    strcpy(buf, v);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        vsim_mode m;

        if (vsim_mode_parse(t, &m))
            return VSIM_EINVAL;
        *mask |= 1u << m;
    }
    return VSIM_OK;
}

/* Apply one key=value of a save-config line to cfg / regex. */
static int apply_key(char *kv, vsim_save_config *cfg, const char **regex, int64_t **steps)
{
    char *eq = strchr(kv, '='), *end;
    const char *v;

    if (!eq)
        return VSIM_EINVAL;
    *eq = '\0';
    v = eq + 1;
    if (!strcmp(kv, "regex")) {
        *regex = v;
        return VSIM_OK;
    }
    if (!strcmp(kv, "reductions"))
        return vsim_reduction_parse_list(v, &cfg->reductions) ? VSIM_EINVAL : VSIM_OK;
    if (!strcmp(kv, "modes"))
        return parse_modes(v, &cfg->modes);
    if (!strcmp(kv, "steps")) {
        vsim_free(*steps);
        *steps = NULL;
        int rc = parse_steps(v, steps, &cfg->n_save_steps);

        cfg->save_steps = *steps;
        return rc;
    }
    errno = 0;
    long long n = strtoll(v, &end, 10);

    if (errno || end == v || *end)
        return VSIM_EINVAL;
    if (!strcmp(kv, "interval") && n >= 0)
        cfg->save_interval = n;
    else if (!strcmp(kv, "start") && n >= 0)
        cfg->start_step = n;
    else if (!strcmp(kv, "end") && n >= -1)
        cfg->end_step = n;
    else
        return VSIM_EINVAL;
    return VSIM_OK;
}

/* One line: "NAME key=value ..."; blank and comment lines are skipped. */
static int parse_line(char *line, const char *path, int line_no, vsim_writer *w)
{
    vsim_save_config cfg = VSIM_SAVE_CONFIG_INIT;
    const char *regex = NULL, *name;
    int64_t *steps = NULL;
    char *save = NULL, *tok;
    int rc = VSIM_OK;

    line[strcspn(line, "#\r\n")] = '\0';
    name = strtok_r(line, " \t", &save);
    if (!name)
        return VSIM_OK;
    while (!rc && (tok = strtok_r(NULL, " \t", &save)) != NULL) {
        char shown[128];

        snprintf(shown, sizeof(shown), "%s", tok);  /* apply_key cuts tok at '=' */
        rc = apply_key(tok, &cfg, &regex, &steps);
        if (rc == VSIM_EINVAL)
            rc = vsim_fail(VSIM_EINVAL, "%s:%d: bad setting '%s' for collection '%s'", path,
                           line_no, shown, name);
        else if (rc)
            rc = vsim_fail(rc, "%s:%d: out of memory", path, line_no);
    }
    if (!rc && w)
        rc = vsim_writer_set_collection(w, name, regex, &cfg);
    else if (!rc && regex && !w) {
        regex_t re;
        int e = regcomp(&re, regex, REG_EXTENDED | REG_NOSUB);

        if (e)
            rc = vsim_fail(VSIM_EINVAL, "%s:%d: bad regex '%s'", path, line_no, regex);
        else
            regfree(&re);
    }
    if (rc && w && !strstr(vsim_errmsg(), path))
        vsim_errctx("%s:%d", path, line_no);
    vsim_free(steps);
    return rc;
}

int vsim_train_save_config(const char *path, vsim_writer *w)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    int rc = VSIM_OK, line_no = 0;

    if (!f)
        return vsim_fail(VSIM_EIO, "%s: %s", path, strerror(errno));
    while (!rc && fgets(line, sizeof(line), f)) {
        line_no++;
        rc = parse_line(line, path, line_no, w);
    }
    if (!rc && ferror(f))
        rc = vsim_fail(VSIM_EIO, "%s: read error", path);
    fclose(f);
    return rc;
}

int vsim_capture_defaults(vsim_writer *w, int64_t save_interval)
{
    static const char *tensor_colls[] = { VSIM_COLL_WEIGHTS, VSIM_COLL_BIASES,
                                          VSIM_COLL_GRADIENTS, VSIM_COLL_ACTIVATIONS,
                                          VSIM_COLL_IMAGES };
    vsim_save_config every = VSIM_SAVE_CONFIG_INIT, tensors = VSIM_SAVE_CONFIG_INIT;
    vsim_save_config evals = VSIM_SAVE_CONFIG_INIT;
    int rc = VSIM_OK;

    every.save_interval = 1;
    tensors.save_interval = save_interval;
    tensors.modes = 1u << VSIM_MODE_TRAIN;
    evals.save_interval = 1;
    evals.modes = 1u << VSIM_MODE_EVAL;
    for (size_t i = 0; !rc && i < VSIM_ARRAY_LEN(tensor_colls); i++)
        rc = vsim_writer_set_collection(w, tensor_colls[i], NULL, &tensors);
    if (!rc)
        rc = vsim_writer_set_collection(w, VSIM_COLL_LOSSES, NULL, &every);
    if (!rc)
        rc = vsim_writer_set_collection(w, VSIM_COLL_METRICS, NULL, &every);
    if (!rc)
        rc = vsim_writer_set_collection(w, VSIM_COLL_EMBEDDINGS, NULL, &evals);
    return rc;
}

int vsim_capture_f32(vsim_writer *w, const char *name, const char *colls, const float *data,
                     int ndim, const size_t *shape)
{
    vsim_tensor t;

    vsim_tensor_init(&t, VSIM_F32, ndim, shape, (void *)data);
    return vsim_writer_save(w, name, colls, &t);
}

int vsim_capture_scalar(vsim_writer *w, const char *name, const char *colls, double v)
{
    vsim_tensor t;
    size_t one = 1;

    vsim_tensor_init(&t, VSIM_F64, 1, &one, &v);
    return vsim_writer_save(w, name, colls, &t);
}

/* For each layer's weight and bias named prefix + layer + "/weight" or "/bias":
 * save base's values when due at the current step (base != NULL), or only tell
 * whether any would be saved at step mode_step of mode (base == NULL). */
static int layer_tensors(vsim_writer *w, const vsim_model *m, const float *base,
                         const char *prefix, const char *wcoll, const char *bcoll,
                         vsim_mode mode, int64_t mode_step)
{
    int rc = VSIM_OK;

    for (int i = 0; !rc && i < m->n_layers; i++) {
        const vsim_model_layer *l = &m->layers[i];
        size_t shape[4], nb = l->n_b;
        int rank = vsim_model_weight_shape(l, shape);
        char name[96];

        snprintf(name, sizeof(name), "%s%s/weight", prefix, l->name);
        if (!base)
            rc = vsim_writer_wants_at(w, name, wcoll, mode, mode_step);
        else if (vsim_writer_wants(w, name, wcoll))
            rc = vsim_capture_f32(w, name, wcoll, base + l->w_off, rank, shape);
        snprintf(name, sizeof(name), "%s%s/bias", prefix, l->name);
        if (!rc && !base)
            rc = vsim_writer_wants_at(w, name, bcoll, mode, mode_step);
        else if (!rc && vsim_writer_wants(w, name, bcoll))
            rc = vsim_capture_f32(w, name, bcoll, base + l->b_off, 1, &nb);
    }
    return rc;
}

int vsim_capture_params(vsim_writer *w, const vsim_model *m)
{
    return layer_tensors(w, m, m->params, "", VSIM_COLL_WEIGHTS, VSIM_COLL_BIASES,
                         VSIM_MODE_TRAIN, 0);
}

int vsim_capture_wants_params(vsim_writer *w, const vsim_model *m, vsim_mode mode,
                              int64_t mode_step)
{
    int want = layer_tensors(w, m, NULL, "", VSIM_COLL_WEIGHTS, VSIM_COLL_BIASES, mode,
                             mode_step);
    char name[96];

    for (int i = 0; !want && i < m->n_layers; i++) {
        snprintf(name, sizeof(name), "activations/%s", m->layers[i].name);
        want = vsim_writer_wants_at(w, name, VSIM_COLL_ACTIVATIONS, mode, mode_step);
    }
    return want || vsim_writer_wants_at(w, "images/input", VSIM_COLL_IMAGES, mode, mode_step);
}

int vsim_capture_wants_grads(vsim_writer *w, const vsim_model *m, vsim_mode mode,
                             int64_t mode_step)
{
    return layer_tensors(w, m, NULL, "gradients/", VSIM_COLL_GRADIENTS, VSIM_COLL_GRADIENTS,
                         mode, mode_step);
}

int vsim_capture_grads(vsim_writer *w, const vsim_model *m)
{
    int rc = layer_tensors(w, m, m->grads, "gradients/", VSIM_COLL_GRADIENTS,
                           VSIM_COLL_GRADIENTS, VSIM_MODE_TRAIN, 0);

    for (int i = 0; !rc && i < m->n_layers; i++) {
        char name[96];

        snprintf(name, sizeof(name), "metrics/update_ratio/%s", m->layers[i].name);
        rc = vsim_capture_scalar(w, name, VSIM_COLL_METRICS, m->update_ratio[i]);
    }
    if (!rc)
        rc = vsim_capture_scalar(w, "metrics/grad_norm", VSIM_COLL_METRICS, m->grad_norm);
    return rc;
}

int vsim_capture_probe(vsim_writer *w, vsim_model *m, const float *x, int b)
{
    const size_t side = (size_t)m->spec.input;
    size_t shape[4] = { (size_t)b, 1, side, side }, max = 0;
    int want_act = 0, rc = VSIM_OK;
    const float *y;
    float *buf;

    for (int i = 0; i < m->n_layers; i++) {
        char name[96];

        snprintf(name, sizeof(name), "activations/%s", m->layers[i].name);
        want_act |= vsim_writer_wants(w, name, VSIM_COLL_ACTIVATIONS);
        if (vsim_model_layer_elems(m, i) > max)
            max = vsim_model_layer_elems(m, i);
    }
    if (!want_act && !vsim_writer_wants(w, "images/input", VSIM_COLL_IMAGES))
        return VSIM_OK;
    buf = vsim_mallocarray((size_t)b * max, sizeof(float));
    if (!buf)
        return vsim_fail(VSIM_ENOMEM, "probe batch: out of memory");
    y = vsim_model_forward(m, x, b);
    rc = vsim_capture_f32(w, "images/input", VSIM_COLL_IMAGES, x, 4, shape);
    if (!rc)
        rc = vsim_capture_f32(w, "images/reconstruction", VSIM_COLL_IMAGES, y, 4, shape);
    for (int i = 0; !rc && want_act && i < m->n_layers; i++) {
        const vsim_model_layer *l = &m->layers[i];
        size_t s[4] = { (size_t)b, (size_t)l->n_out, (size_t)l->out_side, (size_t)l->out_side };
        char name[96];

        snprintf(name, sizeof(name), "activations/%s", l->name);
        if (!vsim_writer_wants(w, name, VSIM_COLL_ACTIVATIONS))
            continue;
        vsim_model_layer_output(m, i, b, buf);
        rc = vsim_capture_f32(w, name, VSIM_COLL_ACTIVATIONS, buf,
                              l->kind == VSIM_LAYER_FC ? 2 : 4, s);
    }
    vsim_free(buf);
    return rc;
}
