/*
 * analyze/stats_run.c - the run walk behind vsim-stats (issue 5): choose the
 * steps, workers and tensors, read tensors in batches from one thread (the
 * trial and HDF5 are not thread-safe; tensors of 1 MiB and more are mapped,
 * not copied), compute a batch's tensors one per thread (largest first; a
 * tensor too large to share runs alone with every thread inside), and give
 * the rows in a fixed order. Memory: one batch (batch_bytes) or the largest
 * tensor, plus the statistics' scratch of as many tensors as threads.
 * SPDX-License-Identifier: MIT
 */
#include "analyze/stats_run.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/mem.h"
#include "core/omp.h"
#include "readers/trial.h"

#define BIG_BYTES ((size_t)4 << 20)  /* tensors this large may use every thread inside */
#define LAYER_MAX 512

typedef struct item {
    size_t ti;                   /* tensor index in the trial */
    void *data;                  /* read values (vsim_malloc'ed), or NULL when mapped */
    void *map;                   /* vsim_trial_map'ed values, map_len bytes, or NULL */
    size_t map_len;
    vsim_tensor view;
    int values;                  /* 1: values read; 0: reductions only */
    double reds[VSIM_N_REDUCTIONS];
    unsigned red_mask;
    vsim_stats st;
    vsim_hist hist;
    int rc;
} item;

typedef struct walker {
    const vsim_stats_run_params *p;
    vsim_trial *t;
    vsim_stats_row_fn fn;
    void *ctx;
    size_t *sel, n_sel;          /* selected tensors, in output order */
    char (*layers)[LAYER_MAX];   /* [n_tensors] layer names by trial index */
    vsim_stats_series *series;   /* [n_tensors] for across_steps */
    size_t n_tensors;
    item *items;
    size_t cap_items;
    size_t n_problems_seen;
    vsim_stats_run_result res;
    int stop;
} walker;

/* ---- small helpers ---- */

void vsim_stats_layer_of(const char *name, char *out, size_t cap)
{
    /* trainer/capture.c: LAYER/weight, gradients/LAYER/weight, activations/LAYER */
    static const struct { const char *prefix; int whole; } prefixes[] = {
        { "gradients/", 0 }, { "gradient/", 0 }, { "grad/", 0 }, { "grads/", 0 },
        { "activations/", 1 }, { "activation/", 1 }
    };
    static const char *const suffixes[] = { "/grad", "/gradient", "_grad", ".grad", "/grads" };
    size_t len;
    int whole = 0;
    char *slash;

    for (size_t i = 0; i < VSIM_ARRAY_LEN(prefixes); i++) {
        size_t pl = strlen(prefixes[i].prefix);

        if (!strncmp(name, prefixes[i].prefix, pl) && name[pl]) {
            name += pl;
            whole = prefixes[i].whole;
            break;
        }
    }
    snprintf(out, cap, "%s", name);
    if (whole)
        return;
    len = strlen(out);
    for (size_t i = 0; i < VSIM_ARRAY_LEN(suffixes); i++) {
        size_t sl = strlen(suffixes[i]);

        if (len > sl && !strcmp(out + len - sl, suffixes[i])) {
            out[len - sl] = '\0';
            break;
        }
    }
    slash = strrchr(out, '/');
    if (slash && slash != out)
        *slash = '\0';
}

