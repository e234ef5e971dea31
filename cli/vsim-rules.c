/*
 * cli/vsim-rules.c - evaluate smdebug-style rules over a run, offline or
 * watching it live, with actions on firing (issue 8; docs/man/vsim-rules.1).
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/mem.h"
#include "rules/rules.h"

#define MAX_SPECS 64

static const char *rule_specs[MAX_SPECS], *action_specs[MAX_SPECS];
static int n_rule_specs, n_action_specs;

static int add_rule(const vsim_opt *o, const char *arg)
{
    (void)o;
    if (n_rule_specs == MAX_SPECS)
        return -1;
    rule_specs[n_rule_specs++] = arg;
    return 0;
}

static int add_action(const vsim_opt *o, const char *arg)
{
    (void)o;
    if (n_action_specs == MAX_SPECS)
        return -1;
    action_specs[n_action_specs++] = arg;
    return 0;
}

typedef struct out_ctx {
    int json, all;
} out_ctx;

static int print_verdict(void *ctx, const vsim_verdict *v)
{
    const out_ctx *o = ctx;
    vsim_buf b = VSIM_BUF_INIT;

    if (!o->all && v->result != VSIM_RULE_FIRED && v->step >= 0)
        return 0;
    if (o->json) {
        vsim_verdict_json(v, &b);
        printf("%s\n", b.buf);
    } else {
        printf("%-9lld %-24s %-9s %-28s %s\n", (long long)v->step, v->rule,
               vsim_rule_result_name(v->result), v->tensor[0] ? v->tensor : "-", v->message);
    }
    fflush(stdout);
    vsim_buf_release(&b);
    return 0;
}

static void print_log(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "vsim-rules: %s\n", line);
}

static size_t n_fired(const vsim_rules_summary *s)
{
    size_t n = 0;

    for (size_t i = 0; i < s->n_rules; i++)
        n += s->rules[i].n_fired > 0;
    return n;
}

static void print_summary(const vsim_rules_summary *s, int json)
{
    if (json) {
        printf("{\"type\": \"summary\", \"steps\": %zu, \"last_step\": %lld, \"ended\": %s, "
               "\"timed_out\": %s, \"problems\": %zu, \"rules_fired\": %zu, \"rules\": [",
               s->n_steps, (long long)s->last_step, s->ended ? "true" : "false",
               s->timed_out ? "true" : "false", s->n_problems, n_fired(s));
        for (size_t i = 0; i < s->n_rules; i++) {
            const vsim_rule_summary *r = &s->rules[i];

            printf("%s{\"rule\": \"%s\", \"evaluated\": %zu, \"fired\": %zu, "
                   "\"first_fired_step\": %lld, \"no_tensors\": %s, \"actions\": %d}",
                   i ? ", " : "", r->rule, r->n_evaluated, r->n_fired,
                   (long long)r->first_fired_step, r->no_tensors ? "true" : "false",
                   r->n_actions);
        }
        printf("], \"read_s\": %.6f, \"stats_s\": %.6f, \"eval_s\": %.6f}\n", s->read_s,
               s->stats_s, s->eval_s);
        return;
    }
    printf("\n%-24s %9s %7s %11s\n", "rule", "evaluated", "fired", "first fired");
    for (size_t i = 0; i < s->n_rules; i++) {
        const vsim_rule_summary *r = &s->rules[i];
        char first[24] = "-";

        if (r->first_fired_step >= 0)
            snprintf(first, sizeof(first), "%lld", (long long)r->first_fired_step);
        printf("%-24s %9zu %7zu %11s%s\n", r->rule, r->n_evaluated, r->n_fired, first,
               r->no_tensors ? "  (tensors never appeared)" : "");
    }
    printf("%zu steps (last %lld)%s%s, %zu corrupt shard(s) skipped; %zu rule(s) fired\n",
           s->n_steps, (long long)s->last_step, s->ended ? ", run ended" : "",
           s->timed_out ? ", timed out" : "", s->n_problems, n_fired(s));
}

int main(int argc, char **argv)
{
    static const vsim_cli cli = {
        "vsim-rules", "RUN [options]", "Evaluate built-in rules over a run, offline or live.",
        "Examples:\n  vsim-rules runs/exp1\n"
        "  vsim-rules runs/exp1 --rule LossNotDecreasing:num_steps=20,diff_percent=1\n"
        "  vsim-rules runs/exp1 --watch --poll-ms 100 --on-fire stop\n", 0, 1
    };
    vsim_rules_params p = VSIM_RULES_PARAMS_INIT;
    vsim_rules_summary sum = VSIM_RULES_SUMMARY_INIT;
    vsim_action actions[MAX_SPECS];
    const char *rules_file = NULL, *format = NULL, *semantics = NULL;
    int list = 0, first, rc, threads = 0;
    out_ctx oc = { 0, 0 };
    vsim_rules *rs = NULL;
    const vsim_opt opts[] = {
        VSIM_OPT_CALLBACK('r', "rule", NULL, "NAME[:k=v,...]", "add a rule (repeatable)",
                          add_rule),
        VSIM_OPT_STRING('F', "rules-file", &rules_file, "FILE", "rules, one a line (# comments)"),
        VSIM_OPT_FLAG('w', "watch", &p.watch, "follow a live run until END or --timeout"),
        VSIM_OPT_INT(0, "poll-ms", &p.poll_ms, "N", "watch: refresh interval (default 200)"),
        VSIM_OPT_DOUBLE(0, "timeout", &p.timeout_s, "S", "watch: stop after S seconds"),
        VSIM_OPT_CALLBACK(0, "on-fire", NULL, "ACTION",
                          "stop | signal:PID[:SIG] | exec:CMD (repeatable)", add_action),
        VSIM_OPT_STRING('f', "format", &format, "FMT", "table or json (default: json unless "
                        "stdout is a terminal)"),
        VSIM_OPT_FLAG(0, "record", &p.record, "append verdicts to RUN/rules/verdicts.jsonl"),
        VSIM_OPT_FLAG('a', "all", &oc.all, "print every verdict, also not fired and skipped"),
        VSIM_OPT_INT('j', "threads", &threads, "N", "OpenMP threads (default: all)"),
        VSIM_OPT_STRING(0, "semantics", &semantics, "S",
                        "vsim (default: noise-aware, measured defaults) or smdebug "
                        "(smdebug's defaults and algorithms)"),
        VSIM_OPT_FLAG(0, "list", &list, "describe the built-in rules and exit"),
        VSIM_OPT_END
    };

    vsim_cli_omp_passive(argv);
    vsim_cli_sigbus("vsim-rules");
    vsim_cli_parse(&cli, opts, argc, argv, &first);
    if (list) {
        vsim_buf b = VSIM_BUF_INIT;

        if (vsim_rules_list(&b))
            return vsim_cli_error(cli.prog);
        fputs(b.buf, stdout);
        vsim_buf_release(&b);
        return VSIM_EXIT_OK;
    }
    if (first >= argc)
        vsim_cli_usage_error(&cli, "expected %s", cli.usage);
    if (format && strcmp(format, "json") && strcmp(format, "table"))
        vsim_cli_usage_error(&cli, "--format: want table or json, not '%s'", format);
    oc.json = format ? !strcmp(format, "json") : !isatty(STDOUT_FILENO);
    if (p.poll_ms < 1)
        vsim_cli_usage_error(&cli, "--poll-ms: want a positive number of milliseconds");
    for (int i = 0; i < n_action_specs; i++)
        if (vsim_action_parse(action_specs[i], &actions[i]))
            vsim_cli_usage_error(&cli, "%s", vsim_errmsg());
    if (vsim_rules_create(&rs))
        return vsim_cli_error(cli.prog);
    if (semantics && vsim_rules_set_semantics(rs, semantics))
        vsim_cli_usage_error(&cli, "--semantics: %s", vsim_errmsg());
    for (int i = 0; i < n_rule_specs; i++)
        if (vsim_rules_add(rs, rule_specs[i]))
            vsim_cli_usage_error(&cli, "--rule %s: %s", rule_specs[i], vsim_errmsg());
    if (rules_file && (rc = vsim_rules_add_file(rs, rules_file)) != 0) {
        if (rc == VSIM_EINVAL)
            vsim_cli_usage_error(&cli, "%s", vsim_errmsg());
        return vsim_cli_error(cli.prog);
    }
    if (!vsim_rules_n(rs) && vsim_rules_add_defaults(rs))
        return vsim_cli_error(cli.prog);
    p.actions = actions;
    p.n_actions = (size_t)n_action_specs;
    p.n_threads = threads;
    p.on_verdict = print_verdict;
    p.verdict_ctx = &oc;
    p.log = print_log;
    if (!oc.json)
        printf("%-9s %-24s %-9s %-28s %s\n", "step", "rule", "result", "tensor", "message");
    rc = vsim_rules_run(rs, argv[first], &p, &sum);
    if (rc) {
        vsim_rules_destroy(rs);
        return vsim_cli_error(cli.prog);
    }
    print_summary(&sum, oc.json);
    rc = n_fired(&sum) ? VSIM_EXIT_FINDING : sum.n_problems ? VSIM_EXIT_PARTIAL : VSIM_EXIT_OK;
    if (sum.n_problems)
        vsim_cli_warn(cli.prog, "%zu corrupt shard(s) skipped (vsim-ls RUN names them)",
                      sum.n_problems);
    vsim_rules_summary_release(&sum);
    vsim_rules_destroy(rs);
    return rc;
}
