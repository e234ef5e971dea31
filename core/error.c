/*
 * core/error.c - per-thread error messages (sqlite's errmsg contract made
 * per-thread, git's `return error(...)` idiom).
 * SPDX-License-Identifier: MIT
 */
#include "core/vsim.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERRMSG_BYTES 1024

static _Thread_local char errmsg[ERRMSG_BYTES];
static _Thread_local int errstatus;

const char *vsim_strstatus(int status)
{
    switch (status) {
    case VSIM_OK: return "ok";
    case VSIM_EINVAL: return "invalid argument";
    case VSIM_ENOMEM: return "out of memory";
    case VSIM_EIO: return "I/O error";
    case VSIM_EFORMAT: return "bad file format";
    case VSIM_ENOTFOUND: return "not found";
    case VSIM_ERANGE: return "out of range";
    case VSIM_ENUMERIC: return "numerical failure";
    case VSIM_EDEVICE: return "device error";
    case VSIM_EUNSUP: return "not supported";
    default: return "unknown status";
    }
}

int vsim_fail(int status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
    va_end(ap);
    errstatus = status;
    return status;
}

int vsim_errctx(const char *fmt, ...)
{
    char prefix[ERRMSG_BYTES];
    char old[ERRMSG_BYTES];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, errmsg, sizeof(old));
    snprintf(errmsg, sizeof(errmsg), "%.500s: %.500s", prefix,
             old[0] ? old : vsim_strstatus(errstatus));
    return errstatus;
}

const char *vsim_errmsg(void)
{
    if (!errmsg[0])
        return vsim_strstatus(errstatus);
    return errmsg;
}

int vsim_errstatus(void)
{
    return errstatus;
}

void vsim_errclear(void)
{
    errmsg[0] = '\0';
    errstatus = VSIM_OK;
}

void vsim_assert_fail(const char *file, int line, const char *expr)
{
    fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, expr);
    abort();
}
