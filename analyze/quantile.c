/*
 * analyze/quantile.c - exact percentiles by selection, not sorting (issue 5).
 * Most-significant-digit radix selection over order-preserving keys
 * (stats_int.h): the level-0 histogram of the top 16 key bits (made during the
 * moments pass) tells which bin holds each wanted rank; a bin small enough is
 * copied out and the rank found by quickselect (Hoare 1961, median of three,
 * with a sort as the fallback after too many rounds); a large bin (constant or
 * low-cardinality data) is refined by the next 16 bits in another pass, until
 * the key is fully known. Memory: the copied bins, at most
 * n_ranks * max(VSIM_STATS_SMALL, n / 32) keys. Interpolation as numpy's
 * default 'linear' method (numpy/lib/function_base.py: _quantile, _lerp).
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/stats_int.h"
#include "core/mem.h"
#include "core/omp.h"

#define MAX_RANKS (2 * VSIM_STATS_MAX_PCT)

enum { GROUP_COLLECT = 1, GROUP_REFINE = 2 };

#define TOP_MANY 255     /* a top bin that several groups meet (MAX_RANKS < TOP_MANY) */

/* A wanted rank: the key interval [lo, lo + 2^shift) that holds it. */
typedef struct rank_state {
    uint64_t rank;       /* among the finite values, 0-based */
    uint64_t lo;         /* first key of the interval */
    int shift;           /* log2 of the interval width, 64 .. 0 */
    uint64_t local;      /* rank within the interval */
    uint64_t count;      /* finite values in the interval */
    uint64_t *cnt_t;     /* [nth] of them in each thread's chunks */
    int done;
    uint64_t key;        /* the answer once done */
} rank_state;

/* Ranks that share an interval, handled together in one pass. */
typedef struct group {
    uint64_t lo, hi;
    int shift, kind;
    size_t r0, n_r;      /* ranks r0 .. r0 + n_r - 1 */
    uint64_t count;
    uint64_t base;       /* GROUP_COLLECT: first slot in the copy buffer */
    uint64_t *cur;       /* GROUP_COLLECT: [nth] write cursors */
    uint32_t *hist;      /* GROUP_REFINE: [nth][VSIM_STATS_RADIX] */
} group;

typedef struct pass {
    const vsim_tensor *t;
    size_t n, n_chunks;
    int nth;
    group *g;
    size_t n_g;
    uint64_t *buf;       /* collected keys */
    vsim_stats_scratch *scratch;
    /* The groups' window [top_base, top_base + 2^(top_shift + 16)) in 2^16 slots:
     * top[slot] is 0 if no group meets the slot, TOP_MANY if several do, else
     * 1 + the index of the one group. */
    uint8_t *top;
    uint64_t top_base;
    int top_shift;
} pass;


static inline uint64_t width_mask(int shift)
{
    return shift >= 64 ? UINT64_MAX : (((uint64_t)1 << shift) - 1);
}

/* ---- quickselect ---- */

static int cmp_key(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

static inline void swap_key(uint64_t *a, ptrdiff_t i, ptrdiff_t j)
{
    uint64_t tmp = a[i];

    a[i] = a[j];
    a[j] = tmp;
}

/* The k-th smallest of a[0..n) (a is reordered). */
static uint64_t select_key(uint64_t *a, size_t n, size_t k)
{
    ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;
    int budget = 16;

    for (size_t m = n; m > 1; m >>= 1)
        budget += 2;
    while (hi - lo > 16) {
        ptrdiff_t mid = lo + (hi - lo) / 2, i = lo, j = hi;
        uint64_t pivot;

        if (budget-- == 0)
            break;
        if (a[mid] < a[lo])
            swap_key(a, mid, lo);
        if (a[hi] < a[lo])
            swap_key(a, hi, lo);
        if (a[hi] < a[mid])
            swap_key(a, hi, mid);
        pivot = a[mid];
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                swap_key(a, i, j);
                i++;
                j--;
            }
        }
        if (kk <= j)
            hi = j;
        else if (kk >= i)
            lo = i;
        else
            return a[kk];
    }
    qsort(a + lo, (size_t)(hi - lo + 1), sizeof(*a), cmp_key);
    return a[kk];
}

/*
 * Resolve the ranks rs[r0..r1) (ascending, local ranks within a) over a[lo..hi):
 * the middle rank first, then each side within its part of the partition, so
 * that many percentiles cost O(n log n_ranks), not O(n n_ranks).
 */
