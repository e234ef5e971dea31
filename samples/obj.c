/*
 * samples/obj.c - Wavefront OBJ reader and writer (geometry only: v and f
 * records; 1-based and negative relative indices; polygons fanned).
 * SPDX-License-Identifier: MIT
 */
#include "samples/meshio.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/mem.h"

#define MAX_POLY 1024

static int parse_vertex(const char *path, int line, const char *s, vsim_mesh *m)
{
    double c[3];
    char *e;

    for (int k = 0; k < 3; k++) {
        errno = 0;
        c[k] = strtod(s, &e);
        if (e == s)
            return vsim_fail(VSIM_EFORMAT, "%s:%d: vertex needs 3 coordinates", path, line);
        if (!isfinite(c[k]) || !isfinite((float)c[k]))
            return vsim_fail(VSIM_EFORMAT, "%s:%d: non-finite vertex coordinate", path, line);
        s = e;
    }
    return vsim_mesh_add_vertex(m, (float)c[0], (float)c[1], (float)c[2]);
}

/* Parse one face index token ("7", "7/1", "7//3", "-1"); resolve to a 0-based index. */
static int parse_index(const char *path, int line, const char **s, size_t n_verts,
                       uint32_t *out)
{
    char *e;
    long v;

    errno = 0;
    v = strtol(*s, &e, 10);
    if (e == *s || errno)
        return vsim_fail(VSIM_EFORMAT, "%s:%d: bad face index", path, line);
    while (*e && *e != ' ' && *e != '\t' && *e != '\r' && *e != '\n')
        e++;                                  /* skip /texture/normal */
    *s = e;
    if (v < 0)
        v += (long)n_verts + 1;
    if (v < 1 || (size_t)v > n_verts)
        return vsim_fail(VSIM_EFORMAT, "%s:%d: face index %ld out of range (1..%zu vertices "
                         "so far)", path, line, v, n_verts);
    *out = (uint32_t)(v - 1);
    return VSIM_OK;
}

static int parse_face(const char *path, int line, const char *s, vsim_mesh *m)
{
    uint32_t idx[MAX_POLY];
    int n = 0, rc = VSIM_OK;

    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\r')
            s++;
        if (!*s || *s == '\n' || *s == '#')
            break;
        if (n == MAX_POLY)
            return vsim_fail(VSIM_EFORMAT, "%s:%d: face with more than %d vertices", path, line,
                             MAX_POLY);
        rc = parse_index(path, line, &s, m->n_verts, &idx[n++]);
        if (rc)
            return rc;
    }
    if (n < 3)
        return vsim_fail(VSIM_EFORMAT, "%s:%d: face with %d vertices, want at least 3", path,
                         line, n);
    for (int k = 1; k + 1 < n && !rc; k++)
        rc = vsim_mesh_add_tri(m, idx[0], idx[k], idx[k + 1]);
    return rc;
}

int vsim_obj_read(const char *path, vsim_mesh *out)
{
    vsim_buf b = VSIM_BUF_INIT;
    int rc = vsim_fs_read_file(path, &b), line = 0;
    char *s = b.buf;

    vsim_mesh_clear(out);
    while (!rc && *s) {
        char *nl = strchr(s, '\n');

        if (nl)
            *nl = '\0';
        line++;
        while (*s == ' ' || *s == '\t')
            s++;
        if (s[0] == 'v' && (s[1] == ' ' || s[1] == '\t'))
            rc = parse_vertex(path, line, s + 2, out);
        else if (s[0] == 'f' && (s[1] == ' ' || s[1] == '\t'))
            rc = parse_face(path, line, s + 2, out);
        if (!nl)
            break;
        s = nl + 1;
    }
    vsim_buf_release(&b);
    if (!rc && out->n_tris == 0)
        rc = vsim_fail(VSIM_EFORMAT, "%s: empty mesh: no faces", path);
    if (rc)
        vsim_mesh_clear(out);
    return rc;
}

int vsim_obj_write(const char *path, const vsim_mesh *m)
{
    vsim_buf b = VSIM_BUF_INIT;
    int rc = vsim_buf_addf(&b, "# vsim mesh: %zu vertices, %zu triangles\n", m->n_verts,
                           m->n_tris);

    for (size_t i = 0; i < m->n_verts && !rc; i++)
        rc = vsim_buf_addf(&b, "v %.9g %.9g %.9g\n", (double)m->v[3 * i],
                           (double)m->v[3 * i + 1], (double)m->v[3 * i + 2]);
    for (size_t t = 0; t < m->n_tris && !rc; t++)
        rc = vsim_buf_addf(&b, "f %u %u %u\n", m->tri[3 * t] + 1, m->tri[3 * t + 1] + 1,
                           m->tri[3 * t + 2] + 1);
    if (rc)
        rc = vsim_fail(VSIM_ENOMEM, "%s: out of memory formatting OBJ", path);
    else
        rc = vsim_fs_write_atomic(path, b.buf, b.len, 0);
    vsim_buf_release(&b);
    return rc;
}
