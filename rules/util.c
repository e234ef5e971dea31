/*
 * rules/util.c - helpers the rule families share: binding tensors by
 * collection and regex (smdebug's collection_names / tensor_regex union),
 * emitting verdicts, scalar series, and
 * deterministic OpenMP kernels (difference norm, numpy.allclose) over large
 * tensors: fixed 64 Ki-element blocks, partial results summed in block order.
 * SPDX-License-Identifier: MIT
 */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "core/omp.h"
#include "rules/rules_int.h"

#define BLOCK_ELEMS 65536
/* Smaller buffers come from malloc each time: they cost no page faults worth pooling. */
#define POOL_MIN_BYTES 65536

int vsim_rule_emit(rule_ctx *c, int result, const char *tensor, int64_t ref_step, double value,
                   double threshold, const char *fmt, ...)
{
    vsim_verdict *v;
    va_list ap;

    if (vsim_grow((void **)&c->out, &c->cap_out, c->n_out + 1, sizeof(*c->out)))
        return VSIM_ENOMEM;
    v = &c->out[c->n_out++];
    memset(v, 0, sizeof(*v));
    v->rule = c->rule->name;
    v->result = result;
    v->step = c->step ? c->step->step : -1;
    v->mode = c->step ? (int)c->step->mode : -1;
    v->mode_step = c->step ? c->step->mode_step : -1;
    v->wall_time = c->step ? c->step->wall_time : (double)NAN;
    snprintf(v->tensor, sizeof(v->tensor), "%s", tensor ? tensor : "");
    v->ref_step = ref_step;
    v->value = value;
    v->threshold = threshold;
    va_start(ap, fmt);
    vsnprintf(v->message, sizeof(v->message), fmt, ap);
    va_end(ap);
    return VSIM_OK;
}

int vsim_rule_bind_add(vsim_rule *r, size_t ti, unsigned need)
{
    for (size_t k = 0; k < r->n_tensors; k++)
        if (r->tensors[k] == ti) {
            r->need[k] |= need;
            return VSIM_OK;
        }
    if (r->n_tensors == r->cap_tensors) {
        size_t cap = r->cap_tensors ? 2 * r->cap_tensors : 16;
        size_t *nt = vsim_reallocarray(r->tensors, cap, sizeof(*nt));
        unsigned *nn;

        if (!nt)
            return vsim_fail(VSIM_ENOMEM, "out of memory");
        r->tensors = nt;
        nn = vsim_reallocarray(r->need, cap, sizeof(*nn));
        if (!nn)
            return vsim_fail(VSIM_ENOMEM, "out of memory");
        r->need = nn;
        r->cap_tensors = cap;
    }
    r->tensors[r->n_tensors] = ti;
    r->need[r->n_tensors++] = need;
    return VSIM_OK;
}

static int bind_matches(vsim_rule *r, rule_ctx *c, const char *coll, const char *regex,
                        unsigned need)
{
    size_t *idx = NULL, n = 0;
    int rc = vsim_trial_match(c->trial, coll, regex, &idx, &n);

    if (rc)
        return vsim_errctx("rule %s", r->name);
    for (size_t i = 0; !rc && i < n; i++)
        rc = vsim_rule_bind_add(r, idx[i], need);
    vsim_free(idx);
    return rc;
}

/* Next top-level comma-separated item of *p (commas inside (), [] or {} do not split). */
static size_t next_item(const char **p, char *buf, size_t cap)
{
    const char *s = *p;
    int depth = 0;
    size_t n = 0;

    while (s[n] && (depth > 0 || s[n] != ',')) {
        depth += (s[n] == '(' || s[n] == '[' || s[n] == '{');
        depth -= (s[n] == ')' || s[n] == ']' || s[n] == '}') && depth > 0;
        n++;
    }
    *p = s + n + (s[n] == ',');
    while (n && (*s == ' ')) {
        s++;
        n--;
    }
    while (n && s[n - 1] == ' ')
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return n;
}

