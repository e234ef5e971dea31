/*
 * core/rng.h - explicit random number streams: xoshiro256** (Blackman & Vigna
 * 2018) seeded through splitmix64. rand() is banned (docs/architecture.md, OpenMP rule 6).
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_CORE_RNG_H
#define VSIM_CORE_RNG_H

#include <stdint.h>

typedef struct vsim_rng {
    uint64_t s[4];
} vsim_rng;

/* Seed a stream from (seed, stream id): distinct ids give independent streams. */
void vsim_rng_seed(vsim_rng *r, uint64_t seed, uint64_t stream);
uint64_t vsim_rng_u64(vsim_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double vsim_rng_uniform(vsim_rng *r);
/* Uniform integer in [0, n), unbiased; n > 0. */
uint64_t vsim_rng_below(vsim_rng *r, uint64_t n);
/* Standard normal deviate (Marsaglia polar method). */
double vsim_rng_normal(vsim_rng *r);

#endif
