/*
 * samples/parts.c - the procedural part families (see samples/parts.h). Each
 * builder draws its parameters, assembles closed solids from samples/shape.c
 * and records the parameters. Units are arbitrary: meshes are normalised later.
 * SPDX-License-Identifier: MIT
 */
#include "samples/parts.h"

#include <math.h>
#include <string.h>

#include "core/buf.h"
#include "samples/shape_int.h"

#define PI 3.14159265358979323846

typedef struct build {
    vsim_mesh *m;          /* the design */
    vsim_mesh tmp;         /* a solid before placement */
    vsim_shape sh;         /* a planar section before extrusion */
    vsim_rng *rng;
    double *par;
} build;

/* Placements: (u, v, w) -> (x, y, z), all with determinant +1. */
static const double ROT_XZ[9] = { 1, 0, 0, 0, 0, -1, 0, 1, 0 };   /* w -> -y, v -> z */
static const double ROT_CYC[9] = { 0, 0, 1, 1, 0, 0, 0, 1, 0 };   /* u -> y, v -> z, w -> x */

static float uni(build *b, double lo, double hi)
{
    return (float)(lo + (hi - lo) * vsim_rng_uniform(b->rng));
}

static int irange(build *b, int lo, int hi)
{
    return lo + (int)vsim_rng_below(b->rng, (uint64_t)(hi - lo + 1));
}

/* Extrude the current section from z0 to z1 and place it; clears the section. */
static int extrude(build *b, float z0, float z1, const double *rot, const double *shift)
{
    int rc = vsim_shape_extrude(&b->sh, z0, z1, b->m, rot, shift);

    vsim_shape_clear(&b->sh);
    return rc;
}

/* Grid section: columns xs[0..nx], rows ys[0..ny]; holes where hole(i, j) radii > 0. */
static int grid_section(build *b, const float *xs, int nx, const float *ys, int ny, int k,
                        const float *hx, const float *hy)
{
    int rc = VSIM_OK;

    for (int j = 0; j < ny && !rc; j++)
        for (int i = 0; i < nx && !rc; i++)
            rc = vsim_shape_cell(&b->sh, xs[i], ys[j], xs[i + 1], ys[j + 1], k,
                                 hx ? hx[j * nx + i] : 0.0f, hy ? hy[j * nx + i] : 0.0f);
    return rc;
}

static int build_plate(build *b)
{
    float h = uni(b, 0.45, 1.0), t = uni(b, 0.03, 0.10), f = uni(b, 0.18, 0.40);
    int nx = irange(b, 1, 4), ny = irange(b, 1, 3), slot = vsim_rng_uniform(b->rng) < 0.3;
    float bx = uni(b, 0.04, 0.12), by = uni(b, 0.04, 0.12) * h;
    float xs[7], ys[6], hx[30] = { 0 }, hy[30] = { 0 };
    int n_holes = 0;

    xs[0] = 0.0f;
    ys[0] = 0.0f;
    for (int i = 0; i <= nx; i++)
        xs[i + 1] = bx + (1.0f - 2 * bx) * (float)i / (float)nx;
    for (int j = 0; j <= ny; j++)
        ys[j + 1] = by + (h - 2 * by) * (float)j / (float)ny;
    xs[nx + 2] = 1.0f;
    ys[ny + 2] = h;
    for (int j = 1; j <= ny; j++)
        for (int i = 1; i <= nx; i++) {
            float cw = xs[i + 1] - xs[i], ch = ys[j + 1] - ys[j], r = f * fminf(cw, ch);

            if (vsim_rng_uniform(b->rng) < 0.15)
                continue;
            hx[j * (nx + 2) + i] = slot ? 0.42f * cw : r;
            hy[j * (nx + 2) + i] = slot ? fminf(r, 0.3f * ch) : r;
            n_holes++;
        }
    b->par[0] = h, b->par[1] = t, b->par[2] = nx, b->par[3] = ny;
    b->par[4] = f, b->par[5] = slot, b->par[6] = n_holes;
    int rc = grid_section(b, xs, nx + 2, ys, ny + 2, 4, hx, hy);

    return rc ? rc : extrude(b, 0.0f, t, NULL, NULL);
}

