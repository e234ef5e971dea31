/*
 * analyze/stats.c - per-tensor statistics (issue 5). One pass over the tensor
 * in fixed 4096-element chunks: each chunk converts its finite values to double
 * and keys, computes its moments two-pass while the chunk is in cache (mean,
 * then the centred sum of squares with the compensation term of Chan, Golub &
 * LeVeque 1983), and bumps the level-0 radix histogram that quantile.c starts
 * from. Chunk moments are merged pairwise (Chan's formula) in chunk order, so
 * the result does not depend on how many threads did the chunks. Contiguous
 * float32 and float64 chunks without NaN or infinity take an AVX2 kernel when
 * the CPU has one (probed at run time; the portable loops otherwise, and in
 * tests).
 * SPDX-License-Identifier: MIT
 */
#include "analyze/stats.h"

#include <math.h>
#include <string.h>

#include "analyze/stats_int.h"
#include "core/mem.h"
#include "core/omp.h"

const double vsim_stats_default_pct[7] = { 1, 5, 25, 50, 75, 95, 99 };

/* Moments of a run of finite values. */
typedef struct part {
    uint64_t n, zeros;
    double mean, mean_lo;       /* mean as an unevaluated sum mean + mean_lo */
    double m2;                  /* sum of squared deviations from the mean */
    double min, max, l1, l2sq;
    vsim_stats_nonfinite nf;
} part;


/* ---- loading chunks as keys and values ---- */


double vsim_stats_key_value(vsim_dtype dtype, uint64_t key)
{
    uint32_t u32 = (uint32_t)(key >> 32);
    uint64_t u64 = key;
    float f;
    double d;

    switch (dtype) {
    case VSIM_F32:
        u32 = (u32 & 0x80000000u) ? (u32 & 0x7fffffffu) : ~u32;
        memcpy(&f, &u32, sizeof(f));
        return (double)f + 0.0;     /* -0.0 reads as 0 */
    case VSIM_F64:
        u64 = (u64 & 0x8000000000000000ull) ? (u64 & 0x7fffffffffffffffull) : ~u64;
        memcpy(&d, &u64, sizeof(d));
        return d + 0.0;
    case VSIM_I32:
        return (double)(int32_t)(u32 ^ 0x80000000u);
    case VSIM_I64:
        return (double)(int64_t)(key ^ 0x8000000000000000ull);
    case VSIM_U8:
        return (double)(key >> 56);
    default:
        return NAN;
    }
}

/* Copy elements [i0, i0 + len) of a strided view into dst, contiguous. */
static void gather(const vsim_tensor *t, size_t i0, size_t len, void *dst)
{
    size_t esz = vsim_dtype_size(t->dtype), idx[VSIM_MAX_DIMS], rem = i0;
    ptrdiff_t off = 0;
    const char *base = t->data;
    char *out = dst;

    for (int d = t->ndim - 1; d >= 0; d--) {
        idx[d] = rem % t->shape[d];
        rem /= t->shape[d];
        off += (ptrdiff_t)idx[d] * t->stride[d];
    }
    for (size_t j = 0; j < len; j++) {
        memcpy(out + j * esz, base + off * (ptrdiff_t)esz, esz);
        for (int d = t->ndim - 1; d >= 0; d--) {
            off += t->stride[d];
            if (++idx[d] < t->shape[d])
                break;
            off -= (ptrdiff_t)t->shape[d] * t->stride[d];
            idx[d] = 0;
        }
    }
}

/*
 * any_nonfinite_T: 1 if p[0..len) has a NaN or an infinity (a loop the
 * compiler vectorises). load_T: the keys (if keys) and values (if vals) of
 * the finite elements of p[0..len), in element order, the others counted
 * into *nf; returns how many were finite. All-finite chunks, the common
 * case, take branch-free loops.
 */
#define DEFINE_LOAD(T, TYPE, UTYPE, EXP, MANT, SIGN, KEY)                                      \
static int any_nonfinite_##T(const TYPE *p, size_t len)                                        \
{                                                                                              \
    UTYPE hit = 0;                                                                             \
                                                                                               \
    for (size_t j = 0; j < len; j++) {                                                         \
        UTYPE u;                                                                               \
                                                                                               \
        memcpy(&u, &p[j], sizeof(u));                                                          \
        hit |= ((u & EXP) == EXP);                                                             \
    }                                                                                          \
    return hit != 0;                                                                           \
}                                                                                              \
                                                                                               \
static size_t load_##T(const TYPE *p, size_t len, uint64_t *keys, double *vals,                \
                       vsim_stats_nonfinite *nf)                                               \
{                                                                                              \
    size_t m = 0;                                                                              \
                                                                                               \
    if (!any_nonfinite_##T(p, len)) {                                                          \
        for (size_t j = 0; keys && j < len; j++) {                                             \
            UTYPE u;                                                                           \
                                                                                               \
            memcpy(&u, &p[j], sizeof(u));                                                      \
            keys[j] = KEY(u);                                                                  \
        }                                                                                      \
        for (size_t j = 0; vals && j < len; j++)                                               \
            vals[j] = (double)p[j];                                                            \
        return len;                                                                            \
    }                                                                                          \
    for (size_t j = 0; j < len; j++) {                                                         \
        UTYPE u;                                                                               \
                                                                                               \
        memcpy(&u, &p[j], sizeof(u));                                                          \
        if ((u & EXP) == EXP) {                                                                \
            if (u & MANT)                                                                      \
                nf->n_nan++;                                                                   \
            else if (u & SIGN)                                                                 \
                nf->n_neginf++;                                                                \
            else                                                                               \
                nf->n_posinf++;                                                                \
            continue;                                                                          \
        }                                                                                      \
        if (keys)                                                                              \
            keys[m] = KEY(u);                                                                  \
        if (vals)                                                                              \
            vals[m] = (double)p[j];                                                            \
        m++;                                                                                   \
    }                                                                                          \
    return m;                                                                                  \
}

