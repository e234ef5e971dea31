/*
 * trainer/cuda.cu - the CUDA backend of vsim-train behind trainer/device.h: the
 * same layers, losses and Adam as the CPU path (trainer/layers.c, loss.c,
 * model.c) with cuBLAS for every matrix product (row-major products computed
 * as their column-major transposes) and kernels of our own for im2col, col2im
 * (gather form: one thread per pixel, no atomics), bias, activations, SSIM
 * and Adam. Reductions use a fixed grid and a fixed tree, so a run is
 * repeatable on one GPU. CUDA and cuBLAS errors become VSIM_EDEVICE here.
 * SPDX-License-Identifier: MIT
 */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "core/mem.h"
#include "core/vsim.h"
#include "trainer/device.h"
#include "trainer/loss.h"
}

#define THREADS 256
#define RED_BLOCKS 128          /* fixed grid of every reduction: repeatable sums */
#define WIN VSIM_SSIM_WIN
#define RADIUS (WIN / 2)

#define CU(call)                                                                            \
    do {                                                                                    \
        cudaError_t e_ = (call);                                                            \
        if (e_ != cudaSuccess)                                                              \
            return vsim_fail(VSIM_EDEVICE, "CUDA: %s: %s", #call, cudaGetErrorString(e_));  \
    } while (0)
#define CB(call)                                                                            \
    do {                                                                                    \
        cublasStatus_t s_ = (call);                                                         \
        if (s_ != CUBLAS_STATUS_SUCCESS)                                                    \
            return vsim_fail(VSIM_EDEVICE, "cuBLAS: %s: status %d", #call, (int)s_);        \
    } while (0)
#define LAUNCH_CHECK() CU(cudaGetLastError())

struct vsim_cuda {
    cublasHandle_t blas;
    int n_layers, side, cap;
    vsim_model_layer layers[VSIM_MODEL_MAX_LAYERS];
    size_t n_params;
    float *params, *grads, *adam_m, *adam_v;
    float *out[VSIM_MODEL_MAX_LAYERS], *tin[VSIM_MODEL_MAX_LAYERS];
    float *cols, *d_a, *d_b, *x;
    double *red;                /* reduction partials, device */
    double *h_red;              /* and their host copy */
    size_t n_red;
    double *ssim_work;          /* SSIM maps, device */
    int64_t adam_t;
    double grad_norm, update_ratio[VSIM_MODEL_MAX_LAYERS];
};

static unsigned grid_for(size_t n)
{
    size_t g = (n + THREADS - 1) / THREADS;

    return (unsigned)(g < 65535 ? (g ? g : 1) : 65535);
}

/* ---- element-wise kernels ------------------------------------------------------- */

__global__ void k_im2col(const float *x, int c, int b, int h, int w, float *cols)
{
    const int ho = h / 2, wo = w / 2;
    const size_t n_cols = (size_t)b * ho * wo, total = (size_t)c * 16 * n_cols;

    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        size_t row = i / n_cols, col = i % n_cols;
        int ci = (int)(row / 16), ky = (int)(row % 16) / 4, kx = (int)(row % 4);
        int ox = (int)(col % wo), oy = (int)((col / wo) % ho), bi = (int)(col / ((size_t)wo * ho));
        int iy = 2 * oy - 1 + ky, ix = 2 * ox - 1 + kx;

        cols[i] = (iy >= 0 && iy < h && ix >= 0 && ix < w)
                      ? x[(((size_t)ci * b + bi) * h + iy) * w + ix] : 0.0f;
    }
}

/* x[c][b][h][w] = sum of the column entries that im2col would have read from it */
__global__ void k_col2im(const float *cols, int c, int b, int h, int w, float *x)
{
    const int ho = h / 2, wo = w / 2;
    const size_t n_cols = (size_t)b * ho * wo, total = (size_t)c * b * h * w;

    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        int ix = (int)(i % w), iy = (int)((i / w) % h), bi = (int)((i / ((size_t)w * h)) % b);
        int ci = (int)(i / ((size_t)w * h * b));
        float s = 0.0f;

        for (int ky = (iy + 1) & 1; ky < 4; ky += 2) {
            int oy = (iy + 1 - ky) / 2;

            if (oy < 0 || oy >= ho)
                continue;
            for (int kx = (ix + 1) & 1; kx < 4; kx += 2) {
                int ox = (ix + 1 - kx) / 2;

                if (ox >= 0 && ox < wo)
                    s += cols[(size_t)(ci * 16 + ky * 4 + kx) * n_cols + (size_t)bi * ho * wo
                              + (size_t)oy * wo + ox];
            }
        }
        x[i] = s;
    }
}

