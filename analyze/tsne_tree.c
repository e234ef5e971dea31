/*
 * analyze/tsne_tree.c - the t-SNE gradient kernels: attraction over the sparse
 * P, exact O(N^2) repulsion and KL, and Barnes-Hut repulsion (van der Maaten,
 * JMLR 15, 2014) over a compressed quadtree (2-D) / octree (3-D) built from
 * Morton-sorted points into a flat depth-first array with skip links, walked
 * without a stack. A cell is summarised when its full width < theta * distance
 * to its centre of mass (scikit-learn's and openTSNE's test; see docs/tsne.md).
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <string.h>

#include "analyze/tsne_int.h"
#include "core/mem.h"
#include "core/omp.h"

#define BH_LEAF 8           /* points per leaf at most (unless they share a Morton code) */

void vsim_tsne_attractive(const vsim_tsne_sparse *P, const double *Y, int dims, double exag,
                          int n_threads, double *grad)
{
    int nt = vsim_omp_resolve(n_threads);
    size_t n = P->n;
    const size_t *row = P->row;
    const uint32_t *col = P->col;
    const float *val = P->val;

    (void)nt;  /* unused when OPENMP=0 */
#pragma omp parallel for num_threads(nt) schedule(static, 512) default(none) \
    shared(row, col, val, Y, grad) firstprivate(n, dims, exag)
    for (size_t i = 0; i < n; i++) {
        double a[3] = { 0, 0, 0 };
        const double *yi = Y + i * (size_t)dims;

        if (dims == 2) {
            for (size_t e = row[i]; e < row[i + 1]; e++) {
                const double *yj = Y + 2 * (size_t)col[e];
                double dx = yi[0] - yj[0], dy = yi[1] - yj[1];
                double pw = (double)val[e] / (1.0 + dx * dx + dy * dy);
                a[0] += pw * dx;
                a[1] += pw * dy;
            }
        } else {
            for (size_t e = row[i]; e < row[i + 1]; e++) {
                const double *yj = Y + 3 * (size_t)col[e];
                double dx = yi[0] - yj[0], dy = yi[1] - yj[1], dz = yi[2] - yj[2];
                double pw = (double)val[e] / (1.0 + dx * dx + dy * dy + dz * dz);
                a[0] += pw * dx;
                a[1] += pw * dy;
                a[2] += pw * dz;
            }
        }
        for (int c = 0; c < dims; c++)
            grad[i * (size_t)dims + (size_t)c] = exag * a[c];
    }
}

static double dist2_rows(const double *a, const double *b, int dims)
{
    double s = 0.0;

    for (int c = 0; c < dims; c++)
        s += (a[c] - b[c]) * (a[c] - b[c]);
    return s;
}

double vsim_tsne_plogw(const vsim_tsne_sparse *P, const double *Y, int dims)
{
    double s = 0.0;

    for (size_t i = 0; i < P->n; i++)
        for (size_t e = P->row[i]; e < P->row[i + 1]; e++) {
            double d2 = dist2_rows(Y + i * (size_t)dims, Y + (size_t)P->col[e] * (size_t)dims,
                                   dims);
            s -= (double)P->val[e] * log1p(d2);
        }
    return s;
}

double vsim_tsne_plogp(const vsim_tsne_sparse *P)
{
    double s = 0.0;

    for (size_t e = 0; e < P->row[P->n]; e++)
        if (P->val[e] > 0.0f)
            s += (double)P->val[e] * log((double)P->val[e]);
    return s;
}

