/*
 * cli/vsim-ls.c - "what is in this run?": workers, modes, steps, whether it has
 * ended, each tensor with collections, dtype, shape and saved steps, and any
 * corrupt shards. Exit 4 when some shard could not be used.
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/mem.h"
#include "readers/trial.h"

static void shape_str(vsim_buf *b, const vsim_tensor_info *ti)
{
    if (ti->ndim == 0)
        vsim_buf_adds(b, "scalar");
    for (int d = 0; d < ti->ndim; d++)
        vsim_buf_addf(b, "%s%zu", d ? "x" : "", ti->shape[d]);
}

static void steps_of(const vsim_trial *t, size_t i, vsim_buf *b, size_t *n_out)
{
    size_t n = vsim_trial_tensor_steps(t, i, NULL, 0);
    int64_t *s = vsim_calloc(n ? n : 1, sizeof(*s));

    if (s) {
        vsim_trial_tensor_steps(t, i, s, n);
        vsim_steps_format(b, s, n);
    }
    *n_out = n;
    vsim_free(s);
}

static json_t *reductions_json(unsigned mask)
{
    json_t *a = json_array();

    for (int r = 0; r < VSIM_N_REDUCTIONS; r++)
        if (mask & VSIM_RED_BIT(r))
            json_array_append_new(a, json_string(vsim_reduction_name(r)));
    return a;
}

/* The steps of mode m (allocated; NULL when it has none) and their ranges into b. */
static int64_t *mode_steps(const vsim_trial *t, int m, size_t *n, vsim_buf *b)
{
    int64_t *s;

    *n = vsim_trial_list_steps(t, m, NULL, 0);
    s = *n ? vsim_calloc(*n, sizeof(*s)) : NULL;
    if (s) {
        vsim_trial_list_steps(t, m, s, *n);
        vsim_steps_format(b, s, *n);
    }
    return s;
}

static json_t *modes_json(const vsim_trial *t)
{
    json_t *o = json_object();

    for (int m = 0; m < VSIM_N_MODES; m++) {
        vsim_buf b = VSIM_BUF_INIT;
        size_t n;
        int64_t *s = mode_steps(t, m, &n, &b);

        if (!s)
            continue;
        json_object_set_new(o, vsim_mode_name(m),
                            json_pack("{s:I,s:I,s:I,s:s}", "count", (json_int_t)n, "first",
                                      (json_int_t)s[0], "last", (json_int_t)s[n - 1], "steps",
                                      b.buf));
        vsim_buf_release(&b);
        vsim_free(s);
    }
    return o;
}

static void print_json(const vsim_trial *t)
{
    json_t *root = json_object(), *tensors = json_array(), *problems = json_array();
    const char *status = NULL;
    int64_t last = -1;
    int ended = vsim_trial_ended(t, &status, &last);

    json_object_set_new(root, "run", json_string(vsim_trial_dir(t)));
    json_object_set_new(root, "run_id", json_string(vsim_trial_run_id(t)));
    json_object_set_new(root, "n_workers", json_integer(vsim_trial_n_workers(t)));
    json_object_set_new(root, "ended", json_boolean(ended));
    json_object_set_new(root, "end_status", ended ? json_string(status) : json_null());
    json_object_set_new(root, "last_step", ended ? json_integer(last) : json_null());
    json_object_set_new(root, "n_steps", json_integer((json_int_t)vsim_trial_n_steps(t)));
    json_object_set_new(root, "incomplete_steps",
                        json_integer((json_int_t)vsim_trial_n_incomplete(t)));
    json_object_set_new(root, "modes", modes_json(t));
    for (size_t i = 0; i < vsim_trial_n_tensors(t); i++) {
        const vsim_tensor_info *ti = vsim_trial_tensor(t, i);
        json_t *o = json_object(), *shape = json_array();
        vsim_buf b = VSIM_BUF_INIT;
        size_t n;

        for (int d = 0; d < ti->ndim; d++)
            json_array_append_new(shape, json_integer((json_int_t)ti->shape[d]));
        steps_of(t, i, &b, &n);
        json_object_set_new(o, "name", json_string(ti->name));
        json_object_set_new(o, "collections", json_string(ti->collections));
        json_object_set_new(o, "dtype", json_string(vsim_dtype_name(ti->dtype)));
        json_object_set_new(o, "shape", shape);
        json_object_set_new(o, "values", json_boolean(ti->has_values));
        json_object_set_new(o, "reductions", reductions_json(ti->reductions));
        json_object_set_new(o, "n_steps", json_integer((json_int_t)n));
        json_object_set_new(o, "steps", json_string(b.buf));
        json_array_append_new(tensors, o);
        vsim_buf_release(&b);
    }
    json_object_set_new(root, "tensors", tensors);
    for (size_t i = 0; i < vsim_trial_n_problems(t); i++) {
        const vsim_trial_problem *p = vsim_trial_problem_at(t, i);

        json_array_append_new(problems, json_pack("{s:s,s:s}", "path", p->path, "message",
                                                  p->message));
    }
    json_object_set_new(root, "problems", problems);
    json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    putchar('\n');
    json_decref(root);
}

