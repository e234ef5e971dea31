/*
 * readers/trial.c - the trial reader (readers/trial.h). Opening a run reads
 * run.json (jansson) and indexes every shard from its `vsim_index` root
 * attribute (or, for shards written by other tools, by visiting /tensors and
 * /reductions). Refresh only looks at files not seen before, so following a
 * live run costs one readdir per worker per poll. Bad files become problems
 * (path + message) and are skipped; nothing in the run is ever written.
 * SPDX-License-Identifier: MIT
 */
#include "readers/trial.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/mem.h"
#include "readers/h5.h"

typedef struct entry {
    size_t tensor;            /* index into tensors */
    char kind;                /* 'v' values, 'r' reductions */
    vsim_dtype dtype;
    int ndim;
    size_t shape[VSIM_MAX_DIMS];
    unsigned reds;
} entry;

typedef struct shard {
    char *path;
    int worker;
    int64_t step;
    vsim_mode mode;
    int64_t mode_step;
    double wall_time;
    entry *entries;           /* sorted by (tensor, kind) */
    size_t n_entries;
} shard;

typedef struct step_rec {
    vsim_step_info info;
    size_t *shard_of;         /* per worker: index into shards + 1, 0 if none */
} step_rec;

typedef struct tensor_rec {
    vsim_tensor_info info;
    char *name;
    char *colls;
} tensor_rec;

typedef struct file_cache {
    size_t shard;             /* index + 1, 0 if none */
    hid_t file;
} file_cache;

struct vsim_trial {
    char *dir;
    char *run_json;
    char *run_id;
    int n_workers;
    int ended;
    char *end_status;
    int64_t end_step;
    shard *shards;
    size_t n_shards, cap_shards;
    step_rec *steps;          /* all steps seen, sorted by step */
    size_t n_steps, cap_steps;
    vsim_step_info *complete; /* complete steps, sorted */
    size_t n_complete;
    tensor_rec *tensors;
    size_t n_tensors, cap_tensors;
    size_t *tensor_hash;      /* open addressing: index + 1 */
    size_t hash_cap;
    uint64_t *seen;           /* open addressing set of (worker, step) keys + 1 */
    size_t seen_cap, n_seen;
    vsim_trial_problem *problems;
    size_t n_problems, cap_problems;
    file_cache *cache;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static uint64_t hash_u64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static int add_problem(vsim_trial *t, const char *path, const char *msg)
{
    vsim_trial_problem *p;

    for (size_t i = 0; i < t->n_problems; i++)
        if (!strcmp(t->problems[i].path, path) && !strcmp(t->problems[i].message, msg))
            return VSIM_OK;
    if (vsim_grow((void **)&t->problems, &t->cap_problems, t->n_problems + 1, sizeof(*p)))
        return VSIM_ENOMEM;
    p = &t->problems[t->n_problems];
    p->path = vsim_strdup(path);
    p->message = vsim_strdup(msg);
    if (!p->path || !p->message) {
        vsim_free((void *)p->path);
        vsim_free((void *)p->message);
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    }
    t->n_problems++;
    return VSIM_OK;
}

/* ---- tensor table ---- */

/* Put tensor i into the hash (which has room: at most half full). */
static void hash_insert(vsim_trial *t, size_t i)
{
    size_t k = hash_str(t->tensors[i].name) & (t->hash_cap - 1);

    while (t->tensor_hash[k])
        k = (k + 1) & (t->hash_cap - 1);
    t->tensor_hash[k] = i + 1;
}

static int rehash_tensors(vsim_trial *t, size_t cap)
{
    size_t *h = vsim_calloc(cap, sizeof(*h));

    if (!h)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    vsim_free(t->tensor_hash);
    t->tensor_hash = h;
    t->hash_cap = cap;
    for (size_t i = 0; i < t->n_tensors; i++)
        hash_insert(t, i);
    return VSIM_OK;
}

static int lookup_tensor(const vsim_trial *t, const char *name, size_t *out)
{
    size_t k;

    if (!t->hash_cap)
        return 0;
    for (k = hash_str(name) & (t->hash_cap - 1); t->tensor_hash[k];
         k = (k + 1) & (t->hash_cap - 1)) {
        if (!strcmp(t->tensors[t->tensor_hash[k] - 1].name, name)) {
            *out = t->tensor_hash[k] - 1;
            return 1;
        }
    }
    return 0;
}

static int merge_collections(tensor_rec *r, const char *colls)
{
    vsim_buf b = VSIM_BUF_INIT;
    const char *p = colls;
    char *merged;

    if (vsim_buf_adds(&b, r->colls))
        return VSIM_ENOMEM;
    while (*p) {
        size_t len = strcspn(p, ",");

        if (len && !vsim_list_has(r->colls, p, len) &&
            vsim_buf_addf(&b, "%s%.*s", b.len ? "," : "", (int)len, p)) {
            vsim_buf_release(&b);
            return VSIM_ENOMEM;
        }
        p += len + (p[len] == ',');
    }
    merged = vsim_buf_detach(&b, NULL);
    if (!merged)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    vsim_free(r->colls);
    r->colls = merged;
    r->info.collections = merged;
    return VSIM_OK;
}

static int intern_tensor(vsim_trial *t, const char *name, const char *colls, size_t *out)
{
    tensor_rec *r;

    if (lookup_tensor(t, name, out))
        return merge_collections(&t->tensors[*out], colls);
    if (vsim_grow((void **)&t->tensors, &t->cap_tensors, t->n_tensors + 1, sizeof(*r)))
        return VSIM_ENOMEM;
    if ((t->n_tensors + 1) * 2 > t->hash_cap &&
        rehash_tensors(t, t->hash_cap ? t->hash_cap * 2 : 64))
        return VSIM_ENOMEM;
    r = &t->tensors[t->n_tensors];
    memset(r, 0, sizeof(*r));
    r->name = vsim_strdup(name);
    r->colls = vsim_strdup(colls);
    if (!r->name || !r->colls) {
        vsim_free(r->name);
        vsim_free(r->colls);
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    }
    r->info.name = r->name;
    r->info.collections = r->colls;
    t->n_tensors++;
    hash_insert(t, t->n_tensors - 1);
    *out = t->n_tensors - 1;
    return VSIM_OK;
}

/* ---- seen set of (worker, step) ---- */

static uint64_t seen_key(int worker, int64_t step)
{
    return ((uint64_t)step << 12 | (uint64_t)worker) + 1;
}

static int seen_has(const vsim_trial *t, uint64_t key)
{
    if (!t->seen_cap)
        return 0;
    for (size_t k = hash_u64(key) & (t->seen_cap - 1); t->seen[k]; k = (k + 1) & (t->seen_cap - 1))
        if (t->seen[k] == key)
            return 1;
    return 0;
}

static int seen_add(vsim_trial *t, uint64_t key)
{
    size_t k;

    if ((t->n_seen + 1) * 2 > t->seen_cap) {
        size_t cap = t->seen_cap ? t->seen_cap * 2 : 256;
        uint64_t *s = vsim_calloc(cap, sizeof(*s));

        if (!s)
            return vsim_fail(VSIM_ENOMEM, "out of memory");
        for (size_t i = 0; i < t->seen_cap; i++) {
            if (!t->seen[i])
                continue;
            for (k = hash_u64(t->seen[i]) & (cap - 1); s[k]; k = (k + 1) & (cap - 1))
                ;
            s[k] = t->seen[i];
        }
        vsim_free(t->seen);
        t->seen = s;
        t->seen_cap = cap;
    }
    for (k = hash_u64(key) & (t->seen_cap - 1); t->seen[k]; k = (k + 1) & (t->seen_cap - 1))
        ;
    t->seen[k] = key;
    t->n_seen++;
    return VSIM_OK;
}

/* ---- indexing one shard ---- */

typedef struct pending {
    char *name;
    char *colls;
    entry e;
} pending;

typedef struct pending_list {
    pending *items;
    size_t n, cap;
    const char *path;
    vsim_trial *t;
    int rc;
} pending_list;

static void pending_release(pending_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        vsim_free(l->items[i].name);
        vsim_free(l->items[i].colls);
    }
    vsim_free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}