__device__ float apply_act(float v, int act)
{
    if (act == VSIM_ACT_RELU)
        return fmaxf(v, 0.0f);
    if (act == VSIM_ACT_SIGMOID)
        return 1.0f / (1.0f + expf(-v));
    return v;
}

/* per_row: bias index = i / n (conv layout); otherwise i % n (fc layout) */
__global__ void k_bias_act(float *y, const float *bias, size_t total, size_t n, int per_row,
                           int act)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x)
        y[i] = apply_act(y[i] + bias[per_row ? i / n : i % n], act);
}

__global__ void k_act_backward(const float *y, float *dy, size_t n, int act)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        if (act == VSIM_ACT_RELU)
            dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
        else if (act == VSIM_ACT_SIGMOID)
            dy[i] *= y[i] * (1.0f - y[i]);
    }
}

/* to_rows: rows[b][c*p] from x[c][b][p]; otherwise the reverse */
__global__ void k_transpose(const float *src, int c, int b, int p, float *dst, int to_rows)
{
    const size_t total = (size_t)c * b * p;

    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        size_t q = i % p, ci = (i / p) % c, bi = i / ((size_t)p * c);
        size_t cnhw = (ci * b + bi) * p + q;

        if (to_rows)
            dst[i] = src[cnhw];
        else
            dst[cnhw] = src[i];
    }
}

/* ---- reductions (fixed tree) ---------------------------------------------------- */

__device__ double block_sum(double v)
{
    __shared__ double s[THREADS];

    s[threadIdx.x] = v;
    __syncthreads();
    for (int k = THREADS / 2; k > 0; k /= 2) {
        if ((int)threadIdx.x < k)
            s[threadIdx.x] += s[threadIdx.x + k];
        __syncthreads();
    }
    v = s[0];
    __syncthreads();
    return v;
}

/* out[r] = sum over n of a[r][n]; one block per row */
__global__ void k_sum_rows(const float *a, size_t n, float *out)
{
    const float *row = a + (size_t)blockIdx.x * n;
    double s = 0.0;

    for (size_t i = threadIdx.x; i < n; i += THREADS)
        s += row[i];
    s = block_sum(s);
    if (threadIdx.x == 0)
        out[blockIdx.x] = (float)s;
}

/* out[o] = sum over rows of a[r][o] (fc bias gradient) */
__global__ void k_sum_cols(const float *a, int rows, int n, float *out)
{
    for (int o = blockIdx.x * blockDim.x + threadIdx.x; o < n; o += gridDim.x * blockDim.x) {
        double s = 0.0;

        for (int r = 0; r < rows; r++)
            s += a[(size_t)r * n + o];
        out[o] = (float)s;
    }
}

/* partial[block] = sum of squares over a grid-strided share of a */
__global__ void k_sumsq(const float *a, size_t n, double *partial)
{
    double s = 0.0;

    for (size_t i = blockIdx.x * (size_t)THREADS + threadIdx.x; i < n;
         i += (size_t)RED_BLOCKS * THREADS)
        s += (double)a[i] * a[i];
    s = block_sum(s);
    if (threadIdx.x == 0)
        partial[blockIdx.x] = s;
}

/* MSE partials; grad += gscale * (p - t) when grad is not NULL */
__global__ void k_mse(const float *p, const float *t, size_t n, float *grad, double gscale,
                      double *partial)
{
    double s = 0.0;

    for (size_t i = blockIdx.x * (size_t)THREADS + threadIdx.x; i < n;
         i += (size_t)RED_BLOCKS * THREADS) {
        double e = (double)p[i] - t[i];

        s += e * e;
        if (grad)
            grad[i] += (float)(gscale * e);
    }
    s = block_sum(s);
    if (threadIdx.x == 0)
        partial[blockIdx.x] = s;
}

