# vsim - top-level GNU Makefile. Each module lists its sources in <module>/module.mk.
# Knobs: OPENMP=0|1  CAIRO=0|1  SAN=address,undefined  VSIM_TEST=1  DEVELOPER=1  PREFIX=/usr/local
# Targets: all trainer check test asan-check bench demo samples install clean deps

.DEFAULT_GOAL := all
SHELL := /bin/bash

CC ?= cc
PREFIX ?= /usr/local
OPENMP ?= 1
CAIRO ?= 1
PYTHON ?= /usr/bin/python3

ifneq ($(SAN),)
BUILD ?= build-san
BIN ?= build-san/bin
SANFLAGS := -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPTFLAGS ?= -O1 -g
else
BUILD ?= build
BIN ?= bin
SANFLAGS :=
OPTFLAGS ?= -O2 -g
endif

PKG_ALL := hdf5 gsl cairo jansson openblas
# One pkg-config call per package: a single call prints nothing when any one
# package is missing (the GPU machine has HDF5 and OpenBLAS but no GSL or cairo).
pkgc = $(foreach p,$(1),$(shell pkg-config --cflags $(p) 2>/dev/null))
pkgl = $(foreach p,$(1),$(shell pkg-config --libs $(p) 2>/dev/null))

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wdouble-promotion -Wvla
ifeq ($(DEVELOPER),1)
WARN += -Werror
endif

OMPFLAGS :=
ifeq ($(OPENMP),1)
OMPFLAGS := -fopenmp
else
WARN += -Wno-unknown-pragmas
endif

CPPFLAGS_ALL := -I. -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(call pkgc,$(PKG_ALL))
ifeq ($(VSIM_TEST),1)
CPPFLAGS_ALL += -DVSIM_TEST=1
endif
ifeq ($(CAIRO),1)
CPPFLAGS_ALL += -DVSIM_HAVE_CAIRO=1
endif
CFLAGS_ALL := -std=c11 $(OPTFLAGS) -fPIC $(WARN) $(OMPFLAGS) $(SANFLAGS) $(CFLAGS)
LDFLAGS_ALL := $(OMPFLAGS) $(SANFLAGS) $(LDFLAGS)

LIBS_TRAINER := $(call pkgl,hdf5) $(call pkgl,openblas) -lm -lpthread
LIBS_ALL := $(call pkgl,openblas) $(call pkgl,hdf5 jansson) $(filter-out -lgslcblas,$(call pkgl,gsl)) -lm -lpthread
ifeq ($(CAIRO),1)
LIBS_ALL += $(call pkgl,cairo)
endif

# Filled by the module fragments.
CORE_SRCS :=
WRITER_SRCS :=
LIB_SRCS :=
GEN_SRCS :=
TRAINER_SRCS :=
PROGS :=
UNIT_TESTS :=
HELPERS :=
BENCHES :=
MANPAGES :=

include core/module.mk
include readers/module.mk
include $(wildcard analyze/module.mk analyze/tsne.mk samples/module.mk plot/module.mk rules/module.mk sweep/module.mk \
                   reports/module.mk trainer/module.mk)
include cli/module.mk
include tests/module.mk

ALL_LIB_SRCS := $(CORE_SRCS) $(WRITER_SRCS) $(LIB_SRCS)
ALL_LIB_OBJS := $(ALL_LIB_SRCS:%.c=$(BUILD)/%.o) $(GEN_SRCS:%.c=%.o)
TRAINER_LIB_OBJS := $(CORE_SRCS:%.c=$(BUILD)/%.o) $(WRITER_SRCS:%.c=$(BUILD)/%.o) \
                    $(TRAINER_SRCS:%.c=$(BUILD)/%.o)
LIBVSIM := $(BUILD)/libvsim.a
LIBVSIM_SO := $(BUILD)/libvsim.so
LIBTRAINER := $(BUILD)/libvsim-trainer.a

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

