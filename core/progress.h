/*
 * core/progress.h - progress callback type the library calls for long jobs;
 * only cli/ prints it.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_CORE_PROGRESS_H
#define VSIM_CORE_PROGRESS_H

#include <stddef.h>

/*
 * Called with work done so far and the total (0 if unknown), and a short
 * message (may be NULL). Returning non-zero asks the job to stop early.
 */
typedef int (*vsim_progress_fn)(void *ctx, size_t done, size_t total, const char *msg);

#endif