/* Adam on n parameters; partial[2 * block] = sum |update|^2, [2 * block + 1] = sum |w|^2 */
__global__ void k_adam(float *p, float *m, float *v, const float *g, size_t n, float b1,
                       float b2, float eps, float step, double *partial)
{
    double su = 0.0, sw = 0.0;

    for (size_t i = blockIdx.x * (size_t)THREADS + threadIdx.x; i < n;
         i += (size_t)RED_BLOCKS * THREADS) {
        float u;

        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        u = step * m[i] / (sqrtf(v[i]) + eps);
        p[i] -= u;
        su += (double)u * u;
        sw += (double)p[i] * p[i];
    }
    su = block_sum(su);
    sw = block_sum(sw);
    if (threadIdx.x == 0) {
        partial[2 * blockIdx.x] = su;
        partial[2 * blockIdx.x + 1] = sw;
    }
}

/* ---- SSIM (double maps; the CPU path's algorithm, trainer/loss.c) ---------------- */

__constant__ double c_gauss[WIN];

/* hor[m][img][r][c] for m = x, y, xx, yy, xy; c over the valid width */
__global__ void k_ssim_hor(const float *x, const float *y, int b, int h, int w, double *hor)
{
    const int wv = w - 2 * RADIUS;
    const size_t nh = (size_t)b * h * wv;

    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < nh;
         i += (size_t)gridDim.x * blockDim.x) {
        int c = (int)(i % wv);
        size_t row = i / wv;        /* img * h + r */
        const float *xr = x + row * w, *yr = y + row * w;
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0;

        for (int k = 0; k < WIN; k++) {
            double a = xr[c + k], bb = yr[c + k], g = c_gauss[k];

            s0 += g * a;
            s1 += g * bb;
            s2 += g * a * a;
            s3 += g * bb * bb;
            s4 += g * a * bb;
        }
        hor[i] = s0;
        hor[nh + i] = s1;
        hor[2 * nh + i] = s2;
        hor[3 * nh + i] = s3;
        hor[4 * nh + i] = s4;
    }
}

/* the SSIM map and, with d != NULL, its partials by mu_x, E[x^2], E[xy] */
__global__ void k_ssim_map(const double *hor, int b, int h, int w, double *smap, double *d)
{
    const int wv = w - 2 * RADIUS, hv = h - 2 * RADIUS;
    const size_t nh = (size_t)b * h * wv, nm = (size_t)b * hv * wv;
    const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;

    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < nm;
         i += (size_t)gridDim.x * blockDim.x) {
        int c = (int)(i % wv), r = (int)((i / wv) % hv);
        size_t img = i / ((size_t)wv * hv);
        double mo[5];

        for (int m = 0; m < 5; m++) {
            double s = 0.0;

            for (int k = 0; k < WIN; k++)
                s += c_gauss[k] * hor[m * nh + (img * h + r + k) * wv + c];
            mo[m] = s;
        }
        double ux = mo[0], uy = mo[1], vx = mo[2] - ux * ux, vy = mo[3] - uy * uy;
        double vxy = mo[4] - ux * uy;
        double a1 = 2 * ux * uy + c1, a2 = 2 * vxy + c2, b1 = ux * ux + uy * uy + c1;
        double b2 = vx + vy + c2, s = (a1 * a2) / (b1 * b2);

        smap[i] = s;
        if (d) {
            d[i] = (2 * uy * a2 - 2 * uy * a1) / (b1 * b2) - s * (2 * ux / b1 - 2 * ux / b2);
            d[nm + i] = -s / b2;
            d[2 * nm + i] = 2 * a1 / (b1 * b2);
        }
    }
}

/* ssim[img] = mean of its map; one block per image */
__global__ void k_ssim_mean(const double *smap, size_t per_img, double *ssim)
{
    const double *m = smap + blockIdx.x * per_img;
    double s = 0.0;

    for (size_t i = threadIdx.x; i < per_img; i += THREADS)
        s += m[i];
    s = block_sum(s);
    if (threadIdx.x == 0)
        ssim[blockIdx.x] = s / (double)per_img;
}

