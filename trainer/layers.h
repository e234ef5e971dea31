/*
 * trainer/layers.h - CPU kernels of the autoencoder's layers: 4x4 stride-2
 * convolution (pad 1) by im2col + sgemm, its transpose (sgemm + col2im), fully
 * connected layers, ReLU and sigmoid. Spatial activations use the CNHW layout
 * (x[c][b][y][x]) so that one sgemm covers the whole batch; fully connected
 * activations are row-major [batch][features]. Weights follow PyTorch's
 * layouts: conv [out][in][4][4], transposed conv [in][out][4][4], fc [out][in].
 * Every kernel is deterministic for a given thread count (each output element
 * is written by one thread, sums run in a fixed order).
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_TRAINER_LAYERS_H
#define VSIM_TRAINER_LAYERS_H

#include <stddef.h>

typedef enum vsim_act {
    VSIM_ACT_NONE = 0,
    VSIM_ACT_RELU,
    VSIM_ACT_SIGMOID
} vsim_act;

/* Shape of a (transposed) convolution over a batch; h, w are the input size. */
typedef struct vsim_conv_dims {
    int n_in;      /* input channels */
    int n_out;     /* output channels */
    int batch;
    int h, w;      /* input height and width (even for a convolution) */
} vsim_conv_dims;

/*
 * Make the BLAS library (OpenBLAS) single-threaded: the kernels split their
 * matrix products over their own OpenMP threads (n_threads arguments), and a
 * second thread pool inside BLAS would fight them for cores. A process-wide
 * setting, so the library never calls it by itself; programs and tests call it
 * once at start-up.
 */
void vsim_layer_blas_init(void);

/*
 * im2col of a 4x4 stride-2 pad-1 convolution: x is [c][b][h][w]; cols is
 * [c*16][b*(h/2)*(w/2)], row c*16+ky*4+kx, zero where the window leaves x.
 */
void vsim_layer_im2col(const float *x, int c, int b, int h, int w, float *cols, int n_threads);
/* The adjoint of im2col: x (overwritten) = sum of the columns' contributions. */
void vsim_layer_col2im(const float *cols, int c, int b, int h, int w, float *x, int n_threads);

/*
 * Convolution forward: y [n_out][b][h/2][w/2] = act(W * im2col(x) + bias).
 * cols is scratch of n_in*16 * b*(h/2)*(w/2) floats.
 */
void vsim_layer_conv_forward(const vsim_conv_dims *d, const float *x, const float *wt,
                             const float *bias, vsim_act act, float *cols, float *y,
                             int n_threads);
/*
 * Convolution backward. dy is the gradient with respect to the layer's
 * pre-activation output (see vsim_layer_act_backward). Writes dw, db
 * (overwritten) and dx (overwritten; may be NULL to skip it). cols: scratch as
 * for forward.
 */
void vsim_layer_conv_backward(const vsim_conv_dims *d, const float *x, const float *wt,
                              const float *dy, float *cols, float *dx, float *dw, float *db,
                              int n_threads);

/*
 * Transposed convolution forward: y [n_out][b][2h][2w] = act(col2im(W^T x) + bias).
 * cols is scratch of n_out*16 * b*h*w floats.
 */
void vsim_layer_deconv_forward(const vsim_conv_dims *d, const float *x, const float *wt,
                               const float *bias, vsim_act act, float *cols, float *y,
                               int n_threads);
/* Transposed convolution backward; same contract as vsim_layer_conv_backward. */
void vsim_layer_deconv_backward(const vsim_conv_dims *d, const float *x, const float *wt,
                                const float *dy, float *cols, float *dx, float *dw, float *db,
                                int n_threads);

/* Fully connected forward: y [b][n_out] = act(x [b][n_in] * W^T + bias). */
void vsim_layer_fc_forward(int b, int n_in, int n_out, const float *x, const float *wt,
                           const float *bias, vsim_act act, float *y, int n_threads);
/* Fully connected backward (dy pre-activation); dx may be NULL. */
void vsim_layer_fc_backward(int b, int n_in, int n_out, const float *x, const float *wt,
                            const float *dy, float *dx, float *dw, float *db, int n_threads);

/*
 * Turn dy (gradient with respect to the activation's output y) into the
 * gradient with respect to its input, in place, using the saved output y.
 */
void vsim_layer_act_backward(vsim_act act, const float *y, float *dy, size_t n, int n_threads);

/* Transpose between CNHW [c][b][p] and row-major [b][c*p] (p = pixels per map). */
void vsim_layer_cnhw_to_rows(const float *x, int c, int b, int p, float *rows, int n_threads);
void vsim_layer_rows_to_cnhw(const float *rows, int c, int b, int p, float *x, int n_threads);

#endif