/* A plate of length len, breadth br (first row t wide, solid), n holes in a row. */
static int holed_strip(build *b, float len, float br, float t, int n, float f)
{
    float xs[5], ys[3] = { 0.0f, t, br }, hx[8] = { 0 }, hy[8] = { 0 };
    int cols = n > 0 ? n : 1;

    for (int i = 0; i <= cols; i++)
        xs[i] = len * (float)i / (float)cols;
    for (int i = 0; i < n; i++)
        hx[cols + i] = hy[cols + i] = f * fminf(len / (float)cols, br - t);
    return grid_section(b, xs, cols, ys, 2, 4, hx, hy);
}

static int build_bracket(build *b)
{
    float d = uni(b, 0.3, 0.7), t = uni(b, 0.04, 0.1), hh = uni(b, 0.3, 0.9);
    float f = uni(b, 0.15, 0.35);
    int n_base = irange(b, 0, 3), n_up = irange(b, 0, 3), n_gus = irange(b, 0, 2);
    float g = uni(b, 0.4, 0.8) * fminf(d, hh), tg = uni(b, 0.03, 0.08);
    double up_shift[3] = { 0, (double)t, 0 };
    int rc;

    b->par[0] = d, b->par[1] = t, b->par[2] = hh, b->par[3] = n_base;
    b->par[4] = n_up, b->par[5] = f, b->par[6] = n_gus, b->par[7] = g;
    rc = holed_strip(b, 1.0f, d, t, n_base, f);
    if (!rc)
        rc = extrude(b, 0.0f, t, NULL, NULL);
    if (!rc)
        rc = holed_strip(b, 1.0f, hh, t, n_up, f);
    if (!rc)
        rc = extrude(b, 0.0f, t, ROT_XZ, up_shift);
    for (int i = 0; i < n_gus && !rc; i++) {
        uint32_t p[3];
        double x0 = n_gus == 1 ? 0.5 - 0.5 * (double)tg : (i ? 1.0 - (double)tg - 0.1 : 0.1);
        double shift[3] = { x0, 0, 0 };

        rc = vsim_shape_point(&b->sh, t, t, &p[0]);
        if (!rc)
            rc = vsim_shape_point(&b->sh, t + g, t, &p[1]);
        if (!rc)
            rc = vsim_shape_point(&b->sh, t, t + g, &p[2]);
        if (!rc)
            rc = vsim_shape_tri(&b->sh, p[0], p[1], p[2]);
        if (!rc)
            rc = extrude(b, 0.0f, tg, ROT_CYC, shift);
    }
    return rc;
}

static int build_beam(build *b)
{
    int type = irange(b, 0, 3);       /* 0 I, 1 H (wide flange), 2 T, 3 C channel */
    float bw = type == 1 ? uni(b, 0.85, 1.0) : uni(b, 0.4, 0.75), tw = uni(b, 0.05, 0.15);
    float tf = uni(b, 0.06, 0.15), len = uni(b, 1.5, 4.0), hw = 0.5f * bw;
    float r[12];
    int n;

    if (type <= 1) {
        const float q[12] = { -hw, 0, hw, tf, -0.5f * tw, tf, 0.5f * tw, 1 - tf, -hw, 1 - tf,
                              hw, 1 };
        memcpy(r, q, sizeof(q));
        n = 3;
    } else if (type == 2) {
        const float q[8] = { -0.5f * tw, 0, 0.5f * tw, 1 - tf, -hw, 1 - tf, hw, 1 };
        memcpy(r, q, sizeof(q));
        n = 2;
    } else {
        const float q[12] = { -hw, 0, hw, tf, -hw, tf, -hw + tw, 1 - tf, -hw, 1 - tf, hw, 1 };
        memcpy(r, q, sizeof(q));
        n = 3;
    }
    b->par[0] = type, b->par[1] = bw, b->par[2] = tw, b->par[3] = tf, b->par[4] = len;
    int rc = vsim_shape_rects(&b->sh, r, n);

    return rc ? rc : extrude(b, 0.0f, len, ROT_CYC, NULL);
}

/* Radius of a gear (type 0, trapezoidal teeth) or sprocket (type 1) at tooth phase ph. */
static float tooth_radius(int type, double ph, float depth)
{
    if (type == 0) {
        double e = ph < 0.15 ? 0 : ph < 0.35 ? (ph - 0.15) / 0.2 : ph < 0.65 ? 1
                   : ph < 0.85 ? (0.85 - ph) / 0.2 : 0;

        return (float)(1.0 - (double)depth * (1.0 - e));
    }
    double x = (ph - 0.5) / 0.32, seat = fabs(x) < 1 ? sqrt(1 - x * x) : 0;

    return (float)(1.0 - (double)depth * seat);
}

#define TOOTH_SAMPLES 12