static int parse_i64(const char *s, size_t n, int64_t *out)
{
    char buf[32], *end;
    long long v;

    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    v = strtoll(buf, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int vsim_stats_parse_range(const char *s, vsim_stats_run_params *p)
{
    const char *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    const char *b_end = c2 ? c2 : s + strlen(s);
    int64_t first = INT64_MIN, last = INT64_MAX, every = 1;

    if (!c1 || (c1 > s && parse_i64(s, (size_t)(c1 - s), &first)) ||
        (b_end > c1 + 1 && parse_i64(c1 + 1, (size_t)(b_end - c1 - 1), &last)) ||
        (c2 && parse_i64(c2 + 1, strlen(c2 + 1), &every)) || every < 1 || first > last)
        return vsim_fail(VSIM_EINVAL, "bad step range '%s' (want A:B or A:B:K)", s);
    p->has_range = 1;
    p->first = first;
    p->last = last;
    p->every = every;
    return VSIM_OK;
}

static void sleep_s(double s)
{
    struct timespec ts = { (time_t)s, (long)((s - floor(s)) * 1e9) };

    nanosleep(&ts, NULL);
}

static int emit(walker *w, const vsim_stats_row *row)
{
    if (w->stop)
        return 1;
    if (row->kind == VSIM_STATS_ROW_TENSOR || row->kind == VSIM_STATS_ROW_SERIES)
        w->res.n_rows++;
    if (row->kind == VSIM_STATS_ROW_PROBLEM)
        w->res.n_problems++;
    if (w->fn(w->ctx, row))
        w->stop = 1;
    return w->stop;
}

static void emit_problem(walker *w, const char *path, const char *message)
{
    vsim_stats_row row = { .kind = VSIM_STATS_ROW_PROBLEM, .path = path, .message = message };

    emit(w, &row);
}

/* Problems the trial found since the last call. */
static void emit_trial_problems(walker *w)
{
    size_t n = vsim_trial_n_problems(w->t);

    for (; w->n_problems_seen < n; w->n_problems_seen++) {
        const vsim_trial_problem *pr = vsim_trial_problem_at(w->t, w->n_problems_seen);

        emit_problem(w, pr->path, pr->message);
    }
}

/* ---- choosing tensors and steps ---- */

static int add_matches(walker *w, const char *coll, unsigned char *chosen)
{
    size_t *m = NULL, n_m = 0;
    int rc = vsim_trial_match(w->t, coll, w->p->regex, &m, &n_m);

    if (rc)
        return rc;
    for (size_t i = 0; i < n_m; i++)
        chosen[m[i]] = 1;
    vsim_free(m);
    return VSIM_OK;
}

/* (Re)build the selected tensor list, layer names and series slots. */
static int select_tensors(walker *w)
{
    size_t n = vsim_trial_n_tensors(w->t), k = 0;
    unsigned char *chosen = vsim_calloc(n ? n : 1, 1);
    int rc = chosen ? VSIM_OK : VSIM_ENOMEM;

    for (size_t c = 0; !rc && c < (w->p->collections ? w->p->n_collections : 1); c++)
        rc = add_matches(w, w->p->collections ? w->p->collections[c] : NULL, chosen);
    if (!rc && n > w->n_tensors) {
        void *l = vsim_reallocarray(w->layers, n, sizeof(*w->layers));
        void *s = l ? vsim_reallocarray(w->series, n, sizeof(*w->series)) : NULL;

        if (l)
            w->layers = l;
        if (s)
            w->series = s;
        rc = (l && s) ? VSIM_OK : vsim_fail(VSIM_ENOMEM, "out of memory selecting tensors");
        for (size_t i = w->n_tensors; !rc && i < n; i++) {
            vsim_stats_layer_of(vsim_trial_tensor(w->t, i)->name, w->layers[i], LAYER_MAX);
            vsim_stats_series_init(&w->series[i]);
        }
        if (!rc)
            w->n_tensors = n;
    }
    if (!rc) {
        vsim_free(w->sel);
        w->sel = vsim_mallocarray(n ? n : 1, sizeof(*w->sel));
        rc = w->sel ? VSIM_OK : vsim_fail(VSIM_ENOMEM, "out of memory selecting tensors");
    }
    for (size_t i = 0; !rc && i < n; i++) {
        if (!chosen[i])
            continue;
        if (w->p->by_layer) {
            /* first tensor of its layer: take the whole layer now */
            size_t j;

            for (j = 0; j < k && strcmp(w->layers[w->sel[j]], w->layers[i]); j++)
                ;
            if (j < k)
                continue;
            for (j = i; j < n; j++)
                if (chosen[j] && !strcmp(w->layers[j], w->layers[i]))
                    w->sel[k++] = j;
        } else {
            w->sel[k++] = i;
        }
    }
    w->n_sel = k;
    vsim_free(chosen);
    return rc;
}

static int step_wanted(const vsim_stats_run_params *p, int64_t s)
{
    if (p->step >= 0)
        return s == p->step;
    if (p->has_range)
        return s >= p->first && s <= p->last &&
               (p->first == INT64_MIN ? s % p->every == 0 : (s - p->first) % p->every == 0);
    return 1;
}

static int step_holds_selection(const walker *w, int64_t step)
{
    for (size_t i = 0; i < w->n_sel; i++)
        for (int wk = 0; wk < vsim_trial_n_workers(w->t); wk++)
            if (vsim_trial_has(w->t, w->sel[i], step, wk))
                return 1;
    return 0;
}

/* The steps to visit now; *out allocated. */
static int select_steps(walker *w, int64_t after, int initial, int64_t **out, size_t *n_out)
{
    const vsim_stats_run_params *p = w->p;
    size_t n = vsim_trial_list_steps(w->t, p->mode, NULL, 0), k = 0;
    int64_t *s = vsim_mallocarray(n ? n : 1, sizeof(*s));

    if (!s)
        return vsim_fail(VSIM_ENOMEM, "out of memory listing steps");
    vsim_trial_list_steps(w->t, p->mode, s, n);
    for (size_t i = 0; i < n; i++)
        if (s[i] > after && step_wanted(p, s[i]))
            s[k++] = s[i];
    if (initial && p->step < 0 && !p->has_range && !p->all_steps && k > 1) {
        /* the last complete step that holds a selected tensor (an eval step
         * may hold only losses while gradients are saved at train steps) */
        size_t j = k - 1;

        while (j > 0 && !step_holds_selection(w, s[j]))
            j--;
        s[0] = s[j];
        k = 1;
    }
    if (initial && !p->follow && k == 0) {
        vsim_free(s);
        if (p->step >= 0)
            return vsim_fail(VSIM_ENOTFOUND, "%s: step %" PRId64 " is not a complete step%s",
                             vsim_trial_dir(w->t), p->step,
                             p->mode != VSIM_MODE_ANY ? " of that mode" : "");
        return vsim_fail(VSIM_ENOTFOUND, "%s: no complete step%s", vsim_trial_dir(w->t),
                         p->has_range ? " in that range" : " yet");
    }
    *out = s;
    *n_out = k;
    return VSIM_OK;
}

/* ---- reading and computing a batch ---- */

static void reductions_to_stats(item *it, size_t n_pct, uint64_t *known)
{
    static const struct { int red, field; } map[] = {
        { VSIM_RED_MIN, VSIM_STATS_F_MIN }, { VSIM_RED_MAX, VSIM_STATS_F_MAX },
        { VSIM_RED_MEAN, VSIM_STATS_F_MEAN }, { VSIM_RED_STD, VSIM_STATS_F_STD },
        { VSIM_RED_L1, VSIM_STATS_F_L1 }, { VSIM_RED_L2, VSIM_STATS_F_L2 },
        { VSIM_RED_NAN_COUNT, VSIM_STATS_F_NAN }
    };
    vsim_stats *st = &it->st;

    memset(st, 0, sizeof(*st));
    st->min = st->max = st->mean = st->std = st->l1 = st->l2 = NAN;
    st->n_pct = n_pct;
    for (size_t i = 0; i < n_pct; i++)
        st->pct[i] = NAN;
    *known = 0;
    for (size_t i = 0; i < VSIM_ARRAY_LEN(map); i++) {
        double v = it->reds[map[i].red];

        if (!(it->red_mask & VSIM_RED_BIT(map[i].red)))
            continue;
        *known |= (uint64_t)1 << map[i].field;
        switch (map[i].field) {
        case VSIM_STATS_F_MIN: st->min = v; break;
        case VSIM_STATS_F_MAX: st->max = v; break;
        case VSIM_STATS_F_MEAN: st->mean = v; break;
        case VSIM_STATS_F_STD: st->std = v; break;
        case VSIM_STATS_F_L1: st->l1 = v; break;
        case VSIM_STATS_F_L2: st->l2 = v; break;
        default: st->n_nan = v >= 0 ? (uint64_t)v : 0; break;
        }
    }
}

/* Read tensor ti at (step, worker) into *it. 1: read; 0: skipped (problem row). */
static int read_item(walker *w, size_t ti, int64_t step, int worker, item *it, int *fatal)
{
    const vsim_tensor_info *info = vsim_trial_tensor(w->t, ti);
    int rc;

    memset(it, 0, sizeof(*it));
    it->ti = ti;
    rc = VSIM_EUNSUP;
    if (!w->p->copy_values) {
        size_t n_bytes = 0;

        if (vsim_trial_value_bytes(w->t, info->name, step, worker, &n_bytes) == VSIM_OK &&
            n_bytes >= VSIM_TRIAL_MAP_MIN)
            rc = vsim_trial_map(w->t, info->name, step, worker, 0, &it->view, &it->map,
                                &it->map_len);
    }
    if (rc == VSIM_EUNSUP)
        rc = vsim_trial_read(w->t, info->name, step, worker, &it->view, &it->data);
    if (rc == VSIM_OK) {
        it->values = 1;
        return 1;
    }
    if (rc == VSIM_ENOTFOUND && info->reductions)
        rc = vsim_trial_read_reductions(w->t, info->name, step, worker, it->reds,
                                        &it->red_mask);
    if (rc == VSIM_OK)
        return 1;
    if (rc == VSIM_ENOMEM) {
        *fatal = rc;
        return 0;
    }
    emit_problem(w, NULL, vsim_errmsg());
    return 0;
}

/* The work a tensor is: its bytes (a float64 value costs about what two float32 ones do). */
static size_t item_bytes(const item *it)
{
    return it->values ? vsim_tensor_n_elems(&it->view) * vsim_dtype_size(it->view.dtype) : 0;
}

/*
 * Statistics of a batch. Tensors run one per thread, largest first (so the
 * threads finish together, and one thread's serial phases of a tensor, its
 * percentile selection, overlap the others' work); a large tensor holding
 * more than a thread's share of what is left (size x threads > the rest,
 * itself included) would leave threads idle, so it runs alone with every
 * thread inside. Results do not depend on the split.
 */
static void compute_batch(walker *w, item *items, size_t n)
{
    vsim_stats_params sp = w->p->stats;
    int nth = vsim_omp_resolve(sp.n_threads);
    int want_hist = sp.n_bins > 0;
    size_t *order = n ? vsim_mallocarray(n, sizeof(*order)) : NULL, rest = 0, k0 = 0;

    for (size_t i = 0; i < n; i++)
        rest += item_bytes(&items[i]);
    if (order) {
        /* insertion sort by size, descending (a batch holds tens of tensors) */
        for (size_t i = 0; i < n; i++) {
            size_t k = i;

            for (; k > 0 && item_bytes(&items[order[k - 1]]) < item_bytes(&items[i]); k--)
                order[k] = order[k - 1];
            order[k] = i;
        }
        for (; k0 < n && nth > 1; k0++) {
            item *it = &items[order[k0]];
            size_t e = item_bytes(it);

            if (e < BIG_BYTES || e * (size_t)nth <= rest)
                break;
            rest -= e;
            it->rc = vsim_stats_compute(&it->view, &sp, &it->st, want_hist ? &it->hist : NULL);
        }
    } else {
        nth = 1;        /* no memory for the order: one thread, every tensor in turn */
    }
    sp.n_threads = 1;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nth) default(none) \
    shared(items, n, sp, want_hist, order, k0)
    for (size_t k = k0; k < n; k++) {
        item *it = &items[order ? order[k] : k];

        if (it->values)
            it->rc = vsim_stats_compute(&it->view, &sp, &it->st, want_hist ? &it->hist : NULL);
    }
    vsim_free(order);
}

static int emit_batch(walker *w, item *items, size_t n, int64_t step, int worker)
{
    const vsim_step_info *si = vsim_trial_find_step(w->t, step);
    uint64_t all_known = ~(uint64_t)0;

    for (size_t i = 0; i < n; i++) {
        item *it = &items[i];
        const vsim_tensor_info *info = vsim_trial_tensor(w->t, it->ti);
        vsim_stats_row row = { .kind = VSIM_STATS_ROW_TENSOR, .worker = worker, .step = step,
                               .mode = si ? si->mode : VSIM_MODE_TRAIN, .tensor = info->name,
                               .collections = info->collections,
                               .layer = w->layers[it->ti], .stats = &it->st,
                               .known = all_known };

        if (it->rc)
            return vsim_fail(it->rc, "statistics of '%s' at step %" PRId64 ": %s", info->name,
                             step, vsim_strstatus(it->rc));
        if (!it->values)
            reductions_to_stats(it, w->p->stats.n_percentiles, &row.known);
        row.hist = it->hist.counts ? &it->hist : NULL;
        if (w->p->across_steps) {
            if (it->values)
                vsim_stats_series_add(&w->series[it->ti], step, &it->st);
            continue;
        }
        emit(w, &row);
    }
    return VSIM_OK;
}

static void free_batch(item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        vsim_free(items[i].data);
        vsim_trial_unmap(items[i].map, items[i].map_len);
        vsim_hist_release(&items[i].hist);
    }
}

