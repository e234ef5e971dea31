/*
 * tests/unit/test_rules.c - the rule engine (issue 8): spec parsing and its
 * usage errors, actions, and the smdebug semantics pinned in docs/rules.md,
 * each on a small run written with the capture API.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/mem.h"
#include "readers/writer.h"
#include "rules/rules.h"
#include "rules/rules_int.h"
#include "tests/vt.h"

static char tmp_root[256];

/* Collected verdicts of one run. */
typedef struct got {
    vsim_verdict v[512];
    size_t n;
} got;

static int collect(void *ctx, const vsim_verdict *v)
{
    got *g = ctx;

    if (g->n < 512)
        g->v[g->n++] = *v;
    return 0;
}

static size_t n_fired(const got *g, int64_t *steps, int64_t *refs, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < g->n; i++)
        if (g->v[i].result == VSIM_RULE_FIRED) {
            if (n < cap) {
                steps[n] = g->v[i].step;
                if (refs)
                    refs[n] = g->v[i].ref_step;
            }
            n++;
        }
    return n;
}

/* Run the rule specs (NULL-terminated) over dir; fills g and *sum_fired. */
static int run_rules(const char *dir, const char *const *specs, got *g, int record,
                     const vsim_action *act)
{
    vsim_rules_params p = VSIM_RULES_PARAMS_INIT;
    vsim_rules_summary s = VSIM_RULES_SUMMARY_INIT;
    vsim_rules *rs;
    int rc = vsim_rules_create(&rs);

    for (size_t i = 0; !rc && specs[i]; i++)
        rc = vsim_rules_add(rs, specs[i]);
    g->n = 0;
    p.on_verdict = collect;
    p.verdict_ctx = g;
    p.record = record;
    p.actions = act;
    p.n_actions = act ? 1 : 0;
    if (!rc)
        rc = vsim_rules_run(rs, dir, &p, &s);
    if (!rc)
        rc = s.rules[0].no_tensors ? 100 : 0;
    vsim_rules_summary_release(&s);
    vsim_rules_destroy(rs);
    if (rc && rc != 100)
        fprintf(stderr, "run_rules: %s\n", vsim_errmsg());
    return rc;
}

static const char *newdir(const char *name)
{
    static char path[512];

    snprintf(path, sizeof(path), "%s/%s", tmp_root, name);
    return path;
}

/* A run whose tensor `name` (collection coll) holds vals[i] (n_elems each) at steps[i]. */
static int write_series(const char *dir, const char *name, const char *coll,
                        const int64_t *steps, size_t n_steps, const float *vals, size_t n_elems,
                        size_t rows, const char *model)
{
    vsim_writer_params wp = VSIM_WRITER_PARAMS_INIT;
    vsim_save_config every = VSIM_SAVE_CONFIG_INIT;
    vsim_writer *w;
    int rc;

    every.save_interval = 1;
    wp.durable = 0;
    wp.model_json = model;
    rc = vsim_writer_open(dir, &wp, &w);
    if (!rc)
        rc = vsim_writer_set_collection(w, coll, NULL, &every);
    for (size_t i = 0; !rc && i < n_steps; i++) {
        size_t shape[2] = { rows, n_elems / rows };
        vsim_tensor t;

        vsim_tensor_init(&t, VSIM_F32, rows > 1 ? 2 : 1, rows > 1 ? shape : &n_elems,
                         (void *)(vals + i * n_elems));
        rc = vsim_writer_begin_step(w, steps[i], VSIM_MODE_TRAIN, steps[i]);
        if (!rc)
            rc = vsim_writer_save(w, name, coll, &t);
        if (!rc)
            rc = vsim_writer_end_step(w);
    }
    if (rc) {
        fprintf(stderr, "write_series: %s\n", vsim_errmsg());
        vsim_writer_destroy(w);
        return rc;
    }
    return vsim_writer_close(w, "completed", steps[n_steps - 1]);
}