/* the adjoint of the vertical pass: tmp[m][img][r][c], r over the full height */
__global__ void k_ssim_back_ver(const double *d, int b, int h, int w, double *tmp)
{
    const int wv = w - 2 * RADIUS, hv = h - 2 * RADIUS;
    const size_t nh = (size_t)b * h * wv, nm = (size_t)b * hv * wv;

    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < nh;
         i += (size_t)gridDim.x * blockDim.x) {
        int c = (int)(i % wv), r = (int)((i / wv) % h);
        size_t img = i / ((size_t)wv * h);
        int k0 = r - hv + 1 > 0 ? r - hv + 1 : 0, k1 = r < WIN - 1 ? r : WIN - 1;

        for (int m = 0; m < 3; m++) {
            double s = 0.0;

            for (int k = k0; k <= k1; k++)
                s += c_gauss[k] * d[m * nm + (img * hv + (r - k)) * wv + c];
            tmp[m * nh + i] = s;
        }
    }
}

/* grad += coef * (G^T d0 + 2 x G^T d1 + y G^T d2) */
__global__ void k_ssim_back_hor(const double *tmp, const float *x, const float *y, int b, int h,
                                int w, double coef, float *grad)
{
    const int wv = w - 2 * RADIUS;
    const size_t nh = (size_t)b * h * wv, total = (size_t)b * h * w;

    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        int c = (int)(i % w);
        size_t row = i / w;
        int k0 = c - wv + 1 > 0 ? c - wv + 1 : 0, k1 = c < WIN - 1 ? c : WIN - 1;
        double s0 = 0, s1 = 0, s2 = 0;

        for (int k = k0; k <= k1; k++) {
            size_t q = row * wv + (c - k);

            s0 += c_gauss[k] * tmp[q];
            s1 += c_gauss[k] * tmp[nh + q];
            s2 += c_gauss[k] * tmp[2 * nh + q];
        }
        grad[i] += (float)(coef * (s0 + 2.0 * x[i] * s1 + (double)y[i] * s2));
    }
}

/* ---- host side ------------------------------------------------------------------ */

extern "C" int vsim_device_cuda_built(void)
{
    return 1;
}

extern "C" int vsim_device_check(vsim_device device)
{
    int n = 0;
    cudaError_t e;

    if (device == VSIM_DEVICE_CPU)
        return VSIM_OK;
    e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess)
        return vsim_fail(VSIM_EDEVICE, "no usable CUDA GPU: %s", cudaGetErrorString(e));
    if (n < 1)
        return vsim_fail(VSIM_EDEVICE, "no CUDA GPU found");
    return VSIM_OK;
}

/* row-major C[m][n] = op(A) op(B), as column-major C^T = op(B)^T op(A)^T */
static int gemm(vsim_cuda *g, int ta, int tb, int m, int n, int k, const float *a, int lda,
                const float *b, int ldb, float *c, int ldc)
{
    const float one = 1.0f, zero = 0.0f;

    CB(cublasSgemm(g->blas, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, n,
                   m, k, &one, b, ldb, a, lda, &zero, c, ldc));
    return VSIM_OK;
}

static size_t layer_elems(const vsim_model_layer *l)
{
    return (size_t)l->n_out * l->out_side * l->out_side;
}

static int alloc_all(vsim_cuda *g)
{
    size_t max_act = (size_t)g->side * g->side, max_cols = 1, cap = (size_t)g->cap;
    size_t hw = (size_t)g->side * (g->side > 2 * RADIUS ? g->side - 2 * RADIUS : 1);

    CU(cudaMalloc(&g->params, g->n_params * sizeof(float)));
    CU(cudaMalloc(&g->grads, g->n_params * sizeof(float)));
    CU(cudaMalloc(&g->adam_m, g->n_params * sizeof(float)));
    CU(cudaMalloc(&g->adam_v, g->n_params * sizeof(float)));
    CU(cudaMemset(g->adam_m, 0, g->n_params * sizeof(float)));
    CU(cudaMemset(g->adam_v, 0, g->n_params * sizeof(float)));
    for (int i = 0; i < g->n_layers; i++) {
        const vsim_model_layer *l = &g->layers[i];
        size_t cols = l->kind == VSIM_LAYER_CONV
                          ? (size_t)l->n_in * 16 * l->out_side * l->out_side
                          : l->kind == VSIM_LAYER_DECONV
                                ? (size_t)l->n_out * 16 * l->in_side * l->in_side : 0;

        max_act = layer_elems(l) > max_act ? layer_elems(l) : max_act;
        max_cols = cols > max_cols ? cols : max_cols;
        CU(cudaMalloc(&g->out[i], cap * layer_elems(l) * sizeof(float)));
        if (l->transpose_in)
            CU(cudaMalloc(&g->tin[i], cap * l->n_in * l->in_side * l->in_side * sizeof(float)));
    }
    CU(cudaMalloc(&g->cols, cap * max_cols * sizeof(float)));
    CU(cudaMalloc(&g->d_a, cap * max_act * sizeof(float)));
    CU(cudaMalloc(&g->d_b, cap * max_act * sizeof(float)));
    CU(cudaMalloc(&g->x, cap * (size_t)g->side * g->side * sizeof(float)));
    /* partials: Adam (2 per block per tensor), then grad norm, MSE, per-image SSIM */
    g->n_red = (size_t)(2 * g->n_layers) * 2 * RED_BLOCKS + 2 * RED_BLOCKS + cap;
    CU(cudaMalloc(&g->red, g->n_red * sizeof(double)));
    g->h_red = (double *)vsim_mallocarray(g->n_red, sizeof(double));
    if (!g->h_red)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    /* SSIM: 5 horizontal maps, the map, 3 partial maps, 3 adjoint maps */
    CU(cudaMalloc(&g->ssim_work, cap * hw * 12 * sizeof(double)));
    return VSIM_OK;
}