static int pending_add(pending_list *l, const char *name, size_t name_len, const char *colls,
                       size_t colls_len, const entry *e)
{
    pending *p;

    if (vsim_grow((void **)&l->items, &l->cap, l->n + 1, sizeof(*p)))
        return VSIM_ENOMEM;
    p = &l->items[l->n];
    p->name = vsim_strndup(name, name_len);
    p->colls = vsim_strndup(colls, colls_len);
    p->e = *e;
    if (!p->name || !p->colls) {
        vsim_free(p->name);
        vsim_free(p->colls);
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    }
    l->n++;
    return VSIM_OK;
}

static int parse_shape(const char *s, size_t len, entry *e)
{
    e->ndim = 0;
    while (len) {
        char *end;
        unsigned long long v;

        if (e->ndim == VSIM_MAX_DIMS)
            return -1;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || end == s || (size_t)(end - s) > len)
            return -1;
        e->shape[e->ndim++] = (size_t)v;
        len -= (size_t)(end - s);
        s = end;
        if (len) {
            if (*s != ',')
                return -1;
            s++;
            len--;
        }
    }
    return 0;
}

/* One vsim_index line: kind \t name \t dtype \t shape \t collections \t reductions. */
static int parse_index_line(pending_list *l, const char *line, size_t len)
{
    const char *f[6];
    size_t fl[6];
    size_t k = 0;
    const char *p = line, *end = line + len;
    entry e = { 0 };
    char dt[16], reds[256];

    while (k < 6) {
        const char *tab = memchr(p, '\t', (size_t)(end - p));

        f[k] = p;
        fl[k] = tab ? (size_t)(tab - p) : (size_t)(end - p);
        k++;
        if (!tab)
            break;
        p = tab + 1;
    }
    if (k != 6 || fl[0] != 1 || (f[0][0] != 'v' && f[0][0] != 'r') || !fl[1] ||
        fl[2] >= sizeof(dt) || fl[5] >= sizeof(reds))
        return add_problem(l->t, l->path, "malformed vsim_index line");
    e.kind = f[0][0];
    memcpy(dt, f[2], fl[2]);
    dt[fl[2]] = '\0';
    memcpy(reds, f[5], fl[5]);
    reds[fl[5]] = '\0';
    e.dtype = vsim_dtype_parse(dt);
    if (e.dtype == VSIM_DTYPE_INVALID || parse_shape(f[3], fl[3], &e) ||
        vsim_reduction_parse_list(reds, &e.reds)) {
        char msg[512];

        snprintf(msg, sizeof(msg), "tensor '%.*s': unsupported dtype '%s' or bad shape",
                 (int)fl[1], f[1], dt);
        return add_problem(l->t, l->path, msg);
    }
    return pending_add(l, f[1], fl[1], f[4], fl[4], &e);
}

static int parse_index(pending_list *l, const char *text)
{
    const char *p = text;

    while (*p) {
        size_t len = strcspn(p, "\n");
        int rc = len ? parse_index_line(l, p, len) : VSIM_OK;

        if (rc)
            return rc;
        p += len + (p[len] == '\n');
    }
    return VSIM_OK;
}