static void test_parse(void)
{
    vsim_rules *rs;
    vsim_rule *r;

    VT_CHECK(vsim_rules_create(&rs) == VSIM_OK, "create");
    VT_CHECK(vsim_rules_add(rs, "NoSuchRule") == VSIM_EINVAL, "unknown rule");
    VT_CHECK(strstr(vsim_errmsg(), "unknown rule 'NoSuchRule'") != NULL, "unknown rule msg");
    VT_CHECK(vsim_rules_add(rs, "LossNotDecreasing:nope=1") == VSIM_EINVAL, "unknown param");
    VT_CHECK(strstr(vsim_errmsg(), "unknown parameter 'nope'") != NULL, "unknown param msg");
    VT_CHECK(vsim_rules_add(rs, "LossNotDecreasing:num_steps=ten") == VSIM_EINVAL, "malformed");
    VT_CHECK(strstr(vsim_errmsg(), "malformed value 'ten'") != NULL, "malformed msg");
    VT_CHECK(vsim_rules_add(rs, "DeadRelu:threshold_layer=") == VSIM_EINVAL, "empty value");
    VT_CHECK(vsim_rules_add(rs, "ExplodingTensor:only_nan=maybe") == VSIM_EINVAL, "bad bool");
    VT_CHECK(vsim_rules_add(rs, "LossNotDecreasing:mode=TESTING") == VSIM_EINVAL, "bad mode");
    VT_CHECK(vsim_rules_add(rs, "AllZero") == VSIM_EINVAL, "AllZero needs a selection");
    VT_CHECK(vsim_rules_add(rs, "TensorVariance:collection_names=weights") == VSIM_EINVAL,
             "TensorVariance needs a threshold");
    VT_CHECK(vsim_rules_add(rs, "SimilarAcrossRuns") == VSIM_EINVAL, "SimilarAcrossRuns other");
    VT_CHECK(vsim_rules_add(rs, "UnchangedTensor:tensor_regex=w,num_steps=1") == VSIM_EINVAL,
             "num_steps >= 2");
    VT_CHECK(vsim_rules_n(rs) == 0, "nothing added on errors");
    VT_CHECK(vsim_rules_add(rs, "allzero:collection_names=weights, biases,threshold=50") ==
             VSIM_OK, "list continuation, case-insensitive name");
    r = rs->rules[0];
    VT_CHECK(!strcmp(vsim_rule_p(r, "collection_names")->s, "weights,biases"), "list value");
    VT_NEAR(vsim_rule_p(r, "threshold")->d, 50.0, 0, "threshold");
    VT_CHECK(vsim_rules_add(rs, "SaturatedActivation:threshold_tanh=(-2, 3)") == VSIM_OK,
             "range with a comma");
    r = rs->rules[1];
    VT_NEAR(vsim_rule_p(r, "threshold_tanh")->lo, -2.0, 0, "range lo");
    VT_NEAR(vsim_rule_p(r, "threshold_tanh")->hi, 3.0, 0, "range hi");
    VT_CHECK(vsim_rules_add(rs, "TensorVariance:tensor_regex=a{1,3},max_threshold=None,"
                                "min_threshold=1e-3") == VSIM_OK, "regex with comma, None");
    r = rs->rules[2];
    VT_CHECK(!strcmp(vsim_rule_p(r, "tensor_regex")->s, "a{1,3}"), "regex kept whole");
    VT_CHECK(!vsim_rule_p(r, "max_threshold")->set, "None unset");
    VT_CHECK(vsim_rules_add(rs, "AllZero:tensor_regex=x") == VSIM_OK, "second AllZero");
    VT_CHECK(!strcmp(vsim_rules_name(rs, 3), "AllZero#2"), "repeat named #2");
    VT_CHECK(vsim_rules_add_defaults(rs) == VSIM_OK && vsim_rules_n(rs) == 10, "defaults");
    vsim_rules_destroy(rs);
}

static void test_rules_file(void)
{
    static const char text[] = "# comment\n\nDeadRelu:threshold_layer=60  # trailing\n"
                               "  VanishingGradient \nBogus:x=1\n";
    char path[512];
    vsim_rules *rs;

    snprintf(path, sizeof(path), "%s/rules.txt", tmp_root);
    vsim_fs_write_atomic(path, text, sizeof(text) - 1, 0);
    vsim_rules_create(&rs);
    VT_CHECK(vsim_rules_add_file(rs, path) == VSIM_EINVAL, "bad line in file");
    VT_CHECK(strstr(vsim_errmsg(), "rules.txt:5") != NULL, "file:line in message");
    VT_CHECK(vsim_rules_n(rs) == 2, "lines before the bad one added");
    VT_NEAR(vsim_rule_p(rs->rules[0], "threshold_layer")->d, 60.0, 0, "value from file");
    vsim_rules_destroy(rs);
}

static void test_actions(void)
{
    vsim_action a;

    VT_CHECK(vsim_action_parse("stop", &a) == 0 && a.kind == VSIM_ACTION_STOP, "stop");
    VT_CHECK(vsim_action_parse("signal:123", &a) == 0 && a.pid == 123 && a.sig == 15,
             "signal default TERM");
    VT_CHECK(vsim_action_parse("signal:7:INT", &a) == 0 && a.sig == 2, "signal INT");
    VT_CHECK(vsim_action_parse("signal:7:SIGKILL", &a) == 0 && a.sig == 9, "signal SIGKILL");
    VT_CHECK(vsim_action_parse("signal:7:9", &a) == 0 && a.sig == 9, "signal number");
    VT_CHECK(vsim_action_parse("signal:x", &a) == VSIM_EINVAL, "bad pid");
    VT_CHECK(vsim_action_parse("signal:7:NOPE", &a) == VSIM_EINVAL, "bad signal");
    VT_CHECK(vsim_action_parse("exec:true", &a) == 0 && !strcmp(a.cmd, "true"), "exec");
    VT_CHECK(vsim_action_parse("exec:", &a) == VSIM_EINVAL, "empty exec");
    VT_CHECK(vsim_action_parse("reboot", &a) == VSIM_EINVAL, "unknown action");
}