DEFINE_LOAD(f32, float, uint32_t, 0x7f800000u, 0x007fffffu, 0x80000000u, vsim_key_f32)
DEFINE_LOAD(f64, double, uint64_t, 0x7ff0000000000000ull, 0x000fffffffffffffull,
            0x8000000000000000ull, vsim_key_f64)

static void load_ints(vsim_dtype dtype, const void *src, size_t len, uint64_t *keys,
                      double *vals)
{
    const int32_t *i32 = src;
    const int64_t *i64 = src;
    const uint8_t *u8 = src;

    for (size_t j = 0; keys && j < len; j++) {
        if (dtype == VSIM_I32)
            keys[j] = (uint64_t)((uint32_t)i32[j] ^ 0x80000000u) << 32;
        else if (dtype == VSIM_I64)
            keys[j] = (uint64_t)i64[j] ^ 0x8000000000000000ull;
        else
            keys[j] = (uint64_t)u8[j] << 56;
    }
    if (!vals)
        return;
    for (size_t j = 0; j < len; j++) {
        if (dtype == VSIM_I32)
            vals[j] = (double)i32[j];
        else if (dtype == VSIM_I64)
            vals[j] = (double)i64[j];
        else
            vals[j] = (double)u8[j];
    }
}

size_t vsim_stats_load(const vsim_tensor *t, size_t i0, size_t len, vsim_stats_scratch *sc,
                       unsigned what, vsim_stats_nonfinite *nf)
{
    size_t esz = vsim_dtype_size(t->dtype);
    const void *src = (const char *)t->data + i0 * esz;
    vsim_stats_nonfinite dummy = { 0, 0, 0 };
    uint64_t *keys = (what & VSIM_LOAD_KEYS) ? sc->keys : NULL;
    double *vals = (what & VSIM_LOAD_VALS) ? sc->vals : NULL;

    if (!nf)
        nf = &dummy;
    if (!vsim_tensor_is_contiguous(t)) {
        gather(t, i0, len, sc->gather);
        src = sc->gather;
    }
    switch (t->dtype) {
    case VSIM_F32:
        return load_f32(src, len, keys, vals, nf);
    case VSIM_F64:
        return load_f64(src, len, keys, vals, nf);
    default:
        load_ints(t->dtype, src, len, keys, vals);
        return len;
    }
}

/* ---- moments ---- */

/*
 * The moments of m finite values from their sums: mean, the centred sums t1 =
 * sum(x - mean) and t2 = sum((x - mean)^2) (the compensation term of Chan,
 * Golub & LeVeque), zeros, min, max, sum |x| and sum x^2.
 */
static void set_part(part *out, size_t m, uint64_t zeros, double mean, double t1, double t2,
                     double min, double max, double l1, double l2sq)
{
    memset(out, 0, sizeof(*out));
    out->n = m;
    out->zeros = zeros;
    out->mean = mean;
    out->mean_lo = t1 / (double)m;
    out->m2 = t2 - t1 * t1 / (double)m;
    if (out->m2 < 0.0)
        out->m2 = 0.0;
    out->min = min;
    out->max = max;
    out->l1 = l1;
    out->l2sq = l2sq;
}

/* Sums of finite values one at a time (the vector kernels' tails). */
typedef struct sums {
    double s, a, q, lo, hi;     /* sum, sum |x|, sum x^2, min, max */
    uint64_t z;                 /* zeros */
} sums;

/* Add x to *m; 0 (nothing added) if x is NaN or infinite. */
static inline int sums_add(sums *m, double x)
{
    if (!isfinite(x))
        return 0;
    m->s += x;
    m->a += fabs(x);
    m->q += x * x;
    m->lo = x < m->lo ? x : m->lo;
    m->hi = x > m->hi ? x : m->hi;
    m->z += (x == 0.0);
    return 1;
}

/* Min and max of the finite values of v[0..n) folded into *lo, *hi. */
static void finite_range_f64(const double *v, size_t n, double *lo, double *hi)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] - v[i] == 0.0) {       /* finite */
            *lo = v[i] < *lo ? v[i] : *lo;
            *hi = v[i] > *hi ? v[i] : *hi;
        }
}

#define LANES 8

/*
 * Moments of v[0..m), two-pass within the (cached) chunk; LANES independent
 * accumulators so that the loops pipeline (and vectorise where the compiler
 * can). Defined for double and, to skip a conversion buffer, float input.
 */