/* Fallback for shards without vsim_index: look at each dataset. */
static void describe_dataset(pending_list *l, hid_t d, const char *name, char kind)
{
    hid_t type = H5Dget_type(d), space = H5Dget_space(d);
    vsim_buf colls = VSIM_BUF_INIT, reds = VSIM_BUF_INIT, msg = VSIM_BUF_INIT;
    entry e = { 0 };
    hsize_t dims[H5S_MAX_RANK];
    int nd = H5Sget_simple_extent_ndims(space);

    e.kind = kind;
    e.dtype = kind == 'r' ? VSIM_F64 : vsim_h5_dtype_of(type);
    if (e.dtype == VSIM_DTYPE_INVALID || nd < 0 || nd > VSIM_MAX_DIMS) {
        vsim_buf_addf(&msg, "dataset '%s' has ", name);
        vsim_h5_describe_type(type, &msg);
        vsim_buf_addf(&msg, " values of rank %d; want float32/float64/int32/int64/uint8, "
                      "rank <= %d", nd, VSIM_MAX_DIMS);
        if (add_problem(l->t, l->path, msg.buf))
            l->rc = VSIM_ENOMEM;
        goto done;
    }
    H5Sget_simple_extent_dims(space, dims, NULL);
    e.ndim = nd;
    for (int i = 0; i < nd; i++)
        e.shape[i] = (size_t)dims[i];
    vsim_h5_attr_get_str(d, "collections", &colls);
    if (kind == 'r') {
        int64_t shape[VSIM_MAX_DIMS];

        vsim_h5_attr_get_str(d, "reductions", &reds);
        vsim_reduction_parse_list(reds.buf, &e.reds);
        vsim_buf_reset(&reds);
        vsim_h5_attr_get_str(d, "dtype", &reds);
        e.dtype = vsim_dtype_parse(reds.buf);
        e.ndim = 0;
        if (H5Aexists(d, "shape") > 0) {
            hid_t a = H5Aopen(d, "shape", H5P_DEFAULT), as = H5Aget_space(a);
            hssize_t n = H5Sget_simple_extent_npoints(as);

            if (n >= 0 && n <= VSIM_MAX_DIMS && H5Aread(a, H5T_NATIVE_INT64, shape) >= 0) {
                e.ndim = (int)n;
                for (int i = 0; i < e.ndim; i++)
                    e.shape[i] = (size_t)shape[i];
            }
            H5Sclose(as);
            H5Aclose(a);
        }
        if (e.dtype == VSIM_DTYPE_INVALID)
            e.dtype = VSIM_F64;
    }
    if (pending_add(l, name, strlen(name), colls.buf, colls.len, &e))
        l->rc = VSIM_ENOMEM;
done:
    vsim_buf_release(&colls);
    vsim_buf_release(&reds);
    vsim_buf_release(&msg);
    H5Tclose(type);
    H5Sclose(space);
}

typedef struct visit_ctx {
    pending_list *l;
    char kind;
} visit_ctx;

static herr_t visit_link(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    visit_ctx *v = data;
    H5O_info_t oi;
    hid_t d;

    (void)info;
    if (H5Oget_info_by_name(g, name, &oi, H5P_DEFAULT) < 0 || oi.type != H5O_TYPE_DATASET)
        return 0;
    d = H5Dopen2(g, name, H5P_DEFAULT);
    if (d < 0)
        return 0;
    describe_dataset(v->l, d, name, v->kind);
    H5Dclose(d);
    return v->l->rc ? -1 : 0;
}

static int visit_group(pending_list *l, hid_t file, const char *group, char kind)
{
    visit_ctx v = { l, kind };
    hid_t g;

    if (H5Lexists(file, group, H5P_DEFAULT) <= 0)
        return VSIM_OK;
    g = H5Gopen2(file, group, H5P_DEFAULT);
    if (g < 0)
        return add_problem(l->t, l->path, "group unreadable");
    H5Lvisit(g, H5_INDEX_NAME, H5_ITER_INC, visit_link, &v);
    H5Gclose(g);
    return l->rc;
}

typedef struct shard_head {
    int64_t step, mode_step;
    int64_t worker;
    vsim_mode mode;
    double wall_time;
} shard_head;

static int read_head(vsim_trial *t, hid_t f, const char *path, shard_head *h, int64_t step,
                     int worker)
{
    vsim_buf s = VSIM_BUF_INIT, msg = VSIM_BUF_INIT;
    int rc = VSIM_OK;

    if (vsim_h5_attr_get_str(f, "vsim_schema", &s)) {
        vsim_buf_addf(&msg, "not a vsim shard: %s", vsim_errmsg());
    } else if (strcmp(s.buf, VSIM_SHARD_SCHEMA) != 0) {
        vsim_buf_addf(&msg, "unknown shard schema '%s' (want " VSIM_SHARD_SCHEMA ")", s.buf);
    } else if (vsim_h5_attr_get_i64(f, "step", &h->step) ||
               vsim_h5_attr_get_i64(f, "worker", &h->worker)) {
        vsim_buf_addf(&msg, "bad header: %s", vsim_errmsg());
    } else if (h->step != step || h->worker != worker) {
        vsim_buf_addf(&msg, "header says step %" PRId64 " worker %" PRId64
                      ", file name says step %" PRId64 " worker %d", h->step, h->worker, step,
                      worker);
    } else {
        vsim_buf_reset(&s);
        if (vsim_h5_attr_get_str(f, "mode", &s) || vsim_mode_parse(s.buf, &h->mode))
            vsim_buf_addf(&msg, "bad mode attribute: %s", vsim_errmsg());
        if (vsim_h5_attr_get_i64(f, "mode_step", &h->mode_step))
            h->mode_step = h->step;
        if (vsim_h5_attr_get_f64(f, "wall_time", &h->wall_time))
            h->wall_time = 0;
    }
    if (msg.len)
        rc = add_problem(t, path, msg.buf) ? VSIM_ENOMEM : 1;
    vsim_buf_release(&s);
    vsim_buf_release(&msg);
    return rc;
}

static int cmp_entry(const void *a, const void *b)
{
    const entry *x = a, *y = b;

    if (x->tensor != y->tensor)
        return x->tensor < y->tensor ? -1 : 1;
    return (x->kind > y->kind) - (x->kind < y->kind);
}

static step_rec *find_step_rec(const vsim_trial *t, int64_t step, size_t *pos)
{
    size_t lo = 0, hi = t->n_steps;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (t->steps[mid].info.step < step)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (pos)
        *pos = lo;
    return (lo < t->n_steps && t->steps[lo].info.step == step) ? &t->steps[lo] : NULL;
}