static void print_table(const vsim_trial *t)
{
    const char *status = NULL;
    int64_t last = -1;

    printf("run:      %s (id %s, %d worker%s)\n", vsim_trial_dir(t), vsim_trial_run_id(t),
           vsim_trial_n_workers(t), vsim_trial_n_workers(t) == 1 ? "" : "s");
    if (vsim_trial_ended(t, &status, &last))
        printf("status:   ended: %s at step %" PRId64 "\n", status, last);
    else
        printf("status:   running or killed (no END)\n");
    for (int m = 0; m < VSIM_N_MODES; m++) {
        vsim_buf b = VSIM_BUF_INIT;
        size_t n;
        int64_t *s = mode_steps(t, m, &n, &b);

        if (!s)
            continue;
        printf("%-9s %zu steps, %" PRId64 "..%" PRId64 " (%s)\n", vsim_mode_name(m), n, s[0],
               s[n - 1], b.buf);
        vsim_buf_release(&b);
        vsim_free(s);
    }
    if (vsim_trial_n_incomplete(t))
        printf("incomplete: %zu steps not yet written by every worker\n",
               vsim_trial_n_incomplete(t));
    printf("tensors:  %zu\n\n%-40s %-22s %-8s %-16s %s\n", vsim_trial_n_tensors(t), "TENSOR",
           "COLLECTIONS", "DTYPE", "SHAPE", "STEPS");
    for (size_t i = 0; i < vsim_trial_n_tensors(t); i++) {
        const vsim_tensor_info *ti = vsim_trial_tensor(t, i);
        vsim_buf shape = VSIM_BUF_INIT, steps = VSIM_BUF_INIT;
        size_t n;

        shape_str(&shape, ti);
        steps_of(t, i, &steps, &n);
        printf("%-40s %-22s %-8s %-16s %s (%zu)%s\n", ti->name, ti->collections,
               vsim_dtype_name(ti->dtype), shape.buf, steps.buf, n,
               ti->has_values ? "" : " reductions only");
        vsim_buf_release(&shape);
        vsim_buf_release(&steps);
    }
    if (vsim_trial_n_problems(t))
        printf("\nproblems: %zu\n", vsim_trial_n_problems(t));
    for (size_t i = 0; i < vsim_trial_n_problems(t); i++)
        printf("  %s: %s\n", vsim_trial_problem_at(t, i)->path,
               vsim_trial_problem_at(t, i)->message);
}

int main(int argc, char **argv)
{
    const char *format = "table";
    vsim_opt opts[] = {
        VSIM_OPT_STRING('f', "format", &format, "FMT", "output format: table (default) or json"),
        VSIM_OPT_END,
    };
    vsim_cli cli = { "vsim-ls", "RUN [--format table|json]",
                     "List what a training run holds: workers, modes, steps, tensors, problems.",
                     "Example:\n  vsim-ls runs/exp1 --format json | jq '.tensors[].name'\n",
                     1, 1 };
    vsim_trial *t;
    int first;

    vsim_cli_parse(&cli, opts, argc, argv, &first);
    if (strcmp(format, "table") && strcmp(format, "json"))
        vsim_cli_usage_error(&cli, "--format: want table or json, not '%s'", format);
    if (vsim_trial_open(argv[first], &t))
        return vsim_cli_error(cli.prog);
    if (!strcmp(format, "json"))
        print_json(t);
    else
        print_table(t);
    for (size_t i = 0; i < vsim_trial_n_problems(t); i++)
        vsim_cli_warn(cli.prog, "%s: %s (skipped)", vsim_trial_problem_at(t, i)->path,
                      vsim_trial_problem_at(t, i)->message);
    first = vsim_trial_n_problems(t) ? VSIM_EXIT_PARTIAL : VSIM_EXIT_OK;
    vsim_trial_close(t);
    return first;
}