static void multi_select(uint64_t *a, size_t lo, size_t hi, rank_state *rs, size_t r0,
                         size_t r1)
{
    while (r0 < r1) {
        size_t mid = r0 + (r1 - r0) / 2, k = (size_t)rs[mid].local;

        rs[mid].key = select_key(a + lo, hi - lo, k - lo);
        rs[mid].done = 1;
        multi_select(a, lo, k, rs, r0, mid);
        lo = k + 1;
        r0 = mid + 1;
    }
}

/* ---- one pass over the tensor for the current groups ---- */

/* Index of the group holding key, or -1. Groups are sorted and disjoint. */
static inline ptrdiff_t find_group(const group *g, size_t n_g, uint64_t key)
{
    size_t lo = 0, hi = n_g;

    if (key < g[0].lo || key > g[n_g - 1].hi)
        return -1;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;

        if (g[mid].lo <= key)
            lo = mid;
        else
            hi = mid;
    }
    return key <= g[lo].hi ? (ptrdiff_t)lo : -1;
}

/* The top slot of key: 0 if no group can hold it. Keys below the window wrap
 * to a slot past the table (the window is aligned to its size). */
static inline unsigned top_slot(const pass *ps, uint64_t key)
{
    uint64_t slot = (key - ps->top_base) >> ps->top_shift;

    return slot < VSIM_STATS_RADIX ? ps->top[slot] : 0;
}

/* Count or copy key, whose top slot holds tb, if one of the groups holds it. */
static inline __attribute__((always_inline)) void take_key_at(const pass *ps, int ith,
                                                              uint64_t key, unsigned tb)
{
    ptrdiff_t gi;
    group *g;

    if (!tb)
        return;
    if (tb != TOP_MANY) {
        g = &ps->g[tb - 1];
        if (key < g->lo || key > g->hi)
            return;
    } else {
        gi = find_group(ps->g, ps->n_g, key);
        if (gi < 0)
            return;
        g = &ps->g[gi];
    }
    if (g->kind == GROUP_COLLECT)
        ps->buf[g->cur[ith]++] = key;
    else
        g->hist[(size_t)ith * VSIM_STATS_RADIX +
                ((key - g->lo) >> (g->shift - VSIM_STATS_RADIX_BITS))]++;
}

/* Count or copy key if one of the groups holds it. */
static inline void take_key(const pass *ps, int ith, uint64_t key)
{
    take_key_at(ps, ith, key, top_slot(ps, key));
}

/* take_key for the finite ones of n float32 values. */
static void take_keys_f32(const pass *ps, int ith, const float *v, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        uint32_t u;
        uint64_t key;

        memcpy(&u, &v[j], sizeof(u));
        key = vsim_key_f32(u);
        if (vsim_key_f32_finite(key))
            take_key(ps, ith, key);
    }
}

#if VSIM_STATS_HAVE_AVX2
/*
 * The keys of 16 float32 values (v[0..16)) at a time, tested against the top
 * slots; NaN and infinite values (keys up to 0x007fffff and from 0xff800000)
 * are rare, so they are weeded out among the hits only.
 */
__attribute__((target("avx2"))) static void pass_f32_avx2(const pass *ps, int ith,
                                                          const float *v, size_t len)
{
    /* float32 keys have 32 zero low bits and the window is >= 2^48 keys wide
     * (top_shift >= 32; checked by the caller), so slots fit 32-bit lanes */
    const __m256i base = _mm256_set1_epi32((int)(uint32_t)(ps->top_base >> 32));
    const __m256i lim = _mm256_set1_epi32(VSIM_STATS_RADIX);
    const __m128i cnt = _mm_cvtsi32_si128(ps->top_shift - 32);
    size_t mm = len & ~(size_t)15;
    uint32_t key[16], slot[16];

    for (size_t j = 0; j < mm; j += 16) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(v + j));
        __m256i y = _mm256_loadu_si256((const __m256i *)(const void *)(v + j + 8));
        unsigned hit = 0;

        x = vsim_key8_f32(x);
        y = vsim_key8_f32(y);
        _mm256_storeu_si256((__m256i *)(void *)key, x);
        _mm256_storeu_si256((__m256i *)(void *)(key + 8), y);
        x = _mm256_min_epu32(_mm256_srl_epi32(_mm256_sub_epi32(x, base), cnt), lim);
        y = _mm256_min_epu32(_mm256_srl_epi32(_mm256_sub_epi32(y, base), cnt), lim);
        _mm256_storeu_si256((__m256i *)(void *)slot, x);
        _mm256_storeu_si256((__m256i *)(void *)(slot + 8), y);
        for (int k = 0; k < 16; k++)
            hit |= ps->top[slot[k]];
        if (!hit)
            continue;
        for (int k = 0; k < 16; k++)
            if (ps->top[slot[k]] && vsim_key_f32_finite((uint64_t)key[k] << 32))
                take_key_at(ps, ith, (uint64_t)key[k] << 32, ps->top[slot[k]]);
    }
    take_keys_f32(ps, ith, v + mm, len - mm);
}

