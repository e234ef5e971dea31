/*
 * trainer/model.c - model specs, the layer table, forward/backward passes and
 * Adam (Kingma & Ba, ICLR 2015) on the CPU. Norms are summed per fixed block
 * of BLOCK parameters and the blocks in order, so every figure is the same for
 * any thread count.
 * SPDX-License-Identifier: MIT
 */
#include "trainer/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/omp.h"

#ifndef _OPENMP
/* make OPENMP=0: the pragmas below are meant to be skipped */
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#endif
#include "core/rng.h"
#include "core/vsim.h"

#define BLOCK 4096

static int parse_widths(const char *s, size_t len, int *w, int *n)
{
    *n = 0;
    while (len > 0) {
        char *end;
        long v = strtol(s, &end, 10);
        size_t used = (size_t)(end - s);

        if (used == 0 || used > len || v < 1 || v > 65536 || *n >= VSIM_MODEL_MAX_STAGE)
            return -1;
        w[(*n)++] = (int)v;
        s += used;
        len -= used;
        if (len > 0) {
            if (*s != '-' || len == 1)
                return -1;
            s++;
            len--;
        }
    }
    return 0;
}

static int parse_pair(const char *key, const char *val, size_t vlen, vsim_model_spec *spec,
                      int *seen)
{
    int w[VSIM_MODEL_MAX_STAGE], n;

    if (parse_widths(val, vlen, w, &n))
        return -1;
    if (!strcmp(key, "input") && n == 1) {
        spec->input = w[0];
        *seen |= 1;
    } else if (!strcmp(key, "conv")) {
        memcpy(spec->conv, w, sizeof(w));
        spec->n_conv = n;
    } else if (!strcmp(key, "fc") && n >= 1) {
        memcpy(spec->fc, w, sizeof(w));
        spec->n_fc = n;
        *seen |= 2;
    } else {
        return -1;
    }
    return 0;
}

int vsim_model_spec_parse(const char *text, vsim_model_spec *out)
{
    vsim_model_spec spec;
    const char *p;
    int seen = 0;

    if (!text)
        return vsim_fail(VSIM_EINVAL, "no model spec");
    if (!strcmp(text, "wide"))
        return vsim_model_spec_parse(VSIM_MODEL_PRESET_WIDE, out);
    if (!strcmp(text, "slim"))
        return vsim_model_spec_parse(VSIM_MODEL_PRESET_SLIM, out);
    memset(&spec, 0, sizeof(spec));
    p = text;
    while (*p) {
        const char *eq = strchr(p, '='), *comma = strchr(p, ',');
        size_t klen, vlen;
        char key[16];

        if (!comma)
            comma = p + strlen(p);
        if (!eq || eq > comma || (klen = (size_t)(eq - p)) >= sizeof(key))
            goto bad;
        memcpy(key, p, klen);
        key[klen] = '\0';
        vlen = (size_t)(comma - eq - 1);
        if (parse_pair(key, eq + 1, vlen, &spec, &seen))
            goto bad;
        p = *comma ? comma + 1 : comma;
    }
    if (seen != 3)
        goto bad;
    if (spec.input % (1 << spec.n_conv) != 0 || spec.input >> spec.n_conv < 1)
        return vsim_fail(VSIM_EINVAL, "model spec '%s': input %d is not divisible by 2^%d",
                         text, spec.input, spec.n_conv);
    *out = spec;
    return VSIM_OK;
bad:
    return vsim_fail(VSIM_EINVAL,
                     "unknown model spec '%s' (want wide, slim or "
                     "input=N,conv=C1-C2-..,fc=F1-F2-..)", text);
}

static int add_widths(vsim_buf *out, const char *key, const int *w, int n)
{
    int rc = vsim_buf_addf(out, ",%s=", key);

    for (int i = 0; i < n && !rc; i++)
        rc = vsim_buf_addf(out, i ? "-%d" : "%d", w[i]);
    return rc;
}

int vsim_model_spec_format(const vsim_model_spec *spec, vsim_buf *out)
{
    int rc = vsim_buf_addf(out, "input=%d", spec->input);

    if (!rc && spec->n_conv)
        rc = add_widths(out, "conv", spec->conv, spec->n_conv);
    if (!rc)
        rc = add_widths(out, "fc", spec->fc, spec->n_fc);
    return rc;
}

