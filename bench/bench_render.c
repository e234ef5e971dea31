/*
 * bench/bench_render.c - snapshots per second at 64 x 64: the procedural
 * families through vsim_samples_render (all threads, no file output), and a
 * generated 100k-triangle STL (load + render, and render alone).
 * Usage: bench_render [DESIGNS_PER_FAMILY] [TMPDIR]
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/clock.h"
#include "core/omp.h"
#include "samples/meshio.h"
#include "samples/samples.h"
#include "samples/shape_int.h"

static double bumpy(const double d[3], const void *ctx)
{
    (void)ctx;
    return 1.0 + 0.15 * sin(5 * d[0]) * cos(4 * d[1]) + 0.1 * sin(7 * d[2]);
}

int main(int argc, char **argv)
{
    vsim_samples_params p = VSIM_SAMPLES_PARAMS_INIT;
    vsim_dataset ds = VSIM_DATASET_INIT;
    vsim_mesh m = VSIM_MESH_INIT;
    vsim_render_params rp = VSIM_RENDER_PARAMS_INIT;
    vsim_render *r = NULL;
    const char *dir = argc > 2 ? argv[2] : "/tmp";
    const char *paths[8];
    char stl[512];
    double t0, t, dirs[6][3];
    uint8_t img[64 * 64];
    int n_shots = 0;

    p.n_designs = argc > 1 ? atoi(argv[1]) : 64;
    t0 = vsim_clock_s();
    if (vsim_samples_render(&p, &ds))
        return fprintf(stderr, "bench_render: %s\n", vsim_errmsg()), 1;
    t = vsim_clock_s() - t0;
    printf("procedural: %zu designs x %d views in %.3f s = %.0f snapshots/s (%d threads)\n",
           ds.n, ds.n_views, t, (double)ds.n * ds.n_views / t, vsim_omp_resolve(0));
    vsim_dataset_release(&ds);

    snprintf(stl, sizeof(stl), "%s/bench-100k.stl", dir);
    if (vsim_solid_radial(&m, 250, 200, bumpy, NULL) || vsim_stl_write(stl, &m, 1))
        return fprintf(stderr, "bench_render: %s\n", vsim_errmsg()), 1;
    printf("stl: %s, %zu triangles\n", stl, m.n_tris);
    for (int i = 0; i < 8; i++)
        paths[i] = stl;
    p.mesh_paths = paths;
    p.n_mesh_paths = 8;
    t0 = vsim_clock_s();
    if (vsim_samples_render(&p, &ds))
        return fprintf(stderr, "bench_render: %s\n", vsim_errmsg()), 1;
    t = vsim_clock_s() - t0;
    printf("stl 100k, load + render: %zu x %d views in %.3f s = %.0f snapshots/s\n", ds.n,
           ds.n_views, t, (double)ds.n * ds.n_views / t);
    vsim_dataset_release(&ds);

    vsim_mesh_normalize(&m);
    vsim_render_default_views(6, dirs);
    if (vsim_render_create(&rp, &r))
        return 1;
    t0 = vsim_clock_s();
    while ((t = vsim_clock_s() - t0) < 1.5)
        for (int v = 0; v < 6; v++, n_shots++)
            vsim_render_view(r, &m, dirs[v], img);
    printf("stl 100k, render only (1 thread): %d snapshots in %.3f s = %.0f snapshots/s\n",
           n_shots, t, n_shots / t);
    vsim_render_destroy(r);
    vsim_mesh_release(&m);
    remove(stl);
    return 0;
}