/* Register a checked shard; takes the entries. Returns status; 1 if refused as a problem. */
static int add_shard(vsim_trial *t, const char *path, const shard_head *h, pending_list *l)
{
    size_t pos, si = t->n_shards;
    step_rec *sr = find_step_rec(t, h->step, &pos);
    shard *s;
    int rc;

    if (sr && (sr->info.mode != h->mode || sr->info.mode_step != h->mode_step)) {
        char msg[256];

        snprintf(msg, sizeof(msg), "step %" PRId64 " is %s step %" PRId64
                 " here but %s step %" PRId64 " in another worker's shard", h->step,
                 vsim_mode_name(h->mode), h->mode_step, vsim_mode_name(sr->info.mode),
                 sr->info.mode_step);
        return add_problem(t, path, msg) ? VSIM_ENOMEM : 1;
    }
    if (vsim_grow((void **)&t->shards, &t->cap_shards, t->n_shards + 1, sizeof(*s)))
        return VSIM_ENOMEM;
    s = &t->shards[si];
    memset(s, 0, sizeof(*s));
    s->path = vsim_strdup(path);
    s->entries = vsim_calloc(l->n ? l->n : 1, sizeof(entry));
    if (!s->path || !s->entries) {
        vsim_free(s->path);
        vsim_free(s->entries);
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    }
    s->worker = (int)h->worker;
    s->step = h->step;
    s->mode = h->mode;
    s->mode_step = h->mode_step;
    s->wall_time = h->wall_time;
    for (size_t i = 0; i < l->n; i++) {
        tensor_rec *r;

        rc = intern_tensor(t, l->items[i].name, l->items[i].colls, &l->items[i].e.tensor);
        if (rc) {
            vsim_free(s->path);
            vsim_free(s->entries);
            return rc;
        }
        r = &t->tensors[l->items[i].e.tensor];
        s->entries[s->n_entries++] = l->items[i].e;
        r->info.n_saves += l->items[i].e.kind == 'v';
        if (l->items[i].e.kind == 'v') {
            r->info.has_values = 1;
        } else {
            r->info.reductions |= l->items[i].e.reds;
            r->info.n_saves += !r->info.has_values;
        }
        r->info.dtype = l->items[i].e.dtype;
        r->info.ndim = l->items[i].e.ndim;
        memcpy(r->info.shape, l->items[i].e.shape, sizeof(r->info.shape));
    }
    qsort(s->entries, s->n_entries, sizeof(entry), cmp_entry);
    t->n_shards++;
    if (!sr) {
        if (vsim_grow((void **)&t->steps, &t->cap_steps, t->n_steps + 1, sizeof(*sr)))
            return VSIM_ENOMEM;
        memmove(&t->steps[pos + 1], &t->steps[pos], (t->n_steps - pos) * sizeof(*sr));
        sr = &t->steps[pos];
        memset(sr, 0, sizeof(*sr));
        sr->shard_of = vsim_calloc((size_t)t->n_workers, sizeof(size_t));
        if (!sr->shard_of) {
            memmove(&t->steps[pos], &t->steps[pos + 1], (t->n_steps - pos) * sizeof(*sr));
            return vsim_fail(VSIM_ENOMEM, "out of memory");
        }
        t->n_steps++;
        sr->info.step = h->step;
        sr->info.mode = h->mode;
        sr->info.mode_step = h->mode_step;
    }
    sr->shard_of[h->worker] = si + 1;
    sr->info.n_shards++;
    if (h->worker == 0 || sr->info.wall_time == 0)
        sr->info.wall_time = h->wall_time;
    return VSIM_OK;
}

static int index_shard(vsim_trial *t, const char *path, int worker, int64_t step)
{
    pending_list l = { .path = path, .t = t };
    vsim_buf index = VSIM_BUF_INIT;
    shard_head h = { 0 };
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    int rc;

    if (f < 0)
        return add_problem(t, path, "not a readable HDF5 file (truncated or corrupt)");
    rc = read_head(t, f, path, &h, step, worker);
    if (rc == 0) {
        if (vsim_h5_attr_get_str(f, "vsim_index", &index) == VSIM_OK) {
            rc = parse_index(&l, index.buf);
        } else {
            rc = visit_group(&l, f, "/tensors", 'v');
            if (!rc)
                rc = visit_group(&l, f, "/reductions", 'r');
        }
        if (!rc)
            rc = add_shard(t, path, &h, &l);
    }
    H5Fclose(f);
    pending_release(&l);
    vsim_buf_release(&index);
    return rc < 0 ? rc : VSIM_OK;
}

static int scan_worker(vsim_trial *t, int worker)
{
    vsim_buf dir = VSIM_BUF_INIT, path = VSIM_BUF_INIT;
    struct dirent *de;
    DIR *d;
    int rc = VSIM_OK;

    if (vsim_buf_addf(&dir, "%s/" VSIM_RUN_SHARDS "/w%d", t->dir, worker))
        return VSIM_ENOMEM;
    d = opendir(dir.buf);
    if (!d) {
        vsim_buf_release(&dir);
        return VSIM_OK;   /* this worker has not saved anything yet */
    }
    while (!rc && (de = readdir(d)) != NULL) {
        int64_t step;
        uint64_t key;

        if (!vsim_run_parse_shard_name(de->d_name, &step))
            continue;   /* *.tmp and foreign files are not shards */
        key = seen_key(worker, step);
        if (seen_has(t, key))
            continue;
        rc = seen_add(t, key);
        vsim_buf_reset(&path);
        if (!rc)
            rc = vsim_buf_addf(&path, "%s/%s", dir.buf, de->d_name);
        if (!rc)
            rc = index_shard(t, path.buf, worker, step);
    }
    closedir(d);
    vsim_buf_release(&dir);
    vsim_buf_release(&path);
    return rc;
}

static int read_end(vsim_trial *t)
{
    vsim_buf path = VSIM_BUF_INIT, text = VSIM_BUF_INIT;
    json_error_t err;
    json_t *j = NULL, *st, *ls;
    int rc = vsim_buf_addf(&path, "%s/" VSIM_RUN_END, t->dir);

    if (rc || t->ended || !vsim_fs_exists(path.buf))
        goto done;
    rc = vsim_fs_read_file(path.buf, &text);
    if (rc) {
        rc = add_problem(t, path.buf, vsim_errmsg());
        goto done;
    }
    j = json_loadb(text.buf, text.len, 0, &err);
    st = j ? json_object_get(j, "status") : NULL;
    ls = j ? json_object_get(j, "last_step") : NULL;
    t->ended = 1;
    t->end_status = vsim_strdup(json_is_string(st) ? json_string_value(st) : "unknown");
    t->end_step = json_is_integer(ls) ? json_integer_value(ls) : -1;
    if (!t->end_status)
        rc = vsim_fail(VSIM_ENOMEM, "out of memory");
    else if (!json_is_string(st))
        rc = add_problem(t, path.buf, "END is not JSON with a \"status\" string");
done:
    json_decref(j);
    vsim_buf_release(&path);
    vsim_buf_release(&text);
    return rc;
}

