/*
 * tests/vt.h - the tiny test harness (redis testhelp.h, GSL gsl_test_rel).
 * Each test binary ends with VT_REPORT(), printing "vt: NAME: N passed, M failed".
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_TESTS_VT_H
#define VSIM_TESTS_VT_H

#include <math.h>
#include <stdio.h>

static int vt_passed, vt_failed;

#define VT_CHECK(cond, name)                                                         \
    do {                                                                             \
        if (cond) {                                                                  \
            vt_passed++;                                                             \
        } else {                                                                     \
            vt_failed++;                                                             \
            fprintf(stderr, "FAIL %s:%d: %s (%s)\n", __FILE__, __LINE__, name, #cond); \
        }                                                                            \
    } while (0)

/* Relative (or, near zero, absolute) closeness; NaN equals NaN, inf equals inf. */
static inline int vt_near(double got, double want, double rel)
{
    if (isnan(want))
        return isnan(got);
    if (isinf(want))
        return got == want;
    return fabs(got - want) <= rel * fmax(1.0, fabs(want));
}

#define VT_NEAR(got, want, rel, name)                                                \
    do {                                                                             \
        double vt_g_ = (double)(got), vt_w_ = (double)(want);                        \
        if (vt_near(vt_g_, vt_w_, (rel))) {                                          \
            vt_passed++;                                                             \
        } else {                                                                     \
            vt_failed++;                                                             \
            fprintf(stderr, "FAIL %s:%d: %s: got %.17g want %.17g\n", __FILE__,      \
                    __LINE__, name, vt_g_, vt_w_);                                   \
        }                                                                            \
    } while (0)

#define VT_REPORT(suite)                                                             \
    (printf("vt: %s: %d passed, %d failed\n", (suite), vt_passed, vt_failed),        \
     vt_failed ? 1 : 0)

#endif