/* The same for float64, 8 values at a time (non-finite keys: up to 0x000f.., from 0xfff0..). */
__attribute__((target("avx2"))) static void pass_f64_avx2(const pass *ps, int ith,
                                                          const double *v, size_t len)
{
    size_t mm = len & ~(size_t)7;
    uint64_t key[8];
    unsigned tb[8];

    for (size_t j = 0; j < mm; j += 8) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(v + j));
        __m256i y = _mm256_loadu_si256((const __m256i *)(const void *)(v + j + 4));
        unsigned hit = 0;

        x = vsim_key4_f64(x);
        y = vsim_key4_f64(y);
        _mm256_storeu_si256((__m256i *)(void *)key, x);
        _mm256_storeu_si256((__m256i *)(void *)(key + 4), y);
        for (int k = 0; k < 8; k++) {
            tb[k] = top_slot(ps, key[k]);
            hit |= tb[k];
        }
        if (!hit)
            continue;
        for (int k = 0; k < 8; k++)
            if (tb[k] && vsim_key_f64_finite(key[k]))
                take_key_at(ps, ith, key[k], tb[k]);
    }
    for (size_t j = mm; j < len; j++) {
        uint64_t u;

        memcpy(&u, &v[j], sizeof(u));
        u = vsim_key_f64(u);
        if (vsim_key_f64_finite(u))
            take_key(ps, ith, u);
    }
}
#endif

static void pass_thread(const pass *ps, int ith)
{
    vsim_stats_scratch *sc = &ps->scratch[ith];
    int contig = vsim_tensor_is_contiguous(ps->t);
    int fast = ps->t->dtype == VSIM_F32 && contig;
    size_t c0, c1;

    vsim_stats_split(ps->n_chunks, ith, ps->nth, &c0, &c1);
    for (size_t c = c0; c < c1; c++) {
        size_t i0 = c * VSIM_STATS_CHUNK;
        size_t len = ps->n - i0 < VSIM_STATS_CHUNK ? ps->n - i0 : VSIM_STATS_CHUNK;
        size_t m;

#if VSIM_STATS_HAVE_AVX2
        if (contig && vsim_stats_simd()) {
            if (ps->t->dtype == VSIM_F32 && ps->top_shift >= 32) {
                pass_f32_avx2(ps, ith, (const float *)ps->t->data + i0, len);
                continue;
            }
            if (ps->t->dtype == VSIM_F64) {
                pass_f64_avx2(ps, ith, (const double *)ps->t->data + i0, len);
                continue;
            }
        }
#endif
        if (fast) {
            /* float32 without a key buffer */
            take_keys_f32(ps, ith, (const float *)ps->t->data + i0, len);
            continue;
        }
        m = vsim_stats_load(ps->t, i0, len, sc, VSIM_LOAD_KEYS, NULL);
        for (size_t j = 0; j < m; j++)
            take_key(ps, ith, sc->keys[j]);
    }
}

static void run_pass(const pass *ps)
{
    int nth = ps->nth;

#pragma omp parallel num_threads(nth) default(none) shared(ps, nth)
    {
        for (int ith = vsim_omp_thread_num(); ith < nth; ith += vsim_omp_num_threads())
            pass_thread(ps, ith);
    }
}

/* ---- the selection driver ---- */

/*
 * Point the sorted ranks rs[0..n_r) (all in the interval [lo, lo + 2^shift)) at
 * the bins of its 16-bit split that hold them; hist has nth per-thread counts.
 */
static void descend(rank_state *rs, size_t n_r, const uint32_t *hist, int nth, uint64_t lo,
                    int shift)
{
    uint64_t below = 0, total = 0;
    size_t b = 0, r = 0;

    VSIM_ASSERT(shift >= VSIM_STATS_RADIX_BITS && shift % VSIM_STATS_RADIX_BITS == 0);
    while (r < n_r && b < VSIM_STATS_RADIX) {
        total = 0;
        for (int t = 0; t < nth; t++)
            total += hist[(size_t)t * VSIM_STATS_RADIX + b];
        while (r < n_r && (rs[r].local < below + total || b == VSIM_STATS_RADIX - 1)) {
            rank_state *x = &rs[r++];

            x->shift = shift - VSIM_STATS_RADIX_BITS;
            x->lo = lo + ((uint64_t)b << x->shift);
            x->local -= below;
            x->count = total;
            for (int t = 0; t < nth; t++)
                x->cnt_t[t] = hist[(size_t)t * VSIM_STATS_RADIX + b];
            if (x->shift == 0) {
                x->done = 1;
                x->key = x->lo;
            }
        }
        below += total;
        b++;
    }
}