/* Fill the layer table of spec (no allocation); returns the parameter count. */
static size_t build_layers(const vsim_model_spec *spec, vsim_model *m)
{
    int side = spec->input, ch = 1, n = 0, flat;
    size_t off = 0;

#define ADD(kind_, act_, nin_, nout_, ins_, outs_, tr_, wcount_, ...)                       \
    do {                                                                                    \
        vsim_model_layer *l_ = &m->layers[n++];                                             \
        l_->kind = (kind_);                                                                 \
        l_->act = (act_);                                                                   \
        l_->n_in = (nin_);                                                                  \
        l_->n_out = (nout_);                                                                \
        l_->in_side = (ins_);                                                               \
        l_->out_side = (outs_);                                                             \
        l_->transpose_in = (tr_);                                                           \
        snprintf(l_->name, sizeof(l_->name), __VA_ARGS__);                                  \
        l_->w_off = off;                                                                    \
        l_->n_w = (wcount_);                                                                \
        l_->b_off = off + l_->n_w;                                                          \
        l_->n_b = (size_t)(nout_);                                                          \
        off = l_->b_off + l_->n_b;                                                          \
    } while (0)

    for (int i = 0; i < spec->n_conv; i++) {
        ADD(VSIM_LAYER_CONV, VSIM_ACT_RELU, ch, spec->conv[i], side, side / 2, 0,
            (size_t)ch * (size_t)spec->conv[i] * 16, "encoder/conv%d", i + 1);
        ch = spec->conv[i];
        side /= 2;
    }
    flat = ch * side * side;
    for (int i = 0; i < spec->n_fc; i++) {
        int nin = i ? spec->fc[i - 1] : flat;

        ADD(VSIM_LAYER_FC, i == spec->n_fc - 1 ? VSIM_ACT_NONE : VSIM_ACT_RELU, nin,
            spec->fc[i], 1, 1, i == 0 && spec->n_conv > 0, (size_t)nin * (size_t)spec->fc[i],
            "encoder/fc%d", i + 1);
    }
    m->latent_layer = n - 1;
    for (int i = spec->n_fc - 1; i >= 0; i--) {
        int nout = i ? spec->fc[i - 1] : flat;
        vsim_act act = (i == 0 && spec->n_conv == 0) ? VSIM_ACT_SIGMOID : VSIM_ACT_RELU;

        ADD(VSIM_LAYER_FC, act, spec->fc[i], nout, 1, 1, 0,
            (size_t)nout * (size_t)spec->fc[i], "decoder/fc%d", spec->n_fc - i);
    }
    for (int i = spec->n_conv - 1; i >= 0; i--) {
        int nout = i ? spec->conv[i - 1] : 1;

        ADD(VSIM_LAYER_DECONV, i == 0 ? VSIM_ACT_SIGMOID : VSIM_ACT_RELU, spec->conv[i], nout,
            side, side * 2, i == spec->n_conv - 1, (size_t)spec->conv[i] * (size_t)nout * 16,
            "decoder/deconv%d", spec->n_conv - i);
        side *= 2;
    }
#undef ADD
    m->n_layers = n;
    return off;
}

size_t vsim_model_spec_n_params(const vsim_model_spec *spec)
{
    vsim_model tmp;

    return build_layers(spec, &tmp);
}

int vsim_model_weight_shape(const vsim_model_layer *l, size_t *shape)
{
    if (l->kind == VSIM_LAYER_FC) {
        shape[0] = (size_t)l->n_out;
        shape[1] = (size_t)l->n_in;
        return 2;
    }
    shape[0] = (size_t)(l->kind == VSIM_LAYER_CONV ? l->n_out : l->n_in);
    shape[1] = (size_t)(l->kind == VSIM_LAYER_CONV ? l->n_in : l->n_out);
    shape[2] = shape[3] = 4;
    return 4;
}

size_t vsim_model_layer_elems(const vsim_model *m, int i)
{
    const vsim_model_layer *l = &m->layers[i];

    return (size_t)l->n_out * (size_t)l->out_side * (size_t)l->out_side;
}

size_t vsim_model_image_elems(const vsim_model *m)
{
    return (size_t)m->spec.input * (size_t)m->spec.input;
}

int vsim_model_latent_dim(const vsim_model *m)
{
    return m->spec.fc[m->spec.n_fc - 1];
}

