/*
 * samples/samples.c - dataset rendering driver: gathers the designs (procedural
 * or mesh files), renders their views in parallel over designs and fills the
 * dataset. Parallel regions do no I/O and report errors through a per-design
 * status array; the first failing design is re-run afterwards for its message.
 * SPDX-License-Identifier: MIT
 */
#include "samples/samples.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/omp.h"
#include "core/rng.h"
#include "samples/meshio.h"
#include "samples/parts.h"

#define BATCH 64            /* designs between progress reports */
#define VIEW_STREAM (1ULL << 63)
#define MAX_VIEWS 64        /* random views per design */

/* The designs to render. */
typedef struct plan {
    const vsim_samples_params *p;
    int fam[64];            /* procedural: family of each label */
    vsim_mesh *meshes;      /* mesh input: n normalised meshes, else NULL */
} plan;

/* Per-thread workspace, allocated before the parallel region. */
typedef struct work {
    vsim_mesh mesh;
    vsim_render *r;
} work;

int vsim_samples_design(int family, uint64_t seed, int index, vsim_mesh *out, double *params)
{
    double tmp[VSIM_PARTS_MAX_PARAMS];
    vsim_rng rng;
    int rc;

    vsim_rng_seed(&rng, seed, (uint64_t)family << 32 | (uint32_t)index);
    rc = vsim_parts_build(family, &rng, out, params ? params : tmp);
    return rc ? rc : vsim_mesh_normalize(out);
}

/* Render design i into its rows of ds. */
static int render_design(const plan *pl, work *w, vsim_dataset *ds, size_t i)
{
    const vsim_samples_params *p = pl->p;
    size_t img = (size_t)ds->size * (size_t)ds->size;
    double dirs[MAX_VIEWS][3];
    const vsim_mesh *m = &w->mesh;
    int rc = VSIM_OK;

    if (pl->meshes) {
        m = &pl->meshes[i];
    } else {
        int label = (int)(i / (size_t)p->n_designs), j = (int)(i % (size_t)p->n_designs);

        ds->labels[i] = label;
        rc = vsim_samples_design(pl->fam[label], p->seed, j, &w->mesh,
                                 ds->params + i * VSIM_PARTS_MAX_PARAMS);
    }
    if (p->random_views) {
        vsim_rng rng;

        vsim_rng_seed(&rng, p->seed, VIEW_STREAM | i);
        vsim_render_random_views(&rng, p->n_views, dirs);
    } else {
        vsim_render_default_views(p->n_views, dirs);
    }
    for (int v = 0; v < p->n_views && !rc; v++) {
        size_t row = i * (size_t)p->n_views + (size_t)v;

        for (int k = 0; k < 3; k++)
            ds->view_dirs[row * 3 + (size_t)k] = (float)dirs[v][k];
        rc = vsim_render_view(w->r, m, dirs[v], ds->images + row * img);
    }
    return rc;
}

/* Render designs [lo, hi) over n_threads; st[i] receives each design's status. */
static void render_batch(const plan *pl, work *ws, vsim_dataset *ds, size_t lo, size_t hi,
                         int n_threads, int *st)
{
    long a = (long)lo, b = (long)hi;

#ifdef _OPENMP
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 1) default(none) \
    shared(pl, ws, ds, st, a, b)
#else
    (void)n_threads;
#endif
    for (long i = a; i < b; i++)
        st[i] = render_design(pl, &ws[vsim_omp_thread_num()], ds, (size_t)i);
}

static int run_all(const plan *pl, vsim_dataset *ds)
{
    const vsim_samples_params *p = pl->p;
    int nt = vsim_omp_resolve(p->n_threads), rc = VSIM_OK;
    vsim_render_params rp = p->render;
    work *ws = vsim_calloc((size_t)nt, sizeof(work));
    int *st = vsim_calloc(ds->n ? ds->n : 1, sizeof(int));

    rp.cull = pl->meshes == NULL;      /* procedural parts are closed and outward */
    if (!ws || !st)
        rc = vsim_fail(VSIM_ENOMEM, "out of memory (workspaces)");
    for (int t = 0; t < nt && !rc; t++)
        rc = vsim_render_create(&rp, &ws[t].r);
    for (size_t lo = 0; lo < ds->n && !rc; lo += BATCH) {
        size_t hi = lo + BATCH < ds->n ? lo + BATCH : ds->n;

        render_batch(pl, ws, ds, lo, hi, nt, st);
        for (size_t i = lo; i < hi && !rc; i++)
            if (st[i]) {
                /* Re-run the first failure in this thread for its message. */
                rc = render_design(pl, &ws[0], ds, i);
                rc = rc ? vsim_errctx("design %zu", i)
                        : vsim_fail(st[i], "design %zu: %s", i, vsim_strstatus(st[i]));
            }
        if (!rc && p->progress && p->progress(p->progress_ctx, hi, ds->n, "designs"))
            rc = vsim_fail(VSIM_EINVAL, "stopped by the progress callback");
    }
    for (int t = 0; ws && t < nt; t++) {
        vsim_mesh_release(&ws[t].mesh);
        vsim_render_destroy(ws[t].r);
    }
    vsim_free(ws);
    vsim_free(st);
    return rc;
}