void vsim_tsne_repulsion_exact(const double *Y, size_t n, int dims, int n_threads, double *rep,
                               double *Z)
{
    int nt = vsim_omp_resolve(n_threads);
    double z = 0.0;

    (void)nt;  /* unused when OPENMP=0 */
    /* The forces per row in parallel; Z below, in a fixed order. */
#pragma omp parallel for num_threads(nt) schedule(dynamic, 16) default(none) \
    shared(Y, rep) firstprivate(n, dims)
    for (size_t i = 0; i < n; i++) {
        double f[3] = { 0, 0, 0 };
        const double *yi = Y + i * (size_t)dims;

        for (size_t j = 0; j < n; j++) {
            const double *yj = Y + j * (size_t)dims;
            double w;

            if (j == i)
                continue;
            w = 1.0 / (1.0 + dist2_rows(yi, yj, dims));
            for (int c = 0; c < dims; c++)
                f[c] += w * w * (yi[c] - yj[c]);
        }
        for (int c = 0; c < dims; c++)
            rep[i * (size_t)dims + (size_t)c] = f[c];
    }
    /* Z in a fixed order (sequential; O(N^2) like the rest of this path). */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (j != i)
                z += 1.0 / (1.0 + dist2_rows(Y + i * (size_t)dims, Y + j * (size_t)dims, dims));
    *Z = z;
}

int vsim_tsne_kl_exact(const vsim_tsne_sparse *P, const double *Y, int dims, int n_threads,
                       double *out)
{
    int nt = vsim_omp_resolve(n_threads);
    size_t n = P->n;
    double *zrow = vsim_mallocarray(n, sizeof(*zrow)), z = 0.0;

    (void)nt;  /* unused when OPENMP=0 */
    if (!zrow)
        return vsim_fail(VSIM_ENOMEM, "t-SNE: out of memory for the KL divergence");
#pragma omp parallel for num_threads(nt) schedule(dynamic, 64) default(none) \
    shared(Y, zrow) firstprivate(n, dims)
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        const double *yi = Y + i * (size_t)dims;

        if (dims == 2) {
            for (size_t j = 0; j < i; j++) {
                double dx = yi[0] - Y[2 * j], dy = yi[1] - Y[2 * j + 1];
                s += 1.0 / (1.0 + dx * dx + dy * dy);
            }
        } else {
            for (size_t j = 0; j < i; j++)
                s += 1.0 / (1.0 + dist2_rows(yi, Y + j * (size_t)dims, dims));
        }
        zrow[i] = s;
    }
    for (size_t i = 0; i < n; i++)
        z += zrow[i];
    vsim_free(zrow);
    *out = vsim_tsne_plogp(P) - vsim_tsne_plogw(P, Y, dims) + log(2.0 * z);
    return VSIM_OK;
}

/* ---- Barnes-Hut ---------------------------------------------------------------------- */

/*
 * Group walk (Barnes, J. Comput. Phys. 87, 1990): the points of a subtree of at
 * most BH_GROUP points share one traversal. A cell is accepted for the whole
 * group when its width < theta * (distance from its centre of mass to the
 * group's bounding box), which is never looser than the per-point test; the
 * accepted cells and the points of opened leaves form an interaction list
 * that each point of the group then sums with SIMD, in float relative to the
 * group's centre.
 */
#define BH_GROUP 32

typedef float vf4 __attribute__((vector_size(16)));

struct vsim_tsne_bh {
    size_t n;
    int dims;
    int nt;                     /* per-thread lists allocated */
    uint64_t *code, *code_tmp;  /* Morton codes, sorted */
    uint32_t *order, *order_tmp; /* original index of each sorted position */
    double *pos;                /* n x dims, sorted order */
    double *cum;                /* (n + 1) x dims prefix sums of pos */
    double *zpt;                /* per sorted point Z share */
    double *frc;                /* n x dims, sorted order */
    size_t n_nodes, n_groups;
    double *com;                /* n_nodes x dims centres of mass */
    double *cnt;                /* points per node */
    double *w2;                 /* squared cell width */
    uint32_t *skip;             /* next node after this subtree */
    uint32_t *lo, *hi;          /* point range; hi - lo <= BH_LEAF or same code: leaf */
    uint8_t *leaf;
    uint32_t *group;            /* group root nodes */
    float *list;                /* per thread: 4 arrays (x, y, z, mass) of cap floats */
    size_t cap;                 /* list capacity per array, a multiple of 8 */
};