/* smdebug: at step 21 the loss is compared with step 9 (saved every 3, num_steps 10); next 33. */
static void test_loss_not_decreasing_steps(void)
{
    int64_t steps[10], fs[8], refs[8];
    float v[10];
    const char *dir = newdir("lnd");
    const char *specs[] = { "LossNotDecreasing:num_steps=10,semantics=smdebug", NULL };
    got g;

    for (int i = 0; i < 10; i++) {
        steps[i] = 9 + 3 * i;   /* 9, 12, ..., 36 */
        v[i] = 1.0f;
    }
    VT_CHECK(write_series(dir, "loss/total", "losses", steps, 10, v, 1, 1, NULL) == 0, "write");
    VT_CHECK(run_rules(dir, specs, &g, 0, NULL) == 0, "run");
    VT_CHECK(n_fired(&g, fs, refs, 8) == 2, "fires at two checks");
    VT_CHECK(fs[0] == 21 && refs[0] == 9, "step 21 vs step 9");
    VT_CHECK(fs[1] == 33 && refs[1] == 21, "next check at 33 vs 21");
}

static void lnd_edge(const char *name, float cur, const char *spec, size_t want, const char *what)
{
    int64_t steps[2] = { 0, 10 }, fs[4];
    float v[2] = { 1.0f, cur };
    const char *specs[] = { spec, NULL };
    got g;

    VT_CHECK(write_series(newdir(name), "loss/total", "losses", steps, 2, v, 1, 1, NULL) == 0,
             "write");
    VT_CHECK(run_rules(newdir(name), specs, &g, 0, NULL) == 0, "run");
    VT_CHECK(n_fired(&g, fs, NULL, 4) == want, what);
}

static void test_loss_edges(void)
{
    int64_t steps[4] = { 0, 10, 20, 30 }, fs[4];
    float v[4] = { 1.0f, 0.5f, 0.4f, 0.424f }, v2[4] = { 1.0f, 0.5f, 0.4f, 0.416f };
    const char *specs[] = { "LossNotDecreasing:diff_percent=-100,semantics=smdebug", NULL };
    got g;

    lnd_edge("lnd1", 0.875f, "LossNotDecreasing:diff_percent=12.5,semantics=smdebug", 1, "12.5% drop: fires");
    lnd_edge("lnd2", 0.875f, "LossNotDecreasing:diff_percent=12.4,semantics=smdebug", 0, "12.5% drop > 12.4");
    lnd_edge("lnd3", 1.0f, "LossNotDecreasing:semantics=smdebug", 1, "flat loss fires with diff_percent 0");
    lnd_edge("lnd4", 0.99f, "LossNotDecreasing:semantics=smdebug", 0, "any decrease passes diff_percent 0");
    /* increase_threshold_percent 5: 0.424 is 6 % above the minimum 0.4, 0.416 is 4 %. */
    write_series(newdir("inc1"), "loss/total", "losses", steps, 4, v, 1, 1, NULL);
    write_series(newdir("inc2"), "loss/total", "losses", steps, 4, v2, 1, 1, NULL);
    run_rules(newdir("inc1"), specs, &g, 0, NULL);
    VT_CHECK(n_fired(&g, fs, NULL, 4) == 1 && fs[0] == 30, "6% above the minimum fires");
    run_rules(newdir("inc2"), specs, &g, 0, NULL);
    VT_CHECK(n_fired(&g, fs, NULL, 4) == 0, "4% above the minimum does not");
}