#define DEFINE_CHUNK_MOMENTS(NAME, TYPE) \
static void NAME(const TYPE *v, size_t m, part *out)                                           \
{                                                                                              \
    double s[LANES] = { 0 }, a[LANES] = { 0 }, q[LANES] = { 0 }, d1[LANES] = { 0 };            \
    double d2[LANES] = { 0 }, mn[LANES], mx[LANES], mean, t1 = 0.0, t2 = 0.0;                  \
    uint64_t z[LANES] = { 0 };                                                                 \
    size_t j = 0, mm = m - m % LANES;                                                          \
                                                                                               \
    memset(out, 0, sizeof(*out));                                                              \
    out->n = m;                                                                                \
    out->min = INFINITY;                                                                       \
    out->max = -INFINITY;                                                                      \
    if (m == 0)                                                                                \
        return;                                                                                \
    for (int k = 0; k < LANES; k++) {                                                          \
        mn[k] = (double)v[0];                                                                  \
        mx[k] = (double)v[0];                                                                  \
    }                                                                                          \
    for (j = 0; j < mm; j += LANES) {                                                          \
        for (int k = 0; k < LANES; k++) {                                                      \
            double x = (double)v[j + k];                                                       \
                                                                                               \
            s[k] += x;                                                                         \
            a[k] += fabs(x);                                                                   \
            q[k] += x * x;                                                                     \
            mn[k] = x < mn[k] ? x : mn[k];                                                     \
            mx[k] = x > mx[k] ? x : mx[k];                                                     \
            z[k] += (x == 0.0);                                                                \
        }                                                                                      \
    }                                                                                          \
    for (; j < m; j++) {                                                                       \
        double x = (double)v[j];                                                               \
                                                                                               \
        s[0] += x;                                                                             \
        a[0] += fabs(x);                                                                       \
        q[0] += x * x;                                                                         \
        mn[0] = x < mn[0] ? x : mn[0];                                                         \
        mx[0] = x > mx[0] ? x : mx[0];                                                         \
        z[0] += (x == 0.0);                                                                    \
    }                                                                                          \
    for (int k = 1; k < LANES; k++) {                                                          \
        s[0] += s[k];                                                                          \
        a[0] += a[k];                                                                          \
        q[0] += q[k];                                                                          \
        mn[0] = mn[k] < mn[0] ? mn[k] : mn[0];                                                 \
        mx[0] = mx[k] > mx[0] ? mx[k] : mx[0];                                                 \
        z[0] += z[k];                                                                          \
    }                                                                                          \
    mean = s[0] / (double)m;                                                                   \
    for (j = 0; j < mm; j += LANES) {                                                          \
        for (int k = 0; k < LANES; k++) {                                                      \
            double d = (double)v[j + k] - mean;                                                \
                                                                                               \
            d1[k] += d;                                                                        \
            d2[k] += d * d;                                                                    \
        }                                                                                      \
    }                                                                                          \
    for (; j < m; j++) {                                                                       \
        double d = (double)v[j] - mean;                                                        \
                                                                                               \
        t1 += d;                                                                               \
        t2 += d * d;                                                                           \
    }                                                                                          \
    for (int k = 0; k < LANES; k++) {                                                          \
        t1 += d1[k];                                                                           \
        t2 += d2[k];                                                                           \
    }                                                                                          \
    set_part(out, m, z[0], mean, t1, t2, mn[0], mx[0], a[0], q[0]);                             \
}

DEFINE_CHUNK_MOMENTS(chunk_moments, double)
DEFINE_CHUNK_MOMENTS(chunk_moments_f32, float)

/* ---- AVX2 kernels (x86-64, chosen at run time) ---- */

/*
 * The chunk kernels below (float32 and float64) do the work of the portable
 * chunk moments plus the finiteness check and the level-0 histogram with
 * 256-bit vectors: 16 (float64: 8) values per step, independent double
 * accumulators per moment. The method is the same two passes within the
 * chunk; the order of additions differs, and the squares are fused
 * multiply-adds (one rounding instead of two), so the last bits of the
 * moments may differ from the portable loops', within the tests' 1e-13.
 * They are compiled with target attributes and called only when the CPU has
 * AVX2 and FMA, so the binary stays portable.
 */
#if VSIM_STATS_HAVE_AVX2
static int simd_state = -1;     /* -1: not probed; 0 off; 1 on */

/* How far ahead the first loop over a chunk asks for memory (tensors stream
 * from DRAM or the page cache; the hardware prefetcher stops at page ends). */
#ifndef PREFETCH_BYTES
#define PREFETCH_BYTES 4096
#endif

int vsim_stats_simd(void)
{
    int s = __atomic_load_n(&simd_state, __ATOMIC_RELAXED);

    if (s < 0) {
        __builtin_cpu_init();
        s = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        __atomic_store_n(&simd_state, s, __ATOMIC_RELAXED);
    }
    return s;
}

void vsim_stats_set_simd(int on)
{
    __atomic_store_n(&simd_state, -1, __ATOMIC_RELAXED);
    if (on && vsim_stats_simd())
        return;
    __atomic_store_n(&simd_state, 0, __ATOMIC_RELAXED);
}

__attribute__((target("avx2,fma"))) static inline double hsum_pd(__m256d a, __m256d b)
{
    __m256d s = _mm256_add_pd(a, b);
    __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));

    return _mm_cvtsd_f64(h) + _mm_cvtsd_f64(_mm_unpackhi_pd(h, h));
}

/*
 * Moments of the m <= VSIM_STATS_CHUNK float32 values v into *out and their
 * top key bits into h (may be NULL). Returns 0, touching neither, when the
 * chunk holds a NaN or an infinity (the caller takes the general path).
 */