int vsim_rule_bind_select(vsim_rule *r, rule_ctx *c, const char *collections,
                          const char *regexes, unsigned need)
{
    char item[512];
    int rc = VSIM_OK;

    for (const char *p = collections; !rc && p && *p;)
        if (next_item(&p, item, sizeof(item)))
            rc = bind_matches(r, c, item, NULL, need);
    for (const char *p = regexes; !rc && p && *p;)
        if (next_item(&p, item, sizeof(item)))
            rc = bind_matches(r, c, NULL, item, need);
    return rc;
}

const rule_entry *vsim_rule_entry(const rule_ctx *c, const vsim_rule *r, size_t k)
{
    size_t ti = r->tensors[k];

    if (ti >= c->n_entries || !c->entries[ti].present)
        return NULL;
    return &c->entries[ti];
}

const char *vsim_rule_tensor_name(const rule_ctx *c, size_t ti)
{
    return vsim_trial_tensor(c->trial, ti)->name;
}

double vsim_rule_scalar(const rule_entry *e)
{
    if (e->has_values && vsim_tensor_n_elems(&e->view) > 0)
        return vsim_tensor_get(&e->view, 0);
    if (e->red_mask & VSIM_RED_BIT(VSIM_RED_MEAN))
        return e->red[VSIM_RED_MEAN];
    return (double)NAN;
}

/*
 * Sum of (a[i] - b[i])^2 in double: eight independent accumulators in a fixed
 * order, so that gcc -O2 vectorises the loop and the sum of a block does not
 * depend on who computes it.
 */
