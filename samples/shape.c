/*
 * samples/shape.c - planar triangulations with exact welding, extrusion, and the
 * closed solids (box, strut, lathe, tube, radial surface) the part families use.
 * SPDX-License-Identifier: MIT
 */
#include "samples/shape_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

#define PI 3.14159265358979323846

void vsim_shape_release(vsim_shape *s)
{
    vsim_free(s->p);
    vsim_free(s->tri);
    vsim_free(s->slots);
    memset(s, 0, sizeof(*s));
}

void vsim_shape_clear(vsim_shape *s)
{
    s->n_pts = 0;
    s->n_tris = 0;
    s->wrap_y = 0.0f;
    if (s->slots)
        memset(s->slots, 0, s->n_slots * sizeof(*s->slots));
}

static uint32_t hash_point(float x, float y)
{
    uint32_t a, b;
    uint64_t h;

    memcpy(&a, &x, 4);
    memcpy(&b, &y, 4);
    h = ((uint64_t)a << 32 | b) * 0x9e3779b97f4a7c15ULL;
    return (uint32_t)(h >> 32);
}

static void insert_slot(uint32_t *slots, size_t n_slots, const float *p, uint32_t idx)
{
    size_t i = hash_point(p[2 * idx], p[2 * idx + 1]) & (n_slots - 1);

    while (slots[i])
        i = (i + 1) & (n_slots - 1);
    slots[i] = idx + 1;
}

static int grow_slots(vsim_shape *s)
{
    size_t n = s->n_slots ? 2 * s->n_slots : 256;
    uint32_t *slots = vsim_calloc(n, sizeof(*slots));

    if (!slots)
        return vsim_fail(VSIM_ENOMEM, "out of memory (shape)");
    for (uint32_t i = 0; i < s->n_pts; i++)
        insert_slot(slots, n, s->p, i);
    vsim_free(s->slots);
    s->slots = slots;
    s->n_slots = n;
    return VSIM_OK;
}

int vsim_shape_point(vsim_shape *s, float x, float y, uint32_t *out)
{
    size_t i;

    x = x == 0.0f ? 0.0f : x;      /* -0 welds with +0 */
    if (s->wrap_y > 0 && y == s->wrap_y)
        y = 0.0f;
    y = y == 0.0f ? 0.0f : y;
    if (2 * (s->n_pts + 1) > s->n_slots && grow_slots(s))
        return VSIM_ENOMEM;
    for (i = hash_point(x, y) & (s->n_slots - 1); s->slots[i]; i = (i + 1) & (s->n_slots - 1)) {
        const float *q = s->p + 2 * (s->slots[i] - 1);

        if (q[0] == x && q[1] == y) {
            *out = s->slots[i] - 1;
            return VSIM_OK;
        }
    }
    if (s->n_pts == s->alloc_pts) {
        size_t n = s->alloc_pts ? 2 * s->alloc_pts : 128;
        float *p = vsim_reallocarray(s->p, n, 2 * sizeof(float));

        if (!p)
            return vsim_fail(VSIM_ENOMEM, "out of memory (shape)");
        s->p = p;
        s->alloc_pts = n;
    }
    s->p[2 * s->n_pts] = x;
    s->p[2 * s->n_pts + 1] = y;
    s->slots[i] = (uint32_t)s->n_pts + 1;
    *out = (uint32_t)s->n_pts++;
    return VSIM_OK;
}

int vsim_shape_tri(vsim_shape *s, uint32_t a, uint32_t b, uint32_t c)
{
    if (s->n_tris == s->alloc_tris) {
        size_t n = s->alloc_tris ? 2 * s->alloc_tris : 128;
        uint32_t *t = vsim_reallocarray(s->tri, n, 3 * sizeof(uint32_t));

        if (!t)
            return vsim_fail(VSIM_ENOMEM, "out of memory (shape)");
        s->tri = t;
        s->alloc_tris = n;
    }
    s->tri[3 * s->n_tris] = a;
    s->tri[3 * s->n_tris + 1] = b;
    s->tri[3 * s->n_tris + 2] = c;
    s->n_tris++;
    return VSIM_OK;
}

/* Sample i of k along [a, b]; the ends are exact so that corners weld. */
static float lerp_k(float a, float b, int i, int k)
{
    return i == 0 ? a : i == k ? b : a + (b - a) * ((float)i / (float)k);
}