__attribute__((target("avx2,fma"))) static int chunk_f32_avx2(const float *v, size_t m, part *out,
                                                               uint32_t *h)
{
    const __m256i expo = _mm256_set1_epi32(0x7f800000);
    const __m256d absm = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffll));
    __m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
    __m256d q0 = s0, q1 = s0, q2 = s0, q3 = s0, a0 = s0, a1 = s0, a2 = s0, a3 = s0;
    __m256 mn = _mm256_set1_ps(INFINITY), mx = _mm256_set1_ps(-INFINITY);
    __m256i bad = _mm256_setzero_si256(), zc = bad;
    size_t mm = m & ~(size_t)15, j;
    double mean, t1, t2;
    sums sm = { .lo = INFINITY, .hi = -INFINITY };
    uint32_t zl[8];

    for (j = 0; j < mm; j += 16) {
        __m256 x = _mm256_loadu_ps(v + j), y = _mm256_loadu_ps(v + j + 8);
        __m256i xi = _mm256_castps_si256(x), yi = _mm256_castps_si256(y);
        __m256d x0;

        __builtin_prefetch((const void *)((uintptr_t)(v + j) + PREFETCH_BYTES));
        x0 = _mm256_cvtps_pd(_mm256_castps256_ps128(x));
        __m256d x1 = _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1));
        __m256d y0 = _mm256_cvtps_pd(_mm256_castps256_ps128(y));
        __m256d y1 = _mm256_cvtps_pd(_mm256_extractf128_ps(y, 1));

        bad = _mm256_or_si256(bad, _mm256_cmpeq_epi32(_mm256_and_si256(xi, expo), expo));
        bad = _mm256_or_si256(bad, _mm256_cmpeq_epi32(_mm256_and_si256(yi, expo), expo));
        mn = _mm256_min_ps(mn, _mm256_min_ps(x, y));
        mx = _mm256_max_ps(mx, _mm256_max_ps(x, y));
        zc = _mm256_sub_epi32(zc, _mm256_castps_si256(_mm256_cmp_ps(x, _mm256_setzero_ps(),
                                                                     _CMP_EQ_OQ)));
        zc = _mm256_sub_epi32(zc, _mm256_castps_si256(_mm256_cmp_ps(y, _mm256_setzero_ps(),
                                                                     _CMP_EQ_OQ)));
        s0 = _mm256_add_pd(s0, x0);
        s1 = _mm256_add_pd(s1, x1);
        s2 = _mm256_add_pd(s2, y0);
        s3 = _mm256_add_pd(s3, y1);
        q0 = _mm256_fmadd_pd(x0, x0, q0);
        q1 = _mm256_fmadd_pd(x1, x1, q1);
        q2 = _mm256_fmadd_pd(y0, y0, q2);
        q3 = _mm256_fmadd_pd(y1, y1, q3);
        a0 = _mm256_add_pd(a0, _mm256_and_pd(x0, absm));
        a1 = _mm256_add_pd(a1, _mm256_and_pd(x1, absm));
        a2 = _mm256_add_pd(a2, _mm256_and_pd(y0, absm));
        a3 = _mm256_add_pd(a3, _mm256_and_pd(y1, absm));
    }
    if (!_mm256_testz_si256(bad, bad))
        return 0;
    sm.s = hsum_pd(_mm256_add_pd(s0, s2), _mm256_add_pd(s1, s3));
    sm.q = hsum_pd(_mm256_add_pd(q0, q2), _mm256_add_pd(q1, q3));
    sm.a = hsum_pd(_mm256_add_pd(a0, a2), _mm256_add_pd(a1, a3));
    _mm256_storeu_si256((__m256i *)zl, zc);
    sm.z = (uint64_t)zl[0] + zl[1] + zl[2] + zl[3] + zl[4] + zl[5] + zl[6] + zl[7];
    {
        float fl[8], fh[8];

        _mm256_storeu_ps(fl, mn);
        _mm256_storeu_ps(fh, mx);
        for (int k = 0; k < 8; k++) {
            sm.lo = (double)fl[k] < sm.lo ? (double)fl[k] : sm.lo;
            sm.hi = (double)fh[k] > sm.hi ? (double)fh[k] : sm.hi;
        }
    }
    for (; j < m; j++)
        if (!sums_add(&sm, (double)v[j]))
            return 0;
    mean = sm.s / (double)m;
    {
        const __m256d mu = _mm256_set1_pd(mean);
        __m256d d10 = _mm256_setzero_pd(), d11 = d10, d20 = d10, d21 = d10;
        uint32_t bins[16];

        for (j = 0; j < mm; j += 16) {
            __m256 x = _mm256_loadu_ps(v + j), y = _mm256_loadu_ps(v + j + 8);
            __m256d x0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(x)), mu);
            __m256d x1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)), mu);
            __m256d y0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(y)), mu);
            __m256d y1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(y, 1)), mu);

            d10 = _mm256_add_pd(d10, _mm256_add_pd(x0, y0));
            d11 = _mm256_add_pd(d11, _mm256_add_pd(x1, y1));
            d20 = _mm256_fmadd_pd(x0, x0, _mm256_fmadd_pd(y0, y0, d20));
            d21 = _mm256_fmadd_pd(x1, x1, _mm256_fmadd_pd(y1, y1, d21));
            if (h) {
                /* the whole-key window: bin = key >> 16 (of the 32-bit key) */
                __m256i kx = vsim_key8_f32(_mm256_castps_si256(x));
                __m256i ky = vsim_key8_f32(_mm256_castps_si256(y));

                _mm256_storeu_si256((__m256i *)bins, _mm256_srli_epi32(kx, 16));
                _mm256_storeu_si256((__m256i *)(bins + 8), _mm256_srli_epi32(ky, 16));
                for (int k = 0; k < 16; k++)
                    h[bins[k]]++;
            }
        }
        t1 = hsum_pd(d10, d11);
        t2 = hsum_pd(d20, d21);
    }
    for (j = mm; j < m; j++) {
        double d = (double)v[j] - mean;
        uint32_t u;

        t1 += d;
        t2 += d * d;
        if (h) {
            memcpy(&u, &v[j], sizeof(u));
            h[vsim_key_f32(u) >> (64 - VSIM_STATS_RADIX_BITS)]++;
        }
    }
    set_part(out, m, sm.z, mean, t1, t2, sm.lo, sm.hi, sm.a, sm.q);
    return 1;
}

