/*
 * cli/vsim-sweep.c - parallel sweeps of vsim-train jobs that stop bad jobs early
 * (issue 15; docs/sweep.md, docs/man/vsim-sweep.1).
 *
 * One driver process starts the jobs (vsim-train, P at a time), follows every
 * live run through the trial API, evaluates the rules (sweep mode "rules") and
 * the pruner (sweep/study.h, Optuna's definitions) on each new evaluation, and
 * on a decision writes the run's STOP. Everything that happens is appended to
 * SWEEP/sweep.jsonl, one event a line, each line one write(2) on an O_APPEND
 * descriptor; `status` and `resume` rebuild the sweep from it, so a driver
 * killed at any moment loses nothing but the CPU time its children ran since
 * their last checkpoint.
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/rng.h"
#include "analyze/tsne.h"
#include "analyze/tsne_io.h"
#include "readers/trial.h"
#include "rules/rules.h"
#include "sweep/replay.h"
#include "sweep/study.h"

#define MAX_KEYS 8
#define MAX_SPECS 32
#define JOURNAL "sweep.jsonl"
#define CONFIG "sweep-config.json"

static const vsim_cli cli_top = {
    "vsim-sweep", "run --out SWEEP --grid SPEC [options] [-- vsim-train args] | status SWEEP | "
    "resume SWEEP | replay SWEEP",
    "Run a sweep of vsim-train jobs in parallel and stop bad ones early.",
    "Commands:\n"
    "  run     start a sweep (vsim-sweep run --help)\n"
    "  status  the ledger of a sweep, live or finished (table, json, csv)\n"
    "  resume  go on with a sweep whose driver was killed or interrupted\n"
    "  replay  decide again on a finished sweep's recorded curves (no training)\n", 0, -1
};

static const vsim_cli cli_run = {
    "vsim-sweep run", "--out SWEEP (--grid 'KEY=V1,V2;KEY=V1,...' | --random K --space FILE) "
    "[options] [-- vsim-train args]",
    "Start a sweep: one vsim-train job per point of the grid (or K random points), P at a time.",
    "Grid keys are vsim-train's long options (lr, loss, model, batch, lr-decay, seed, ...);\n"
    "values are split at ',' or, when they hold a '|', at '|' (model=slim|input=32,conv=8-16).\n"
    "Pruners: none, median, percentile:Q, asha, with ,startup=N ,warmup=STEPS ,interval=STEPS\n"
    ",min_trials=N (percentile; Optuna's defaults 5, 0, 1, 1) or ,min_resource=STEPS ,rf=R\n"
    ",rate=S (asha; defaults: the evaluation interval, 4, 0); rules, rules+median and\n"
    "rules+PRUNER stop on a rule as well. Steps are training steps.\n"
    "Exit status: 0 the sweep ran (whatever its jobs did), 1 error, 2 usage error,\n"
    "130 interrupted (resume with vsim-sweep resume).\n", 0, -1
};

static const vsim_cli cli_status = {
    "vsim-sweep status", "SWEEP [--format table|json|csv]",
    "The ledger of a sweep, rebuilt from its journal: per job parameters, status, steps,\n"
    "CPU and wall seconds, the decision, the last evaluation loss; compute used and saved.",
    NULL, 1, 1
};

static const vsim_cli cli_replay = {
    "vsim-sweep replay", "SWEEP [--prune ARM]... [--shuffles N] [--seed S] [--parallel P] "
    "[--format table|json]",
    "Decide again on a sweep's recorded curves, without training: each arm (a pruner, the\n"
    "rules, both, or top:K) over N shuffles of the job order, P jobs at a time; the compute\n"
    "saved, the regret and how often the best job was stopped.",
    "The sweep must have been run with --prune none (every job's whole curve recorded).\n"
    "Arms: none, median, percentile:Q, asha (with the settings of vsim-sweep run), rules,\n"
    "rules+PRUNER, top:K[,at=F] (keep a job only if fewer than K jobs before it had a better\n"
    "value at its first evaluation after F of the steps; F 0.1) and rules+top:K.\n"
    "Default arms: none, median, asha, rules, rules+median and top:K with K a quarter of the\n"
    "jobs. The rules are the sweep's (--rules, --rules-file to use others).\n", 1, 1
};

static const vsim_cli cli_resume = {
    "vsim-sweep resume", "SWEEP", "Go on with an interrupted sweep: finished jobs are kept, "
    "unfinished ones resumed from their checkpoint, the rest started.", NULL, 1, 1
};

/* ---- the sweep ------------------------------------------------------------------------- */

typedef enum phase { PENDING, RUNNING, DONE } phase;

typedef struct job {
    char name[16];                 /* "007" */
    char dir[2048 + 32];           /* SWEEP/jobs/007 */
    char run[2048 + 64];           /* SWEEP/jobs/007/run */
    char params[512];              /* "lr=1e-3 loss=l2" */
    const char *vals[MAX_KEYS];    /* the grid point (borrowed from the config) */
    phase ph;
    int started;                   /* a "start" event exists */
    pid_t pid;
    double t_proc;                 /* this process's start (clock) */
    size_t sid;                    /* study trial id */
    int64_t last_eval;             /* the last global evaluation step seen */
    vsim_trial *trial;
    vsim_rules *rules;
    vsim_rules_follower *fol;
    vsim_rules_params rp;
    /* the decision to stop it */
    char by[96];                   /* "" none; "median", "asha", "rule:DeadRelu" */
    int stop_written;
    /* results */
    char status[32];               /* completed, pruned, stopped by rule, diverged, crashed, stopped */
    char reason[160];
    int64_t steps;                 /* training steps reached */
    double cpu_s, wall_s;
    double last_value;             /* the metric's last value (NaN if none) */
    int64_t last_value_step;
    double knn10;                  /* 10-NN label accuracy of the last latent vectors (NaN) */
    /* the curve from the journal (replay): training steps and the metric's values */
    vsim_replay_point *curve;
    size_t n_curve, cap_curve;
} job;

typedef struct sweep {
    char dir[2048];
    json_t *config;                /* sweep-config.json */
    const char *keys[MAX_KEYS];
    size_t n_keys;
    job *jobs;
    size_t n_jobs;
    int parallel, threads;
    int64_t steps;
    vsim_pruner pruner;
    int use_rules;
    vsim_study *study;
    int journal_fd;
    const char *train;             /* the vsim-train program */
    double t0_unix, t_end_unix;
    double driver_cpu_s;           /* the drivers' own CPU seconds (every run and resume) */
    const char *metric;            /* tensor read at evaluations */
    int maximize;                  /* 1: larger is better (the study sees -value) */
    int quiet;
} sweep;

static volatile sig_atomic_t interrupted;
static const char *rule_specs[MAX_SPECS];
static int n_rule_specs;

static int add_rule(const vsim_opt *o, const char *arg)
{
    (void)o;
    if (n_rule_specs == MAX_SPECS)
        return -1;
    rule_specs[n_rule_specs++] = arg;
    return 0;
}

static void on_signal(int sig)
{
    interrupted = sig;
}

