/*
 * tests/unit/test_samples.c - samples: closed outward meshes on the unit sphere,
 * the cube seen from the front, determinism across thread counts, distinct views,
 * STL/OBJ round trips and bad input, 1-NN separability of the families.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/vsim.h"
#include "samples/dataset.h"
#include "samples/meshio.h"
#include "samples/parts.h"
#include "samples/render.h"
#include "samples/samples.h"
#include "samples/shape_int.h"
#include "tests/vt.h"

static char tmpdir[256];

static const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int k;

    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmpdir, name);
    return buf[k];
}

static double max_radius(const vsim_mesh *m)
{
    double r = 0;

    for (size_t i = 0; i < 3 * m->n_tris; i++) {
        const float *p = m->v + 3 * (size_t)m->tri[i];

        r = fmax(r, sqrt((double)(p[0] * p[0] + p[1] * p[1] + p[2] * p[2])));
    }
    return r;
}

static void test_geometry(void)
{
    vsim_mesh m = VSIM_MESH_INIT;
    int n_bad = 0, n_fail = 0;

    for (int f = 0; f < vsim_parts_n_families(); f++)
        for (int j = 0; j < 12; j++) {
            vsim_mesh_report r;

            if (vsim_samples_design(f, 7, j, &m, NULL) || vsim_mesh_check(&m, &r)) {
                n_fail++;
                continue;
            }
            if (r.n_open_edges || r.n_bad_edges || r.n_inward || !(r.volume > 0) ||
                fabs(max_radius(&m) - 1.0) > 1e-5) {
                fprintf(stderr, "%s #%d: open %zu bad %zu inward %zu vol %g r %g\n",
                        vsim_parts_name(f), j, r.n_open_edges, r.n_bad_edges, r.n_inward,
                        r.volume, max_radius(&m));
                n_bad++;
            }
        }
    VT_CHECK(vsim_parts_n_families() >= 8, "at least 8 families");
    VT_CHECK(n_fail == 0, "every design builds");
    VT_CHECK(n_bad == 0, "closed, outward, on the unit sphere");
    vsim_mesh_release(&m);
}

static void test_cube(void)
{
    const float lo[3] = { -1, -1, -1 }, hi[3] = { 1, 1, 1 };
    const double front[3] = { 0, -1, 0 };
    vsim_render_params rp = VSIM_RENDER_PARAMS_INIT;
    vsim_mesh m = VSIM_MESH_INIT;
    vsim_render *r = NULL;
    uint8_t img[64 * 64];
    int lit = 0, row = 0, col = 0, uniform = 1;
    double side = 64.0 / sqrt(3.0);   /* side 2/sqrt(3) of the [-1,1] image */

    VT_CHECK(!vsim_solid_box(&m, lo, hi) && !vsim_mesh_normalize(&m), "cube built");
    VT_CHECK(!vsim_render_create(&rp, &r), "renderer");
    VT_CHECK(!vsim_render_view(r, &m, front, img), "render front");
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 64; x++) {
            int v = img[y * 64 + x];

            lit += v > 0;
            row += y == 32 && v > 127;
            col += x == 32 && v > 127;
            if (abs(x - 32) < 15 && abs(y - 32) < 15 && v != img[32 * 64 + 32])
                uniform = 0;
        }
    VT_CHECK(fabs(row - side) <= 1.0, "middle row spans the cube side");
    VT_CHECK(fabs(col - side) <= 1.0, "middle column spans the cube side");
    VT_CHECK(fabs(lit - side * side) <= 4 * side, "lit area is the square");
    VT_CHECK(uniform && img[32 * 64 + 32] > 100, "filled, flat-shaded face");
    VT_CHECK(img[0] == 0 && img[64 * 64 - 1] == 0, "black background");
    vsim_render_destroy(r);
    vsim_mesh_release(&m);
}

static int render_set(int n_designs, int size, int threads, uint64_t seed, vsim_dataset *ds)
{
    vsim_samples_params p = VSIM_SAMPLES_PARAMS_INIT;

    p.n_designs = n_designs;
    p.render.size = size;
    p.n_threads = threads;
    p.seed = seed;
    return vsim_samples_render(&p, ds);
}

static int same_file(const char *a, const char *b)
{
    vsim_buf x = VSIM_BUF_INIT, y = VSIM_BUF_INIT;
    int same = !vsim_fs_read_file(a, &x) && !vsim_fs_read_file(b, &y) && x.len == y.len &&
               !memcmp(x.buf, y.buf, x.len);

    vsim_buf_release(&x);
    vsim_buf_release(&y);
    return same;
}

