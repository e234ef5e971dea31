/*
 * sweep/replay.h - a sweep played again on its recorded curves, without training
 * (`vsim-sweep replay`, docs/sweep.md): the jobs start in a given order, P at a
 * time, each job's evaluations and its rules' first finding arrive at the
 * simulated time its recorded speed puts them at, and an arm (a pruner, the
 * rules, both, or "keep the top K") decides on them as the live driver would.
 * What comes out is the compute each job used, who completed, and the best
 * completed job: the figures the regret and the compute saved stand on.
 *
 * Time: job j started at time t0 reaches training step k at t0 + k * wall_per_step;
 * of two events at the same time, the one of the job started first goes first;
 * within a job, a rule's finding before the evaluation at the same step (as the
 * driver polls the rules first). A job's last evaluation is reported to the study
 * but not judged (the job has ended; the driver reads it after the exit).
 */
#ifndef VSIM_SWEEP_REPLAY_H
#define VSIM_SWEEP_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "sweep/study.h"

typedef struct vsim_replay_point {
    int64_t step;               /* training steps done at an evaluation */
    double value;               /* the metric there, to minimise (NaN allowed) */
} vsim_replay_point;

typedef struct vsim_replay_job {
    const vsim_replay_point *evals;   /* steps increasing */
    size_t n_evals;
    int64_t end_step;           /* the training steps it ran in the recording */
    int completed;              /* 1: it completed; 0: it diverged or crashed (a failed trial) */
    int64_t rule_step;          /* training steps done when the rules first fired; -1: never */
    double cpu_per_step;        /* its recorded CPU seconds / end_step */
    double wall_per_step;       /* its recorded wall seconds / end_step */
} vsim_replay_job;

typedef struct vsim_replay_arm {
    vsim_pruner pruner;         /* kind VSIM_PRUNE_NONE: no pruner */
    int use_rules;              /* stop a job when its rules fire */
    size_t top_k;               /* > 0: at its first evaluation at or after top_at * steps, a
                                 * job goes on only if fewer than top_k jobs that got there
                                 * before it had a better value */
    double top_at;              /* share of the planned steps (0.1) */
    int64_t steps;              /* planned training steps of a job */
} vsim_replay_arm;

typedef enum vsim_replay_status {
    VSIM_REPLAY_COMPLETED, VSIM_REPLAY_FAILED, VSIM_REPLAY_PRUNED, VSIM_REPLAY_RULE,
    VSIM_REPLAY_TOP
} vsim_replay_status;

typedef struct vsim_replay_outcome {
    vsim_replay_status status;
    int64_t steps;              /* training steps it ran */
    double cpu;                 /* steps * cpu_per_step */
    double start, end;          /* simulated seconds */
    double value;               /* its last evaluation's value (NaN if none) */
    size_t seq;                 /* its place in the start order */
} vsim_replay_outcome;

typedef struct vsim_replay_totals {
    double used;                /* CPU seconds of the jobs as far as they ran */
    double full;                /* CPU seconds had every job run to its recorded end */
    double makespan;            /* simulated wall seconds of the sweep */
    size_t best;                /* the best completed job; SIZE_MAX: none completed */
    double best_value;
    size_t n_stopped;           /* jobs the arm stopped */
} vsim_replay_totals;

/*
 * Play jobs[order[0]], jobs[order[1]], ... (order: a permutation of 0..n-1),
 * parallel at a time, under arm; out has n entries (indexed like jobs).
 * VSIM_EINVAL for a bad order or parallel < 1, VSIM_ENOMEM.
 */
int vsim_replay_run(const vsim_replay_job *jobs, size_t n, const size_t *order, int parallel,
                    const vsim_replay_arm *arm, vsim_replay_outcome *out,
                    vsim_replay_totals *t);

#endif