/*
 * Boundary ring of a cell, counter-clockwise from (x0, y0). Each side's samples are
 * computed from its lower end so that both cells sharing it get identical floats.
 */
static void cell_ring(float x0, float y0, float x1, float y1, int k, float *ring)
{
    for (int i = 0; i < k; i++) {
        ring[2 * i] = lerp_k(x0, x1, i, k);                 /* bottom, left to right */
        ring[2 * i + 1] = y0;
        ring[2 * (k + i)] = x1;                             /* right, upwards */
        ring[2 * (k + i) + 1] = lerp_k(y0, y1, i, k);
        ring[2 * (2 * k + i)] = lerp_k(x0, x1, k - i, k);   /* top, right to left */
        ring[2 * (2 * k + i) + 1] = y1;
        ring[2 * (3 * k + i)] = x0;                         /* left, downwards */
        ring[2 * (3 * k + i) + 1] = lerp_k(y0, y1, k - i, k);
    }
}

#define MAX_RING 256

int vsim_shape_cell(vsim_shape *s, float x0, float y0, float x1, float y1, int k, float hx,
                    float hy)
{
    float ring[2 * MAX_RING];
    uint32_t ri[MAX_RING], hi[MAX_RING], c;
    float cx = 0.5f * (x0 + x1), cy = 0.5f * (y0 + y1);
    int n = 4 * k, rc = VSIM_OK;

    VSIM_ASSERT(k >= 1 && n <= MAX_RING);
    cell_ring(x0, y0, x1, y1, k, ring);
    for (int j = 0; j < n && !rc; j++)
        rc = vsim_shape_point(s, ring[2 * j], ring[2 * j + 1], &ri[j]);
    if (rc)
        return rc;
    if (!(hx > 0 && hy > 0)) {
        rc = vsim_shape_point(s, cx, cy, &c);
        for (int j = 0; j < n && !rc; j++)
            rc = vsim_shape_tri(s, c, ri[j], ri[(j + 1) % n]);
        return rc;
    }
    for (int j = 0; j < n && !rc; j++) {
        double dx = (double)(ring[2 * j] - cx), dy = (double)(ring[2 * j + 1] - cy);
        double f = 1.0 / sqrt(dx * dx / ((double)hx * (double)hx) +
                              dy * dy / ((double)hy * (double)hy));

        rc = vsim_shape_point(s, (float)((double)cx + f * dx), (float)((double)cy + f * dy),
                              &hi[j]);
    }
    for (int j = 0; j < n && !rc; j++) {
        int j1 = (j + 1) % n;

        rc = vsim_shape_tri(s, ri[j], ri[j1], hi[j1]);
        if (!rc)
            rc = vsim_shape_tri(s, ri[j], hi[j1], hi[j]);
    }
    return rc;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;

    return (x > y) - (x < y);
}

static int unique_sorted(float *v, int n)
{
    int m = 0;

    qsort(v, (size_t)n, sizeof(float), cmp_float);
    for (int i = 0; i < n; i++)
        if (m == 0 || v[i] != v[m - 1])
            v[m++] = v[i];
    return m;
}

#define MAX_RECTS 16

int vsim_shape_rects(vsim_shape *s, const float *rects, int n_rects)
{
    float xs[2 * MAX_RECTS], ys[2 * MAX_RECTS];
    int nx, ny, rc = VSIM_OK;

    VSIM_ASSERT(n_rects >= 1 && n_rects <= MAX_RECTS);
    for (int i = 0; i < n_rects; i++) {
        xs[2 * i] = rects[4 * i];
        xs[2 * i + 1] = rects[4 * i + 2];
        ys[2 * i] = rects[4 * i + 1];
        ys[2 * i + 1] = rects[4 * i + 3];
    }
    nx = unique_sorted(xs, 2 * n_rects);
    ny = unique_sorted(ys, 2 * n_rects);
    for (int i = 0; i + 1 < nx && !rc; i++)
        for (int j = 0; j + 1 < ny && !rc; j++) {
            float cx = 0.5f * (xs[i] + xs[i + 1]), cy = 0.5f * (ys[j] + ys[j + 1]);
            int in = 0;

            for (int r = 0; r < n_rects; r++)
                in |= cx > rects[4 * r] && cx < rects[4 * r + 2] && cy > rects[4 * r + 1] &&
                      cy < rects[4 * r + 3];
            if (in)
                rc = vsim_shape_cell(s, xs[i], ys[j], xs[i + 1], ys[j + 1], 1, 0, 0);
        }
    return rc;
}

