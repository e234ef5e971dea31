/*
 * trainer/model.h - the visual-similarity autoencoder (docs/architecture.md): model
 * specs, parameters in one flat array, forward and backward passes on the CPU,
 * Adam, and model files (HDF5).
 *
 * Model spec syntax (comma-separated key=value, dash-separated widths):
 *     input=64,conv=32-64-128-256,fc=1024-512-256-128
 * input: side of the square grey-scale input (divisible by 2^(number of convs));
 * conv:  output channels of the encoder's 4x4 stride-2 convolutions (ReLU), may be empty;
 * fc:    widths of the encoder's fully connected layers after flattening (ReLU,
 *        the last is the latent vector, linear), at least one.
 * The decoder mirrors the encoder: fully connected layers back to the
 * flattened size (ReLU), then 4x4 stride-2 transposed convolutions back to one
 * channel; the output layer is a sigmoid. Presets: "wide" and "slim" (below).
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_TRAINER_MODEL_H
#define VSIM_TRAINER_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "trainer/layers.h"
#include "trainer/loss.h"

#define VSIM_MODEL_PRESET_WIDE "input=64,conv=32-64-128-256,fc=1024-512-256-128"
#define VSIM_MODEL_PRESET_SLIM "input=64,conv=32-64-128-256,fc=512-256-64"
#define VSIM_MODEL_MAX_STAGE 8
#define VSIM_MODEL_MAX_LAYERS (4 * VSIM_MODEL_MAX_STAGE)
#define VSIM_MODEL_SCHEMA "vsim-model/1"

typedef struct vsim_model_spec {
    int input;                          /* side of the input image, pixels */
    int n_conv;
    int conv[VSIM_MODEL_MAX_STAGE];     /* encoder conv output channels */
    int n_fc;
    int fc[VSIM_MODEL_MAX_STAGE];       /* encoder fc widths; fc[n_fc-1] is the latent size */
} vsim_model_spec;

typedef enum vsim_layer_kind {
    VSIM_LAYER_CONV = 0,
    VSIM_LAYER_FC,
    VSIM_LAYER_DECONV
} vsim_layer_kind;

typedef struct vsim_model_layer {
    vsim_layer_kind kind;
    vsim_act act;
    char name[32];          /* "encoder/conv1", "decoder/fc2", ... */
    int n_in, n_out;        /* channels (conv, deconv) or features (fc) */
    int in_side;            /* input side, pixels (1 for fc) */
    int out_side;           /* output side, pixels (1 for fc) */
    int transpose_in;       /* 1: the input is the previous output in the other layout */
    size_t w_off, n_w;      /* weight: offset and count in the flat parameter array */
    size_t b_off, n_b;      /* bias: offset and count */
} vsim_model_layer;

/* Adam (Kingma & Ba 2015) settings. */
typedef struct vsim_adam {
    double beta1, beta2, eps;
} vsim_adam;

#define VSIM_ADAM_INIT { 0.9, 0.999, 1e-8 }

typedef struct vsim_model {
    vsim_model_spec spec;
    int n_layers;
    vsim_model_layer layers[VSIM_MODEL_MAX_LAYERS];
    int latent_layer;       /* index of the layer whose output is the latent vector */
    size_t n_params;
    float *params, *grads;  /* n_params each */
    float *adam_m, *adam_v; /* Adam moments, n_params each */
    int64_t adam_t;         /* Adam steps taken */
    double grad_norm;       /* L2 norm of all gradients of the last backward pass */
    double update_ratio[VSIM_MODEL_MAX_LAYERS]; /* |dW| / |W| of the last Adam step */
    int n_threads;          /* 0: OpenMP default */
    /* work memory for batches of up to `capacity` images */
    int capacity;
    float *out[VSIM_MODEL_MAX_LAYERS];  /* each layer's output (after activation) */
    float *tin[VSIM_MODEL_MAX_LAYERS];  /* transposed input, for layers with transpose_in */
    float *cols, *d_a, *d_b;            /* im2col scratch, gradient ping-pong buffers */
    double *blk;                        /* per-block partial sums (deterministic norms) */
} vsim_model;

