/*
 * samples/mesh.h - indexed triangle meshes for the multi-view renderer: building,
 * rigid placement, normalisation to the unit bounding sphere, and the geometric
 * checks the tests rely on (closed, consistently oriented outwards).
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_SAMPLES_MESH_H
#define VSIM_SAMPLES_MESH_H

#include <stddef.h>
#include <stdint.h>

#include "core/vsim.h"

/*
 * Counter-clockwise triangles (seen from outside) over shared vertices. A value
 * type: VSIM_MESH_INIT or vsim_mesh_init, then vsim_mesh_release.
 */
typedef struct vsim_mesh {
    float *v;             /* n_verts * 3 coordinates (x, y, z) */
    uint32_t *tri;        /* n_tris * 3 vertex indices */
    size_t n_verts;
    size_t n_tris;
    size_t alloc_verts;   /* capacity, in vertices */
    size_t alloc_tris;    /* capacity, in triangles */
} vsim_mesh;

#define VSIM_MESH_INIT { NULL, NULL, 0, 0, 0, 0 }

void vsim_mesh_init(vsim_mesh *m);
/* Free the memory and re-initialise. */
void vsim_mesh_release(vsim_mesh *m);
/* Forget all vertices and triangles, keeping the memory. */
void vsim_mesh_clear(vsim_mesh *m);
/* Make room for extra vertices and triangles; VSIM_ENOMEM leaves m unchanged. */
int vsim_mesh_reserve(vsim_mesh *m, size_t extra_verts, size_t extra_tris);
/* Append a vertex; its index is n_verts - 1 afterwards. VSIM_ENOMEM or VSIM_ERANGE. */
int vsim_mesh_add_vertex(vsim_mesh *m, float x, float y, float z);
/* Append triangle (a, b, c); the indices must be < n_verts (asserted). */
int vsim_mesh_add_tri(vsim_mesh *m, uint32_t a, uint32_t b, uint32_t c);

/*
 * Append src to dst, mapping each vertex p to rot * p + shift (rot is a 3x3
 * row-major matrix; NULL = identity). A rotation with negative determinant
 * flips the triangles so that they stay counter-clockwise from outside.
 */
int vsim_mesh_append(vsim_mesh *dst, const vsim_mesh *src, const double *rot,
                     const double *shift);

/* Axis-aligned bounds over the vertices that triangles use; 0 if there are none. */
int vsim_mesh_bounds(const vsim_mesh *m, double lo[3], double hi[3]);

/*
 * Move the centre of the bounding box of the used vertices to the origin and
 * scale so that the farthest used vertex lies at distance 1: afterwards the
 * mesh fits the unit sphere and touches it. VSIM_EINVAL for an empty or
 * degenerate (single point) mesh.
 */
int vsim_mesh_normalize(vsim_mesh *m);

/* Findings of vsim_mesh_check. */
typedef struct vsim_mesh_report {
    size_t n_open_edges;      /* directed edges without the opposite edge (0: closed) */
    size_t n_bad_edges;       /* directed edges used more than once (non-manifold/flipped) */
    size_t n_components;      /* connected components (by shared vertices) */
    size_t n_inward;          /* components whose signed volume is <= 0 */
    double volume;            /* total signed volume */
} vsim_mesh_report;

/*
 * Check that every directed edge a->b is matched by exactly one b->a (closed and
 * consistently oriented) and that each component encloses positive volume
 * (normals point outwards). VSIM_ENOMEM only; the findings go to *out.
 */
int vsim_mesh_check(const vsim_mesh *m, vsim_mesh_report *out);

#endif