int vsim_tsne_bh_create(size_t n, int dims, int n_threads, vsim_tsne_bh **out)
{
    vsim_tsne_bh *b = vsim_calloc(1, sizeof(*b));
    size_t mx = 2 * n + 1;

    if (!b)
        return vsim_fail(VSIM_ENOMEM, "t-SNE: out of memory for the Barnes-Hut tree");
    b->n = n;
    b->dims = dims;
    b->nt = vsim_omp_resolve(n_threads);
    b->cap = (3 * n + 16) & ~(size_t)7;
    b->code = vsim_mallocarray(n, sizeof(uint64_t));
    b->code_tmp = vsim_mallocarray(n, sizeof(uint64_t));
    b->order = vsim_mallocarray(n, sizeof(uint32_t));
    b->order_tmp = vsim_mallocarray(n, sizeof(uint32_t));
    b->pos = vsim_mallocarray(n * (size_t)dims, sizeof(double));
    b->cum = vsim_mallocarray((n + 1) * (size_t)dims, sizeof(double));
    b->zpt = vsim_mallocarray(n, sizeof(double));
    b->frc = vsim_mallocarray(n * (size_t)dims, sizeof(double));
    b->com = vsim_mallocarray(mx * (size_t)dims, sizeof(double));
    b->cnt = vsim_mallocarray(mx, sizeof(double));
    b->w2 = vsim_mallocarray(mx, sizeof(double));
    b->skip = vsim_mallocarray(mx, sizeof(uint32_t));
    b->lo = vsim_mallocarray(mx, sizeof(uint32_t));
    b->hi = vsim_mallocarray(mx, sizeof(uint32_t));
    b->leaf = vsim_mallocarray(mx, sizeof(uint8_t));
    b->group = vsim_mallocarray(n, sizeof(uint32_t));
    b->list = vsim_mallocarray(4 * b->cap * (size_t)b->nt, sizeof(float));
    if (!b->code || !b->code_tmp || !b->order || !b->order_tmp || !b->pos || !b->cum ||
        !b->zpt || !b->frc || !b->com || !b->cnt || !b->w2 || !b->skip || !b->lo || !b->hi ||
        !b->leaf || !b->group || !b->list) {
        vsim_tsne_bh_destroy(b);
        return vsim_fail(VSIM_ENOMEM, "t-SNE: out of memory for the Barnes-Hut tree");
    }
    *out = b;
    return VSIM_OK;
}

void vsim_tsne_bh_destroy(vsim_tsne_bh *b)
{
    if (!b)
        return;
    vsim_free(b->code);
    vsim_free(b->code_tmp);
    vsim_free(b->order);
    vsim_free(b->order_tmp);
    vsim_free(b->pos);
    vsim_free(b->cum);
    vsim_free(b->zpt);
    vsim_free(b->frc);
    vsim_free(b->com);
    vsim_free(b->cnt);
    vsim_free(b->w2);
    vsim_free(b->skip);
    vsim_free(b->lo);
    vsim_free(b->hi);
    vsim_free(b->leaf);
    vsim_free(b->group);
    vsim_free(b->list);
    vsim_free(b);
}

/* Spread the low bits of v so that dims-1 zero bits separate them. */
static uint64_t spread_bits(uint64_t v, int dims)
{
    uint64_t r = 0;
    int bits = dims == 2 ? 32 : 21;

    for (int i = 0; i < bits; i++)
        r |= ((v >> i) & 1u) << (i * dims);
    return r;
}

