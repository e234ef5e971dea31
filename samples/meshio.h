/*
 * samples/meshio.h - mesh files: STL (binary and ASCII) and Wavefront OBJ, so
 * that a user's own CAD exports can be rendered. Readers reject bad input with
 * a message naming the file (truncated data, a triangle count that does not
 * match the file size, NaN/Inf vertices, out-of-range face indices, no triangles);
 * writers replace the file atomically.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_SAMPLES_MESHIO_H
#define VSIM_SAMPLES_MESHIO_H

#include "core/vsim.h"
#include "samples/mesh.h"

/*
 * Read an STL file into out (cleared first), binary or ASCII (detected: a file
 * whose size matches its binary header is binary even if it starts with "solid").
 * Identical vertices are welded so that closed parts come back closed.
 * VSIM_EIO (cannot read), VSIM_EFORMAT (bad content), VSIM_ENOMEM; out is then empty.
 */
int vsim_stl_read(const char *path, vsim_mesh *out);
/* Write m as binary (binary = 1) or ASCII STL. VSIM_EIO, VSIM_ENOMEM. */
int vsim_stl_write(const char *path, const vsim_mesh *m, int binary);

/*
 * Read a Wavefront OBJ file (v and f records; polygons are fanned into
 * triangles; texture/normal indices and other records are ignored).
 */
int vsim_obj_read(const char *path, vsim_mesh *out);
int vsim_obj_write(const char *path, const vsim_mesh *m);

/* 1 if path ends in .stl or .obj (any case). */
int vsim_meshio_is_mesh(const char *path);
/* Read path by its extension (.stl or .obj); VSIM_EUNSUP for other names. */
int vsim_meshio_read(const char *path, vsim_mesh *out);

#endif
