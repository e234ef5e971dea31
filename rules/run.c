/*
 * rules/run.c - evaluation of a rule set over a run in one pass: for each
 * complete step, every tensor some rule needs is read once (worker 0), its
 * statistics computed once (analyze/stats.h, OpenMP inside), and the entries
 * shared by all rules; watching refreshes the trial every poll interval until
 * END or the timeout. Actions (STOP, a signal, a command) run once per rule,
 * at its first firing; --record appends verdicts to RUN/rules/verdicts.jsonl.
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/fs.h"
#include "core/mem.h"
#include "rules/rules_int.h"

extern char **environ;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

static int parse_signal(const char *s, int *out)
{
    static const struct { const char *name; int sig; } sigs[] = {
        { "TERM", SIGTERM }, { "INT", SIGINT }, { "KILL", SIGKILL }, { "HUP", SIGHUP },
        { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "QUIT", SIGQUIT }, { "STOP", SIGSTOP },
        { "CONT", SIGCONT },
    };
    char *end;
    long v;

    if (!strncasecmp(s, "SIG", 3))
        s += 3;
    for (size_t i = 0; i < VSIM_ARRAY_LEN(sigs); i++)
        if (!strcasecmp(s, sigs[i].name)) {
            *out = sigs[i].sig;
            return 0;
        }
    v = strtol(s, &end, 10);
    if (end == s || *end || v <= 0 || v > 64)
        return -1;
    *out = (int)v;
    return 0;
}

int vsim_action_parse(const char *spec, vsim_action *out)
{
    memset(out, 0, sizeof(*out));
    if (!strcmp(spec, "stop")) {
        out->kind = VSIM_ACTION_STOP;
        return VSIM_OK;
    }
    if (!strncmp(spec, "signal:", 7)) {
        const char *p = spec + 7, *colon = strchr(p, ':');
        char *end;
        long pid = strtol(p, &end, 10);

        out->kind = VSIM_ACTION_SIGNAL;
        out->sig = SIGTERM;
        if (end == p || (*end && *end != ':') || pid <= 0 || pid > 0x7fffffffL)
            return vsim_fail(VSIM_EINVAL, "--on-fire %s: want signal:PID[:SIG] with PID > 0",
                             spec);
        out->pid = (int)pid;
        if (colon && parse_signal(colon + 1, &out->sig))
            return vsim_fail(VSIM_EINVAL, "--on-fire %s: unknown signal '%s'", spec, colon + 1);
        return VSIM_OK;
    }
    if (!strncmp(spec, "exec:", 5) && spec[5]) {
        out->kind = VSIM_ACTION_EXEC;
        out->cmd = spec + 5;
        return VSIM_OK;
    }
    return vsim_fail(VSIM_EINVAL, "--on-fire '%s': want stop, signal:PID[:SIG] or exec:CMD",
                     spec);
}

static void logf_(const vsim_rules_params *p, const char *fmt, ...) VSIM_PRINTF(2, 3);

static void logf_(const vsim_rules_params *p, const char *fmt, ...)
{
    char line[600];
    va_list ap;

    if (!p->log)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    p->log(p->log_ctx, line);
}

/* Environment for exec: the current one plus VSIM_RULE_* (built before fork). */
static char **exec_env(const char *run_dir, const vsim_verdict *v, const char *json)
{
    size_t n = 0, k = 0;
    char **env;
    char buf[64];

    while (environ && environ[n])
        n++;
    env = vsim_calloc(n + 10, sizeof(*env));
    if (!env)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "VSIM_RULE", 9) && strncmp(environ[i], "VSIM_RUN=", 9))
            env[k++] = vsim_strdup(environ[i]);
#define ADD_ENV(fmt, ...)                                                           \
    do {                                                                            \
        vsim_buf b_ = VSIM_BUF_INIT;                                                \
        vsim_buf_addf(&b_, fmt, __VA_ARGS__);                                       \
        env[k++] = vsim_buf_detach(&b_, NULL);                                      \
    } while (0)
    ADD_ENV("VSIM_RUN=%s", run_dir);
    ADD_ENV("VSIM_RULE=%s", v->rule);
    ADD_ENV("VSIM_RULE_STEP=%lld", (long long)v->step);
    ADD_ENV("VSIM_RULE_TENSOR=%s", v->tensor);
    snprintf(buf, sizeof(buf), "%.9g", v->value);
    ADD_ENV("VSIM_RULE_VALUE=%s", buf);
    snprintf(buf, sizeof(buf), "%.9g", v->threshold);
    ADD_ENV("VSIM_RULE_THRESHOLD=%s", buf);
    ADD_ENV("VSIM_RULE_MESSAGE=%s", v->message);
    ADD_ENV("VSIM_RULE_JSON=%s", json);