static void test_determinism(void)
{
    vsim_dataset a = VSIM_DATASET_INIT, b = VSIM_DATASET_INIT, c = VSIM_DATASET_INIT;
    size_t img = 32 * 32;
    int views_differ = 1;

    VT_CHECK(!render_set(5, 32, 1, 42, &a), "render, 1 thread");
    VT_CHECK(!render_set(5, 32, 3, 42, &b), "render, 3 threads");
    VT_CHECK(!render_set(5, 32, 2, 43, &c), "render, other seed");
    VT_CHECK(a.n == b.n && !memcmp(a.images, b.images, a.n * 6 * img), "same seed, same pixels");
    VT_CHECK(a.n == c.n && memcmp(a.images, c.images, a.n * 6 * img), "other seed differs");
    VT_CHECK(!vsim_dataset_write(&a, tmp_path("a.h5")) && !vsim_dataset_write(&b, tmp_path("b.h5")),
             "write");
    VT_CHECK(same_file(tmp_path("a.h5"), tmp_path("b.h5")), "byte-identical files");
    /* Views of one design (a bracket: asymmetric) are pairwise different. */
    for (int v = 0; v < 6; v++)
        for (int w = v + 1; w < 6; w++)
            if (!memcmp(a.images + v * img, a.images + w * img, img))
                views_differ = 0;
    VT_CHECK(!strcmp(a.label_names[0], "bracket") && views_differ, "views differ");
    vsim_dataset_release(&a);
    vsim_dataset_release(&b);
    vsim_dataset_release(&c);
}

static int same_mesh(const vsim_mesh *a, const vsim_mesh *b)
{
    if (a->n_tris != b->n_tris)
        return 0;
    for (size_t t = 0; t < 3 * a->n_tris; t++)
        if (memcmp(a->v + 3 * (size_t)a->tri[t], b->v + 3 * (size_t)b->tri[t], 12))
            return 0;
    return 1;
}

static void test_roundtrip(void)
{
    vsim_mesh m = VSIM_MESH_INIT, r = VSIM_MESH_INIT;
    vsim_mesh_report rep;

    VT_CHECK(!vsim_samples_design(4, 1, 0, &m, NULL), "gear");
    VT_CHECK(!vsim_stl_write(tmp_path("g.stl"), &m, 1), "write binary STL");
    VT_CHECK(!vsim_stl_read(tmp_path("g.stl"), &r) && same_mesh(&m, &r), "binary STL trip");
    VT_CHECK(!vsim_mesh_check(&r, &rep) && rep.n_open_edges == 0, "welded STL is closed");
    VT_CHECK(r.n_verts <= m.n_verts, "welding merges coincident vertices");
    VT_CHECK(!vsim_stl_write(tmp_path("g_ascii.stl"), &m, 0), "write ASCII STL");
    VT_CHECK(!vsim_stl_read(tmp_path("g_ascii.stl"), &r) && same_mesh(&m, &r), "ASCII STL trip");
    VT_CHECK(!vsim_obj_write(tmp_path("g.obj"), &m), "write OBJ");
    VT_CHECK(!vsim_meshio_read(tmp_path("g.obj"), &r) && same_mesh(&m, &r) &&
             r.n_verts == m.n_verts, "OBJ trip");
    vsim_mesh_release(&m);
    vsim_mesh_release(&r);
}

static void put_file(const char *name, const void *data, size_t n)
{
    vsim_fs_write_atomic(tmp_path(name), data, n, 0);
}

/* Reading name fails with EFORMAT and a message naming the file (and containing want). */
static void expect_bad(const char *name, const char *want)
{
    vsim_mesh m = VSIM_MESH_INIT;
    const char *path = tmp_path(name);
    int rc = vsim_meshio_read(path, &m);

    VT_CHECK(rc == VSIM_EFORMAT, name);
    VT_CHECK(strstr(vsim_errmsg(), path) && strstr(vsim_errmsg(), want), vsim_errmsg());
    VT_CHECK(m.n_tris == 0, "nothing kept");
    vsim_mesh_release(&m);
}

static void test_bad_input(void)
{
    vsim_buf b = VSIM_BUF_INIT;
    float nan_v = NAN;

    VT_CHECK(!vsim_fs_read_file(tmp_path("g.stl"), &b), "read STL bytes");
    put_file("short.stl", b.buf, 60);
    expect_bad("short.stl", "truncated");
    put_file("cut.stl", b.buf, b.len - 30);
    expect_bad("cut.stl", "truncated");
    vsim_buf_add(&b, "extra", 5);
    put_file("count.stl", b.buf, b.len);
    expect_bad("count.stl", "does not match the file size");
    b.len -= 5;
    memcpy(b.buf + 84 + 50 * 3 + 12 + 4, &nan_v, 4);
    put_file("nan.stl", b.buf, b.len);
    expect_bad("nan.stl", "non-finite");
    memset(b.buf + 80, 0, 4);
    put_file("empty.stl", b.buf, 84);
    expect_bad("empty.stl", "no triangles");
    put_file("cut_ascii.stl", "solid x\n facet normal 0 0 1\n outer loop\n vertex 0 0 0\n", 52);
    expect_bad("cut_ascii.stl", "truncated");
    put_file("range.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n", 32);
    expect_bad("range.obj", "out of range");
    put_file("nan.obj", "v 0 0 nan\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", 34);
    expect_bad("nan.obj", "non-finite");
    put_file("empty.obj", "# nothing\nv 0 0 0\n", 18);
    expect_bad("empty.obj", "no faces");
    vsim_buf_release(&b);
}