/* chunk_f32_avx2 for float64 values: 8 per step. */
__attribute__((target("avx2,fma"))) static int chunk_f64_avx2(const double *v, size_t m, part *out,
                                                               uint32_t *h,
                                                               const vsim_stats_window *win)
{
    const __m256i expo = _mm256_set1_epi64x(0x7ff0000000000000ll);
    const __m256d absm = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffll));
    __m256d s0 = _mm256_setzero_pd(), s1 = s0, q0 = s0, q1 = s0, a0 = s0, a1 = s0;
    __m256d mn = _mm256_set1_pd(INFINITY), mx = _mm256_set1_pd(-INFINITY);
    __m256i bad = _mm256_setzero_si256(), zc = bad;
    size_t mm = m & ~(size_t)7, j;
    double mean, t1, t2, fl[4], fh[4];
    sums sm = { .lo = INFINITY, .hi = -INFINITY };
    uint64_t zl[4];

    for (j = 0; j < mm; j += 8) {
        __m256d x = _mm256_loadu_pd(v + j), y = _mm256_loadu_pd(v + j + 4);
        __m256i xi = _mm256_castpd_si256(x), yi = _mm256_castpd_si256(y);

        bad = _mm256_or_si256(bad, _mm256_cmpeq_epi64(_mm256_and_si256(xi, expo), expo));
        bad = _mm256_or_si256(bad, _mm256_cmpeq_epi64(_mm256_and_si256(yi, expo), expo));
        mn = _mm256_min_pd(mn, _mm256_min_pd(x, y));
        mx = _mm256_max_pd(mx, _mm256_max_pd(x, y));
        zc = _mm256_sub_epi64(zc, _mm256_castpd_si256(_mm256_cmp_pd(x, _mm256_setzero_pd(),
                                                                     _CMP_EQ_OQ)));
        zc = _mm256_sub_epi64(zc, _mm256_castpd_si256(_mm256_cmp_pd(y, _mm256_setzero_pd(),
                                                                     _CMP_EQ_OQ)));
        s0 = _mm256_add_pd(s0, x);
        s1 = _mm256_add_pd(s1, y);
        q0 = _mm256_fmadd_pd(x, x, q0);
        q1 = _mm256_fmadd_pd(y, y, q1);
        a0 = _mm256_add_pd(a0, _mm256_and_pd(x, absm));
        a1 = _mm256_add_pd(a1, _mm256_and_pd(y, absm));
    }
    if (!_mm256_testz_si256(bad, bad))
        return 0;
    sm.s = hsum_pd(s0, s1);
    sm.q = hsum_pd(q0, q1);
    sm.a = hsum_pd(a0, a1);
    _mm256_storeu_si256((__m256i *)(void *)zl, zc);
    sm.z = zl[0] + zl[1] + zl[2] + zl[3];
    _mm256_storeu_pd(fl, mn);
    _mm256_storeu_pd(fh, mx);
    finite_range_f64(fl, 4, &sm.lo, &sm.hi);    /* lane minima, then maxima (each lane's */
    finite_range_f64(fh, 4, &sm.lo, &sm.hi);    /* minimum is at most its maximum) */
    for (; j < m; j++)
        if (!sums_add(&sm, v[j]))
            return 0;
    mean = sm.s / (double)m;
    {
        const __m256d mu = _mm256_set1_pd(mean);
        const __m256i wbase = _mm256_set1_epi64x((long long)win->base);
        const __m128i wcnt = _mm_cvtsi32_si128(win->width - VSIM_STATS_RADIX_BITS);
        __m256d d1 = _mm256_setzero_pd(), d2 = d1;
        uint64_t keys[8];

        for (j = 0; j < mm; j += 8) {
            __m256d x = _mm256_loadu_pd(v + j), y = _mm256_loadu_pd(v + j + 4);
            __m256d dx = _mm256_sub_pd(x, mu), dy = _mm256_sub_pd(y, mu);

            d1 = _mm256_add_pd(d1, _mm256_add_pd(dx, dy));
            d2 = _mm256_fmadd_pd(dx, dx, _mm256_fmadd_pd(dy, dy, d2));
            if (h) {
                __m256i xi = vsim_key4_f64(_mm256_castpd_si256(x));
                __m256i yi = vsim_key4_f64(_mm256_castpd_si256(y));

                xi = _mm256_srl_epi64(_mm256_sub_epi64(xi, wbase), wcnt);
                yi = _mm256_srl_epi64(_mm256_sub_epi64(yi, wbase), wcnt);
                _mm256_storeu_si256((__m256i *)(void *)keys, xi);
                _mm256_storeu_si256((__m256i *)(void *)(keys + 4), yi);
                for (int k = 0; k < 8; k++)
                    h[keys[k]]++;
            }
        }
        t1 = hsum_pd(d1, _mm256_setzero_pd());
        t2 = hsum_pd(d2, _mm256_setzero_pd());
    }
    for (j = mm; j < m; j++) {
        double d = v[j] - mean;
        uint64_t u;

        t1 += d;
        t2 += d * d;
        if (h) {
            memcpy(&u, &v[j], sizeof(u));
            h[vsim_stats_bin(win, vsim_key_f64(u))]++;
        }
    }
    set_part(out, m, sm.z, mean, t1, t2, sm.lo, sm.hi, sm.a, sm.q);
    return 1;
}

