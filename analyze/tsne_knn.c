/*
 * analyze/tsne_knn.c - the input affinities of t-SNE: exact k nearest
 * neighbours by a vantage-point tree (Yianilos, SODA 1993) stored implicitly in
 * a permuted copy of the points, per-row perplexity calibration by bisection,
 * and the symmetric sparse P (van der Maaten, JMLR 15, 2014, section 3).
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/tsne_int.h"
#include "core/mem.h"
#include "core/omp.h"
#include "core/rng.h"

#define VP_LEAF 24          /* ranges this small are scanned linearly */
#define VP_STACK 256        /* traversal stack; the tree depth is about log2(n / VP_LEAF) */

typedef float vf4 __attribute__((vector_size(16)));

typedef struct vp_tree {
    size_t n, d;            /* d: padded to a multiple of 8 (zeros) */
    float *pts;             /* n x d, in tree order */
    uint32_t *id;           /* original index of each tree position */
    float *radius;          /* median distance of the node at position lo */
} vp_tree;

/* Squared distance; d a multiple of 8 (rows padded with zeros). */
static float dist_l2(const float *a, const float *b, size_t d)
{
    vf4 s0 = { 0 }, s1 = { 0 };

    for (size_t j = 0; j < d; j += 8) {
        vf4 a0, a1, b0, b1;
        memcpy(&a0, a + j, 16);
        memcpy(&a1, a + j + 4, 16);
        memcpy(&b0, b + j, 16);
        memcpy(&b1, b + j + 4, 16);
        a0 -= b0;
        a1 -= b1;
        s0 += a0 * a0;
        s1 += a1 * a1;
    }
    s0 += s1;
    return (s0[0] + s0[2]) + (s0[1] + s0[3]);
}

float vsim_tsne_dist2_padded(const float *a, const float *b, size_t d)
{
    return dist_l2(a, b, d);
}

/* Copy of x with rows padded to a multiple of 8 floats; *dp gets the padded width. */
float *vsim_tsne_pad_rows(const float *x, size_t n, size_t d, size_t *dp)
{
    size_t w = (d + 7) & ~(size_t)7;
    float *p = vsim_calloc(n * w, sizeof(*p));

    for (size_t i = 0; p && i < n; i++)
        memcpy(p + i * w, x + i * d, d * sizeof(float));
    *dp = w;
    return p;
}

typedef struct dist_id {
    float dist;
    uint32_t pos;
} dist_id;