static int procedural(plan *pl, vsim_dataset *ds)
{
    const vsim_samples_params *p = pl->p;
    int nf = p->families ? p->n_families : vsim_parts_n_families(), rc;

    if (nf < 1 || nf > 64)
        return vsim_fail(VSIM_EINVAL, "%d families requested, want 1..64", nf);
    rc = vsim_dataset_alloc(ds, (size_t)nf * (size_t)p->n_designs, p->n_views,
                            p->render.size, 1);
    if (!rc && !(ds->params = vsim_mallocarray(ds->n ? ds->n : 1,
                                               VSIM_PARTS_MAX_PARAMS * sizeof(double))))
        rc = vsim_fail(VSIM_ENOMEM, "out of memory (parameters)");
    if (!rc && !(ds->label_names = vsim_calloc((size_t)nf, sizeof(char *))))
        rc = vsim_fail(VSIM_ENOMEM, "out of memory");
    if (!rc && !(ds->param_names = vsim_calloc((size_t)nf * VSIM_PARTS_MAX_PARAMS,
                                               sizeof(char *))))
        rc = vsim_fail(VSIM_ENOMEM, "out of memory");
    for (int f = 0; f < nf && !rc; f++) {
        int np;
        const char *const *names;

        pl->fam[f] = p->families ? p->families[f] : f;
        if (!vsim_parts_name(pl->fam[f]))
            return vsim_fail(VSIM_EINVAL, "part family %d out of range", pl->fam[f]);
        names = vsim_parts_param_names(pl->fam[f], &np);
        ds->label_names[f] = vsim_strdup(vsim_parts_name(pl->fam[f]));
        ds->n_labels++;
        rc = ds->label_names[f] ? VSIM_OK : vsim_fail(VSIM_ENOMEM, "out of memory");
        ds->n_params = VSIM_PARTS_MAX_PARAMS;
        for (int k = 0; k < VSIM_PARTS_MAX_PARAMS && !rc; k++)
            if (!(ds->param_names[f * VSIM_PARTS_MAX_PARAMS + k] =
                      vsim_strdup(k < np ? names[k] : "")))
                rc = vsim_fail(VSIM_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < ds->n && !rc; i++)
        ds->design_id[i] = (int32_t)i;
    ds->source = "procedural";
    return rc ? rc : run_all(pl, ds);
}

/* A mesh file to load with its label name. */
typedef struct entry {
    char *path;
    char *label;
} entry;

typedef struct entries {
    entry *e;
    size_t n, alloc;
} entries;

static int add_entry(entries *es, const char *path, const char *label, size_t label_len)
{
    if (es->n == es->alloc) {
        size_t n = es->alloc ? 2 * es->alloc : 64;
        entry *e = vsim_reallocarray(es->e, n, sizeof(entry));

        if (!e)
            return vsim_fail(VSIM_ENOMEM, "out of memory");
        es->e = e;
        es->alloc = n;
    }
    es->e[es->n].path = vsim_strdup(path);
    es->e[es->n].label = vsim_strndup(label, label_len);
    if (!es->e[es->n].path || !es->e[es->n].label) {
        vsim_free(es->e[es->n].path);
        vsim_free(es->e[es->n].label);
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    }
    es->n++;
    return VSIM_OK;
}

static const char *base_name(const char *path, size_t *len)
{
    size_t n = strlen(path);
    const char *b;

    while (n > 1 && path[n - 1] == '/')
        n--;
    b = path + n;
    while (b > path && b[-1] != '/')
        b--;
    *len = (size_t)(path + n - b);
    return b;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir (without . and ..); caller frees each and the array. */
static int list_dir(const char *dir, char ***out, size_t *n_out)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, alloc = 0;
    int rc = VSIM_OK;

    if (!d)
        return vsim_fail(VSIM_EIO, "%s: cannot open folder", dir);
    while (!rc && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (n == alloc) {
            char **t = vsim_reallocarray(names, alloc = alloc ? 2 * alloc : 32, sizeof(char *));

            if (!t) {
                rc = vsim_fail(VSIM_ENOMEM, "out of memory");
                break;
            }
            names = t;
        }
        if (!(names[n] = vsim_strdup(de->d_name)))
            rc = vsim_fail(VSIM_ENOMEM, "out of memory");
        else
            n++;
    }
    closedir(d);
    if (names)
        qsort(names, n, sizeof(char *), cmp_str);
    *out = names;
    *n_out = n;
    return rc;
}

/* Add the mesh files of dir labelled `label`; depth 0 also visits sub-folders. */
static int scan_dir(entries *es, const char *dir, const char *label, size_t label_len, int depth)
{
    char **names = NULL;
    size_t n = 0;
    int rc = list_dir(dir, &names, &n);
    vsim_buf full = VSIM_BUF_INIT;

    for (size_t i = 0; i < n && !rc; i++) {
        vsim_buf_reset(&full);
        if (vsim_buf_addf(&full, "%s/%s", dir, names[i])) {
            rc = vsim_fail(VSIM_ENOMEM, "out of memory");
            break;
        }
        if (vsim_fs_is_dir(full.buf) && depth == 0)
            rc = scan_dir(es, full.buf, names[i], strlen(names[i]), 1);
        else if (vsim_meshio_is_mesh(names[i]))
            rc = add_entry(es, full.buf, label, label_len);
    }
    for (size_t i = 0; i < n; i++)
        vsim_free(names[i]);
    vsim_free(names);
    vsim_buf_release(&full);
    return rc;
}

static int gather(const vsim_samples_params *p, entries *es)
{
    int rc = VSIM_OK;

    for (int k = 0; k < p->n_mesh_paths && !rc; k++) {
        const char *path = p->mesh_paths[k];
        size_t len;
        const char *b = base_name(path, &len);

        if (vsim_fs_is_dir(path)) {
            rc = scan_dir(es, path, b, len, 0);
        } else if (!vsim_fs_exists(path)) {
            rc = vsim_fail(VSIM_ENOTFOUND, "%s: no such file or folder", path);
        } else {
            const char *dot = strrchr(b, '.');

            rc = add_entry(es, path, b, dot && dot > b ? (size_t)(dot - b) : len);
        }
    }
    if (!rc && es->n == 0)
        rc = vsim_fail(VSIM_ENOTFOUND, "no .stl or .obj meshes found in the --mesh paths");
    return rc;
}

/* Labels in order of first appearance. */
static int assign_labels(const entries *es, vsim_dataset *ds)
{
    if (!(ds->label_names = vsim_calloc(es->n, sizeof(char *))))
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    for (size_t i = 0; i < es->n; i++) {
        int l = 0;

        while (l < ds->n_labels && strcmp(ds->label_names[l], es->e[i].label))
            l++;
        if (l == ds->n_labels) {
            if (!(ds->label_names[l] = vsim_strdup(es->e[i].label)))
                return vsim_fail(VSIM_ENOMEM, "out of memory");
            ds->n_labels++;
        }
        ds->labels[i] = l;
        ds->design_id[i] = (int32_t)i;
    }
    return VSIM_OK;
}

static int from_meshes(plan *pl, vsim_dataset *ds)
{
    entries es = { NULL, 0, 0 };
    int rc = gather(pl->p, &es);

    if (!rc)
        rc = vsim_dataset_alloc(ds, es.n, pl->p->n_views, pl->p->render.size, 1);
    if (!rc && (!(pl->meshes = vsim_calloc(es.n, sizeof(vsim_mesh))) ||
                !(ds->files = vsim_calloc(es.n, sizeof(char *)))))
        rc = vsim_fail(VSIM_ENOMEM, "out of memory");
    if (!rc)
        rc = assign_labels(&es, ds);
    for (size_t i = 0; i < es.n && !rc; i++) {
        ds->files[i] = es.e[i].path;
        es.e[i].path = NULL;
        rc = vsim_meshio_read(ds->files[i], &pl->meshes[i]);
        if (!rc && (rc = vsim_mesh_normalize(&pl->meshes[i])))
            vsim_errctx("%s", ds->files[i]);
    }
    for (size_t i = 0; i < es.n; i++) {
        vsim_free(es.e[i].path);
        vsim_free(es.e[i].label);
    }
    vsim_free(es.e);
    ds->source = "mesh";
    if (!rc)
        rc = run_all(pl, ds);
    for (size_t i = 0; pl->meshes && i < ds->n; i++)
        vsim_mesh_release(&pl->meshes[i]);
    vsim_free(pl->meshes);
    return rc;
}

int vsim_samples_render(const vsim_samples_params *params, vsim_dataset *out)
{
    vsim_dataset ds = VSIM_DATASET_INIT;
    plan pl;
    int rc;

    memset(&pl, 0, sizeof(pl));
    pl.p = params;
    if (params->n_views < 1 || (!params->random_views &&
                                params->n_views > VSIM_RENDER_N_DEFAULT_VIEWS) ||
        params->n_views > MAX_VIEWS)
        return vsim_fail(VSIM_EINVAL, "%d views: want 1..%d fixed views or 1..64 random ones",
                         params->n_views, VSIM_RENDER_N_DEFAULT_VIEWS);
    if (params->n_mesh_paths == 0 && (params->n_designs < 1 || params->n_designs > 1000000))
        return vsim_fail(VSIM_EINVAL, "%d designs per family: want 1..1000000",
                         params->n_designs);
    if (params->render.size < 1 || params->render.size > VSIM_RENDER_MAX_SIZE)
        return vsim_fail(VSIM_EINVAL, "image size %d out of range 1..%d", params->render.size,
                         VSIM_RENDER_MAX_SIZE);
    ds.seed = params->seed;
    ds.supersample = params->render.supersample;
    ds.view_mode = params->random_views ? "random" : "fixed";
    rc = params->n_mesh_paths > 0 ? from_meshes(&pl, &ds) : procedural(&pl, &ds);
    if (rc)
        vsim_dataset_release(&ds);
    else
        *out = ds;
    return rc;
}