static int flush_batch(walker *w, size_t n, int64_t step, int worker)
{
    int rc;

    compute_batch(w, w->items, n);
    rc = emit_batch(w, w->items, n, step, worker);
    free_batch(w->items, n);
    return rc;
}

static int do_step_worker(walker *w, int64_t step, int worker)
{
    size_t batch = w->p->batch_bytes ? w->p->batch_bytes : ((size_t)32 << 20);
    size_t n = 0, bytes = 0;
    int rc = VSIM_OK;

    if (w->cap_items < w->n_sel) {
        item *it = vsim_reallocarray(w->items, w->n_sel, sizeof(*it));

        if (!it)
            return vsim_fail(VSIM_ENOMEM, "out of memory");
        w->items = it;
        w->cap_items = w->n_sel;
    }
    for (size_t k = 0; !rc && k < w->n_sel && !w->stop; k++) {
        size_t ti = w->sel[k];
        int fatal = VSIM_OK;

        if (!vsim_trial_has(w->t, ti, step, worker))
            continue;
        if (!read_item(w, ti, step, worker, &w->items[n], &fatal)) {
            rc = fatal;
            continue;
        }
        bytes += item_bytes(&w->items[n]);
        n++;
        if (bytes >= batch) {
            rc = flush_batch(w, n, step, worker);
            n = bytes = 0;
        }
    }
    if (n && !rc)
        rc = flush_batch(w, n, step, worker);
    else
        free_batch(w->items, n);
    return rc;
}