static int rebuild_complete(vsim_trial *t, size_t *n_new)
{
    size_t n = 0, old = t->n_complete;
    vsim_step_info *c = vsim_reallocarray(t->complete, t->n_steps ? t->n_steps : 1,
                                          sizeof(*c));

    if (!c)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    t->complete = c;
    for (size_t i = 0; i < t->n_steps; i++)
        if (t->steps[i].info.n_shards == t->n_workers)
            c[n++] = t->steps[i].info;
    t->n_complete = n;
    if (n_new)
        *n_new = n > old ? n - old : 0;
    return VSIM_OK;
}

static void cache_drop(const vsim_trial *t)
{
    if (t->cache->shard) {
        H5Fclose(t->cache->file);
        t->cache->shard = 0;
    }
}

int vsim_trial_refresh(vsim_trial *t, size_t *n_new_steps)
{
    int rc = VSIM_OK;

    if (n_new_steps)
        *n_new_steps = 0;
    rc = read_end(t);
    for (int w = 0; !rc && w < t->n_workers; w++)
        rc = scan_worker(t, w);
    if (!rc)
        rc = rebuild_complete(t, n_new_steps);
    return rc;
}

/* ---- open / close ---- */

static int load_run_json(vsim_trial *t)
{
    vsim_buf path = VSIM_BUF_INIT, text = VSIM_BUF_INIT;
    json_error_t err;
    json_t *j = NULL, *v;
    int rc = vsim_buf_addf(&path, "%s/" VSIM_RUN_JSON, t->dir);

    if (rc)
        goto done;
    if (!vsim_fs_is_dir(t->dir)) {
        rc = vsim_fs_exists(t->dir)
                 ? vsim_fail(VSIM_ENOTFOUND, "%s: not a run directory (not a folder)", t->dir)
                 : vsim_fail(VSIM_ENOTFOUND, "%s: no such run directory", t->dir);
        goto done;
    }
    if (!vsim_fs_exists(path.buf)) {
        rc = vsim_fail(VSIM_ENOTFOUND, "%s: not a run directory (no run.json)", t->dir);
        goto done;
    }
    rc = vsim_fs_read_file(path.buf, &text);
    if (rc)
        goto done;
    j = json_loadb(text.buf, text.len, 0, &err);
    if (!j) {
        rc = vsim_fail(VSIM_EFORMAT, "%s: line %d: %s", path.buf, err.line, err.text);
        goto done;
    }
    v = json_object_get(j, "schema");
    if (!json_is_string(v)) {
        rc = vsim_fail(VSIM_EFORMAT, "%s: no \"schema\" string", path.buf);
        goto done;
    }
    if (strcmp(json_string_value(v), VSIM_RUN_SCHEMA) != 0) {
        rc = vsim_fail(VSIM_EFORMAT, "%s: unknown schema '%s' (this vsim reads " VSIM_RUN_SCHEMA
                       ")", path.buf, json_string_value(v));
        goto done;
    }
    v = json_object_get(j, "n_workers");
    t->n_workers = json_is_integer(v) ? (int)json_integer_value(v) : 1;
    if (t->n_workers < 1 || t->n_workers > 4096) {
        rc = vsim_fail(VSIM_EFORMAT, "%s: n_workers %d out of range 1..4096", path.buf,
                       t->n_workers);
        goto done;
    }
    v = json_object_get(j, "run_id");
    t->run_id = vsim_strdup(json_is_string(v) ? json_string_value(v) : "");
    t->run_json = vsim_buf_detach(&text, NULL);
    if (!t->run_id || !t->run_json)
        rc = vsim_fail(VSIM_ENOMEM, "out of memory");
done:
    json_decref(j);
    vsim_buf_release(&path);
    vsim_buf_release(&text);
    return rc;
}

int vsim_trial_open(const char *dir, vsim_trial **out)
{
    vsim_trial *t = vsim_calloc(1, sizeof(*t));
    size_t n;
    int rc;

    *out = NULL;
    if (!t)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    vsim_h5_quiet();
    t->dir = vsim_strdup(dir);
    t->cache = vsim_calloc(1, sizeof(*t->cache));
    if (!t->dir || !t->cache) {
        rc = vsim_fail(VSIM_ENOMEM, "out of memory");
        goto fail;
    }
    n = strlen(t->dir);
    while (n > 1 && t->dir[n - 1] == '/')
        t->dir[--n] = '\0';
    rc = load_run_json(t);
    if (!rc)
        rc = vsim_trial_refresh(t, NULL);
    if (rc)
        goto fail;
    *out = t;
    return VSIM_OK;
fail:
    vsim_trial_close(t);
    return rc;
}

void vsim_trial_close(vsim_trial *t)
{
    if (!t)
        return;
    if (t->cache)
        cache_drop(t);
    for (size_t i = 0; i < t->n_shards; i++) {
        vsim_free(t->shards[i].path);
        vsim_free(t->shards[i].entries);
    }
    for (size_t i = 0; i < t->n_steps; i++)
        vsim_free(t->steps[i].shard_of);
    for (size_t i = 0; i < t->n_tensors; i++) {
        vsim_free(t->tensors[i].name);
        vsim_free(t->tensors[i].colls);
    }
    for (size_t i = 0; i < t->n_problems; i++) {
        vsim_free((void *)t->problems[i].path);
        vsim_free((void *)t->problems[i].message);
    }
    vsim_free(t->shards);
    vsim_free(t->steps);
    vsim_free(t->complete);
    vsim_free(t->tensors);
    vsim_free(t->tensor_hash);
    vsim_free(t->seen);
    vsim_free(t->problems);
    vsim_free(t->cache);
    vsim_free(t->end_status);
    vsim_free(t->run_json);
    vsim_free(t->run_id);
    vsim_free(t->dir);
    vsim_free(t);
}

