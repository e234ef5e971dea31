# trainer/ - vsim-train (issue 4). The C sources need HDF5, BLAS, core and the
# shard writer only. The CUDA backend (trainer/cuda.cu) is compiled when nvcc is
# found (and no sanitizer is on); otherwise trainer/cuda_stub.c answers VSIM_EUNSUP.
# Knobs: NVCC=path (empty: no CUDA), CUDA_ARCH=sm_90.
TRAINER_SRCS += trainer/layers.c trainer/loss.c trainer/model.c trainer/model_io.c \
                trainer/data.c trainer/device.c trainer/capture.c trainer/train.c \
                trainer/fault.c trainer/checkpoint.c
LIB_SRCS += $(TRAINER_SRCS) trainer/cuda_stub.c
PROGS += vsim-train
UNIT_TESTS += test_trainer
MANPAGES += docs/man/vsim-train.1

NVCC ?= $(firstword $(wildcard /usr/local/cuda/bin/nvcc) $(shell command -v nvcc 2>/dev/null))
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
CUDA_ARCH ?= sm_90
TRAINER_DEVICE_OBJ := $(BUILD)/trainer/cuda_stub.o
TRAINER_DEVICE_LIBS :=
ifneq ($(NVCC),)
ifeq ($(SAN),)
TRAINER_DEVICE_OBJ := $(BUILD)/trainer/cuda.o
TRAINER_DEVICE_LIBS := -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublas -lcudart \
                       -lstdc++
endif
endif

$(BUILD)/trainer/cuda.o: trainer/cuda.cu trainer/device.h trainer/model.h trainer/loss.h \
                         trainer/layers.h core/vsim.h
	@mkdir -p $(dir $@)
	$(NVCC) -O2 -std=c++17 -arch=$(CUDA_ARCH) -I. -Xcompiler -fPIC,-Wall,-Wextra -c $< -o $@

# The trainer library: core + writer + trainer + the device backend.
$(BUILD)/libvsim-trainer.a: $(TRAINER_DEVICE_OBJ)

# vsim-train links the trainer library alone (no jansson, GSL, cairo), with CUDA if built.
$(BIN)/vsim-train: $(BUILD)/cli/vsim-train.o $(BUILD)/cli/cli.o $(BUILD)/libvsim-trainer.a
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS_ALL) -o $@ $(BUILD)/cli/vsim-train.o $(BUILD)/cli/cli.o \
	    $(BUILD)/libvsim-trainer.a $(LIBS_TRAINER) $(TRAINER_DEVICE_LIBS)

trainer: $(BIN)/vsim-train