/* vsim: window means of 10 values, the first window as the reference, warm-up 100. */
static void test_loss_vsim(void)
{
    enum { N = 130 };
    int64_t steps[N], fs[32], refs[32];
    float flat[N], learn[N], rise[N];
    const char *dflt[] = { "LossNotDecreasing", NULL };
    const char *nowarm[] = { "LossNotDecreasing:warmup_steps=0", NULL };
    got g;

    for (int i = 0; i < N; i++) {
        /* a deterministic +-10 % "minibatch" wobble on every curve */
        float wob = (float)(0.1 * ((i * 7919) % 13 - 6) / 6.0);

        steps[i] = i;
        flat[i] = 1.0f + 0.1f * wob;
        learn[i] = (1.0f + wob * 0.5f) / (1.0f + (float)i / 10.0f);
        rise[i] = i < 60 ? learn[i] : learn[59] * (1.0f + 0.02f * (float)(i - 59)) * (1.0f + wob * 0.2f);
    }
    write_series(newdir("lv1"), "loss/total", "losses", steps, N, flat, 1, 1, NULL);
    write_series(newdir("lv2"), "loss/total", "losses", steps, N, learn, 1, 1, NULL);
    write_series(newdir("lv3"), "loss/total", "losses", steps, N, rise, 1, 1, NULL);
    VT_CHECK(run_rules(newdir("lv1"), dflt, &g, 0, NULL) == 0, "run flat");
    VT_CHECK(n_fired(&g, fs, refs, 32) == 3 && fs[0] == 109 && refs[0] == 9,
             "flat: no progress, first judged at the check after warm-up (109, vs step 9)");
    VT_CHECK(fs[1] == 119 && fs[2] == 129, "... then every num_steps");
    VT_CHECK(run_rules(newdir("lv1"), nowarm, &g, 0, NULL) == 0 && n_fired(&g, fs, NULL, 32) ==
             12 && fs[0] == 19, "warmup_steps=0: from the first check with two windows (19)");
    VT_CHECK(run_rules(newdir("lv2"), dflt, &g, 0, NULL) == 0 && n_fired(&g, fs, NULL, 32) == 0,
             "a noisy but learning loss never fires");
    VT_CHECK(run_rules(newdir("lv3"), dflt, &g, 0, NULL) == 0 && n_fired(&g, fs, NULL, 32) >= 1,
             "a loss rising 2 % a step fires");
    VT_CHECK(fs[0] > 60 && fs[0] <= 89, "... within three windows of the turn at 60");
}

/* smdebug: the last num_steps *available* steps, not necessarily consecutive. */
static void test_unchanged(void)
{
    int64_t steps[3] = { 0, 5, 7 }, fs[4];
    float same[12] = { 1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4 };
    float moved[12] = { 1, 2, 3, 4, 1, 2, 3, 4.1f, 1, 2, 3, 4 };
    float close[12] = { 1, 2, 3, 4, 1, 2, 3, 4.00001f, 1, 2, 3, 4 };
    const char *specs[] = { "UnchangedTensor:collection_names=weights", NULL };
    got g;

    write_series(newdir("ut1"), "l/weight", "weights", steps, 3, same, 4, 1, NULL);
    write_series(newdir("ut2"), "l/weight", "weights", steps, 3, moved, 4, 1, NULL);
    write_series(newdir("ut3"), "l/weight", "weights", steps, 3, close, 4, 1, NULL);
    run_rules(newdir("ut1"), specs, &g, 0, NULL);
    VT_CHECK(n_fired(&g, fs, NULL, 4) == 1 && fs[0] == 7, "unchanged over steps 0, 5, 7");
    run_rules(newdir("ut2"), specs, &g, 0, NULL);
    VT_CHECK(n_fired(&g, fs, NULL, 4) == 0, "a changed value at step 5");
    run_rules(newdir("ut3"), specs, &g, 0, NULL);
    VT_CHECK(n_fired(&g, fs, NULL, 4) == 1, "within rtol 1e-5 counts as unchanged");
}

static void test_allzero_edge(void)
{
    int64_t steps[1] = { 0 }, fs[2];
    float v[4] = { 0, 0, 1, 2 };
    const char *fire[] = { "AllZero:collection_names=weights,threshold=50", NULL };
    const char *quiet[] = { "AllZero:collection_names=weights,threshold=50.1", NULL };
    const char *dflt[] = { "AllZero:collection_names=weights", NULL };
    got g;

    write_series(newdir("az"), "l/weight", "weights", steps, 1, v, 4, 1, NULL);
    run_rules(newdir("az"), fire, &g, 0, NULL);
    VT_CHECK(n_fired(&g, fs, NULL, 2) == 1, "50% zeros at threshold 50 fires");
    run_rules(newdir("az"), quiet, &g, 0, NULL);
    VT_CHECK(n_fired(&g, fs, NULL, 2) == 0, "50% zeros at 50.1 does not");
    run_rules(newdir("az"), dflt, &g, 0, NULL);
    VT_CHECK(n_fired(&g, fs, NULL, 2) == 0, "default 100%: not all zero");
}

/* 16 nodes x 4 samples; the first n_dead nodes never positive. */
static void dead_relu_case(const char *name, int n_dead, size_t want, const char *what)
{
    static const char model[] = "{\"layers\": [{\"name\": \"enc/fc1\", \"act\": \"relu\"}]}";
    int64_t steps[1] = { 0 }, fs[2];
    float v[64];
    const char *specs[] = { "DeadRelu:semantics=smdebug", NULL };
    got g;

    for (int b = 0; b < 4; b++)
        for (int j = 0; j < 16; j++)
            v[b * 16 + j] = j < n_dead ? 0.0f : 1.0f;
    write_series(newdir(name), "activations/enc/fc1", "activations", steps, 1, v, 64, 4, model);
    VT_CHECK(run_rules(newdir(name), specs, &g, 0, NULL) == 0, "run dead relu");
    VT_CHECK(n_fired(&g, fs, NULL, 2) == want, what);
}

