# sweep/: pruners as Optuna defines them, the sweep driver's journal and ledger (issue 15).
LIB_SRCS += sweep/study.c sweep/replay.c
HELPERS += study-replay
PROGS += vsim-sweep
MANPAGES += docs/man/vsim-sweep.1
