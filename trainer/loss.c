/*
 * trainer/loss.c - MSE and SSIM losses with analytic gradients. SSIM per
 * image, in double: separable valid Gaussian filtering of x, y, x^2, y^2, xy;
 * the SSIM map; then, for the gradient, the map's partial derivatives with
 * respect to mu_x, E[x^2] and E[xy] pushed back through the adjoint ("full")
 * filter: dS/dx = G^T a + 2x G^T b + y G^T c.
 * SPDX-License-Identifier: MIT
 */
#include "trainer/loss.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/omp.h"

#ifndef _OPENMP
/* make OPENMP=0: the pragmas below are meant to be skipped */
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#endif
#include "core/vsim.h"

#define WIN VSIM_SSIM_WIN
#define RADIUS (WIN / 2)
#define SSIM_C1 (0.01 * 0.01)
#define SSIM_C2 (0.03 * 0.03)

static int parse_term(const char *s, size_t len, vsim_loss_spec *spec)
{
    double wgt = 1.0;
    const char *star = memchr(s, '*', len);
    size_t name_len = len;
    const char *name = s;

    if (star) {
        char num[32], *end;
        size_t n_num = (size_t)(star - s);

        if (n_num == 0 || n_num >= sizeof(num))
            return -1;
        memcpy(num, s, n_num);
        num[n_num] = '\0';
        wgt = strtod(num, &end);
        if (*end || !(wgt >= 0.0) || !isfinite(wgt))
            return -1;
        name = star + 1;
        name_len = len - n_num - 1;
    }
    if (name_len == 2 && !strncmp(name, "l2", 2))
        spec->w_l2 += wgt;
    else if (name_len == 4 && !strncmp(name, "ssim", 4))
        spec->w_ssim += wgt;
    else
        return -1;
    return 0;
}

int vsim_loss_parse(const char *text, vsim_loss_spec *out)
{
    vsim_loss_spec spec = { 0.0, 0.0 };
    const char *p = text;

    if (!text || !*text)
        return vsim_fail(VSIM_EINVAL, "empty loss (want l2, ssim, l2+ssim or A*l2+B*ssim)");
    if (!strcmp(text, "l2+ssim") || !strcmp(text, "ssim+l2")) {
        out->w_l2 = 0.5;
        out->w_ssim = 0.5;
        return VSIM_OK;
    }
    for (;;) {
        const char *plus = strchr(p, '+');
        size_t len = plus ? (size_t)(plus - p) : strlen(p);

        if (parse_term(p, len, &spec))
            return vsim_fail(VSIM_EINVAL,
                             "unknown loss '%s' (want l2, ssim, l2+ssim or A*l2+B*ssim)", text);
        if (!plus)
            break;
        p = plus + 1;
    }
    if (spec.w_l2 + spec.w_ssim <= 0.0)
        return vsim_fail(VSIM_EINVAL, "loss '%s' has no positive weight", text);
    *out = spec;
    return VSIM_OK;
}

void vsim_loss_ssim_window(double g[WIN])
{
    double s = 0.0;

    for (int i = 0; i < WIN; i++) {
        double d = (double)(i - RADIUS);

        g[i] = exp(-0.5 * d * d / (1.5 * 1.5));
        s += g[i];
    }
    for (int i = 0; i < WIN; i++)
        g[i] /= s;
}

/* Doubles of scratch one image needs. */
static size_t ssim_scratch_elems(int h, int w)
{
    size_t hv = (size_t)(h - RADIUS * 2), wv = (size_t)(w - RADIUS * 2);

    return 5 * (size_t)h * wv + 8 * hv * wv + 3 * (size_t)h * wv;
}