/* ---- accessors ---- */

const char *vsim_trial_dir(const vsim_trial *t) { return t->dir; }
const char *vsim_trial_run_id(const vsim_trial *t) { return t->run_id; }
const char *vsim_trial_run_json(const vsim_trial *t) { return t->run_json; }
int vsim_trial_n_workers(const vsim_trial *t) { return t->n_workers; }

int vsim_trial_ended(const vsim_trial *t, const char **status, int64_t *last_step)
{
    if (!t->ended)
        return 0;
    if (status)
        *status = t->end_status;
    if (last_step)
        *last_step = t->end_step;
    return 1;
}

size_t vsim_trial_n_steps(const vsim_trial *t) { return t->n_complete; }

const vsim_step_info *vsim_trial_step(const vsim_trial *t, size_t i)
{
    VSIM_ASSERT(i < t->n_complete);
    return &t->complete[i];
}

size_t vsim_trial_list_steps(const vsim_trial *t, int mode, int64_t *out, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < t->n_complete; i++) {
        if (mode != VSIM_MODE_ANY && (int)t->complete[i].mode != mode)
            continue;
        if (n < cap)
            out[n] = t->complete[i].step;
        n++;
    }
    return n;
}

size_t vsim_trial_n_incomplete(const vsim_trial *t) { return t->n_steps - t->n_complete; }

const vsim_step_info *vsim_trial_find_step(const vsim_trial *t, int64_t step)
{
    const step_rec *sr = find_step_rec(t, step, NULL);

    return (sr && sr->info.n_shards == t->n_workers) ? &sr->info : NULL;
}

size_t vsim_trial_n_tensors(const vsim_trial *t) { return t->n_tensors; }

const vsim_tensor_info *vsim_trial_tensor(const vsim_trial *t, size_t i)
{
    VSIM_ASSERT(i < t->n_tensors);
    return &t->tensors[i].info;
}

int vsim_trial_find_tensor(const vsim_trial *t, const char *name, size_t *out)
{
    if (lookup_tensor(t, name, out))
        return VSIM_OK;
    return vsim_fail(VSIM_ENOTFOUND, "%s: no tensor named '%s'", t->dir, name);
}

int vsim_trial_match(const vsim_trial *t, const char *collection, const char *regex,
                     size_t **out, size_t *n_out)
{
    size_t *idx = vsim_calloc(t->n_tensors ? t->n_tensors : 1, sizeof(*idx));
    regex_t re;
    size_t n = 0;
    int e;

    *out = NULL;
    *n_out = 0;
    if (!idx)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    if (regex && (e = regcomp(&re, regex, REG_EXTENDED | REG_NOSUB)) != 0) {
        char msg[128];

        regerror(e, &re, msg, sizeof(msg));
        vsim_free(idx);
        return vsim_fail(VSIM_EINVAL, "bad regular expression '%s': %s", regex, msg);
    }
    for (size_t i = 0; i < t->n_tensors; i++) {
        if (collection && !vsim_list_has(t->tensors[i].colls, collection, strlen(collection)))
            continue;
        if (regex && regexec(&re, t->tensors[i].name, 0, NULL, 0) != 0)
            continue;
        idx[n++] = i;
    }
    if (regex)
        regfree(&re);
    *out = idx;
    *n_out = n;
    return VSIM_OK;
}

static const entry *find_entry(const shard *s, size_t tensor, char kind)
{
    entry key = { .tensor = tensor, .kind = kind };

    return bsearch(&key, s->entries, s->n_entries, sizeof(entry), cmp_entry);
}

static const shard *shard_at(const vsim_trial *t, int64_t step, int worker)
{
    const step_rec *sr = find_step_rec(t, step, NULL);

    if (!sr || worker < 0 || worker >= t->n_workers || !sr->shard_of[worker])
        return NULL;
    return &t->shards[sr->shard_of[worker] - 1];
}

int vsim_trial_has(const vsim_trial *t, size_t i, int64_t step, int worker)
{
    const shard *s = shard_at(t, step, worker);

    return s && (find_entry(s, i, 'v') || find_entry(s, i, 'r'));
}

size_t vsim_trial_tensor_steps(const vsim_trial *t, size_t i, int64_t *out, size_t cap)
{
    size_t n = 0;

    for (size_t k = 0; k < t->n_complete; k++) {
        int64_t step = t->complete[k].step;
        int found = 0;

        for (int w = 0; w < t->n_workers && !found; w++)
            found = vsim_trial_has(t, i, step, w);
        if (!found)
            continue;
        if (n < cap)
            out[n] = step;
        n++;
    }
    return n;
}

int64_t vsim_trial_tensor_last_step(const vsim_trial *t, size_t i)
{
    for (size_t k = t->n_complete; k-- > 0;)
        for (int w = 0; w < t->n_workers; w++)
            if (vsim_trial_has(t, i, t->complete[k].step, w))
                return t->complete[k].step;
    return -1;
}

size_t vsim_trial_n_problems(const vsim_trial *t) { return t->n_problems; }

const vsim_trial_problem *vsim_trial_problem_at(const vsim_trial *t, size_t i)
{
    VSIM_ASSERT(i < t->n_problems);
    return &t->problems[i];
}

/* ---- reading ---- */

static int locate(const vsim_trial *t, const char *name, int64_t step, int worker, char kind,
                  const shard **out_s, const entry **out_e)
{
    size_t ti;
    const shard *s;
    const entry *e = NULL;

    if (!lookup_tensor(t, name, &ti))
        return vsim_fail(VSIM_ENOTFOUND, "%s: no tensor named '%s'", t->dir, name);
    s = shard_at(t, step, worker);
    if (s)
        e = find_entry(s, ti, kind);
    if (!e)
        return vsim_fail(VSIM_ENOTFOUND, "%s: %s of '%s' not saved at step %" PRId64
                         " worker %d", t->dir, kind == 'v' ? "values" : "reductions", name,
                         step, worker);
    *out_s = s;
    *out_e = e;
    return VSIM_OK;
}