/* Morton codes of Y and the root cell width. */
static double morton_codes(vsim_tsne_bh *b, const double *Y)
{
    int dims = b->dims;
    double mn[3], mx[3], w = 0.0, scale;
    double qmax = dims == 2 ? 4294967295.0 : 2097151.0;

    for (int c = 0; c < dims; c++)
        mn[c] = mx[c] = Y[c];
    for (size_t i = 1; i < b->n; i++)
        for (int c = 0; c < dims; c++) {
            mn[c] = fmin(mn[c], Y[i * (size_t)dims + (size_t)c]);
            mx[c] = fmax(mx[c], Y[i * (size_t)dims + (size_t)c]);
        }
    for (int c = 0; c < dims; c++)
        w = fmax(w, mx[c] - mn[c]);
    w = w > 0 ? w * (1.0 + 1e-9) : 1e-300;
    scale = qmax / w;
    for (size_t i = 0; i < b->n; i++) {
        uint64_t code = 0;
        for (int c = 0; c < dims; c++) {
            double q = (Y[i * (size_t)dims + (size_t)c] - mn[c]) * scale;
            uint64_t qi = (uint64_t)(q < 0 ? 0 : (q > qmax ? qmax : q));
            code |= spread_bits(qi, dims) << (dims - 1 - c);
        }
        b->code[i] = code;
        b->order[i] = (uint32_t)i;
    }
    return w;
}

/* LSD radix sort of (code, order) by code, 8 bits a pass; passes with one bucket skipped. */
static void radix_sort(vsim_tsne_bh *b)
{
    size_t cnt[256];

    for (int sh = 0; sh < 64; sh += 8) {
        memset(cnt, 0, sizeof(cnt));
        for (size_t i = 0; i < b->n; i++)
            cnt[(b->code[i] >> sh) & 255u]++;
        if (cnt[(b->code[0] >> sh) & 255u] == b->n)
            continue;
        for (size_t s = 0, d = 0; d < 256; d++) {
            size_t c = cnt[d];
            cnt[d] = s;
            s += c;
        }
        for (size_t i = 0; i < b->n; i++) {
            size_t d = cnt[(b->code[i] >> sh) & 255u]++;
            b->code_tmp[d] = b->code[i];
            b->order_tmp[d] = b->order[i];
        }
        uint64_t *tc = b->code;
        uint32_t *to = b->order;
        b->code = b->code_tmp;
        b->code_tmp = tc;
        b->order = b->order_tmp;
        b->order_tmp = to;
    }
}

/* Build the subtree of sorted points [lo, hi) in depth-first order. */
static void build_node(vsim_tsne_bh *b, size_t lo, size_t hi, double root_w)
{
    int dims = b->dims, top = dims == 2 ? 64 : 63;
    size_t nd = b->n_nodes++;
    uint64_t x = b->code[lo] ^ b->code[hi - 1];
    int level = x ? (top - 1 - (63 - __builtin_clzll(x))) / dims : top / dims;
    double cw = ldexp(root_w, -level), inv = 1.0 / (double)(hi - lo);

    for (int c = 0; c < dims; c++)
        b->com[nd * (size_t)dims + (size_t)c] =
            (b->cum[hi * (size_t)dims + (size_t)c] - b->cum[lo * (size_t)dims + (size_t)c]) *
            inv;
    b->cnt[nd] = (double)(hi - lo);
    b->w2[nd] = cw * cw;
    b->lo[nd] = (uint32_t)lo;
    b->hi[nd] = (uint32_t)hi;
    b->leaf[nd] = (uint8_t)(hi - lo <= BH_LEAF || x == 0);
    if (!b->leaf[nd]) {
        int shift = top - dims * (level + 1);
        uint64_t mask = (1u << dims) - 1u;
        size_t s = lo;

        while (s < hi) {
            uint64_t dg = (b->code[s] >> shift) & mask;
            size_t e = s + 1;
            while (e < hi && ((b->code[e] >> shift) & mask) == dg)
                e++;
            build_node(b, s, e, root_w);
            s = e;
        }
    }
    b->skip[nd] = (uint32_t)b->n_nodes;
}