extern "C" void vsim_cuda_destroy(vsim_cuda *g)
{
    if (!g)
        return;
    cudaFree(g->params);
    cudaFree(g->grads);
    cudaFree(g->adam_m);
    cudaFree(g->adam_v);
    for (int i = 0; i < g->n_layers; i++) {
        cudaFree(g->out[i]);
        cudaFree(g->tin[i]);
    }
    cudaFree(g->cols);
    cudaFree(g->d_a);
    cudaFree(g->d_b);
    cudaFree(g->x);
    cudaFree(g->red);
    cudaFree(g->ssim_work);
    vsim_free(g->h_red);
    if (g->blas)
        cublasDestroy(g->blas);
    vsim_free(g);
}

extern "C" int vsim_cuda_create(const vsim_model *m, vsim_cuda **out)
{
    vsim_cuda *g;
    double gw[WIN];
    int rc;

    *out = NULL;
    if ((rc = vsim_device_check(VSIM_DEVICE_CUDA)) != VSIM_OK)
        return rc;
    g = (vsim_cuda *)vsim_calloc(1, sizeof(*g));
    if (!g)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    g->n_layers = m->n_layers;
    g->side = m->spec.input;
    g->cap = m->capacity;
    g->n_params = m->n_params;
    memcpy(g->layers, m->layers, sizeof(g->layers));
    vsim_loss_ssim_window(gw);
    if (cublasCreate(&g->blas) != CUBLAS_STATUS_SUCCESS) {
        vsim_free(g);
        return vsim_fail(VSIM_EDEVICE, "cuBLAS: cannot create a handle");
    }
    /* fp32 products by default, as the CPU path; VSIM_CUDA_TF32=1: faster, fewer digits */
    rc = VSIM_OK;
    if (getenv("VSIM_CUDA_TF32") && !strcmp(getenv("VSIM_CUDA_TF32"), "1") &&
        cublasSetMathMode(g->blas, CUBLAS_TF32_TENSOR_OP_MATH) != CUBLAS_STATUS_SUCCESS)
        rc = vsim_fail(VSIM_EDEVICE, "cuBLAS: cannot select TF32 products (VSIM_CUDA_TF32=1)");
    if (!rc)
        rc = alloc_all(g);
    if (!rc && cudaMemcpyToSymbol(c_gauss, gw, sizeof(gw)) != cudaSuccess)
        rc = vsim_fail(VSIM_EDEVICE, "CUDA: cannot set the SSIM window");
    if (!rc && cudaMemcpy(g->params, m->params, g->n_params * sizeof(float),
                          cudaMemcpyHostToDevice) != cudaSuccess)
        rc = vsim_fail(VSIM_EDEVICE, "CUDA: cannot upload the parameters");
    if (rc) {
        vsim_cuda_destroy(g);
        return rc;
    }
    *out = g;
    return VSIM_OK;
}

