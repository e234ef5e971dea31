/*
 * samples/render.h - orthographic z-buffer renderer for normalised meshes:
 * flat Lambert shading with a light fixed to the camera, anti-aliasing by
 * supersampling (box filter), grey-scale uint8 images on a black background.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_SAMPLES_RENDER_H
#define VSIM_SAMPLES_RENDER_H

#include <stdint.h>

#include "core/rng.h"
#include "core/vsim.h"
#include "samples/mesh.h"

#define VSIM_RENDER_MAX_SIZE 4096
#define VSIM_RENDER_MAX_SS 8
#define VSIM_RENDER_N_DEFAULT_VIEWS 6

typedef struct vsim_render_params {
    int size;          /* S: output image is S x S pixels (1 .. VSIM_RENDER_MAX_SIZE) */
    int supersample;   /* samples per pixel side (1 .. VSIM_RENDER_MAX_SS); 2 = 4 samples */
    int cull;          /* 1: skip back faces (only for closed, outward meshes) */
} vsim_render_params;

#define VSIM_RENDER_PARAMS_INIT { .size = 64, .supersample = 2, .cull = 0 }

/* A renderer with its z-buffer and scratch; one per thread. */
typedef struct vsim_render vsim_render;

/* VSIM_EINVAL for bad params, VSIM_ENOMEM; *out = NULL on failure. */
int vsim_render_create(const vsim_render_params *params, vsim_render **out);
void vsim_render_destroy(vsim_render *r);   /* NULL is a no-op */

/*
 * Render m (normalised to the unit sphere: [-1, 1] maps onto the image) seen
 * from direction dir (unit vector from the object towards the camera) into out,
 * S * S bytes, row 0 at the top. The image's up is world +z projected (world +y
 * when looking along z). Returns VSIM_OK or VSIM_ENOMEM (scratch growth).
 */
int vsim_render_view(vsim_render *r, const vsim_mesh *m, const double dir[3], uint8_t *out);

/* Camera frame for dir: right and up unit vectors (image x and y). */
void vsim_render_frame(const double dir[3], double right[3], double up[3]);

/*
 * The default views in order: front (-y), side (+x), top (+z) and three
 * isometric corners; n <= VSIM_RENDER_N_DEFAULT_VIEWS of them go into dirs.
 */
void vsim_render_default_views(int n, double (*dirs)[3]);
/* n directions uniform on the sphere drawn from rng. */
void vsim_render_random_views(vsim_rng *rng, int n, double (*dirs)[3]);

#endif
