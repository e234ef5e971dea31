/*
 * cli/vsim-tsne.c - t-SNE of embeddings (issue 7): load (run tensor, HDF5,
 * CSV, raw float32), embed with analyze/tsne.h, write coordinates and the
 * cluster chart, print the quality figures.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analyze/tsne.h"
#include "analyze/tsne_io.h"
#include "cli/cli.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/mem.h"
#include "plot/plot.h"

static vsim_tsne_params P = VSIM_TSNE_PARAMS_INIT;
static const char *o_run, *o_tensor = "embeddings/latent", *o_lab_t = "embeddings/labels";
static const char *o_ids_t = "embeddings/design_id", *o_labels, *o_out, *o_chart[3], *o_embed;
static const char *o_format = "table", *o_method = "auto", *o_init = "pca", *o_lr = "auto";
static int64_t o_step = -1, o_seed = 1;
static int o_dims, o_quality, o_kl_points;

static const vsim_cli CLI = {
    "vsim-tsne", "[INPUT] [options]",
    "Barnes-Hut / FFT t-SNE of embeddings, with measured quality.",
    "INPUT: FILE.h5:/dataset, a .csv file, or raw float32 (--dims D); or --run RUN.\n"
    "Example: vsim-tsne --run run/ --png tsne.png --quality\n", 0, 1 };

static int progress(void *ctx, size_t done, size_t total, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "vsim-tsne: %zu/%zu %s\n", done, total, msg ? msg : "");
    return 0;
}

static int parse_enums(void)
{
    int m = !strcmp(o_method, "auto") ? VSIM_TSNE_AUTO : !strcmp(o_method, "exact")
            ? VSIM_TSNE_EXACT : !strcmp(o_method, "bh") ? VSIM_TSNE_BH
            : !strcmp(o_method, "fft") ? VSIM_TSNE_FFT : -1;

    if (m < 0)
        vsim_cli_usage_error(&CLI, "--method: want auto, exact, bh or fft");
    P.method = m;
    if (strcmp(o_init, "pca") && strcmp(o_init, "random"))
        vsim_cli_usage_error(&CLI, "--init: want pca or random");
    P.init = strcmp(o_init, "pca") ? VSIM_TSNE_INIT_RANDOM : VSIM_TSNE_INIT_PCA;
    if (strcmp(o_lr, "auto") && (P.learning_rate = strtod(o_lr, NULL)) <= 0)
        vsim_cli_usage_error(&CLI, "--learning-rate: want a positive number or auto");
    if (strcmp(o_format, "table") && strcmp(o_format, "json"))
        vsim_cli_usage_error(&CLI, "--format: want table or json");
    if (o_embed && !o_quality)
        vsim_cli_usage_error(&CLI, "--embedding needs --quality");
    P.seed = (uint64_t)o_seed;
    return 0;
}

static int draw(const char *path, const double *y, const vsim_tsne_data *d)
{
    vsim_scatter s = { 0 };
    vsim_plot_style st = VSIM_PLOT_STYLE_INIT;
    double *xs = vsim_mallocarray(d->n, 8), *ys = vsim_mallocarray(d->n, 8);
    int32_t mx = -1, status;

    for (size_t i = 0; xs && ys && i < d->n; i++) {
        xs[i] = y[i * (size_t)P.out_dims];
        ys[i] = y[i * (size_t)P.out_dims + 1];
        mx = d->labels && d->labels[i] > mx ? d->labels[i] : mx;
    }
    s = (vsim_scatter){ .x = xs, .y = ys, .n = d->n, .labels = d->labels,
                        .label_names = (const char *const *)d->label_names,
                        .n_labels = d->labels ? (size_t)(mx + 1) : 0 };
    st.title = "t-SNE";
    status = xs && ys ? vsim_plot_scatter(&s, &st, path) : vsim_fail(VSIM_ENOMEM, "no memory");
    vsim_free(xs);
    vsim_free(ys);
    return status;
}

static int quality(const float *x, size_t dim, const double *y, const vsim_tsne_data *d,
                   double secs)
{
    vsim_tsne_quality_params qp = VSIM_TSNE_QUALITY_PARAMS_INIT;
    vsim_tsne_quality q;
    vsim_buf b = VSIM_BUF_INIT;
    int status;

    qp.perplexity = P.perplexity;
    qp.n_threads = P.n_threads;
    qp.kl_max_points = o_kl_points > 0 ? (size_t)o_kl_points : 0;
    status = vsim_tsne_quality_compute(x, d->n, dim, y, P.out_dims, d->labels, &qp, &q);
    if (status)
        return status;
    if (!strcmp(o_format, "json")) {
        vsim_buf_addf(&b, "{\"n\": %zu, \"kl\": ", d->n);
        vsim_buf_add_json_num(&b, q.kl);
        vsim_buf_addf(&b, ", \"kl_points\": %zu, \"nn_preservation\": %.6f, "
                      "\"knn_accuracy\": ", q.kl_points, q.nn_preservation);
        vsim_buf_add_json_num(&b, q.knn_accuracy);
        vsim_buf_addf(&b, ", \"trustworthiness\": %.6f, \"trust_points\": %zu, \"k\": 10, "
                      "\"tsne_seconds\": %.3f}\n", q.trustworthiness, q.trust_points, secs);
        fputs(b.buf, stdout);
    } else {
        printf("kl               %.4f   (exact, %zu points)\n", q.kl, q.kl_points);
        printf("nn10             %.4f\n", q.nn_preservation);
        printf("knn10_accuracy   %.4f\n", q.knn_accuracy);
        printf("trustworthiness  %.4f   (%zu query points)\n", q.trustworthiness,
               q.trust_points);
        printf("tsne_seconds     %.3f\n", secs);
    }
    vsim_buf_release(&b);
    return VSIM_OK;
}

static int embed_and_report(vsim_tsne_data *d)
{
    vsim_tsne *t = NULL;
    vsim_tsne_data e = VSIM_TSNE_DATA_INIT;
    double t0 = vsim_clock_s(), secs;
    int status = vsim_tsne_create(d->x, d->n, d->dim, &P, &t);

    if (!status && !o_embed)
        status = vsim_tsne_run(t);
    secs = vsim_clock_s() - t0;
    if (!status && o_embed) {   /* evaluate a given layout instead (e.g. scikit-learn's) */
        status = vsim_tsne_load_matrix(o_embed, 0, &e);
        if (!status && (e.n != d->n || e.dim != (size_t)P.out_dims))
            status = vsim_fail(VSIM_EINVAL, "%s: %zu x %zu, want %zu x %d", o_embed, e.n,
                               e.dim, d->n, P.out_dims);
        for (size_t i = 0; !status && i < e.n * e.dim; i++)
            ((double *)vsim_tsne_embedding(t))[i] = (double)e.x[i];
    }
    if (!status && o_out)
        status = vsim_tsne_write_layout(o_out, vsim_tsne_embedding(t), d->n, P.out_dims, d);
    for (int c = 0; c < 3 && !status; c++)
        if (o_chart[c])
            status = draw(o_chart[c], vsim_tsne_embedding(t), d);
    if (!status && o_quality)
        status = quality(vsim_tsne_input(t), vsim_tsne_input_dims(t), vsim_tsne_embedding(t),
                         d, secs);
    vsim_tsne_data_release(&e);
    vsim_tsne_destroy(t);
    return status;
}

