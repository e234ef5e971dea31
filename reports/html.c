/*
 * reports/html.c - HTML escaping, JSON for <script> blocks, base64 (reports/html.h).
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reports/html.h"

int vsim_html_text(vsim_buf *out, const char *s)
{
    int rc = VSIM_OK;

    for (const char *p = s; !rc && *p; p++) {
        size_t run = strcspn(p, "&<>\"'");

        if (run) {
            rc = vsim_buf_add(out, p, run);
            p += run;
            if (!*p)
                break;
        }
        if (rc)
            break;
        switch (*p) {
        case '&': rc = vsim_buf_adds(out, "&amp;"); break;
        case '<': rc = vsim_buf_adds(out, "&lt;"); break;
        case '>': rc = vsim_buf_adds(out, "&gt;"); break;
        case '"': rc = vsim_buf_adds(out, "&quot;"); break;
        default: rc = vsim_buf_adds(out, "&#39;"); break;
        }
    }
    return rc;
}

int vsim_html_json(vsim_buf *out, const json_t *v, int digits)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER |
                                JSON_ENCODE_ANY | JSON_REAL_PRECISION(digits > 0 ? digits : 17));
    int rc = VSIM_OK;

    if (!s)
        return vsim_fail(VSIM_EINVAL, "cannot encode the report's data as JSON "
                                      "(out of memory or a non-finite number)");
    /* JSON_ENSURE_ASCII already writes U+2028/U+2029 as \u escapes. */
    for (const char *p = s; !rc && *p; p++) {
        size_t run = strcspn(p, "<>&");

        if (run)
            rc = vsim_buf_add(out, p, run);
        p += run;
        if (rc || !*p)
            break;
        rc = vsim_buf_adds(out, *p == '<' ? "\\u003c" : *p == '>' ? "\\u003e" : "\\u0026");
    }
    free(s);
    return rc;
}

int vsim_html_base64(vsim_buf *out, const void *data, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = data;
    size_t i;
    int rc = vsim_buf_grow(out, (n + 2) / 3 * 4 + 1);

    for (i = 0; !rc && i + 3 <= n; i += 3) {
        char q[4] = { tab[p[i] >> 2], tab[(p[i] & 3) << 4 | p[i + 1] >> 4],
                      tab[(p[i + 1] & 15) << 2 | p[i + 2] >> 6], tab[p[i + 2] & 63] };

        rc = vsim_buf_add(out, q, 4);
    }
    if (!rc && n - i == 1) {
        char q[4] = { tab[p[i] >> 2], tab[(p[i] & 3) << 4], '=', '=' };

        rc = vsim_buf_add(out, q, 4);
    } else if (!rc && n - i == 2) {
        char q[4] = { tab[p[i] >> 2], tab[(p[i] & 3) << 4 | p[i + 1] >> 4],
                      tab[(p[i + 1] & 15) << 2], '=' };

        rc = vsim_buf_add(out, q, 4);
    }
    return rc;
}

json_t *vsim_json_num(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}
