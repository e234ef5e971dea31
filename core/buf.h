/*
 * core/buf.h - growable string builder with git strbuf's invariants: buf is
 * never NULL and always NUL-terminated; vsim_buf_detach hands the memory over.
 * Appending functions return VSIM_OK or VSIM_ENOMEM (the buffer is unchanged then).
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_CORE_BUF_H
#define VSIM_CORE_BUF_H

#include <stddef.h>

#include "core/vsim.h"

typedef struct vsim_buf {
    char *buf;          /* never NULL; NUL-terminated */
    size_t len;         /* bytes used, excluding the NUL */
    size_t alloc;       /* bytes allocated; 0 while buf points at the shared empty string */
} vsim_buf;

extern char vsim_buf_empty[];
#define VSIM_BUF_INIT { vsim_buf_empty, 0, 0 }

void vsim_buf_init(vsim_buf *b);
void vsim_buf_release(vsim_buf *b);       /* free and re-initialise */
void vsim_buf_reset(vsim_buf *b);         /* length 0, memory kept */
int vsim_buf_grow(vsim_buf *b, size_t extra_bytes);
int vsim_buf_add(vsim_buf *b, const void *data, size_t n_bytes);
int vsim_buf_adds(vsim_buf *b, const char *s);
int vsim_buf_addch(vsim_buf *b, char c);
int vsim_buf_addf(vsim_buf *b, const char *fmt, ...) VSIM_PRINTF(2, 3);
/* Append s as a JSON string literal, quotes included. */
int vsim_buf_add_json_str(vsim_buf *b, const char *s);
/* Append a double as JSON (NaN and infinities become null). */
int vsim_buf_add_json_num(vsim_buf *b, double v);
/* Return the string (caller frees with vsim_free) and re-initialise b; NULL on ENOMEM. */
char *vsim_buf_detach(vsim_buf *b, size_t *len);

/* 1 if the comma-separated list holds the item item[0..len) ("a,b,c" holds "b"). */
int vsim_list_has(const char *list, const char *item, size_t len);

#endif