static int do_step(walker *w, int64_t step)
{
    int n_workers = vsim_trial_n_workers(w->t);
    vsim_stats_row done = { .kind = VSIM_STATS_ROW_STEP_DONE, .step = step };
    int rc = VSIM_OK;

    if (w->p->worker >= n_workers)
        return vsim_fail(VSIM_ENOTFOUND, "%s: no worker %d (the run has %d)",
                         vsim_trial_dir(w->t), w->p->worker, n_workers);
    for (int wk = 0; !rc && wk < n_workers && !w->stop; wk++)
        if (w->p->worker < 0 || w->p->worker == wk)
            rc = do_step_worker(w, step, wk);
    w->res.n_steps++;
    if (!rc && !w->p->across_steps)
        emit(w, &done);
    return rc;
}

static int do_steps(walker *w, const int64_t *steps, size_t n, int64_t *last_done)
{
    int rc = VSIM_OK;

    for (size_t i = 0; !rc && i < n && !w->stop; i++) {
        rc = do_step(w, steps[i]);
        *last_done = steps[i];
    }
    return rc;
}

static int follow(walker *w, int64_t last_done)
{
    double idle_since = vsim_clock_s();
    int rc = VSIM_OK;

    while (!rc && !w->stop && w->p->step < 0) {
        size_t n_new = 0, n = 0;
        int64_t *steps = NULL;
        int ended = vsim_trial_ended(w->t, NULL, NULL);

        rc = vsim_trial_refresh(w->t, &n_new);
        if (!rc)
            rc = select_tensors(w);
        if (!rc)
            rc = select_steps(w, last_done, 0, &steps, &n);
        emit_trial_problems(w);
        if (!rc)
            rc = do_steps(w, steps, n, &last_done);
        vsim_free(steps);
        if (n)
            idle_since = vsim_clock_s();
        else if (ended || (w->p->idle_timeout_s > 0 &&
                           vsim_clock_s() - idle_since > w->p->idle_timeout_s))
            break;
        else
            sleep_s(w->p->poll_s > 0 ? w->p->poll_s : 0.5);
    }
    return rc;
}

