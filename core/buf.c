/*
 * core/buf.c - string builder (see core/buf.h).
 * SPDX-License-Identifier: MIT
 */
#include "core/buf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"

char vsim_buf_empty[1];

void vsim_buf_init(vsim_buf *b)
{
    b->buf = vsim_buf_empty;
    b->len = 0;
    b->alloc = 0;
}

void vsim_buf_release(vsim_buf *b)
{
    if (b->alloc)
        vsim_free(b->buf);
    vsim_buf_init(b);
}

void vsim_buf_reset(vsim_buf *b)
{
    b->len = 0;
    if (b->alloc)
        b->buf[0] = '\0';
}

int vsim_buf_grow(vsim_buf *b, size_t extra_bytes)
{
    size_t need = b->len + extra_bytes + 1;
    size_t cap;
    char *p;

    if (need < b->len)
        return vsim_fail(VSIM_ENOMEM, "string too long");
    if (need <= b->alloc)
        return VSIM_OK;
    cap = b->alloc ? b->alloc : 64;
    while (cap < need)
        cap = cap * 3 / 2 + 16;
    p = vsim_realloc(b->alloc ? b->buf : NULL, cap);
    if (!p)
        return vsim_fail(VSIM_ENOMEM, "out of memory growing a string to %zu bytes", cap);
    if (!b->alloc)
        p[0] = '\0';
    b->buf = p;
    b->alloc = cap;
    return VSIM_OK;
}

int vsim_buf_add(vsim_buf *b, const void *data, size_t n_bytes)
{
    int rc = vsim_buf_grow(b, n_bytes);

    if (rc)
        return rc;
    memcpy(b->buf + b->len, data, n_bytes);
    b->len += n_bytes;
    b->buf[b->len] = '\0';
    return VSIM_OK;
}

int vsim_buf_adds(vsim_buf *b, const char *s)
{
    return vsim_buf_add(b, s, strlen(s));
}

int vsim_buf_addch(vsim_buf *b, char c)
{
    return vsim_buf_add(b, &c, 1);
}

int vsim_buf_addf(vsim_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    int rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return vsim_fail(VSIM_EINVAL, "bad format string");
    rc = vsim_buf_grow(b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return VSIM_OK;
}

int vsim_buf_add_json_str(vsim_buf *b, const char *s)
{
    int rc = vsim_buf_addch(b, '"');

    for (; !rc && *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            rc = vsim_buf_addf(b, "\\%c", c);
        else if (c == '\n')
            rc = vsim_buf_adds(b, "\\n");
        else if (c == '\t')
            rc = vsim_buf_adds(b, "\\t");
        else if (c == '\r')
            rc = vsim_buf_adds(b, "\\r");
        else if (c < 0x20)
            rc = vsim_buf_addf(b, "\\u%04x", c);
        else
            rc = vsim_buf_addch(b, (char)c);
    }
    return rc ? rc : vsim_buf_addch(b, '"');
}

int vsim_buf_add_json_num(vsim_buf *b, double v)
{
    if (!isfinite(v))
        return vsim_buf_adds(b, "null");
    return vsim_buf_addf(b, "%.17g", v);
}

char *vsim_buf_detach(vsim_buf *b, size_t *len)
{
    char *s = b->buf;

    if (!b->alloc) {
        s = vsim_malloc(1);
        if (!s)
            return NULL;
        s[0] = '\0';
    }
    if (len)
        *len = b->len;
    vsim_buf_init(b);
    return s;
}

int vsim_list_has(const char *list, const char *item, size_t len)
{
    while (*list) {
        size_t l = strcspn(list, ",");

        if (l == len && !strncmp(list, item, len))
            return 1;
        list += l + (list[l] == ',');
    }
    return 0;
}
