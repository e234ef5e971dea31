# samples/: multi-view renderer, procedural part families, mesh readers, importers (issue 3).
LIB_SRCS += samples/mesh.c samples/shape.c samples/parts.c samples/render.c samples/stl.c \
            samples/obj.c samples/dataset.c samples/samples.c samples/fmnist.c samples/sheet.c
# The Fashion-MNIST importer reads the .gz idx files through zlib (already a dependency
# of HDF5 and cairo/libpng, so nothing new to install).
LIBS_ALL += -lz
PROGS += vsim-render
UNIT_TESTS += test_samples
BENCHES += bench_render
MANPAGES += docs/man/vsim-render.1

samples: samples/parts.h5

samples/parts.h5: $(BIN)/vsim-render
	VSIM_QUIET=1 $(BIN)/vsim-render -o $@ --designs 64 --views 6 --size 64 --seed 1
