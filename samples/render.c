/*
 * samples/render.c - orthographic z-buffer rasteriser (edge functions over each
 * triangle's bounding box, as in Pineda 1988), flat Lambert shading, and a box
 * filter from the supersampled buffer to the output image.
 * SPDX-License-Identifier: MIT
 */
#include "samples/render.h"

#include <math.h>
#include <string.h>

#include "core/mem.h"

#define AMBIENT 0.15f

struct vsim_render {
    vsim_render_params p;
    int w;                 /* supersampled side, size * supersample */
    float *zbuf;           /* w * w depths (larger is nearer) */
    float *shade;          /* w * w intensities in [0, 1] */
    float *proj;           /* 3 per vertex: screen x, screen y, depth */
    size_t alloc_proj;     /* vertices proj can hold */
};

int vsim_render_create(const vsim_render_params *params, vsim_render **out)
{
    vsim_render *r;
    size_t n;

    *out = NULL;
    if (params->size < 1 || params->size > VSIM_RENDER_MAX_SIZE)
        return vsim_fail(VSIM_EINVAL, "image size %d out of range 1..%d", params->size,
                         VSIM_RENDER_MAX_SIZE);
    if (params->supersample < 1 || params->supersample > VSIM_RENDER_MAX_SS)
        return vsim_fail(VSIM_EINVAL, "supersampling %d out of range 1..%d",
                         params->supersample, VSIM_RENDER_MAX_SS);
    r = vsim_calloc(1, sizeof(*r));
    if (!r)
        return vsim_fail(VSIM_ENOMEM, "out of memory (renderer)");
    r->p = *params;
    r->w = params->size * params->supersample;
    n = (size_t)r->w * (size_t)r->w;
    r->zbuf = vsim_mallocarray(n, sizeof(float));
    r->shade = vsim_mallocarray(n, sizeof(float));
    if (!r->zbuf || !r->shade) {
        int w = r->w;

        vsim_render_destroy(r);
        return vsim_fail(VSIM_ENOMEM, "out of memory (%d x %d z-buffer)", w, w);
    }
    *out = r;
    return VSIM_OK;
}

void vsim_render_destroy(vsim_render *r)
{
    if (!r)
        return;
    vsim_free(r->zbuf);
    vsim_free(r->shade);
    vsim_free(r->proj);
    vsim_free(r);
}

static void cross(const double a[3], const double b[3], double out[3])
{
    out[0] = a[1] * b[2] - a[2] * b[1];
    out[1] = a[2] * b[0] - a[0] * b[2];
    out[2] = a[0] * b[1] - a[1] * b[0];
}

static void normalize3(double v[3])
{
    double n = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);

    for (int k = 0; k < 3; k++)
        v[k] /= n;
}

void vsim_render_frame(const double dir[3], double right[3], double up[3])
{
    double f[3] = { -dir[0], -dir[1], -dir[2] }, hint[3] = { 0, 0, 1 };

    if (fabs(dir[2]) > 0.999) {
        hint[1] = 1;
        hint[2] = 0;
    }
    cross(f, hint, right);
    normalize3(right);
    cross(right, f, up);
    normalize3(up);
}

void vsim_render_default_views(int n, double (*dirs)[3])
{
    static const double d[VSIM_RENDER_N_DEFAULT_VIEWS][3] = {
        { 0, -1, 0 }, { 1, 0, 0 }, { 0, 0, 1 }, { 1, -1, 1 }, { -1, 1, 1 }, { 1, 1, -1 }
    };

    VSIM_ASSERT(n >= 0 && n <= VSIM_RENDER_N_DEFAULT_VIEWS);
    for (int i = 0; i < n; i++) {
        memcpy(dirs[i], d[i], sizeof(d[i]));
        normalize3(dirs[i]);
    }
}

void vsim_render_random_views(vsim_rng *rng, int n, double (*dirs)[3])
{
    for (int i = 0; i < n; i++) {
        double z = 2.0 * vsim_rng_uniform(rng) - 1.0, a = 6.283185307179586 * vsim_rng_uniform(rng);
        double s = sqrt(fmax(0.0, 1.0 - z * z));

        dirs[i][0] = s * cos(a);
        dirs[i][1] = s * sin(a);
        dirs[i][2] = z;
    }
}