static double unix_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double rusage_s(const struct rusage *ru)
{
    return (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec * 1e-6 +
           (double)ru->ru_stime.tv_sec + (double)ru->ru_stime.tv_usec * 1e-6;
}

static void say(const sweep *s, const char *fmt, ...) VSIM_PRINTF(2, 3);

static void say(const sweep *s, const char *fmt, ...)
{
    va_list ap;

    if (s->quiet)
        return;
    va_start(ap, fmt);
    fputs("vsim-sweep: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Append one event: a JSON object with "event", "job" and "t", one write(2). */
static int journal(sweep *s, const char *event, const job *j, json_t *o)
{
    char *text;
    size_t n;
    ssize_t w;
    int rc = VSIM_OK;

    if (!o)
        o = json_object();
    json_object_set_new(o, "event", json_string(event));
    if (j)
        json_object_set_new(o, "job", json_string(j->name));
    json_object_set_new(o, "t", json_real(unix_now()));
    text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!text)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    n = strlen(text);
    text[n] = '\n';   /* json_dumps's terminator becomes the newline */
    w = write(s->journal_fd, text, n + 1);
    if (w != (ssize_t)(n + 1))
        rc = vsim_fail(VSIM_EIO, "%s/" JOURNAL ": cannot append: %s", s->dir,
                       w < 0 ? strerror(errno) : "short write");
    free(text);
    return rc;
}

/* ---- the grid -------------------------------------------------------------------------- */

static int valid_key(const char *k, size_t n)
{
    if (!n || k[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((k[i] >= 'a' && k[i] <= 'z') || k[i] == '-' || (k[i] >= '0' && k[i] <= '9')))
            return 0;
    return 1;
}

static int check_key(const char *what, const char *k, size_t kn);

/* "lr=1e-3,3e-4;loss=l2,ssim" into the config's "grid": {"lr": [..], "loss": [..]}. */
static int parse_grid(const char *spec, json_t *grid)
{
    const char *p = spec;

    while (*p) {
        size_t n = strcspn(p, ";"), kn;
        const char *eq = memchr(p, '=', n), *v;
        char sep;
        json_t *vals;

        if (!eq)
            return vsim_fail(VSIM_EINVAL, "grid '%.*s': expected KEY=V1,V2,...", (int)n, p);
        kn = (size_t)(eq - p);
        if (check_key("grid", p, kn))
            return VSIM_EINVAL;
        if (json_object_getn(grid, p, kn))
            return vsim_fail(VSIM_EINVAL, "grid key '%.*s' given twice", (int)kn, p);
        if (json_object_size(grid) == MAX_KEYS)
            return vsim_fail(VSIM_EINVAL, "grid: at most %d keys", MAX_KEYS);
        vals = json_array();
        json_object_setn_new(grid, p, kn, vals);
        /* values split at ',' or, when the list holds a '|', at '|' (for model specs) */
        sep = memchr(eq + 1, '|', (size_t)(p + n - eq - 1)) ? '|' : ',';
        for (v = eq + 1; v <= p + n;) {
            const char *e = memchr(v, sep, (size_t)(p + n - v));
            size_t vn = e ? (size_t)(e - v) : (size_t)(p + n - v);

            if (!vn && !(sep == '|' && v == p + n))   /* "model=SPEC|": one value */
                return vsim_fail(VSIM_EINVAL, "grid key '%.*s': an empty value", (int)kn, p);
            if (vn)
                json_array_append_new(vals, json_stringn(v, vn));
            v += vn + 1;
        }
        p += n + (p[n] == ';');
    }
    if (!json_object_size(grid))
        return vsim_fail(VSIM_EINVAL, "grid '%s': no keys", spec);
    return VSIM_OK;
}

/* A reserved or malformed key of a grid or space. */
static int check_key(const char *what, const char *k, size_t kn)
{
    if (!valid_key(k, kn))
        return vsim_fail(VSIM_EINVAL, "%s key '%.*s': expected a vsim-train long option name "
                         "(lr, loss, model, batch, ...)", what, (int)kn, k);
    static const char *const reserved[] = { "out", "steps", "threads", "resume" };

    for (size_t i = 0; i < VSIM_ARRAY_LEN(reserved); i++)
        if (kn == strlen(reserved[i]) && !strncmp(k, reserved[i], kn))
            return vsim_fail(VSIM_EINVAL, "%s key '%.*s': set by the sweep itself", what, (int)kn, k);
    return VSIM_OK;
}

/* One value of a choice list as a string ("l2", 32, 1e-3). */
static json_t *choice_str(const json_t *v)
{
    char buf[64];

    if (json_is_string(v))
        return json_string(json_string_value(v));
    if (json_is_integer(v))
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, sizeof(buf), "%.6g", json_real_value(v));
    else
        return NULL;
    return json_string(buf);
}

/* A space entry: a list of choices or {"KIND": [..]}; the list into *a (NULL if neither). */
static const char *space_dist(json_t *d, json_t **a)
{
    *a = json_is_array(d) ? d : NULL;
    if (*a)
        return "choice";
    if (json_is_object(d) && json_object_size(d) == 1) {
        *a = json_object_iter_value(json_object_iter(d));
        return json_object_iter_key(json_object_iter(d));
    }
    return "choice";
}

/* The space loaded from file: keys and distributions checked. */
static int check_space(const char *file, json_t *space)
{
    const char *key;
    json_t *d, *a;

    if (!json_is_object(space) || !json_object_size(space))
        return vsim_fail(VSIM_EFORMAT, "%s: expected an object of keys and distributions", file);
    if (json_object_size(space) > MAX_KEYS)
        return vsim_fail(VSIM_EINVAL, "%s: at most %d keys", file, MAX_KEYS);
    json_object_foreach(space, key, d) {
        const char *kind = space_dist(d, &a);
        int choice = !strcmp(kind, "choice");
        double lo, hi;

        if (check_key(file, key, strlen(key)))
            return VSIM_EINVAL;
        if (!json_is_array(a) || !json_array_size(a) ||
            (!choice && (json_array_size(a) != 2 || !json_is_number(json_array_get(a, 0)) ||
                         !json_is_number(json_array_get(a, 1)))))
            return vsim_fail(VSIM_EFORMAT, "%s: key '%s': expected a list of choices, "
                             "{\"choice\": [..]}, {\"uniform\": [A, B]}, {\"loguniform\": [A, B]} "
                             "or {\"int\": [A, B]}", file, key);
        if (!choice && strcmp(kind, "uniform") && strcmp(kind, "loguniform") &&
            strcmp(kind, "int"))
            return vsim_fail(VSIM_EFORMAT, "%s: key '%s': unknown distribution '%s' (choice, "
                             "uniform, loguniform, int)", file, key, kind);
        if (choice)
            continue;
        lo = json_number_value(json_array_get(a, 0));
        hi = json_number_value(json_array_get(a, 1));
        if (!(lo <= hi) || (!strcmp(kind, "loguniform") && !(lo > 0)))
            return vsim_fail(VSIM_EFORMAT, "%s: key '%s': bad range [%g, %g]", file, key, lo,
                             hi);
    }
    return VSIM_OK;
}

/*
 * --random K --space FILE: K points drawn from the space (a JSON object: key -> a list
 * of choices, {"choice": [..]}, {"uniform": [a, b]}, {"loguniform": [a, b]} or
 * {"int": [a, b]}, both ends included) with a seeded stream, into the config's
 * "points": [{key: value, ...}, ...].
 */
static int sample_space(const char *file, json_t *space, int k, uint64_t seed, json_t *points)
{
    const char *key;
    json_t *d, *a;
    vsim_rng g;
    int rc = check_space(file, space);

    vsim_rng_seed(&g, seed, 16);
    for (int i = 0; !rc && i < k; i++) {
        json_t *pt = json_object();

        json_object_foreach(space, key, d) {   /* each key draws in file order */
            const char *kind = space_dist(d, &a);
            double lo = json_number_value(json_array_get(a, 0)),
                   hi = json_number_value(json_array_get(a, 1)), u = vsim_rng_uniform(&g);
            char buf[64];
            json_t *v;

            if (!strcmp(kind, "choice")) {
                v = choice_str(json_array_get(a, (size_t)(u * (double)json_array_size(a))));
            } else {
                if (!strcmp(kind, "int"))
                    snprintf(buf, sizeof(buf), "%lld",
                             (long long)floor(lo + u * (floor(hi) - ceil(lo) + 1.0)));
                else if (!strcmp(kind, "loguniform"))
                    snprintf(buf, sizeof(buf), "%.4g", exp(log(lo) + u * (log(hi) - log(lo))));
                else
                    snprintf(buf, sizeof(buf), "%.4g", lo + u * (hi - lo));
                v = json_string(buf);
            }
            if (!v) {
                rc = vsim_fail(VSIM_EFORMAT, "%s: key '%s': a choice must be a string or a "
                               "number", file, key);
                break;
            }
            json_object_set_new(pt, key, v);
        }
        json_array_append_new(points, pt);
    }
    return rc;
}

/*
 * A --prune spec: "PRUNER", "rules" or "rules+PRUNER" into *pr and *use_rules; the
 * pruner part's start into *rest. ASHA's min_resource, unless given, is the evaluation
 * interval (eval_interval > 0; 0: left as parsed).
 */
static int parse_prune(const char *spec, int64_t eval_interval, vsim_pruner *pr,
                       int *use_rules, const char **rest)
{
    const char *p = spec;

    if (rest)
        *rest = spec;
    *use_rules = !strncmp(p, "rules", 5);
    if (*use_rules) {
        if (p[5] && p[5] != '+')
            return vsim_fail(VSIM_EINVAL, "expected rules or rules+PRUNER");
        p = p[5] ? p + 6 : "none";
    }
    if (rest)
        *rest = p;
    if (!strncmp(p, "top:", 4))   /* replay's arm; the caller parses it */
        return vsim_pruner_parse("none", pr);
    if (vsim_pruner_parse(p, pr))
        return VSIM_EINVAL;
    if (pr->kind == VSIM_PRUNE_ASHA && eval_interval > 0 && !strstr(p, "min_resource"))
        pr->min_resource = eval_interval;
    return VSIM_OK;
}

/* ---- the jobs' processes --------------------------------------------------------------- */

static int write_stop(job *j, const char *why)
{
    vsim_buf path = VSIM_BUF_INIT, text = VSIM_BUF_INIT;
    int rc = vsim_buf_addf(&path, "%s/STOP", j->run);

    if (!rc)
        rc = vsim_buf_adds(&text, "{\"reason\": ");
    if (!rc)
        rc = vsim_buf_add_json_str(&text, why);
    if (!rc)
        rc = vsim_buf_adds(&text, ", \"by\": \"vsim-sweep\"}\n");
    if (!rc)
        rc = vsim_fs_write_atomic(path.buf, text.buf, text.len, 0);
    vsim_buf_release(&path);
    vsim_buf_release(&text);
    j->stop_written = !rc;
    return rc;
}

/* fork + exec vsim-train for j: fresh (resume == 0) or --resume. */
static int launch(sweep *s, job *j, int resume)
{
    const char *argv[2 * MAX_KEYS + 64];
    char steps[32], threads[32], ckpt[32], log[PATH_MAX + 16], opt[MAX_KEYS][64];
    json_t *extra = json_object_get(s->config, "train_args");
    size_t n = 0, i;
    json_t *a;
    pid_t pid;
    int fd;

    snprintf(steps, sizeof(steps), "%lld", (long long)s->steps);
    snprintf(threads, sizeof(threads), "%d", s->threads);
    snprintf(ckpt, sizeof(ckpt), "%lld",
             (long long)json_integer_value(json_object_get(s->config, "checkpoint_interval")));
    argv[n++] = s->train;
    if (resume) {
        argv[n++] = "--resume";
        argv[n++] = j->run;
        argv[n++] = "--threads";
        argv[n++] = threads;
    } else {
        argv[n++] = "--out";
        argv[n++] = j->run;
        argv[n++] = "--steps";
        argv[n++] = steps;
        argv[n++] = "--threads";
        argv[n++] = threads;
        argv[n++] = "--checkpoint-interval";
        argv[n++] = ckpt;
        json_array_foreach(extra, i, a) {
            if (n + 2 * MAX_KEYS + 2 >= VSIM_ARRAY_LEN(argv))
                return vsim_fail(VSIM_EINVAL, "too many vsim-train arguments");
            argv[n++] = json_string_value(a);
        }
        for (i = 0; i < s->n_keys; i++) {
            snprintf(opt[i], sizeof(opt[i]), "--%s", s->keys[i]);
            argv[n++] = opt[i];
            argv[n++] = j->vals[i];
        }
    }
    argv[n] = NULL;
    if (vsim_fs_mkdir_p(j->dir))
        return VSIM_EIO;
    snprintf(log, sizeof(log), "%s/train.log", j->dir);
    fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return vsim_fail(VSIM_EIO, "%s: %s", log, strerror(errno));
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        close(fd);
        return vsim_fail(VSIM_EIO, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        pid_t parent = getppid();

        /* the job dies with the driver (resume continues it from its checkpoint) */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        signal(SIGINT, SIG_IGN);   /* a ^C is the driver's to handle: STOP, then TERM */
        dup2(fd, 1);
        dup2(fd, 2);
        setenv("VSIM_QUIET", "1", 1);
        execvp(argv[0], (char *const *)argv);
        dprintf(2, "vsim-sweep: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fd);
    j->pid = pid;
    j->ph = RUNNING;
    j->t_proc = vsim_clock_s();
    return VSIM_OK;
}

/* The training steps the run reached (the last training step saved + 1). */
static int64_t steps_reached(job *j)
{
    int64_t best = 0;

    if (!j->trial && vsim_trial_open(j->run, &j->trial))
        return 0;
    vsim_trial_refresh(j->trial, NULL);
    for (size_t i = 0, n = vsim_trial_n_steps(j->trial); i < n; i++) {
        const vsim_step_info *st = vsim_trial_step(j->trial, i);

        if (st->mode == VSIM_MODE_TRAIN && st->mode_step + 1 > best)
            best = st->mode_step + 1;
    }
    return best;
}

/* END's status ("" if none). */
static void end_status(const job *j, char *out, size_t n)
{
    char path[PATH_MAX + 16];
    json_t *o;

    out[0] = '\0';
    snprintf(path, sizeof(path), "%s/END", j->run);
    if ((o = json_load_file(path, 0, NULL)) != NULL) {
        const char *st = json_string_value(json_object_get(o, "status"));

        snprintf(out, n, "%s", st ? st : "");
        json_decref(o);
    }
}

/* The study's state of a job that ended with status. */
static vsim_trial_state trial_state(const char *status)
{
    return !strcmp(status, "completed") ? VSIM_TRIAL_COMPLETE
           : !strcmp(status, "pruned") ? VSIM_TRIAL_PRUNED : VSIM_TRIAL_FAIL;
}

static void close_follow(job *j)
{
    vsim_rules_follow_close(j->fol);
    vsim_rules_destroy(j->rules);
    vsim_trial_close(j->trial);
    j->fol = NULL;
    j->rules = NULL;
    j->trial = NULL;
}

/* The 10-NN label accuracy of the run's last latent vectors (the validation designs at
 * its last evaluation); NaN if the run saved none or no labels. */
static double knn10(const job *j)
{
    vsim_tsne_data d = VSIM_TSNE_DATA_INIT;
    double acc = (double)NAN;

    if (vsim_tsne_load_run(j->run, "embeddings/latent", -1, "embeddings/labels", NULL, &d) ==
        VSIM_OK && d.labels && d.n > 10)
        vsim_knn_accuracy(d.x, d.n, d.dim, d.labels, 10, 1, &acc);
    vsim_tsne_data_release(&d);
    return acc;
}

static int finish_job(sweep *s, job *j)
{
    char end[32];
    json_t *o;

    end_status(j, end, sizeof(end));
    j->steps = steps_reached(j);
    if (!strcmp(end, "completed")) {
        snprintf(j->status, sizeof(j->status), "completed");
    } else if (!strcmp(end, "diverged")) {
        snprintf(j->status, sizeof(j->status), "diverged");
    } else if (j->by[0]) {   /* stopped (or killed while stopping) on our decision */
        snprintf(j->status, sizeof(j->status), "%s",
                 strncmp(j->by, "rule:", 5) ? "pruned" : "stopped by rule");
    } else if (!strcmp(end, "stopped")) {
        snprintf(j->status, sizeof(j->status), "stopped");
    } else {
        snprintf(j->status, sizeof(j->status), "crashed");
    }
    j->ph = DONE;
    vsim_study_set_state(s->study, j->sid, trial_state(j->status));
    o = json_pack("{s:s,s:s,s:I,s:f,s:f}", "status", j->status, "reason", j->reason,
                  "steps", (json_int_t)j->steps, "cpu_s", j->cpu_s, "wall_s", j->wall_s);
    close_follow(j);
    j->knn10 = knn10(j);
    json_object_set_new(o, "knn10", isfinite(j->knn10) ? json_real(j->knn10) : json_null());
    say(s, "job %s %s at step %lld (%s)%s%s", j->name, j->status, (long long)j->steps,
        j->params, j->reason[0] ? ": " : "", j->reason);
    return journal(s, "end", j, o);
}

static int follow(sweep *s, job *j, size_t idx, int final);

/* A process ended: its CPU and wall time, the evaluations it wrote since the last
 * poll (no decision on them), and the job's end. */
static int reap(sweep *s, job *j, size_t idx, int wst, const struct rusage *ru)
{
    double cpu = rusage_s(ru);
    double wall = vsim_clock_s() - j->t_proc;
    json_t *o;
    int rc;

    j->cpu_s += cpu;
    j->wall_s += wall;
    j->pid = 0;
    if (WIFSIGNALED(wst))
        snprintf(j->reason, sizeof(j->reason), "killed by signal %d (%s)", WTERMSIG(wst),
                 strsignal(WTERMSIG(wst)));
    else if (WEXITSTATUS(wst))
        snprintf(j->reason, sizeof(j->reason), "vsim-train exited with status %d (see the "
                 "job's train.log)", WEXITSTATUS(wst));
    if ((rc = follow(s, j, idx, 1)))
        vsim_cli_warn("vsim-sweep", "job %s: %s", j->name, vsim_errmsg());
    o = json_pack("{s:f,s:f,s:i,s:i}", "cpu_s", cpu, "wall_s", wall, "exit",
                  WIFEXITED(wst) ? WEXITSTATUS(wst) : -1, "signal",
                  WIFSIGNALED(wst) ? WTERMSIG(wst) : 0);
    if ((rc = journal(s, "exit", j, o)))
        return rc;
    if (interrupted && !j->by[0]) {
        char end[32];

        end_status(j, end, sizeof(end));
        if (!end[0] || !strcmp(end, "stopped")) {   /* stopped by the interrupt: resumable */
            close_follow(j);
            j->reason[0] = '\0';
            return VSIM_OK;
        }
    }
    return finish_job(s, j);
}

/* ---- following the live runs ------------------------------------------------------------ */

static int decide(sweep *s, job *j, const char *by, int64_t step, double value, double ref,
                  size_t n_ref, const char *why)
{
    json_t *o;
    int rc;

    if (j->by[0])
        return VSIM_OK;
    snprintf(j->by, sizeof(j->by), "%s", by);
    if (!strncmp(by, "rule:", 5))
        snprintf(j->reason, sizeof(j->reason), "%s at step %lld: %s", by, (long long)step, why);
    else
        snprintf(j->reason, sizeof(j->reason), "%s at step %lld: %s (best %.6g, reference "
                 "%.6g of %zu jobs)", by, (long long)step, why, value, ref, n_ref);
    o = json_pack("{s:s,s:I,s:f,s:f,s:I,s:s}", "by", by, "step", (json_int_t)step, "value",
                  isfinite(value) ? value : -1.0, "reference", isfinite(ref) ? ref : -1.0,
                  "n_reference", (json_int_t)n_ref, "why", why);
    if (!isfinite(value))
        json_object_set_new(o, "value", json_null());
    if (!isfinite(ref))
        json_object_set_new(o, "reference", json_null());
    if ((rc = journal(s, "decision", j, o)))
        return rc;
    say(s, "job %s: stop (%s)", j->name, j->reason);
    return write_stop(j, j->reason);
}

typedef struct verdict_ctx {
    sweep *s;
    job *j;
} verdict_ctx;

static verdict_ctx vctx[4096];

static int on_verdict(void *ctx, const vsim_verdict *v)
{
    verdict_ctx *c = ctx;
    char by[96];

    if (v->result != VSIM_RULE_FIRED || c->j->by[0])
        return 0;
    snprintf(by, sizeof(by), "rule:%s", v->rule);
    decide(c->s, c->j, by, v->step, v->value, v->threshold, 0, v->message);
    return 1;
}

static int open_rules(sweep *s, job *j, size_t idx)
{
    json_t *specs = json_object_get(s->config, "rules"), *a;
    const char *file = json_string_value(json_object_get(s->config, "rules_file"));
    size_t i;
    int rc = vsim_rules_create(&j->rules);

    json_array_foreach(specs, i, a) {
        if (!rc)
            rc = vsim_rules_add(j->rules, json_string_value(a));
    }
    if (!rc && file && *file)
        rc = vsim_rules_add_file(j->rules, file);
    if (!rc && !vsim_rules_n(j->rules))
        rc = vsim_rules_add_defaults(j->rules);
    vctx[idx] = (verdict_ctx){ s, j };
    j->rp = (vsim_rules_params)VSIM_RULES_PARAMS_INIT;
    j->rp.n_threads = 1;
    j->rp.on_verdict = on_verdict;
    j->rp.verdict_ctx = &vctx[idx];
    return rc;
}

/* One evaluation of a live job: journalled, reported to the study until a decision,
 * judged only while the job runs (final: the job has ended). */
static int take_eval(sweep *s, job *j, const vsim_step_info *st, int final)
{
    int64_t tstep = st->step - st->mode_step;   /* training steps done */
    vsim_prune_decision d;
    vsim_tensor view;
    void *data = NULL;
    double v = (double)NAN;
    int rc = vsim_trial_read(j->trial, s->metric, st->step, 0, &view, &data);

    j->last_eval = st->step;
    if (rc == VSIM_ENOTFOUND)
        return VSIM_OK;
    if (rc)
        return rc;
    view.data = data;
    if (vsim_tensor_n_elems(&view) > 0)
        v = vsim_tensor_load(&view, 0);
    vsim_free(data);
    j->last_value = v;
    j->last_value_step = tstep;
    rc = journal(s, "eval", j, json_pack("{s:I,s:I,s:o,s:b}", "global", (json_int_t)st->step,
                                         "step", (json_int_t)tstep, "value",
                                         isfinite(v) ? json_real(v) : json_null(), "judged",
                                         !j->by[0] && !final));
    if (rc || j->by[0] || s->pruner.kind == VSIM_PRUNE_NONE)
        return rc;
    if ((rc = vsim_study_report(s->study, j->sid, tstep, s->maximize ? -v : v, &d)) || final ||
        !d.prune)
        return rc;
    if (s->maximize) {
        d.value = -d.value;
        d.reference = -d.reference;
    }
    return decide(s, j, s->pruner.kind == VSIM_PRUNE_ASHA ? "asha"
                        : s->pruner.percentile == 50.0 ? "median" : "percentile",
                  d.step, d.value, d.reference, d.n_reference, d.why);
}

static int follow(sweep *s, job *j, size_t idx, int final)
{
    int rc, ended;

    if (j->by[0] && !j->stop_written)   /* resumed after a decision: STOP again */
        write_stop(j, j->reason);
    if (!j->trial) {
        rc = vsim_trial_open(j->run, &j->trial);
        if (rc == VSIM_ENOTFOUND)
            return VSIM_OK;   /* not started yet */
        if (rc)
            return rc;
    }
    if ((rc = vsim_trial_refresh(j->trial, NULL)))
        return rc;
    /* the rules first: a rule's finding takes precedence over the pruner's */
    if (s->use_rules && !j->by[0] && !final) {
        if (!j->fol) {
            if (!j->rules && (rc = open_rules(s, j, idx)))
                return rc;
            rc = vsim_rules_follow_open(j->rules, j->run, &j->rp, &j->fol);
            if (rc == VSIM_ENOTFOUND)
                return VSIM_OK;
            if (rc)
                return rc;
        }
        if ((rc = vsim_rules_follow_poll(j->fol, &ended)))
            return rc;
    }
    /* each new evaluation (the steps come sorted): the metric, reported to the pruner */
    for (size_t i = 0, n = vsim_trial_n_steps(j->trial); i < n; i++) {
        const vsim_step_info *st = vsim_trial_step(j->trial, i);

        if (st->mode == VSIM_MODE_EVAL && st->step > j->last_eval &&
            (rc = take_eval(s, j, st, final)))
            return rc;
    }
    return VSIM_OK;
}

/* ---- config, journal, ledger ----------------------------------------------------------- */

static int make_jobs(sweep *s)
{
    json_t *grid = json_object_get(s->config, "grid"), *vals,
           *points = json_object_get(s->config, "points");
    const char *key;
    size_t n = 1, dims[MAX_KEYS];

    s->n_keys = 0;
    if (points) {   /* --random: the drawn points, every one with the same keys */
        grid = json_array_get(points, 0);
        n = json_array_size(points);
    }
    json_object_foreach(grid, key, vals) {
        if (s->n_keys == MAX_KEYS)
            return vsim_fail(VSIM_EFORMAT, "%s: too many keys", s->dir);
        s->keys[s->n_keys] = key;
        if (!points) {
            dims[s->n_keys] = json_array_size(vals);
            n *= json_array_size(vals);
        }
        s->n_keys++;
    }
    if (n > VSIM_ARRAY_LEN(vctx))
        return vsim_fail(VSIM_EINVAL, "the grid has %zu points; at most %zu",
                         n, VSIM_ARRAY_LEN(vctx));
    if (!(s->jobs = vsim_calloc(n, sizeof(job))))
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    s->n_jobs = n;
    for (size_t i = 0; i < n; i++) {
        job *j = &s->jobs[i];
        size_t rest = i, len = 0;

        snprintf(j->name, sizeof(j->name), "%03zu", i);
        snprintf(j->dir, sizeof(j->dir), "%s/jobs/%s", s->dir, j->name);
        snprintf(j->run, sizeof(j->run), "%s/run", j->dir);
        for (size_t k = s->n_keys; k-- > 0;) {   /* the last key varies fastest */
            if (points) {
                j->vals[k] = json_string_value(json_object_get(json_array_get(points, i),
                                                               s->keys[k]));
            } else {
                j->vals[k] = json_string_value(json_array_get(json_object_get(grid, s->keys[k]),
                                                              rest % dims[k]));
                rest /= dims[k];
            }
            if (!j->vals[k])
                return vsim_fail(VSIM_EFORMAT, "%s: job %zu has no value for '%s'", s->dir, i,
                                 s->keys[k]);
        }
        for (size_t k = 0; k < s->n_keys; k++)
            len += (size_t)snprintf(j->params + len, len < sizeof(j->params)
                                    ? sizeof(j->params) - len : 0, "%s%s=%s",
                                    k ? " " : "", s->keys[k], j->vals[k]);
        j->last_eval = -1;
        j->last_value = (double)NAN;
        j->last_value_step = -1;
        j->knn10 = (double)NAN;
    }
    return VSIM_OK;
}

static job *find_job(sweep *s, const char *name)
{
    for (size_t i = 0; name && i < s->n_jobs; i++)
        if (!strcmp(s->jobs[i].name, name))
            return &s->jobs[i];
    return NULL;
}

/* One evaluation of j's curve; a step seen before (a resumed run's repeat) is kept once. */
static int add_point(job *j, int64_t step, double v)
{
    if (j->n_curve && step <= j->curve[j->n_curve - 1].step)
        return VSIM_OK;
    if (vsim_grow((void **)&j->curve, &j->cap_curve, j->n_curve + 1, sizeof(*j->curve)))
        return VSIM_ENOMEM;
    j->curve[j->n_curve++] = (vsim_replay_point){ step, v };
    return VSIM_OK;
}

/* Rebuild the sweep from its journal: the study, every job's state and results. */
static int load_journal(sweep *s)
{
    vsim_buf path = VSIM_BUF_INIT, text = VSIM_BUF_INIT;
    int rc = vsim_buf_addf(&path, "%s/" JOURNAL, s->dir);
    char *line, *next;
    size_t lineno = 0;

    if (!rc)
        rc = vsim_fs_read_file(path.buf, &text);
    for (line = text.buf; !rc && line && *line; line = next) {
        json_t *o;
        job *j;
        const char *ev;
        vsim_prune_decision d;

        next = strchr(line, '\n');
        lineno++;
        if (!next)   /* a last line cut by a kill: not an event */
            break;
        *next++ = '\0';
        if (!(o = json_loads(line, 0, NULL))) {
            rc = vsim_fail(VSIM_EFORMAT, "%s:%zu: not a JSON object", path.buf, lineno);
            break;
        }
        ev = json_string_value(json_object_get(o, "event"));
        j = find_job(s, json_string_value(json_object_get(o, "job")));
        if (!ev) {
            rc = vsim_fail(VSIM_EFORMAT, "%s:%zu: no event", path.buf, lineno);
        } else if (!strcmp(ev, "driver")) {
            s->driver_cpu_s += json_number_value(json_object_get(o, "cpu_s"));
        } else if (!strcmp(ev, "sweep") || !strcmp(ev, "resume") || !strcmp(ev, "interrupt")) {
            if (!strcmp(ev, "sweep"))
                s->t0_unix = json_real_value(json_object_get(o, "t"));
        } else if (!j) {
            rc = vsim_fail(VSIM_EFORMAT, "%s:%zu: no such job", path.buf, lineno);
        } else if (!strcmp(ev, "start")) {
            if (!j->started && !(rc = vsim_study_add_trial(s->study, &j->sid)))
                j->started = 1;
            j->ph = RUNNING;
        } else if (!strcmp(ev, "eval")) {
            json_t *v = json_object_get(o, "value");

            j->last_eval = json_integer_value(json_object_get(o, "global"));
            j->last_value_step = json_integer_value(json_object_get(o, "step"));
            j->last_value = json_is_number(v) ? json_number_value(v) : (double)NAN;
            if (!rc)
                rc = add_point(j, j->last_value_step, j->last_value);
            if (!j->by[0] && s->pruner.kind != VSIM_PRUNE_NONE)
                rc = vsim_study_report(s->study, j->sid, j->last_value_step,
                                       s->maximize ? -j->last_value : j->last_value, &d);
        } else if (!strcmp(ev, "restart-job")) {
            j->n_curve = 0;   /* the run starts again; the old one is run.old */
        } else if (!strcmp(ev, "decision")) {
            snprintf(j->by, sizeof(j->by), "%s",
                     json_string_value(json_object_get(o, "by")) ?: "?");
            snprintf(j->reason, sizeof(j->reason), "%s at step %lld: %s", j->by,
                     (long long)json_integer_value(json_object_get(o, "step")),
                     json_string_value(json_object_get(o, "why")) ?: "");
        } else if (!strcmp(ev, "exit")) {
            j->cpu_s += json_number_value(json_object_get(o, "cpu_s"));
            j->wall_s += json_number_value(json_object_get(o, "wall_s"));
        } else if (!strcmp(ev, "end")) {
            const char *st = json_string_value(json_object_get(o, "status"));

            j->ph = DONE;
            snprintf(j->status, sizeof(j->status), "%s", st ? st : "?");
            snprintf(j->reason, sizeof(j->reason), "%s",
                     json_string_value(json_object_get(o, "reason")) ?: "");
            j->steps = json_integer_value(json_object_get(o, "steps"));
            j->knn10 = json_is_number(json_object_get(o, "knn10"))
                       ? json_number_value(json_object_get(o, "knn10")) : (double)NAN;
            vsim_study_set_state(s->study, j->sid, trial_state(j->status));
            s->t_end_unix = json_real_value(json_object_get(o, "t"));
        }
        json_decref(o);
    }
    vsim_buf_release(&path);
    vsim_buf_release(&text);
    return rc;
}

static int open_sweep(sweep *s, const char *dir)
{
    char path[PATH_MAX + 32];
    json_error_t err;
    json_t *prune;
    int rc;

    if (strlen(dir) >= sizeof(s->dir))
        return vsim_fail(VSIM_EINVAL, "%s: path too long", dir);
    snprintf(s->dir, sizeof(s->dir), "%s", dir);
    snprintf(path, sizeof(path), "%s/" CONFIG, dir);
    if (!vsim_fs_exists(path))
        return vsim_fail(VSIM_ENOTFOUND, "%s: not a sweep (no " CONFIG ")", dir);
    if (!(s->config = json_load_file(path, 0, &err)))
        return vsim_fail(VSIM_EFORMAT, "%s:%d: %s", path, err.line, err.text);
    prune = json_object_get(s->config, "prune");
    s->parallel = (int)json_integer_value(json_object_get(s->config, "parallel"));
    s->threads = (int)json_integer_value(json_object_get(s->config, "threads_per_job"));
    s->steps = json_integer_value(json_object_get(s->config, "steps"));
    s->use_rules = json_is_true(json_object_get(s->config, "use_rules"));
    s->metric = json_string_value(json_object_get(s->config, "metric"));
    s->maximize = json_is_true(json_object_get(s->config, "maximize"));
    if (!json_is_string(prune) || !s->metric || s->parallel < 1 || s->steps < 1)
        return vsim_fail(VSIM_EFORMAT, "%s: incomplete sweep configuration", path);
    {
        int use_rules;

        if ((rc = parse_prune(json_string_value(prune),
                              json_integer_value(json_object_get(s->config, "eval_interval")),
                              &s->pruner, &use_rules, NULL)))
            return vsim_errctx("%s", path);
    }
    if ((rc = vsim_study_create(&s->pruner, &s->study)) || (rc = make_jobs(s)))
        return rc;
    snprintf(path, sizeof(path), "%s/" JOURNAL, dir);
    s->journal_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (s->journal_fd < 0)
        return vsim_fail(VSIM_EIO, "%s: %s", path, strerror(errno));
    return load_journal(s);
}

static void close_sweep(sweep *s)
{
    for (size_t i = 0; i < s->n_jobs; i++) {
        close_follow(&s->jobs[i]);
        vsim_free(s->jobs[i].curve);
    }
    vsim_free(s->jobs);
    vsim_study_destroy(s->study);
    json_decref(s->config);
    if (s->journal_fd > 0)
        close(s->journal_fd);
}

typedef struct totals {
    double used, full, wall;
    size_t n[7];
    const job *best;
} totals;

static const char *const statuses[] = { "completed", "pruned", "stopped by rule", "diverged",
                                        "crashed", "stopped", "running" };

static void sum_up(const sweep *s, totals *t)
{
    memset(t, 0, sizeof(*t));
    for (size_t i = 0; i < s->n_jobs; i++) {
        const job *j = &s->jobs[i];
        size_t k;

        t->used += j->cpu_s;
        /* a job stopped by the sweep would have run all its steps at its cost per step */
        if (j->by[0] && j->ph == DONE && j->steps > 0 && j->steps < s->steps)
            t->full += j->cpu_s / (double)j->steps * (double)s->steps;
        else
            t->full += j->cpu_s;
        for (k = 0; k < 6 && strcmp(j->status, statuses[k]); k++)
            ;
        if (j->ph == DONE || j->started)
            t->n[j->ph == DONE ? k : 6]++;
        if (!strcmp(j->status, "completed") && isfinite(j->last_value) &&
            (!t->best || (s->maximize ? j->last_value > t->best->last_value
                                      : j->last_value < t->best->last_value)))
            t->best = j;
    }
    t->wall = s->t_end_unix > s->t0_unix ? s->t_end_unix - s->t0_unix : 0.0;
}

static json_t *ledger_json(const sweep *s)
{
    json_t *root = json_object(), *jobs = json_array(), *counts = json_object();
    totals t;

    sum_up(s, &t);
    for (size_t i = 0; i < s->n_jobs; i++) {
        const job *j = &s->jobs[i];
        json_t *o = json_object(), *p = json_object();

        for (size_t k = 0; k < s->n_keys; k++)
            json_object_set_new(p, s->keys[k], json_string(j->vals[k]));
        json_object_set_new(o, "job", json_string(j->name));
        json_object_set_new(o, "params", p);
        json_object_set_new(o, "status", json_string(j->ph == DONE ? j->status
                                                     : j->started ? "running" : "pending"));
        json_object_set_new(o, "steps", json_integer(j->steps));
        json_object_set_new(o, "cpu_s", json_real(j->cpu_s));
        json_object_set_new(o, "wall_s", json_real(j->wall_s));
        json_object_set_new(o, "decision", j->by[0] ? json_string(j->by) : json_null());
        json_object_set_new(o, "reason", json_string(j->reason));
        json_object_set_new(o, "metric", isfinite(j->last_value) ? json_real(j->last_value)
                                                                      : json_null());
        json_object_set_new(o, "metric_step", json_integer(j->last_value_step));
        json_object_set_new(o, "knn10_accuracy", isfinite(j->knn10) ? json_real(j->knn10)
                                                                     : json_null());
        json_object_set_new(o, "run", json_string(j->run));
        json_array_append_new(jobs, o);
    }
    for (size_t k = 0; k < VSIM_ARRAY_LEN(statuses); k++)
        json_object_set_new(counts, statuses[k], json_integer((json_int_t)t.n[k]));
    json_object_set_new(root, "jobs", jobs);
    json_object_set_new(root, "counts", counts);
    json_object_set_new(root, "steps_per_job", json_integer(s->steps));
    json_object_set_new(root, "compute_used_cpu_s", json_real(t.used));
    json_object_set_new(root, "compute_unstopped_cpu_s", json_real(t.full));
    json_object_set_new(root, "compute_saved", json_real(t.full > 0 ? 1.0 - t.used / t.full
                                                                     : 0.0));
    json_object_set_new(root, "wall_s", json_real(t.wall));
    json_object_set_new(root, "driver_cpu_s", json_real(s->driver_cpu_s));
    json_object_set_new(root, "best_job", t.best ? json_string(t.best->name) : json_null());
    json_object_set_new(root, "metric", json_string(s->metric));
    json_object_set_new(root, "best_metric",
                        t.best ? json_real(t.best->last_value) : json_null());
    return root;
}

static void csv_field(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void ledger_csv(const sweep *s, FILE *f)
{
    fputs("job,params,status,steps,cpu_s,wall_s,decision,metric,metric_step,knn10_accuracy\n", f);
    for (size_t i = 0; i < s->n_jobs; i++) {
        const job *j = &s->jobs[i];

        fprintf(f, "%s,", j->name);
        csv_field(f, j->params);
        fputc(',', f);
        csv_field(f, j->ph == DONE ? j->status : j->started ? "running" : "pending");
        fprintf(f, ",%lld,%.3f,%.3f,%s,", (long long)j->steps, j->cpu_s, j->wall_s, j->by);
        if (isfinite(j->last_value))
            fprintf(f, "%.9g", j->last_value);
        fprintf(f, ",%lld,", (long long)j->last_value_step);
        if (isfinite(j->knn10))
            fprintf(f, "%.4f", j->knn10);
        fputc('\n', f);
    }
}

static void ledger_table(const sweep *s, FILE *f)
{
    totals t;

    sum_up(s, &t);
    fprintf(f, "%-4s %-36s %-16s %7s %8s %10s %6s  %s\n", "job", "params", "status", "steps",
            "cpu_s", "metric", "knn10", "decision");
    for (size_t i = 0; i < s->n_jobs; i++) {
        const job *j = &s->jobs[i];

        fprintf(f, "%-4s %-36.36s %-16s %7lld %8.1f %10.6g %6.3f  %s\n", j->name, j->params,
                j->ph == DONE ? j->status : j->started ? "running" : "pending",
                (long long)j->steps, j->cpu_s, j->last_value, j->knn10, j->reason);
    }
    fprintf(f, "compute used %.1f CPU s of %.1f without stopping: %.1f %% saved; wall %.1f s; "
            "driver %.2f CPU s\n", t.used, t.full,
            t.full > 0 ? 100.0 * (1.0 - t.used / t.full) : 0.0, t.wall, s->driver_cpu_s);
    if (t.best)
        fprintf(f, "best job %s (%s): %s %.6g\n", t.best->name, t.best->params, s->metric,
                t.best->last_value);
}

static int write_ledger(const sweep *s)
{
    char path[PATH_MAX + 16];
    json_t *root = ledger_json(s);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    FILE *m;
    char *mem = NULL;
    size_t mlen = 0;
    int rc;

    json_decref(root);
    if (!text)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    snprintf(path, sizeof(path), "%s/sweep.json", s->dir);
    rc = vsim_fs_write_atomic(path, text, strlen(text), 0);
    free(text);
    if (!rc && (m = open_memstream(&mem, &mlen)) != NULL) {
        ledger_csv(s, m);
        fclose(m);
        snprintf(path, sizeof(path), "%s/sweep.csv", s->dir);
        rc = vsim_fs_write_atomic(path, mem, mlen, 0);
        free(mem);
    }
    return rc;
}

/* ---- the driver loop ------------------------------------------------------------------- */

static int drive(sweep *s)
{
    struct sigaction sa = { .sa_handler = on_signal };
    double stop_sent = 0.0, grace = 10.0;
    int rc = VSIM_OK;

    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    for (;;) {
        size_t running = 0, pending = 0;
        struct rusage ru;
        int wst;
        pid_t pid;

        while ((pid = wait4(-1, &wst, WNOHANG, &ru)) > 0)
            for (size_t i = 0; i < s->n_jobs; i++)
                if (s->jobs[i].pid == pid && (rc = reap(s, &s->jobs[i], i, wst, &ru)))
                    return rc;
        for (size_t i = 0; i < s->n_jobs; i++) {
            running += s->jobs[i].ph == RUNNING && s->jobs[i].pid > 0;
            pending += s->jobs[i].ph == PENDING;
        }
        if (interrupted) {
            if (stop_sent == 0.0) {
                say(s, "interrupted: STOP to %zu running jobs", running);
                journal(s, "interrupt", NULL, json_pack("{s:i}", "signal", (int)interrupted));
                for (size_t i = 0; i < s->n_jobs; i++)
                    if (s->jobs[i].ph == RUNNING)
                        write_stop(&s->jobs[i], "vsim-sweep was interrupted");
                stop_sent = vsim_clock_s();
            } else if (vsim_clock_s() - stop_sent > grace) {
                for (size_t i = 0; i < s->n_jobs; i++)
                    if (s->jobs[i].pid > 0)
                        kill(s->jobs[i].pid, SIGTERM);
                grace = 1e30;
            }
            if (!running)
                break;
        } else {
            if (!running && !pending)
                break;
            for (size_t i = 0; i < s->n_jobs && running < (size_t)s->parallel; i++) {
                job *j = &s->jobs[i];

                if (j->ph != PENDING)
                    continue;
                if ((rc = vsim_study_add_trial(s->study, &j->sid)) ||
                    (rc = journal(s, "start", j, json_pack("{s:s}", "params", j->params))) ||
                    (rc = launch(s, j, 0)))
                    return rc;
                j->started = 1;
                say(s, "job %s started (%s)", j->name, j->params);
                running++;
            }
        }
        for (size_t i = 0; i < s->n_jobs; i++)
            if (s->jobs[i].ph == RUNNING && s->jobs[i].pid > 0 &&
                (rc = follow(s, &s->jobs[i], i, 0)) != VSIM_OK) {
                vsim_cli_warn("vsim-sweep", "job %s: %s", s->jobs[i].name, vsim_errmsg());
                rc = VSIM_OK;
            }
        usleep(50 * 1000);
    }
    s->t_end_unix = unix_now();
    {   /* the driver's own cost (its children are not in RUSAGE_SELF) */
        struct rusage self;
        double cpu;

        getrusage(RUSAGE_SELF, &self);
        cpu = rusage_s(&self);
        s->driver_cpu_s += cpu;
        if ((rc = journal(s, "driver", NULL, json_pack("{s:f}", "cpu_s", cpu))))
            return rc;
    }
    return write_ledger(s);
}

/* resume: jobs started and not ended go on (or end, if their run did meanwhile). */
static int pick_up(sweep *s)
{
    int rc = journal(s, "resume", NULL, NULL);

    for (size_t i = 0; !rc && i < s->n_jobs; i++) {
        job *j = &s->jobs[i];
        char end[32], ck[PATH_MAX + 32];

        if (j->ph != RUNNING)
            continue;
        end_status(j, end, sizeof(end));
        snprintf(ck, sizeof(ck), "%s/checkpoint.h5", j->run);
        if ((end[0] && (strcmp(end, "stopped") || j->by[0])) || j->by[0]) {
            /* ended while the driver was away, or killed while stopping on our decision */
            if (follow(s, j, i, 1))
                vsim_cli_warn("vsim-sweep", "job %s: %s", j->name, vsim_errmsg());
            rc = finish_job(s, j);
        } else if (vsim_fs_exists(ck)) {
            say(s, "job %s resumed from its checkpoint", j->name);
            rc = journal(s, "resume-job", j, NULL);
            if (!rc)
                rc = launch(s, j, 1);
        } else {
            char cmd[PATH_MAX + 32];

            say(s, "job %s restarted (no checkpoint)", j->name);
            snprintf(cmd, sizeof(cmd), "%s/run", j->dir);
            snprintf(ck, sizeof(ck), "%s/run.old", j->dir);
            rename(cmd, ck);
            rc = journal(s, "restart-job", j, NULL);
            if (!rc)
                rc = launch(s, j, 0);
        }
    }
    return rc;
}

static const char *find_train(void)
{
    static char path[PATH_MAX];
    const char *env = getenv("VSIM_TRAIN");
    ssize_t n;

    if (env && *env)
        return env;
    n = readlink("/proc/self/exe", path, sizeof(path) - 16);
    if (n > 0) {
        char *slash;

        path[n] = '\0';
        if ((slash = strrchr(path, '/')) != NULL) {
            strcpy(slash + 1, "vsim-train");
            if (access(path, X_OK) == 0)
                return path;
        }
    }
    return "vsim-train";
}

/* Drive an opened sweep (rc: how opening it went) to its end, print the ledger, close it;
 * the exit status. */
static int run_to_end(sweep *s, int rc)
{
    if (!rc)
        rc = drive(s);
    if (!rc)
        ledger_table(s, stdout);
    close_sweep(s);
    if (rc)
        return vsim_cli_error("vsim-sweep");
    return interrupted ? 130 : VSIM_EXIT_OK;
}

static int cmd_run(int argc, char **argv)
{
    const char *out = NULL, *grid = NULL, *prune = "median", *rules_file = NULL,
               *metric = "eval_loss", *space = NULL;
    int parallel = 0, threads = 1, force = 0, maximize = 0, first, rc, n_random = 0;
    int64_t steps = 1000, ckpt = 0, eval_interval = 100, seed = 1;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    sweep s = { .quiet = getenv("VSIM_QUIET") != NULL };
    json_t *cfg = json_object(), *g = json_object(), *targs = json_array(), *jr = json_array();
    char path[PATH_MAX + 32];
    const char *base;
    vsim_opt opts[] = {
        VSIM_OPT_STRING('o', "out", &out, "SWEEP", "the sweep's folder (must not exist)"),
        VSIM_OPT_STRING('g', "grid", &grid, "SPEC", "'KEY=V1,V2;KEY=...': vsim-train options"),
        VSIM_OPT_INT(0, "random", &n_random, "K", "K points drawn from --space instead of a "
                     "grid"),
        VSIM_OPT_STRING(0, "space", &space, "FILE", "JSON: key -> [choices] | {\"uniform\"|"
                        "\"loguniform\"|\"int\": [A, B]}"),
        VSIM_OPT_INT64(0, "seed", &seed, "S", "seed of the --random draws (default 1)"),
        VSIM_OPT_INT('P', "parallel", &parallel, "P", "jobs at a time (default: cores / T)"),
        VSIM_OPT_INT('T', "threads-per-job", &threads, "T", "threads of each job (default 1)"),
        VSIM_OPT_INT64('n', "steps", &steps, "N", "training steps of each job (default 1000)"),
        VSIM_OPT_INT64(0, "eval-interval", &eval_interval, "N",
                       "each job evaluates every N steps (default 100)"),
        VSIM_OPT_INT64(0, "checkpoint-interval", &ckpt, "N",
                       "each job checkpoints every N steps (default: the eval interval)"),
        VSIM_OPT_STRING(0, "prune", &prune, "SPEC",
                        "none, median (default), percentile:Q, asha, rules, rules+median, "
                        "rules+PRUNER"),
        VSIM_OPT_CALLBACK(0, "rules", NULL, "SPEC", "a vsim-rules spec (repeatable; default: "
                          "vsim-rules' default set)", add_rule),
        VSIM_OPT_STRING(0, "rules-file", &rules_file, "FILE", "rules, one spec a line"),
        VSIM_OPT_STRING(0, "metric", &metric, "NAME", "eval_loss (default) or an evaluation "
                        "tensor's name"),
        VSIM_OPT_FLAG(0, "maximize", &maximize, "larger values of the metric are better "
                      "(metrics/ssim, metrics/psnr)"),
        VSIM_OPT_FLAG(0, "force", &force, "more threads than cores"),
        VSIM_OPT_END
    };

    vsim_cli_parse(&cli_run, opts, argc, argv, &first);
    if (!out || (!grid && !n_random))
        vsim_cli_usage_error(&cli_run, "--out and --grid (or --random K --space FILE) are "
                             "required");
    if (grid && (n_random || space))
        vsim_cli_usage_error(&cli_run, "--grid or --random, not both");
    if (!grid && (n_random < 1 || !space))
        vsim_cli_usage_error(&cli_run, "--random K needs K >= 1 and --space FILE");
    if (first < argc && strcmp(argv[first - 1], "--"))
        vsim_cli_usage_error(&cli_run, "unexpected argument '%s' (vsim-train's arguments go "
                             "after --)", argv[first]);
    if (threads < 1 || steps < 1 || eval_interval < 1 || ckpt < 0)
        vsim_cli_usage_error(&cli_run, "--threads-per-job, --steps and --eval-interval must be "
                             "positive");
    if (!parallel)
        parallel = cores / threads > 0 ? (int)(cores / threads) : 1;
    if (parallel < 1)
        vsim_cli_usage_error(&cli_run, "--parallel must be positive");
    if ((long)parallel * threads > cores && !force)
        vsim_cli_usage_error(&cli_run, "%d jobs x %d threads is more than the %ld cores "
                             "(--force to do it anyway)", parallel, threads, cores);
    if (grid && parse_grid(grid, g))
        vsim_cli_usage_error(&cli_run, "%s", vsim_errmsg());
    if (!grid) {
        json_t *pts = json_array(), *sp;
        json_error_t err;

        if (n_random > (int)VSIM_ARRAY_LEN(vctx))
            vsim_cli_usage_error(&cli_run, "--random %d: at most %zu jobs", n_random,
                                 VSIM_ARRAY_LEN(vctx));
        if (!(sp = json_load_file(space, 0, &err)))
            vsim_cli_usage_error(&cli_run, "--space %s:%d: %s", space, err.line, err.text);
        if (sample_space(space, sp, n_random, (uint64_t)seed, pts))
            vsim_cli_usage_error(&cli_run, "--space %s", vsim_errmsg());
        json_object_set_new(cfg, "points", pts);
        json_object_set_new(cfg, "space", sp);
        json_object_set_new(cfg, "random_seed", json_integer(seed));
    }
    {
        const char *p;
        vsim_pruner pr;
        int use_rules;

        if (parse_prune(prune, 0, &pr, &use_rules, &p) || !strncmp(p, "top:", 4))
            vsim_cli_usage_error(&cli_run, "--prune %s: %s", prune,
                                 strncmp(p, "top:", 4) ? vsim_errmsg()
                                                       : "top:K is an arm of replay only");
        json_object_set_new(cfg, "prune", json_string(p));
        json_object_set_new(cfg, "use_rules", json_boolean(use_rules));
        json_object_set_new(cfg, "prune_spec", json_string(prune));
    }
    base = !strcmp(metric, "eval_loss") ? "loss/total" : metric;
    for (int i = 0; i < n_rule_specs; i++)
        json_array_append_new(jr, json_string(rule_specs[i]));
    {   /* every rule spec checked now, not in the jobs */
        vsim_rules *rs;

        if (vsim_rules_create(&rs))
            return vsim_cli_error("vsim-sweep");
        rc = VSIM_OK;
        for (int i = 0; !rc && i < n_rule_specs; i++)
            rc = vsim_rules_add(rs, rule_specs[i]);
        if (!rc && rules_file)
            rc = vsim_rules_add_file(rs, rules_file);
        vsim_rules_destroy(rs);
        if (rc)
            vsim_cli_usage_error(&cli_run, "%s", vsim_errmsg());
    }
    for (int i = first; i < argc; i++)
        json_array_append_new(targs, json_string(argv[i]));
    json_array_append_new(targs, json_string("--eval-interval"));
    {
        char ev[32];

        snprintf(ev, sizeof(ev), "%lld", (long long)eval_interval);
        json_array_append_new(targs, json_string(ev));
    }
    if (vsim_fs_exists(out))
        vsim_cli_usage_error(&cli_run, "%s exists; choose a new folder (or vsim-sweep resume "
                             "it)", out);
    json_object_set_new(cfg, "schema", json_string("vsim-sweep/1"));
    json_object_set_new(cfg, "grid", g);
    json_object_set_new(cfg, "grid_spec", grid ? json_string(grid) : json_null());
    json_object_set_new(cfg, "parallel", json_integer(parallel));
    json_object_set_new(cfg, "threads_per_job", json_integer(threads));
    json_object_set_new(cfg, "steps", json_integer(steps));
    json_object_set_new(cfg, "eval_interval", json_integer(eval_interval));
    json_object_set_new(cfg, "checkpoint_interval", json_integer(ckpt ? ckpt : eval_interval));
    json_object_set_new(cfg, "rules", jr);
    json_object_set_new(cfg, "rules_file", json_string(rules_file ? rules_file : ""));
    json_object_set_new(cfg, "metric", json_string(base));
    json_object_set_new(cfg, "maximize", json_boolean(maximize));
    json_object_set_new(cfg, "train_args", targs);
    if (vsim_fs_mkdir_p(out))
        return vsim_cli_error("vsim-sweep");
    snprintf(path, sizeof(path), "%s/" CONFIG, out);
    if (json_dump_file(cfg, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) {
        vsim_fail(VSIM_EIO, "%s: cannot write", path);
        return vsim_cli_error("vsim-sweep");
    }
    json_decref(cfg);
    s.train = find_train();
    rc = open_sweep(&s, out);
    if (!rc)
        rc = journal(&s, "sweep", NULL, NULL);
    s.t0_unix = unix_now();
    if (!rc)
        say(&s, "%zu jobs, %d at a time x %d threads, %lld steps each, prune %s", s.n_jobs,
            s.parallel, s.threads, (long long)s.steps, prune);
    return run_to_end(&s, rc);
}

static int cmd_status(int argc, char **argv)
{
    const char *format = "table";
    sweep s = { .quiet = 1 };
    int first, rc;
    vsim_opt opts[] = {
        VSIM_OPT_STRING('f', "format", &format, "FMT", "table (default), json or csv"),
        VSIM_OPT_END
    };

    vsim_cli_parse(&cli_status, opts, argc, argv, &first);
    if (strcmp(format, "table") && strcmp(format, "json") && strcmp(format, "csv"))
        vsim_cli_usage_error(&cli_status, "--format %s: expected table, json or csv", format);
    rc = open_sweep(&s, argv[first]);
    if (!rc) {
        for (size_t i = 0; i < s.n_jobs; i++)   /* a live job's steps so far */
            if (s.jobs[i].ph == RUNNING)
                s.jobs[i].steps = steps_reached(&s.jobs[i]);
        if (s.t_end_unix <= s.t0_unix)
            s.t_end_unix = unix_now();
        if (!strcmp(format, "json")) {
            json_t *root = ledger_json(&s);

            json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            fputc('\n', stdout);
            json_decref(root);
        } else if (!strcmp(format, "csv")) {
            ledger_csv(&s, stdout);
        } else {
            ledger_table(&s, stdout);
        }
    }
    close_sweep(&s);
    return rc ? vsim_cli_error("vsim-sweep") : VSIM_EXIT_OK;
}

static int cmd_resume(int argc, char **argv)
{
    sweep s = { .quiet = getenv("VSIM_QUIET") != NULL };
    int first, rc;
    vsim_opt opts[] = { VSIM_OPT_END };

    vsim_cli_parse(&cli_resume, opts, argc, argv, &first);
    s.train = find_train();
    rc = open_sweep(&s, argv[first]);
    if (!rc)
        rc = pick_up(&s);
    return run_to_end(&s, rc);
}

/* ---- replay: the recorded curves decided on again ------------------------------------- */

#define MAX_ARMS 16

static const char *arm_specs[MAX_ARMS];
static int n_arm_specs;

static int add_arm(const vsim_opt *o, const char *arg)
{
    (void)o;
    if (n_arm_specs == MAX_ARMS)
        return -1;
    arm_specs[n_arm_specs++] = arg;
    return 0;
}

/* An arm: a --prune spec of run, "top:K[,at=F]" or "rules+top:K[,at=F]". */
static int parse_arm(const sweep *s, const char *spec, vsim_replay_arm *a)
{
    const char *p;

    memset(a, 0, sizeof(*a));
    a->steps = s->steps;
    a->top_at = 0.1;
    if (parse_prune(spec, json_integer_value(json_object_get(s->config, "eval_interval")),
                    &a->pruner, &a->use_rules, &p))
        return vsim_errctx("arm '%s'", spec);
    if (!strncmp(p, "top:", 4)) {
        char *end;
        long k = strtol(p + 4, &end, 10);

        if (k < 1 || (*end && strncmp(end, ",at=", 4)))
            return vsim_fail(VSIM_EINVAL, "arm '%s': expected top:K[,at=F] with K >= 1", spec);
        if (*end) {
            char *e2;

            a->top_at = strtod(end + 4, &e2);
            if (*e2 || !(a->top_at > 0.0 && a->top_at < 1.0))
                return vsim_fail(VSIM_EINVAL, "arm '%s': at= must be between 0 and 1", spec);
        }
        a->top_k = (size_t)k;
    }
    return VSIM_OK;
}

typedef struct first_fire {
    int64_t step;          /* training steps done; -1 none */
    char rule[96];
} first_fire;

static int on_first_fire(void *ctx, const vsim_verdict *v)
{
    first_fire *f = ctx;

    if (v->result != VSIM_RULE_FIRED || v->step < 0 || f->step >= 0)
        return 0;
    f->step = v->mode == VSIM_MODE_TRAIN ? v->mode_step + 1 : v->step - v->mode_step;
    snprintf(f->rule, sizeof(f->rule), "%s", v->rule);
    return 0;
}

/* The training step at which j's rules first fire, run offline over its recorded run. */
static int rules_first_fire(sweep *s, job *j, size_t idx, first_fire *f)
{
    vsim_rules_summary sum = VSIM_RULES_SUMMARY_INIT;
    int rc = open_rules(s, j, idx);

    f->step = -1;
    f->rule[0] = '\0';
    j->rp.on_verdict = on_first_fire;
    j->rp.verdict_ctx = f;
    j->rp.n_threads = 0;
    if (!rc)
        rc = vsim_rules_run(j->rules, j->run, &j->rp, &sum);
    vsim_rules_summary_release(&sum);
    vsim_rules_destroy(j->rules);
    j->rules = NULL;
    return rc;
}

static const char *const replay_status[] = { "completed", "failed", "pruned", "stopped by rule",
                                             "stopped by top-K" };

static int cmd_replay(int argc, char **argv)
{
    const char *format = "table", *rules_file = NULL;
    int shuffles = 20, parallel = 0, first, rc, any_rules = 0;
    int64_t seed = 1;
    sweep s = { .quiet = 1 };
    vsim_replay_arm arms[MAX_ARMS];
    char top_default[32];
    vsim_replay_job *rj = NULL;
    first_fire *ff = NULL;
    size_t *orders = NULL, best = SIZE_MAX, n_arms;
    double best_value = (double)NAN;   /* the best recorded job's final value, minimised */
    vsim_replay_outcome *out = NULL;
    json_t *root = NULL, *jarms, *jjobs;
    vsim_opt opts[] = {
        VSIM_OPT_CALLBACK(0, "prune", NULL, "ARM", "an arm to replay (repeatable; see below)",
                          add_arm),
        VSIM_OPT_INT(0, "shuffles", &shuffles, "N", "job orders to replay (default 20)"),
        VSIM_OPT_INT64(0, "seed", &seed, "S", "seed of the shuffles (default 1)"),
        VSIM_OPT_INT('P', "parallel", &parallel, "P", "jobs at a time (default: the sweep's)"),
        VSIM_OPT_CALLBACK(0, "rules", NULL, "SPEC", "a vsim-rules spec instead of the sweep's "
                          "(repeatable)", add_rule),
        VSIM_OPT_STRING(0, "rules-file", &rules_file, "FILE", "rules, one spec a line"),
        VSIM_OPT_STRING('f', "format", &format, "FMT", "table (default) or json"),
        VSIM_OPT_END
    };

    vsim_cli_parse(&cli_replay, opts, argc, argv, &first);
    if (strcmp(format, "table") && strcmp(format, "json"))
        vsim_cli_usage_error(&cli_replay, "--format %s: expected table or json", format);
    if (shuffles < 1 || parallel < 0)
        vsim_cli_usage_error(&cli_replay, "--shuffles and --parallel must be positive");
    if ((rc = open_sweep(&s, argv[first])))
        goto done;
    if (!parallel)
        parallel = s.parallel;
    if (!n_arm_specs) {
        static const char *const defaults[] = { "none", "median", "asha", "rules",
                                                "rules+median" };

        for (size_t i = 0; i < VSIM_ARRAY_LEN(defaults); i++)
            arm_specs[n_arm_specs++] = defaults[i];
        snprintf(top_default, sizeof(top_default), "top:%zu",
                 s.n_jobs >= 8 ? s.n_jobs / 4 : 2);
        arm_specs[n_arm_specs++] = top_default;
    }
    n_arms = (size_t)n_arm_specs;
    for (size_t a = 0; a < n_arms; a++) {
        if (parse_arm(&s, arm_specs[a], &arms[a]))
            vsim_cli_usage_error(&cli_replay, "--prune %s", vsim_errmsg());
        any_rules |= arms[a].use_rules;
    }
    if (n_rule_specs || rules_file) {   /* other rules than the sweep's */
        json_t *jr = json_array();

        for (int i = 0; i < n_rule_specs; i++)
            json_array_append_new(jr, json_string(rule_specs[i]));
        json_object_set_new(s.config, "rules", jr);
        json_object_set_new(s.config, "rules_file", json_string(rules_file ? rules_file : ""));
    }
    /* the recording: every job ended by itself, its whole curve known */
    for (size_t i = 0; i < s.n_jobs; i++) {
        const job *j = &s.jobs[i];

        if (j->ph != DONE) {
            rc = vsim_fail(VSIM_EINVAL, "%s: job %s has not ended (%s); replay needs a finished "
                           "sweep", s.dir, j->name, j->started ? "running" : "pending");
            goto done;
        }
        if (j->by[0] || !strcmp(j->status, "stopped")) {
            rc = vsim_fail(VSIM_EINVAL, "%s: job %s was stopped at step %lld (%s); replay needs "
                           "every job's whole curve: a sweep run with --prune none", s.dir,
                           j->name, (long long)j->steps, j->reason[0] ? j->reason : j->status);
            goto done;
        }
    }
    if (!(rj = vsim_calloc(s.n_jobs ? s.n_jobs : 1, sizeof(*rj))) ||
        !(ff = vsim_calloc(s.n_jobs ? s.n_jobs : 1, sizeof(*ff))) ||
        !(out = vsim_calloc(s.n_jobs ? s.n_jobs : 1, sizeof(*out))) ||
        !(orders = vsim_mallocarray((size_t)shuffles * (s.n_jobs ? s.n_jobs : 1),
                                    sizeof(*orders)))) {
        rc = vsim_fail(VSIM_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < s.n_jobs; i++) {
        job *j = &s.jobs[i];
        vsim_replay_job *r = &rj[i];

        if (s.maximize)   /* the study minimises */
            for (size_t k = 0; k < j->n_curve; k++)
                j->curve[k].value = -j->curve[k].value;
        r->evals = j->curve;
        r->n_evals = j->n_curve;
        r->end_step = j->steps;
        r->completed = !strcmp(j->status, "completed");
        r->cpu_per_step = j->steps > 0 ? j->cpu_s / (double)j->steps : 0.0;
        r->wall_per_step = j->steps > 0 ? j->wall_s / (double)j->steps : 0.0;
        r->rule_step = -1;
        ff[i].step = -1;
        if (any_rules) {
            if ((rc = rules_first_fire(&s, j, i, &ff[i]))) {
                vsim_errctx("job %s", j->name);
                goto done;
            }
            r->rule_step = ff[i].step;
        }
        if (r->completed && j->n_curve && !isnan(j->curve[j->n_curve - 1].value) &&
            (best == SIZE_MAX || j->curve[j->n_curve - 1].value < best_value)) {
            best = i;
            best_value = j->curve[j->n_curve - 1].value;
        }
    }
    {   /* the job orders: Fisher-Yates shuffles of one seeded stream */
        vsim_rng g;

        vsim_rng_seed(&g, (uint64_t)seed, 15);
        for (int sh = 0; sh < shuffles; sh++) {
            size_t *o = orders + (size_t)sh * s.n_jobs;

            for (size_t i = 0; i < s.n_jobs; i++)
                o[i] = i;
            for (size_t i = s.n_jobs; i > 1; i--) {
                size_t k = (size_t)vsim_rng_below(&g, i), tmp = o[i - 1];

                o[i - 1] = o[k];
                o[k] = tmp;
            }
        }
    }
    root = json_object();
    jjobs = json_array();
    jarms = json_array();
    for (size_t i = 0; i < s.n_jobs; i++) {
        const job *j = &s.jobs[i];
        json_t *st = json_array(), *va = json_array();

        for (size_t k = 0; k < j->n_curve; k++) {
            json_array_append_new(st, json_integer(j->curve[k].step));
            json_array_append_new(va, isnan(j->curve[k].value) ? json_null()
                                      : json_real(j->curve[k].value));
        }
        json_array_append_new(jjobs, json_pack(
            "{s:s,s:s,s:s,s:I,s:b,s:f,s:f,s:o,s:o,s:I,s:s}", "job", j->name, "params", j->params,
            "status", j->status, "steps", (json_int_t)j->steps, "completed", rj[i].completed,
            "cpu_per_step", rj[i].cpu_per_step, "wall_per_step", rj[i].wall_per_step,
            "eval_step", st, "eval_value", va, "rule_step", (json_int_t)ff[i].step, "rule",
            ff[i].rule));
    }
    for (size_t a = 0; a < n_arms; a++) {
        double saved_sum = 0, saved_min = 1e300, saved_max = -1e300, reg_sum = 0, reg_max = 0,
               wall_sum = 0, stop_sum = 0;
        int best_stopped = 0;
        json_t *jsh = json_array();

        for (int sh = 0; sh < shuffles; sh++) {
            const size_t *o = orders + (size_t)sh * s.n_jobs;
            vsim_replay_totals t;
            double saved, regret = 0.0, bv = best_value;
            json_t *ord = json_array(), *res = json_array();
            int lost;

            if ((rc = vsim_replay_run(rj, s.n_jobs, o, parallel, &arms[a], out, &t)))
                goto done;
            saved = t.full > 0 ? 1.0 - t.used / t.full : 0.0;
            if (fabs(saved) < 1e-12)   /* the same sum in another order */
                saved = 0.0;
            if (best != SIZE_MAX)
                regret = t.best == SIZE_MAX ? (double)INFINITY
                         : (t.best_value - bv) / (fabs(bv) > 0 ? fabs(bv) : 1.0);
            lost = best != SIZE_MAX && out[best].status != VSIM_REPLAY_COMPLETED;
            saved_sum += saved;
            saved_min = saved < saved_min ? saved : saved_min;
            saved_max = saved > saved_max ? saved : saved_max;
            reg_sum += regret;
            reg_max = regret > reg_max ? regret : reg_max;
            wall_sum += t.makespan;
            stop_sum += (double)t.n_stopped;
            best_stopped += lost;
            for (size_t i = 0; i < s.n_jobs; i++) {
                json_array_append_new(ord, json_string(s.jobs[o[i]].name));
                json_array_append_new(res, json_pack("{s:s,s:s,s:I,s:f,s:f}", "job",
                                                     s.jobs[i].name, "status",
                                                     replay_status[out[i].status], "steps",
                                                     (json_int_t)out[i].steps, "start",
                                                     out[i].start, "end", out[i].end));
            }
            json_array_append_new(jsh, json_pack(
                "{s:o,s:f,s:f,s:f,s:f,s:o,s:b,s:I,s:o}", "order", ord, "compute_used_cpu_s",
                t.used, "compute_unstopped_cpu_s", t.full, "compute_saved", saved, "wall_s",
                t.makespan, "best_job", t.best == SIZE_MAX ? json_null()
                                                           : json_string(s.jobs[t.best].name),
                "best_stopped", lost, "n_stopped", (json_int_t)t.n_stopped, "jobs", res));
            json_object_set_new(json_array_get(jsh, json_array_size(jsh) - 1), "regret",
                                isfinite(regret) ? json_real(regret) : json_null());
        }
        json_array_append_new(jarms, json_pack(
            "{s:s,s:f,s:f,s:f,s:f,s:f,s:i,s:f,s:f,s:o}", "arm", arm_specs[a], "saved_mean",
            saved_sum / shuffles, "saved_min", saved_min, "saved_max", saved_max, "regret_mean",
            isfinite(reg_sum) ? reg_sum / shuffles : -1.0, "regret_max",
            isfinite(reg_max) ? reg_max : -1.0, "best_stopped", best_stopped, "stopped_mean",
            stop_sum / shuffles, "wall_mean_s", wall_sum / shuffles, "shuffles", jsh));
    }
    json_object_set_new(root, "sweep", json_string(s.dir));
    json_object_set_new(root, "metric", json_string(s.metric));
    json_object_set_new(root, "maximize", json_boolean(s.maximize));
    json_object_set_new(root, "parallel", json_integer(parallel));
    json_object_set_new(root, "steps_per_job", json_integer(s.steps));
    json_object_set_new(root, "eval_interval",
                        json_incref(json_object_get(s.config, "eval_interval")));
    json_object_set_new(root, "shuffles", json_integer(shuffles));
    json_object_set_new(root, "seed", json_integer(seed));
    json_object_set_new(root, "best_job", best == SIZE_MAX ? json_null()
                                                           : json_string(s.jobs[best].name));
    json_object_set_new(root, "jobs", jjobs);
    json_object_set_new(root, "arms", jarms);
    if (!strcmp(format, "json")) {
        json_dumpf(root, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    } else {
        size_t ai;
        json_t *ja;

        printf("replay of %s: %zu jobs, %d at a time, %d shuffles (seed %lld); %s, %s is "
               "better\n", s.dir, s.n_jobs, parallel, shuffles, (long long)seed, s.metric,
               s.maximize ? "larger" : "smaller");
        if (best != SIZE_MAX)
            printf("best job %s (%s): %.6g\n", s.jobs[best].name, s.jobs[best].params,
                   s.maximize ? -best_value : best_value);
        printf("%-22s %8s %7s %7s %9s %8s %13s %8s %8s\n", "arm", "saved %", "min", "max",
               "regret %", "max", "best stopped", "stopped", "wall s");
        json_array_foreach(jarms, ai, ja) {
            double rm = json_number_value(json_object_get(ja, "regret_mean")),
                   rx = json_number_value(json_object_get(ja, "regret_max"));
            char mean[32] = "-", max[32] = "-";

            if (rm >= 0)
                snprintf(mean, sizeof(mean), "%.2f", 100 * rm);
            if (rx >= 0)
                snprintf(max, sizeof(max), "%.2f", 100 * rx);
            printf("%-22s %8.1f %7.1f %7.1f %9s %8s %6d of %-4d %8.1f %8.1f\n",
                   json_string_value(json_object_get(ja, "arm")),
                   100 * json_number_value(json_object_get(ja, "saved_mean")),
                   100 * json_number_value(json_object_get(ja, "saved_min")),
                   100 * json_number_value(json_object_get(ja, "saved_max")), mean, max,
                   (int)json_integer_value(json_object_get(ja, "best_stopped")), shuffles,
                   json_number_value(json_object_get(ja, "stopped_mean")),
                   json_number_value(json_object_get(ja, "wall_mean_s")));
        }
    }
done:
    json_decref(root);
    vsim_free(rj);
    vsim_free(ff);
    vsim_free(out);
    vsim_free(orders);
    close_sweep(&s);
    return rc ? vsim_cli_error("vsim-sweep") : VSIM_EXIT_OK;
}

int main(int argc, char **argv)
{
    int first;
    vsim_opt opts[] = { VSIM_OPT_END };

    if (argc > 1 && !strcmp(argv[1], "run"))
        return cmd_run(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "status"))
        return cmd_status(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "resume"))
        return cmd_resume(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "replay"))
        return cmd_replay(argc - 1, argv + 1);
    vsim_cli_parse(&cli_top, opts, argc, argv, &first);
    if (first < argc)
        vsim_cli_usage_error(&cli_top, "unknown command '%s' (run, status, resume, replay)", argv[first]);
    vsim_cli_usage_error(&cli_top, "a command is required (run, status, resume, replay)");
}