static int forward(vsim_cuda *g, int b)
{
    for (int i = 0; i < g->n_layers; i++) {
        const vsim_model_layer *l = &g->layers[i];
        const float *w = g->params + l->w_off, *bias = g->params + l->b_off;
        const float *in = i == 0 ? g->x : g->out[i - 1];
        size_t n_out = (size_t)b * layer_elems(l);
        int rc;

        if (l->transpose_in) {
            const vsim_model_layer *p = &g->layers[i - 1];
            int to_rows = l->kind == VSIM_LAYER_FC;
            int c = to_rows ? p->n_out : l->n_in;
            int px = to_rows ? p->out_side * p->out_side : l->in_side * l->in_side;

            k_transpose<<<grid_for((size_t)c * b * px), THREADS>>>(in, c, b, px, g->tin[i],
                                                                    to_rows);
            in = g->tin[i];
        }
        if (l->kind == VSIM_LAYER_CONV) {
            int k = l->n_in * 16, n = b * l->out_side * l->out_side;

            k_im2col<<<grid_for((size_t)k * n), THREADS>>>(in, l->n_in, b, l->in_side,
                                                           l->in_side, g->cols);
            rc = gemm(g, 0, 0, l->n_out, n, k, w, k, g->cols, n, g->out[i], n);
        } else if (l->kind == VSIM_LAYER_DECONV) {
            int k = l->n_out * 16, n = b * l->in_side * l->in_side;

            rc = gemm(g, 1, 0, k, n, l->n_in, w, k, in, n, g->cols, n);
            k_col2im<<<grid_for(n_out), THREADS>>>(g->cols, l->n_out, b, l->out_side,
                                                   l->out_side, g->out[i]);
        } else {
            rc = gemm(g, 0, 1, b, l->n_out, l->n_in, in, l->n_in, w, l->n_in, g->out[i],
                      l->n_out);
        }
        if (rc)
            return rc;
        k_bias_act<<<grid_for(n_out), THREADS>>>(g->out[i], bias, n_out,
                                                 l->kind == VSIM_LAYER_FC
                                                     ? (size_t)l->n_out
                                                     : (size_t)b * l->out_side * l->out_side,
                                                 l->kind != VSIM_LAYER_FC, l->act);
        LAUNCH_CHECK();
    }
    return VSIM_OK;
}

/* Loss of the last forward pass against g->x; grad (may be NULL) into g->d_a. */
static int loss_eval(vsim_cuda *g, const vsim_loss_spec *spec, int b, int want_grad,
                     vsim_loss_value *out)
{
    const int s = g->side;
    const size_t n = (size_t)b * s * s;
    const size_t mse_off = (size_t)(2 * g->n_layers) * 2 * RED_BLOCKS + RED_BLOCKS;
    const size_t ssim_off = mse_off + RED_BLOCKS;
    const float *y = g->out[g->n_layers - 1];
    int do_ssim = s >= WIN;
    double mse = 0.0, ssim = 0.0;

    if (want_grad)
        CU(cudaMemset(g->d_a, 0, n * sizeof(float)));
    k_mse<<<RED_BLOCKS, THREADS>>>(y, g->x, n, want_grad && spec->w_l2 > 0 ? g->d_a : NULL,
                                   2.0 * spec->w_l2 / (double)n, g->red + mse_off);
    if (do_ssim) {
        const int hv = s - 2 * RADIUS, wv = s - 2 * RADIUS;
        const size_t nh = (size_t)b * s * wv, nm = (size_t)b * hv * wv;
        double *hor = g->ssim_work, *smap = hor + 5 * nh, *d = smap + nm, *tmp = d + 3 * nm;
        int grad_ssim = want_grad && spec->w_ssim > 0.0;

        k_ssim_hor<<<grid_for(nh), THREADS>>>(y, g->x, b, s, s, hor);
        k_ssim_map<<<grid_for(nm), THREADS>>>(hor, b, s, s, smap, grad_ssim ? d : NULL);
        k_ssim_mean<<<b, THREADS>>>(smap, (size_t)hv * wv, g->red + ssim_off);
        if (grad_ssim) {
            k_ssim_back_ver<<<grid_for(nh), THREADS>>>(d, b, s, s, tmp);
            k_ssim_back_hor<<<grid_for(n), THREADS>>>(tmp, y, g->x, b, s, s,
                                                      -spec->w_ssim / b / (double)(hv * wv),
                                                      g->d_a);
        }
    }
    LAUNCH_CHECK();
    CU(cudaMemcpy(g->h_red + mse_off, g->red + mse_off,
                  (RED_BLOCKS + (size_t)b) * sizeof(double), cudaMemcpyDeviceToHost));
    for (int k = 0; k < RED_BLOCKS; k++)
        mse += g->h_red[mse_off + k];
    mse /= (double)n;
    for (int i = 0; i < b; i++)
        ssim += do_ssim ? g->h_red[ssim_off + i] : NAN;
    ssim /= b;
    out->mse = mse;
    out->ssim = ssim;
    out->psnr = mse > 0.0 ? 10.0 * log10(1.0 / mse) : (double)INFINITY;
    out->total = spec->w_l2 * mse + (spec->w_ssim > 0.0 ? spec->w_ssim * (1.0 - ssim) : 0.0);
    return VSIM_OK;
}