static int build_gear(build *b)
{
    int teeth = irange(b, 8, 28), type = vsim_rng_uniform(b->rng) < 0.35, n;
    float depth = uni(b, 0.08, 0.2), bore = uni(b, 0.12, 0.35), t = uni(b, 0.1, 0.35);
    int hub = vsim_rng_uniform(b->rng) < 0.6;
    float r_hub = uni(b, (double)bore + 0.1, 0.6), hub_h = hub ? uni(b, 0.1, 0.4) : 0.0f;
    float r_in[28 * TOOTH_SAMPLES], r_out[28 * TOOTH_SAMPLES];
    int rc;

    n = teeth * TOOTH_SAMPLES;
    for (int j = 0; j < n; j++) {
        r_in[j] = bore;
        r_out[j] = tooth_radius(type, (j % TOOTH_SAMPLES + 0.5) / TOOTH_SAMPLES, depth);
    }
    b->par[0] = teeth, b->par[1] = type, b->par[2] = depth, b->par[3] = bore;
    b->par[4] = t, b->par[5] = hub ? (double)r_hub : 0.0, b->par[6] = hub_h;
    rc = vsim_shape_polar(&b->sh, n, r_in, r_out);
    if (!rc)
        rc = extrude(b, 0.0f, t, NULL, NULL);
    if (!rc && hub)
        rc = vsim_solid_tube(b->m, bore, r_hub, t, t + hub_h, 32);
    return rc;
}

static int build_flange(build *b)
{
    int n_b = irange(b, 3, 12), k = n_b >= 12 ? 4 : (48 + n_b - 1) / n_b;
    float r_in = uni(b, 0.2, 0.45), t = uni(b, 0.06, 0.2), f = uni(b, 0.35, 0.75);
    float rc_mid = 0.5f * (r_in + 1.0f), d = 0.3f * (1.0f - r_in);
    float xs[4] = { r_in, rc_mid - d, rc_mid + d, 1.0f }, ys[13], hx[3 * 12], hy[3 * 12];
    float rho = fminf(f * d, 0.8f * rc_mid * (float)PI / (float)n_b);
    int hub = vsim_rng_uniform(b->rng) < 0.7, rc;
    float r_hub = uni(b, (double)r_in + 0.05, (double)(rc_mid - d)), hub_h = uni(b, 0.1, 0.5);

    for (int j = 0; j <= n_b; j++)
        ys[j] = (float)(2.0 * PI * j / n_b);
    for (int j = 0; j < n_b; j++)
        for (int i = 0; i < 3; i++) {
            hx[j * 3 + i] = i == 1 ? rho : 0.0f;
            hy[j * 3 + i] = i == 1 ? rho / rc_mid : 0.0f;
        }
    b->par[0] = n_b, b->par[1] = r_in, b->par[2] = rho, b->par[3] = t;
    b->par[4] = hub ? (double)r_hub : 0.0, b->par[5] = hub ? (double)hub_h : 0.0;
    b->sh.wrap_y = ys[n_b];
    rc = grid_section(b, xs, 3, ys, n_b, k, hx, hy);
    vsim_shape_map_polar(&b->sh);
    if (!rc)
        rc = extrude(b, 0.0f, t, NULL, NULL);
    if (!rc && hub)
        rc = vsim_solid_tube(b->m, r_in, r_hub, t, t + hub_h, 48);
    return rc;
}

static int build_heatsink(build *b)
{
    int pins = vsim_rng_uniform(b->rng) < 0.3, n = pins ? irange(b, 3, 7) : irange(b, 4, 14);
    float dep = uni(b, 0.5, 1.0), tb = uni(b, 0.05, 0.15), fh = uni(b, 0.3, 0.9);
    float pitch = 1.0f / (float)n, ft = uni(b, 0.15, 0.45) * pitch;
    float lo[3] = { 0, 0, 0 }, hi[3] = { 1, dep, tb };
    int rc = vsim_solid_box(b->m, lo, hi), ny = (int)lroundf(dep * (float)n);

    b->par[0] = pins, b->par[1] = n, b->par[2] = dep, b->par[3] = tb;
    b->par[4] = fh, b->par[5] = ft;
    for (int i = 0; i < n && !rc; i++) {
        float x = pitch * ((float)i + 0.5f);

        if (!pins) {
            float flo[3] = { x - 0.5f * ft, 0, tb }, fhi[3] = { x + 0.5f * ft, dep, tb + fh };

            rc = vsim_solid_box(b->m, flo, fhi);
            continue;
        }
        for (int j = 0; j < ny && !rc; j++) {
            float y = dep * ((float)j + 0.5f) / (float)ny;
            float p[3] = { x, y, tb }, q[3] = { x, y, tb + fh };

            rc = vsim_solid_strut(b->m, p, q, 0.6f * ft + 0.01f, 8);
        }
    }
    return rc;
}

