/*
 * trainer/cuda.cu - the CUDA backend of vsim-train behind trainer/device.h: the
 * same layers, losses and Adam as the CPU path (trainer/layers.c, loss.c,
 * model.c) with cuBLAS for every matrix product (row-major products computed
 * as their column-major transposes) and kernels of our own for im2col, col2im
 * (gather form: one thread per pixel, no atomics), bias, activations, SSIM
 * and Adam. Reductions use a fixed grid and a fixed tree, so a run is
 * repeatable on one GPU. CUDA and cuBLAS errors become VSIM_EDEVICE here.
 *
 * Precision follows PyTorch's defaults: the convolution products (conv and
 * deconv layers, forward and backward; cuDNN's TF32 in PyTorch) use TF32
 * tensor cores, the fully connected ones plain fp32. VSIM_CUDA_TF32=0 makes
 * every product fp32 (the same numbers as the CPU path to float tolerance),
 * VSIM_CUDA_TF32=1 makes every product TF32.
 *
 * A training step runs without a host round trip: the batch is gathered on the
 * GPU from the dataset's images (vsim_cuda_set_images), the loss, the update
 * and the norms are reduced on the GPU, a NaN or infinite loss turns the
 * update off there, and one copy brings the figures back at the end of the
 * step. vsim_cuda_train_launch_idx queues a step and returns at once, so the
 * trainer writes the previous step's shard while the GPU computes.
 * VSIM_CUDA_PROFILE=1 prints the GPU time of each phase and each layer,
 * averaged over the steps after the first, to stderr when the backend is
 * destroyed.
 * SPDX-License-Identifier: MIT
 */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "core/mem.h"
#include "core/vsim.h"
#include "trainer/device.h"
#include "trainer/loss.h"
}

#define THREADS 256
#define RED_BLOCKS 1024         /* fixed grid of the loss reductions: repeatable sums */
#define ADAM_BLOCKS 256         /* blocks per tensor in the Adam update */
#define SPLIT 64                /* partial sums per row of a bias gradient */
#define CHUNK_FLOATS ((size_t)256 << 20)  /* convolution columns built at a time (1 GiB) */
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

/* one parameter tensor of the Adam update */
struct tensor_span {
    size_t off, n;
};

/* figures of a step, reduced on the GPU and copied back once */
enum { R_MSE, R_SSIM, R_TOTAL, R_OK, R_TENSORS };   /* then 3 per tensor: |u|^2 |w|^2 |g|^2 */

enum { P_UPLOAD, P_FORWARD, P_LOSS, P_BACKWARD, P_ADAM, P_COUNT };

struct vsim_cuda {
    cublasHandle_t blas;
    int n_layers, side, cap, n_tensors;
    int tf32_conv, tf32_fc;     /* TF32 products for conv/deconv and fc layers */
    vsim_model_layer layers[VSIM_MODEL_MAX_LAYERS];
    size_t n_params;
    float *params, *grads, *adam_m, *adam_v;
    float *out[VSIM_MODEL_MAX_LAYERS], *tin[VSIM_MODEL_MAX_LAYERS];
    float *cols, *d_a, *d_b, *x;
    tensor_span *spans;         /* device: the 2 * n_layers weight and bias tensors */
    double *red;                /* device: loss partials, then per-image SSIM */
    double *adam_part;          /* device: [tensor][ADAM_BLOCKS][3] */
    double *bias_part;          /* device: [row][SPLIT] partial sums of a bias gradient */
    double *res, *h_res;        /* the step's figures (R_*), device and pinned host */
    size_t n_res;
    double *ssim_work;          /* SSIM maps, device */
    uint8_t *images;            /* the dataset's images on the GPU, or NULL */
    size_t n_images;
    int *idx, *h_idx;           /* a batch's example indices, device and pinned host */
    int64_t adam_t;
    size_t chunk_floats;        /* CHUNK_FLOATS, or VSIM_CUDA_CHUNK_FLOATS (tests) */
    double grad_norm, update_ratio[VSIM_MODEL_MAX_LAYERS];
    int pending, pending_full;  /* a queued training step (train_launch), with an update */
    double pending_lr;
    int profile;                /* VSIM_CUDA_PROFILE=1: time the phases and layers */
    cudaEvent_t ev[P_COUNT + 1], ev_fwd[VSIM_MODEL_MAX_LAYERS + 1];
    cudaEvent_t ev_bwd[VSIM_MODEL_MAX_LAYERS + 1];
    double phase_ms[P_COUNT], fwd_ms[VSIM_MODEL_MAX_LAYERS], bwd_ms[VSIM_MODEL_MAX_LAYERS];
    long n_profiled;
};

static unsigned grid_for(size_t n)
{
    size_t g = (n + THREADS - 1) / THREADS;

    return (unsigned)(g < 65535 ? (g ? g : 1) : 65535);
}

/* ---- element-wise kernels ------------------------------------------------------- */
/*
 * The index type I is unsigned int when the element count leaves room below
 * 2^31 (every shape of the presets up to batch 1024), size_t otherwise: 64-bit
 * division costs several times the 32-bit one in these index-bound kernels.
 */
#define LAUNCH_IDX(kernel, total, ...)                                                    \
    do {                                                                                \
        if ((size_t)(total) < ((size_t)1 << 31))                                        \
            kernel<unsigned><<<grid_for(total), THREADS>>>(__VA_ARGS__);                \
        else                                                                            \
            kernel<size_t><<<grid_for(total), THREADS>>>(__VA_ARGS__);                  \
    } while (0)

/* the columns of images [b0, b0 + nb) of x [c][b][h][w] for a 4x4 stride-2 pad-1
 * convolution: cols [c * 16][nb * (h / 2) * (w / 2)] */