static int backward(vsim_cuda *g, int b)
{
    float *d = g->d_a, *spare = g->d_b;

    for (int i = g->n_layers - 1; i >= 0; i--) {
        const vsim_model_layer *l = &g->layers[i];
        const float *in = i == 0 ? g->x : l->transpose_in ? g->tin[i] : g->out[i - 1];
        const float *w = g->params + l->w_off;
        float *dw = g->grads + l->w_off, *db = g->grads + l->b_off, *dx = i ? spare : NULL;
        size_t n_out = (size_t)b * layer_elems(l);
        int rc = VSIM_OK;

        k_act_backward<<<grid_for(n_out), THREADS>>>(g->out[i], d, n_out, l->act);
        if (l->kind == VSIM_LAYER_FC) {
            rc = gemm(g, 1, 0, l->n_out, l->n_in, b, d, l->n_out, in, l->n_in, dw, l->n_in);
            k_sum_cols<<<grid_for((size_t)l->n_out), THREADS>>>(d, b, l->n_out, db);
            if (!rc && dx)
                rc = gemm(g, 0, 0, b, l->n_in, l->n_out, d, l->n_out, w, l->n_in, dx, l->n_in);
        } else if (l->kind == VSIM_LAYER_CONV) {
            int k = l->n_in * 16, n = b * l->out_side * l->out_side;

            k_im2col<<<grid_for((size_t)k * n), THREADS>>>(in, l->n_in, b, l->in_side,
                                                           l->in_side, g->cols);
            rc = gemm(g, 0, 1, l->n_out, k, n, d, n, g->cols, n, dw, k);
            k_sum_rows<<<l->n_out, THREADS>>>(d, (size_t)n, db);
            if (!rc && dx) {
                rc = gemm(g, 1, 0, k, n, l->n_out, w, k, d, n, g->cols, n);
                k_col2im<<<grid_for((size_t)b * l->n_in * l->in_side * l->in_side), THREADS>>>(
                    g->cols, l->n_in, b, l->in_side, l->in_side, dx);
            }
        } else {
            int k = l->n_out * 16, n = b * l->in_side * l->in_side;

            k_im2col<<<grid_for((size_t)k * n), THREADS>>>(d, l->n_out, b, l->out_side,
                                                           l->out_side, g->cols);
            rc = gemm(g, 0, 1, l->n_in, k, n, in, n, g->cols, n, dw, k);
            k_sum_rows<<<l->n_out, THREADS>>>(d, (size_t)b * l->out_side * l->out_side, db);
            if (!rc && dx)
                rc = gemm(g, 0, 0, l->n_in, n, k, w, k, g->cols, n, dx, n);
        }
        if (rc)
            return rc;
        LAUNCH_CHECK();
        if (!dx)
            break;
        if (l->transpose_in) {
            const vsim_model_layer *p = &g->layers[i - 1];
            int fc = l->kind == VSIM_LAYER_FC;
            int c = fc ? p->n_out : l->n_in;
            int px = fc ? p->out_side * p->out_side : l->in_side * l->in_side;

            /* fc: dx is [b][c*px] -> previous CNHW; deconv: dx is CNHW -> previous rows */
            k_transpose<<<grid_for((size_t)c * b * px), THREADS>>>(dx, c, b, px, d, !fc);
            LAUNCH_CHECK();
            continue;
        }
        spare = d;
        d = dx;
    }
    return VSIM_OK;
}

