/*
 * samples/shape_int.h - internal building blocks of the procedural part families:
 * a planar triangulation with exact vertex welding (so neighbouring cells share
 * their edges and extrusions are watertight), extrusion, lathing, boxes, struts
 * and radial (star-shaped) surfaces. Every solid is closed and counter-clockwise
 * from outside; the families combine them (overlaps are allowed: each piece is closed).
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_SAMPLES_SHAPE_INT_H
#define VSIM_SAMPLES_SHAPE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/vsim.h"
#include "samples/mesh.h"

/* Planar triangulation in (x, y), counter-clockwise triangles. */
typedef struct vsim_shape {
    float *p;              /* n_pts * 2 */
    uint32_t *tri;         /* n_tris * 3 */
    size_t n_pts, alloc_pts, n_tris, alloc_tris;
    uint32_t *slots;       /* weld hash: point index + 1, 0 = empty */
    size_t n_slots;        /* power of two */
    float wrap_y;          /* > 0: y == wrap_y is welded to y == 0 (polar grids) */
} vsim_shape;

#define VSIM_SHAPE_INIT { NULL, NULL, 0, 0, 0, 0, NULL, 0, 0.0f }

VSIM_INTERNAL void vsim_shape_release(vsim_shape *s);
VSIM_INTERNAL void vsim_shape_clear(vsim_shape *s);
/* Index of the point (x, y), adding it unless an identical one exists. */
VSIM_INTERNAL int vsim_shape_point(vsim_shape *s, float x, float y, uint32_t *out);
VSIM_INTERNAL int vsim_shape_tri(vsim_shape *s, uint32_t a, uint32_t b, uint32_t c);
/*
 * Rectangle [x0,x1] x [y0,y1] with k boundary samples per side (neighbours with the
 * same k share edges exactly); hx, hy > 0 cut an elliptical hole of those radii
 * around its centre.
 */
VSIM_INTERNAL int vsim_shape_cell(vsim_shape *s, float x0, float y0, float x1, float y1, int k,
                                  float hx, float hy);
/* Union of axis-aligned rectangles (n_rects * {x0, y0, x1, y1}) over their breakpoint grid. */
VSIM_INTERNAL int vsim_shape_rects(vsim_shape *s, const float *rects, int n_rects);
/* Disc or annulus sampled at n angles: r_out[j] outer radius, r_in NULL (disc) or inner. */
VSIM_INTERNAL int vsim_shape_polar(vsim_shape *s, int n, const float *r_in, const float *r_out);
/* Map (x, y) = (radius, angle in radians) to the plane; keeps counter-clockwise order. */
VSIM_INTERNAL void vsim_shape_map_polar(vsim_shape *s);

/* Extrude s from z0 to z1 (> z0), place it with rot/shift (see vsim_mesh_append) into m. */
VSIM_INTERNAL int vsim_shape_extrude(const vsim_shape *s, float z0, float z1, vsim_mesh *m,
                                     const double *rot, const double *shift);

/* Scratch mesh used to place a solid; callers pass one to avoid reallocations. */
VSIM_INTERNAL int vsim_solid_box(vsim_mesh *m, const float lo[3], const float hi[3]);
/* Prism of `sides` sides and circumradius r from p to q (a cylinder for many sides). */
VSIM_INTERNAL int vsim_solid_strut(vsim_mesh *m, const float p[3], const float q[3], float r,
                                   int sides);
/*
 * Solid of revolution about the z axis: profile (z[i], r[i] > 0), i = 0..n-1, from
 * the bottom cap to the top cap, with `sides` segments around.
 */
VSIM_INTERNAL int vsim_solid_lathe(vsim_mesh *m, int n, const float *z, const float *r,
                                   int sides);
/* Tube (hollow cylinder) about the z axis: radii r_in < r_out, heights z0 < z1. */
VSIM_INTERNAL int vsim_solid_tube(vsim_mesh *m, float r_in, float r_out, float z0, float z1,
                                  int sides);
/* Star-shaped closed surface r(direction) sampled on an n_lat x n_lon grid. */
typedef double (*vsim_radius_fn)(const double dir[3], const void *ctx);
VSIM_INTERNAL int vsim_solid_radial(vsim_mesh *m, int n_lat, int n_lon, vsim_radius_fn fn,
                                    const void *ctx);

#endif
