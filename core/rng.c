/*
 * core/rng.c - xoshiro256** and splitmix64 (public-domain algorithms by
 * Blackman and Vigna), polar-method normals.
 * SPDX-License-Identifier: MIT
 */
#include "core/rng.h"

#include <math.h>

#include "core/vsim.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void vsim_rng_seed(vsim_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ULL + 0x632be59bd9b4e019ULL);

    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

uint64_t vsim_rng_u64(vsim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double vsim_rng_uniform(vsim_rng *r)
{
    return (double)(vsim_rng_u64(r) >> 11) * 0x1.0p-53;
}

uint64_t vsim_rng_below(vsim_rng *r, uint64_t n)
{
    uint64_t limit;
    uint64_t x;

    VSIM_ASSERT(n > 0);
    limit = UINT64_MAX - UINT64_MAX % n;
    do {
        x = vsim_rng_u64(r);
    } while (x >= limit);
    return x % n;
}

double vsim_rng_normal(vsim_rng *r)
{
    double u, v, s;

    do {
        u = 2.0 * vsim_rng_uniform(r) - 1.0;
        v = 2.0 * vsim_rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    return u * sqrt(-2.0 * log(s) / s);
}