static hid_t open_cached(const vsim_trial *t, const shard *s)
{
    size_t idx = (size_t)(s - t->shards) + 1;

    if (t->cache->shard == idx)
        return t->cache->file;
    cache_drop(t);
    t->cache->file = H5Fopen(s->path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (t->cache->file < 0)
        return H5I_INVALID_HID;
    t->cache->shard = idx;
    return t->cache->file;
}

static int check_dataset(const shard *s, const entry *e, hid_t d, const char *path,
                         vsim_dtype want)
{
    hid_t type = H5Dget_type(d), space = H5Dget_space(d);
    hsize_t dims[H5S_MAX_RANK];
    int nd = H5Sget_simple_extent_ndims(space);
    vsim_dtype got = vsim_h5_dtype_of(type);
    int rc = VSIM_OK;

    if (got != want) {
        vsim_buf desc = VSIM_BUF_INIT;

        vsim_h5_describe_type(type, &desc);
        rc = vsim_fail(VSIM_EFORMAT, "%s: dataset '%s' has dtype %s, its index says %s",
                       s->path, path, desc.buf, vsim_dtype_name(want));
        vsim_buf_release(&desc);
    } else if (e->kind == 'v') {
        int same = nd == e->ndim;

        if (same && nd > 0)
            H5Sget_simple_extent_dims(space, dims, NULL);
        for (int i = 0; same && i < nd; i++)
            same = dims[i] == e->shape[i];
        if (!same)
            rc = vsim_fail(VSIM_EFORMAT, "%s: dataset '%s' has a shape other than its index "
                           "says (rank %d, want %d)", s->path, path, nd, e->ndim);
    }
    H5Tclose(type);
    H5Sclose(space);
    return rc;
}

/*
 * Where the n_bytes of dataset d lie as raw values: a contiguous, allocated
 * dataset whose file type is the native dtype has them at file offset *off of
 * descriptor *fd (H5Dget_offset, HDF5's documented direct-access call).
 * Returns 0 then, -1 otherwise (chunked, compressed, other byte order).
 */
static int raw_span(hid_t f, hid_t d, vsim_dtype dtype, size_t n_bytes, haddr_t *off, int *fd)
{
    hid_t type;
    void *handle = NULL;
    htri_t same;

    *off = H5Dget_offset(d);
    if (*off == HADDR_UNDEF || H5Dget_storage_size(d) != (hsize_t)n_bytes)
        return -1;
    type = H5Dget_type(d);
    same = H5Tequal(type, vsim_h5_native(dtype));
    H5Tclose(type);
    if (same <= 0 || H5Fget_vfd_handle(f, H5P_DEFAULT, &handle) < 0 || !handle)
        return -1;
    *fd = *(int *)handle;
    return 0;
}

/*
 * Fast path for the common case (raw_span): one pread() of the values. It
 * saves HDF5's per-read machinery, about a fifth of the time for 1 MB tensors
 * (bench_io). Returns 0 when done, -1 to fall back to H5Dread.
 */
static int read_direct(hid_t f, hid_t d, vsim_dtype dtype, void *buf, size_t n_elems)
{
    size_t n_bytes = n_elems * vsim_dtype_size(dtype);
    haddr_t off;
    int fd;
    char *p = buf;

    if (raw_span(f, d, dtype, n_bytes, &off, &fd))
        return -1;
    while (n_bytes) {
        ssize_t r = pread(fd, p, n_bytes, (off_t)off);

        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            return -1;
        }
        p += r;
        off += (haddr_t)r;
        n_bytes -= (size_t)r;
    }
    return 0;
}

/*
 * Open dataset /group/name of shard s and check it against its index entry e:
 * *f the file, *d the dataset (H5I_INVALID_HID when not opened; the caller
 * closes it), *path its name.
 */
static int open_dataset(const vsim_trial *t, const shard *s, const entry *e, const char *group,
                        const char *name, vsim_dtype dtype, vsim_buf *path, hid_t *f, hid_t *d)
{
    int rc;

    *d = H5I_INVALID_HID;
    *f = open_cached(t, s);
    if (*f < 0)
        return vsim_fail(VSIM_EIO, "%s: cannot open shard (removed, truncated or corrupt)",
                         s->path);
    rc = vsim_buf_addf(path, "/%s/%s", group, name);
    if (rc)
        return rc;
    *d = H5Dopen2(*f, path->buf, H5P_DEFAULT);
    if (*d < 0)
        return vsim_fail(VSIM_EFORMAT, "%s: dataset '%s' missing though indexed", s->path,
                         path->buf);
    return check_dataset(s, e, *d, path->buf, dtype);
}