static void init_params(vsim_model *m, uint64_t seed)
{
    for (int i = 0; i < m->n_layers; i++) {
        const vsim_model_layer *l = &m->layers[i];
        double fan_in = l->kind == VSIM_LAYER_CONV ? l->n_in * 16.0
                        : l->kind == VSIM_LAYER_DECONV ? l->n_in * 4.0 : (double)l->n_in;
        double sd = sqrt((l->act == VSIM_ACT_RELU ? 2.0 : 1.0) / fan_in);
        vsim_rng rng;

        vsim_rng_seed(&rng, seed, 1000u + (uint64_t)i);
        for (size_t j = 0; j < l->n_w; j++)
            m->params[l->w_off + j] = (float)(sd * vsim_rng_normal(&rng));
        memset(m->params + l->b_off, 0, l->n_b * sizeof(float));
    }
}

static int alloc_work(vsim_model *m, int cap)
{
    size_t max_act = vsim_model_image_elems(m), max_cols = 0;

    for (int i = 0; i < m->n_layers; i++) {
        const vsim_model_layer *l = &m->layers[i];
        size_t cols = 0;

        if (vsim_model_layer_elems(m, i) > max_act)
            max_act = vsim_model_layer_elems(m, i);
        if (l->kind == VSIM_LAYER_CONV)
            cols = (size_t)l->n_in * 16 * (size_t)l->out_side * (size_t)l->out_side;
        else if (l->kind == VSIM_LAYER_DECONV)
            cols = (size_t)l->n_out * 16 * (size_t)l->in_side * (size_t)l->in_side;
        if (cols > max_cols)
            max_cols = cols;
        m->out[i] = vsim_mallocarray((size_t)cap * vsim_model_layer_elems(m, i), sizeof(float));
        if (!m->out[i])
            return VSIM_ENOMEM;
        if (l->transpose_in) {
            m->tin[i] = vsim_mallocarray((size_t)cap * (size_t)l->n_in * (size_t)l->in_side
                                         * (size_t)l->in_side, sizeof(float));
            if (!m->tin[i])
                return VSIM_ENOMEM;
        }
    }
    m->cols = vsim_mallocarray((size_t)cap * (max_cols ? max_cols : 1), sizeof(float));
    m->d_a = vsim_mallocarray((size_t)cap * max_act, sizeof(float));
    m->d_b = vsim_mallocarray((size_t)cap * max_act, sizeof(float));
    m->blk = vsim_mallocarray(2 * (m->n_params / BLOCK + (size_t)m->n_layers + 1),
                              sizeof(double));
    if (!m->cols || !m->d_a || !m->d_b || !m->blk)
        return VSIM_ENOMEM;
    return VSIM_OK;
}

int vsim_model_create(const vsim_model_spec *spec, int capacity, uint64_t seed, int n_threads,
                      vsim_model **out)
{
    vsim_model *m;

    *out = NULL;
    if (capacity < 1)
        return vsim_fail(VSIM_EINVAL, "model: batch capacity %d < 1", capacity);
    m = vsim_calloc(1, sizeof(*m));
    if (!m)
        return vsim_fail(VSIM_ENOMEM, "model: out of memory");
    m->spec = *spec;
    m->n_threads = n_threads;
    m->capacity = capacity;
    m->n_params = build_layers(spec, m);
    m->params = vsim_calloc(m->n_params, sizeof(float));
    m->grads = vsim_calloc(m->n_params, sizeof(float));
    m->adam_m = vsim_calloc(m->n_params, sizeof(float));
    m->adam_v = vsim_calloc(m->n_params, sizeof(float));
    if (!m->params || !m->grads || !m->adam_m || !m->adam_v || alloc_work(m, capacity)) {
        vsim_model_destroy(m);
        return vsim_fail(VSIM_ENOMEM, "model: out of memory for %zu parameters, batch %d",
                         vsim_model_spec_n_params(spec), capacity);
    }
    init_params(m, seed);
    *out = m;
    return VSIM_OK;
}

void vsim_model_destroy(vsim_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n_layers; i++) {
        vsim_free(m->out[i]);
        vsim_free(m->tin[i]);
    }
    vsim_free(m->cols);
    vsim_free(m->d_a);
    vsim_free(m->d_b);
    vsim_free(m->blk);
    vsim_free(m->params);
    vsim_free(m->grads);
    vsim_free(m->adam_m);
    vsim_free(m->adam_v);
    vsim_free(m);
}

/* Input of layer i for a batch of b (transposing the previous output if needed). */
static const float *layer_input(vsim_model *m, int i, const float *x, int b)
{
    const vsim_model_layer *l = &m->layers[i];
    const int nt = m->n_threads;

    if (i == 0)
        return x;
    if (!l->transpose_in)
        return m->out[i - 1];
    if (l->kind == VSIM_LAYER_FC) {
        const vsim_model_layer *p = &m->layers[i - 1];

        vsim_layer_cnhw_to_rows(m->out[i - 1], p->n_out, b, p->out_side * p->out_side,
                                m->tin[i], nt);
    } else {
        vsim_layer_rows_to_cnhw(m->out[i - 1], l->n_in, b, l->in_side * l->in_side, m->tin[i],
                                nt);
    }
    return m->tin[i];
}