#undef ADD_ENV
    return env;
}

static void free_env(char **env)
{
    for (size_t i = 0; env && env[i]; i++)
        vsim_free(env[i]);
    vsim_free(env);
}

static int run_exec(const vsim_action *a, const char *run_dir, const vsim_verdict *v,
                    const char *json, int *status)
{
    char **env = exec_env(run_dir, v, json);
    pid_t pid;

    if (!env)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    pid = fork();
    if (pid == 0) {
        char *argv[] = { "sh", "-c", (char *)a->cmd, NULL };

        execve("/bin/sh", argv, env);
        _exit(127);
    }
    free_env(env);
    if (pid < 0)
        return vsim_fail(VSIM_EIO, "exec '%s': fork: %s", a->cmd, strerror(errno));
    while (waitpid(pid, status, 0) < 0)
        if (errno != EINTR)
            return vsim_fail(VSIM_EIO, "exec '%s': wait: %s", a->cmd, strerror(errno));
    return VSIM_OK;
}

/* Run every action for the first firing of rule v->rule; log each. */
static void run_actions(const vsim_rules_params *p, const char *run_dir, const vsim_verdict *v,
                        vsim_rule *r)
{
    vsim_buf json = VSIM_BUF_INIT, path = VSIM_BUF_INIT;

    vsim_verdict_json(v, &json);
    for (size_t i = 0; i < p->n_actions; i++) {
        const vsim_action *a = &p->actions[i];
        int st = 0;

        r->sum.n_actions++;
        if (a->kind == VSIM_ACTION_STOP) {
            vsim_buf_reset(&path);
            vsim_buf_addf(&path, "%s/%s", run_dir, VSIM_RUN_STOP);
            vsim_buf_addch(&json, '\n');
            if (vsim_fs_write_atomic(path.buf, json.buf, json.len, 1))
                logf_(p, "action stop for %s at step %lld failed: %s", v->rule,
                      (long long)v->step, vsim_errmsg());
            else
                logf_(p, "action: %s fired at step %lld: wrote %s", v->rule,
                      (long long)v->step, path.buf);
            json.buf[--json.len] = '\0';
        } else if (a->kind == VSIM_ACTION_SIGNAL) {
            if (kill(a->pid, a->sig))
                logf_(p, "action signal %d to pid %d for %s failed: %s", a->sig, a->pid,
                      v->rule, strerror(errno));
            else
                logf_(p, "action: %s fired at step %lld: sent signal %d to pid %d", v->rule,
                      (long long)v->step, a->sig, a->pid);
        } else if (run_exec(a, run_dir, v, json.buf, &st)) {
            logf_(p, "action exec for %s failed: %s", v->rule, vsim_errmsg());
        } else {
            logf_(p, "action: %s fired at step %lld: ran '%s' (exit %d)", v->rule,
                  (long long)v->step, a->cmd, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
        }
    }
    vsim_buf_release(&json);
    vsim_buf_release(&path);
}

static int record_verdict(const char *run_dir, const vsim_verdict *v)
{
    vsim_buf path = VSIM_BUF_INIT, line = VSIM_BUF_INIT;
    int fd = -1, rc = vsim_buf_addf(&path, "%s/rules", run_dir);

    if (!rc)
        rc = vsim_fs_mkdir_p(path.buf);
    if (!rc)
        rc = vsim_buf_adds(&path, "/verdicts.jsonl");
    if (!rc)
        rc = vsim_verdict_json(v, &line);
    if (!rc)
        rc = vsim_buf_addch(&line, '\n');
    if (!rc && (fd = open(path.buf, O_WRONLY | O_APPEND | O_CREAT, 0666)) < 0)
        rc = vsim_fail(VSIM_EIO, "%s: %s", path.buf, strerror(errno));
    if (!rc && write(fd, line.buf, line.len) != (ssize_t)line.len)
        rc = vsim_fail(VSIM_EIO, "%s: write: %s", path.buf, strerror(errno));
    if (fd >= 0)
        close(fd);
    vsim_buf_release(&path);
    vsim_buf_release(&line);
    return rc;
}

typedef struct runner {
    vsim_rules *rs;
    const vsim_rules_params *p;
    const char *dir;
    vsim_trial *trial;
    rule_ctx ctx;
    size_t n_bound;            /* tensors in the trial when rules were last bound */
    int64_t last_step;
    int stop;                  /* the verdict callback asked to stop */
    vsim_rules_summary *sum;
} runner;

/* Deliver the rule's verdicts of this call: summary, callback, record, actions. */
static int deliver(runner *u, vsim_rule *r, int result)
{
    rule_ctx *c = &u->ctx;
    int rc = VSIM_OK;

    if (result >= 0 && !c->n_out && c->step)
        rc = vsim_rule_emit(c, result, NULL, -1, (double)NAN, (double)NAN, "%s",
                            result == VSIM_RULE_SKIP ? "nothing to evaluate at this step"
                            : result == VSIM_RULE_END ? "nothing more to evaluate"
                                                      : "ok");
    for (size_t i = 0; !rc && i < c->n_out; i++) {
        const vsim_verdict *v = &c->out[i];

        if (v->result == VSIM_RULE_FIRED) {
            r->sum.n_fired++;
            if (r->sum.first_fired_step < 0)
                r->sum.first_fired_step = v->step >= 0 ? v->step : u->last_step;
        }
        if (u->p->on_verdict && u->p->on_verdict(u->p->verdict_ctx, v))
            u->stop = 1;
        if (u->p->record && (v->result == VSIM_RULE_FIRED || v->step < 0))
            rc = record_verdict(u->dir, v);
        if (v->result == VSIM_RULE_FIRED && !r->fired_before) {
            r->fired_before = 1;
            run_actions(u->p, u->dir, v, r);
        }
    }
    if (c->step && (result == VSIM_RULE_FIRED || result == VSIM_RULE_NOT_FIRED))
        r->sum.n_evaluated++;
    if (result == VSIM_RULE_END)
        r->ended = 1;
    c->n_out = 0;
    return rc;
}

static int bind_all(runner *u)
{
    size_t n = vsim_trial_n_tensors(u->trial);
    int rc = VSIM_OK;

    if (n == u->n_bound)
        return VSIM_OK;
    if (n > u->ctx.n_entries) {
        rule_entry *ne = vsim_reallocarray(u->ctx.entries, n, sizeof(*ne));

        if (!ne)
            return vsim_fail(VSIM_ENOMEM, "out of memory");
        memset(ne + u->ctx.n_entries, 0, (n - u->ctx.n_entries) * sizeof(*ne));
        u->ctx.entries = ne;
        u->ctx.n_entries = n;
    }
    for (size_t i = 0; !rc && i < u->rs->n_rules; i++) {
        vsim_rule *r = u->rs->rules[i];

        r->n_tensors = 0;
        u->ctx.rule = r;
        if (r->def->bind)
            rc = r->def->bind(r, &u->ctx);
    }
    u->n_bound = n;
    return rc;
}

static int wants_step(const vsim_rule *r, const vsim_step_info *st)
{
    return !r->ended && (!r->modes || (r->modes & (1u << st->mode)));
}

/* Read the values of name at step into a (reused) pooled buffer; VSIM_ENOTFOUND if none. */
static int read_values(runner *u, const char *name, int64_t step, rule_entry *e)
{
    size_t n_bytes;
    int rc = vsim_trial_value_bytes(u->trial, name, step, 0, &n_bytes);

    if (rc)
        return rc;
    if (!u->p->copy_values && n_bytes >= VSIM_TRIAL_MAP_MIN) {
        void *map;
        size_t len;

        rc = vsim_trial_map(u->trial, name, step, 0, VSIM_MAP_POPULATE, &e->view, &map, &len);
        if (rc == VSIM_OK) {
            e->buf = vsim_rule_buf_mapped(&u->ctx.pool, map, len, e->view.data);
            if (!e->buf) {
                vsim_trial_unmap(map, len);
                return vsim_fail(VSIM_ENOMEM, "out of memory");
            }
            e->has_values = 1;
            return VSIM_OK;
        }
        if (rc != VSIM_EUNSUP)
            return rc;
    }
    e->buf = vsim_rule_buf_get(&u->ctx.pool, n_bytes);
    if (!e->buf)
        return vsim_fail(VSIM_ENOMEM, "out of memory reading '%s' (%zu bytes)", name, n_bytes);
    rc = vsim_trial_read_into(u->trial, name, step, 0, e->buf->data, e->buf->cap_bytes,
                              &e->view);
    if (rc) {
        vsim_rule_buf_drop(&u->ctx.pool, e->buf);
        e->buf = NULL;
        return rc;
    }
    e->has_values = 1;
    return VSIM_OK;
}

/* Read every tensor some rule needs at step st, once, with its statistics;
 * need (n_entries, zeroed by the caller) gets what the rules need of each. */
static int read_step(runner *u, const vsim_step_info *st, unsigned *need)
{
    rule_ctx *c = &u->ctx;
    static const double pct[2] = { 5.0, 95.0 };
    int rc = VSIM_OK;
    double t0;

    for (size_t i = 0; i < u->rs->n_rules; i++) {
        const vsim_rule *r = u->rs->rules[i];

        if (wants_step(r, st))
            for (size_t k = 0; k < r->n_tensors; k++)
                need[r->tensors[k]] |= r->need[k];
    }
    for (size_t ti = 0; !rc && ti < c->n_entries; ti++) {
        rule_entry *e = &c->entries[ti];
        const char *name = vsim_trial_tensor(u->trial, ti)->name;
        vsim_stats_params sp = VSIM_STATS_PARAMS_INIT;

        if (!need[ti] || !vsim_trial_has(u->trial, ti, st->step, 0))
            continue;
        rc = read_values(u, name, st->step, e);
        if (rc == VSIM_ENOTFOUND) {
            rc = vsim_trial_read_reductions(u->trial, name, st->step, 0, e->red, &e->red_mask);
            if (rc == VSIM_ENOTFOUND) {
                rc = VSIM_OK;
                continue;
            }
        }
        if (rc)
            return rc;
        e->present = 1;
        if (!(need[ti] & (RULE_NEED_STATS | RULE_NEED_PCT)) || !e->has_values)
            continue;
        sp.percentiles = (need[ti] & RULE_NEED_PCT) ? pct : NULL;
        sp.n_percentiles = (need[ti] & RULE_NEED_PCT) ? 2 : 0;
        /* Same results for any thread count; small tensors skip waking the team. */
        sp.n_threads = vsim_tensor_n_elems(&e->view) < RULE_PAR_MIN_ELEMS ? 1 : u->p->n_threads;
        t0 = vsim_clock_s();
        rc = vsim_stats_compute(&e->view, &sp, &e->st, NULL);
        u->sum->stats_s += vsim_clock_s() - t0;
        if (rc)
            return vsim_errctx("step %lld: %s", (long long)st->step, name);
        e->has_stats = 1;
    }
    return rc;
}

/* Drop the step's references (held buffers stay with their rules) and trim the pool. */
static void clear_entries(rule_ctx *c)
{
    for (size_t ti = 0; ti < c->n_entries; ti++) {
        vsim_rule_buf_drop(&c->pool, c->entries[ti].buf);
        memset(&c->entries[ti], 0, sizeof(c->entries[ti]));
    }
    vsim_rule_pool_trim(&c->pool);
}

static int eval_step(runner *u, const vsim_step_info *st)
{
    rule_ctx *c = &u->ctx;
    unsigned *need = vsim_calloc(c->n_entries ? c->n_entries : 1, sizeof(*need));
    double t0 = vsim_clock_s(), t1, stats0 = u->sum->stats_s;
    int rc;

    if (!need)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    c->step = st;
    c->now = now_s();
    rc = read_step(u, st, need);
    t1 = vsim_clock_s();
    u->sum->read_s += t1 - t0 - (u->sum->stats_s - stats0);
    for (size_t i = 0; !rc && i < u->rs->n_rules; i++) {
        vsim_rule *r = u->rs->rules[i];
        int res;

        if (!wants_step(r, st))
            continue;
        for (size_t k = 0; k < r->n_tensors && !r->had_tensors; k++)
            r->had_tensors = vsim_rule_entry(c, r, k) != NULL;
        c->rule = r;
        res = r->def->eval(r, c);
        rc = res < 0 ? res : deliver(u, r, res);
        if (res < 0)
            vsim_errctx("rule %s at step %lld", r->name, (long long)st->step);
    }
    u->sum->eval_s += vsim_clock_s() - t1;
    clear_entries(c);
    vsim_free(need);
    c->step = NULL;
    u->sum->n_steps++;
    u->sum->last_step = st->step;
    u->last_step = st->step;
    return rc;
}

/* Idle (watch poll without new steps) or final calls of every rule. */
static int idle_all(runner *u, int final)
{
    rule_ctx *c = &u->ctx;
    int rc = VSIM_OK;

    c->step = NULL;
    c->now = now_s();
    for (size_t i = 0; !rc && i < u->rs->n_rules; i++) {
        vsim_rule *r = u->rs->rules[i];
        int res = VSIM_RULE_NOT_FIRED;

        c->rule = r;
        if (r->def->idle && !r->ended)
            res = r->def->idle(r, c, final);
        if (res < 0)
            return res;
        if (final && !r->had_tensors && !r->sum.no_tensors) {
            r->sum.no_tensors = 1;
            rc = vsim_rule_emit(c, VSIM_RULE_SKIP, NULL, -1, (double)NAN, (double)NAN,
                                "the tensors this rule needs never appeared in %zu steps "
                                "(check its collection_names / tensor_regex)",
                                u->sum->n_steps);
            logf_(u->p, "%s: the tensors it needs never appeared; rule not evaluated",
                  r->name);
        }
        if (!rc)
            rc = deliver(u, r, -1);
    }
    return rc;
}

static int process_new_steps(runner *u, size_t *n_done)
{
    size_t n = vsim_trial_n_steps(u->trial);
    int rc = bind_all(u);

    *n_done = 0;
    for (size_t i = 0; !rc && !u->stop && i < n; i++) {
        const vsim_step_info *st = vsim_trial_step(u->trial, i);

        if (st->step <= u->last_step)
            continue;
        rc = eval_step(u, st);
        ++*n_done;
        if (u->ctx.watch)
            u->ctx.last_arrival = now_s();
    }
    return rc;
}

static int open_trial(runner *u)
{
    double t0 = vsim_clock_s();
    int rc;

    for (;;) {
        rc = vsim_trial_open(u->dir, &u->trial);
        if (rc != VSIM_ENOTFOUND || !u->p->watch)
            return rc;
        if (u->p->timeout_s > 0 && vsim_clock_s() - t0 >= u->p->timeout_s) {
            u->sum->timed_out = 1;
            return rc;
        }
        sleep_ms(u->p->poll_ms > 0 ? u->p->poll_ms : 200);
    }
}

static int watch_loop(runner *u)
{
    double t0 = vsim_clock_s();
    int poll = u->p->poll_ms > 0 ? u->p->poll_ms : 200, rc = VSIM_OK;
    size_t n_done;

    u->ctx.last_arrival = now_s();
    while (!rc && !u->stop) {
        int ended;

        rc = vsim_trial_refresh(u->trial, NULL);
        ended = vsim_trial_ended(u->trial, NULL, NULL);
        if (!rc)
            rc = process_new_steps(u, &n_done);
        if (rc || u->stop)
            break;
        if (ended) {
            u->sum->ended = 1;
            break;
        }
        if (!n_done && (rc = idle_all(u, 0)) != VSIM_OK)
            break;
        if (u->p->timeout_s > 0 && vsim_clock_s() - t0 >= u->p->timeout_s) {
            u->sum->timed_out = 1;
            break;
        }
        sleep_ms(poll);
    }
    return rc;
}

static int fill_summary(runner *u)
{
    vsim_rules_summary *s = u->sum;

    s->n_rules = u->rs->n_rules;
    s->rules = vsim_calloc(s->n_rules ? s->n_rules : 1, sizeof(*s->rules));
    if (!s->rules)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    for (size_t i = 0; i < s->n_rules; i++)
        s->rules[i] = u->rs->rules[i]->sum;
    s->n_problems = u->trial ? vsim_trial_n_problems(u->trial) : 0;
    s->n_mapped = u->ctx.pool.n_mapped;
    s->n_buf_reads = u->ctx.pool.n_got;
    s->n_buf_new = u->ctx.pool.n_new;
    s->peak_buf_bytes = u->ctx.pool.peak_bytes;
    return VSIM_OK;
}

int vsim_rules_run(vsim_rules *rs, const char *run_dir, const vsim_rules_params *p,
                   vsim_rules_summary *out)
{
    vsim_rules_summary sum = VSIM_RULES_SUMMARY_INIT;
    runner u = { .rs = rs, .p = p, .dir = run_dir, .last_step = -1, .sum = &sum };
    size_t n_done;
    int rc;

    if (rs->used)
        return vsim_fail(VSIM_EINVAL, "a rule set can be run once");
    rs->used = 1;
    u.ctx.watch = p->watch;
    u.ctx.n_threads = p->n_threads;
    rc = open_trial(&u);
    u.ctx.trial = u.trial;
    if (!rc && !p->watch) {
        rc = process_new_steps(&u, &n_done);
        sum.ended = vsim_trial_ended(u.trial, NULL, NULL);
    } else if (!rc) {
        rc = watch_loop(&u);
    }
    if (!rc && !u.stop)
        rc = idle_all(&u, 1);
    if (!rc)
        rc = fill_summary(&u);
    clear_entries(&u.ctx);
    vsim_rule_pool_release(&u.ctx.pool);
    vsim_free(u.ctx.entries);
    vsim_free(u.ctx.out);
    vsim_trial_close(u.trial);
    if (rc) {
        vsim_rules_summary_release(&sum);
        return rc;
    }
    *out = sum;
    return VSIM_OK;
}

void vsim_rules_summary_release(vsim_rules_summary *s)
{
    vsim_free(s->rules);
    s->rules = NULL;
    s->n_rules = 0;
}

/* ---- following under the caller's loop ------------------------------------------------ */

struct vsim_rules_follower {
    runner u;
    vsim_rules_summary sum;
    int ended;
};

int vsim_rules_follow_open(vsim_rules *rs, const char *run_dir, const vsim_rules_params *p,
                           vsim_rules_follower **out)
{
    vsim_rules_follower *f;
    vsim_trial *t;
    int rc;

    if (rs->used)
        return vsim_fail(VSIM_EINVAL, "a rule set can be run once");
    if ((rc = vsim_trial_open(run_dir, &t)))
        return rc;
    if (!(f = vsim_calloc(1, sizeof(*f)))) {
        vsim_trial_close(t);
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    }
    rs->used = 1;
    f->sum = (vsim_rules_summary)VSIM_RULES_SUMMARY_INIT;
    f->u = (runner){ .rs = rs, .p = p, .dir = run_dir, .trial = t, .last_step = -1,
                     .sum = &f->sum };
    f->u.ctx.watch = 1;
    f->u.ctx.n_threads = p->n_threads;
    f->u.ctx.trial = t;
    f->u.ctx.last_arrival = now_s();
    *out = f;
    return VSIM_OK;
}

int vsim_rules_follow_poll(vsim_rules_follower *f, int *ended)
{
    runner *u = &f->u;
    size_t n_done = 0;
    int rc = VSIM_OK, end;

    *ended = f->ended;
    if (f->ended || u->stop)
        return VSIM_OK;
    rc = vsim_trial_refresh(u->trial, NULL);
    end = vsim_trial_ended(u->trial, NULL, NULL);
    if (!rc)
        rc = process_new_steps(u, &n_done);
    if (!rc && !u->stop && end) {
        f->ended = *ended = 1;
        rc = idle_all(u, 1);
    } else if (!rc && !u->stop && !n_done) {
        rc = idle_all(u, 0);
    }
    return rc;
}

void vsim_rules_follow_close(vsim_rules_follower *f)
{
    if (!f)
        return;
    clear_entries(&f->u.ctx);
    vsim_rule_pool_release(&f->u.ctx.pool);
    vsim_free(f->u.ctx.entries);
    vsim_free(f->u.ctx.out);
    vsim_trial_close(f->u.trial);
    vsim_free(f);
}