/* Five horizontally and then vertically filtered maps of x, y, xx, yy, xy. */
static void filter_moments(const float *x, const float *y, int h, int w, const double *g,
                           double *hor, double *mom)
{
    const int wv = w - 2 * RADIUS, hv = h - 2 * RADIUS;
    const size_t nh = (size_t)h * wv, nm = (size_t)hv * wv;

    for (int r = 0; r < h; r++) {
        const float *xr = x + (size_t)r * w, *yr = y + (size_t)r * w;

        for (int c = 0; c < wv; c++) {
            double s[5] = { 0, 0, 0, 0, 0 };

            for (int k = 0; k < WIN; k++) {
                double a = (double)xr[c + k], b = (double)yr[c + k];

                s[0] += g[k] * a;
                s[1] += g[k] * b;
                s[2] += g[k] * a * a;
                s[3] += g[k] * b * b;
                s[4] += g[k] * a * b;
            }
            for (int m = 0; m < 5; m++)
                hor[m * nh + (size_t)r * wv + c] = s[m];
        }
    }
    for (int m = 0; m < 5; m++)
        for (int r = 0; r < hv; r++)
            for (int c = 0; c < wv; c++) {
                double s = 0.0;

                for (int k = 0; k < WIN; k++)
                    s += g[k] * hor[m * nh + (size_t)(r + k) * wv + c];
                mom[m * nm + (size_t)r * wv + c] = s;
            }
}

/*
 * SSIM of one image; with d (3 maps) not NULL, also the partial derivatives
 * of the map's sum with respect to mu_x, E[x^2] and E[xy] at each window.
 */
static double ssim_map(const double *mom, size_t nm, double *d)
{
    double sum = 0.0;

    for (size_t i = 0; i < nm; i++) {
        double ux = mom[i], uy = mom[nm + i];
        double vx = mom[2 * nm + i] - ux * ux, vy = mom[3 * nm + i] - uy * uy;
        double vxy = mom[4 * nm + i] - ux * uy;
        double a1 = 2.0 * ux * uy + SSIM_C1, a2 = 2.0 * vxy + SSIM_C2;
        double b1 = ux * ux + uy * uy + SSIM_C1, b2 = vx + vy + SSIM_C2;
        double s = (a1 * a2) / (b1 * b2);

        sum += s;
        if (d) {
            d[i] = (2.0 * uy * a2 - 2.0 * uy * a1) / (b1 * b2)
                   - s * (2.0 * ux / b1 - 2.0 * ux / b2);
            d[nm + i] = -s / b2;
            d[2 * nm + i] = 2.0 * a1 / (b1 * b2);
        }
    }
    return sum / (double)nm;
}

/* grad += coef * (G^T d0 + 2 x G^T d1 + y G^T d2), G^T the adjoint valid filter. */
static void ssim_backprop(const float *x, const float *y, int h, int w, const double *g,
                          const double *d, double *tmp, double coef, float *grad)
{
    const int wv = w - 2 * RADIUS, hv = h - 2 * RADIUS;
    const size_t nh = (size_t)h * wv, nm = (size_t)hv * wv;

    for (int m = 0; m < 3; m++)
        for (int r = 0; r < h; r++)
            for (int c = 0; c < wv; c++) {
                double s = 0.0;
                int k0 = r - hv + 1 > 0 ? r - hv + 1 : 0, k1 = r < WIN - 1 ? r : WIN - 1;

                for (int k = k0; k <= k1; k++)
                    s += g[k] * d[m * nm + (size_t)(r - k) * wv + c];
                tmp[m * nh + (size_t)r * wv + c] = s;
            }
    for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++) {
            double s[3] = { 0, 0, 0 };
            int k0 = c - wv + 1 > 0 ? c - wv + 1 : 0, k1 = c < WIN - 1 ? c : WIN - 1;
            size_t q = (size_t)r * w + c;

            for (int k = k0; k <= k1; k++)
                for (int m = 0; m < 3; m++)
                    s[m] += g[k] * tmp[m * nh + (size_t)r * wv + (c - k)];
            grad[q] += (float)(coef * (s[0] + 2.0 * (double)x[q] * s[1] + (double)y[q] * s[2]));
        }
}

