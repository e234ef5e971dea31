/*
 * reports/html.h - writing HTML safely: escaping for text and attributes, JSON
 * embedded in <script type="application/json"> blocks (jansson values dumped and
 * made safe for the HTML parser), base64 for inline images and typed arrays.
 * Every string that comes from a run passes through one of these (issue 20).
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_REPORTS_HTML_H
#define VSIM_REPORTS_HTML_H

#include <jansson.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/vsim.h"

/* Append s as HTML text or a double-quoted attribute value: & < > " ' escaped. */
int vsim_html_text(vsim_buf *out, const char *s);

/*
 * Append the JSON of v (compact, keys in insertion order, NaN/Inf must not occur:
 * jansson refuses them) with '<', '>' and '&' written as \u003c, \u003e, \u0026 and
 * U+2028/U+2029 escaped, so that no string inside can close the <script> element
 * or open a comment. JSON.parse reads it back unchanged. digits: significant
 * digits of reals (1..17; 0: 17, exact). VSIM_ENOMEM, VSIM_EINVAL.
 */
int vsim_html_json(vsim_buf *out, const json_t *v, int digits);

/* Append the standard base64 (RFC 4648, padded) of n bytes. */
int vsim_html_base64(vsim_buf *out, const void *data, size_t n);

/* A number for JSON: a real, or null when x is NaN or infinite (a new reference). */
json_t *vsim_json_num(double x);

#endif