int vsim_shape_polar(vsim_shape *s, int n, const float *r_in, const float *r_out)
{
    uint32_t *o = vsim_mallocarray(2 * (size_t)n, sizeof(uint32_t)), *in = o + n, c = 0;
    int rc = VSIM_OK;

    if (!o)
        return vsim_fail(VSIM_ENOMEM, "out of memory (shape)");
    for (int j = 0; j < n && !rc; j++) {
        double a = 2.0 * PI * j / n;

        double ro = (double)r_out[j], ri = r_in ? (double)r_in[j] : 0.0;

        rc = vsim_shape_point(s, (float)(ro * cos(a)), (float)(ro * sin(a)), &o[j]);
        if (!rc && r_in)
            rc = vsim_shape_point(s, (float)(ri * cos(a)), (float)(ri * sin(a)), &in[j]);
    }
    if (!rc && !r_in)
        rc = vsim_shape_point(s, 0.0f, 0.0f, &c);
    for (int j = 0; j < n && !rc; j++) {
        int j1 = (j + 1) % n;

        if (!r_in) {
            rc = vsim_shape_tri(s, c, o[j], o[j1]);
            continue;
        }
        rc = vsim_shape_tri(s, o[j], o[j1], in[j1]);
        if (!rc)
            rc = vsim_shape_tri(s, o[j], in[j1], in[j]);
    }
    vsim_free(o);
    return rc;
}