static void test_missing_reported_once(void)
{
    int64_t steps[5] = { 0, 1, 2, 3, 4 };
    float v[5] = { 1, 1, 1, 1, 1 };
    const char *specs[] = { "VanishingGradient:collection_names=None,tensor_regex=^nothing$",
                            NULL };
    size_t n_run = 0;
    got g;

    write_series(newdir("miss"), "loss/total", "losses", steps, 5, v, 1, 1, NULL);
    VT_CHECK(run_rules(newdir("miss"), specs, &g, 0, NULL) == 100, "no_tensors flagged");
    for (size_t i = 0; i < g.n; i++)
        n_run += g.v[i].step < 0;
    VT_CHECK(n_run == 1, "reported once for the whole run");
    VT_CHECK(g.n == 6, "five per-step skips plus the one report");
}

static void test_vanishing_edge(void)
{
    int64_t steps[1] = { 0 }, fs[2];
    float v[2] = { 1e-7f, -1e-7f };
    const char *at[] = { "VanishingGradient:threshold=1e-7", NULL };
    const char *above[] = { "VanishingGradient:threshold=1.0001e-7", NULL };
    got g;

    write_series(newdir("vg"), "gradients/l/weight", "gradients", steps, 1, v, 2, 1, NULL);
    run_rules(newdir("vg"), at, &g, 0, NULL);
    VT_CHECK(n_fired(&g, fs, NULL, 2) == 0 || (double)1e-7f >= 1e-7, "mean |g| == threshold");
    run_rules(newdir("vg"), above, &g, 0, NULL);
    VT_CHECK(n_fired(&g, fs, NULL, 2) == 1, "mean |g| just below threshold fires");
}

static void test_weight_update_num_steps(void)
{
    int64_t steps[3] = { 0, 1, 10 }, fs[4];
    float v[6] = { 1, 1, 1, 1, 1, 1 };
    const char *dflt[] = { "WeightUpdateRatio", NULL };
    const char *win[] = { "WeightUpdateRatio:num_steps=5", NULL };
    got g;

    write_series(newdir("wur"), "l/weight", "weights", steps, 3, v, 2, 1, NULL);
    run_rules(newdir("wur"), dflt, &g, 0, NULL);
    VT_CHECK(n_fired(&g, fs, NULL, 4) == 2 && fs[1] == 10, "unchanged weights: ratio 0 fires");
    run_rules(newdir("wur"), win, &g, 0, NULL);
    VT_CHECK(n_fired(&g, fs, NULL, 4) == 1 && fs[0] == 1, "step 10 vs 1 is > 5 behind: skip");
}

/*
 * WeightUpdateRatio and UnchangedTensor on one large weight: they keep
 * references to the steps' buffers (no copies) and the runner reuses the
 * buffers nobody holds, so 8 steps need num_steps buffers, not 8 (or 8 + copies).
 * With N >= VSIM_TRIAL_MAP_MIN / 4 the values are mapped, not read: the same
 * verdicts, no buffers.
 */