/* 1-NN over whole designs (all views), leaving each design out; returns accuracy. */
static double nn_accuracy(const vsim_dataset *ds, double *min_within)
{
    size_t dim = (size_t)ds->n_views * (size_t)ds->size * (size_t)ds->size, hits = 0;

    *min_within = INFINITY;
    for (size_t i = 0; i < ds->n; i++) {
        double best = INFINITY;
        size_t arg = i;

        for (size_t j = 0; j < ds->n; j++) {
            const uint8_t *a = ds->images + i * dim, *c = ds->images + j * dim;
            double d = 0;

            if (j == i)
                continue;
            for (size_t k = 0; k < dim; k++)
                d += (double)((a[k] - c[k]) * (a[k] - c[k]));
            if (d < best) {
                best = d;
                arg = j;
            }
            if (ds->labels[i] == ds->labels[j])
                *min_within = fmin(*min_within, d);
        }
        hits += ds->labels[arg] == ds->labels[i];
    }
    return (double)hits / (double)ds->n;
}

static void test_separability(void)
{
    vsim_dataset ds = VSIM_DATASET_INIT;
    double acc, min_within, chance;

    VT_CHECK(!render_set(24, 32, 0, 1, &ds), "render separability set");
    acc = nn_accuracy(&ds, &min_within);
    chance = 1.0 / ds.n_labels;
    printf("separability: 1-NN leave-one-design-out accuracy %.3f over %zu designs of %d "
           "families (chance %.3f)\n", acc, ds.n, ds.n_labels, chance);
    VT_CHECK(acc > 3 * chance && acc > 0.6, "1-NN beats chance widely");
    VT_CHECK(min_within > 0, "designs within a family differ");
    vsim_dataset_release(&ds);
}

static void test_errors(void)
{
    vsim_samples_params p = VSIM_SAMPLES_PARAMS_INIT;
    const char *paths[1] = { tmp_path("range.obj") };
    vsim_dataset ds = VSIM_DATASET_INIT;
    int fam;

    VT_CHECK(vsim_parts_find("nosuch", &fam) == VSIM_ENOTFOUND, "unknown family");
    VT_CHECK(!vsim_parts_find("gear", &fam) && fam == 4, "find gear");
    p.n_views = 7;
    VT_CHECK(vsim_samples_render(&p, &ds) == VSIM_EINVAL, "7 fixed views refused");
    p.n_views = 6;
    p.mesh_paths = paths;
    p.n_mesh_paths = 1;
    VT_CHECK(vsim_samples_render(&p, &ds) == VSIM_EFORMAT && strstr(vsim_errmsg(), "range.obj"),
             "bad mesh named");
    VT_CHECK(ds.images == NULL, "no dataset on failure");
}

#ifdef VSIM_TEST
/* Fail each allocation in turn: a clean error every time, never a crash or a leak. */
static void test_alloc_faults(void)
{
    int clean = 1, n = 0;

    for (long k = 1; k < 400; k++) {
        vsim_dataset ds = VSIM_DATASET_INIT;
        int rc;

        vsim_mem_fail_after(k);
        rc = render_set(2, 16, 1, 3, &ds);
        vsim_mem_fail_after(0);
        if (!rc) {
            vsim_dataset_release(&ds);
            break;
        }
        n++;
        clean &= rc == VSIM_ENOMEM && ds.images == NULL;
    }
    VT_CHECK(clean && n > 10, "allocation faults give ENOMEM");
}
#endif

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/vsim-test-samples.%ld", (long)getpid());
    vsim_fs_mkdir_p(tmpdir);
    test_geometry();
    test_cube();
    test_determinism();
    test_roundtrip();
    test_bad_input();
    test_separability();
    test_errors();
#ifdef VSIM_TEST
    test_alloc_faults();
#endif
    {
        vsim_buf cmd = VSIM_BUF_INIT;

        if (!vsim_buf_addf(&cmd, "rm -rf '%s'", tmpdir) && system(cmd.buf) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir);
        vsim_buf_release(&cmd);
    }
    return VT_REPORT("samples");
}