/* finite_range_f64, 8 values a step. */
__attribute__((target("avx2"))) static void finite_range_f64_avx2(const double *v, size_t n,
                                                                  double *lo, double *hi)
{
    const __m256d pinf = _mm256_set1_pd(INFINITY), ninf = _mm256_set1_pd(-INFINITY);
    const __m256d zero = _mm256_setzero_pd();
    __m256d mn0 = pinf, mn1 = pinf, mx0 = ninf, mx1 = ninf;
    size_t mm = n & ~(size_t)7, i;
    double fl[4], fh[4];

    for (i = 0; i < mm; i += 8) {
        __m256d x = _mm256_loadu_pd(v + i), y = _mm256_loadu_pd(v + i + 4);
        /* x - x is 0 for finite x, NaN otherwise */
        __m256d fx = _mm256_cmp_pd(_mm256_sub_pd(x, x), zero, _CMP_EQ_OQ);
        __m256d fy = _mm256_cmp_pd(_mm256_sub_pd(y, y), zero, _CMP_EQ_OQ);

        mn0 = _mm256_min_pd(mn0, _mm256_blendv_pd(pinf, x, fx));
        mn1 = _mm256_min_pd(mn1, _mm256_blendv_pd(pinf, y, fy));
        mx0 = _mm256_max_pd(mx0, _mm256_blendv_pd(ninf, x, fx));
        mx1 = _mm256_max_pd(mx1, _mm256_blendv_pd(ninf, y, fy));
    }
    _mm256_storeu_pd(fl, _mm256_min_pd(mn0, mn1));
    _mm256_storeu_pd(fh, _mm256_max_pd(mx0, mx1));
    finite_range_f64(fl, 4, lo, hi);            /* lane minima, then maxima (each lane's */
    finite_range_f64(fh, 4, lo, hi);            /* minimum is at most its maximum) */
    finite_range_f64(v + i, n - i, lo, hi);
}
#else
int vsim_stats_simd(void)
{
    return 0;
}

void vsim_stats_set_simd(int on)
{
    (void)on;
}
#endif

/* hi + lo as a normalised pair (Knuth's TwoSum). */
static void two_sum(double *hi, double *lo)
{
    double s = *hi + *lo, bb = s - *hi;

    *lo = (*hi - (s - bb)) + (*lo - bb);
    *hi = s;
}

/*
 * a := a + b (Chan, Golub & LeVeque's pairwise update). Means travel as
 * hi + lo pairs so that the difference of two chunk means stays exact for data
 * far from zero (a mean of 1e8 with a std of 1: tests/ref case f64_offset).
 */
static void merge_parts(part *a, const part *b)
{
    uint64_t n = a->n + b->n;

    a->nf.n_nan += b->nf.n_nan;
    a->nf.n_posinf += b->nf.n_posinf;
    a->nf.n_neginf += b->nf.n_neginf;
    if (b->n == 0)
        return;
    if (a->n == 0) {
        vsim_stats_nonfinite nf = a->nf;

        *a = *b;
        a->nf = nf;
        return;
    }
    double delta = (b->mean - a->mean) + (b->mean_lo - a->mean_lo);
    double fb = (double)b->n / (double)n;

    a->m2 = a->m2 + b->m2 + delta * delta * (double)a->n * fb;
    a->mean_lo += delta * fb;
    two_sum(&a->mean, &a->mean_lo);
    a->min = b->min < a->min ? b->min : a->min;
    a->max = b->max > a->max ? b->max : a->max;
    a->l1 += b->l1;
    a->l2sq += b->l2sq;
    a->zeros += b->zeros;
    a->n = n;
}

/* Merge parts[lo, hi) pairwise into *out (fixed tree: depends on chunk count only). */
static void merge_range(const part *parts, size_t lo, size_t hi, part *out)
{
    if (hi - lo == 1) {
        *out = parts[lo];
        return;
    }
    part right;
    size_t mid = lo + (hi - lo) / 2;

    merge_range(parts, lo, mid, out);
    merge_range(parts, mid, hi, &right);
    merge_parts(out, &right);
}

static void part_to_stats(const part *pt, uint64_t count, vsim_stats *out)
{
    out->count = count;
    out->n_finite = pt->n;
    out->n_nan = pt->nf.n_nan;
    out->n_posinf = pt->nf.n_posinf;
    out->n_neginf = pt->nf.n_neginf;
    out->n_zeros = pt->zeros;
    out->l1 = pt->l1;
    out->l2 = sqrt(pt->l2sq);
    if (pt->n == 0) {
        out->min = out->max = out->mean = out->std = NAN;
        return;
    }
    out->min = pt->min + 0.0;      /* a zero minimum or maximum reads as 0, whatever the */
    out->max = pt->max + 0.0;      /* sign of the zero the kernel met first or last */
    out->mean = pt->mean + pt->mean_lo;
    out->std = sqrt(pt->m2 / (double)pt->n);
}

static int check_params(const vsim_tensor *t, const vsim_stats_params *p)
{
    if (vsim_dtype_size(t->dtype) == 0)
        return vsim_fail(VSIM_EINVAL, "stats: invalid dtype %d", (int)t->dtype);
    if (t->ndim < 0 || t->ndim > VSIM_MAX_DIMS)
        return vsim_fail(VSIM_EINVAL, "stats: rank %d out of range", t->ndim);
    if (p->n_percentiles > VSIM_STATS_MAX_PCT)
        return vsim_fail(VSIM_EINVAL, "stats: %zu percentiles, at most %d", p->n_percentiles,
                         VSIM_STATS_MAX_PCT);
    for (size_t i = 0; i < p->n_percentiles; i++)
        if (!(p->percentiles[i] >= 0.0 && p->percentiles[i] <= 100.0))
            return vsim_fail(VSIM_EINVAL, "stats: percentile %g not in [0, 100]",
                             p->percentiles[i]);
    if (p->n_bins > VSIM_STATS_MAX_BINS)
        return vsim_fail(VSIM_EINVAL, "stats: %zu bins, at most %d", p->n_bins,
                         VSIM_STATS_MAX_BINS);
    if (vsim_tensor_n_elems(t) > UINT32_MAX)
        return vsim_fail(VSIM_ERANGE, "stats: tensor of %zu elements, at most %u",
                         vsim_tensor_n_elems(t), UINT32_MAX);
    return VSIM_OK;
}

