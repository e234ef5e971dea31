/*
 * trainer/model_h5.h - the parameters of a model as HDF5 datasets
 * params/<layer>/weight and params/<layer>/bias (PyTorch's layouts), shared
 * by model files (trainer/model_io.c) and checkpoints (trainer/checkpoint.c).
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_TRAINER_MODEL_H5_H
#define VSIM_TRAINER_MODEL_H5_H

#include <hdf5.h>

#include "core/vsim.h"
#include "trainer/model.h"

/* Write every parameter of m into file; -1 on an HDF5 failure. */
VSIM_INTERNAL int vsim_model_h5_write(hid_t file, const vsim_model *m);
/* Read every parameter of m (shapes checked) from file; VSIM_EFORMAT naming path. */
VSIM_INTERNAL int vsim_model_h5_read(hid_t file, const char *path, vsim_model *m);

#endif
