/*
 * samples/stl.c - STL reader and writer (binary: 80-byte header, uint32 count,
 * 50 bytes per triangle, little-endian; ASCII: solid/facet/vertex records).
 * SPDX-License-Identifier: MIT
 */
#include "samples/meshio.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/mem.h"

/* Vertex welding: open-addressing hash over the bit patterns of (x, y, z). */
typedef struct weld {
    uint32_t *slots;       /* vertex index + 1; 0 = empty */
    size_t n_slots;        /* power of two, >= 2 * expected vertices */
} weld;

static uint32_t hash3(const float *p)
{
    uint32_t w[3];
    uint64_t h = 0x9e3779b97f4a7c15ULL;

    memcpy(w, p, sizeof(w));
    for (int k = 0; k < 3; k++)
        h = (h ^ w[k]) * 0xbf58476d1ce4e5b9ULL;
    return (uint32_t)(h >> 32);
}

static int weld_grow(weld *w, const vsim_mesh *m)
{
    size_t n = 2 * w->n_slots;
    uint32_t *slots = vsim_calloc(n, sizeof(uint32_t));

    if (!slots)
        return vsim_fail(VSIM_ENOMEM, "out of memory (STL of %zu vertices)", m->n_verts);
    for (size_t v = 0; v < m->n_verts; v++) {
        size_t i = hash3(m->v + 3 * v) & (n - 1);

        while (slots[i])
            i = (i + 1) & (n - 1);
        slots[i] = (uint32_t)v + 1;
    }
    vsim_free(w->slots);
    w->slots = slots;
    w->n_slots = n;
    return VSIM_OK;
}

/* Add vertex p (welded) to m; its index goes to *out. */
static int weld_vertex(weld *w, vsim_mesh *m, const float *p, uint32_t *out)
{
    float q[3];
    size_t i;

    for (int k = 0; k < 3; k++)
        q[k] = p[k] == 0.0f ? 0.0f : p[k];
    if (2 * (m->n_verts + 1) > w->n_slots) {
        int rc = weld_grow(w, m);

        if (rc)
            return rc;
    }
    for (i = hash3(q) & (w->n_slots - 1); w->slots[i]; i = (i + 1) & (w->n_slots - 1)) {
        if (!memcmp(m->v + 3 * (size_t)(w->slots[i] - 1), q, sizeof(q))) {
            *out = w->slots[i] - 1;
            return VSIM_OK;
        }
    }
    int rc = vsim_mesh_add_vertex(m, q[0], q[1], q[2]);

    if (rc)
        return rc;
    *out = (uint32_t)m->n_verts - 1;
    w->slots[i] = (uint32_t)m->n_verts;
    return VSIM_OK;
}

/* Add triangle p[9] to m after checking it is finite. */
static int add_triangle(const char *path, weld *w, vsim_mesh *m, const float *p, size_t t)
{
    uint32_t idx[3];
    int rc = VSIM_OK;

    for (int k = 0; k < 9; k++)
        if (!isfinite(p[k]))
            return vsim_fail(VSIM_EFORMAT, "%s: triangle %zu has a non-finite vertex coordinate",
                             path, t + 1);
    for (int k = 0; k < 3 && !rc; k++)
        rc = weld_vertex(w, m, p + 3 * k, &idx[k]);
    return rc ? rc : vsim_mesh_add_tri(m, idx[0], idx[1], idx[2]);
}

static int weld_init(weld *w, size_t n_tris)
{
    w->n_slots = 1024;
    while (w->n_slots < 6 * n_tris + 16)
        w->n_slots *= 2;
    w->slots = vsim_calloc(w->n_slots, sizeof(uint32_t));
    return w->slots ? VSIM_OK : vsim_fail(VSIM_ENOMEM, "out of memory (STL of %zu triangles)",
                                          n_tris);
}

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static float get_lef32(const unsigned char *p)
{
    uint32_t u = get_le32(p);
    float f;

    memcpy(&f, &u, sizeof(f));
    return f;
}