static void build_tree(vsim_tsne_bh *b, const double *Y)
{
    int dims = b->dims;
    double w = morton_codes(b, Y);

    radix_sort(b);
    for (int c = 0; c < dims; c++)
        b->cum[c] = 0.0;
    for (size_t i = 0; i < b->n; i++)
        for (int c = 0; c < dims; c++) {
            double v = Y[(size_t)b->order[i] * (size_t)dims + (size_t)c];
            b->pos[i * (size_t)dims + (size_t)c] = v;
            b->cum[(i + 1) * (size_t)dims + (size_t)c] = b->cum[i * (size_t)dims + (size_t)c] + v;
        }
    b->n_nodes = 0;
    build_node(b, 0, b->n, w);
    b->n_groups = 0;
    for (size_t nd = 0; nd < b->n_nodes;) {
        if (b->hi[nd] - b->lo[nd] <= BH_GROUP || b->leaf[nd]) {
            b->group[b->n_groups++] = (uint32_t)nd;
            nd = b->skip[nd];
        } else {
            nd++;
        }
    }
}

/* Interaction list of group node g (coordinates relative to ctr); returns its length. */
static size_t walk_group(const vsim_tsne_bh *b, size_t g, double theta2, const double *ctr,
                         float *lx, float *ly, float *lz, float *lm)
{
    int dims = b->dims;
    double bmin[3] = { 0, 0, 0 }, bmax[3] = { 0, 0, 0 };
    size_t m = 0;

    for (int c = 0; c < dims; c++) {
        bmin[c] = INFINITY;
        bmax[c] = -INFINITY;
    }
    for (size_t p = b->lo[g]; p < b->hi[g]; p++)
        for (int c = 0; c < dims; c++) {
            bmin[c] = fmin(bmin[c], b->pos[p * (size_t)dims + (size_t)c]);
            bmax[c] = fmax(bmax[c], b->pos[p * (size_t)dims + (size_t)c]);
        }
    for (size_t nd = 0; nd < b->n_nodes;) {
        const double *cm = b->com + nd * (size_t)dims;
        double d2 = 0.0;

        for (int c = 0; c < dims; c++) {
            double e = fmax(0.0, fmax(bmin[c] - cm[c], cm[c] - bmax[c]));
            d2 += e * e;
        }
        if (b->w2[nd] < theta2 * d2) {
            lx[m] = (float)(cm[0] - ctr[0]);
            ly[m] = (float)(cm[1] - ctr[1]);
            lz[m] = dims == 3 ? (float)(cm[2] - ctr[2]) : 0.0f;
            lm[m++] = (float)b->cnt[nd];
            nd = b->skip[nd];
        } else if (b->leaf[nd]) {
            for (size_t j = b->lo[nd]; j < b->hi[nd]; j++) {
                const double *yj = b->pos + j * (size_t)dims;
                lx[m] = (float)(yj[0] - ctr[0]);
                ly[m] = (float)(yj[1] - ctr[1]);
                lz[m] = dims == 3 ? (float)(yj[2] - ctr[2]) : 0.0f;
                lm[m++] = 1.0f;
            }
            nd = b->skip[nd];
        } else {
            nd++;
        }
    }
    while (m % 8) {     /* pad with massless entries */
        lx[m] = ly[m] = lz[m] = 0.0f;
        lm[m++] = 0.0f;
    }
    return m;
}

static float hsum(vf4 v)
{
    return (v[0] + v[2]) + (v[1] + v[3]);
}