/* Quickselect: put the m-th smallest (by dist, then pos) of a[0..n) at a[m]. */
static void select_nth(dist_id *a, size_t n, size_t m)
{
    size_t lo = 0, hi = n - 1;

    while (hi > lo) {
        dist_id piv = a[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;

        while (i <= j) {
            while (a[i].dist < piv.dist || (a[i].dist == piv.dist && a[i].pos < piv.pos))
                i++;
            while (a[j].dist > piv.dist || (a[j].dist == piv.dist && a[j].pos > piv.pos))
                j--;
            if (i <= j) {
                dist_id t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (m <= j)
            hi = j;
        else if (m >= i)
            lo = i;
        else
            return;
    }
}

/* Arrange perm[lo..hi) as a VP subtree: vantage point at lo, inside half, outside half. */
static void build_range(vp_tree *t, const float *x, uint32_t *perm, dist_id *scratch,
                        float *radius, size_t lo, size_t hi, vsim_rng *rng)
{
    while (hi - lo > VP_LEAF) {
        size_t v = lo + (size_t)vsim_rng_below(rng, hi - lo), n = hi - lo - 1, mid;
        uint32_t tmp = perm[lo];
        const float *vp;

        perm[lo] = perm[v];
        perm[v] = tmp;
        vp = x + (size_t)perm[lo] * t->d;
        for (size_t i = 0; i < n; i++) {
            scratch[i].dist = sqrtf(dist_l2(vp, x + (size_t)perm[lo + 1 + i] * t->d, t->d));
            scratch[i].pos = perm[lo + 1 + i];
        }
        mid = n / 2;
        select_nth(scratch, n, mid);
        radius[lo] = scratch[mid].dist;
        for (size_t i = 0; i < n; i++)
            perm[lo + 1 + i] = scratch[i].pos;
        /* inside: [lo+1, lo+1+mid), outside: [lo+1+mid, hi) */
        build_range(t, x, perm, scratch, radius, lo + 1, lo + 1 + mid, rng);
        lo = lo + 1 + mid;
    }
}

/* Build over xp (n x d, already padded). */
static int vp_build(const float *xp, size_t n, size_t d, uint64_t seed, vp_tree *t)
{
    dist_id *scratch = vsim_mallocarray(n, sizeof(*scratch));
    vsim_rng rng;

    t->n = n;
    t->d = d;
    t->pts = vsim_mallocarray(n * d, sizeof(*t->pts));
    t->id = vsim_mallocarray(n, sizeof(*t->id));
    t->radius = vsim_calloc(n, sizeof(*t->radius));
    if (!scratch || !t->pts || !t->id || !t->radius) {
        vsim_free(scratch);
        return vsim_fail(VSIM_ENOMEM, "t-SNE: out of memory for the neighbour tree");
    }
    for (size_t i = 0; i < n; i++)
        t->id[i] = (uint32_t)i;
    vsim_rng_seed(&rng, seed, 0x7670u);
    build_range(t, xp, t->id, scratch, t->radius, 0, n, &rng);
    for (size_t i = 0; i < n; i++)
        memcpy(t->pts + i * d, xp + (size_t)t->id[i] * d, d * sizeof(float));
    vsim_free(scratch);
    return VSIM_OK;
}

static void vp_free(vp_tree *t)
{
    vsim_free(t->pts);
    vsim_free(t->id);
    vsim_free(t->radius);
}

/* Max-heap of the k best (dist, id) so far; ties broken by id for determinism. */
static int worse(const dist_id *a, const dist_id *b)
{
    return a->dist > b->dist || (a->dist == b->dist && a->pos > b->pos);
}

static void heap_offer(dist_id *h, size_t *n_h, size_t k, float dist, uint32_t id)
{
    dist_id e = { dist, id };
    size_t i;

    if (*n_h == k) {
        if (!worse(&h[0], &e))
            return;
        i = 0;  /* sift the new element down from the root */
        for (;;) {
            size_t c = 2 * i + 1;
            if (c >= k)
                break;
            if (c + 1 < k && worse(&h[c + 1], &h[c]))
                c++;
            if (!worse(&h[c], &e))
                break;
            h[i] = h[c];
            i = c;
        }
        h[i] = e;
        return;
    }
    i = (*n_h)++;
    while (i > 0 && worse(&e, &h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = e;
}

typedef struct vp_frame {
    size_t lo, hi;
    float need;             /* visit only if tau >= need */
} vp_frame;

static void vp_query(const vp_tree *t, const float *q, uint32_t self, size_t k, dist_id *heap)
{
    vp_frame stack[VP_STACK];
    size_t n_st = 0, n_h = 0;
    float tau = INFINITY;

    stack[n_st++] = (vp_frame){ 0, t->n, 0.0f };
    while (n_st) {
        vp_frame f = stack[--n_st];
        size_t lo = f.lo, hi = f.hi;

        if (lo >= hi || tau < f.need)
            continue;
        if (hi - lo <= VP_LEAF) {
            for (size_t i = lo; i < hi; i++) {
                if (t->id[i] == self)
                    continue;
                float dd = sqrtf(dist_l2(q, t->pts + i * t->d, t->d));
                if (dd < tau || n_h < k) {
                    heap_offer(heap, &n_h, k, dd, t->id[i]);
                    if (n_h == k)
                        tau = heap[0].dist;
                }
            }
            continue;
        }
        float dd = sqrtf(dist_l2(q, t->pts + lo * t->d, t->d)), r = t->radius[lo];
        size_t mid = lo + 1 + (hi - lo - 1) / 2;

        if (t->id[lo] != self && (dd < tau || n_h < k)) {
            heap_offer(heap, &n_h, k, dd, t->id[lo]);
            if (n_h == k)
                tau = heap[0].dist;
        }
        VSIM_ASSERT(n_st + 2 <= VP_STACK);
        if (dd < r) {   /* nearer half last so that it is popped first */
            stack[n_st++] = (vp_frame){ mid, hi, r - dd };
            stack[n_st++] = (vp_frame){ lo + 1, mid, 0.0f };
        } else {
            stack[n_st++] = (vp_frame){ lo + 1, mid, dd - r };
            stack[n_st++] = (vp_frame){ mid, hi, 0.0f };
        }
    }
}

static int cmp_dist_id(const void *a, const void *b)
{
    const dist_id *x = a, *y = b;

    if (x->dist != y->dist)
        return x->dist < y->dist ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

int vsim_tsne_knn(const float *x, size_t n, size_t d, size_t k, uint64_t seed, int n_threads,
                  uint32_t *idx, float *dist2)
{
    int nt = vsim_omp_resolve(n_threads);
    dist_id *heaps = vsim_mallocarray((size_t)nt * k, sizeof(*heaps));
    vp_tree tree = { 0 };
    size_t dp;
    float *xp = vsim_tsne_pad_rows(x, n, d, &dp);
    int status;

    VSIM_ASSERT(k >= 1 && k < n && n <= UINT32_MAX);
    if (!heaps || !xp) {
        vsim_free(heaps);
        vsim_free(xp);
        return vsim_fail(VSIM_ENOMEM, "t-SNE: out of memory for the neighbour search");
    }
    status = vp_build(xp, n, dp, seed, &tree);
    vsim_free(xp);
    if (status) {
        vp_free(&tree);
        vsim_free(heaps);
        return status;
    }
    /* Queries in tree order: neighbouring queries walk similar paths (cache). */
#pragma omp parallel for num_threads(nt) schedule(dynamic, 64) default(none) \
    shared(tree, heaps, idx, dist2) firstprivate(n, k)
    for (size_t pos = 0; pos < n; pos++) {
        dist_id *h = heaps + (size_t)vsim_omp_thread_num() * k;
        uint32_t i = tree.id[pos];

        vp_query(&tree, tree.pts + pos * tree.d, i, k, h);
        qsort(h, k, sizeof(*h), cmp_dist_id);
        for (size_t j = 0; j < k; j++) {
            idx[(size_t)i * k + j] = h[j].pos;
            dist2[(size_t)i * k + j] = h[j].dist * h[j].dist;
        }
    }
    vp_free(&tree);
    vsim_free(heaps);
    return VSIM_OK;
}

/* Bisection on beta for one row; returns the entropy reached. */
static double calibrate_row(const float *d2, size_t k, double target, float *p)
{
    double beta = 1.0, lo = 0.0, hi = INFINITY, h = 0.0, dmin = d2[0];

    for (size_t j = 1; j < k; j++)
        dmin = fmin(dmin, (double)d2[j]);
    for (int it = 0; it < 200; it++) {
        double sum = 0.0, sdp = 0.0;

        for (size_t j = 0; j < k; j++) {
            double dd = (double)d2[j] - dmin, e = exp(-beta * dd);
            sum += e;
            sdp += dd * e;
        }
        h = log(sum) + beta * sdp / sum;
        if (fabs(h - target) < 1e-7)
            break;
        if (h > target) {  /* too flat: raise beta */
            lo = beta;
            beta = isinf(hi) ? beta * 2.0 : 0.5 * (beta + hi);
        } else {
            hi = beta;
            beta = 0.5 * (beta + lo);
        }
    }
    double sum = 0.0;
    for (size_t j = 0; j < k; j++)
        sum += exp(-beta * ((double)d2[j] - dmin));
    for (size_t j = 0; j < k; j++)
        p[j] = (float)(exp(-beta * ((double)d2[j] - dmin)) / sum);
    return h;
}

void vsim_tsne_calibrate(const float *dist2, size_t n, size_t k, double perplexity,
                         int n_threads, float *p_cond, double *entropy)
{
    int nt = vsim_omp_resolve(n_threads);
    double target = log(perplexity);

    (void)nt;  /* unused when OPENMP=0 */
#pragma omp parallel for num_threads(nt) schedule(static) default(none) \
    shared(dist2, p_cond, entropy) firstprivate(n, k, target)
    for (size_t i = 0; i < n; i++) {
        double h = calibrate_row(dist2 + i * k, k, target, p_cond + i * k);
        if (entropy)
            entropy[i] = h;
    }
}

typedef struct col_val {
    uint32_t col;
    float val;
} col_val;

static int cmp_col(const void *a, const void *b)
{
    uint32_t x = ((const col_val *)a)->col, y = ((const col_val *)b)->col;
    return (x > y) - (x < y);
}

/* Sort one row's entries by column and merge duplicates; returns the new length. */
static size_t merge_row(col_val *e, size_t m)
{
    size_t w = 0;

    qsort(e, m, sizeof(*e), cmp_col);
    for (size_t r = 0; r < m; r++) {
        if (w && e[w - 1].col == e[r].col)
            e[w - 1].val += e[r].val;
        else
            e[w++] = e[r];
    }
    return w;
}

int vsim_tsne_symmetrize(const uint32_t *idx, const float *p_cond, size_t n, size_t k,
                         int n_threads, vsim_tsne_sparse *out)
{
    int nt = vsim_omp_resolve(n_threads);
    size_t *start = vsim_calloc(n + 1, sizeof(*start)), *fill = vsim_calloc(n, sizeof(*fill));
    size_t *len = vsim_calloc(n, sizeof(*len));
    col_val *e = vsim_mallocarray(2 * n * k, sizeof(*e));
    vsim_tsne_sparse P = { n, NULL, NULL, NULL };
    double total = 0.0;

    (void)nt;  /* unused when OPENMP=0 */
    if (!start || !fill || !len || !e)
        goto nomem;
    for (size_t i = 0; i < n * k; i++)
        start[idx[i] + 1]++;
    for (size_t i = 0; i < n; i++)
        start[i + 1] += start[i] + k;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < k; j++) {
            uint32_t c = idx[i * k + j];
            float v = p_cond[i * k + j];
            e[start[i] + fill[i]++] = (col_val){ c, v };
            e[start[c] + fill[c]++] = (col_val){ (uint32_t)i, v };
        }
#pragma omp parallel for num_threads(nt) schedule(dynamic, 256) default(none) \
    shared(e, start, len) firstprivate(n)
    for (size_t i = 0; i < n; i++)
        len[i] = merge_row(e + start[i], start[i + 1] - start[i]);
    P.row = vsim_mallocarray(n + 1, sizeof(*P.row));
    if (!P.row)
        goto nomem;
    P.row[0] = 0;
    for (size_t i = 0; i < n; i++)
        P.row[i + 1] = P.row[i] + len[i];
    P.col = vsim_mallocarray(P.row[n], sizeof(*P.col));
    P.val = vsim_mallocarray(P.row[n], sizeof(*P.val));
    if (!P.col || !P.val)
        goto nomem;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < len[i]; j++)
            total += (double)e[start[i] + j].val;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < len[i]; j++) {
            P.col[P.row[i] + j] = e[start[i] + j].col;
            P.val[P.row[i] + j] = (float)((double)e[start[i] + j].val / total);
        }
    vsim_free(e);
    vsim_free(len);
    vsim_free(fill);
    vsim_free(start);
    *out = P;
    return VSIM_OK;
nomem:
    vsim_tsne_sparse_release(&P);
    vsim_free(e);
    vsim_free(len);
    vsim_free(fill);
    vsim_free(start);
    return vsim_fail(VSIM_ENOMEM, "t-SNE: out of memory for P (%zu points)", n);
}

void vsim_tsne_sparse_release(vsim_tsne_sparse *P)
{
    vsim_free(P->row);
    vsim_free(P->col);
    vsim_free(P->val);
    P->row = NULL;
    P->col = NULL;
    P->val = NULL;
}

int vsim_tsne_affinities(const float *x, size_t n, size_t d, double perplexity, uint64_t seed,
                         int n_threads, vsim_tsne_sparse *out)
{
    size_t k = (size_t)floor(3.0 * perplexity);
    uint32_t *idx;
    float *d2, *pc;
    int status = VSIM_ENOMEM;

    if (k < 1)
        k = 1;
    if (k > n - 1)
        k = n - 1;
    idx = vsim_mallocarray(n * k, sizeof(*idx));
    d2 = vsim_mallocarray(n * k, sizeof(*d2));
    pc = vsim_mallocarray(n * k, sizeof(*pc));
    if (!idx || !d2 || !pc) {
        status = vsim_fail(VSIM_ENOMEM, "t-SNE: out of memory for %zu neighbours", n * k);
        goto done;
    }
    status = vsim_tsne_knn(x, n, d, k, seed, n_threads, idx, d2);
    if (status)
        goto done;
    vsim_tsne_calibrate(d2, n, k, perplexity, n_threads, pc, NULL);
    status = vsim_tsne_symmetrize(idx, pc, n, k, n_threads, out);
done:
    vsim_free(pc);
    vsim_free(d2);
    vsim_free(idx);
    return status;
}

int vsim_knn_exact(const float *x, size_t n_points, size_t dim, size_t k, uint64_t seed,
                   int n_threads, uint32_t *idx, float *dist2)
{
    float *d2 = dist2;
    int status;

    if (k == 0 || k >= n_points || dim == 0)
        return vsim_fail(VSIM_EINVAL, "k-nearest neighbours: k = %zu needs more than %zu points",
                         k, n_points);
    if (!d2 && !(d2 = vsim_mallocarray(n_points * k, sizeof(*d2))))
        return vsim_fail(VSIM_ENOMEM, "out of memory for %zu x %zu distances", n_points, k);
    status = vsim_tsne_knn(x, n_points, dim, k, seed, n_threads, idx, d2);
    if (d2 != dist2)
        vsim_free(d2);
    return status;
}
