/*
 * plot/gnuplot.h - the second chart backend (issue 6): line, band and
 * per-layer distribution (box) charts written as a gnuplot script with the
 * data inline, run through a pipe to gnuplot's pngcairo, svg or pdfcairo
 * terminal (format by extension), and optionally kept for the user to edit.
 * The chart file is written atomically: gnuplot draws into a temporary name
 * that is renamed on success and removed on failure.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_PLOT_GNUPLOT_H
#define VSIM_PLOT_GNUPLOT_H

#include "core/vsim.h"
#include "plot/plot.h"

typedef struct vsim_gnuplot_opts {
    const char *script_path;     /* also write the script here (its output is path); may be NULL */
    const char *program;         /* gnuplot to run; NULL: $VSIM_GNUPLOT, else "gnuplot" in PATH */
} vsim_gnuplot_opts;

#define VSIM_GNUPLOT_OPTS_INIT { NULL, NULL }

/*
 * Each draws the same chart as its cairo counterpart. path may be NULL when
 * opts->script_path is set: the script is written and gnuplot is not run.
 * VSIM_ENOTFOUND when gnuplot is not installed, VSIM_EIO with gnuplot's first
 * error line when it fails, VSIM_EINVAL for the same bad input as the cairo
 * charts. Not thread-safe only in that it runs a child process.
 */
int vsim_gnuplot_lines(const vsim_plot_lines *l, const vsim_plot_style *style, const char *path,
                       const vsim_gnuplot_opts *opts);
int vsim_gnuplot_bands(const vsim_plot_bands *s, size_t n_series, const vsim_plot_style *style,
                       const char *path, const vsim_gnuplot_opts *opts);
int vsim_gnuplot_dist(const vsim_plot_dist *d, const vsim_plot_style *style, const char *path,
                      const vsim_gnuplot_opts *opts);

/* The gnuplot program that would run (for messages), or NULL when none is found. */
const char *vsim_gnuplot_find(const vsim_gnuplot_opts *opts, char *buf, size_t cap);

#endif
