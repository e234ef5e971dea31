/*
 * core/vsim.h - status codes, version, assertions and the error contract shared
 * by every vsim module (docs/architecture.md "Errors").
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_CORE_VSIM_H
#define VSIM_CORE_VSIM_H

#include <stddef.h>
#include <stdint.h>

#define VSIM_VERSION "0.1.0"

enum vsim_status {
    VSIM_OK = 0,
    VSIM_EINVAL = -1,     /* bad argument or bad user input */
    VSIM_ENOMEM = -2,     /* allocation failed */
    VSIM_EIO = -3,        /* operating-system or HDF5 I/O failure */
    VSIM_EFORMAT = -4,    /* a file does not have the expected layout */
    VSIM_ENOTFOUND = -5,  /* a named thing does not exist */
    VSIM_ERANGE = -6,     /* a value is out of its allowed range */
    VSIM_ENUMERIC = -7,   /* NaN/Inf or divergence */
    VSIM_EDEVICE = -8,    /* accelerator failure */
    VSIM_EUNSUP = -9      /* feature compiled out or not supported */
};

#if defined(__GNUC__)
#define VSIM_INTERNAL __attribute__((visibility("hidden")))
#define VSIM_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define VSIM_INTERNAL
#define VSIM_PRINTF(a, b)
#endif

/* Name of a status code, e.g. "I/O error". Never NULL. */
const char *vsim_strstatus(int status);

/*
 * Record a formatted message for the calling thread and return status, so a
 * failure is one line: return vsim_fail(VSIM_EFORMAT, "%s: ...", path).
 */
int vsim_fail(int status, const char *fmt, ...) VSIM_PRINTF(2, 3);

/*
 * Prefix context to the calling thread's message ("ctx: old message") and
 * return the last status recorded by vsim_fail.
 */
int vsim_errctx(const char *fmt, ...) VSIM_PRINTF(1, 2);

/* The calling thread's last message; valid until its next failing call. */
const char *vsim_errmsg(void);

/* The status of the calling thread's last vsim_fail, VSIM_OK if none. */
int vsim_errstatus(void);

/* Forget the calling thread's message. */
void vsim_errclear(void);

/* Print "file:line: assertion failed: expr" on stderr and abort. */
void vsim_assert_fail(const char *file, int line, const char *expr);

#define VSIM_ASSERT(c) ((c) ? (void)0 : vsim_assert_fail(__FILE__, __LINE__, #c))
#ifdef VSIM_DEBUG
#define VSIM_DEBUG_ASSERT(c) VSIM_ASSERT(c)
#else
#define VSIM_DEBUG_ASSERT(c) ((void)0)
#endif

#define VSIM_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