/* Project every vertex to supersampled pixel coordinates and depth. */
static int project(vsim_render *r, const vsim_mesh *m, const double dd[3], const double rr[3],
                   const double uu[3])
{
    float half = 0.5f * (float)r->w, d[3], rt[3], up[3];

    for (int k = 0; k < 3; k++) {
        d[k] = (float)dd[k];
        rt[k] = (float)rr[k];
        up[k] = (float)uu[k];
    }

    if (m->n_verts > r->alloc_proj) {
        float *p = vsim_reallocarray(r->proj, m->n_verts, 3 * sizeof(float));

        if (!p)
            return vsim_fail(VSIM_ENOMEM, "out of memory (%zu projected vertices)", m->n_verts);
        r->proj = p;
        r->alloc_proj = m->n_verts;
    }
    for (size_t i = 0; i < m->n_verts; i++) {
        const float *v = m->v + 3 * i;
        float x = rt[0] * v[0] + rt[1] * v[1] + rt[2] * v[2];
        float y = up[0] * v[0] + up[1] * v[1] + up[2] * v[2];
        float z = d[0] * v[0] + d[1] * v[1] + d[2] * v[2];

        r->proj[3 * i] = (x + 1.0f) * half;
        r->proj[3 * i + 1] = (1.0f - y) * half;
        r->proj[3 * i + 2] = z;
    }
    return VSIM_OK;
}

/* floor and ceil to int without libm calls (the default x86-64 target has no roundss). */
static inline int ifloor(float x)
{
    int i = (int)x;

    return i - (x < (float)i);
}

static inline int iceil(float x)
{
    int i = (int)x;

    return i + (x > (float)i);
}

static inline float min3(float a, float b, float c)
{
    float m = a < b ? a : b;

    return m < c ? m : c;
}

static inline float max3(float a, float b, float c)
{
    float m = a > b ? a : b;

    return m > c ? m : c;
}

/*
 * Fill one triangle (screen points a, b, c) with intensity `shade`, depth-tested.
 * Each edge function is linear, e = A x + B y + C; per row the span where all
 * three can be >= 0 is solved for (with a pixel of slack) and tested exactly.
 */
static void fill_tri(vsim_render *r, const float *a, const float *b, const float *c, float shade)
{
    const float *p[3] = { b, c, a }, *q[3] = { c, a, b };
    float area = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
    float sgn = area < 0 ? -1.0f : 1.0f, inv, ea[3], eb[3], ec[3], ia[3], zx, zy, zc;
    int w = r->w, x0, x1, y0, y1;

    if (area == 0.0f)
        return;
    inv = 1.0f / (area * sgn);
    for (int i = 0; i < 3; i++) {
        ea[i] = -sgn * (q[i][1] - p[i][1]);
        eb[i] = sgn * (q[i][0] - p[i][0]);
        ec[i] = sgn * ((q[i][1] - p[i][1]) * p[i][0] - (q[i][0] - p[i][0]) * p[i][1]);
        ia[i] = ea[i] != 0 ? -1.0f / ea[i] : 0.0f;
    }
    zx = (ea[0] * a[2] + ea[1] * b[2] + ea[2] * c[2]) * inv;
    zy = (eb[0] * a[2] + eb[1] * b[2] + eb[2] * c[2]) * inv;
    zc = (ec[0] * a[2] + ec[1] * b[2] + ec[2] * c[2]) * inv;
    x0 = ifloor(min3(a[0], b[0], c[0]));
    x1 = iceil(max3(a[0], b[0], c[0]));
    y0 = ifloor(min3(a[1], b[1], c[1]));
    y1 = iceil(max3(a[1], b[1], c[1]));
    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > w - 1 ? w - 1 : x1;
    y1 = y1 > w - 1 ? w - 1 : y1;
    for (int y = y0; y <= y1; y++) {
        float py = (float)y + 0.5f, row[3];
        int lo = x0, hi = x1;

        for (int i = 0; i < 3; i++) {
            row[i] = eb[i] * py + ec[i];
            if (ea[i] > 0) {
                int l = iceil(row[i] * ia[i] - 0.5f) - 1;

                lo = l > lo ? l : lo;
            } else if (ea[i] < 0) {
                int h = ifloor(row[i] * ia[i] - 0.5f) + 1;

                hi = h < hi ? h : hi;
            } else if (row[i] < 0) {
                hi = lo - 1;
            }
        }
        float *zrow = r->zbuf + (size_t)y * (size_t)w, *srow = r->shade + (size_t)y * (size_t)w;

        for (int x = lo; x <= hi; x++) {
            float px = (float)x + 0.5f, z;

            if (ea[0] * px + row[0] < 0 || ea[1] * px + row[1] < 0 || ea[2] * px + row[2] < 0)
                continue;
            z = zx * px + zy * py + zc;
            if (z > zrow[x]) {
                zrow[x] = z;
                srow[x] = shade;
            }
        }
    }
}