const float *vsim_model_forward(vsim_model *m, const float *x, int b)
{
    VSIM_ASSERT(b >= 1 && b <= m->capacity);
    for (int i = 0; i < m->n_layers; i++) {
        const vsim_model_layer *l = &m->layers[i];
        const float *in = layer_input(m, i, x, b);
        const float *w = m->params + l->w_off, *bias = m->params + l->b_off;
        vsim_conv_dims d = { l->n_in, l->n_out, b, l->in_side, l->in_side };

        if (l->kind == VSIM_LAYER_CONV)
            vsim_layer_conv_forward(&d, in, w, bias, l->act, m->cols, m->out[i], m->n_threads);
        else if (l->kind == VSIM_LAYER_DECONV)
            vsim_layer_deconv_forward(&d, in, w, bias, l->act, m->cols, m->out[i],
                                      m->n_threads);
        else
            vsim_layer_fc_forward(b, l->n_in, l->n_out, in, w, bias, l->act, m->out[i],
                                  m->n_threads);
    }
    return m->out[m->n_layers - 1];
}

void vsim_model_latent(const vsim_model *m, int b, float *out)
{
    memcpy(out, m->out[m->latent_layer],
           (size_t)b * (size_t)vsim_model_latent_dim(m) * sizeof(float));
}

void vsim_model_layer_output(const vsim_model *m, int i, int b, float *out)
{
    const vsim_model_layer *l = &m->layers[i];

    if (l->kind == VSIM_LAYER_FC)
        memcpy(out, m->out[i], (size_t)b * vsim_model_layer_elems(m, i) * sizeof(float));
    else
        vsim_layer_cnhw_to_rows(m->out[i], l->n_out, b, l->out_side * l->out_side, out,
                                m->n_threads);
}

/* Sum of squares of a[0..n) in fixed blocks, the blocks summed in order. */
static double sum_squares(const float *a, size_t n, double *blk, int nt)
{
    const long n_blocks = (long)((n + BLOCK - 1) / BLOCK);
    double s = 0.0;

    (void)nt;   /* unused when OPENMP=0 */
#pragma omp parallel for schedule(static) num_threads(nt) default(none) \
    shared(a, blk) firstprivate(n, n_blocks)
    for (long k = 0; k < n_blocks; k++) {
        size_t lo = (size_t)k * BLOCK, hi = lo + BLOCK < n ? lo + BLOCK : n;
        double t = 0.0;

        for (size_t i = lo; i < hi; i++)
            t += (double)a[i] * (double)a[i];
        blk[k] = t;
    }
    for (long k = 0; k < n_blocks; k++)
        s += blk[k];
    return s;
}

void vsim_model_backward(vsim_model *m, const float *x, int b, float *dout)
{
    float *d = m->d_a, *spare = m->d_b;

    if (dout != m->d_a)
        memcpy(m->d_a, dout, (size_t)b * vsim_model_image_elems(m) * sizeof(float));

    for (int i = m->n_layers - 1; i >= 0; i--) {
        const vsim_model_layer *l = &m->layers[i];
        const float *in = i == 0 ? x : l->transpose_in ? m->tin[i] : m->out[i - 1];
        const float *w = m->params + l->w_off;
        float *dw = m->grads + l->w_off, *db = m->grads + l->b_off;
        float *dx = i == 0 ? NULL : spare;
        vsim_conv_dims dims = { l->n_in, l->n_out, b, l->in_side, l->in_side };
        size_t n_out = (size_t)b * vsim_model_layer_elems(m, i);

        vsim_layer_act_backward(l->act, m->out[i], d, n_out, m->n_threads);
        if (l->kind == VSIM_LAYER_FC)
            vsim_layer_fc_backward(b, l->n_in, l->n_out, in, w, d, dx, dw, db, m->n_threads);
        else if (l->kind == VSIM_LAYER_CONV)
            vsim_layer_conv_backward(&dims, in, w, d, m->cols, dx, dw, db, m->n_threads);
        else
            vsim_layer_deconv_backward(&dims, in, w, d, m->cols, dx, dw, db, m->n_threads);
        if (!dx)
            break;
        if (l->transpose_in) {
            const vsim_model_layer *p = &m->layers[i - 1];

            /* dx is in this layer's input layout; d takes it in the previous output's */
            if (l->kind == VSIM_LAYER_FC)
                vsim_layer_rows_to_cnhw(dx, p->n_out, b, p->out_side * p->out_side, d,
                                        m->n_threads);
            else
                vsim_layer_cnhw_to_rows(dx, l->n_in, b, l->in_side * l->in_side, d,
                                        m->n_threads);
            continue;
        }
        spare = d;
        d = dx;
    }
    m->grad_norm = sqrt(sum_squares(m->grads, m->n_params, m->blk, m->n_threads));
}

