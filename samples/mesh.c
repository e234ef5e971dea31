/*
 * samples/mesh.c - indexed triangle meshes: growth, placement, normalisation to
 * the unit sphere and the closed/outward checks (see samples/mesh.h).
 * SPDX-License-Identifier: MIT
 */
#include "samples/mesh.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

void vsim_mesh_init(vsim_mesh *m)
{
    memset(m, 0, sizeof(*m));
}

void vsim_mesh_release(vsim_mesh *m)
{
    vsim_free(m->v);
    vsim_free(m->tri);
    vsim_mesh_init(m);
}

void vsim_mesh_clear(vsim_mesh *m)
{
    m->n_verts = 0;
    m->n_tris = 0;
}

static size_t grown(size_t have, size_t want)
{
    size_t n = have ? have : 64;

    while (n < want)
        n *= 2;
    return n;
}

int vsim_mesh_reserve(vsim_mesh *m, size_t extra_verts, size_t extra_tris)
{
    size_t want_v = m->n_verts + extra_verts, want_t = m->n_tris + extra_tris;

    if (want_v > UINT32_MAX)
        return vsim_fail(VSIM_ERANGE, "mesh has more than 2^32 vertices");
    if (want_v > m->alloc_verts) {
        size_t n = grown(m->alloc_verts, want_v);
        float *v = vsim_reallocarray(m->v, n, 3 * sizeof(float));

        if (!v)
            return vsim_fail(VSIM_ENOMEM, "out of memory (mesh of %zu vertices)", n);
        m->v = v;
        m->alloc_verts = n;
    }
    if (want_t > m->alloc_tris) {
        size_t n = grown(m->alloc_tris, want_t);
        uint32_t *t = vsim_reallocarray(m->tri, n, 3 * sizeof(uint32_t));

        if (!t)
            return vsim_fail(VSIM_ENOMEM, "out of memory (mesh of %zu triangles)", n);
        m->tri = t;
        m->alloc_tris = n;
    }
    return VSIM_OK;
}

int vsim_mesh_add_vertex(vsim_mesh *m, float x, float y, float z)
{
    float *p;

    if (m->n_verts >= m->alloc_verts) {
        int rc = vsim_mesh_reserve(m, 1, 0);

        if (rc)
            return rc;
    }
    p = m->v + 3 * m->n_verts++;
    p[0] = x;
    p[1] = y;
    p[2] = z;
    return VSIM_OK;
}

int vsim_mesh_add_tri(vsim_mesh *m, uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t *t;

    VSIM_ASSERT(a < m->n_verts && b < m->n_verts && c < m->n_verts);
    if (m->n_tris >= m->alloc_tris) {
        int rc = vsim_mesh_reserve(m, 0, 1);

        if (rc)
            return rc;
    }
    t = m->tri + 3 * m->n_tris++;
    t[0] = a;
    t[1] = b;
    t[2] = c;
    return VSIM_OK;
}

static double det3(const double *r)
{
    return r[0] * (r[4] * r[8] - r[5] * r[7]) - r[1] * (r[3] * r[8] - r[5] * r[6]) +
           r[2] * (r[3] * r[7] - r[4] * r[6]);
}

int vsim_mesh_append(vsim_mesh *dst, const vsim_mesh *src, const double *rot,
                     const double *shift)
{
    static const double ident[9] = { 1, 0, 0, 0, 1, 0, 0, 0, 1 };
    static const double zero[3] = { 0, 0, 0 };
    uint32_t base = (uint32_t)dst->n_verts;
    int flip, rc;

    rot = rot ? rot : ident;
    shift = shift ? shift : zero;
    flip = det3(rot) < 0;
    rc = vsim_mesh_reserve(dst, src->n_verts, src->n_tris);
    if (rc)
        return rc;
    for (size_t i = 0; i < src->n_verts; i++) {
        const float *p = src->v + 3 * i;
        float *q = dst->v + 3 * (dst->n_verts + i);

        for (int k = 0; k < 3; k++)
            q[k] = (float)(rot[3 * k] * (double)p[0] + rot[3 * k + 1] * (double)p[1] +
                           rot[3 * k + 2] * (double)p[2] +
                           shift[k]);
    }
    for (size_t i = 0; i < src->n_tris; i++) {
        const uint32_t *t = src->tri + 3 * i;
        uint32_t *u = dst->tri + 3 * (dst->n_tris + i);

        u[0] = base + t[0];
        u[1] = base + (flip ? t[2] : t[1]);
        u[2] = base + (flip ? t[1] : t[2]);
    }
    dst->n_verts += src->n_verts;
    dst->n_tris += src->n_tris;
    return VSIM_OK;
}

int vsim_mesh_bounds(const vsim_mesh *m, double lo[3], double hi[3])
{
    for (int k = 0; k < 3; k++) {
        lo[k] = INFINITY;
        hi[k] = -INFINITY;
    }
    for (size_t i = 0; i < 3 * m->n_tris; i++) {
        const float *p = m->v + 3 * (size_t)m->tri[i];

        for (int k = 0; k < 3; k++) {
            lo[k] = fmin(lo[k], (double)p[k]);
            hi[k] = fmax(hi[k], (double)p[k]);
        }
    }
    return m->n_tris > 0;
}

