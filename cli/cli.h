/*
 * cli/cli.h - what every vsim program shares: the option table, getopt_long
 * parsing, --help generated from the table, error printing and the exit codes.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_CLI_CLI_H
#define VSIM_CLI_CLI_H

#include <stddef.h>
#include <stdint.h>

/* Exit codes shared by every program (docs/architecture.md). */
enum {
    VSIM_EXIT_OK = 0,
    VSIM_EXIT_ERROR = 1,
    VSIM_EXIT_USAGE = 2,
    VSIM_EXIT_FINDING = 3,
    VSIM_EXIT_PARTIAL = 4
};

typedef enum vsim_opt_type {
    VSIM_OPT_T_END = 0,
    VSIM_OPT_T_FLAG,      /* int: set to 1 */
    VSIM_OPT_T_INT,       /* int */
    VSIM_OPT_T_INT64,     /* int64_t */
    VSIM_OPT_T_DOUBLE,    /* double */
    VSIM_OPT_T_STRING,    /* const char *, points into argv */
    VSIM_OPT_T_CALLBACK   /* cb(opt, arg); arg is NULL for options without argument */
} vsim_opt_type;

typedef struct vsim_opt vsim_opt;
/* Return 0 if arg was accepted; otherwise a usage error is reported. */
typedef int (*vsim_opt_cb)(const vsim_opt *opt, const char *arg);

struct vsim_opt {
    int short_name;          /* 0 if none */
    const char *long_name;
    vsim_opt_type type;
    void *value;
    const char *argname;     /* NULL: the option takes no argument (FLAG, or CALLBACK) */
    const char *help;
    vsim_opt_cb cb;
};

#define VSIM_OPT_FLAG(s, l, v, h) { (s), (l), VSIM_OPT_T_FLAG, (v), NULL, (h), NULL }
#define VSIM_OPT_INT(s, l, v, a, h) { (s), (l), VSIM_OPT_T_INT, (v), (a), (h), NULL }
#define VSIM_OPT_INT64(s, l, v, a, h) { (s), (l), VSIM_OPT_T_INT64, (v), (a), (h), NULL }
#define VSIM_OPT_DOUBLE(s, l, v, a, h) { (s), (l), VSIM_OPT_T_DOUBLE, (v), (a), (h), NULL }
#define VSIM_OPT_STRING(s, l, v, a, h) { (s), (l), VSIM_OPT_T_STRING, (v), (a), (h), NULL }
#define VSIM_OPT_CALLBACK(s, l, v, a, h, f) { (s), (l), VSIM_OPT_T_CALLBACK, (v), (a), (h), (f) }
#define VSIM_OPT_END { 0, NULL, VSIM_OPT_T_END, NULL, NULL, NULL, NULL }

typedef struct vsim_cli {
    const char *prog;        /* "vsim-ls" */
    const char *usage;       /* "RUN [options]" */
    const char *summary;     /* one line */
    const char *footer;      /* extra help text (examples); may be NULL */
    int min_args, max_args;  /* positional arguments; max_args < 0: unlimited */
} vsim_cli;

/*
 * Parse argv against opts (terminated by VSIM_OPT_END). --help and --version
 * are added; they print on stdout and exit 0. A usage error prints
 * "prog: usage error: ..." on stderr and exits 2. On return, *first_arg is the
 * index of the first positional argument.
 */
void vsim_cli_parse(const vsim_cli *cli, const vsim_opt *opts, int argc, char **argv,
                    int *first_arg);

/* Print "prog: usage error: ..." and exit 2. */
void vsim_cli_usage_error(const vsim_cli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* Print "prog: error: <vsim_errmsg()>" on stderr and return VSIM_EXIT_ERROR. */
int vsim_cli_error(const char *prog);

/* Print "prog: warning: ..." on stderr. */
void vsim_cli_warn(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* 1 if the process was started with the environment variable VSIM_QUIET set or stderr not a tty. */
int vsim_cli_quiet(void);

/*
 * Make OpenMP's idle threads sleep instead of spin (OMP_WAIT_POLICY=passive)
 * unless the user set OMP_WAIT_POLICY: libgomp reads it only at start-up, so
 * this sets it and re-executes the program (the file /proc/self/exe names,
 * same argv); it returns when the policy is already set, under valgrind, when
 * a loader runs the program (ld.so ...), or when the re-execution failed. The
 * re-executed process removes the variables again, so that the programs it
 * starts see the user's environment.
 * Spinning threads steal the cores from the working one when other processes
 * share the machine (vsim-stats 2.4x, vsim-tsne 4x slower at load 1.5-4 on 2
 * cores; bench/RESULTS.md, docs/tsne.md). Call first thing in main.
 */
void vsim_cli_omp_passive(char **argv);

/*
 * Programs that map shards (vsim_trial_map) call this: a shard truncated
 * while mapped raises SIGBUS (BUS_ADRERR) on access, which then ends the
 * program with "prog: a shard shrank while it was mapped (shards must not
 * change once written); stopping" on stderr and exit status 1 instead of a
 * crash. Any other SIGBUS keeps its default action.
 */
void vsim_cli_sigbus(const char *prog);

#endif