/* Average supersample blocks into bytes. */
static void downsample(const vsim_render *r, uint8_t *out)
{
    int s = r->p.size, ss = r->p.supersample;
    float scale = 255.0f / (float)(ss * ss);

    for (int y = 0; y < s; y++)
        for (int x = 0; x < s; x++) {
            float sum = 0;

            for (int j = 0; j < ss; j++)
                for (int i = 0; i < ss; i++)
                    sum += r->shade[(size_t)(y * ss + j) * (size_t)r->w + (size_t)(x * ss + i)];
            out[(size_t)y * (size_t)s + (size_t)x] = (uint8_t)(sum * scale + 0.5f);
        }
}

int vsim_render_view(vsim_render *r, const vsim_mesh *m, const double dir[3], uint8_t *out)
{
    double d[3] = { dir[0], dir[1], dir[2] }, rt[3], up[3], light[3];
    size_t n = (size_t)r->w * (size_t)r->w;
    int rc;

    normalize3(d);
    vsim_render_frame(d, rt, up);
    /* Light from the upper left, in front: fixed to the camera so every view is lit alike. */
    for (int k = 0; k < 3; k++)
        light[k] = -0.35 * rt[k] + 0.5 * up[k] + 0.79 * d[k];
    normalize3(light);
    rc = project(r, m, d, rt, up);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        r->zbuf[i] = -INFINITY;
        r->shade[i] = 0.0f;
    }
    for (size_t t = 0; t < m->n_tris; t++) {
        const uint32_t *v = m->tri + 3 * t;
        const float *pa = m->v + 3 * (size_t)v[0], *pb = m->v + 3 * (size_t)v[1];
        const float *pc = m->v + 3 * (size_t)v[2];
        double e1[3], e2[3], nrm[3], len, facing, lam;

        for (int k = 0; k < 3; k++) {
            e1[k] = (double)(pb[k] - pa[k]);
            e2[k] = (double)(pc[k] - pa[k]);
        }
        cross(e1, e2, nrm);
        len = sqrt(nrm[0] * nrm[0] + nrm[1] * nrm[1] + nrm[2] * nrm[2]);
        if (!(len > 0))
            continue;
        facing = (nrm[0] * d[0] + nrm[1] * d[1] + nrm[2] * d[2]) / len;
        if (r->p.cull && facing <= 0)
            continue;
        lam = (nrm[0] * light[0] + nrm[1] * light[1] + nrm[2] * light[2]) / len;
        lam = facing < 0 ? -lam : lam;    /* two-sided for open or flipped user meshes */
        fill_tri(r, r->proj + 3 * (size_t)v[0], r->proj + 3 * (size_t)v[1],
                 r->proj + 3 * (size_t)v[2], AMBIENT + (1.0f - AMBIENT) * (float)fmax(0.0, lam));
    }
    downsample(r, out);
    return VSIM_OK;
}
