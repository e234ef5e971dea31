/*
 * rules/rules.h - smdebug-compatible rules over a captured run (issue 8): a rule
 * set parsed from "Name:key=value,..." specs, evaluated step by step over a
 * finished run or while watching a live one, with actions on firing (write
 * STOP, signal a process, run a command). Rule semantics: docs/rules.md.
 * A vsim_rules is used by one thread at a time; it uses OpenMP inside.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_RULES_RULES_H
#define VSIM_RULES_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/vsim.h"

/* What a rule answers at a step. */
typedef enum vsim_rule_result {
    VSIM_RULE_NOT_FIRED = 0,   /* evaluated, condition not met */
    VSIM_RULE_FIRED,           /* condition met */
    VSIM_RULE_SKIP,            /* tensor or step not available (or nothing to compare yet) */
    VSIM_RULE_END              /* the rule has nothing more to evaluate */
} vsim_rule_result;

/* "not_fired", "fired", "skip", "end". */
const char *vsim_rule_result_name(int result);

/* One verdict of one rule; strings are copied into the struct. */
typedef struct vsim_verdict {
    const char *rule;          /* instance name: "DeadRelu", or "DeadRelu#2" for a repeat */
    int result;                /* vsim_rule_result */
    int64_t step;              /* global step; -1 for a verdict about the whole run */
    int mode;                  /* vsim_mode of the step; -1 when step is -1 */
    int64_t mode_step;
    double wall_time;          /* the step's wall time (seconds since the epoch); NaN if none */
    char tensor[160];          /* evidence: the tensor ("" if none) */
    int64_t ref_step;          /* evidence: the step compared against; -1 if none */
    double value;              /* evidence: the value measured (NaN if none) */
    double threshold;          /* evidence: the threshold it was held to (NaN if none) */
    char message[320];
} vsim_verdict;

/* Append v as one JSON object (no newline). */
int vsim_verdict_json(const vsim_verdict *v, vsim_buf *out);

typedef struct vsim_rules vsim_rules;

int vsim_rules_create(vsim_rules **out);
void vsim_rules_destroy(vsim_rules *rs);   /* NULL is a no-op */

/*
 * Add a rule from "Name" or "Name:key=value,key=value". Name is the CamelCase name
 * (LossNotDecreasing, in any case) or smdebug's rule_configs name (loss_not_decreasing).
 * A token without '='
 * continues the previous value (so "collection_names=weights,biases" is one
 * list). VSIM_EINVAL with a message naming the rule, key or value for an
 * unknown rule, an unknown parameter, a malformed value or an inconsistent
 * combination (e.g. AllZero without collection_names or tensor_regex).
 */
int vsim_rules_add(vsim_rules *rs, const char *spec);
/*
 * The semantics of the rules added from now on (default "vsim"): "smdebug" gives
 * every rule smdebug's defaults and algorithm, "vsim" the noise-aware defaults
 * measured on the labelled corpus (docs/rules.md). A rule's own parameter
 * semantics=vsim|smdebug overrides it. VSIM_EINVAL for another name.
 */
int vsim_rules_set_semantics(vsim_rules *rs, const char *name);
/* Add every rule of a file: one spec per line; '#' starts a comment; blank lines skipped. */
int vsim_rules_add_file(vsim_rules *rs, const char *path);
/* The default set: LossNotDecreasing, VanishingGradient, ExplodingTensor, WeightUpdateRatio,
 * DeadRelu, LatentNeighbors, each with its defaults. */
int vsim_rules_add_defaults(vsim_rules *rs);
size_t vsim_rules_n(const vsim_rules *rs);
const char *vsim_rules_name(const vsim_rules *rs, size_t i);   /* instance name */

/* The manual of every built-in rule (names, parameters, defaults, meaning), as text;
 * each rule's heading is "CamelCase (snake_case)". */
int vsim_rules_list(vsim_buf *out);

/* smdebug's snake_case spelling of a CamelCase rule name ("DeadRelu" -> "dead_relu")
 * into out (n_out > 0 bytes, truncated to fit, always NUL-terminated). */
void vsim_rule_snake_name(const char *camel, char *out, size_t n_out);

/* Actions run once per rule, at its first firing (see docs/rules.md). */
typedef enum vsim_action_kind {
    VSIM_ACTION_STOP = 1,      /* write RUN/STOP atomically */
    VSIM_ACTION_SIGNAL,        /* kill(pid, sig) */
    VSIM_ACTION_EXEC           /* /bin/sh -c CMD with VSIM_RULE_* in the environment */
} vsim_action_kind;

typedef struct vsim_action {
    vsim_action_kind kind;
    int pid, sig;              /* SIGNAL */
    const char *cmd;           /* EXEC; borrowed */
} vsim_action;

/*
 * Parse "stop", "signal:PID[:SIG]" (SIG a number or a name such as TERM or
 * SIGINT; default TERM) or "exec:CMD" into *out (cmd borrowed from spec).
 * VSIM_EINVAL with a message otherwise.
 */
