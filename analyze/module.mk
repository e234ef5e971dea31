# analyze/: per-tensor statistics and the run walk behind vsim-stats (issue 5).
LIB_SRCS += analyze/stats.c analyze/quantile.c analyze/hist.c analyze/stats_series.c \
            analyze/stats_run.c
UNIT_TESTS += test_stats
HELPERS += stats-mkrun
PROGS += vsim-stats
BENCHES += bench_stats
MANPAGES += docs/man/vsim-stats.1
