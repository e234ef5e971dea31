# plot/: cairo charts (PNG, SVG, PDF) and the gnuplot pipe (issue 6).
# analyze/series.c (reading runs and CSV/HDF5 files into arrays for the charts)
# belongs to this issue and is registered here, not in analyze/module.mk.
LIB_SRCS += plot/scale.c plot/canvas.c plot/chart.c plot/chart_scatter.c plot/chart_dist.c \
            plot/chart_grid.c plot/chart_lines.c plot/render_cairo.c plot/gnuplot.c \
            analyze/series.c
PROGS += vsim-plot
UNIT_TESTS += test_plot
HELPERS += plot-mkrun
MANPAGES += docs/man/vsim-plot.1
BENCHES += bench_plot

# PNG charts are encoded with libpng directly (faster settings than cairo's
# encoder, plot/render_cairo.c); libpng comes with cairo. Without it, cairo's.
ifeq ($(CAIRO),1)
ifneq ($(call pkgl,libpng),)
CPPFLAGS_ALL += -DVSIM_HAVE_LIBPNG=1 $(call pkgc,libpng)
LIBS_ALL += $(call pkgl,libpng)
endif
endif