/* Moments of chunk c into *pt; its keys' top bits counted into h (may be NULL). */
static void moments_chunk(const vsim_tensor *t, size_t n, size_t c, vsim_stats_scratch *sc,
                          uint32_t *h, const vsim_stats_window *win, part *pt)
{
    size_t i0 = c * VSIM_STATS_CHUNK;
    size_t len = n - i0 < VSIM_STATS_CHUNK ? n - i0 : VSIM_STATS_CHUNK;
    vsim_stats_nonfinite nf = { 0, 0, 0 };
    const float *f = (const float *)t->data + i0;
    size_t m;

#if VSIM_STATS_HAVE_AVX2
    if (t->dtype == VSIM_F32 && vsim_tensor_is_contiguous(t) && len &&
        vsim_stats_simd() && chunk_f32_avx2(f, len, pt, h))
        return;
    if (t->dtype == VSIM_F64 && vsim_tensor_is_contiguous(t) && len && vsim_stats_simd() &&
        chunk_f64_avx2((const double *)t->data + i0, len, pt, h, win))
        return;
#endif
    if (t->dtype == VSIM_F32 && vsim_tensor_is_contiguous(t) && !any_nonfinite_f32(f, len)) {
        /* fast path: no key or value buffers */
        chunk_moments_f32(f, len, pt);
        if (h)
            for (size_t j = 0; j < len; j++) {
                uint32_t u;

                memcpy(&u, &f[j], sizeof(u));
                h[vsim_stats_bin(win, vsim_key_f32(u))]++;
            }
        return;
    }
    m = vsim_stats_load(t, i0, len, sc, VSIM_LOAD_VALS | (h ? VSIM_LOAD_KEYS : 0), &nf);
    chunk_moments(sc->vals, m, pt);
    pt->nf = nf;
    if (h)
        for (size_t j = 0; j < m; j++)
            h[vsim_stats_bin(win, sc->keys[j])]++;
}

/*
 * The level-0 window of a float64 tensor: its finite values' keys from min to
 * max (one pass of compares, against the refining passes a crowded tensor
 * would need). Other dtypes, and float64 spanning most of the keys, get all.
 */
static vsim_stats_window key_window(const vsim_tensor *t, size_t n)
{
    const double *v = t->data;
    double lo = INFINITY, hi = -INFINITY;
    uint64_t klo, khi, span, u, last;
    vsim_stats_window w = VSIM_STATS_WINDOW_ALL;
    int bits;

    if (t->dtype != VSIM_F64 || !vsim_tensor_is_contiguous(t))
        return w;
#if VSIM_STATS_HAVE_AVX2
    if (vsim_stats_simd())
        finite_range_f64_avx2(v, n, &lo, &hi);
    else
#endif
        finite_range_f64(v, n, &lo, &hi);
    if (lo > hi)
        return w;               /* no finite value */
    if (lo == 0.0)
        lo = -0.0;              /* -0.0 has the lower key: cover both zeros */
    if (hi == 0.0)
        hi = 0.0;
    memcpy(&u, &lo, sizeof(u));
    klo = vsim_key_f64(u);
    memcpy(&u, &hi, sizeof(u));
    khi = vsim_key_f64(u);
    span = khi - klo;
    bits = span ? 64 - __builtin_clzll(span) : 0;    /* span < 2^bits */
    /* a multiple of 16 bits, so that refining (16 bits a pass) ends exactly at
     * single keys, as it does from the full width */
    w.width = (bits + VSIM_STATS_RADIX_BITS - 1) / VSIM_STATS_RADIX_BITS * VSIM_STATS_RADIX_BITS;
    if (w.width < VSIM_STATS_RADIX_BITS)
        w.width = VSIM_STATS_RADIX_BITS;
    if (w.width >= 64)
        return VSIM_STATS_WINDOW_ALL;
    /* the window must not run past the last key */
    last = UINT64_MAX - (((uint64_t)1 << w.width) - 1);
    w.base = klo <= last ? klo : last;
    return w;
}

/* The chunk pass: moments of every chunk, and level-0 histograms when hist0. */
static void moments_pass(const vsim_tensor *t, size_t n, size_t n_chunks, int nth,
                         vsim_stats_scratch *scratch, uint32_t *hist0,
                         const vsim_stats_window *win, part *parts)
{
#pragma omp parallel num_threads(nth) default(none) \
    shared(t, n, n_chunks, nth, scratch, hist0, win, parts)
    {
        for (int ith = vsim_omp_thread_num(); ith < nth; ith += vsim_omp_num_threads()) {
            vsim_stats_scratch *sc = &scratch[ith];
            uint32_t *h = hist0 ? hist0 + (size_t)ith * VSIM_STATS_RADIX : NULL;
            size_t c0, c1;

            vsim_stats_split(n_chunks, ith, nth, &c0, &c1);
            for (size_t c = c0; c < c1; c++)
                moments_chunk(t, n, c, sc, h, win, &parts[c]);
        }
    }
}

static int compute_pct(const vsim_tensor *t, const vsim_stats_params *p, size_t n_chunks,
                       int nth, const uint32_t *hist0, const vsim_stats_window *win,
                       const part *parts, vsim_stats *st)
{
    uint64_t *fin = vsim_calloc((size_t)nth, sizeof(*fin));
    int rc;

    if (!fin)
        return vsim_fail(VSIM_ENOMEM, "stats: out of memory");
    for (int ith = 0; ith < nth; ith++) {
        size_t c0, c1;

        vsim_stats_split(n_chunks, ith, nth, &c0, &c1);
        for (size_t c = c0; c < c1; c++)
            fin[ith] += parts[c].n;
    }
    rc = vsim_quantile_compute(t, n_chunks, nth, hist0, win, fin, st->n_finite, p->percentiles,
                               p->n_percentiles, st->pct);
    vsim_free(fin);
    return rc;
}

