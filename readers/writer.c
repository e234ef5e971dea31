/*
 * readers/writer.c - the capture API (readers/writer.h): run.json, collections
 * with save configs, one HDF5 shard per saved step per worker, written as
 * step-N.h5.tmp and renamed into place (after fsync when durable) so that a
 * job killed at any instant leaves only complete shards. Each shard carries a
 * `vsim_index` root attribute (one line per tensor) so readers list a shard
 * without opening its datasets; the datasets themselves are plain HDF5.
 * SPDX-License-Identifier: MIT
 */
#include "readers/writer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/mem.h"
#include "readers/h5.h"

typedef struct collection {
    char *name;
    char *regex_src;          /* NULL for a plain collection */
    regex_t regex;
    vsim_save_config cfg;     /* save_steps owned */
} collection;

/* Background fsync of renamed shards (VSIM_DURABLE_ASYNC). */
typedef struct syncer {
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    char *queue[VSIM_WRITER_ASYNC_DEPTH];   /* final shard paths, FIFO */
    size_t head, len;
    int busy, stopping;
    int status;                             /* first failure, VSIM_OK if none */
    char msg[512];
} syncer;

struct vsim_writer {
    char *dir;
    char *run_id;
    char *hyper_json;
    char *model_json;
    int worker, n_workers, durable;
    double created;
    collection *colls;
    size_t n_colls;
    int run_json_dirty;
    /* the step in progress */
    int in_step;
    int64_t step, mode_step, last_step;
    vsim_mode mode;
    hid_t file;               /* H5I_INVALID_HID until the first save of the step */
    vsim_buf tmp_path, final_path;
    vsim_buf index;           /* vsim_index text */
    char **saved;             /* names saved in this step */
    size_t n_saved, cap_saved;
    syncer sync;
};

static const char *const builtin_colls[] = {
    VSIM_COLL_WEIGHTS, VSIM_COLL_BIASES, VSIM_COLL_GRADIENTS, VSIM_COLL_LOSSES,
    VSIM_COLL_METRICS, VSIM_COLL_ACTIVATIONS, VSIM_COLL_EMBEDDINGS, VSIM_COLL_IMAGES,
};

static void collection_release(collection *c)
{
    vsim_free(c->name);
    if (c->regex_src)
        regfree(&c->regex);
    vsim_free(c->regex_src);
    vsim_free((void *)c->cfg.save_steps);
    memset(c, 0, sizeof(*c));
}

static collection *find_collection(const vsim_writer *w, const char *name, size_t len)
{
    for (size_t i = 0; i < w->n_colls; i++)
        if (strlen(w->colls[i].name) == len && !strncmp(w->colls[i].name, name, len))
            return &w->colls[i];
    return NULL;
}

static int valid_collection_name(const char *name)
{
    if (!*name)
        return 0;
    for (const char *p = name; *p; p++)
        if (*p == ',' || *p == '\t' || *p == '\n' || (unsigned char)*p < 0x20)
            return 0;
    return 1;
}

int vsim_writer_set_collection(vsim_writer *w, const char *name, const char *regex,
                               const vsim_save_config *cfg)
{
    collection c = { 0 };
    collection *old;
    int64_t *steps = NULL;

    if (!valid_collection_name(name))
        return vsim_fail(VSIM_EINVAL, "bad collection name '%s'", name);
    if (cfg->save_interval < 0)
        return vsim_fail(VSIM_EINVAL, "collection '%s': negative save interval", name);
    if (cfg->reductions >> VSIM_N_REDUCTIONS)
        return vsim_fail(VSIM_EINVAL, "collection '%s': unknown reduction bits", name);
    c.name = vsim_strdup(name);
    if (cfg->n_save_steps) {
        steps = vsim_mallocarray(cfg->n_save_steps, sizeof(*steps));
        if (steps)
            memcpy(steps, cfg->save_steps, cfg->n_save_steps * sizeof(*steps));
    }
    if (!c.name || (cfg->n_save_steps && !steps)) {
        vsim_free(c.name);
        vsim_free(steps);
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    }
    c.cfg = *cfg;
    c.cfg.save_steps = steps;
    if (regex) {
        int e = regcomp(&c.regex, regex, REG_EXTENDED | REG_NOSUB);

        c.regex_src = e ? NULL : vsim_strdup(regex);
        if (e || !c.regex_src) {
            char msg[128];

            if (!e)
                regfree(&c.regex);
            regerror(e, &c.regex, msg, sizeof(msg));
            collection_release(&c);
            return e ? vsim_fail(VSIM_EINVAL, "collection '%s': bad regex '%s': %s", name,
                                 regex, msg)
                     : vsim_fail(VSIM_ENOMEM, "out of memory");
        }
    }
    old = find_collection(w, name, strlen(name));
    if (old) {
        collection_release(old);
        *old = c;
    } else {
        collection *n = vsim_reallocarray(w->colls, w->n_colls + 1, sizeof(*n));

        if (!n) {
            collection_release(&c);
            return vsim_fail(VSIM_ENOMEM, "out of memory");
        }
        w->colls = n;
        w->colls[w->n_colls++] = c;
    }
    w->run_json_dirty = 1;
    return VSIM_OK;
}