# Generated sources (embedded assets) live under $(BUILD)/gen/.
$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(LIBVSIM): $(ALL_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(LIBVSIM_SO): $(ALL_LIB_OBJS)
	$(CC) -shared -o $@ $^ $(LDFLAGS_ALL) $(LIBS_ALL)

$(LIBTRAINER): $(TRAINER_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

all: $(addprefix $(BIN)/,$(PROGS)) $(LIBVSIM) $(LIBVSIM_SO)

# Programs: bin/vsim-X from cli/vsim-X.c + cli/cli.c + libvsim.a
$(BIN)/vsim-%: $(BUILD)/cli/vsim-%.o $(BUILD)/cli/cli.o $(LIBVSIM)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS_ALL) -o $@ $(BUILD)/cli/vsim-$*.o $(BUILD)/cli/cli.o $(LIBVSIM) $(LIBS_ALL)

# Unit tests and test helper programs link the whole library.
$(BUILD)/tests/%: $(BUILD)/tests/%.o $(LIBVSIM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(LIBVSIM) $(LIBS_ALL)

# Benchmark programs: bench/<name>.c -> $(BUILD)/bench/<name>
$(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIBVSIM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(LIBVSIM) $(LIBS_ALL)

BENCH_BINS := $(BENCHES:%=$(BUILD)/bench/%)
bench-build: $(BENCH_BINS)

UNIT_BINS := $(UNIT_TESTS:%=$(BUILD)/tests/unit/%)
HELPER_BINS := $(HELPERS:%=$(BUILD)/tests/helpers/%)

tests-build: all $(UNIT_BINS) $(HELPER_BINS)

# Dependency check: installs missing Debian packages (idempotent, quiet when present).
deps:
	@scripts/deps.sh

# The quick tier: unit tests and CLI tests against this build.
test: tests-build
	@VSIM_BIN=$(CURDIR)/$(BIN) VSIM_BUILD=$(CURDIR)/$(BUILD) PYTHON=$(PYTHON) \
	    scripts/run-tests.sh $(UNIT_BINS) -- tests/cli/t*.sh

check: deps check-binaries
	@$(MAKE) --no-print-directory test
	@$(MAKE) --no-print-directory asan-check

asan-check: deps
	@$(MAKE) --no-print-directory SAN=address,undefined VSIM_TEST=1 test

bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory all bench-build
	@VSIM_BIN=$(CURDIR)/$(BIN) VSIM_BUILD=$(CURDIR)/$(BUILD) PYTHON=$(PYTHON) bench/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@VSIM_BIN=$(CURDIR)/$(BIN) scripts/demo.sh

check-layers:
	@scripts/check-layers.sh

# Fails when git tracks an ELF file or an ar archive (a build output committed by mistake).
check-binaries:
	@scripts/check-binaries.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/include/vsim $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(addprefix $(BIN)/,$(PROGS)) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(LIBVSIM) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(LIBVSIM_SO) $(DESTDIR)$(PREFIX)/lib/
	for h in $$(ls core/*.h readers/*.h analyze/*.h plot/*.h rules/*.h reports/*.h \
	        samples/*.h trainer/*.h 2>/dev/null | grep -v '_int\.h$$'); do \
	    install -d $(DESTDIR)$(PREFIX)/include/vsim/$$(dirname $$h); \
	    install -m 644 $$h $(DESTDIR)$(PREFIX)/include/vsim/$$h; done
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(shell sed -n 's/.*VSIM_VERSION "\(.*\)"/\1/p' core/vsim.h)|' \
	    -e 's|@REQUIRES@|$(PKG_ALL)|' docs/vsim.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/vsim.pc
	install -m 644 $(MANPAGES) $(DESTDIR)$(PREFIX)/share/man/man1/

clean:
	rm -rf build build-san bin

.PHONY: all trainer deps test check asan-check bench bench-build demo samples install clean \
        check-layers check-binaries tests-build

.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
