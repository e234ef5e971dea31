/*
 * analyze/pca.h - principal component projection of a float matrix: the
 * covariance by BLAS dsyrk over row blocks, the leading eigenvectors by LAPACK
 * dsyevr (OpenBLAS), the projection by dgemm. Used by t-SNE (issue 7).
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_ANALYZE_PCA_H
#define VSIM_ANALYZE_PCA_H

#include <stddef.h>

#include "core/vsim.h"

/*
 * Project x (n_points x dim, row-major) onto its n_comp leading principal
 * components after centring (no scaling, as scikit-learn's PCA), writing out
 * (n_points x n_comp floats; may not alias x). Each component's sign makes
 * its largest loading positive (scikit-learn's svd_flip), so the result is
 * deterministic. var (may be NULL) gets the n_comp variances (ddof = 1).
 * 1 <= n_comp <= dim, n_points >= 2. VSIM_ENOMEM, or VSIM_ENUMERIC if the
 * eigensolver fails. Thread-safe; BLAS may use its own threads.
 */
int vsim_pca_project(const float *x, size_t n_points, size_t dim, size_t n_comp, float *out,
                     double *var);

#endif