static char *default_run_id(const char *dir, double now)
{
    vsim_buf b = VSIM_BUF_INIT;
    const char *base = strrchr(dir, '/');
    time_t t = (time_t)now;
    struct tm tm;
    char stamp[32];

    base = base ? base + 1 : dir;
    if (!*base)
        base = "run";
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    if (vsim_buf_addf(&b, "%s-%s", base, stamp))
        return NULL;
    return vsim_buf_detach(&b, NULL);
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char *trim_dir(const char *dir)
{
    char *d = vsim_strdup(dir);
    size_t n;

    if (!d)
        return NULL;
    n = strlen(d);
    while (n > 1 && d[n - 1] == '/')
        d[--n] = '\0';
    return d;
}

static int writer_alloc(const char *dir, const vsim_writer_params *p, vsim_writer **out)
{
    vsim_writer *w = vsim_calloc(1, sizeof(*w));

    if (!w)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    w->file = H5I_INVALID_HID;
    pthread_mutex_init(&w->sync.mu, NULL);
    pthread_cond_init(&w->sync.cv_work, NULL);
    pthread_cond_init(&w->sync.cv_done, NULL);
    vsim_buf_init(&w->tmp_path);
    vsim_buf_init(&w->final_path);
    vsim_buf_init(&w->index);
    w->worker = p->worker;
    w->n_workers = p->n_workers;
    w->durable = p->durable;
    w->created = p->created > 0 ? p->created : now_seconds();
    w->last_step = -1;
    w->dir = trim_dir(dir);
    w->run_id = p->run_id ? vsim_strdup(p->run_id) : (w->dir ? default_run_id(w->dir, w->created)
                                                              : NULL);
    w->hyper_json = vsim_strdup(p->hyperparams_json ? p->hyperparams_json : "{}");
    w->model_json = vsim_strdup(p->model_json ? p->model_json : "null");
    *out = w;
    if (!w->dir || !w->run_id || !w->hyper_json || !w->model_json)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    return VSIM_OK;
}

int vsim_writer_open(const char *dir, const vsim_writer_params *params, vsim_writer **out)
{
    vsim_writer *w = NULL;
    vsim_buf path = VSIM_BUF_INIT;
    vsim_save_config dflt = VSIM_SAVE_CONFIG_INIT;
    int rc;

    *out = NULL;
    if (params->n_workers < 1 || params->worker < 0 || params->worker >= params->n_workers)
        return vsim_fail(VSIM_EINVAL, "%s: worker %d outside 0..%d", dir, params->worker,
                         params->n_workers - 1);
    if (params->durable < VSIM_DURABLE_NONE || params->durable > VSIM_DURABLE_ASYNC)
        return vsim_fail(VSIM_EINVAL, "%s: bad durability mode %d", dir, params->durable);
    vsim_h5_quiet();
    rc = writer_alloc(dir, params, &w);
    if (rc)
        goto fail;
    rc = vsim_buf_addf(&path, "%s/" VSIM_RUN_JSON, w->dir);
    if (rc)
        goto fail;
    if (w->worker == 0 && !params->allow_existing && vsim_fs_exists(path.buf)) {
        rc = vsim_fail(VSIM_EINVAL, "%s: already holds a run (run.json exists); "
                       "choose a new folder", w->dir);
        goto fail;
    }
    vsim_buf_reset(&path);
    rc = vsim_buf_addf(&path, "%s/" VSIM_RUN_SHARDS "/w%d", w->dir, w->worker);
    if (!rc)
        rc = vsim_fs_mkdir_p(path.buf);
    for (size_t i = 0; !rc && i < VSIM_ARRAY_LEN(builtin_colls); i++)
        rc = vsim_writer_set_collection(w, builtin_colls[i], NULL, &dflt);
    if (rc)
        goto fail;
    vsim_buf_release(&path);
    *out = w;
    return VSIM_OK;
fail:
    vsim_buf_release(&path);
    vsim_writer_destroy(w);
    return rc;
}

static int add_save_config_json(vsim_buf *b, const vsim_save_config *c)
{
    int rc = vsim_buf_addf(b, "{\"save_interval\": %" PRId64 ", \"save_steps\": [",
                           c->save_interval);

    for (size_t i = 0; !rc && i < c->n_save_steps; i++)
        rc = vsim_buf_addf(b, "%s%" PRId64, i ? ", " : "", c->save_steps[i]);
    if (!rc)
        rc = vsim_buf_addf(b, "], \"start_step\": %" PRId64 ", \"end_step\": ", c->start_step);
    if (!rc)
        rc = c->end_step < 0 ? vsim_buf_adds(b, "null")
                             : vsim_buf_addf(b, "%" PRId64, c->end_step);
    if (!rc)
        rc = vsim_buf_adds(b, ", \"reductions\": [");
    for (int r = 0, k = 0; !rc && r < VSIM_N_REDUCTIONS; r++)
        if (c->reductions & VSIM_RED_BIT(r))
            rc = vsim_buf_addf(b, "%s\"%s\"", k++ ? ", " : "", vsim_reduction_name(r));
    if (!rc)
        rc = vsim_buf_adds(b, "], \"modes\": [");
    for (int m = 0, k = 0; !rc && m < VSIM_N_MODES; m++)
        if (!c->modes || (c->modes & (1u << m)))
            rc = vsim_buf_addf(b, "%s\"%s\"", k++ ? ", " : "", vsim_mode_name(m));
    return rc ? rc : vsim_buf_adds(b, "]}");
}

static int write_run_json(vsim_writer *w)
{
    vsim_buf b = VSIM_BUF_INIT, path = VSIM_BUF_INIT;
    time_t t = (time_t)w->created;
    struct tm tm;
    char stamp[32];
    int rc;

    gmtime_r(&t, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
    rc = vsim_buf_adds(&b, "{\n  \"schema\": \"" VSIM_RUN_SCHEMA "\",\n  \"run_id\": ");
    if (!rc)
        rc = vsim_buf_add_json_str(&b, w->run_id);
    if (!rc)
        rc = vsim_buf_addf(&b, ",\n  \"created\": \"%s\",\n  \"created_unix\": %.3f,\n"
                           "  \"n_workers\": %d,\n  \"writer\": \"vsim " VSIM_VERSION "\",\n"
                           "  \"hyperparameters\": %s,\n  \"model\": %s,\n  \"collections\": [",
                           stamp, w->created, w->n_workers, w->hyper_json, w->model_json);
    for (size_t i = 0; !rc && i < w->n_colls; i++) {
        const collection *c = &w->colls[i];

        rc = vsim_buf_addf(&b, "%s\n    {\"name\": ", i ? "," : "");
        if (!rc)
            rc = vsim_buf_add_json_str(&b, c->name);
        if (!rc)
            rc = vsim_buf_adds(&b, ", \"regex\": ");
        if (!rc)
            rc = c->regex_src ? vsim_buf_add_json_str(&b, c->regex_src)
                              : vsim_buf_adds(&b, "null");
        if (!rc)
            rc = vsim_buf_adds(&b, ", \"save_config\": ");
        if (!rc)
            rc = add_save_config_json(&b, &c->cfg);
        if (!rc)
            rc = vsim_buf_addch(&b, '}');
    }
    if (!rc)
        rc = vsim_buf_adds(&b, "\n  ]\n}\n");
    if (!rc)
        rc = vsim_buf_addf(&path, "%s/" VSIM_RUN_JSON, w->dir);
    if (!rc)
        rc = vsim_fs_write_atomic(path.buf, b.buf, b.len, w->durable != VSIM_DURABLE_NONE);
    if (!rc)
        w->run_json_dirty = 0;
    vsim_buf_release(&b);
    vsim_buf_release(&path);
    return rc;
}

static int collection_due(const vsim_save_config *s, vsim_mode mode, int64_t mode_step)
{
    if (s->modes && !(s->modes & (1u << mode)))
        return 0;
    if (mode_step < s->start_step || (s->end_step >= 0 && mode_step >= s->end_step))
        return 0;
    if (s->save_interval > 0 && mode_step % s->save_interval == 0)
        return 1;
    for (size_t i = 0; i < s->n_save_steps; i++)
        if (s->save_steps[i] == mode_step)
            return 1;
    return 0;
}

int vsim_writer_begin_step(vsim_writer *w, int64_t step, vsim_mode mode, int64_t mode_step)
{
    int rc;

    if (w->in_step && (rc = vsim_writer_end_step(w)))
        return rc;
    if (mode < 0 || mode >= VSIM_N_MODES)
        return vsim_fail(VSIM_EINVAL, "bad mode %d", (int)mode);
    if (step < 0 || step <= w->last_step)
        return vsim_fail(VSIM_EINVAL, "%s: step %" PRId64 " after step %" PRId64
                         " (steps must increase)", w->dir, step, w->last_step);
    if (w->worker == 0 && w->run_json_dirty && (rc = write_run_json(w)))
        return rc;
    w->in_step = 1;
    w->step = step;
    w->mode = mode;
    w->mode_step = mode_step;
    return VSIM_OK;
}

int vsim_writer_step_due(const vsim_writer *w)
{
    if (!w->in_step)
        return 0;
    for (size_t i = 0; i < w->n_colls; i++)
        if (collection_due(&w->colls[i].cfg, w->mode, w->mode_step))
            return 1;
    return 0;
}

/*
 * Resolve the collections of a tensor: the comma-separated list given plus the
 * custom collections whose regex matches. Collects the membership string into
 * members (may be NULL), and returns whether values and which reductions are due.
 */
static void resolve_at(const vsim_writer *w, const char *name, const char *colls, int due,
                       vsim_mode mode, int64_t mode_step, vsim_buf *members, int *want_values,
                       unsigned *want_reds, int *oom)
{
    vsim_save_config dflt = VSIM_SAVE_CONFIG_INIT;
    const char *p = colls ? colls : "";

    *want_values = 0;
    *want_reds = 0;
    while (*p) {
        size_t len = strcspn(p, ",");
        const collection *c = find_collection(w, p, len);
        const vsim_save_config *cfg = c ? &c->cfg : &dflt;

        if (len && due && collection_due(cfg, mode, mode_step)) {
            if (cfg->reductions)
                *want_reds |= cfg->reductions;
            else
                *want_values = 1;
        }
        if (len && members)
            *oom |= vsim_buf_addf(members, "%s%.*s", members->len ? "," : "", (int)len, p) != 0;
        p += len + (p[len] == ',');
    }
    for (size_t i = 0; i < w->n_colls; i++) {
        const collection *c = &w->colls[i];

        if (!c->regex_src || regexec(&c->regex, name, 0, NULL, 0) != 0)
            continue;
        if (due && collection_due(&c->cfg, mode, mode_step)) {
            if (c->cfg.reductions)
                *want_reds |= c->cfg.reductions;
            else
                *want_values = 1;
        }
        if (members)
            *oom |= vsim_buf_addf(members, "%s%s", members->len ? "," : "", c->name) != 0;
    }
}

/* resolve_at for the step in progress (nothing is due outside a step) */
static void resolve(const vsim_writer *w, const char *name, const char *colls,
                    vsim_buf *members, int *want_values, unsigned *want_reds, int *oom)
{
    resolve_at(w, name, colls, w->in_step, w->mode, w->mode_step, members, want_values,
               want_reds, oom);
}

int vsim_writer_wants(const vsim_writer *w, const char *name, const char *collections)
{
    int values, oom = 0;
    unsigned reds;

    resolve(w, name, collections, NULL, &values, &reds, &oom);
    return values || reds;
}

int vsim_writer_wants_at(const vsim_writer *w, const char *name, const char *collections,
                         vsim_mode mode, int64_t mode_step)
{
    int values, oom = 0;
    unsigned reds;

    resolve_at(w, name, collections, 1, mode, mode_step, NULL, &values, &reds, &oom);
    return values || reds;
}

static int valid_tensor_name(const char *name)
{
    const char *p = name;

    if (!*name || *name == '/' || name[strlen(name) - 1] == '/')
        return 0;
    for (; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == '\\')
            return 0;
        if (*p == '/' && p[1] == '/')
            return 0;
    }
    for (p = name; p; p = strchr(p, '/')) {
        if (*p == '/')
            p++;
        if ((p[0] == '.' && (p[1] == '/' || !p[1])) ||
            (p[0] == '.' && p[1] == '.' && (p[2] == '/' || !p[2])))
            return 0;
    }
    return 1;
}

static int open_shard(vsim_writer *w)
{
    hid_t fapl;

    vsim_buf_reset(&w->final_path);
    vsim_buf_reset(&w->tmp_path);
    vsim_buf_reset(&w->index);
    if (vsim_run_shard_path(&w->final_path, w->dir, w->worker, w->step) ||
        vsim_buf_addf(&w->tmp_path, "%s.tmp", w->final_path.buf))
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
    /* Start tensor data of 1 MiB and more on a 1 MiB boundary of the file: the
     * page cache can then hold it in large folios, and reading it back costs as
     * much as reading a file written sequentially (about 20 % less than data at
     * an odd page, bench_io). The gaps stay holes: no disk space is used. */
    H5Pset_alignment(fapl, 1 << 20, 1 << 20);
    w->file = H5Fcreate(w->tmp_path.buf, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (w->file < 0)
        return vsim_fail(VSIM_EIO, "%s: cannot create shard: %s", w->tmp_path.buf,
                         strerror(errno));
    if (vsim_h5_attr_set_str(w->file, "vsim_schema", VSIM_SHARD_SCHEMA) ||
        vsim_h5_attr_set_i64(w->file, "step", w->step) ||
        vsim_h5_attr_set_i64(w->file, "mode_step", w->mode_step) ||
        vsim_h5_attr_set_i64(w->file, "worker", w->worker) ||
        vsim_h5_attr_set_str(w->file, "mode", vsim_mode_name(w->mode)) ||
        vsim_h5_attr_set_f64(w->file, "wall_time", now_seconds()))
        return vsim_errctx("%s", w->tmp_path.buf);
    return VSIM_OK;
}

/* Copy a strided view into contiguous memory (caller frees). */
static void *pack(const vsim_tensor *t, size_t n, size_t esize)
{
    unsigned char *out = vsim_mallocarray(n ? n : 1, esize);
    size_t idx[VSIM_MAX_DIMS] = { 0 };

    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        ptrdiff_t off = 0;

        for (int d = 0; d < t->ndim; d++)
            off += (ptrdiff_t)idx[d] * t->stride[d];
        memcpy(out + i * esize, (const unsigned char *)t->data + off * (ptrdiff_t)esize, esize);
        for (int d = t->ndim - 1; d >= 0; d--) {
            if (++idx[d] < t->shape[d])
                break;
            idx[d] = 0;
        }
    }
    return out;
}

static int write_dataset(vsim_writer *w, const char *path, hid_t memtype, int ndim,
                         const hsize_t *dims, const void *data, size_t n, hid_t *out)
{
    hid_t space = ndim ? H5Screate_simple(ndim, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t lcpl = vsim_h5_lcpl_intermediate();
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t d;
    int rc = VSIM_OK;

    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_LATE);
    d = H5Dcreate2(w->file, path, memtype, space, lcpl, dcpl, H5P_DEFAULT);
    if (d < 0)
        rc = vsim_fail(VSIM_EIO, "%s: cannot create dataset '%s'", w->tmp_path.buf, path);
    else if (n && H5Dwrite(d, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        rc = vsim_fail(VSIM_EIO, "%s: cannot write dataset '%s' (disk full?)", w->tmp_path.buf,
                       path);
    H5Pclose(dcpl);
    H5Pclose(lcpl);
    H5Sclose(space);
    if (rc && d >= 0) {
        H5Dclose(d);
        d = H5I_INVALID_HID;
    }
    *out = d;
    return rc;
}

#define RED_BLOCK 1024

/*
 * Elements [i, i + n) of t as doubles. Contiguous views convert straight from
 * memory; vsim_tensor_get's per-element index arithmetic is for strided ones.
 */
static void load_block(const vsim_tensor *t, int contig, size_t i, size_t n, double *out)
{
    if (!contig) {
        for (size_t k = 0; k < n; k++)
            out[k] = vsim_tensor_get(t, i + k);
        return;
    }
    switch (t->dtype) {
    case VSIM_F32:
        for (size_t k = 0; k < n; k++)
            out[k] = (double)((const float *)t->data)[i + k];
        break;
    case VSIM_F64: memcpy(out, (const double *)t->data + i, n * sizeof(double)); break;
    case VSIM_I32:
        for (size_t k = 0; k < n; k++)
            out[k] = (double)((const int32_t *)t->data)[i + k];
        break;
    case VSIM_I64:
        for (size_t k = 0; k < n; k++)
            out[k] = (double)((const int64_t *)t->data)[i + k];
        break;
    case VSIM_U8:
        for (size_t k = 0; k < n; k++)
            out[k] = (double)((const uint8_t *)t->data)[i + k];
        break;
    default: VSIM_ASSERT(!"bad dtype");
    }
}

static void compute_reductions(const vsim_tensor *t, size_t n, double *red)
{
    double mn = INFINITY, mx = -INFINITY, amn = INFINITY, amx = 0, sum = 0, l1 = 0, l2 = 0;
    double nan = 0, mean, var = 0, blk[RED_BLOCK];
    int contig = vsim_tensor_is_contiguous(t);

    for (size_t i = 0; i < n; i += RED_BLOCK) {
        size_t m = n - i < RED_BLOCK ? n - i : RED_BLOCK;

        load_block(t, contig, i, m, blk);
        for (size_t k = 0; k < m; k++) {
            double v = blk[k];

            if (isnan(v)) {
                nan++;
                continue;
            }
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
            amn = fabs(v) < amn ? fabs(v) : amn;
            amx = fabs(v) > amx ? fabs(v) : amx;
            sum += v;
            l1 += fabs(v);
            l2 += v * v;
        }
    }
    mean = n ? sum / (double)n : (double)NAN;
    for (size_t i = 0; i < n && nan == 0; i += RED_BLOCK) {
        size_t m = n - i < RED_BLOCK ? n - i : RED_BLOCK;

        load_block(t, contig, i, m, blk);
        for (size_t k = 0; k < m; k++)
            var += (blk[k] - mean) * (blk[k] - mean);
    }
    var = n ? var / (double)n : (double)NAN;
    if (nan > 0 || n == 0)
        mn = mx = amn = amx = mean = var = sum = l1 = l2 = (double)NAN;
    red[VSIM_RED_MIN] = mn;
    red[VSIM_RED_MAX] = mx;
    red[VSIM_RED_MEAN] = mean;
    red[VSIM_RED_VARIANCE] = var;
    red[VSIM_RED_STD] = sqrt(var);
    red[VSIM_RED_SUM] = n ? sum : 0.0;
    red[VSIM_RED_L1] = l1;
    red[VSIM_RED_L2] = sqrt(l2);
    red[VSIM_RED_ABS_MIN] = amn;
    red[VSIM_RED_ABS_MAX] = amx;
    red[VSIM_RED_ABS_MEAN] = n ? l1 / (double)n : (double)NAN;
    red[VSIM_RED_NAN_COUNT] = nan;
}

static int add_index_line(vsim_writer *w, char kind, const char *name, const vsim_tensor *t,
                          const char *members, unsigned reds)
{
    int rc = vsim_buf_addf(&w->index, "%c\t%s\t%s\t", kind, name, vsim_dtype_name(t->dtype));

    for (int d = 0; !rc && d < t->ndim; d++)
        rc = vsim_buf_addf(&w->index, "%s%zu", d ? "," : "", t->shape[d]);
    if (!rc)
        rc = vsim_buf_addf(&w->index, "\t%s\t", members);
    for (int r = 0, k = 0; !rc && r < VSIM_N_REDUCTIONS; r++)
        if (reds & VSIM_RED_BIT(r))
            rc = vsim_buf_addf(&w->index, "%s%s", k++ ? "," : "", vsim_reduction_name(r));
    return rc ? rc : vsim_buf_addch(&w->index, '\n');
}

static int save_values(vsim_writer *w, const char *name, const vsim_tensor *t,
                       const char *members, size_t n)
{
    vsim_buf path = VSIM_BUF_INIT;
    hsize_t dims[VSIM_MAX_DIMS];
    void *packed = NULL;
    const void *data = t->data;
    hid_t d;
    int rc;

    for (int i = 0; i < t->ndim; i++)
        dims[i] = t->shape[i];
    if (n && !vsim_tensor_is_contiguous(t)) {
        packed = pack(t, n, vsim_dtype_size(t->dtype));
        if (!packed)
            return vsim_fail(VSIM_ENOMEM, "out of memory copying '%s'", name);
        data = packed;
    }
    rc = vsim_buf_addf(&path, "/tensors/%s", name);
    if (!rc)
        rc = write_dataset(w, path.buf, vsim_h5_native(t->dtype), t->ndim, dims, data, n, &d);
    if (!rc) {
        rc = vsim_h5_attr_set_str(d, "collections", members);
        H5Dclose(d);
    }
    if (!rc)
        rc = add_index_line(w, 'v', name, t, members, 0);
    vsim_free(packed);
    vsim_buf_release(&path);
    return rc;
}

static int save_reductions(vsim_writer *w, const char *name, const vsim_tensor *t,
                           const char *members, unsigned reds, size_t n)
{
    vsim_buf path = VSIM_BUF_INIT, names = VSIM_BUF_INIT;
    double all[VSIM_N_REDUCTIONS], vals[VSIM_N_REDUCTIONS];
    int64_t shape[VSIM_MAX_DIMS];
    hsize_t k = 0;
    hid_t d;
    int rc;

    compute_reductions(t, n, all);
    for (int r = 0; r < VSIM_N_REDUCTIONS; r++) {
        if (reds & VSIM_RED_BIT(r)) {
            vals[k++] = all[r];
            vsim_buf_addf(&names, "%s%s", k > 1 ? "," : "", vsim_reduction_name(r));
        }
    }
    for (int i = 0; i < t->ndim; i++)
        shape[i] = (int64_t)t->shape[i];
    rc = vsim_buf_addf(&path, "/reductions/%s", name);
    if (!rc)
        rc = write_dataset(w, path.buf, H5T_NATIVE_DOUBLE, 1, &k, vals, (size_t)k, &d);
    if (!rc) {
        rc = vsim_h5_attr_set_str(d, "collections", members);
        if (!rc)
            rc = vsim_h5_attr_set_str(d, "reductions", names.buf);
        if (!rc)
            rc = vsim_h5_attr_set_str(d, "dtype", vsim_dtype_name(t->dtype));
        if (!rc)
            rc = vsim_h5_attr_set_i64s(d, "shape", shape, (size_t)t->ndim);
        H5Dclose(d);
    }
    if (!rc)
        rc = add_index_line(w, 'r', name, t, members, reds);
    vsim_buf_release(&path);
    vsim_buf_release(&names);
    return rc;
}

static int remember_name(vsim_writer *w, const char *name)
{
    for (size_t i = 0; i < w->n_saved; i++)
        if (!strcmp(w->saved[i], name))
            return vsim_fail(VSIM_EINVAL, "tensor '%s' saved twice in step %" PRId64, name,
                             w->step);
    if (vsim_grow((void **)&w->saved, &w->cap_saved, w->n_saved + 1, sizeof(*w->saved)))
        return VSIM_ENOMEM;
    w->saved[w->n_saved] = vsim_strdup(name);
    if (!w->saved[w->n_saved])
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    w->n_saved++;
    return VSIM_OK;
}

int vsim_writer_save(vsim_writer *w, const char *name, const char *collections,
                     const vsim_tensor *t)
{
    vsim_buf members = VSIM_BUF_INIT;
    int values, oom = 0, rc;
    unsigned reds;
    size_t n;

    if (!w->in_step)
        return vsim_fail(VSIM_EINVAL, "save of '%s' outside a step", name);
    if (!valid_tensor_name(name) || strchr(name, '\t') || strchr(name, '\n'))
        return vsim_fail(VSIM_EINVAL, "bad tensor name '%s'", name);
    if (vsim_h5_native(t->dtype) < 0 || t->ndim < 0 || t->ndim > VSIM_MAX_DIMS)
        return vsim_fail(VSIM_EINVAL, "tensor '%s': unsupported dtype or rank", name);
    resolve(w, name, collections, &members, &values, &reds, &oom);
    if (oom) {
        vsim_buf_release(&members);
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    }
    if (!values && !reds) {
        vsim_buf_release(&members);
        return VSIM_OK;
    }
    n = vsim_tensor_n_elems(t);
    rc = remember_name(w, name);
    if (!rc && w->file < 0)
        rc = open_shard(w);
    if (!rc && values)
        rc = save_values(w, name, t, members.buf, n);
    if (!rc && reds)
        rc = save_reductions(w, name, t, members.buf, reds, n);
    vsim_buf_release(&members);
    return rc;
}

static void discard_step(vsim_writer *w)
{
    if (w->file >= 0) {
        H5Fclose(w->file);
        w->file = H5I_INVALID_HID;
        unlink(w->tmp_path.buf);
    }
    for (size_t i = 0; i < w->n_saved; i++)
        vsim_free(w->saved[i]);
    w->n_saved = 0;
    w->in_step = 0;
}

static void fsync_shard_and_folder(syncer *sy, char *path)
{
    char *slash = strrchr(path, '/');
    int rc = vsim_fs_fsync_path(path);

    if (!rc && slash) {
        *slash = '\0';
        rc = vsim_fs_fsync_path(path);
        *slash = '/';
    }
    if (rc) {
        pthread_mutex_lock(&sy->mu);
        if (!sy->status) {
            sy->status = rc;
            snprintf(sy->msg, sizeof(sy->msg), "%s", vsim_errmsg());
        }
        pthread_mutex_unlock(&sy->mu);
    }
}

static void *syncer_main(void *arg)
{
    syncer *sy = arg;

    pthread_mutex_lock(&sy->mu);
    for (;;) {
        char *path;

        while (!sy->len && !sy->stopping)
            pthread_cond_wait(&sy->cv_work, &sy->mu);
        if (!sy->len)
            break;
        path = sy->queue[sy->head];
        sy->head = (sy->head + 1) % VSIM_WRITER_ASYNC_DEPTH;
        sy->len--;
        sy->busy = 1;
        pthread_mutex_unlock(&sy->mu);
        fsync_shard_and_folder(sy, path);
        vsim_free(path);
        pthread_mutex_lock(&sy->mu);
        sy->busy = 0;
        pthread_cond_broadcast(&sy->cv_done);
    }
    pthread_mutex_unlock(&sy->mu);
    return NULL;
}

/* Hand a renamed shard to the background fsync; waits while the queue is full. */
static int syncer_push(vsim_writer *w, const char *path)
{
    syncer *sy = &w->sync;
    char *copy = vsim_strdup(path);
    int rc = VSIM_OK;

    if (!copy)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    pthread_mutex_lock(&sy->mu);
    if (!sy->started) {
        if (pthread_create(&sy->thread, NULL, syncer_main, sy) != 0) {
            pthread_mutex_unlock(&sy->mu);
            vsim_free(copy);
            return vsim_fail(VSIM_EIO, "%s: cannot start the fsync thread", w->dir);
        }
        sy->started = 1;
    }
    while (sy->len == VSIM_WRITER_ASYNC_DEPTH)
        pthread_cond_wait(&sy->cv_done, &sy->mu);
    sy->queue[(sy->head + sy->len) % VSIM_WRITER_ASYNC_DEPTH] = copy;
    sy->len++;
    if (sy->status)
        rc = vsim_fail(sy->status, "%s", sy->msg);
    pthread_cond_signal(&sy->cv_work);
    pthread_mutex_unlock(&sy->mu);
    return rc;
}

/* Wait until every queued shard is fsynced; returns the first fsync failure. */
static int syncer_drain(vsim_writer *w)
{
    syncer *sy = &w->sync;
    int rc = VSIM_OK;

    pthread_mutex_lock(&sy->mu);
    while (sy->len || sy->busy)
        pthread_cond_wait(&sy->cv_done, &sy->mu);
    if (sy->status)
        rc = vsim_fail(sy->status, "%s", sy->msg);
    pthread_mutex_unlock(&sy->mu);
    return rc;
}

static void syncer_stop(vsim_writer *w)
{
    syncer *sy = &w->sync;

    pthread_mutex_lock(&sy->mu);
    sy->stopping = 1;
    pthread_cond_signal(&sy->cv_work);
    pthread_mutex_unlock(&sy->mu);
    if (sy->started)
        pthread_join(sy->thread, NULL);
    sy->started = 0;
    pthread_mutex_destroy(&sy->mu);
    pthread_cond_destroy(&sy->cv_work);
    pthread_cond_destroy(&sy->cv_done);
}

static int finish_shard(vsim_writer *w)
{
    int rc = vsim_h5_attr_set_str(w->file, "vsim_index", w->index.buf);
    herr_t e;

    if (rc)
        return vsim_errctx("%s", w->tmp_path.buf);
    e = H5Fclose(w->file);
    w->file = H5I_INVALID_HID;
    if (e < 0)
        return vsim_fail(VSIM_EIO, "%s: closing the shard failed", w->tmp_path.buf);
    if (w->durable == VSIM_DURABLE_SYNC && (rc = vsim_fs_fsync_path(w->tmp_path.buf)))
        return rc;
    if (rename(w->tmp_path.buf, w->final_path.buf) != 0)
        return vsim_fail(VSIM_EIO, "%s: rename failed: %s", w->final_path.buf, strerror(errno));
    if (w->durable == VSIM_DURABLE_ASYNC)
        return syncer_push(w, w->final_path.buf);
    if (w->durable == VSIM_DURABLE_SYNC) {
        char *slash = strrchr(w->final_path.buf, '/');

        *slash = '\0';
        rc = vsim_fs_fsync_path(w->final_path.buf);
        *slash = '/';
    }
    return rc;
}

int vsim_writer_end_step(vsim_writer *w)
{
    int rc = VSIM_OK;

    if (!w->in_step)
        return VSIM_OK;
    if (w->file >= 0) {
        rc = finish_shard(w);
        if (rc && w->file < 0)
            unlink(w->tmp_path.buf);
    }
    discard_step(w);
    w->last_step = w->step;
    return rc;
}

int vsim_writer_stop_requested(const vsim_writer *w)
{
    vsim_buf path = VSIM_BUF_INIT;
    int stop;

    if (vsim_buf_addf(&path, "%s/" VSIM_RUN_STOP, w->dir))
        return 0;
    stop = vsim_fs_exists(path.buf);
    vsim_buf_release(&path);
    return stop;
}

int vsim_writer_close(vsim_writer *w, const char *status, int64_t last_step)
{
    vsim_buf b = VSIM_BUF_INIT, path = VSIM_BUF_INIT;
    int rc = vsim_writer_end_step(w);

    if (!rc && w->sync.started)
        rc = syncer_drain(w);
    if (!rc && w->worker == 0 && w->run_json_dirty)
        rc = write_run_json(w);
    if (!rc && w->worker == 0) {
        rc = vsim_buf_adds(&b, "{\"status\": ");
        if (!rc)
            rc = vsim_buf_add_json_str(&b, status);
        if (!rc)
            rc = vsim_buf_addf(&b, ", \"last_step\": %" PRId64 ", \"end_unix\": %.3f}\n",
                               last_step, now_seconds());
        if (!rc)
            rc = vsim_buf_addf(&path, "%s/" VSIM_RUN_END, w->dir);
        if (!rc)
            rc = vsim_fs_write_atomic(path.buf, b.buf, b.len, w->durable != VSIM_DURABLE_NONE);
    }
    vsim_buf_release(&b);
    vsim_buf_release(&path);
    vsim_writer_destroy(w);
    return rc;
}

void vsim_writer_destroy(vsim_writer *w)
{
    if (!w)
        return;
    discard_step(w);
    syncer_stop(w);
    for (size_t i = 0; i < w->n_colls; i++)
        collection_release(&w->colls[i]);
    vsim_free(w->colls);
    vsim_free(w->saved);
    vsim_buf_release(&w->tmp_path);
    vsim_buf_release(&w->final_path);
    vsim_buf_release(&w->index);
    vsim_free(w->dir);
    vsim_free(w->run_id);
    vsim_free(w->hyper_json);
    vsim_free(w->model_json);
    vsim_free(w);
}

const char *vsim_writer_dir(const vsim_writer *w)
{
    return w->dir;
}

const char *vsim_writer_run_id(const vsim_writer *w)
{
    return w->run_id;
}

double vsim_writer_created(const vsim_writer *w)
{
    return w->created;
}
