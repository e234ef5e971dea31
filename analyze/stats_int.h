/*
 * analyze/stats_int.h - internals shared by analyze/stats.c, quantile.c and
 * hist.c: chunked loading of a tensor view as sortable integer keys, and the
 * work split that every pass over a tensor uses.
 * A key maps a finite value to a uint64 whose unsigned order is the numeric
 * order (IEEE bits with the sign folded; integers offset), -0.0 mapped as +0.0.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_ANALYZE_STATS_INT_H
#define VSIM_ANALYZE_STATS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "analyze/stats.h"
#include "core/tensor.h"
#include "core/vsim.h"

/* Elements per chunk: the unit of work and of moment merging (fixed, so results
 * do not depend on the thread count). */
#define VSIM_STATS_CHUNK 4096
/* Level-0 radix histogram: the top 16 bits of a key. */
#define VSIM_STATS_RADIX_BITS 16
#define VSIM_STATS_RADIX (1u << VSIM_STATS_RADIX_BITS)
/* Tensors with at most this many elements skip the radix histogram. */
#define VSIM_STATS_SMALL 8192

/* x86-64 builds carry AVX2 kernels, used when the CPU has AVX2 and FMA. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(VSIM_NO_SIMD)
#define VSIM_STATS_HAVE_AVX2 1
#else
#define VSIM_STATS_HAVE_AVX2 0
#endif

/*
 * Keys of float bits: negative values have all bits flipped, others the sign
 * bit set, so unsigned order is numeric order (-0.0 sorts just below +0.0);
 * a float32 key sits in the upper 32 bits.
 */
static inline uint64_t vsim_key_f32(uint32_t u)
{
    return (uint64_t)(u ^ ((uint32_t)-(int32_t)(u >> 31) | 0x80000000u)) << 32;
}

static inline uint64_t vsim_key_f64(uint64_t u)
{
    return u ^ ((uint64_t)-(int64_t)(u >> 63) | 0x8000000000000000ull);
}

/* 1 if a key is a finite value's (NaN and infinities sit at both ends of the order). */
static inline int vsim_key_f32_finite(uint64_t key)
{
    return (uint32_t)(key >> 32) - 0x00800000u < 0xff000000u;
}

static inline int vsim_key_f64_finite(uint64_t key)
{
    return key - 0x0010000000000000ull < 0xffe0000000000000ull;
}

#if VSIM_STATS_HAVE_AVX2
#include <immintrin.h>

/* vsim_key_f32 of 8 float32 bit patterns, as 32-bit keys. */
__attribute__((target("avx2"))) static inline __m256i vsim_key8_f32(__m256i u)
{
    return _mm256_xor_si256(u, _mm256_or_si256(_mm256_srai_epi32(u, 31),
                                                _mm256_set1_epi32((int)0x80000000u)));
}

/* vsim_key_f64 of 4 float64 bit patterns. */
__attribute__((target("avx2"))) static inline __m256i vsim_key4_f64(__m256i u)
{
    return _mm256_xor_si256(u, _mm256_or_si256(_mm256_cmpgt_epi64(_mm256_setzero_si256(), u),
                                                _mm256_set1_epi64x(INT64_MIN)));
}
#endif

/* 1 if the float32 kernels run vectorised (probed once; thread-safe). */
VSIM_INTERNAL int vsim_stats_simd(void);
/* Turn the vector kernels off (0) or back on where the CPU allows (1); for tests. */
VSIM_INTERNAL void vsim_stats_set_simd(int on);

/*
 * The keys the level-0 histogram spans: [base, base + 2^width), width a
 * multiple of 16 (refining takes 16 bits a pass), in VSIM_STATS_RADIX bins of
 * 2^(width - 16) keys: bin = (key - base) >> (width - 16). Usually all keys
 * ({0, 64}: the top 16 bits); float64 tensors
 * get the window of their own min..max, so that values crowded into a few
 * exponents (1000 +- 1) are resolved without refining passes.
 */
typedef struct vsim_stats_window {
    uint64_t base;
    int width;
} vsim_stats_window;

#define VSIM_STATS_WINDOW_ALL ((vsim_stats_window){ 0, 64 })

static inline uint32_t vsim_stats_bin(const vsim_stats_window *w, uint64_t key)
{
    return (uint32_t)((key - w->base) >> (w->width - VSIM_STATS_RADIX_BITS));
}

/* Non-finite counts of a chunk. */
typedef struct vsim_stats_nonfinite {
    uint64_t n_nan, n_posinf, n_neginf;
} vsim_stats_nonfinite;

/* Per-thread scratch for loading chunks. */
typedef struct vsim_stats_scratch {
    unsigned char gather[VSIM_STATS_CHUNK * 8]; /* a strided chunk copied contiguous */
    uint64_t keys[VSIM_STATS_CHUNK];
    double vals[VSIM_STATS_CHUNK];
} vsim_stats_scratch;

enum { VSIM_LOAD_KEYS = 1, VSIM_LOAD_VALS = 2 };

/*
 * Load elements [i0, i0 + len) of t (len <= VSIM_STATS_CHUNK): for the finite
 * ones, their keys into sc->keys (what has VSIM_LOAD_KEYS) and their values
 * into sc->vals (VSIM_LOAD_VALS), in element order; count the others into *nf
 * (may be NULL). Returns the number of finite elements.
 */
VSIM_INTERNAL size_t vsim_stats_load(const vsim_tensor *t, size_t i0, size_t len,
                                     vsim_stats_scratch *sc, unsigned what,
                                     vsim_stats_nonfinite *nf);

/* The value whose key is key, for dtype. */
VSIM_INTERNAL double vsim_stats_key_value(vsim_dtype dtype, uint64_t key);

/* Chunks [*c0, *c1) that thread ith of nth handles out of n_chunks. */
static inline void vsim_stats_split(size_t n_chunks, int ith, int nth, size_t *c0, size_t *c1)
{
    *c0 = n_chunks * (size_t)ith / (size_t)nth;
    *c1 = n_chunks * (size_t)(ith + 1) / (size_t)nth;
}

/*
 * Percentiles q[0..n_q) (0..100) of the finite values of t, numpy's linear
 * method, into out. nth threads split the n_chunks chunks by vsim_stats_split;
 * n_fin_thread[ith] is the number of finite values in thread ith's chunks;
 * hist0 (may be NULL) holds nth level-0 histograms of VSIM_STATS_RADIX counts
 * over the key window win.
 */
VSIM_INTERNAL int vsim_quantile_compute(const vsim_tensor *t, size_t n_chunks, int nth,
                                        const uint32_t *hist0, const vsim_stats_window *win,
                                        const uint64_t *n_fin_thread,
                                        uint64_t n_finite, const double *q, size_t n_q,
                                        double *out);

/*
 * Histogram of the finite values of t (st already computed: min, max, n_finite)
 * into h with p->n_bins bins; nth threads over n_chunks chunks.
 */
VSIM_INTERNAL int vsim_hist_compute(const vsim_tensor *t, size_t n_chunks, int nth,
                                    const vsim_stats_params *p, const vsim_stats *st,
                                    vsim_hist *h);

#endif