int main(int argc, char **argv)
{
    vsim_opt opts[] = {
        VSIM_OPT_STRING(0, "run", &o_run, "RUN", "read the embeddings from a run directory"),
        VSIM_OPT_STRING(0, "tensor", &o_tensor, "NAME", "run tensor (embeddings/latent)"),
        VSIM_OPT_INT64(0, "step", &o_step, "N", "run step (default: the last one)"),
        VSIM_OPT_STRING(0, "labels-tensor", &o_lab_t, "NAME", "(embeddings/labels)"),
        VSIM_OPT_STRING(0, "ids-tensor", &o_ids_t, "NAME", "(embeddings/design_id)"),
        VSIM_OPT_INT(0, "dims", &o_dims, "D", "columns of a raw float32 INPUT"),
        VSIM_OPT_STRING('l', "labels", &o_labels, "L", "labels: FILE.h5:/path or text file"),
        VSIM_OPT_STRING('o', "output", &o_out, "FILE", "coordinates: .csv or .h5"),
        VSIM_OPT_STRING(0, "png", &o_chart[0], "FILE", "cluster chart as PNG"),
        VSIM_OPT_STRING(0, "svg", &o_chart[1], "FILE", "cluster chart as SVG"),
        VSIM_OPT_STRING(0, "pdf", &o_chart[2], "FILE", "cluster chart as PDF"),
        VSIM_OPT_DOUBLE(0, "perplexity", &P.perplexity, "P", "perplexity (30)"),
        VSIM_OPT_DOUBLE(0, "theta", &P.theta, "T", "Barnes-Hut theta (0.5); 0: exact"),
        VSIM_OPT_INT(0, "iters", &P.max_iter, "N", "iterations (1000)"),
        VSIM_OPT_DOUBLE(0, "exaggeration", &P.exaggeration, "E", "early exaggeration (12)"),
        VSIM_OPT_INT(0, "exaggeration-iters", &P.exag_iter, "N", "early iterations (250)"),
        VSIM_OPT_STRING(0, "learning-rate", &o_lr, "X", "learning rate or auto"),
        VSIM_OPT_STRING(0, "init", &o_init, "pca|random", "initial layout (pca)"),
        VSIM_OPT_STRING(0, "method", &o_method, "M", "auto, exact, bh or fft (auto)"),
        VSIM_OPT_INT(0, "out-dims", &P.out_dims, "2|3", "embedding dimensions (2)"),
        VSIM_OPT_INT(0, "pca-dims", &P.pca_dims, "N", "PCA first when D > N (50); 0: never"),
        VSIM_OPT_INT64(0, "seed", &o_seed, "S", "random seed (1)"),
        VSIM_OPT_INT('t', "threads", &P.n_threads, "T", "threads (0: all)"),
        VSIM_OPT_FLAG('q', "quality", &o_quality, "print the quality figures"),
        VSIM_OPT_INT(0, "kl-points", &o_kl_points, "N", "exact KL on up to N points (20000)"),
        VSIM_OPT_STRING(0, "embedding", &o_embed, "FILE", "evaluate this layout (CSV)"),
        VSIM_OPT_STRING('f', "format", &o_format, "FMT", "quality as table or json"),
        VSIM_OPT_END
    };
    vsim_tsne_data d = VSIM_TSNE_DATA_INIT;
    int first, status;

    vsim_cli_omp_passive(argv);   /* spinning stalls every iteration on a shared machine */
    vsim_cli_parse(&CLI, opts, argc, argv, &first);
    parse_enums();
    if ((first < argc) == (o_run != NULL))
        vsim_cli_usage_error(&CLI, "give either INPUT or --run RUN");
    if (!vsim_cli_quiet())
        P.progress = progress;
    if (o_run)
        status = vsim_tsne_load_run(o_run, o_tensor, o_step, o_lab_t, o_ids_t, &d);
    else
        status = vsim_tsne_load_matrix(argv[first], o_dims > 0 ? (size_t)o_dims : 0, &d);
    if (!status && o_labels)
        status = vsim_tsne_load_labels(o_labels, &d);
    if (!status)
        status = embed_and_report(&d);
    vsim_tsne_data_release(&d);
    return status ? vsim_cli_error(CLI.prog) : VSIM_EXIT_OK;
}
