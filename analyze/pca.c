/*
 * analyze/pca.c - PCA by the covariance eigendecomposition: centred row blocks
 * converted to double and accumulated with dsyrk, the leading n_comp
 * eigenpairs from LAPACK dsyevr (range 'I'), the projection with dgemm.
 * Memory: one block of PCA_BLOCK rows in double plus the dim x dim covariance.
 * SPDX-License-Identifier: MIT
 */
#include "analyze/pca.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "core/mem.h"

#define PCA_BLOCK 2048

/* LAPACK from OpenBLAS (Fortran ABI with hidden string lengths; no LAPACKE header here). */
void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n, double *a,
             const int *lda, const double *vl, const double *vu, const int *il, const int *iu,
             const double *abstol, int *m, double *w, double *z, const int *ldz, int *isuppz,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info,
             size_t l_jobz, size_t l_range, size_t l_uplo);

static void column_means(const float *x, size_t n, size_t d, double *mean)
{
    memset(mean, 0, d * sizeof(*mean));
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            mean[j] += (double)x[i * d + j];
    for (size_t j = 0; j < d; j++)
        mean[j] /= (double)n;
}

static void centre_block(const float *x, size_t d, size_t n_rows, const double *mean,
                         double *blk)
{
    for (size_t i = 0; i < n_rows; i++)
        for (size_t j = 0; j < d; j++)
            blk[i * d + j] = (double)x[i * d + j] - mean[j];
}

/* Leading n_comp eigenvectors of the d x d symmetric cov into v (d x n_comp, row-major). */
static int top_eigvecs(double *cov, int d, int n_comp, double *v, double *var, double scale)
{
    int il = d - n_comp + 1, iu = d, m = 0, info = 0, lwork = -1, liwork = -1, iwq = 0;
    double vl = 0, vu = 0, abstol = 0, wq = 0;
    double *w = vsim_mallocarray((size_t)d, sizeof(*w));
    double *z = vsim_mallocarray((size_t)d * (size_t)n_comp, sizeof(*z));
    int *isuppz = vsim_mallocarray(2 * (size_t)n_comp, sizeof(*isuppz));
    double *work = NULL;
    int *iwork = NULL, status = VSIM_ENOMEM;

    if (!w || !z || !isuppz)
        goto done;
    dsyevr_("V", "I", "L", &d, cov, &d, &vl, &vu, &il, &iu, &abstol, &m, w, z, &d, isuppz, &wq,
            &lwork, &iwq, &liwork, &info, 1, 1, 1);
    lwork = (int)wq;
    liwork = iwq;
    work = vsim_mallocarray((size_t)lwork, sizeof(*work));
    iwork = vsim_mallocarray((size_t)liwork, sizeof(*iwork));
    if (!work || !iwork)
        goto done;
    dsyevr_("V", "I", "L", &d, cov, &d, &vl, &vu, &il, &iu, &abstol, &m, w, z, &d, isuppz, work,
            &lwork, iwork, &liwork, &info, 1, 1, 1);
    if (info != 0 || m != n_comp) {
        status = vsim_fail(VSIM_ENUMERIC, "PCA: dsyevr failed (info %d)", info);
        goto done;
    }
    for (int c = 0; c < n_comp; c++) {
        const double *zc = z + (size_t)(n_comp - 1 - c) * (size_t)d;  /* descending */
        double big = 0, sign = 1;

        for (int j = 0; j < d; j++)
            if (fabs(zc[j]) > big) {
                big = fabs(zc[j]);
                sign = zc[j] < 0 ? -1.0 : 1.0;
            }
        for (int j = 0; j < d; j++)
            v[(size_t)j * (size_t)n_comp + (size_t)c] = sign * zc[j];
        if (var)
            var[c] = w[n_comp - 1 - c] * scale;
    }
    status = VSIM_OK;
done:
    vsim_free(iwork);
    vsim_free(work);
    vsim_free(isuppz);
    vsim_free(z);
    vsim_free(w);
    return status;
}

int vsim_pca_project(const float *x, size_t n_points, size_t dim, size_t n_comp, float *out,
                     double *var)
{
    size_t blk_rows = n_points < PCA_BLOCK ? n_points : PCA_BLOCK;
    double *mean = vsim_mallocarray(dim, sizeof(*mean));
    double *cov = vsim_calloc(dim * dim, sizeof(*cov));
    double *v = vsim_mallocarray(dim * n_comp, sizeof(*v));
    double *blk = vsim_mallocarray(blk_rows * (dim > n_comp ? dim : n_comp), sizeof(*blk));
    double *proj = vsim_mallocarray(blk_rows * n_comp, sizeof(*proj));
    int status = VSIM_ENOMEM;

    VSIM_ASSERT(n_comp >= 1 && n_comp <= dim && n_points >= 2 && dim < 65536);
    if (!mean || !cov || !v || !blk || !proj) {
        status = vsim_fail(VSIM_ENOMEM, "PCA: out of memory (%zu x %zu)", n_points, dim);
        goto done;
    }
    column_means(x, n_points, dim, mean);
    for (size_t i0 = 0; i0 < n_points; i0 += blk_rows) {
        size_t nr = n_points - i0 < blk_rows ? n_points - i0 : blk_rows;

        centre_block(x + i0 * dim, dim, nr, mean, blk);
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)dim, (int)nr, 1.0, blk,
                    (int)dim, 1.0, cov, (int)dim);
    }
    status = top_eigvecs(cov, (int)dim, (int)n_comp, v, var, 1.0 / (double)(n_points - 1));
    if (status)
        goto done;
    for (size_t i0 = 0; i0 < n_points; i0 += blk_rows) {
        size_t nr = n_points - i0 < blk_rows ? n_points - i0 : blk_rows;

        centre_block(x + i0 * dim, dim, nr, mean, blk);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nr, (int)n_comp, (int)dim,
                    1.0, blk, (int)dim, v, (int)n_comp, 0.0, proj, (int)n_comp);
        for (size_t k = 0; k < nr * n_comp; k++)
            out[i0 * n_comp + k] = (float)proj[k];
    }
done:
    vsim_free(proj);
    vsim_free(blk);
    vsim_free(v);
    vsim_free(cov);
    vsim_free(mean);
    return status;
}