static void emit_series(walker *w)
{
    for (size_t k = 0; k < w->n_sel && !w->stop; k++) {
        size_t ti = w->sel[k];
        const vsim_tensor_info *info = vsim_trial_tensor(w->t, ti);
        vsim_stats_row row = { .kind = VSIM_STATS_ROW_SERIES, .worker = w->p->worker,
                               .step = w->series[ti].last_step, .tensor = info->name,
                               .collections = info->collections, .layer = w->layers[ti],
                               .series = &w->series[ti] };

        if (w->series[ti].n_obs)
            emit(w, &row);
    }
}

int vsim_stats_run_dir(const char *dir, const vsim_stats_run_params *p, vsim_stats_row_fn fn,
                       void *ctx, vsim_stats_run_result *out)
{
    walker w;
    int64_t *steps = NULL, last_done = INT64_MIN;
    size_t n_steps = 0;
    int rc;

    VSIM_ASSERT(dir && p && fn);
    memset(&w, 0, sizeof(w));
    w.p = p;
    w.fn = fn;
    w.ctx = ctx;
    rc = vsim_trial_open(dir, &w.t);
    if (rc)
        return rc;
    emit_trial_problems(&w);
    rc = select_tensors(&w);
    if (!rc)
        rc = select_steps(&w, INT64_MIN, 1, &steps, &n_steps);
    if (!rc)
        rc = do_steps(&w, steps, n_steps, &last_done);
    if (!rc && p->follow)
        rc = follow(&w, last_done);
    if (!rc && p->across_steps)
        emit_series(&w);
    if (!rc && out)
        *out = w.res;
    vsim_free(steps);
    vsim_free(w.items);
    vsim_free(w.sel);
    vsim_free(w.layers);
    vsim_free(w.series);
    vsim_trial_close(w.t);
    return rc;
}