/*
 * Parse a spec or a preset name ("wide", "slim"). VSIM_EINVAL naming the
 * problem for unknown names, bad syntax, or sizes that do not fit.
 */
int vsim_model_spec_parse(const char *text, vsim_model_spec *out);
/* Append the canonical spec text ("input=..,conv=..,fc=..") to out. */
int vsim_model_spec_format(const vsim_model_spec *spec, vsim_buf *out);
/* Parameters of a spec, without allocating the model. */
size_t vsim_model_spec_n_params(const vsim_model_spec *spec);

/*
 * Create a model for batches of up to capacity images, its weights drawn from
 * vsim_rng streams (seed, layer) (He-normal for ReLU layers, LeCun-normal
 * otherwise; zero biases). VSIM_EINVAL, VSIM_ENOMEM.
 */
int vsim_model_create(const vsim_model_spec *spec, int capacity, uint64_t seed, int n_threads,
                      vsim_model **out);
void vsim_model_destroy(vsim_model *m);

/* Pixels of one input image (input * input). */
size_t vsim_model_image_elems(const vsim_model *m);
/* Latent vector width. */
int vsim_model_latent_dim(const vsim_model *m);

/*
 * Forward pass of b <= capacity images x [b][input][input] (values in [0,1]).
 * Returns the reconstruction [b][input][input] (borrowed, valid until the next pass).
 */
const float *vsim_model_forward(vsim_model *m, const float *x, int b);
/* Latent vectors [b][latent] of the last forward pass, copied into out. */
void vsim_model_latent(const vsim_model *m, int b, float *out);
/*
 * Output of layer i of the last forward pass in NCHW order ([b][c][h][w], or
 * [b][features] for fc), copied into out: vsim_model_layer_elems values per image.
 */
void vsim_model_layer_output(const vsim_model *m, int i, int b, float *out);
/* Output values per image of layer i. */
size_t vsim_model_layer_elems(const vsim_model *m, int i);
/* Shape of layer l's weight in PyTorch's layout (fc [out][in], conv
 * [out][in][4][4], transposed conv [in][out][4][4]) into shape; returns the rank. */
int vsim_model_weight_shape(const vsim_model_layer *l, size_t *shape);

/*
 * Backward pass after vsim_model_forward(x, b): dout [b][input][input] is
 * d loss / d output (borrowed; it may be m->d_a, which the pass then consumes);
 * m->grads receives d loss / d params and m->grad_norm their norm.
 */
void vsim_model_backward(vsim_model *m, const float *x, int b, float *dout);

/*
 * Adam step with learning rate lr on m->grads; fills m->update_ratio.
 * VSIM_ENUMERIC if lr is not finite (nothing changes then).
 */
int vsim_model_adam_step(vsim_model *m, const vsim_adam *adam, double lr);

/*
 * One training step: forward, loss, backward, Adam. OUT: *loss_out. Returns
 * VSIM_ENUMERIC (message names the step's loss) when the loss is NaN or
 * infinite, in which case the parameters are left unchanged.
 */
int vsim_model_train_step(vsim_model *m, const float *x, int b, const vsim_loss_spec *loss,
                          const vsim_adam *adam, double lr, vsim_loss_value *loss_out);

/* Loss of a batch without training. OUT: *loss_out. */
int vsim_model_eval_batch(vsim_model *m, const float *x, int b, const vsim_loss_spec *loss,
                          vsim_loss_value *loss_out);

/*
 * Save the spec and the parameters as HDF5 (atomically: path.tmp, fsync,
 * rename): root attributes vsim_schema and model_spec, datasets
 * /params/<layer>/weight and /params/<layer>/bias. VSIM_EIO naming the path.
 */
int vsim_model_save(const vsim_model *m, const char *path);
/*
 * Load a model saved by vsim_model_save for batches of up to capacity.
 * VSIM_EIO, VSIM_EFORMAT naming the file and the dataset, VSIM_ENOMEM.
 */
int vsim_model_load(const char *path, int capacity, int n_threads, vsim_model **out);

#endif