/* Group the pending ranks by interval; returns the number of groups. */
static size_t make_groups(rank_state *rs, size_t n_r, group *g, uint64_t threshold)
{
    size_t n_g = 0;

    for (size_t i = 0; i < n_r; i++) {
        if (rs[i].done)
            continue;
        if (n_g && g[n_g - 1].lo == rs[i].lo && g[n_g - 1].shift == rs[i].shift) {
            g[n_g - 1].n_r = i - g[n_g - 1].r0 + 1;
            continue;
        }
        memset(&g[n_g], 0, sizeof(g[n_g]));
        g[n_g].lo = rs[i].lo;
        g[n_g].hi = rs[i].lo + width_mask(rs[i].shift);
        g[n_g].shift = rs[i].shift;
        g[n_g].r0 = i;
        g[n_g].n_r = 1;
        g[n_g].count = rs[i].count;
        g[n_g].kind = rs[i].count <= threshold ? GROUP_COLLECT : GROUP_REFINE;
        n_g++;
    }
    return n_g;
}

/* Allocate the copy buffer and histograms of the groups; mark their top bins. */
static int prepare_groups(pass *ps, rank_state *rs)
{
    uint64_t total = 0, span = ps->g[0].lo ^ ps->g[ps->n_g - 1].hi;
    int w = span ? 64 - __builtin_clzll(span) : 0;   /* the window: 2^w keys, w >= 16 */

    w = w < VSIM_STATS_RADIX_BITS ? VSIM_STATS_RADIX_BITS : w;
    ps->top_shift = w - VSIM_STATS_RADIX_BITS;
    ps->top_base = w == 64 ? 0 : ps->g[0].lo & ~width_mask(w);
    memset(ps->top, 0, VSIM_STATS_RADIX + 1);
    for (size_t i = 0; i < ps->n_g; i++) {
        group *g = &ps->g[i];
        uint64_t b0 = (g->lo - ps->top_base) >> ps->top_shift;
        uint64_t b1 = (g->hi - ps->top_base) >> ps->top_shift;

        for (uint64_t b = b0; b <= b1; b++)
            ps->top[b] = ps->top[b] ? TOP_MANY : (uint8_t)(i + 1);

        if (g->kind == GROUP_COLLECT) {
            g->cur = vsim_mallocarray((size_t)ps->nth, sizeof(*g->cur));
            if (!g->cur)
                return VSIM_ENOMEM;
            g->base = total;
            for (int t = 0; t < ps->nth; t++) {
                g->cur[t] = total;
                total += rs[g->r0].cnt_t[t];
            }
        } else {
            g->hist = vsim_calloc((size_t)ps->nth * VSIM_STATS_RADIX, sizeof(*g->hist));
            if (!g->hist)
                return VSIM_ENOMEM;
        }
    }
    ps->buf = total ? vsim_mallocarray((size_t)total, sizeof(*ps->buf)) : NULL;
    return (total && !ps->buf) ? VSIM_ENOMEM : VSIM_OK;
}

static void finish_groups(pass *ps, rank_state *rs)
{
    for (size_t i = 0; i < ps->n_g; i++) {
        group *g = &ps->g[i];

        if (g->kind == GROUP_REFINE) {
            descend(rs + g->r0, g->n_r, g->hist, ps->nth, g->lo, g->shift);
            continue;
        }
        multi_select(ps->buf + g->base, 0, g->count, rs, g->r0, g->r0 + g->n_r);
    }
}

static void free_groups(pass *ps)
{
    for (size_t i = 0; i < ps->n_g; i++) {
        vsim_free(ps->g[i].cur);
        vsim_free(ps->g[i].hist);
    }
    vsim_free(ps->buf);
    ps->buf = NULL;
    ps->n_g = 0;
}