/* Adam on one tensor; blk[k] gets the block sums of |update|^2 and |w|^2. */
static void adam_tensor(vsim_model *m, size_t off, size_t n, const vsim_adam *a, double lr,
                        double *blk)
{
    const long n_blocks = (long)((n + BLOCK - 1) / BLOCK);
    const double t = (double)m->adam_t;
    const float b1 = (float)a->beta1, b2 = (float)a->beta2, eps = (float)a->eps;
    const float step = (float)(lr * sqrt(1.0 - pow(a->beta2, t)) / (1.0 - pow(a->beta1, t)));
    float *p = m->params + off, *mm = m->adam_m + off, *vv = m->adam_v + off;
    const float *g = m->grads + off;
    const int nt = vsim_omp_resolve(m->n_threads);

    (void)nt;   /* unused when OPENMP=0 */
#pragma omp parallel for schedule(static) num_threads(nt) default(none) \
    shared(p, mm, vv, g, blk) firstprivate(n, n_blocks, b1, b2, eps, step)
    for (long k = 0; k < n_blocks; k++) {
        size_t lo = (size_t)k * BLOCK, hi = lo + BLOCK < n ? lo + BLOCK : n;
        double su = 0.0, sw = 0.0;

        for (size_t i = lo; i < hi; i++) {
            float u;

            mm[i] = b1 * mm[i] + (1.0f - b1) * g[i];
            vv[i] = b2 * vv[i] + (1.0f - b2) * g[i] * g[i];
            u = step * mm[i] / (sqrtf(vv[i]) + eps);
            p[i] -= u;
            su += (double)u * (double)u;
            sw += (double)p[i] * (double)p[i];
        }
        blk[2 * k] = su;
        blk[2 * k + 1] = sw;
    }
}

int vsim_model_adam_step(vsim_model *m, const vsim_adam *adam, double lr)
{
    if (!isfinite(lr))
        return vsim_fail(VSIM_ENUMERIC, "learning rate is %g", lr);
    m->adam_t++;
    for (int i = 0; i < m->n_layers; i++) {
        const vsim_model_layer *l = &m->layers[i];
        long n_blocks = (long)((l->n_w + BLOCK - 1) / BLOCK);
        double su = 0.0, sw = 0.0;

        /* weight and bias are contiguous: one pass over both, ratio over the weight */
        adam_tensor(m, l->b_off, l->n_b, adam, lr, m->blk);
        adam_tensor(m, l->w_off, l->n_w, adam, lr, m->blk);
        for (long k = 0; k < n_blocks; k++) {
            su += m->blk[2 * k];
            sw += m->blk[2 * k + 1];
        }
        m->update_ratio[i] = sw > 0.0 ? sqrt(su / sw) : 0.0;
    }
    return VSIM_OK;
}

int vsim_model_eval_batch(vsim_model *m, const float *x, int b, const vsim_loss_spec *loss,
                          vsim_loss_value *loss_out)
{
    const float *y = vsim_model_forward(m, x, b);

    return vsim_loss_eval(loss, y, x, b, m->spec.input, m->spec.input, NULL, loss_out,
                          m->n_threads);
}

int vsim_model_train_step(vsim_model *m, const float *x, int b, const vsim_loss_spec *loss,
                          const vsim_adam *adam, double lr, vsim_loss_value *loss_out)
{
    const float *y = vsim_model_forward(m, x, b);
    vsim_loss_value v;
    int rc;

    rc = vsim_loss_eval(loss, y, x, b, m->spec.input, m->spec.input, m->d_a, &v, m->n_threads);
    if (rc)
        return rc;
    *loss_out = v;
    if (!isfinite(v.total))
        return vsim_fail(VSIM_ENUMERIC, "loss is %s", isnan(v.total) ? "NaN" : "infinite");
    vsim_model_backward(m, x, b, m->d_a);
    return vsim_model_adam_step(m, adam, lr);
}