static int read_dataset(const vsim_trial *t, const shard *s, const entry *e, const char *group,
                        const char *name, vsim_dtype dtype, void *buf, size_t n_elems)
{
    vsim_buf path = VSIM_BUF_INIT;
    hid_t f, d;
    int rc = open_dataset(t, s, e, group, name, dtype, &path, &f, &d);

    if (!rc && e->kind == 'r') {
        hid_t sp = H5Dget_space(d);

        if (H5Sget_simple_extent_npoints(sp) != (hssize_t)n_elems)
            rc = vsim_fail(VSIM_EFORMAT, "%s: dataset '%s' holds %lld reductions, want %zu",
                           s->path, path.buf, (long long)H5Sget_simple_extent_npoints(sp),
                           n_elems);
        H5Sclose(sp);
    }
    if (!rc && n_elems && read_direct(f, d, dtype, buf, n_elems) != 0 &&
        H5Dread(d, vsim_h5_native(dtype), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        rc = vsim_fail(VSIM_EIO, "%s: cannot read dataset '%s' (truncated or corrupt)",
                       s->path, path.buf);
    if (d >= 0)
        H5Dclose(d);
    vsim_buf_release(&path);
    return rc;
}

static void view_of(const entry *e, void *data, vsim_tensor *out)
{
    vsim_tensor_init(out, e->dtype, e->ndim, e->shape, data);
}

static size_t entry_bytes(const entry *e)
{
    size_t n = vsim_dtype_size(e->dtype);

    for (int i = 0; i < e->ndim; i++) {
        if (e->shape[i] && n > SIZE_MAX / e->shape[i])
            return SIZE_MAX;
        n *= e->shape[i];
    }
    return n;
}

/* The shard and index entry of name's values at (step, worker), and their size. */
static int locate_values(const vsim_trial *t, const char *name, int64_t step, int worker,
                         const shard **s, const entry **e, size_t *n_bytes)
{
    int rc = locate(t, name, step, worker, 'v', s, e);

    if (rc)
        return rc;
    *n_bytes = entry_bytes(*e);
    if (*n_bytes == SIZE_MAX)
        return vsim_fail(VSIM_EFORMAT, "%s: '%s' has an impossible shape", (*s)->path, name);
    return VSIM_OK;
}

int vsim_trial_value_bytes(const vsim_trial *t, const char *name, int64_t step, int worker,
                           size_t *out_bytes)
{
    const shard *s;
    const entry *e;

    return locate_values(t, name, step, worker, &s, &e, out_bytes);
}

int vsim_trial_read_into(const vsim_trial *t, const char *name, int64_t step, int worker,
                         void *buf, size_t cap_bytes, vsim_tensor *out_view)
{
    const shard *s;
    const entry *e;
    size_t n_bytes;
    int rc = locate_values(t, name, step, worker, &s, &e, &n_bytes);

    if (rc)
        return rc;
    if (n_bytes > cap_bytes)
        return vsim_fail(VSIM_ERANGE, "%s: '%s' needs %zu bytes, buffer has %zu", s->path, name,
                         n_bytes, cap_bytes);
    rc = read_dataset(t, s, e, "tensors", name, e->dtype, buf, n_bytes / vsim_dtype_size(e->dtype));
    if (!rc)
        view_of(e, buf, out_view);
    return rc;
}

int vsim_trial_map(const vsim_trial *t, const char *name, int64_t step, int worker,
                   unsigned flags, vsim_tensor *out_view, void **out_map, size_t *out_len)
{
    const shard *s;
    const entry *e;
    vsim_buf path = VSIM_BUF_INIT;
    hid_t f, d;
    void *map;
    size_t n_bytes, lo, pg = (size_t)sysconf(_SC_PAGESIZE);
    haddr_t off;
    struct stat sb;
    int fd;
    int rc = locate_values(t, name, step, worker, &s, &e, &n_bytes);

    if (rc)
        return rc;
    if (n_bytes == 0)
        return VSIM_EUNSUP;
    rc = open_dataset(t, s, e, "tensors", name, e->dtype, &path, &f, &d);
    if (rc)
        goto done;
    rc = VSIM_EUNSUP;       /* from here: not mappable, the caller reads it instead */
    if (raw_span(f, d, e->dtype, n_bytes, &off, &fd) ||
        off % vsim_dtype_size(e->dtype))    /* values must sit at aligned addresses */
        goto done;
    /* the file must hold every byte now: a short file is an error, not a SIGBUS later */
    if (fstat(fd, &sb)) {
        rc = vsim_fail(VSIM_EIO, "%s: %s", s->path, strerror(errno));
        goto done;
    }
    if ((uint64_t)sb.st_size < (uint64_t)off + n_bytes) {
        rc = vsim_fail(VSIM_EIO, "%s: dataset '%s' extends past the end of the file "
                       "(truncated)", s->path, path.buf);
        goto done;
    }
    lo = (size_t)(off % pg);
    map = mmap(NULL, n_bytes + lo, PROT_READ,
               MAP_SHARED | ((flags & VSIM_MAP_POPULATE) ? MAP_POPULATE : 0), fd,
               (off_t)(off - lo));
    if (map == MAP_FAILED)
        goto done;
    vsim_tensor_init(out_view, e->dtype, e->ndim, e->shape, (char *)map + lo);
    *out_map = map;
    *out_len = n_bytes + lo;
    rc = VSIM_OK;
done:
    if (d >= 0)
        H5Dclose(d);
    vsim_buf_release(&path);
    return rc;
}

void vsim_trial_unmap(void *map, size_t len)
{
    if (map)
        munmap(map, len);
}

int vsim_trial_read(const vsim_trial *t, const char *name, int64_t step, int worker,
                    vsim_tensor *out_view, void **out_data)
{
    const shard *s;
    const entry *e;
    void *buf;
    size_t n_bytes;
    int rc = locate_values(t, name, step, worker, &s, &e, &n_bytes);

    *out_data = NULL;
    if (rc)
        return rc;
    buf = vsim_malloc(n_bytes);
    if (!buf)
        return vsim_fail(VSIM_ENOMEM, "out of memory reading '%s' (%zu bytes)", name, n_bytes);
    rc = read_dataset(t, s, e, "tensors", name, e->dtype, buf,
                      n_bytes / vsim_dtype_size(e->dtype));
    if (rc) {
        vsim_free(buf);
        return rc;
    }
    view_of(e, buf, out_view);
    *out_data = buf;
    return VSIM_OK;
}

int vsim_trial_read_reductions(const vsim_trial *t, const char *name, int64_t step, int worker,
                               double *values, unsigned *out_mask)
{
    const shard *s;
    const entry *e;
    double packed[VSIM_N_REDUCTIONS];
    size_t k = 0;
    int rc = locate(t, name, step, worker, 'r', &s, &e);

    if (rc)
        return rc;
    for (int r = 0; r < VSIM_N_REDUCTIONS; r++)
        k += (e->reds & VSIM_RED_BIT(r)) != 0;
    rc = read_dataset(t, s, e, "reductions", name, VSIM_F64, packed, k);
    if (rc)
        return rc;
    k = 0;
    for (int r = 0; r < VSIM_N_REDUCTIONS; r++)
        if (e->reds & VSIM_RED_BIT(r))
            values[r] = packed[k++];
    *out_mask = e->reds;
    return VSIM_OK;
}
