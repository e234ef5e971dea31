/*
 * samples/parts.h - procedural part families in the spirit of machine parts and
 * generative-design outcomes (brackets, beams, plates, lattices, gears, flanges,
 * heat sinks, organic blobs, shafts). Each design is a closed triangle mesh drawn
 * from its family's random parameters; designs vary but stay recognisable.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_SAMPLES_PARTS_H
#define VSIM_SAMPLES_PARTS_H

#include "core/rng.h"
#include "core/vsim.h"
#include "samples/mesh.h"

#define VSIM_PARTS_MAX_PARAMS 8   /* parameters recorded per design */

/* Number of families (>= 8). Family indices run from 0. */
int vsim_parts_n_families(void);
/* Family name ("bracket", "beam", ...), or NULL for an index out of range. */
const char *vsim_parts_name(int family);
/* One-line description, or NULL for an index out of range. */
const char *vsim_parts_summary(int family);
/* Index of the family called name, or VSIM_ENOTFOUND (with a message listing the names). */
int vsim_parts_find(const char *name, int *out);
/*
 * Names of the family's parameters (*n_params of them, <= VSIM_PARTS_MAX_PARAMS);
 * static strings.
 */
const char *const *vsim_parts_param_names(int family, int *n_params);

/*
 * Build one design of `family` into out (cleared first), drawing its parameters
 * from rng, and store them in params[0..n_params-1] (the rest become NaN). The
 * mesh is closed, counter-clockwise from outside, in the family's canonical pose
 * and not yet normalised. Thread-safe for distinct out/rng/params.
 * VSIM_EINVAL for an unknown family, VSIM_ENOMEM.
 */
int vsim_parts_build(int family, vsim_rng *rng, vsim_mesh *out,
                     double params[VSIM_PARTS_MAX_PARAMS]);

#endif