static int adam_step(vsim_cuda *g, const vsim_adam *a, double lr)
{
    double *part = g->red;
    double sq = 0.0;

    g->adam_t++;
    {
        const double t = (double)g->adam_t;
        const float step = (float)(lr * sqrt(1.0 - pow(a->beta2, t)) / (1.0 - pow(a->beta1, t)));

        k_sumsq<<<RED_BLOCKS, THREADS>>>(g->grads, g->n_params,
                                         part + (size_t)(2 * g->n_layers) * 2 * RED_BLOCKS);
        for (int i = 0; i < g->n_layers; i++) {
            const vsim_model_layer *l = &g->layers[i];

            for (int wb = 0; wb < 2; wb++) {
                size_t off = wb ? l->b_off : l->w_off, n = wb ? l->n_b : l->n_w;

                k_adam<<<RED_BLOCKS, THREADS>>>(g->params + off, g->adam_m + off,
                                                g->adam_v + off, g->grads + off, n,
                                                (float)a->beta1, (float)a->beta2,
                                                (float)a->eps, step,
                                                part + (size_t)(2 * i + wb) * 2 * RED_BLOCKS);
            }
        }
    }
    LAUNCH_CHECK();
    CU(cudaMemcpy(g->h_red, g->red, ((size_t)(2 * g->n_layers) * 2 + 1) * RED_BLOCKS
                  * sizeof(double), cudaMemcpyDeviceToHost));
    for (int i = 0; i < g->n_layers; i++) {
        const double *pw = g->h_red + (size_t)(2 * i) * 2 * RED_BLOCKS;
        double su = 0.0, sw = 0.0;

        for (int k = 0; k < RED_BLOCKS; k++) {
            su += pw[2 * k];
            sw += pw[2 * k + 1];
        }
        g->update_ratio[i] = sw > 0.0 ? sqrt(su / sw) : 0.0;
    }
    for (int k = 0; k < RED_BLOCKS; k++)
        sq += g->h_red[(size_t)(2 * g->n_layers) * 2 * RED_BLOCKS + k];
    g->grad_norm = sqrt(sq);
    return VSIM_OK;
}

static int upload_batch(vsim_cuda *g, const float *x, int b)
{
    if (b < 1 || b > g->cap)
        return vsim_fail(VSIM_EINVAL, "batch %d outside 1..%d", b, g->cap);
    CU(cudaMemcpy(g->x, x, (size_t)b * g->side * g->side * sizeof(float),
                  cudaMemcpyHostToDevice));
    return VSIM_OK;
}

extern "C" int vsim_cuda_train_step(vsim_cuda *g, const float *x, int b,
                                    const vsim_loss_spec *loss, const vsim_adam *adam, double lr,
                                    vsim_loss_value *out)
{
    int rc = upload_batch(g, x, b);

    if (!rc)
        rc = forward(g, b);
    if (!rc)
        rc = loss_eval(g, loss, b, 1, out);
    if (rc)
        return rc;
    if (!isfinite(out->total))
        return vsim_fail(VSIM_ENUMERIC, "loss is %s", isnan(out->total) ? "NaN" : "infinite");
    if (!isfinite(lr))
        return vsim_fail(VSIM_ENUMERIC, "learning rate is %g", lr);
    rc = backward(g, b);
    return rc ? rc : adam_step(g, adam, lr);
}

extern "C" int vsim_cuda_eval_batch(vsim_cuda *g, const float *x, int b,
                                    const vsim_loss_spec *loss, vsim_loss_value *out)
{
    int rc = upload_batch(g, x, b);

    if (!rc)
        rc = forward(g, b);
    return rc ? rc : loss_eval(g, loss, b, 0, out);
}

extern "C" int vsim_cuda_download(vsim_cuda *g, vsim_model *m, unsigned what)
{
    if (what & VSIM_CUDA_PARAMS)
        CU(cudaMemcpy(m->params, g->params, g->n_params * sizeof(float),
                      cudaMemcpyDeviceToHost));
    if (what & VSIM_CUDA_GRADS)
        CU(cudaMemcpy(m->grads, g->grads, g->n_params * sizeof(float),
                      cudaMemcpyDeviceToHost));
    if (what & VSIM_CUDA_STATS) {
        m->grad_norm = g->grad_norm;
        memcpy(m->update_ratio, g->update_ratio, sizeof(m->update_ratio));
    }
    return VSIM_OK;
}
