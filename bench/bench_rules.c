/*
 * bench/bench_rules.c - issue 8's benchmark. (1) Evaluation cost per step of
 * every built-in rule on a wide step against the time to read that step once:
 *   bench_rules eval RUN
 * (2) watch-mode detection latency, from a shard's rename to the verdict:
 *   bench_rules latency DIR POLL_MS
 * forks a writer whose loss plateaus and measures, in the watcher, the time
 * from the rename of the first step where LossNotDecreasing can fire to the
 * verdict's delivery (CLOCK_REALTIME on one machine).
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "readers/trial.h"
#include "readers/writer.h"
#include "rules/rules.h"

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const char *all_rules[] = {
    "LossNotDecreasing", "VanishingGradient", "ExplodingTensor", "WeightUpdateRatio",
    "AllZero:collection_names=weights,gradients", "UnchangedTensor:collection_names=weights",
    "TensorVariance:collection_names=weights,gradients,max_threshold=100",
    "SaturatedActivation", "DeadRelu", "PoorWeightInitialization", "Overfit", "Overtraining",
    "StalledTrainingRule", "CheckInputImages", "LatentNeighbors", "ReconstructionStalled",
};

/*
 * Read every tensor of every step once; seconds per step. reuse = 0: each into
 * a new buffer (vsim_trial_read, what reading a step costs a program that
 * keeps nothing); 1: into one buffer kept across tensors and steps (the copy
 * from the page cache alone).
 */
static double read_once(const char *dir, int reuse, size_t *n_steps, double *mb)
{
    vsim_trial *t;
    double t0, bytes = 0.0;
    void *keep = NULL;
    size_t cap = 0;

    if (vsim_trial_open(dir, &t))
        return -1;
    *n_steps = vsim_trial_n_steps(t);
    t0 = now();
    for (size_t s = 0; s < *n_steps; s++)
        for (size_t i = 0; i < vsim_trial_n_tensors(t); i++) {
            const vsim_tensor_info *ti = vsim_trial_tensor(t, i);
            int64_t step = vsim_trial_step(t, s)->step;
            vsim_tensor v;
            size_t nb;
            void *d;

            if (!vsim_trial_has(t, i, step, 0) ||
                vsim_trial_value_bytes(t, ti->name, step, 0, &nb))
                continue;
            if (!reuse) {
                if (vsim_trial_read(t, ti->name, step, 0, &v, &d))
                    continue;
                free(d);
            } else {
                if (nb > cap) {
                    free(keep);
                    cap = nb;
                    keep = malloc(cap);
                    if (!keep)
                        return -1;
                    memset(keep, 0, cap);   /* its pages exist before the clock counts */
                }
                if (vsim_trial_read_into(t, ti->name, step, 0, keep, cap, &v))
                    continue;
            }
            bytes += (double)nb;
        }
    t0 = now() - t0;
    free(keep);
    vsim_trial_close(t);
    *mb = bytes / (double)*n_steps / 1e6;
    return t0 / (double)*n_steps;
}

/* One pass of every rule; its report against t_read. */
static int one_pass(const char *dir, int copy_values, double t_read, double mb, size_t n_steps)
{
    vsim_rules_params p = VSIM_RULES_PARAMS_INIT;
    vsim_rules_summary s = VSIM_RULES_SUMMARY_INIT;
    vsim_rules *rs;
    double t0, t_all, t_rd, t_st, t_ev;

    if (vsim_rules_create(&rs))
        return 1;
    for (size_t i = 0; i < sizeof(all_rules) / sizeof(all_rules[0]); i++)
        if (vsim_rules_add(rs, all_rules[i]))
            return fprintf(stderr, "%s\n", vsim_errmsg()), 1;
    p.copy_values = copy_values;
    t0 = now();
    if (vsim_rules_run(rs, dir, &p, &s))
        return fprintf(stderr, "%s\n", vsim_errmsg()), 1;
    t_all = (now() - t0) / (double)n_steps;
    t_rd = s.read_s / (double)n_steps;
    t_st = s.stats_s / (double)n_steps;
    t_ev = s.eval_s / (double)n_steps;
    printf("all rules, one pass, %s (total): %8.1f ms/step  (goal: <= one read; %.2fx)\n",
           copy_values ? "copying  " : "mapping  ", 1e3 * t_all, t_all / t_read);
    printf("  of which reading the values:        %8.1f ms/step\n", 1e3 * t_rd);
    printf("  of which shared statistics:         %8.1f ms/step\n", 1e3 * t_st);
    printf("  of which evaluating the rules:      %8.1f ms/step\n", 1e3 * t_ev);
    printf("  the rest (open, index, bind):       %8.1f ms/step\n",
           1e3 * (t_all - t_rd - t_st - t_ev));
    printf("  value buffers: %zu mapped, %zu read (%zu into new buffers), peak %.1f MB\n",
           s.n_mapped, s.n_buf_reads, s.n_buf_new, (double)s.peak_buf_bytes / 1e6);
    (void)mb;
    vsim_rules_summary_release(&s);
    vsim_rules_destroy(rs);
    return 0;
}

