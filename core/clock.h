/*
 * core/clock.h - monotonic seconds, for timings and progress (ETA, rates).
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_CORE_CLOCK_H
#define VSIM_CORE_CLOCK_H

#include <time.h>

/* Seconds on CLOCK_MONOTONIC (an arbitrary origin: use differences). */
static inline double vsim_clock_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
