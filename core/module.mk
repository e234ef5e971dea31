CORE_SRCS += core/error.c core/mem.c core/buf.c core/rng.c core/tensor.c core/fs.c