static int bench_eval(const char *dir)
{
    size_t n_steps;
    double mb, t_read = read_once(dir, 0, &n_steps, &mb), t_copy;

    if (t_read < 0)
        return 1;
    t_copy = read_once(dir, 1, &n_steps, &mb);
    printf("step size: %.1f MB of tensors, %zu steps, %zu rules\n", mb, n_steps,
           sizeof(all_rules) / sizeof(all_rules[0]));
    printf("read every tensor once (the anchor):  %8.1f ms/step (%.0f MB/s)\n", 1e3 * t_read,
           mb / t_read);
    printf("  the copy alone, into a kept buffer: %8.1f ms/step (%.0f MB/s)\n", 1e3 * t_copy,
           mb / t_copy);
    return one_pass(dir, 0, t_read, mb, n_steps) || one_pass(dir, 1, t_read, mb, n_steps);
}

typedef struct lat_ctx {
    double t_verdict;
    int64_t step;
} lat_ctx;

static int on_verdict(void *ctx, const vsim_verdict *v)
{
    lat_ctx *l = ctx;

    if (v->result == VSIM_RULE_FIRED && l->step < 0) {
        l->t_verdict = now();
        l->step = v->step;
    }
    return 0;
}

/* Writer child: loss decreasing then flat from step 20; logs "step rename_time". */
static void writer(const char *dir, const char *log)
{
    vsim_writer_params wp = VSIM_WRITER_PARAMS_INIT;
    vsim_save_config every = VSIM_SAVE_CONFIG_INIT;
    vsim_writer *w;
    FILE *f = fopen(log, "w");
    size_t one = 1;

    wp.durable = 0;
    every.save_interval = 1;
    if (!f || vsim_writer_open(dir, &wp, &w) ||
        vsim_writer_set_collection(w, "losses", NULL, &every))
        _exit(1);
    for (int64_t s = 0; s < 60 && !vsim_writer_stop_requested(w); s++) {
        double loss = s < 20 ? 1.0 / (double)(s + 1) : 0.05;
        vsim_tensor t;

        vsim_tensor_init(&t, VSIM_F64, 1, &one, &loss);
        if (vsim_writer_begin_step(w, s, VSIM_MODE_TRAIN, s) ||
            vsim_writer_save(w, "loss/total", "losses", &t) || vsim_writer_end_step(w))
            _exit(1);
        fprintf(f, "%lld %.6f\n", (long long)s, now());
        fflush(f);
        nanosleep(&(struct timespec){ 0, 37 * 1000000L }, NULL);
    }
    vsim_writer_close(w, "completed", 59);
    fclose(f);
    _exit(0);
}

static int bench_latency(const char *dir, int poll_ms)
{
    vsim_rules_params p = VSIM_RULES_PARAMS_INIT;
    vsim_rules_summary s = VSIM_RULES_SUMMARY_INIT;
    lat_ctx l = { 0, -1 };
    vsim_rules *rs;
    char log[600], line[128];
    double t_rename = 0;
    FILE *f;
    pid_t pid;

    snprintf(log, sizeof(log), "%s.log", dir);
    pid = fork();
    if (pid == 0)
        writer(dir, log);
    if (vsim_rules_create(&rs) || vsim_rules_add(rs, "LossNotDecreasing:num_steps=10"))
        return 1;
    p.watch = 1;
    p.poll_ms = poll_ms;
    p.timeout_s = 30;
    p.on_verdict = on_verdict;
    p.verdict_ctx = &l;
    if (vsim_rules_run(rs, dir, &p, &s))
        return fprintf(stderr, "%s\n", vsim_errmsg()), 1;
    waitpid(pid, NULL, 0);
    f = fopen(log, "r");
    while (f && fgets(line, sizeof(line), f)) {
        long long st;
        double t;

        if (sscanf(line, "%lld %lf", &st, &t) == 2 && st == l.step)
            t_rename = t;
    }
    if (f)
        fclose(f);
    printf("watch latency (poll %d ms): fired at step %lld, %.1f ms after its shard's rename "
           "(goal < 100 ms + poll = %d ms)\n", poll_ms, (long long)l.step,
           1e3 * (l.t_verdict - t_rename), 100 + poll_ms);
    vsim_rules_summary_release(&s);
    vsim_rules_destroy(rs);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "eval"))
        return bench_eval(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "latency"))
        return bench_latency(argv[2], atoi(argv[3]));
    fprintf(stderr, "usage: bench_rules eval RUN | bench_rules latency DIR POLL_MS\n");
    return 2;
}