void vsim_shape_map_polar(vsim_shape *s)
{
    for (size_t i = 0; i < s->n_pts; i++) {
        double r = s->p[2 * i], a = s->p[2 * i + 1];

        s->p[2 * i] = (float)(r * cos(a));
        s->p[2 * i + 1] = (float)(r * sin(a));
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

/* Sorted directed edges of s; boundary edges are those whose reverse is absent. */
static uint64_t *sorted_edges(const vsim_shape *s)
{
    uint64_t *e = vsim_mallocarray(3 * s->n_tris + 1, sizeof(uint64_t));

    if (!e)
        return NULL;
    for (size_t t = 0; t < s->n_tris; t++)
        for (int k = 0; k < 3; k++)
            e[3 * t + k] = (uint64_t)s->tri[3 * t + k] << 32 | s->tri[3 * t + (k + 1) % 3];
    qsort(e, 3 * s->n_tris, sizeof(*e), cmp_u64);
    return e;
}

int vsim_shape_extrude(const vsim_shape *s, float z0, float z1, vsim_mesh *m, const double *rot,
                       const double *shift)
{
    vsim_mesh tmp = VSIM_MESH_INIT;
    uint64_t *e = sorted_edges(s);
    size_t n_e = 3 * s->n_tris;
    uint32_t np = (uint32_t)s->n_pts;
    int rc;

    if (!e)
        return vsim_fail(VSIM_ENOMEM, "out of memory (extrusion)");
    rc = vsim_mesh_reserve(&tmp, 2 * s->n_pts, 2 * s->n_tris + 2 * n_e);
    for (size_t i = 0; i < s->n_pts && !rc; i++)
        rc = vsim_mesh_add_vertex(&tmp, s->p[2 * i], s->p[2 * i + 1], z0);
    for (size_t i = 0; i < s->n_pts && !rc; i++)
        rc = vsim_mesh_add_vertex(&tmp, s->p[2 * i], s->p[2 * i + 1], z1);
    for (size_t t = 0; t < s->n_tris && !rc; t++) {
        const uint32_t *v = s->tri + 3 * t;

        rc = vsim_mesh_add_tri(&tmp, v[0], v[2], v[1]);           /* bottom faces -z */
        if (!rc)
            rc = vsim_mesh_add_tri(&tmp, np + v[0], np + v[1], np + v[2]);
    }
    for (size_t i = 0; i < n_e && !rc; i++) {
        uint64_t rev = e[i] << 32 | e[i] >> 32;
        uint32_t a = (uint32_t)(e[i] >> 32), b = (uint32_t)e[i];

        if (bsearch(&rev, e, n_e, sizeof(*e), cmp_u64))
            continue;
        rc = vsim_mesh_add_tri(&tmp, a, b, np + b);
        if (!rc)
            rc = vsim_mesh_add_tri(&tmp, a, np + b, np + a);
    }
    if (!rc)
        rc = vsim_mesh_append(m, &tmp, rot, shift);
    vsim_free(e);
    vsim_mesh_release(&tmp);
    return rc;
}

static int add_quad(vsim_mesh *m, uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
    int rc = vsim_mesh_add_tri(m, a, b, c);

    return rc ? rc : vsim_mesh_add_tri(m, a, c, d);
}

int vsim_solid_box(vsim_mesh *m, const float lo[3], const float hi[3])
{
    static const int face[6][4] = { { 0, 2, 3, 1 }, { 4, 5, 7, 6 }, { 0, 1, 5, 4 },
                                    { 2, 6, 7, 3 }, { 0, 4, 6, 2 }, { 1, 3, 7, 5 } };
    uint32_t b = (uint32_t)m->n_verts;
    int rc = vsim_mesh_reserve(m, 8, 12);

    for (int i = 0; i < 8 && !rc; i++)
        rc = vsim_mesh_add_vertex(m, (i & 1) ? hi[0] : lo[0], (i & 2) ? hi[1] : lo[1],
                                  (i & 4) ? hi[2] : lo[2]);
    for (int f = 0; f < 6 && !rc; f++)
        rc = add_quad(m, b + (uint32_t)face[f][0], b + (uint32_t)face[f][1],
                      b + (uint32_t)face[f][2], b + (uint32_t)face[f][3]);
    return rc;
}

/* Unit vectors u, w perpendicular to d (|d| = 1) with u x w = d. */
static void frame(const double d[3], double u[3], double w[3])
{
    double a[3] = { 1, 0, 0 };

    if (fabs(d[0]) > 0.9) {
        a[0] = 0;
        a[1] = 1;
    }
    u[0] = a[1] * d[2] - a[2] * d[1];
    u[1] = a[2] * d[0] - a[0] * d[2];
    u[2] = a[0] * d[1] - a[1] * d[0];
    double n = sqrt(u[0] * u[0] + u[1] * u[1] + u[2] * u[2]);

    for (int k = 0; k < 3; k++)
        u[k] /= n;
    w[0] = d[1] * u[2] - d[2] * u[1];
    w[1] = d[2] * u[0] - d[0] * u[2];
    w[2] = d[0] * u[1] - d[1] * u[0];
}

int vsim_solid_strut(vsim_mesh *m, const float p[3], const float q[3], float r, int sides)
{
    double d[3] = { (double)(q[0] - p[0]), (double)(q[1] - p[1]), (double)(q[2] - p[2]) };
    double len = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]), u[3], w[3];
    uint32_t b = (uint32_t)m->n_verts, n = (uint32_t)sides;
    int rc;

    VSIM_ASSERT(len > 0 && sides >= 3);
    for (int k = 0; k < 3; k++)
        d[k] /= len;
    frame(d, u, w);
    rc = vsim_mesh_reserve(m, 2 * n + 2, 4 * n);
    for (int end = 0; end < 2 && !rc; end++) {
        const float *o = end ? q : p;

        for (uint32_t j = 0; j < n && !rc; j++) {
            double a = 2.0 * PI * (j + 0.5) / n, c = cos(a) * (double)r, s = sin(a) * (double)r;

            rc = vsim_mesh_add_vertex(m, (float)((double)o[0] + c * u[0] + s * w[0]),
                                      (float)((double)o[1] + c * u[1] + s * w[1]),
                                      (float)((double)o[2] + c * u[2] + s * w[2]));
        }
    }
    if (!rc)
        rc = vsim_mesh_add_vertex(m, p[0], p[1], p[2]);
    if (!rc)
        rc = vsim_mesh_add_vertex(m, q[0], q[1], q[2]);
    for (uint32_t j = 0; j < n && !rc; j++) {
        uint32_t j1 = (j + 1) % n;

        rc = add_quad(m, b + j, b + j1, b + n + j1, b + n + j);
        if (!rc)
            rc = vsim_mesh_add_tri(m, b + 2 * n, b + j1, b + j);
        if (!rc)
            rc = vsim_mesh_add_tri(m, b + 2 * n + 1, b + n + j, b + n + j1);
    }
    return rc;
}