static void shared_buffers(size_t N, int copy)
{
    enum { STEPS = 8 };
    int64_t steps[STEPS];
    float *v = vsim_mallocarray((size_t)N * STEPS, sizeof(float));
    const char *specs[] = { "WeightUpdateRatio", "UnchangedTensor:collection_names=weights",
                            NULL };
    vsim_rules_params p = VSIM_RULES_PARAMS_INIT;
    vsim_rules_summary s = VSIM_RULES_SUMMARY_INIT;
    int64_t want_wur[] = { 1, 2, 3, 4, 5, 6, 7 }, want_ut[] = { 2, 5, 6, 7 };
    int64_t want_ut_ref[] = { 0, 3, 4, 5 };
    size_t n_wur = 0, n_ut = 0, ok = 1;
    char dir[64];
    vsim_rules *rs;
    got g = { .n = 0 };

    for (size_t st = 0; st < STEPS; st++) {
        steps[st] = (int64_t)st;
        for (size_t i = 0; i < N; i++)
            v[st * N + i] = (1.0f + (float)(i % 13)) * (st >= 3 ? 30.0f : 1.0f);
    }
    snprintf(dir, sizeof(dir), "shared-%zu-%d", N, copy);
    write_series(newdir(dir), "l/weight", "weights", steps, STEPS, v, N, 1, NULL);
    vsim_free(v);
    p.copy_values = copy;
    VT_CHECK(vsim_rules_create(&rs) == VSIM_OK && vsim_rules_add(rs, specs[0]) == VSIM_OK &&
             vsim_rules_add(rs, specs[1]) == VSIM_OK, "two rules");
    p.on_verdict = collect;
    p.verdict_ctx = &g;
    VT_CHECK(vsim_rules_run(rs, newdir(dir), &p, &s) == VSIM_OK, "run");
    for (size_t i = 0; i < g.n; i++) {
        const vsim_verdict *x = &g.v[i];

        if (x->result != VSIM_RULE_FIRED)
            continue;
        if (!strcmp(x->rule, "WeightUpdateRatio")) {
            ok &= n_wur < 7 && x->step == want_wur[n_wur] && x->ref_step == x->step - 1;
            ok &= x->step == 3 ? fabs(x->value - 29.0) < 1e-6 : x->value == 0.0;
            n_wur++;
        } else {
            ok &= n_ut < 4 && x->step == want_ut[n_ut] && x->ref_step == want_ut_ref[n_ut];
            n_ut++;
        }
    }
    VT_CHECK(ok && n_wur == 7 && n_ut == 4, "WeightUpdateRatio and UnchangedTensor verdicts");
    if (copy || N * sizeof(float) < VSIM_TRIAL_MAP_MIN) {
        VT_CHECK(s.n_mapped == 0 && s.n_buf_reads == STEPS, "one read per step");
        VT_CHECK(s.n_buf_new == 3, "3 buffers: the step's and UnchangedTensor's last two");
        VT_CHECK(s.peak_buf_bytes == 3 * N * sizeof(float), "peak bytes: 3 steps' values");
    } else {
        VT_CHECK(s.n_mapped == STEPS && s.n_buf_reads == 0 && s.peak_buf_bytes == 0,
                 "mapped: one mapping per step, no buffers");
    }
    vsim_rules_summary_release(&s);
    vsim_rules_destroy(rs);
}

/*
 * The pool is bounded: a gradient that doubles in size every step never fits a
 * pooled buffer, and a buffer unused for a whole step is freed, so the peak is
 * the last two steps' buffers, not all six.
 */
static void test_pool_bounded(void)
{
    enum { STEPS = 6, N0 = 20000 };
    vsim_writer_params wp = VSIM_WRITER_PARAMS_INIT;
    vsim_save_config every = VSIM_SAVE_CONFIG_INIT;
    vsim_rules_params p = VSIM_RULES_PARAMS_INIT;
    vsim_rules_summary s = VSIM_RULES_SUMMARY_INIT;
    float *v = vsim_calloc((size_t)N0 << (STEPS - 1), sizeof(float));
    vsim_rules *rs;
    vsim_writer *w;
    int rc;

    every.save_interval = 1;
    wp.durable = 0;
    rc = v ? vsim_writer_open(newdir("pool"), &wp, &w) : VSIM_ENOMEM;
    if (!rc)
        rc = vsim_writer_set_collection(w, "gradients", NULL, &every);
    for (int64_t st = 0; !rc && st < STEPS; st++) {
        size_t n = (size_t)N0 << st;
        vsim_tensor t;

        for (size_t i = 0; i < n; i++)
            v[i] = 1.0f;
        vsim_tensor_init(&t, VSIM_F32, 1, &n, v);
        rc = vsim_writer_begin_step(w, st, VSIM_MODE_TRAIN, st);
        if (!rc)
            rc = vsim_writer_save(w, "gradients/l/weight", "gradients", &t);
        if (!rc)
            rc = vsim_writer_end_step(w);
    }
    if (!rc)
        rc = vsim_writer_close(w, "completed", STEPS - 1);
    vsim_free(v);
    VT_CHECK(rc == VSIM_OK, "write a growing gradient");
    p.copy_values = 1;      /* the largest are over VSIM_TRIAL_MAP_MIN: read them all */
    VT_CHECK(vsim_rules_create(&rs) == VSIM_OK && vsim_rules_add(rs, "VanishingGradient") ==
             VSIM_OK && vsim_rules_run(rs, newdir("pool"), &p, &s) == VSIM_OK, "run");
    VT_CHECK(s.n_buf_reads == STEPS && s.n_buf_new == STEPS, "a new buffer every step");
    VT_CHECK(s.peak_buf_bytes == (((size_t)N0 << (STEPS - 1)) + ((size_t)N0 << (STEPS - 2))) *
             sizeof(float), "peak: this step's buffer and the last step's, no more");
    vsim_rules_summary_release(&s);
    vsim_rules_destroy(rs);
}

