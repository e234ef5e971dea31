/*
 * cli/vsim-render.c - render multi-view snapshots of 3D parts (procedural
 * families or STL/OBJ meshes) into an HDF5 dataset; import Fashion-MNIST.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/mem.h"
#include "samples/dataset.h"
#include "samples/parts.h"
#include "samples/samples.h"

#define MAX_MESH_PATHS 256

static const char *mesh_paths[MAX_MESH_PATHS];
static int n_mesh_paths;

static int add_mesh(const vsim_opt *opt, const char *arg)
{
    (void)opt;
    if (n_mesh_paths == MAX_MESH_PATHS)
        return -1;
    mesh_paths[n_mesh_paths++] = arg;
    return 0;
}

static int show_progress(void *ctx, size_t done, size_t total, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "\rvsim-render: %zu/%zu %s", done, total, msg ? msg : "");
    if (done == total)
        fputc('\n', stderr);
    return 0;
}

/* Parse "a,b,c" (or "all") into family indices. */
static int parse_families(const char *list, int *fam, int *n)
{
    char buf[1024];

    *n = 0;
    if (!list || !strcmp(list, "all"))
        return 0;
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (*n == 64 || vsim_parts_find(tok, &fam[*n]))
            return -1;
        (*n)++;
    }
    return *n ? 0 : -1;
}

int main(int argc, char **argv)
{
    vsim_samples_params p = VSIM_SAMPLES_PARAMS_INIT;
    const char *out = NULL, *families = NULL, *sheet = NULL, *fmnist = NULL;
    int64_t seed = 1;
    int fam[64], n_fam = 0, list = 0, limit = 0, per_label = 4, first, rc;
    vsim_dataset ds = VSIM_DATASET_INIT;
    const vsim_cli cli = {
        "vsim-render", "-o FILE.h5 [options]",
        "Render multi-view snapshots of 3D parts into an HDF5 image dataset.",
        "Examples:\n  vsim-render -o parts.h5 --designs 64 --sheet sheet.png\n"
        "  vsim-render -o mine.h5 --mesh parts/        (sub-folder names are labels)\n"
        "  vsim-render -o fmnist.h5 --fmnist " VSIM_FMNIST_DIR "\n", 0, 0
    };
    const vsim_opt opts[] = {
        VSIM_OPT_STRING('o', "output", &out, "FILE", "HDF5 dataset to write (atomically)"),
        VSIM_OPT_STRING('f', "families", &families, "LIST", "comma-separated families, or all"),
        VSIM_OPT_INT('n', "designs", &p.n_designs, "N", "designs per family (default 64)"),
        VSIM_OPT_INT('V', "views", &p.n_views, "V", "views per design (default 6)"),
        VSIM_OPT_FLAG(0, "random-views", &p.random_views, "V random directions per design"),
        VSIM_OPT_INT('s', "size", &p.render.size, "S", "image side in pixels (default 64)"),
        VSIM_OPT_INT(0, "supersample", &p.render.supersample, "K",
                     "K x K samples per pixel (default 2)"),
        VSIM_OPT_INT64(0, "seed", &seed, "SEED", "random seed (default 1)"),
        VSIM_OPT_CALLBACK('m', "mesh", NULL, "PATH", "STL/OBJ file or folder (repeatable)",
                          add_mesh),
        VSIM_OPT_STRING(0, "sheet", &sheet, "PNG", "also write a contact sheet"),
        VSIM_OPT_INT(0, "sheet-designs", &per_label, "K", "designs per row of the sheet (4)"),
        VSIM_OPT_STRING(0, "fmnist", &fmnist, "DIR", "import Fashion-MNIST idx files from DIR"),
        VSIM_OPT_INT(0, "limit", &limit, "N", "with --fmnist: images per split (0 = all)"),
        VSIM_OPT_INT('t', "threads", &p.n_threads, "T", "OpenMP threads (0 = default)"),
        VSIM_OPT_FLAG(0, "list", &list, "list the part families and exit"),
        VSIM_OPT_END
    };

    vsim_cli_parse(&cli, opts, argc, argv, &first);
    if (list) {
        for (int f = 0; f < vsim_parts_n_families(); f++)
            printf("%s\t%s\n", vsim_parts_name(f), vsim_parts_summary(f));
        return VSIM_EXIT_OK;
    }
    if (!out)
        vsim_cli_usage_error(&cli, "-o FILE.h5 is required");
    if (parse_families(families, fam, &n_fam))
        vsim_cli_usage_error(&cli, "--families: %s", vsim_errmsg());
    if (limit < 0 || per_label < 1)
        vsim_cli_usage_error(&cli, "--limit and --sheet-designs must be positive");
    p.seed = (uint64_t)seed;
    p.families = n_fam ? fam : NULL;
    p.n_families = n_fam;
    p.mesh_paths = mesh_paths;
    p.n_mesh_paths = n_mesh_paths;
    if (!vsim_cli_quiet())
        p.progress = show_progress;
    rc = fmnist ? vsim_dataset_fmnist(fmnist, (size_t)limit, &ds) : vsim_samples_render(&p, &ds);
    if (!rc)
        rc = vsim_dataset_write(&ds, out);
    if (!rc && sheet)
        rc = vsim_dataset_sheet(&ds, sheet, per_label);
    if (rc) {
        vsim_dataset_release(&ds);
        return vsim_cli_error(cli.prog);
    }
    printf("%s: %zu designs x %d views x %d x %d, %d labels\n", out, ds.n, ds.n_views, ds.size,
           ds.size, ds.n_labels);
    vsim_dataset_release(&ds);
    return VSIM_EXIT_OK;
}