static int strut(build *b, float x0, float y0, float z0, float x1, float y1, float z1, float r)
{
    float p[3] = { x0, y0, z0 }, q[3] = { x1, y1, z1 };

    return vsim_solid_strut(b->m, p, q, r, 6);
}

static int build_truss(build *b)
{
    int nx = irange(b, 1, 3), ny = irange(b, 1, 3), nz = irange(b, 1, 2), braces = irange(b, 0, 2);
    float r = uni(b, 0.04, 0.1), sz = uni(b, 0.7, 1.3);
    int rc = VSIM_OK;

    b->par[0] = nx, b->par[1] = ny, b->par[2] = nz, b->par[3] = r, b->par[4] = braces;
    b->par[5] = sz;
    for (int i = 0; i <= nx && !rc; i++)
        for (int j = 0; j <= ny && !rc; j++)
            for (int k = 0; k <= nz && !rc; k++) {
                float x = (float)i, y = (float)j, z = (float)k * sz;

                if (i < nx)
                    rc = strut(b, x, y, z, x + 1, y, z, r);
                if (!rc && j < ny)
                    rc = strut(b, x, y, z, x, y + 1, z, r);
                if (!rc && k < nz)
                    rc = strut(b, x, y, z, x, y, z + sz, r);
                if (!rc && braces == 1 && i < nx && k < nz && (j == 0 || j == ny))
                    rc = strut(b, x, y, z, x + 1, y, z + sz, 0.8f * r);
                if (!rc && braces == 1 && j < ny && k < nz && (i == 0 || i == nx))
                    rc = strut(b, x, y, z, x, y + 1, z + sz, 0.8f * r);
                if (!rc && braces == 2 && i < nx && j < ny && k < nz)
                    rc = strut(b, x, y, z, x + 1, y + 1, z + sz, 0.8f * r);
            }
    return rc;
}

#define MAX_LOBES 6

typedef struct blob {
    int n;
    double core;
    double dir[MAX_LOBES][3], amp[MAX_LOBES], width[MAX_LOBES];
} blob;

static double blob_radius(const double d[3], const void *ctx)
{
    const blob *bl = ctx;
    double r = bl->core;

    for (int i = 0; i < bl->n; i++) {
        double c = d[0] * bl->dir[i][0] + d[1] * bl->dir[i][1] + d[2] * bl->dir[i][2];

        r += bl->amp[i] * exp((c - 1.0) / bl->width[i]);
    }
    return r;
}

static int build_blob(build *b)
{
    blob bl;
    double amp = 0, w = 0;

    bl.n = irange(b, 2, MAX_LOBES);
    bl.core = uni(b, 0.35, 0.7);
    for (int i = 0; i < bl.n; i++) {
        double n2 = 0;

        for (int k = 0; k < 3; k++) {
            bl.dir[i][k] = vsim_rng_normal(b->rng);
            n2 += bl.dir[i][k] * bl.dir[i][k];
        }
        for (int k = 0; k < 3; k++)
            bl.dir[i][k] /= sqrt(n2);
        bl.amp[i] = uni(b, 0.3, 0.9);
        bl.width[i] = uni(b, 0.08, 0.35);
        amp += bl.amp[i] / bl.n;
        w += bl.width[i] / bl.n;
    }
    b->par[0] = bl.n, b->par[1] = bl.core, b->par[2] = amp, b->par[3] = w;
    return vsim_solid_radial(b->m, 22, 40, blob_radius, &bl);
}

static int build_shaft(build *b)
{
    int n_seg = irange(b, 2, 5), n = 0;
    float z[12], r[12], len = 0, rmax = 0, rmin = 1, ch = uni(b, 0.0, 0.04);

    for (int i = 0; i < n_seg; i++) {
        float ri = uni(b, 0.1, 0.35), li = uni(b, 0.3, 1.0);

        if (i == 0 && ch > 0) {
            z[n] = 0, r[n++] = ri - ch;
            z[n] = ch, r[n++] = ri;
        } else {
            z[n] = len, r[n++] = ri;
        }
        len += li;
        z[n] = len - (i == n_seg - 1 ? ch : 0.0f), r[n++] = ri;
        rmax = fmaxf(rmax, ri);
        rmin = fminf(rmin, ri);
        if (i == n_seg - 1 && ch > 0)
            z[n] = len, r[n++] = ri - ch;
    }
    b->par[0] = n_seg, b->par[1] = len, b->par[2] = rmax, b->par[3] = rmin, b->par[4] = ch;
    int rc = vsim_solid_lathe(&b->tmp, n, z, r, 32);

    return rc ? rc : vsim_mesh_append(b->m, &b->tmp, ROT_CYC, NULL);
}