static void test_record_and_exec(void)
{
    int64_t steps[2] = { 0, 10 };
    float v[2] = { 1, 1 };
    const char *specs[] = { "LossNotDecreasing:semantics=smdebug", NULL };
    char cmd[600], path[600];
    vsim_buf text = VSIM_BUF_INIT;
    vsim_action act;
    got g;

    write_series(newdir("rec"), "loss/total", "losses", steps, 2, v, 1, 1, NULL);
    snprintf(cmd, sizeof(cmd), "exec:echo \"$VSIM_RULE $VSIM_RULE_STEP $VSIM_RULE_TENSOR\" "
             ">> %s/exec.out", tmp_root);
    vsim_action_parse(cmd, &act);
    VT_CHECK(run_rules(newdir("rec"), specs, &g, 1, &act) == 0, "run with record and exec");
    snprintf(path, sizeof(path), "%s/exec.out", tmp_root);
    VT_CHECK(vsim_fs_read_file(path, &text) == 0, "exec wrote");
    VT_CHECK(!strcmp(text.buf, "LossNotDecreasing 10 loss/total\n"), "verdict in environment");
    vsim_buf_reset(&text);
    snprintf(path, sizeof(path), "%s/rules/verdicts.jsonl", newdir("rec"));
    VT_CHECK(vsim_fs_read_file(path, &text) == 0, "verdicts recorded");
    VT_CHECK(strstr(text.buf, "\"result\": \"fired\", \"step\": 10") != NULL, "record content");
    snprintf(path, sizeof(path), "%s/STOP", newdir("rec"));
    VT_CHECK(!vsim_fs_exists(path), "no STOP without --on-fire stop");
    vsim_buf_release(&text);
}

/* One step holding labels (collection labels) and predictions (collection predictions). */
static void write_confusion(const char *dir, const int32_t *y, const float *pred, size_t n,
                            size_t n_cols)
{
    vsim_writer_params wp = VSIM_WRITER_PARAMS_INIT;
    vsim_save_config every = VSIM_SAVE_CONFIG_INIT;
    size_t shape[2] = { n, n_cols };
    vsim_writer *w;
    vsim_tensor tl, tp;

    every.save_interval = 1;
    wp.durable = 0;
    vsim_tensor_init(&tl, VSIM_I32, 1, &n, (void *)y);
    vsim_tensor_init(&tp, VSIM_F32, n_cols > 1 ? 2 : 1, shape, (void *)pred);
    if (vsim_writer_open(dir, &wp, &w) || vsim_writer_set_collection(w, "labels", NULL, &every) ||
        vsim_writer_set_collection(w, "predictions", NULL, &every) ||
        vsim_writer_begin_step(w, 0, VSIM_MODE_EVAL, 0) ||
        vsim_writer_save(w, "out/labels", "labels", &tl) ||
        vsim_writer_save(w, "out/predictions", "predictions", &tp) ||
        vsim_writer_close(w, "completed", 0))
        fprintf(stderr, "write_confusion: %s\n", vsim_errmsg());
}

/*
 * Confusion normalises per true class (smdebug's choice, pinned here): class 0
 * has 100 samples, class 1 has 10. With 9 of class 0 predicted as 1 the
 * recall is 0.91 and the off-diagonal share 0.09: silent; normalised over the
 * whole matrix the diagonal would be 0.83 and fire. With 11 wrong: fires.
 */
static void test_confusion(void)
{
    int32_t y[110];
    float p[110], scores[110 * 2];
    const char *spec[] = { "Confusion", NULL };
    int64_t fs[4];
    got g;

    for (int wrong = 9; wrong <= 11; wrong += 2) {
        for (int i = 0; i < 110; i++) {
            y[i] = i < 100 ? 0 : 1;
            p[i] = (float)(i < wrong ? 1 : y[i]);
            scores[2 * i] = p[i] == 0 ? 0.8f : 0.1f;
            scores[2 * i + 1] = 1.0f - scores[2 * i];
        }
        write_confusion(newdir(wrong == 9 ? "cf9" : "cf11"), y, p, 110, 1);
        write_confusion(newdir(wrong == 9 ? "cf9s" : "cf11s"), y, scores, 110, 2);
    }
    run_rules(newdir("cf9"), spec, &g, 0, NULL);
    VT_CHECK(n_fired(&g, fs, NULL, 4) == 0, "Confusion: recall 0.91 per class is silent");
    run_rules(newdir("cf11"), spec, &g, 0, NULL);
    VT_CHECK(n_fired(&g, fs, NULL, 4) == 1, "Confusion: recall 0.89 fires");
    VT_CHECK(g.n > 0 && strstr(g.v[0].message, "class 0: 0.89") != NULL,
             "Confusion: message names the class and its recall");
    run_rules(newdir("cf9s"), spec, &g, 0, NULL);
    VT_CHECK(n_fired(&g, fs, NULL, 4) == 0, "Confusion: N x C scores, argmax, silent");
    run_rules(newdir("cf11s"), spec, &g, 0, NULL);
    VT_CHECK(n_fired(&g, fs, NULL, 4) == 1, "Confusion: N x C scores, argmax, fires");
}

