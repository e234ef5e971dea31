/*
 * samples/samples.h - render a multi-view dataset: procedural part families or
 * the user's STL/OBJ meshes, V views per design, OpenMP over designs. The same
 * seed gives the same bytes for any thread count: design i of family f draws
 * from the RNG stream (seed, f << 32 | i) and writes only its own rows.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_SAMPLES_SAMPLES_H
#define VSIM_SAMPLES_SAMPLES_H

#include <stdint.h>

#include "core/progress.h"
#include "core/vsim.h"
#include "samples/dataset.h"
#include "samples/mesh.h"
#include "samples/render.h"

typedef struct vsim_samples_params {
    const int *families;        /* family indices to render; NULL = all (borrowed) */
    int n_families;
    int n_designs;              /* designs per family (procedural) */
    int n_views;                /* V; <= 6 unless random_views */
    int random_views;           /* 1: V directions uniform on the sphere, per design */
    vsim_render_params render;  /* size, supersampling (cull is set per source) */
    uint64_t seed;
    int n_threads;              /* 0 = OpenMP default */
    const char *const *mesh_paths;  /* files or folders; n_mesh_paths > 0 replaces the
                                       procedural families (borrowed) */
    int n_mesh_paths;
    vsim_progress_fn progress;  /* called from the calling thread; may be NULL */
    void *progress_ctx;
} vsim_samples_params;

#define VSIM_SAMPLES_PARAMS_INIT { .n_designs = 64, .n_views = 6, \
                                   .render = VSIM_RENDER_PARAMS_INIT, .seed = 1 }

/*
 * Render the dataset into out (released by the caller with vsim_dataset_release).
 * Mesh folders: meshes directly inside take the folder's name as label, meshes
 * in its sub-folders take the sub-folder's name; a mesh file given directly
 * takes its file name without extension. Files are visited in name order.
 * VSIM_EINVAL (bad parameters, stopped by progress), VSIM_ENOTFOUND, VSIM_EFORMAT
 * (a bad mesh: the message names the file), VSIM_ENOMEM. *out is untouched on failure.
 */
int vsim_samples_render(const vsim_samples_params *params, vsim_dataset *out);

/*
 * Build design `index` of `family` exactly as vsim_samples_render does (same RNG
 * stream) and normalise it to the unit sphere. params may be NULL.
 */
int vsim_samples_design(int family, uint64_t seed, int index, vsim_mesh *out, double *params);

#endif