int vsim_loss_ssim(const float *pred, const float *target, int b, int h, int w, double *ssim,
                   float *grad, double scale, int n_threads)
{
    const int nt = vsim_omp_resolve(n_threads);
    const size_t per = ssim_scratch_elems(h, w);
    const size_t n_pix = (size_t)h * (size_t)w;
    const size_t nh = (size_t)h * (size_t)(w - 2 * RADIUS);
    const size_t nm = (size_t)(h - 2 * RADIUS) * (size_t)(w - 2 * RADIUS);
    double g[WIN], *work;

    if (h < WIN || w < WIN)
        return vsim_fail(VSIM_EINVAL, "SSIM needs images of at least 11x11, got %dx%d", h, w);
    work = vsim_mallocarray((size_t)nt * per, sizeof(double));
    if (!work)
        return vsim_fail(VSIM_ENOMEM, "SSIM scratch: out of memory");
    vsim_loss_ssim_window(g);
    (void)nt;   /* unused when OPENMP=0 */
#pragma omp parallel for schedule(static) num_threads(nt) default(none) \
    shared(pred, target, ssim, grad, work, g) firstprivate(b, h, w, per, n_pix, nh, nm, scale)
    for (int i = 0; i < b; i++) {
        double *hor = work + (size_t)vsim_omp_thread_num() * per;
        double *mom = hor + 5 * nh, *d = mom + 5 * nm, *tmp = d + 3 * nm;
        const float *x = pred + (size_t)i * n_pix, *y = target + (size_t)i * n_pix;

        filter_moments(x, y, h, w, g, hor, mom);
        ssim[i] = ssim_map(mom, nm, grad ? d : NULL);
        if (grad)
            ssim_backprop(x, y, h, w, g, d, tmp, -scale / (double)nm,
                          grad + (size_t)i * n_pix);
    }
    vsim_free(work);
    return VSIM_OK;
}

double vsim_loss_mse(const float *pred, const float *target, size_t n, float *grad,
                     double scale, int n_threads)
{
    enum { BLOCK = 4096 };
    const int nt = vsim_omp_resolve(n_threads);
    const long n_blocks = (long)((n + BLOCK - 1) / BLOCK);
    const double gscale = 2.0 * scale / (double)(n ? n : 1);
    double total = 0.0, partial[64];
    long done = 0;

    /* fixed blocks, summed in order: the same value for any thread count */
    while (done < n_blocks) {
        long chunk = n_blocks - done < 64 ? n_blocks - done : 64;

        (void)nt;   /* unused when OPENMP=0 */
#pragma omp parallel for schedule(static) num_threads(nt) default(none) \
    shared(pred, target, grad, partial) firstprivate(n, done, chunk, gscale)
        for (long blk = 0; blk < chunk; blk++) {
            size_t lo = (size_t)(done + blk) * BLOCK, hi = lo + BLOCK < n ? lo + BLOCK : n;
            double s = 0.0;

            for (size_t i = lo; i < hi; i++) {
                double e = (double)pred[i] - (double)target[i];

                s += e * e;
                if (grad)
                    grad[i] += (float)(gscale * e);
            }
            partial[blk] = s;
        }
        for (long blk = 0; blk < chunk; blk++)
            total += partial[blk];
        done += chunk;
    }
    return n ? total / (double)n : 0.0;
}

int vsim_loss_eval(const vsim_loss_spec *spec, const float *pred, const float *target, int b,
                   int h, int w, float *grad, vsim_loss_value *out, int n_threads)
{
    const size_t n = (size_t)b * (size_t)h * (size_t)w;
    double *ssim = vsim_mallocarray((size_t)b, sizeof(double));
    double mse, mean_ssim = 0.0;
    int rc;

    if (!ssim)
        return vsim_fail(VSIM_ENOMEM, "loss: out of memory");
    if (grad)
        memset(grad, 0, n * sizeof(float));
    mse = vsim_loss_mse(pred, target, n, spec->w_l2 > 0.0 ? grad : NULL, spec->w_l2,
                        n_threads);
    if (spec->w_ssim <= 0.0 && (h < WIN || w < WIN)) {
        /* SSIM is only a metric here, and undefined on images this small */
        for (int i = 0; i < b; i++)
            ssim[i] = NAN;
        rc = VSIM_OK;
    } else {
        rc = vsim_loss_ssim(pred, target, b, h, w, ssim, spec->w_ssim > 0.0 ? grad : NULL,
                            spec->w_ssim / (double)b, n_threads);
    }
    if (rc) {
        vsim_free(ssim);
        return rc;
    }
    for (int i = 0; i < b; i++)
        mean_ssim += ssim[i];
    mean_ssim /= (double)b;
    vsim_free(ssim);
    out->mse = mse;
    out->ssim = mean_ssim;
    out->psnr = mse > 0.0 ? 10.0 * log10(1.0 / mse) : (double)INFINITY;
    /* an L2-only loss stays finite where SSIM is undefined (images under 11x11), as on CUDA */
    out->total = spec->w_l2 * mse + (spec->w_ssim > 0.0 ? spec->w_ssim * (1.0 - mean_ssim) : 0.0);
    return VSIM_OK;
}