/* Sum the list for one point q (relative to the group centre): Z share (self included). */
static double eval_list(const float *lx, const float *ly, const float *lz, const float *lm,
                        size_t m, const float *q, double *f)
{
    vf4 qx = { q[0], q[0], q[0], q[0] }, qy = { q[1], q[1], q[1], q[1] };
    vf4 qz = { q[2], q[2], q[2], q[2] }, one = { 1, 1, 1, 1 };
    vf4 z0 = { 0 }, z1 = { 0 }, fx0 = { 0 }, fx1 = { 0 }, fy0 = { 0 }, fy1 = { 0 };
    vf4 fz0 = { 0 }, fz1 = { 0 };

    for (size_t j = 0; j < m; j += 8) {
        vf4 dx0, dy0, dz0, dx1, dy1, dz1, w0, w1, mw0, mw1, a, c;

        memcpy(&a, lx + j, 16);
        memcpy(&c, lx + j + 4, 16);
        dx0 = qx - a;
        dx1 = qx - c;
        memcpy(&a, ly + j, 16);
        memcpy(&c, ly + j + 4, 16);
        dy0 = qy - a;
        dy1 = qy - c;
        memcpy(&a, lz + j, 16);
        memcpy(&c, lz + j + 4, 16);
        dz0 = qz - a;
        dz1 = qz - c;
        w0 = one / (one + dx0 * dx0 + dy0 * dy0 + dz0 * dz0);
        w1 = one / (one + dx1 * dx1 + dy1 * dy1 + dz1 * dz1);
        memcpy(&a, lm + j, 16);
        memcpy(&c, lm + j + 4, 16);
        mw0 = a * w0;
        mw1 = c * w1;
        z0 += mw0;
        z1 += mw1;
        mw0 *= w0;
        mw1 *= w1;
        fx0 += mw0 * dx0;
        fx1 += mw1 * dx1;
        fy0 += mw0 * dy0;
        fy1 += mw1 * dy1;
        fz0 += mw0 * dz0;
        fz1 += mw1 * dz1;
    }
    f[0] = (double)hsum(fx0) + (double)hsum(fx1);
    f[1] = (double)hsum(fy0) + (double)hsum(fy1);
    f[2] = (double)hsum(fz0) + (double)hsum(fz1);
    return (double)hsum(z0) + (double)hsum(z1);
}

static void bh_group(const vsim_tsne_bh *b, size_t g, double theta2, float *list, size_t cap,
                     double *zpt, double *frc)
{
    int dims = b->dims;
    float *lx = list, *ly = list + cap, *lz = list + 2 * cap, *lm = list + 3 * cap;
    const double *ctr = b->com + g * (size_t)dims;
    size_t m = walk_group(b, g, theta2, ctr, lx, ly, lz, lm);

    for (size_t p = b->lo[g]; p < b->hi[g]; p++) {
        float q[3] = { 0, 0, 0 };
        double f[3];

        for (int c = 0; c < dims; c++)
            q[c] = (float)(b->pos[p * (size_t)dims + (size_t)c] - ctr[c]);
        zpt[p] = eval_list(lx, ly, lz, lm, m, q, f) - 1.0;   /* minus self */
        for (int c = 0; c < dims; c++)
            frc[p * (size_t)dims + (size_t)c] = f[c];
    }
}

void vsim_tsne_repulsion_bh(vsim_tsne_bh *b, const double *Y, double theta, int n_threads,
                            double *rep, double *Z)
{
    int nt = vsim_omp_resolve(n_threads), dims = b->dims;
    double theta2 = theta * theta, z = 0.0, *zpt = b->zpt, *frc = b->frc;
    size_t n = b->n, cap = b->cap, n_groups;
    float *list = b->list;

    if (nt > b->nt)
        nt = b->nt;
    build_tree(b, Y);
    n_groups = b->n_groups;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 8) default(none) \
    shared(b, list, zpt, frc) firstprivate(n_groups, theta2, cap)
    for (size_t g = 0; g < n_groups; g++)
        bh_group(b, b->group[g], theta2, list + 4 * cap * (size_t)vsim_omp_thread_num(), cap,
                 zpt, frc);
    for (size_t p = 0; p < n; p++) {
        z += zpt[p];
        size_t o = (size_t)b->order[p] * (size_t)dims;
        for (int c = 0; c < dims; c++)
            rep[o + (size_t)c] = frc[p * (size_t)dims + (size_t)c];
    }
    *Z = z;
}