int vsim_solid_lathe(vsim_mesh *m, int n, const float *z, const float *r, int sides)
{
    uint32_t b = (uint32_t)m->n_verts, ns = (uint32_t)sides, top = (uint32_t)(n - 1);
    int rc = vsim_mesh_reserve(m, (size_t)n * ns + 2, 2 * (size_t)n * ns);

    VSIM_ASSERT(n >= 2 && sides >= 3);
    for (int i = 0; i < n && !rc; i++)
        for (uint32_t j = 0; j < ns && !rc; j++) {
            double a = 2.0 * PI * j / sides;

            rc = vsim_mesh_add_vertex(m, (float)((double)r[i] * cos(a)),
                                      (float)((double)r[i] * sin(a)), z[i]);
        }
    if (!rc)
        rc = vsim_mesh_add_vertex(m, 0.0f, 0.0f, z[0]);
    if (!rc)
        rc = vsim_mesh_add_vertex(m, 0.0f, 0.0f, z[n - 1]);
    for (uint32_t j = 0; j < ns && !rc; j++) {
        uint32_t j1 = (j + 1) % ns, cb = b + (uint32_t)n * ns;

        for (uint32_t i = 0; i < top && !rc; i++)
            rc = add_quad(m, b + i * ns + j, b + i * ns + j1, b + (i + 1) * ns + j1,
                          b + (i + 1) * ns + j);
        if (!rc)
            rc = vsim_mesh_add_tri(m, cb, b + j1, b + j);
        if (!rc)
            rc = vsim_mesh_add_tri(m, cb + 1, b + top * ns + j, b + top * ns + j1);
    }
    return rc;
}

int vsim_solid_tube(vsim_mesh *m, float r_in, float r_out, float z0, float z1, int sides)
{
    /* The profile loop (r, z) runs outer bottom, outer top, inner top, inner bottom. */
    const float pr[4] = { r_out, r_out, r_in, r_in }, pz[4] = { z0, z1, z1, z0 };
    uint32_t b = (uint32_t)m->n_verts, ns = (uint32_t)sides;
    int rc = vsim_mesh_reserve(m, 4 * ns, 8 * ns);

    for (uint32_t i = 0; i < 4 && !rc; i++)
        for (uint32_t j = 0; j < ns && !rc; j++) {
            double a = 2.0 * PI * j / sides;

            rc = vsim_mesh_add_vertex(m, (float)((double)pr[i] * cos(a)),
                                      (float)((double)pr[i] * sin(a)), pz[i]);
        }
    for (uint32_t i = 0; i < 4 && !rc; i++) {
        uint32_t i1 = (i + 1) % 4;

        for (uint32_t j = 0; j < ns && !rc; j++) {
            uint32_t j1 = (j + 1) % ns;

            rc = add_quad(m, b + i * ns + j, b + i * ns + j1, b + i1 * ns + j1, b + i1 * ns + j);
        }
    }
    return rc;
}

int vsim_solid_radial(vsim_mesh *m, int n_lat, int n_lon, vsim_radius_fn fn, const void *ctx)
{
    uint32_t b = (uint32_t)m->n_verts, nl = (uint32_t)n_lon, last;
    int rc = vsim_mesh_reserve(m, (size_t)n_lat * nl + 2, 2 * (size_t)(n_lat + 1) * nl);

    for (int i = 0; i < n_lat && !rc; i++) {
        double th = PI * (i + 1) / (n_lat + 1);

        for (int j = 0; j < n_lon && !rc; j++) {
            double ph = 2.0 * PI * j / n_lon;
            double d[3] = { sin(th) * cos(ph), sin(th) * sin(ph), -cos(th) };
            double r = fn(d, ctx);

            rc = vsim_mesh_add_vertex(m, (float)(r * d[0]), (float)(r * d[1]), (float)(r * d[2]));
        }
    }
    for (int pole = 0; pole < 2 && !rc; pole++) {
        double d[3] = { 0, 0, pole ? 1.0 : -1.0 };

        rc = vsim_mesh_add_vertex(m, 0.0f, 0.0f, (float)(fn(d, ctx) * d[2]));
    }
    last = (uint32_t)(n_lat - 1) * nl;
    for (uint32_t j = 0; j < nl && !rc; j++) {
        uint32_t j1 = (j + 1) % nl, sp = b + (uint32_t)n_lat * nl;

        for (uint32_t i = 0; i + 1 < (uint32_t)n_lat && !rc; i++)
            rc = add_quad(m, b + i * nl + j, b + i * nl + j1, b + (i + 1) * nl + j1,
                          b + (i + 1) * nl + j);
        if (!rc)
            rc = vsim_mesh_add_tri(m, sp, b + j1, b + j);
        if (!rc)
            rc = vsim_mesh_add_tri(m, sp + 1, b + last + j, b + last + j1);
    }
    return rc;
}
