/*
 * sweep/study.h - pruners that compare a trial's curve with the other trials' of a
 * study, as Optuna 3.1 defines them (optuna/pruners/_percentile.py and
 * _successive_halving.py), so that a decision taken here is the one Optuna takes
 * on the same events in the same order (tests/cli/t1000-sweep.sh replays random
 * event streams through both).
 *
 * A study holds every trial's reported values (minimised), its state and its
 * successive-halving rungs. The caller reports a value at a step and asks whether
 * to prune; the answer carries what it was based on.
 */
#ifndef VSIM_SWEEP_STUDY_H
#define VSIM_SWEEP_STUDY_H

#include <stddef.h>
#include <stdint.h>

typedef enum vsim_pruner_kind {
    VSIM_PRUNE_NONE,
    VSIM_PRUNE_PERCENTILE,   /* MedianPruner is percentile 50 */
    VSIM_PRUNE_ASHA          /* SuccessiveHalvingPruner (asynchronous) */
} vsim_pruner_kind;

typedef struct vsim_pruner {
    vsim_pruner_kind kind;
    /* percentile: Optuna's defaults 5 startup trials, 0 warm-up steps, interval 1,
     * 1 minimum trial */
    double percentile;
    int n_startup_trials;
    int64_t n_warmup_steps;
    int64_t interval_steps;
    int n_min_trials;
    /* ASHA: rung r's step is min_resource * reduction_factor^(min_early_stopping_rate + r);
     * Optuna's default min_resource is "auto", which this takes as given (> 0) */
    int64_t min_resource;
    int reduction_factor;            /* 4 */
    int min_early_stopping_rate;     /* 0 */
} vsim_pruner;

#define VSIM_PRUNER_MEDIAN { .kind = VSIM_PRUNE_PERCENTILE, .percentile = 50.0, \
                             .n_startup_trials = 5, .n_warmup_steps = 0, .interval_steps = 1, \
                             .n_min_trials = 1, .min_resource = 1, .reduction_factor = 4 }

/* "none", "median", "percentile:Q", "asha" with optional ",key=value" settings
 * (startup, warmup, interval, min_trials, min_resource, rf, rate). VSIM_EINVAL
 * with a message naming what is wrong. */
int vsim_pruner_parse(const char *spec, vsim_pruner *out);

typedef enum vsim_trial_state {
    VSIM_TRIAL_RUNNING, VSIM_TRIAL_COMPLETE, VSIM_TRIAL_PRUNED, VSIM_TRIAL_FAIL
} vsim_trial_state;

typedef struct vsim_prune_decision {
    int prune;            /* 1: stop the trial */
    int64_t step;         /* the step judged */
    double value;         /* the trial's value judged (percentile: its best so far) */
    double reference;     /* the percentile of the others, or the rung's cut; NaN if none */
    size_t n_reference;   /* trials the reference came from */
    int rung;             /* ASHA: the rung judged; -1 otherwise */
    const char *why;      /* a short reason ("startup", "warm-up", "interval", ...) */
} vsim_prune_decision;

typedef struct vsim_study vsim_study;

int vsim_study_create(const vsim_pruner *p, vsim_study **out);
void vsim_study_destroy(vsim_study *s);        /* NULL is a no-op */
/* A new running trial; its index (0, 1, ...) into *id. */
int vsim_study_add_trial(vsim_study *s, size_t *id);
/* Report value at step (a step reported before is ignored, as Optuna does), then
 * decide. */
int vsim_study_report(vsim_study *s, size_t id, int64_t step, double value,
                      vsim_prune_decision *d);
void vsim_study_set_state(vsim_study *s, size_t id, vsim_trial_state state);

#endif
