/*
 * sweep/replay.c - a sweep played again on its recorded curves (sweep/replay.h):
 * an event loop over the running jobs, the earliest next event first.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/mem.h"
#include "core/vsim.h"
#include "sweep/replay.h"

typedef struct live {
    size_t job;       /* index into jobs */
    size_t sid;       /* study trial */
    size_t next;      /* next evaluation to reach */
    int rule_done;    /* the rules' finding was dealt with */
    int top_done;     /* the top-K milestone was passed */
} live;

/* The next training step at which something happens to job j. */
static int64_t next_event(const vsim_replay_job *j, const live *l, const vsim_replay_arm *a)
{
    int64_t k = j->end_step;

    if (l->next < j->n_evals && j->evals[l->next].step < k)
        k = j->evals[l->next].step;
    if (a->use_rules && !l->rule_done && j->rule_step >= 0 && j->rule_step < k)
        k = j->rule_step;
    return k;
}

typedef struct milestone {
    double *v;        /* values of the jobs that reached the top-K step, in arrival order */
    size_t n;
} milestone;

/* Top-K: does a job with value v, arriving after the ones in m, go on? */
static int top_keeps(milestone *m, double v, size_t k)
{
    size_t better = 0;

    for (size_t i = 0; i < m->n; i++)
        better += isnan(v) ? !isnan(m->v[i]) : (m->v[i] < v);
    m->v[m->n++] = v;
    return better < k;
}

/* The next job of the order starts at time now. */
static int start_job(vsim_study *study, const size_t *order, live *run, size_t *n_run,
                     size_t *started, vsim_replay_outcome *out, double now)
{
    size_t id = order[*started];
    live *l = &run[(*n_run)++];

    *l = (live){ .job = id };
    out[id] = (vsim_replay_outcome){ .status = VSIM_REPLAY_COMPLETED, .start = now,
                                     .value = (double)NAN, .seq = (*started)++ };
    return vsim_study_add_trial(study, &l->sid);
}

int vsim_replay_run(const vsim_replay_job *jobs, size_t n, const size_t *order, int parallel,
                    const vsim_replay_arm *arm, vsim_replay_outcome *out,
                    vsim_replay_totals *t)
{
    live *run = NULL;
    uint8_t *seen = NULL;
    milestone top = { NULL, 0 };
    vsim_study *study = NULL;
    size_t n_run = 0, started = 0;
    int64_t top_step = (int64_t)ceil(arm->top_at * (double)arm->steps);
    int rc;

    memset(t, 0, sizeof(*t));
    t->best = SIZE_MAX;
    t->best_value = (double)NAN;
    if (parallel < 1)
        return vsim_fail(VSIM_EINVAL, "replay: parallel must be positive");
    if (!(seen = vsim_calloc(n ? n : 1, 1)) ||
        !(run = vsim_mallocarray((size_t)parallel, sizeof(*run))) ||
        !(top.v = vsim_mallocarray(n ? n : 1, sizeof(double)))) {
        rc = vsim_fail(VSIM_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (order[i] >= n || seen[order[i]]) {
            rc = vsim_fail(VSIM_EINVAL, "replay: the order is not a permutation");
            goto done;
        }
        seen[order[i]] = 1;
    }
    if ((rc = vsim_study_create(&arm->pruner, &study)))
        goto done;
    while (started < n && n_run < (size_t)parallel)
        if ((rc = start_job(study, order, run, &n_run, &started, out, 0.0)))
            goto done;
    for (;;) {
        size_t best = SIZE_MAX;
        double when = 0.0, now = 0.0;
        const vsim_replay_job *j;
        vsim_replay_outcome *o;
        live *l;
        int64_t k;
        int stop = -1;

        /* the earliest next event; equal times: the job started first */
        for (size_t r = 0; r < n_run; r++) {
            const vsim_replay_job *q = &jobs[run[r].job];
            double at = out[run[r].job].start +
                        (double)next_event(q, &run[r], arm) * q->wall_per_step;

            if (best == SIZE_MAX || at < when ||
                (at == when && out[run[r].job].seq < out[run[best].job].seq)) {
                best = r;
                when = at;
            }
        }
        if (best == SIZE_MAX)
            break;
        now = when;
        l = &run[best];
        j = &jobs[l->job];
        o = &out[l->job];
        k = next_event(j, l, arm);
        if (arm->use_rules && !l->rule_done && j->rule_step == k) {
            l->rule_done = 1;
            if (k < j->end_step)
                stop = VSIM_REPLAY_RULE;
        }
        if (stop < 0 && l->next < j->n_evals && j->evals[l->next].step == k) {
            double v = j->evals[l->next++].value;
            vsim_prune_decision d = { 0 };

            o->value = v;
            if (arm->pruner.kind != VSIM_PRUNE_NONE &&
                (rc = vsim_study_report(study, l->sid, k, v, &d)))
                goto done;
            if (k < j->end_step) {
                if (arm->pruner.kind != VSIM_PRUNE_NONE && d.prune)
                    stop = VSIM_REPLAY_PRUNED;
                else if (arm->top_k && !l->top_done && k >= top_step) {
                    l->top_done = 1;
                    if (!top_keeps(&top, v, arm->top_k))
                        stop = VSIM_REPLAY_TOP;
                }
            }
        }
        if (stop < 0 && k < j->end_step)
            continue;
        /* the job ends at step k */
        o->status = stop >= 0 ? (vsim_replay_status)stop
                    : j->completed ? VSIM_REPLAY_COMPLETED : VSIM_REPLAY_FAILED;
        o->steps = k;
        o->cpu = (double)k * j->cpu_per_step;
        o->end = now;
        vsim_study_set_state(study, l->sid,
                             o->status == VSIM_REPLAY_COMPLETED ? VSIM_TRIAL_COMPLETE
                             : o->status == VSIM_REPLAY_PRUNED ? VSIM_TRIAL_PRUNED
                             : VSIM_TRIAL_FAIL);
        t->used += o->cpu;
        t->n_stopped += stop >= 0;
        if (now > t->makespan)
            t->makespan = now;
        if (o->status == VSIM_REPLAY_COMPLETED && !isnan(o->value) &&
            (t->best == SIZE_MAX || o->value < t->best_value)) {
            t->best = l->job;
            t->best_value = o->value;
        }
        *l = run[--n_run];
        /* a slot is free: the next job starts now */
        if (started < n && (rc = start_job(study, order, run, &n_run, &started, out, now)))
            goto done;
    }
    for (size_t i = 0; i < n; i++)
        t->full += (double)jobs[i].end_step * jobs[i].cpu_per_step;
    rc = VSIM_OK;
done:
    vsim_study_destroy(study);
    vsim_free(seen);
    vsim_free(run);
    vsim_free(top.v);
    return rc;
}
