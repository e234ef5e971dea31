/*
 * bench/bench_plot.c - issue 6 benchmark: a 1,000,000-point scatter to PNG at
 * 1600x1200 and a 40-layer gradient-distribution chart, timed end to end
 * (layout, drawing, PNG encoding, atomic write). Writes the same data for
 * bench/plot_mpl.py: OUT/points.bin (x, y float64; labels int32) and
 * OUT/layers.bin (40 x 50000 float32).
 *   bench_plot OUTDIR [N_POINTS]
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/clock.h"
#include "core/rng.h"
#include "plot/plot.h"

#define N_LAYERS 40
#define LAYER_ELEMS 50000

static int dump(const char *dir, const char *name, const char *mode, const void *p,
                size_t n_bytes)
{
    char path[512];
    FILE *f;
    int ok;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, mode);
    ok = f && fwrite(p, 1, n_bytes, f) == n_bytes;
    if (f)
        fclose(f);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    size_t n = argc > 2 ? (size_t)atol(argv[2]) : 1000000, shape = LAYER_ELEMS;
    double *x = malloc(n * sizeof(double)), *y = malloc(n * sizeof(double)), best = 1e9, t0;
    int32_t *lab = malloc(n * sizeof(int32_t));
    float *g = malloc((size_t)N_LAYERS * LAYER_ELEMS * sizeof(float));
    vsim_tensor t[N_LAYERS];
    char names[N_LAYERS][40], path[512];
    const char *np[N_LAYERS];
    vsim_plot_style st = { 1600, 1200, 1, 0, "1M points", "t-SNE 1", "t-SNE 2" };
    vsim_rng r;

    if (argc < 2 || !x || !y || !lab || !g)
        return 2;
    vsim_rng_seed(&r, 1, 0);
    for (size_t i = 0; i < n; i++) {
        lab[i] = (int32_t)vsim_rng_below(&r, 10);
        x[i] = 6 * cos(lab[i] * 0.628) + vsim_rng_normal(&r);
        y[i] = 6 * sin(lab[i] * 0.628) + vsim_rng_normal(&r);
    }
    for (int k = 0; k < N_LAYERS; k++) {
        snprintf(names[k], sizeof(names[k]), "%s/block%d/conv%d", k < 20 ? "enc" : "dec", k / 4,
                 k % 4);
        np[k] = names[k];
        for (size_t i = 0; i < LAYER_ELEMS; i++)
            g[(size_t)k * LAYER_ELEMS + i] = (float)(vsim_rng_normal(&r) * pow(10, -7 + k * 0.12));
        vsim_tensor_init(&t[k], VSIM_F32, 1, &shape, g + (size_t)k * LAYER_ELEMS);
    }
    if (dump(argv[1], "points.bin", "wb", x, n * 8) ||
        dump(argv[1], "points.bin", "ab", y, n * 8) ||
        dump(argv[1], "points.bin", "ab", lab, n * 4) ||
        dump(argv[1], "layers.bin", "wb", g, (size_t)N_LAYERS * LAYER_ELEMS * 4))
        return 1;
    snprintf(path, sizeof(path), "%s/scatter-vsim.png", argv[1]);
    for (int rep = 0; rep < 3; rep++) {
        vsim_scatter s = { x, y, n, lab, NULL, 10, NULL, 0, 0, 0 };

        t0 = vsim_clock_s();
        if (vsim_plot_scatter(&s, &st, path)) {
            fprintf(stderr, "bench_plot: %s\n", vsim_errmsg());
            return 1;
        }
        best = fmin(best, vsim_clock_s() - t0);
    }
    printf("vsim scatter %zu points PNG 1600x1200: %.3f s (best of 3)\n", n, best);
    best = 1e9;
    snprintf(path, sizeof(path), "%s/dist-vsim.png", argv[1]);
    for (int rep = 0; rep < 3; rep++) {
        vsim_plot_dist d = { N_LAYERS, np, t, 1, VSIM_PLOT_DIST_VIOLIN };

        st.title = "40 layers";
        st.xlabel = "|gradient| (log scale)";
        st.ylabel = NULL;
        t0 = vsim_clock_s();
        if (vsim_plot_dist_chart(&d, &st, path)) {
            fprintf(stderr, "bench_plot: %s\n", vsim_errmsg());
            return 1;
        }
        best = fmin(best, vsim_clock_s() - t0);
    }
    printf("vsim dist 40 layers x %d values PNG 1600x1200: %.3f s (best of 3)\n", LAYER_ELEMS,
           best);
    free(x), free(y), free(lab), free(g);
    return 0;
}