static int read_binary(const char *path, const unsigned char *d, size_t n_bytes, vsim_mesh *m)
{
    uint32_t n = get_le32(d + 80);
    uint64_t want = 84 + 50 * (uint64_t)n;
    weld w;
    int rc;

    if (n_bytes < want)
        return vsim_fail(VSIM_EFORMAT, "%s: truncated binary STL: the header says %u triangles "
                         "(%llu bytes) but the file has %zu bytes", path, n,
                         (unsigned long long)want, n_bytes);
    if (n_bytes > want)
        return vsim_fail(VSIM_EFORMAT, "%s: triangle count %u in the header does not match the "
                         "file size (%zu bytes, expected %llu)", path, n, n_bytes,
                         (unsigned long long)want);
    if (n == 0)
        return vsim_fail(VSIM_EFORMAT, "%s: empty mesh: no triangles", path);
    rc = weld_init(&w, n);
    if (!rc)
        rc = vsim_mesh_reserve(m, n, n);
    for (uint32_t t = 0; t < n && !rc; t++) {
        float p[9];

        for (int k = 0; k < 9; k++)
            p[k] = get_lef32(d + 84 + 50 * (size_t)t + 12 + 4 * (size_t)k);
        rc = add_triangle(path, &w, m, p, t);
    }
    vsim_free(w.slots);
    return rc;
}

/* Next whitespace-delimited token of an ASCII STL; counts lines. */
static const char *next_token(const char **s, const char *end, size_t *len, int *line)
{
    const char *p = *s, *t;

    while (p < end && isspace((unsigned char)*p))
        *line += *p++ == '\n';
    t = p;
    while (p < end && !isspace((unsigned char)*p))
        p++;
    *len = (size_t)(p - t);
    *s = p;
    return *len ? t : NULL;
}

static int tok_is(const char *t, size_t len, const char *word)
{
    return t && len == strlen(word) && !strncmp(t, word, len);
}

static int read_ascii(const char *path, const char *s, size_t n_bytes, vsim_mesh *m)
{
    const char *end = s + n_bytes, *t;
    size_t len, n_tri = 0;
    int line = 1, in_facet = 0, n_v = 0, done = 0, rc;
    float p[9];
    weld w;

    rc = weld_init(&w, n_bytes / 200 + 1);
    while (!rc && !done && (t = next_token(&s, end, &len, &line))) {
        if (tok_is(t, len, "facet")) {
            in_facet = 1;
            n_v = 0;
        } else if (tok_is(t, len, "vertex")) {
            for (int k = 0; k < 3 && !rc; k++) {
                char num[64];
                char *e;

                t = next_token(&s, end, &len, &line);
                if (!t || len >= sizeof(num) || !in_facet || n_v >= 3)
                    rc = vsim_fail(VSIM_EFORMAT, "%s:%d: bad or truncated vertex record",
                                   path, line);
                if (rc)
                    break;
                memcpy(num, t, len);
                num[len] = '\0';
                p[3 * n_v + k] = strtof(num, &e);
                if (*e)
                    rc = vsim_fail(VSIM_EFORMAT, "%s:%d: '%s' is not a number", path, line, num);
            }
            n_v++;
        } else if (tok_is(t, len, "endfacet")) {
            if (n_v != 3)
                rc = vsim_fail(VSIM_EFORMAT, "%s:%d: facet with %d vertices, want 3", path,
                               line, n_v);
            else
                rc = add_triangle(path, &w, m, p, n_tri++);
            in_facet = 0;
        } else if (tok_is(t, len, "endsolid")) {
            done = 1;
        }
    }
    vsim_free(w.slots);
    if (!rc && (!done || in_facet))
        rc = vsim_fail(VSIM_EFORMAT, "%s: truncated ASCII STL: no 'endsolid' (line %d)", path,
                       line);
    if (!rc && n_tri == 0)
        rc = vsim_fail(VSIM_EFORMAT, "%s: empty mesh: no triangles", path);
    return rc;
}

static int looks_ascii(const char *d, size_t n)
{
    size_t i = 0;

    while (i < n && isspace((unsigned char)d[i]))
        i++;
    return n - i >= 5 && !strncmp(d + i, "solid", 5);
}

int vsim_stl_read(const char *path, vsim_mesh *out)
{
    vsim_buf b = VSIM_BUF_INIT;
    int rc = vsim_fs_read_file(path, &b);

    vsim_mesh_clear(out);
    if (rc)
        return rc;
    if (b.len >= 84 && 84 + 50 * (uint64_t)get_le32((unsigned char *)b.buf + 80) == b.len)
        rc = read_binary(path, (unsigned char *)b.buf, b.len, out);
    else if (looks_ascii(b.buf, b.len))
        rc = read_ascii(path, b.buf, b.len, out);
    else if (b.len < 84)
        rc = vsim_fail(VSIM_EFORMAT, "%s: truncated STL: %zu bytes, shorter than the 84-byte "
                       "binary header", path, b.len);
    else
        rc = read_binary(path, (unsigned char *)b.buf, b.len, out);
    vsim_buf_release(&b);
    if (rc)
        vsim_mesh_clear(out);
    return rc;
}