static double diff2_f32(const float *a, const float *b, size_t n)
{
    double s[8] = { 0 };
    size_t i = 0;

    for (; i + 8 <= n; i += 8)
        for (size_t k = 0; k < 8; k++) {
            double d = (double)a[i + k] - (double)b[i + k];

            s[k] += d * d;
        }
    for (; i < n; i++) {
        double d = (double)a[i] - (double)b[i];

        s[i % 8] += d * d;
    }
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

static double diff2_block(const vsim_tensor *a, const vsim_tensor *b, size_t lo, size_t hi)
{
    double s = 0.0;

    if (a->dtype == VSIM_F32 && b->dtype == VSIM_F32)
        return diff2_f32((const float *)a->data + lo, (const float *)b->data + lo, hi - lo);
    for (size_t i = lo; i < hi; i++) {
        double d = vsim_tensor_load(a, i) - vsim_tensor_load(b, i);

        s += d * d;
    }
    return s;
}

double vsim_rule_diff_l2(const vsim_tensor *a, const vsim_tensor *b, int n_threads)
{
    size_t n = vsim_tensor_n_elems(a), n_blocks = (n + BLOCK_ELEMS - 1) / BLOCK_ELEMS;
    double *part = vsim_calloc(n_blocks ? n_blocks : 1, sizeof(double)), sum = 0.0;
    long nb = (long)n_blocks;
    int par = n >= RULE_PAR_MIN_ELEMS;
#ifndef _OPENMP
    (void)n_threads;
    (void)par;
#endif

    VSIM_ASSERT(vsim_tensor_is_contiguous(a) && vsim_tensor_is_contiguous(b));
    if (!part)
        return (double)NAN;
#pragma omp parallel for schedule(static) default(none) shared(a, b, part, n, nb) \
    num_threads(vsim_omp_resolve(n_threads)) if (par)
    for (long k = 0; k < nb; k++) {
        size_t lo = (size_t)k * BLOCK_ELEMS, hi = lo + BLOCK_ELEMS < n ? lo + BLOCK_ELEMS : n;

        part[k] = diff2_block(a, b, lo, hi);
    }
    for (size_t k = 0; k < n_blocks; k++)
        sum += part[k];
    vsim_free(part);
    return sqrt(sum);
}

/*
 * 1 if some a[i], b[i] is not numpy-close, for float32: branch-free over runs
 * of 1024 values so that it vectorises, stopping after the first run that
 * differs. Finite pairs: |x - y| <= atol + rtol |y|; otherwise equal
 * infinities, or two NaN with equal_nan.
 */
static int differ_f32(const float *a, const float *b, size_t n, double rtol, double atol,
                      int equal_nan)
{
    for (size_t lo = 0; lo < n; lo += 1024) {
        size_t hi = n - lo < 1024 ? n : lo + 1024;
        int bad = 0;

        for (size_t i = lo; i < hi; i++) {
            double x = (double)a[i], y = (double)b[i];
            int fin = (fabs(x) <= DBL_MAX) & (fabs(y) <= DBL_MAX);
            int close = fabs(x - y) <= atol + rtol * fabs(y);
            int same = (x == y) | (equal_nan & (x != x) & (y != y));

            bad |= (fin & !close) | (!fin & !same);
        }
        if (bad)
            return 1;
    }
    return 0;
}

static int differ_any(const vsim_tensor *a, const vsim_tensor *b, size_t lo, size_t hi,
                      double rtol, double atol, int equal_nan)
{
    int d = 0;

    if (a->dtype == VSIM_F32 && b->dtype == VSIM_F32)
        return differ_f32((const float *)a->data + lo, (const float *)b->data + lo, hi - lo,
                          rtol, atol, equal_nan);
    for (size_t i = lo; i < hi && !d; i++) {
        double x = vsim_tensor_load(a, i), y = vsim_tensor_load(b, i);

        if (isnan(x) || isnan(y))
            d = !(equal_nan && isnan(x) && isnan(y));
        else if (isinf(x) || isinf(y))
            d = x != y;
        else
            d = !(fabs(x - y) <= atol + rtol * fabs(y));
    }
    return d;
}

int vsim_rule_allclose(const vsim_tensor *a, const vsim_tensor *b, double rtol, double atol,
                       int equal_nan, int n_threads)
{
    size_t n = vsim_tensor_n_elems(a);
    long nb = (long)((n + BLOCK_ELEMS - 1) / BLOCK_ELEMS);
    int differ = 0, par = n >= RULE_PAR_MIN_ELEMS;
#ifndef _OPENMP
    (void)n_threads;
    (void)par;
#endif

    VSIM_ASSERT(vsim_tensor_is_contiguous(a) && vsim_tensor_is_contiguous(b));
    if (n != vsim_tensor_n_elems(b))
        return 0;
    equal_nan = !!equal_nan;
#pragma omp parallel for schedule(static) default(none) \
    shared(a, b, n, nb, rtol, atol, equal_nan, differ) num_threads(vsim_omp_resolve(n_threads)) \
    if (par)
    for (long k = 0; k < nb; k++) {
        size_t lo = (size_t)k * BLOCK_ELEMS, hi = lo + BLOCK_ELEMS < n ? lo + BLOCK_ELEMS : n;
        int seen;

#pragma omp atomic read
        seen = differ;
        if (!seen && differ_any(a, b, lo, hi, rtol, atol, equal_nan)) {
#pragma omp atomic write
            differ = 1;
        }
    }
    return !differ;
}

static void buf_free(rule_pool *pool, rule_buf *b)
{
    if (b->map) {
        vsim_trial_unmap(b->map, b->map_len);
    } else {
        if (pool)
            pool->live_bytes -= b->cap_bytes;
        vsim_free(b->data);
    }
    vsim_free(b);
}

rule_buf *vsim_rule_buf_mapped(rule_pool *pool, void *map, size_t len, void *data)
{
    rule_buf *b = vsim_calloc(1, sizeof(*b));

    if (!b)
        return NULL;
    b->map = map;
    b->map_len = len;
    b->data = data;
    b->n_refs = 1;
    pool->n_mapped++;
    return b;
}

/* The smallest pooled buffer that holds n_bytes and wastes at most half of itself. */
static rule_buf *pool_take(rule_pool *pool, size_t n_bytes)
{
    rule_buf **best = NULL;

    for (rule_buf **p = &pool->free; *p; p = &(*p)->next)
        if ((*p)->cap_bytes >= n_bytes && (*p)->cap_bytes / 2 <= n_bytes &&
            (!best || (*p)->cap_bytes < (*best)->cap_bytes))
            best = p;
    if (best) {
        rule_buf *b = *best;

        *best = b->next;
        return b;
    }
    return NULL;
}

rule_buf *vsim_rule_buf_get(rule_pool *pool, size_t n_bytes)
{
    rule_buf *b = n_bytes >= POOL_MIN_BYTES ? pool_take(pool, n_bytes) : NULL;

    if (!b) {
        b = vsim_calloc(1, sizeof(*b));
        if (!b)
            return NULL;
        b->cap_bytes = n_bytes;
        b->data = vsim_malloc(n_bytes ? n_bytes : 1);
        if (!b->data) {
            vsim_free(b);
            return NULL;
        }
        pool->n_new += n_bytes >= POOL_MIN_BYTES;
        pool->live_bytes += n_bytes;
        if (pool->live_bytes > pool->peak_bytes)
            pool->peak_bytes = pool->live_bytes;
    }
    pool->n_got += n_bytes >= POOL_MIN_BYTES;
    b->n_refs = 1;
    b->next = NULL;
    return b;
}

rule_buf *vsim_rule_buf_hold(rule_buf *b)
{
    b->n_refs++;
    return b;
}

void vsim_rule_buf_drop(rule_pool *pool, rule_buf *b)
{
    if (!b || --b->n_refs > 0)
        return;
    VSIM_ASSERT(b->n_refs == 0);
    if (!pool || b->map || b->cap_bytes < POOL_MIN_BYTES) {
        buf_free(pool, b);
        return;
    }
    b->idle = 0;
    b->next = pool->free;
    pool->free = b;
}

void vsim_rule_pool_trim(rule_pool *pool)
{
    for (rule_buf **p = &pool->free; *p;) {
        rule_buf *b = *p;

        if (b->idle++ >= 1) {
            *p = b->next;
            buf_free(pool, b);
        } else {
            p = &b->next;
        }
    }
}

void vsim_rule_pool_release(rule_pool *pool)
{
    while (pool->free) {
        rule_buf *b = pool->free;

        pool->free = b->next;
        buf_free(pool, b);
    }
}

int vsim_rule_series_push(rule_series *s, int64_t ms, int64_t gs, double v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 32;
        int64_t *nm = vsim_reallocarray(s->ms, cap, sizeof(*nm));
        double *nv;

        if (!nm)
            return vsim_fail(VSIM_ENOMEM, "out of memory");
        s->ms = nm;
        nm = vsim_reallocarray(s->gs, cap, sizeof(*nm));
        if (!nm)
            return vsim_fail(VSIM_ENOMEM, "out of memory");
        s->gs = nm;
        nv = vsim_reallocarray(s->v, cap, sizeof(*nv));
        if (!nv)
            return vsim_fail(VSIM_ENOMEM, "out of memory");
        s->v = nv;
        s->cap = cap;
    }
    s->ms[s->n] = ms;
    s->gs[s->n] = gs;
    s->v[s->n++] = v;
    return VSIM_OK;
}

long vsim_rule_series_newest_le(const rule_series *s, int64_t limit)
{
    for (size_t i = s->n; i-- > 0;)
        if (s->ms[i] <= limit)
            return (long)i;
    return -1;
}

void vsim_rule_series_free(rule_series *s)
{
    vsim_free(s->ms);
    vsim_free(s->gs);
    vsim_free(s->v);
    memset(s, 0, sizeof(*s));
}

/* Bind by the rule's collection_names / tensor_regex, or every tensor when neither is set. */
int vsim_rule_bind_default_all(vsim_rule *r, rule_ctx *c, unsigned need)
{
    const rule_pval *cn = vsim_rule_p(r, "collection_names"), *tr = vsim_rule_p(r, "tensor_regex");

    if (!cn->set && !tr->set) {
        int rc = VSIM_OK;

        for (size_t ti = 0; !rc && ti < vsim_trial_n_tensors(c->trial); ti++)
            rc = vsim_rule_bind_add(r, ti, need);
        return rc;
    }
    return vsim_rule_bind_select(r, c, cn->s, tr->s, need);
}

int vsim_rule_bind_stats(vsim_rule *r, rule_ctx *c)
{
    return vsim_rule_bind_default_all(r, c, RULE_NEED_STATS);
}