static void test_kernels(void)
{
    enum { N = 300000 };   /* above RULE_PAR_MIN_ELEMS: the parallel path */
    float *a = vsim_mallocarray(N, sizeof(float)), *b = vsim_mallocarray(N, sizeof(float));
    size_t n = N;
    vsim_tensor ta, tb;
    double d1, d2, want = 0.0;

    for (size_t i = 0; i < n; i++) {
        a[i] = (float)i * 1e-3f;
        b[i] = a[i] + (float)(i % 7) * 1e-4f;
        want += ((double)a[i] - (double)b[i]) * ((double)a[i] - (double)b[i]);
    }
    vsim_tensor_init(&ta, VSIM_F32, 1, &n, a);
    vsim_tensor_init(&tb, VSIM_F32, 1, &n, b);
    d1 = vsim_rule_diff_l2(&ta, &tb, 1);
    d2 = vsim_rule_diff_l2(&ta, &tb, 4);
    VT_CHECK(d1 == d2, "diff_l2 identical for 1 and 4 threads");
    VT_NEAR(d1, sqrt(want), 1e-9, "diff_l2 value");
    VT_CHECK(!vsim_rule_allclose(&ta, &tb, 0, 1e-5, 0, 2), "not allclose at atol 1e-5");
    VT_CHECK(vsim_rule_allclose(&ta, &tb, 0, 1e-3, 0, 2), "allclose at atol 1e-3");
    a[3] = NAN;
    b[3] = NAN;
    VT_CHECK(!vsim_rule_allclose(&ta, &tb, 0, 1e-3, 0, 2), "NaN differs");
    VT_CHECK(vsim_rule_allclose(&ta, &tb, 0, 1e-3, 1, 2), "equal_nan");
    vsim_free(a);
    vsim_free(b);
}

/* The float32 kernels agree with the generic (float64) path on every special pair. */
static void test_kernels_f32(void)
{
    static const float sp[] = { 0.0f, -0.0f, 1.0f, 1.00001f, -1.0f, 1e-8f, 3e38f, -3e38f,
                                INFINITY, -INFINITY, NAN };
    enum { NS = sizeof(sp) / sizeof(sp[0]) };
    const double tol[][2] = { { 1e-5, 1e-8 }, { 0, 0 }, { 0.5, 0.1 } };
    size_t n3 = 3;
    int ok = 1;

    for (size_t i = 0; i < NS; i++)
        for (size_t j = 0; j < NS; j++)
            for (size_t t = 0; t < 3; t++)
                for (int en = 0; en < 2; en++) {
                    float fa[3] = { 1, sp[i], 2 }, fb[3] = { 1, sp[j], 2 };
                    double da[3] = { 1, (double)sp[i], 2 }, db[3] = { 1, (double)sp[j], 2 };
                    vsim_tensor a32, b32, a64, b64;

                    vsim_tensor_init(&a32, VSIM_F32, 1, &n3, fa);
                    vsim_tensor_init(&b32, VSIM_F32, 1, &n3, fb);
                    vsim_tensor_init(&a64, VSIM_F64, 1, &n3, da);
                    vsim_tensor_init(&b64, VSIM_F64, 1, &n3, db);
                    ok &= vsim_rule_allclose(&a32, &b32, tol[t][0], tol[t][1], en, 1) ==
                          vsim_rule_allclose(&a64, &b64, tol[t][0], tol[t][1], en, 1);
                    if (t == 0 && en == 0) {
                        double x = vsim_rule_diff_l2(&a32, &b32, 1);
                        double y = vsim_rule_diff_l2(&a64, &b64, 1);

                        ok &= x == y || (isnan(x) && isnan(y));
                    }
                }
    VT_CHECK(ok, "float32 and float64 kernels agree on 0, -0, tiny, huge, inf, NaN");
}

int main(void)
{
    char cmd[300];

    snprintf(tmp_root, sizeof(tmp_root), "%s/vsim-test-rules.%d",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    vsim_fs_mkdir_p(tmp_root);
    test_parse();
    test_rules_file();
    test_actions();
    test_loss_not_decreasing_steps();
    test_loss_edges();
    test_loss_vsim();
    test_unchanged();
    test_allzero_edge();
    dead_relu_case("dr8", 8, 0, "dead 8 of 16 (50%, not more than 50)");
    dead_relu_case("dr9", 9, 1, "dead 9 of 16 (56%) fires");
    test_missing_reported_once();
    test_vanishing_edge();
    test_weight_update_num_steps();
    shared_buffers(20000, 0);
    shared_buffers(300000, 1);
    shared_buffers(300000, 0);
    test_pool_bounded();
    test_record_and_exec();
    test_confusion();
    test_kernels();
    test_kernels_f32();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp_root);
    return VT_REPORT("rules");
}