static void put_le32(unsigned char *p, uint32_t u)
{
    for (int k = 0; k < 4; k++)
        p[k] = (unsigned char)(u >> (8 * k));
}

static void tri_normal(const vsim_mesh *m, size_t t, float n[3])
{
    const float *a = m->v + 3 * (size_t)m->tri[3 * t], *b = m->v + 3 * (size_t)m->tri[3 * t + 1];
    const float *c = m->v + 3 * (size_t)m->tri[3 * t + 2];
    double u[3], v[3], w[3], len;

    for (int k = 0; k < 3; k++) {
        u[k] = (double)(b[k] - a[k]);
        v[k] = (double)(c[k] - a[k]);
    }
    w[0] = u[1] * v[2] - u[2] * v[1];
    w[1] = u[2] * v[0] - u[0] * v[2];
    w[2] = u[0] * v[1] - u[1] * v[0];
    len = sqrt(w[0] * w[0] + w[1] * w[1] + w[2] * w[2]);
    for (int k = 0; k < 3; k++)
        n[k] = len > 0 ? (float)(w[k] / len) : 0.0f;
}

static int format_binary(const vsim_mesh *m, vsim_buf *b)
{
    unsigned char rec[84] = "vsim binary STL";
    int rc;

    if (m->n_tris > UINT32_MAX)
        return vsim_fail(VSIM_ERANGE, "mesh too large for STL (%zu triangles)", m->n_tris);
    put_le32(rec + 80, (uint32_t)m->n_tris);
    rc = vsim_buf_add(b, rec, 84);
    for (size_t t = 0; t < m->n_tris && !rc; t++) {
        float f[12];

        tri_normal(m, t, f);
        for (int k = 0; k < 3; k++)
            memcpy(f + 3 + 3 * k, m->v + 3 * (size_t)m->tri[3 * t + k], 3 * sizeof(float));
        for (int k = 0; k < 12; k++) {
            uint32_t u;

            memcpy(&u, &f[k], 4);
            put_le32(rec + 4 * k, u);
        }
        rec[48] = rec[49] = 0;
        rc = vsim_buf_add(b, rec, 50);
    }
    return rc;
}

static int format_ascii(const vsim_mesh *m, vsim_buf *b)
{
    int rc = vsim_buf_adds(b, "solid vsim\n");

    for (size_t t = 0; t < m->n_tris && !rc; t++) {
        float n[3];

        tri_normal(m, t, n);
        rc = vsim_buf_addf(b, "  facet normal %.9g %.9g %.9g\n    outer loop\n", (double)n[0],
                           (double)n[1], (double)n[2]);
        for (int k = 0; k < 3 && !rc; k++) {
            const float *p = m->v + 3 * (size_t)m->tri[3 * t + k];

            rc = vsim_buf_addf(b, "      vertex %.9g %.9g %.9g\n", (double)p[0], (double)p[1],
                               (double)p[2]);
        }
        if (!rc)
            rc = vsim_buf_adds(b, "    endloop\n  endfacet\n");
    }
    return rc ? rc : vsim_buf_adds(b, "endsolid vsim\n");
}

int vsim_stl_write(const char *path, const vsim_mesh *m, int binary)
{
    vsim_buf b = VSIM_BUF_INIT;
    int rc = binary ? format_binary(m, &b) : format_ascii(m, &b);

    if (rc == VSIM_ENOMEM)
        rc = vsim_fail(VSIM_ENOMEM, "%s: out of memory formatting STL", path);
    if (!rc)
        rc = vsim_fs_write_atomic(path, b.buf, b.len, 0);
    vsim_buf_release(&b);
    return rc;
}

int vsim_meshio_is_mesh(const char *path)
{
    size_t n = strlen(path);

    return n > 4 && (!strcasecmp(path + n - 4, ".stl") || !strcasecmp(path + n - 4, ".obj"));
}

int vsim_meshio_read(const char *path, vsim_mesh *out)
{
    size_t n = strlen(path);

    if (n > 4 && !strcasecmp(path + n - 4, ".stl"))
        return vsim_stl_read(path, out);
    if (n > 4 && !strcasecmp(path + n - 4, ".obj"))
        return vsim_obj_read(path, out);
    return vsim_fail(VSIM_EUNSUP, "%s: unknown mesh format (want .stl or .obj)", path);
}