/* Find the keys of the sorted distinct ranks rs[0..n_r). */
static int select_ranks(pass *ps, rank_state *rs, size_t n_r, const uint32_t *hist0,
                        const vsim_stats_window *win, const uint64_t *n_fin_thread,
                        uint64_t n_finite)
{
    group g[MAX_RANKS];
    uint64_t threshold = n_finite / 32 > VSIM_STATS_SMALL ? n_finite / 32 : VSIM_STATS_SMALL;
    int rc = VSIM_OK;

    for (size_t i = 0; i < n_r; i++) {
        rs[i].lo = 0;
        rs[i].shift = 64;
        rs[i].local = rs[i].rank;
        rs[i].count = n_finite;
        memcpy(rs[i].cnt_t, n_fin_thread, (size_t)ps->nth * sizeof(uint64_t));
    }
    if (hist0)
        descend(rs, n_r, hist0, ps->nth, win->base, win->width);
    ps->g = g;
    for (;;) {
        ps->n_g = make_groups(rs, n_r, g, threshold);
        if (ps->n_g == 0)
            break;
        rc = prepare_groups(ps, rs);
        if (rc) {
            free_groups(ps);
            return vsim_fail(rc, "stats: out of memory selecting percentiles");
        }
        run_pass(ps);
        finish_groups(ps, rs);
        free_groups(ps);
    }
    return rc;
}

/* numpy's _lerp: a + (b - a) t, or b - (b - a)(1 - t) for t >= 0.5. */
static double lerp(double a, double b, double t)
{
    double diff = b - a;

    return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

static void rank_of(double q, uint64_t n, uint64_t *prev, uint64_t *next, double *gamma)
{
    double v = (double)(n - 1) * (q / 100.0);
    double f = floor(v);

    *gamma = v - f;
    if (v >= (double)(n - 1)) {
        *prev = *next = n - 1;
        return;
    }
    *prev = (uint64_t)f;
    *next = *prev + 1;
}

double vsim_stats_pct_sorted(const double *v, size_t n, double q)
{
    uint64_t prev, next;
    double gamma;

    if (n == 0)
        return NAN;
    rank_of(q, n, &prev, &next, &gamma);
    return prev == next ? v[prev] : lerp(v[prev], v[next], gamma);
}

static size_t find_rank(const rank_state *rs, size_t n_r, uint64_t rank)
{
    size_t i = 0;

    while (i + 1 < n_r && rs[i].rank != rank)
        i++;
    return i;
}

int vsim_quantile_compute(const vsim_tensor *t, size_t n_chunks, int nth, const uint32_t *hist0,
                          const vsim_stats_window *win, const uint64_t *n_fin_thread,
                          uint64_t n_finite, const double *q, size_t n_q, double *out)
{
    uint64_t ranks[MAX_RANKS];
    rank_state rs[MAX_RANKS];
    size_t n_r = 0, k = 0;
    pass ps;
    int rc = VSIM_OK;

    VSIM_ASSERT(n_q <= VSIM_STATS_MAX_PCT && n_finite > 0);
    for (size_t i = 0; i < n_q; i++) {
        double gamma;

        rank_of(q[i], n_finite, &ranks[n_r], &ranks[n_r + 1], &gamma);
        n_r += 2;
    }
    qsort(ranks, n_r, sizeof(*ranks), cmp_key);
    for (size_t i = 0; i < n_r; i++)
        if (k == 0 || ranks[i] != ranks[k - 1])
            ranks[k++] = ranks[i];
    n_r = k;
    memset(&ps, 0, sizeof(ps));
    ps.t = t;
    ps.n = vsim_tensor_n_elems(t);
    ps.n_chunks = n_chunks;
    ps.nth = nth;
    ps.scratch = vsim_mallocarray((size_t)nth, sizeof(*ps.scratch));
    ps.top = vsim_malloc(VSIM_STATS_RADIX + 1);  /* + a slot that stays 0 for keys outside */
    uint64_t *cnt = vsim_mallocarray(n_r * (size_t)nth, sizeof(*cnt));
    if (!ps.scratch || !ps.top || !cnt) {
        rc = vsim_fail(VSIM_ENOMEM, "stats: out of memory selecting percentiles");
        goto done;
    }
    for (size_t i = 0; i < n_r; i++) {
        memset(&rs[i], 0, sizeof(rs[i]));
        rs[i].rank = ranks[i];
        rs[i].cnt_t = cnt + i * (size_t)nth;
    }
    rc = select_ranks(&ps, rs, n_r, hist0, win, n_fin_thread, n_finite);
    if (rc)
        goto done;
    for (size_t i = 0; i < n_q; i++) {
        uint64_t prev, next;
        double gamma, a, b;

        rank_of(q[i], n_finite, &prev, &next, &gamma);
        a = vsim_stats_key_value(t->dtype, rs[find_rank(rs, n_r, prev)].key);
        b = vsim_stats_key_value(t->dtype, rs[find_rank(rs, n_r, next)].key);
        out[i] = prev == next ? a : lerp(a, b, gamma);
    }
done:
    vsim_free(cnt);
    vsim_free(ps.top);
    vsim_free(ps.scratch);
    return rc;
}
