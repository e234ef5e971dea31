/*
 * core/omp.h - OpenMP shim so that `make OPENMP=0` builds (ggml's GGML_USE_OPENMP).
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_CORE_OMP_H
#define VSIM_CORE_OMP_H

#ifdef _OPENMP
#include <omp.h>
static inline int vsim_omp_thread_num(void) { return omp_get_thread_num(); }
static inline int vsim_omp_max_threads(void) { return omp_get_max_threads(); }
static inline int vsim_omp_num_threads(void) { return omp_get_num_threads(); }
#else
static inline int vsim_omp_thread_num(void) { return 0; }
static inline int vsim_omp_max_threads(void) { return 1; }
static inline int vsim_omp_num_threads(void) { return 1; }
#endif

/* Resolve a params n_threads (0 = OpenMP default) to a positive count. */
static inline int vsim_omp_resolve(int n_threads)
{
#ifdef _OPENMP
    return n_threads > 0 ? n_threads : omp_get_max_threads();
#else
    (void)n_threads;
    return 1;
#endif
}

#endif