int vsim_mesh_normalize(vsim_mesh *m)
{
    double lo[3], hi[3], c[3], r2 = 0, s;

    if (!vsim_mesh_bounds(m, lo, hi))
        return vsim_fail(VSIM_EINVAL, "empty mesh: no triangles");
    for (int k = 0; k < 3; k++)
        c[k] = 0.5 * (lo[k] + hi[k]);
    for (size_t i = 0; i < 3 * m->n_tris; i++) {
        const float *p = m->v + 3 * (size_t)m->tri[i];
        double d2 = 0;

        for (int k = 0; k < 3; k++)
            d2 += ((double)p[k] - c[k]) * ((double)p[k] - c[k]);
        r2 = fmax(r2, d2);
    }
    if (!(r2 > 0) || !isfinite(r2))
        return vsim_fail(VSIM_EINVAL, "degenerate mesh: all vertices coincide");
    s = 1.0 / sqrt(r2);
    for (size_t i = 0; i < m->n_verts; i++)
        for (int k = 0; k < 3; k++)
            m->v[3 * i + k] = (float)(((double)m->v[3 * i + k] - c[k]) * s);
    return VSIM_OK;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

static uint32_t find_root(uint32_t *parent, uint32_t i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

static double tri_volume(const vsim_mesh *m, size_t t)
{
    const float *a = m->v + 3 * (size_t)m->tri[3 * t], *b = m->v + 3 * (size_t)m->tri[3 * t + 1];
    const float *c = m->v + 3 * (size_t)m->tri[3 * t + 2];
    double ax = (double)a[0], ay = (double)a[1], az = (double)a[2];
    double bx = (double)b[0], by = (double)b[1], bz = (double)b[2];
    double cx = (double)c[0], cy = (double)c[1], cz = (double)c[2];

    return (ax * (by * cz - bz * cy) - ay * (bx * cz - bz * cx) + az * (bx * cy - by * cx)) / 6.0;
}

/* Count unmatched and repeated directed edges over the sorted edge keys. */
static void count_edges(const uint64_t *keys, size_t n, vsim_mesh_report *out)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t rev = (keys[i] << 32) | (keys[i] >> 32);

        if (i + 1 < n && keys[i + 1] == keys[i])
            out->n_bad_edges++;
        if (!bsearch(&rev, keys, n, sizeof(*keys), cmp_u64))
            out->n_open_edges++;
    }
}

/* Signed volume per component (union-find over the triangles' vertices). */
static int check_components(const vsim_mesh *m, vsim_mesh_report *out)
{
    uint32_t *parent = vsim_mallocarray(m->n_verts, sizeof(uint32_t));
    double *vol = vsim_calloc(m->n_verts, sizeof(double));
    unsigned char *used = vsim_calloc(m->n_verts, 1);

    if (!parent || !vol || !used) {
        vsim_free(parent);
        vsim_free(vol);
        vsim_free(used);
        return vsim_fail(VSIM_ENOMEM, "out of memory checking a mesh");
    }
    for (uint32_t i = 0; i < m->n_verts; i++)
        parent[i] = i;
    for (size_t t = 0; t < m->n_tris; t++) {
        const uint32_t *v = m->tri + 3 * t;
        uint32_t r0 = find_root(parent, v[0]);

        for (int k = 1; k < 3; k++) {
            uint32_t rk = find_root(parent, v[k]);

            if (rk != r0)
                parent[rk] = r0;
        }
    }
    for (size_t t = 0; t < m->n_tris; t++) {
        uint32_t r = find_root(parent, m->tri[3 * t]);

        vol[r] += tri_volume(m, t);
        used[r] = 1;
        out->volume += tri_volume(m, t);
    }
    for (size_t i = 0; i < m->n_verts; i++) {
        if (!used[i])
            continue;
        out->n_components++;
        if (!(vol[i] > 0))
            out->n_inward++;
    }
    vsim_free(parent);
    vsim_free(vol);
    vsim_free(used);
    return VSIM_OK;
}

int vsim_mesh_check(const vsim_mesh *m, vsim_mesh_report *out)
{
    vsim_mesh_report r = { 0, 0, 0, 0, 0.0 };
    uint64_t *keys = vsim_mallocarray(3 * m->n_tris + 1, sizeof(uint64_t));
    int rc;

    if (!keys)
        return vsim_fail(VSIM_ENOMEM, "out of memory checking a mesh");
    for (size_t t = 0; t < m->n_tris; t++)
        for (int k = 0; k < 3; k++) {
            uint64_t a = m->tri[3 * t + k], b = m->tri[3 * t + (k + 1) % 3];

            keys[3 * t + k] = (a << 32) | b;
        }
    qsort(keys, 3 * m->n_tris, sizeof(*keys), cmp_u64);
    count_edges(keys, 3 * m->n_tris, &r);
    vsim_free(keys);
    rc = check_components(m, &r);
    if (rc)
        return rc;
    *out = r;
    return VSIM_OK;
}