typedef struct family_def {
    const char *name, *summary;
    int (*build)(build *b);
    int n_params;
    const char *params[VSIM_PARTS_MAX_PARAMS];
} family_def;

static const family_def FAMILIES[] = {
    { "bracket", "L-bracket with hole rows and optional gussets", build_bracket, 8,
      { "depth", "thickness", "height", "base_holes", "upright_holes", "hole_frac",
        "gussets", "gusset_size" } },
    { "beam", "I, H, T or C section beam", build_beam, 5,
      { "section", "flange_width", "web_t", "flange_t", "length" } },
    { "plate", "plate with a grid of holes or slots", build_plate, 7,
      { "height", "thickness", "cols", "rows", "hole_frac", "slots", "holes" } },
    { "truss", "lattice block of struts with optional braces", build_truss, 6,
      { "nx", "ny", "nz", "strut_r", "braces", "cell_height" } },
    { "gear", "spur gear or sprocket with bore and optional hub", build_gear, 7,
      { "teeth", "sprocket", "tooth_depth", "bore", "thickness", "hub_r", "hub_h" } },
    { "flange", "ring flange with bolt circle and optional hub", build_flange, 6,
      { "bolts", "bore", "bolt_r", "thickness", "hub_r", "hub_h" } },
    { "heatsink", "finned or pin heat sink on a base plate", build_heatsink, 6,
      { "pins", "count", "depth", "base_t", "fin_h", "fin_t" } },
    { "blob", "organic star-shaped blob (sum of smooth lobes)", build_blob, 4,
      { "lobes", "core", "mean_amp", "mean_width" } },
    { "shaft", "stepped shaft with optional chamfers", build_shaft, 5,
      { "steps", "length", "r_max", "r_min", "chamfer" } },
};

int vsim_parts_n_families(void)
{
    return (int)VSIM_ARRAY_LEN(FAMILIES);
}

const char *vsim_parts_name(int family)
{
    return family >= 0 && family < vsim_parts_n_families() ? FAMILIES[family].name : NULL;
}

const char *vsim_parts_summary(int family)
{
    return family >= 0 && family < vsim_parts_n_families() ? FAMILIES[family].summary : NULL;
}

int vsim_parts_find(const char *name, int *out)
{
    vsim_buf names = VSIM_BUF_INIT;

    for (int i = 0; i < vsim_parts_n_families(); i++) {
        if (!strcmp(name, FAMILIES[i].name)) {
            vsim_buf_release(&names);
            *out = i;
            return VSIM_OK;
        }
        if (vsim_buf_addf(&names, "%s%s", i ? ", " : "", FAMILIES[i].name)) {
            vsim_buf_release(&names);
            return vsim_fail(VSIM_ENOTFOUND, "unknown part family '%s'", name);
        }
    }
    vsim_fail(VSIM_ENOTFOUND, "unknown part family '%s' (families: %s)", name, names.buf);
    vsim_buf_release(&names);
    return VSIM_ENOTFOUND;
}

const char *const *vsim_parts_param_names(int family, int *n_params)
{
    VSIM_ASSERT(family >= 0 && family < vsim_parts_n_families());
    *n_params = FAMILIES[family].n_params;
    return FAMILIES[family].params;
}

int vsim_parts_build(int family, vsim_rng *rng, vsim_mesh *out,
                     double params[VSIM_PARTS_MAX_PARAMS])
{
    build b = { out, VSIM_MESH_INIT, VSIM_SHAPE_INIT, rng, params };
    int rc;

    if (family < 0 || family >= vsim_parts_n_families())
        return vsim_fail(VSIM_EINVAL, "part family %d out of range", family);
    for (int i = 0; i < VSIM_PARTS_MAX_PARAMS; i++)
        params[i] = NAN;
    vsim_mesh_clear(out);
    rc = FAMILIES[family].build(&b);
    vsim_mesh_release(&b.tmp);
    vsim_shape_release(&b.sh);
    return rc;
}