template <typename I>
__global__ void k_im2col(const float *x, int c, int b, int h, int w, int b0, int nb, float *cols)
{
    const I ho = (I)h / 2, wo = (I)w / 2;
    const I n_cols = (I)nb * ho * wo, total = (I)c * 16 * n_cols;

    for (I i = blockIdx.x * (I)blockDim.x + threadIdx.x; i < total;
         i += (I)gridDim.x * blockDim.x) {
        I row = i / n_cols, col = i % n_cols;
        int ci = (int)(row / 16), ky = (int)(row % 16) / 4, kx = (int)(row % 4);
        int ox = (int)(col % wo), oy = (int)((col / wo) % ho);
        int bi = b0 + (int)(col / (wo * ho));
        int iy = 2 * oy - 1 + ky, ix = 2 * ox - 1 + kx;

        cols[i] = (iy >= 0 && iy < h && ix >= 0 && ix < w)
                      ? x[(((size_t)ci * b + bi) * h + iy) * w + ix] : 0.0f;
    }
}

/* images [b0, b0 + nb) of x [c][b][h][w]: each pixel the sum of the column
 * entries (cols as k_im2col lays them out for those images) that read it */
template <typename I>
__global__ void k_col2im(const float *cols, int c, int b, int h, int w, int b0, int nb,
                         float *x)
{
    const int ho = h / 2, wo = w / 2;
    const I n_cols = (I)nb * ho * wo, total = (I)c * nb * h * w;

    for (I i = blockIdx.x * (I)blockDim.x + threadIdx.x; i < total;
         i += (I)gridDim.x * blockDim.x) {
        int ix = (int)(i % w), iy = (int)((i / w) % h), bl = (int)((i / ((I)w * h)) % nb);
        int ci = (int)(i / ((I)w * h * nb));
        float s = 0.0f;

        for (int ky = (iy + 1) & 1; ky < 4; ky += 2) {
            int oy = (iy + 1 - ky) / 2;

            if (oy < 0 || oy >= ho)
                continue;
            for (int kx = (ix + 1) & 1; kx < 4; kx += 2) {
                int ox = (ix + 1 - kx) / 2;

                if (ox >= 0 && ox < wo)
                    s += cols[(size_t)(ci * 16 + ky * 4 + kx) * n_cols + (size_t)bl * ho * wo
                              + (size_t)oy * wo + ox];
            }
        }
        x[(((size_t)ci * b + b0 + bl) * h + iy) * w + ix] = s;
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
template <typename I>
__global__ void k_bias_act(float *y, const float *bias, I total, I n, int per_row, int act)
{
    for (I i = blockIdx.x * (I)blockDim.x + threadIdx.x; i < total;
         i += (I)gridDim.x * blockDim.x)
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
template <typename I>
__global__ void k_transpose(const float *src, int c, int b, int p, float *dst, int to_rows)
{
    const I total = (I)c * b * p;

    for (I i = blockIdx.x * (I)blockDim.x + threadIdx.x; i < total;
         i += (I)gridDim.x * blockDim.x) {
        I q = i % p, ci = (i / p) % c, bi = i / ((I)p * c);
        I cnhw = (ci * b + bi) * p + q;

        if (to_rows)
            dst[i] = src[cnhw];
        else
            dst[cnhw] = src[i];
    }
}

/* x[i][p] = images[idx[i]][p] / 255, as vsim_dataset_batch computes it */
template <typename I>
__global__ void k_gather(const uint8_t *images, const int *idx, I total, I px, float *x)
{
    for (I i = blockIdx.x * (I)blockDim.x + threadIdx.x; i < total;
         i += (I)gridDim.x * blockDim.x)
        x[i] = (float)images[(size_t)idx[i / px] * px + i % px] * (1.0f / 255.0f);
}

/* ---- reductions (fixed grids, fixed trees) -------------------------------------- */

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

/* part[r][s] = sum of the s-th of SPLIT chunks of row r of a [rows][n]; grid (SPLIT, rows) */
__global__ void k_row_partial(const float *a, size_t n, double *part)
{
    const float *row = a + (size_t)blockIdx.y * n;
    size_t lo = n * blockIdx.x / SPLIT, hi = n * (blockIdx.x + 1) / SPLIT;
    double s = 0.0;

    for (size_t i = lo + threadIdx.x; i < hi; i += THREADS)
        s += row[i];
    s = block_sum(s);
    if (threadIdx.x == 0)
        part[(size_t)blockIdx.y * SPLIT + blockIdx.x] = s;
}

/* part[c][s] = sum of column c of a [rows][n] over rows r with r / 8 = s (mod SPLIT);
 * grid (ceil(n / 32), SPLIT), block (32, 8) */
__global__ void k_col_partial(const float *a, int rows, int n, double *part)
{
    __shared__ double sh[8][33];
    const int c = blockIdx.x * 32 + threadIdx.x;
    double s = 0.0;

    if (c < n)
        for (int r = blockIdx.y * 8 + threadIdx.y; r < rows; r += 8 * SPLIT)
            s += a[(size_t)r * n + c];
    sh[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && c < n) {
        s = 0.0;
        for (int k = 0; k < 8; k++)
            s += sh[k][threadIdx.x];
        part[(size_t)c * SPLIT + blockIdx.y] = s;
    }
}

/* out[r] = sum of part[r][0..SPLIT) */
__global__ void k_partial_final(const double *part, int rows, float *out)
{
    for (int r = blockIdx.x * blockDim.x + threadIdx.x; r < rows; r += gridDim.x * blockDim.x) {
        double s = 0.0;

        for (int k = 0; k < SPLIT; k++)
            s += part[(size_t)r * SPLIT + k];
        out[r] = (float)s;
    }
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

/* res[R_MSE..R_OK] from the MSE partials red[0..RED_BLOCKS) and the per-image
 * SSIM red[RED_BLOCKS..+b); one block */
__global__ void k_loss_final(const double *red, int b, size_t n, int do_ssim, double w_l2,
                             double w_ssim, double *res)
{
    double s = 0.0, t = 0.0;

    for (int k = threadIdx.x; k < RED_BLOCKS; k += THREADS)
        s += red[k];
    for (int k = threadIdx.x; do_ssim && k < b; k += THREADS)
        t += red[RED_BLOCKS + k];
    s = block_sum(s);
    t = block_sum(t);
    if (threadIdx.x == 0) {
        double mse = s / (double)n, ssim = do_ssim ? t / b : (double)NAN;
        double total = w_l2 * mse + (w_ssim > 0.0 ? w_ssim * (1.0 - ssim) : 0.0);

        res[R_MSE] = mse;
        res[R_SSIM] = ssim;
        res[R_TOTAL] = total;
        res[R_OK] = isfinite(total) ? 1.0 : 0.0;
    }
}

/*
 * Adam on every parameter tensor at once (blockIdx.y picks the tensor), off
 * when the step's loss was not finite (res[R_OK] == 0). part[t][block] =
 * sums of |update|^2, |w|^2 (after the update) and |g|^2.
 */
__global__ void k_adam(float *p, float *m, float *v, const float *g, const tensor_span *spans,
                       float b1, float b2, float eps, float step, const double *res,
                       double *part)
{
    const tensor_span sp = spans[blockIdx.y];
    const int on = res[R_OK] != 0.0;
    double su = 0.0, sw = 0.0, sg = 0.0;

    for (size_t i = blockIdx.x * (size_t)THREADS + threadIdx.x; i < sp.n;
         i += (size_t)ADAM_BLOCKS * THREADS) {
        size_t e = sp.off + i;
        float gi = g[e], u;

        sg += (double)gi * gi;
        if (on) {
            m[e] = b1 * m[e] + (1.0f - b1) * gi;
            v[e] = b2 * v[e] + (1.0f - b2) * gi * gi;
            u = step * m[e] / (sqrtf(v[e]) + eps);
            p[e] -= u;
            su += (double)u * u;
        }
        sw += (double)p[e] * p[e];
    }
    su = block_sum(su);
    sw = block_sum(sw);
    sg = block_sum(sg);
    if (threadIdx.x == 0) {
        double *q = part + ((size_t)blockIdx.y * ADAM_BLOCKS + blockIdx.x) * 3;

        q[0] = su;
        q[1] = sw;
        q[2] = sg;
    }
}

/* res[R_TENSORS + 3 t + k] = sum over the blocks of part[t][.][k]; block t */
__global__ void k_adam_final(const double *part, double *res)
{
    const double *q = part + (size_t)blockIdx.x * ADAM_BLOCKS * 3;

    for (int k = 0; k < 3; k++) {
        double s = 0.0;

        for (int j = threadIdx.x; j < ADAM_BLOCKS; j += THREADS)
            s += q[j * 3 + k];
        s = block_sum(s);
        if (threadIdx.x == 0)
            res[R_TENSORS + 3 * blockIdx.x + k] = s;
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

/*
 * row-major C[m][n] = op(A) op(B) + beta C, as column-major C^T = op(B)^T op(A)^T;
 * fast: TF32
 */
static int gemm_acc(vsim_cuda *g, int fast, int ta, int tb, int m, int n, int k, const float *a,
                    int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    const float one = 1.0f;

    CB(cublasGemmEx(g->blas, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, n,
                    m, k, &one, b, CUDA_R_32F, ldb, a, CUDA_R_32F, lda, &beta, c, CUDA_R_32F,
                    ldc, fast ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F,
                    CUBLAS_GEMM_DEFAULT));
    return VSIM_OK;
}

static int gemm(vsim_cuda *g, int fast, int ta, int tb, int m, int n, int k, const float *a,
                int lda, const float *b, int ldb, float *c, int ldc)
{
    return gemm_acc(g, fast, ta, tb, m, n, k, a, lda, b, ldb, 0.0f, c, ldc);
}

/*
 * Images per chunk of a convolution whose columns take per_img floats per
 * image: the columns are built and consumed a chunk of images at a time, which
 * bounds their buffer (CHUNK_FLOATS; VSIM_CUDA_CHUNK_FLOATS=N sets it, for the
 * agreement check of bench-train.sh) for very large batches. A chunk is the
 * whole batch up to that size: chunks small enough to stay in the L2 cache
 * (16 MB) were measured on an H200 to make the products too small to fill the
 * GPU (wide model, batch 1024: 72.7k images/s against 105.6k in one chunk).
 */
static int chunk_images(const vsim_cuda *g, size_t per_img, int b)
{
    size_t nb = g->chunk_floats / (per_img ? per_img : 1);

    return nb < 1 ? 1 : nb < (size_t)b ? (int)nb : b;
}

static size_t layer_elems(const vsim_model_layer *l)
{
    return (size_t)l->n_out * l->out_side * l->out_side;
}

static int alloc_all(vsim_cuda *g)
{
    size_t max_act = (size_t)g->side * g->side, max_cols = 1, cap = (size_t)g->cap;
    size_t hw = (size_t)g->side * (g->side > 2 * RADIUS ? g->side - 2 * RADIUS : 1);
    size_t max_rows = 1;
    tensor_span spans[2 * VSIM_MODEL_MAX_LAYERS];

    CU(cudaMalloc(&g->params, g->n_params * sizeof(float)));
    CU(cudaMalloc(&g->grads, g->n_params * sizeof(float)));
    CU(cudaMalloc(&g->adam_m, g->n_params * sizeof(float)));
    CU(cudaMalloc(&g->adam_v, g->n_params * sizeof(float)));
    CU(cudaMemset(g->adam_m, 0, g->n_params * sizeof(float)));
    CU(cudaMemset(g->adam_v, 0, g->n_params * sizeof(float)));
    for (int i = 0; i < g->n_layers; i++) {
        const vsim_model_layer *l = &g->layers[i];
        size_t per_img = l->kind == VSIM_LAYER_CONV
                             ? (size_t)l->n_in * 16 * l->out_side * l->out_side
                             : l->kind == VSIM_LAYER_DECONV
                                   ? (size_t)l->n_out * 16 * l->in_side * l->in_side : 0;
        size_t cols = per_img * (size_t)chunk_images(g, per_img, g->cap);

        max_act = layer_elems(l) > max_act ? layer_elems(l) : max_act;
        max_cols = cols > max_cols ? cols : max_cols;
        max_rows = (size_t)l->n_out > max_rows ? (size_t)l->n_out : max_rows;
        CU(cudaMalloc(&g->out[i], cap * layer_elems(l) * sizeof(float)));
        if (l->transpose_in)
            CU(cudaMalloc(&g->tin[i], cap * l->n_in * l->in_side * l->in_side * sizeof(float)));
        spans[2 * i].off = l->w_off;
        spans[2 * i].n = l->n_w;
        spans[2 * i + 1].off = l->b_off;
        spans[2 * i + 1].n = l->n_b;
    }
    g->n_tensors = 2 * g->n_layers;
    CU(cudaMalloc(&g->spans, (size_t)g->n_tensors * sizeof(tensor_span)));
    CU(cudaMemcpy(g->spans, spans, (size_t)g->n_tensors * sizeof(tensor_span),
                  cudaMemcpyHostToDevice));
    CU(cudaMalloc(&g->cols, max_cols * sizeof(float)));
    CU(cudaMalloc(&g->d_a, cap * max_act * sizeof(float)));
    CU(cudaMalloc(&g->d_b, cap * max_act * sizeof(float)));
    CU(cudaMalloc(&g->x, cap * (size_t)g->side * g->side * sizeof(float)));
    CU(cudaMalloc(&g->red, (RED_BLOCKS + cap) * sizeof(double)));
    CU(cudaMalloc(&g->adam_part, (size_t)g->n_tensors * ADAM_BLOCKS * 3 * sizeof(double)));
    CU(cudaMalloc(&g->bias_part, max_rows * SPLIT * sizeof(double)));
    g->n_res = R_TENSORS + 3 * (size_t)g->n_tensors;
    CU(cudaMalloc(&g->res, g->n_res * sizeof(double)));
    CU(cudaMallocHost(&g->h_res, g->n_res * sizeof(double)));
    CU(cudaMalloc(&g->idx, cap * sizeof(int)));
    CU(cudaMallocHost(&g->h_idx, cap * sizeof(int)));
    /* SSIM: 5 horizontal maps, the map, 3 partial maps, 3 adjoint maps */
    CU(cudaMalloc(&g->ssim_work, cap * hw * 12 * sizeof(double)));
    return VSIM_OK;
}

static const char *const phase_names[P_COUNT] = { "batch", "forward", "loss", "backward",
                                                  "adam" };

extern "C" void vsim_cuda_destroy(vsim_cuda *g)
{
    if (!g)
        return;
    if (g->pending)             /* an error path left a step queued: let it end first */
        cudaStreamSynchronize(0);
    if (g->profile && g->n_profiled > 0) {
        double all = 0.0;

        for (int p = 0; p < P_COUNT; p++)
            all += g->phase_ms[p];
        fprintf(stderr, "vsim-train: cuda profile over %ld steps, ms per step:", g->n_profiled);
        for (int p = 0; p < P_COUNT; p++)
            fprintf(stderr, " %s %.3f", phase_names[p], g->phase_ms[p] / (double)g->n_profiled);
        fprintf(stderr, " (gpu total %.3f)\n", all / (double)g->n_profiled);
        for (int i = 0; i < g->n_layers; i++)
            fprintf(stderr, "vsim-train: cuda profile: %-16s forward %.3f backward %.3f ms\n",
                    g->layers[i].name, g->fwd_ms[i] / (double)g->n_profiled,
                    g->bwd_ms[i] / (double)g->n_profiled);
    }
    for (int p = 0; g->profile && p <= P_COUNT; p++)
        cudaEventDestroy(g->ev[p]);
    for (int i = 0; g->profile && i <= g->n_layers; i++) {
        cudaEventDestroy(g->ev_fwd[i]);
        cudaEventDestroy(g->ev_bwd[i]);
    }
    cudaFree(g->params);
    cudaFree(g->grads);
    cudaFree(g->adam_m);
    cudaFree(g->adam_v);
    for (int i = 0; i < g->n_layers; i++) {
        cudaFree(g->out[i]);
        cudaFree(g->tin[i]);
    }
    cudaFree(g->spans);
    cudaFree(g->cols);
    cudaFree(g->d_a);
    cudaFree(g->d_b);
    cudaFree(g->x);
    cudaFree(g->red);
    cudaFree(g->adam_part);
    cudaFree(g->bias_part);
    cudaFree(g->res);
    cudaFreeHost(g->h_res);
    cudaFree(g->idx);
    cudaFreeHost(g->h_idx);
    cudaFree(g->images);
    cudaFree(g->ssim_work);
    if (g->blas)
        cublasDestroy(g->blas);
    vsim_free(g);
}

/* VSIM_CUDA_TF32: unset or "conv" (PyTorch's defaults), "0" (all fp32) or "1" (all TF32) */
static int parse_tf32(vsim_cuda *g)
{
    const char *e = getenv("VSIM_CUDA_TF32");

    g->tf32_conv = 1;
    g->tf32_fc = 0;
    if (!e || !*e || !strcmp(e, "conv"))
        return VSIM_OK;
    if (!strcmp(e, "0") || !strcmp(e, "1")) {
        g->tf32_conv = g->tf32_fc = *e == '1';
        return VSIM_OK;
    }
    return vsim_fail(VSIM_EINVAL, "VSIM_CUDA_TF32=%s: want 0, 1 or conv", e);
}

extern "C" int vsim_cuda_create(const vsim_model *m, vsim_cuda **out)
{
    vsim_cuda *g;
    double gw[WIN];
    const char *prof = getenv("VSIM_CUDA_PROFILE");
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
    g->chunk_floats = CHUNK_FLOATS;
    if (getenv("VSIM_CUDA_CHUNK_FLOATS") && atol(getenv("VSIM_CUDA_CHUNK_FLOATS")) > 0)
        g->chunk_floats = (size_t)atol(getenv("VSIM_CUDA_CHUNK_FLOATS"));
    vsim_loss_ssim_window(gw);
    if ((rc = parse_tf32(g)) != VSIM_OK) {
        vsim_free(g);
        return rc;
    }
    if (cublasCreate(&g->blas) != CUBLAS_STATUS_SUCCESS) {
        vsim_free(g);
        return vsim_fail(VSIM_EDEVICE, "cuBLAS: cannot create a handle");
    }
    rc = alloc_all(g);
    if (!rc && cudaMemcpyToSymbol(c_gauss, gw, sizeof(gw)) != cudaSuccess)
        rc = vsim_fail(VSIM_EDEVICE, "CUDA: cannot set the SSIM window");
    if (!rc && cudaMemcpy(g->params, m->params, g->n_params * sizeof(float),
                          cudaMemcpyHostToDevice) != cudaSuccess)
        rc = vsim_fail(VSIM_EDEVICE, "CUDA: cannot upload the parameters");
    /* the Adam state too: a resumed run continues with its moments (zero for a new one) */
    if (!rc && (cudaMemcpy(g->adam_m, m->adam_m, g->n_params * sizeof(float),
                           cudaMemcpyHostToDevice) != cudaSuccess ||
                cudaMemcpy(g->adam_v, m->adam_v, g->n_params * sizeof(float),
                           cudaMemcpyHostToDevice) != cudaSuccess))
        rc = vsim_fail(VSIM_EDEVICE, "CUDA: cannot upload the Adam moments");
    if (!rc)
        g->adam_t = m->adam_t;
    if (!rc && prof && !strcmp(prof, "1")) {
        g->profile = 1;
        for (int p = 0; !rc && p <= P_COUNT; p++)
            if (cudaEventCreate(&g->ev[p]) != cudaSuccess)
                rc = vsim_fail(VSIM_EDEVICE, "CUDA: cannot create the profile events");
        for (int i = 0; !rc && i <= g->n_layers; i++)
            if (cudaEventCreate(&g->ev_fwd[i]) != cudaSuccess ||
                cudaEventCreate(&g->ev_bwd[i]) != cudaSuccess)
                rc = vsim_fail(VSIM_EDEVICE, "CUDA: cannot create the profile events");
    }
    if (rc) {
        vsim_cuda_destroy(g);
        return rc;
    }
    *out = g;
    return VSIM_OK;
}

/* with VSIM_CUDA_PROFILE=1: record event ev[i] (a phase or a layer boundary) */
static void mark(vsim_cuda *g, cudaEvent_t *ev, int i)
{
    if (g->profile)
        cudaEventRecord(ev[i], 0);
}

/* the bias gradient db of d: row sums of [rows][n] (conv), or column sums (fc) */
static int bias_grad(vsim_cuda *g, const float *d, int rows, size_t n, int fc, float *db)
{
    if (fc) {
        k_col_partial<<<dim3((unsigned)((n + 31) / 32), SPLIT), dim3(32, 8)>>>(d, rows, (int)n,
                                                                              g->bias_part);
        k_partial_final<<<grid_for(n), THREADS>>>(g->bias_part, (int)n, db);
    } else {
        k_row_partial<<<dim3(SPLIT, (unsigned)rows), THREADS>>>(d, n, g->bias_part);
        k_partial_final<<<grid_for((size_t)rows), THREADS>>>(g->bias_part, rows, db);
    }
    LAUNCH_CHECK();
    return VSIM_OK;
}

static int forward(vsim_cuda *g, int b)
{
    mark(g, g->ev_fwd, 0);
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

            LAUNCH_IDX(k_transpose, (size_t)c * b * px, in, c, b, px, g->tin[i], to_rows);
            in = g->tin[i];
        }
        if (l->kind == VSIM_LAYER_CONV) {
            int k = l->n_in * 16, px = l->out_side * l->out_side, n = b * px;
            int nb = chunk_images(g, (size_t)k * px, b);

            rc = VSIM_OK;
            for (int b0 = 0; !rc && b0 < b; b0 += nb) {
                int nc = (b - b0 < nb ? b - b0 : nb) * px;

                LAUNCH_IDX(k_im2col, (size_t)k * nc, in, l->n_in, b, l->in_side, l->in_side, b0,
                           nc / px, g->cols);
                rc = gemm(g, g->tf32_conv, 0, 0, l->n_out, nc, k, w, k, g->cols, nc,
                          g->out[i] + (size_t)b0 * px, n);
            }
        } else if (l->kind == VSIM_LAYER_DECONV) {
            int k = l->n_out * 16, px = l->in_side * l->in_side, n = b * px;
            int nb = chunk_images(g, (size_t)k * px, b);

            rc = VSIM_OK;
            for (int b0 = 0; !rc && b0 < b; b0 += nb) {
                int nc = (b - b0 < nb ? b - b0 : nb) * px;

                rc = gemm(g, g->tf32_conv, 1, 0, k, nc, l->n_in, w, k, in + (size_t)b0 * px, n,
                          g->cols, nc);
                LAUNCH_IDX(k_col2im, (size_t)l->n_out * (nc / px) * l->out_side * l->out_side,
                           g->cols, l->n_out, b, l->out_side, l->out_side, b0, nc / px,
                           g->out[i]);
            }
        } else {
            rc = gemm(g, g->tf32_fc, 0, 1, b, l->n_out, l->n_in, in, l->n_in, w, l->n_in,
                      g->out[i], l->n_out);
        }
        if (rc)
            return rc;
        if (l->kind == VSIM_LAYER_FC)
            LAUNCH_IDX(k_bias_act, n_out, g->out[i], bias, n_out, (size_t)l->n_out, 0, l->act);
        else
            LAUNCH_IDX(k_bias_act, n_out, g->out[i], bias, n_out,
                       (size_t)b * l->out_side * l->out_side, 1, l->act);
        LAUNCH_CHECK();
        mark(g, g->ev_fwd, i + 1);
    }
    return VSIM_OK;
}

/*
 * Loss of the last forward pass against g->x into g->res (R_MSE..R_OK), on the
 * GPU; with want_grad, its gradient into g->d_a.
 */
static int loss_eval(vsim_cuda *g, const vsim_loss_spec *spec, int b, int want_grad)
{
    const int s = g->side;
    const size_t n = (size_t)b * s * s;
    const float *y = g->out[g->n_layers - 1];
    int do_ssim = s >= WIN;

    if (want_grad)
        CU(cudaMemsetAsync(g->d_a, 0, n * sizeof(float), 0));
    k_mse<<<RED_BLOCKS, THREADS>>>(y, g->x, n, want_grad && spec->w_l2 > 0 ? g->d_a : NULL,
                                   2.0 * spec->w_l2 / (double)n, g->red);
    if (do_ssim) {
        const int hv = s - 2 * RADIUS, wv = s - 2 * RADIUS;
        const size_t nh = (size_t)b * s * wv, nm = (size_t)b * hv * wv;
        double *hor = g->ssim_work, *smap = hor + 5 * nh, *d = smap + nm, *tmp = d + 3 * nm;
        int grad_ssim = want_grad && spec->w_ssim > 0.0;

        k_ssim_hor<<<grid_for(nh), THREADS>>>(y, g->x, b, s, s, hor);
        k_ssim_map<<<grid_for(nm), THREADS>>>(hor, b, s, s, smap, grad_ssim ? d : NULL);
        k_ssim_mean<<<b, THREADS>>>(smap, (size_t)hv * wv, g->red + RED_BLOCKS);
        if (grad_ssim) {
            k_ssim_back_ver<<<grid_for(nh), THREADS>>>(d, b, s, s, tmp);
            k_ssim_back_hor<<<grid_for(n), THREADS>>>(tmp, y, g->x, b, s, s,
                                                      -spec->w_ssim / b / (double)(hv * wv),
                                                      g->d_a);
        }
    }
    k_loss_final<<<1, THREADS>>>(g->red, b, n, do_ssim, spec->w_l2, spec->w_ssim, g->res);
    LAUNCH_CHECK();
    return VSIM_OK;
}

static int backward(vsim_cuda *g, int b)
{
    float *d = g->d_a, *spare = g->d_b;

    mark(g, g->ev_bwd, g->n_layers);
    for (int i = g->n_layers - 1; i >= 0; i--) {
        const vsim_model_layer *l = &g->layers[i];
        const float *in = i == 0 ? g->x : l->transpose_in ? g->tin[i] : g->out[i - 1];
        const float *w = g->params + l->w_off;
        float *dw = g->grads + l->w_off, *db = g->grads + l->b_off, *dx = i ? spare : NULL;
        size_t n_out = (size_t)b * layer_elems(l);
        int rc = VSIM_OK;

        k_act_backward<<<grid_for(n_out), THREADS>>>(g->out[i], d, n_out, l->act);
        if (l->kind == VSIM_LAYER_FC) {
            rc = gemm(g, g->tf32_fc, 1, 0, l->n_out, l->n_in, b, d, l->n_out, in, l->n_in, dw,
                      l->n_in);
            if (!rc)
                rc = bias_grad(g, d, b, (size_t)l->n_out, 1, db);
            if (!rc && dx)
                rc = gemm(g, g->tf32_fc, 0, 0, b, l->n_in, l->n_out, d, l->n_out, w, l->n_in,
                          dx, l->n_in);
        } else if (l->kind == VSIM_LAYER_CONV) {
            int k = l->n_in * 16, px = l->out_side * l->out_side, n = b * px;
            int nb = chunk_images(g, (size_t)k * px, b);

            rc = bias_grad(g, d, l->n_out, (size_t)n, 0, db);
            /* per chunk: its columns, dW += d_chunk cols^T, then the columns' gradient
             * W^T d_chunk in the same buffer, folded back into dx */
            for (int b0 = 0; !rc && b0 < b; b0 += nb) {
                int nc = (b - b0 < nb ? b - b0 : nb) * px;
                const float *dc = d + (size_t)b0 * px;

                LAUNCH_IDX(k_im2col, (size_t)k * nc, in, l->n_in, b, l->in_side, l->in_side, b0,
                           nc / px, g->cols);
                rc = gemm_acc(g, g->tf32_conv, 0, 1, l->n_out, k, nc, dc, n, g->cols, nc,
                              b0 ? 1.0f : 0.0f, dw, k);
                if (!rc && dx) {
                    rc = gemm(g, g->tf32_conv, 1, 0, k, nc, l->n_out, w, k, dc, n, g->cols, nc);
                    LAUNCH_IDX(k_col2im, (size_t)l->n_in * (nc / px) * l->in_side * l->in_side,
                               g->cols, l->n_in, b, l->in_side, l->in_side, b0, nc / px, dx);
                }
            }
        } else {
            int k = l->n_out * 16, px = l->in_side * l->in_side, n = b * px;
            int nb = chunk_images(g, (size_t)k * px, b);

            rc = bias_grad(g, d, l->n_out, (size_t)b * l->out_side * l->out_side, 0, db);
            /* per chunk: the columns of d, dW += in_chunk cols^T, dx_chunk = W cols */
            for (int b0 = 0; !rc && b0 < b; b0 += nb) {
                int nc = (b - b0 < nb ? b - b0 : nb) * px;

                LAUNCH_IDX(k_im2col, (size_t)k * nc, d, l->n_out, b, l->out_side, l->out_side,
                           b0, nc / px, g->cols);
                rc = gemm_acc(g, g->tf32_conv, 0, 1, l->n_in, k, nc, in + (size_t)b0 * px, n,
                              g->cols, nc, b0 ? 1.0f : 0.0f, dw, k);
                if (!rc && dx)
                    rc = gemm(g, g->tf32_conv, 0, 0, l->n_in, nc, k, w, k, g->cols, nc,
                              dx + (size_t)b0 * px, n);
            }
        }
        if (rc)
            return rc;
        LAUNCH_CHECK();
        if (!dx) {
            mark(g, g->ev_bwd, i);
            break;
        }
        if (l->transpose_in) {
            const vsim_model_layer *p = &g->layers[i - 1];
            int fc = l->kind == VSIM_LAYER_FC;
            int c = fc ? p->n_out : l->n_in;
            int px = fc ? p->out_side * p->out_side : l->in_side * l->in_side;

            /* fc: dx is [b][c*px] -> previous CNHW; deconv: dx is CNHW -> previous rows */
            LAUNCH_IDX(k_transpose, (size_t)c * b * px, dx, c, b, px, d, !fc);
            LAUNCH_CHECK();
            mark(g, g->ev_bwd, i);
            continue;
        }
        spare = d;
        d = dx;
        mark(g, g->ev_bwd, i);
    }
    return VSIM_OK;
}

/* the update, off on the GPU when the loss was not finite; the norms into g->res */
static int adam_step(vsim_cuda *g, const vsim_adam *a, double lr)
{
    const double t = (double)(g->adam_t + 1);
    const float step = (float)(lr * sqrt(1.0 - pow(a->beta2, t)) / (1.0 - pow(a->beta1, t)));

    k_adam<<<dim3(ADAM_BLOCKS, (unsigned)g->n_tensors), THREADS>>>(
        g->params, g->adam_m, g->adam_v, g->grads, g->spans, (float)a->beta1, (float)a->beta2,
        (float)a->eps, step, g->res, g->adam_part);
    k_adam_final<<<(unsigned)g->n_tensors, THREADS>>>(g->adam_part, g->res);
    LAUNCH_CHECK();
    return VSIM_OK;
}

/* the batch into g->x: from the host (x != NULL) or gathered from the images on the GPU */
static int load_batch(vsim_cuda *g, const float *x, int b)
{
    const size_t px = (size_t)g->side * g->side;

    if (b < 1 || b > g->cap)
        return vsim_fail(VSIM_EINVAL, "batch %d outside 1..%d", b, g->cap);
    if (x) {
        CU(cudaMemcpy(g->x, x, (size_t)b * px * sizeof(float), cudaMemcpyHostToDevice));
        return VSIM_OK;
    }
    CU(cudaMemcpyAsync(g->idx, g->h_idx, (size_t)b * sizeof(int), cudaMemcpyHostToDevice, 0));
    LAUNCH_IDX(k_gather, (size_t)b * px, g->images, g->idx, (size_t)b * px, px, g->x);
    LAUNCH_CHECK();
    return VSIM_OK;
}

/* what every call but vsim_cuda_train_finish answers while a step is queued */
static int refuse_pending(void)
{
    return vsim_fail(VSIM_EINVAL, "a training step is still queued on the GPU");
}

/* copy the first n_res figures back into g->h_res once the work queued so far is done */
static int queue_fetch(vsim_cuda *g, size_t n_res)
{
    CU(cudaMemcpyAsync(g->h_res, g->res, n_res * sizeof(double), cudaMemcpyDeviceToHost, 0));
    return VSIM_OK;
}

static int wait_fetch(void)
{
    CU(cudaStreamSynchronize(0));
    return VSIM_OK;
}

static void loss_out(const vsim_cuda *g, vsim_loss_value *out)
{
    out->mse = g->h_res[R_MSE];
    out->ssim = g->h_res[R_SSIM];
    out->psnr = out->mse > 0.0 ? 10.0 * log10(1.0 / out->mse) : (double)INFINITY;
    out->total = g->h_res[R_TOTAL];
}

/* queue a whole training step on the GPU; train_finish waits for it */
static int train_launch(vsim_cuda *g, const float *x, int b, const vsim_loss_spec *loss,
                        const vsim_adam *adam, double lr)
{
    int full = isfinite(lr), rc;

    if (g->pending)
        return refuse_pending();
    mark(g, g->ev, 0);
    rc = load_batch(g, x, b);
    mark(g, g->ev, 1);
    if (!rc)
        rc = forward(g, b);
    mark(g, g->ev, 2);
    if (!rc)
        rc = loss_eval(g, loss, b, full);
    mark(g, g->ev, 3);
    if (!rc && full)
        rc = backward(g, b);
    mark(g, g->ev, 4);
    if (!rc && full)
        rc = adam_step(g, adam, lr);
    mark(g, g->ev, 5);
    if (!rc)
        rc = queue_fetch(g, full ? g->n_res : (size_t)R_TENSORS);
    if (rc)
        return rc;
    g->pending = 1;
    g->pending_full = full;
    g->pending_lr = lr;
    return VSIM_OK;
}

static int train_finish(vsim_cuda *g, vsim_loss_value *out)
{
    int rc;

    if (!g->pending)
        return vsim_fail(VSIM_EINVAL, "no training step is queued");
    g->pending = 0;
    if ((rc = wait_fetch()) != VSIM_OK)
        return rc;
    loss_out(g, out);
    if (!isfinite(out->total))
        return vsim_fail(VSIM_ENUMERIC, "loss is %s", isnan(out->total) ? "NaN" : "infinite");
    if (!g->pending_full)
        return vsim_fail(VSIM_ENUMERIC, "learning rate is %g", g->pending_lr);
    if (g->profile && g->adam_t > 0) {    /* not the first step: it carries the start-up */
        float ms = 0.0f;

        for (int p = 0; p < P_COUNT; p++) {
            cudaEventElapsedTime(&ms, g->ev[p], g->ev[p + 1]);
            g->phase_ms[p] += ms;
        }
        for (int i = 0; i < g->n_layers; i++) {
            cudaEventElapsedTime(&ms, g->ev_fwd[i], g->ev_fwd[i + 1]);
            g->fwd_ms[i] += ms;
            cudaEventElapsedTime(&ms, g->ev_bwd[i + 1], g->ev_bwd[i]);
            g->bwd_ms[i] += ms;
        }
        g->n_profiled++;
    }
    g->adam_t++;
    {
        double sg = 0.0;

        /* the update ratio over the weight, as the CPU path; the norm over all */
        for (int i = 0; i < g->n_layers; i++) {
            const double *w = g->h_res + R_TENSORS + 3 * (2 * i), *bb = w + 3;

            g->update_ratio[i] = w[1] > 0.0 ? sqrt(w[0] / w[1]) : 0.0;
            sg += w[2] + bb[2];
        }
        g->grad_norm = sqrt(sg);
    }
    return VSIM_OK;
}

extern "C" int vsim_cuda_train_step(vsim_cuda *g, const float *x, int b,
                                    const vsim_loss_spec *loss, const vsim_adam *adam, double lr,
                                    vsim_loss_value *out)
{
    int rc;

    if (!x)
        return vsim_fail(VSIM_EINVAL, "no batch");
    rc = train_launch(g, x, b, loss, adam, lr);
    return rc ? rc : train_finish(g, out);
}

extern "C" int vsim_cuda_set_images(vsim_cuda *g, const uint8_t *images, size_t n_examples)
{
    const size_t bytes = n_examples * (size_t)g->side * g->side;
    size_t free_b = 0, total_b = 0;

    if (g->pending)
        return refuse_pending();
    cudaFree(g->images);
    g->images = NULL;
    g->n_images = 0;
    if (n_examples > (size_t)INT_MAX)
        return vsim_fail(VSIM_EUNSUP, "%zu examples are too many to index on the GPU",
                         n_examples);
    CU(cudaMemGetInfo(&free_b, &total_b));
    if (bytes > free_b / 4)
        return vsim_fail(VSIM_EUNSUP, "the images (%zu MB) would take over a quarter of the "
                         "GPU's free memory (%zu MB)", bytes >> 20, free_b >> 20);
    CU(cudaMalloc(&g->images, bytes ? bytes : 1));
    CU(cudaMemcpy(g->images, images, bytes, cudaMemcpyHostToDevice));
    g->n_images = n_examples;
    return VSIM_OK;
}

extern "C" int vsim_cuda_train_launch_idx(vsim_cuda *g, const size_t *idx, int b,
                                          const vsim_loss_spec *loss, const vsim_adam *adam,
                                          double lr)
{
    if (g->pending)
        return refuse_pending();
    if (!g->images)
        return vsim_fail(VSIM_EINVAL, "no images on the GPU (vsim_cuda_set_images)");
    if (b < 1 || b > g->cap)
        return vsim_fail(VSIM_EINVAL, "batch %d outside 1..%d", b, g->cap);
    for (int i = 0; i < b; i++) {
        if (idx[i] >= g->n_images)
            return vsim_fail(VSIM_EINVAL, "example %zu of %zu", idx[i], g->n_images);
        g->h_idx[i] = (int)idx[i];
    }
    return train_launch(g, NULL, b, loss, adam, lr);
}

extern "C" int vsim_cuda_train_finish(vsim_cuda *g, vsim_loss_value *out)
{
    return train_finish(g, out);
}

extern "C" int vsim_cuda_eval_batch(vsim_cuda *g, const float *x, int b,
                                    const vsim_loss_spec *loss, vsim_loss_value *out)
{
    int rc;

    if (!x)
        return vsim_fail(VSIM_EINVAL, "no batch");
    if (g->pending)
        return refuse_pending();
    rc = load_batch(g, x, b);
    if (!rc)
        rc = forward(g, b);
    if (!rc)
        rc = loss_eval(g, loss, b, 0);
    if (!rc)
        rc = queue_fetch(g, R_TENSORS);
    if (!rc)
        rc = wait_fetch();
    if (!rc)
        loss_out(g, out);
    return rc;
}

extern "C" int vsim_cuda_download(vsim_cuda *g, vsim_model *m, unsigned what)
{
    if (g->pending)
        return refuse_pending();
    if (what & VSIM_CUDA_PARAMS)
        CU(cudaMemcpy(m->params, g->params, g->n_params * sizeof(float),
                      cudaMemcpyDeviceToHost));
    if (what & VSIM_CUDA_GRADS)
        CU(cudaMemcpy(m->grads, g->grads, g->n_params * sizeof(float),
                      cudaMemcpyDeviceToHost));
    if (what & VSIM_CUDA_ADAM) {
        CU(cudaMemcpy(m->adam_m, g->adam_m, g->n_params * sizeof(float),
                      cudaMemcpyDeviceToHost));
        CU(cudaMemcpy(m->adam_v, g->adam_v, g->n_params * sizeof(float),
                      cudaMemcpyDeviceToHost));
        m->adam_t = g->adam_t;
    }
    if (what & VSIM_CUDA_STATS) {
        m->grad_norm = g->grad_norm;
        memcpy(m->update_ratio, g->update_ratio, sizeof(m->update_ratio));
    }
    return VSIM_OK;
}