int vsim_action_parse(const char *spec, vsim_action *out);

/* Called for every verdict, in step order then rule order. Non-zero stops the run. */
typedef int (*vsim_verdict_fn)(void *ctx, const vsim_verdict *v);
/* Called with one line of log (actions taken, rules without tensors); no newline. */
typedef void (*vsim_rules_log_fn)(void *ctx, const char *line);

typedef struct vsim_rules_params {
    int watch;                 /* 1: follow a live run until END or timeout */
    int poll_ms;               /* watch: refresh interval (default 200) */
    double timeout_s;          /* watch: give up after this long; <= 0: no limit */
    const vsim_action *actions;
    size_t n_actions;
    int record;                /* 1: append verdicts to RUN/rules/verdicts.jsonl */
    int n_threads;             /* 0 = OpenMP default */
    int copy_values;           /* 1: read tensors into buffers; 0 (default): map tensors of
                                  VSIM_TRIAL_MAP_MIN bytes and more from the page cache
                                  (vsim_trial_map, no copy) where their storage allows */
    vsim_verdict_fn on_verdict;  void *verdict_ctx;   /* may be NULL */
    vsim_rules_log_fn log;       void *log_ctx;       /* may be NULL */
} vsim_rules_params;

#define VSIM_RULES_PARAMS_INIT { .poll_ms = 200 }

typedef struct vsim_rule_summary {
    const char *rule;          /* instance name (borrowed from the set) */
    size_t n_evaluated;        /* steps answered fired or not fired */
    size_t n_fired;            /* fired verdicts */
    int64_t first_fired_step;  /* -1 if never */
    int no_tensors;            /* 1 if its tensors never appeared */
    int n_actions;             /* actions run */
} vsim_rule_summary;

typedef struct vsim_rules_summary {
    size_t n_steps;            /* complete steps evaluated */
    int64_t last_step;         /* -1 if none */
    int ended;                 /* END seen */
    int timed_out;             /* watch stopped by timeout */
    size_t n_problems;         /* corrupt shards skipped */
    size_t n_rules;
    vsim_rule_summary *rules;  /* n_rules entries; vsim_rules_summary_release frees */
    double read_s;             /* seconds spent reading tensors (once per step) */
    double stats_s;            /* seconds computing their shared statistics */
    double eval_s;             /* seconds evaluating the rules */
    size_t n_mapped;           /* tensors mapped instead of read (no copy, no buffer) */
    size_t n_buf_reads;        /* tensors of 64 KiB and more read (smaller ones: malloc) */
    size_t n_buf_new;          /* of which into newly allocated buffers (the rest reused one) */
    size_t peak_buf_bytes;     /* most bytes of value buffers alive at once: the step's
                                  tensors, the values rules keep (WeightUpdateRatio: the
                                  previous step's, UnchangedTensor: num_steps - 1 steps'),
                                  and the pool of buffers released at the last step */
} vsim_rules_summary;

#define VSIM_RULES_SUMMARY_INIT { .last_step = -1 }

void vsim_rules_summary_release(vsim_rules_summary *s);

/*
 * Evaluate every rule of rs over the run in run_dir, all rules in one pass:
 * each complete step is read once (each tensor some rule needs, worker 0) and
 * shared among the rules. Offline (p->watch == 0) the steps present are
 * evaluated and the function returns; watching, it refreshes every poll_ms and
 * evaluates each step as soon as it is complete, until END (and every step
 * before it) or the timeout. Rules keep state between steps; a set can be run
 * once. Returns VSIM_OK and fills *out (also when rules fired), or
 * VSIM_ENOTFOUND/VSIM_EFORMAT (the run cannot be opened; watching waits for
 * run.json until the timeout), VSIM_EIO, VSIM_ENOMEM.
 */
int vsim_rules_run(vsim_rules *rs, const char *run_dir, const vsim_rules_params *p,
                   vsim_rules_summary *out);

/*
 * Following a live run step by step under the caller's loop (one process following
 * many runs, as vsim-sweep does) instead of vsim_rules_run's own watch loop.
 * open: VSIM_ENOTFOUND while the run has no run.json yet (try again later).
 * poll: refresh the run and evaluate each new complete step (the verdicts go to
 * p->on_verdict); with nothing new, the rules' idle checks; *ended is set once END
 * and every step before it have been evaluated (the final checks are then made).
 * rs and p must outlive the follower; a set can be followed once.
 */
typedef struct vsim_rules_follower vsim_rules_follower;

int vsim_rules_follow_open(vsim_rules *rs, const char *run_dir, const vsim_rules_params *p,
                           vsim_rules_follower **out);
int vsim_rules_follow_poll(vsim_rules_follower *f, int *ended);
void vsim_rules_follow_close(vsim_rules_follower *f);   /* NULL is a no-op */

#endif