int vsim_stats_compute(const vsim_tensor *t, const vsim_stats_params *params, vsim_stats *out,
                       vsim_hist *hist)
{
    vsim_stats_params defaults = VSIM_STATS_PARAMS_INIT;
    const vsim_stats_params *p = params ? params : &defaults;
    vsim_stats st;
    vsim_stats_scratch *scratch = NULL;
    uint32_t *hist0 = NULL;
    vsim_stats_window win = VSIM_STATS_WINDOW_ALL;
    part *parts = NULL, total;
    size_t n, n_chunks;
    int nth, rc;

    VSIM_ASSERT(t && out);
    rc = check_params(t, p);
    if (rc)
        return rc;
    memset(&st, 0, sizeof(st));
    n = vsim_tensor_n_elems(t);
    n_chunks = (n + VSIM_STATS_CHUNK - 1) / VSIM_STATS_CHUNK;
    st.n_pct = p->n_percentiles;
    for (size_t i = 0; i < st.n_pct; i++) {
        st.pct_q[i] = p->percentiles[i];
        st.pct[i] = NAN;
    }
    if (n == 0) {
        memset(&total, 0, sizeof(total));
        part_to_stats(&total, 0, &st);
        rc = hist && p->n_bins ? vsim_hist_compute(t, 0, 1, p, &st, hist) : VSIM_OK;
        if (!rc)
            *out = st;
        return rc;
    }
    nth = vsim_omp_resolve(p->n_threads);
    (void)vsim_stats_simd();        /* probe the CPU here, not in the threads */
    if ((size_t)nth > n_chunks)
        nth = (int)n_chunks;
    scratch = vsim_mallocarray((size_t)nth, sizeof(*scratch));
    parts = vsim_mallocarray(n_chunks, sizeof(*parts));
    if (n > VSIM_STATS_SMALL && p->n_percentiles)
        hist0 = vsim_calloc((size_t)nth * VSIM_STATS_RADIX, sizeof(*hist0));
    if (!scratch || !parts || (n > VSIM_STATS_SMALL && p->n_percentiles && !hist0)) {
        rc = vsim_fail(VSIM_ENOMEM, "stats: out of memory for %zu elements", n);
        goto done;
    }
    if (hist0)
        win = key_window(t, n);
    moments_pass(t, n, n_chunks, nth, scratch, hist0, &win, parts);
    merge_range(parts, 0, n_chunks, &total);
    part_to_stats(&total, n, &st);
    vsim_free(scratch);
    scratch = NULL;
    if (st.n_pct && st.n_finite) {
        rc = compute_pct(t, p, n_chunks, nth, hist0, &win, parts, &st);
        if (rc)
            goto done;
    }
    if (hist && p->n_bins) {
        rc = vsim_hist_compute(t, n_chunks, nth, p, &st, hist);
        if (rc)
            goto done;
    }
    *out = st;
done:
    vsim_free(hist0);
    vsim_free(parts);
    vsim_free(scratch);
    return rc;
}

/* ---- merging and fields ---- */

/* The moments of s as a part (part_to_stats's inverse, up to rounding). */
static part stats_to_part(const vsim_stats *s)
{
    return (part){ .n = s->n_finite, .zeros = s->n_zeros, .mean = s->mean, .mean_lo = 0.0,
                   .m2 = s->std * s->std * (double)s->n_finite, .min = s->min, .max = s->max,
                   .l1 = s->l1, .l2sq = s->l2 * s->l2,
                   .nf = { s->n_nan, s->n_posinf, s->n_neginf } };
}

void vsim_stats_merge(vsim_stats *a, const vsim_stats *b)
{
    part pa = stats_to_part(a), pb = stats_to_part(b);

    if (b->n_finite) {
        if (a->n_finite)
            for (size_t i = 0; i < a->n_pct; i++)
                a->pct[i] = NAN;
        else
            memcpy(a->pct, b->pct, sizeof(a->pct));
    }
    merge_parts(&pa, &pb);
    part_to_stats(&pa, a->count + b->count, a);
}

static const char *const field_names[VSIM_STATS_F_PCT0] = {
    "count", "nan", "posinf", "neginf", "zeros", "min", "max", "mean", "std", "l1", "l2"
};

const char *vsim_stats_field_name(int f)
{
    return (f >= 0 && f < VSIM_STATS_F_PCT0) ? field_names[f] : "percentile";
}

double vsim_stats_field(const vsim_stats *s, int f)
{
    switch (f) {
    case VSIM_STATS_F_COUNT: return (double)s->count;
    case VSIM_STATS_F_NAN: return (double)s->n_nan;
    case VSIM_STATS_F_POSINF: return (double)s->n_posinf;
    case VSIM_STATS_F_NEGINF: return (double)s->n_neginf;
    case VSIM_STATS_F_ZEROS: return (double)s->n_zeros;
    case VSIM_STATS_F_MIN: return s->min;
    case VSIM_STATS_F_MAX: return s->max;
    case VSIM_STATS_F_MEAN: return s->mean;
    case VSIM_STATS_F_STD: return s->std;
    case VSIM_STATS_F_L1: return s->l1;
    case VSIM_STATS_F_L2: return s->l2;
    default:
        if (f >= VSIM_STATS_F_PCT0 && (size_t)(f - VSIM_STATS_F_PCT0) < s->n_pct)
            return s->pct[f - VSIM_STATS_F_PCT0];
        return NAN;
    }
}
