/*
 * cli/vsim-train.c - train the visual-similarity autoencoder on a vsim-render
 * dataset into a run directory (trainer/train.h), or with --embed write the
 * latent vectors of a dataset under a saved model. Progress on stderr.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/mem.h"
#include "core/vsim.h"
#include "trainer/device.h"
#include "trainer/layers.h"
#include "trainer/train.h"

static const vsim_cli cli = {
    "vsim-train", "--data FILE.h5 --out RUN [options] | --resume RUN [--threads T] | --embed "
    "--model-file M.h5 --data FILE.h5 --out OUT.h5",
    "Train the visual-similarity autoencoder and capture the run (shards, END, model.h5).",
    "Models: wide, slim, or a spec such as input=64,conv=32-64-128-256,fc=512-256-64.\n"
    "Losses: l2, ssim, l2+ssim, or A*l2+B*ssim. Decay: none, step:GAMMA:EVERY, "
    "exp:GAMMA:EVERY.\nA STOP file in RUN stops training after the current step.\n"
    "--resume continues RUN from its last checkpoint (RUN/checkpoint.h5, written every\n"
    "--checkpoint-interval steps and at the end) with the run's own parameters.\n",
    0, 0
};

#define MAX_FAULTS 8
static vsim_fault faults[MAX_FAULTS];
static size_t n_faults;

/* --fault KIND[=VALUE][@STEP] (repeatable): parsed at once, so a bad one is a usage error. */
static int add_fault(const vsim_opt *o, const char *arg)
{
    (void)o;
    if (n_faults == MAX_FAULTS) {
        fprintf(stderr, "vsim-train: at most %d faults\n", MAX_FAULTS);
        return -1;
    }
    if (vsim_fault_parse(arg, &faults[n_faults])) {
        fprintf(stderr, "vsim-train: --fault: %s\n", vsim_errmsg());
        return -1;
    }
    n_faults++;
    return 0;
}

typedef struct progress_state {
    int silent;     /* VSIM_QUIET */
    int lines;      /* not a terminal: whole lines, about every 10 % */
} progress_state;

static int print_progress(void *ctx, size_t done, size_t total, const char *msg)
{
    progress_state *ps = ctx;
    size_t every = total >= 10 ? total / 10 : 1;

    if (ps->silent)
        return 0;
    if (ps->lines && (done % every == 0 || done == total || done == 1))
        fprintf(stderr, "vsim-train: %s\n", msg);
    else if (!ps->lines)
        fprintf(stderr, "\rvsim-train: %s   %s", msg, done == total ? "\n" : "");
    return 0;
}

/* The command line as a JSON array for run.json. */
static char *argv_json(int argc, char **argv)
{
    vsim_buf b = VSIM_BUF_INIT;

    vsim_buf_addch(&b, '[');
    for (int i = 0; i < argc; i++) {
        if (i)
            vsim_buf_adds(&b, ", ");
        vsim_buf_add_json_str(&b, argv[i]);
    }
    vsim_buf_addch(&b, ']');
    return vsim_buf_detach(&b, NULL);
}

static void print_result(const vsim_train_result *res)
{
    printf("status\t%s\nsteps\t%lld\nloss\t%.6g\neval_loss\t%.6g\nimages_per_s\t%.1f\n"
           "images_per_s_steady\t%.1f\nparams\t%zu\n", res->status, (long long)res->steps,
           res->last_loss, res->last_eval_loss, res->images_per_s, res->images_per_s_steady,
           res->n_params);
}

/* --resume RUN: the run's parameters from its checkpoint, a few overridable. */
static int resume_run(const char *run, vsim_train_saved *s, int threads, int no_fsync,
                      int sync_fsync, progress_state *ps)
{
    vsim_train_result res;
    int rc;

    if (threads < -1)
        vsim_cli_usage_error(&cli, "bad --threads");
    if (vsim_train_saved_load(run, s))
        return vsim_cli_error(cli.prog);
    if (threads >= 0)
        s->p.n_threads = threads;
    if (no_fsync || sync_fsync)
        s->p.durable = no_fsync ? VSIM_DURABLE_NONE : VSIM_DURABLE_SYNC;
    s->p.progress = print_progress;
    s->p.progress_ctx = ps;
    if (!ps->silent && s->next_step < s->p.steps)
        fprintf(stderr, "vsim-train: resuming %s at step %lld of %lld\n", run,
                (long long)s->next_step, (long long)s->p.steps);
    vsim_layer_blas_init();
    rc = vsim_train_run(s->data, run, &s->p, &res);
    if (!rc && !strcmp(res.status, "completed") && res.steps == 0) {
        if (!ps->silent)
            fprintf(stderr, "vsim-train: %s has completed; nothing to resume\n", run);
        res.steps = s->p.steps;
    }
    vsim_train_saved_release(s);
    if (rc && rc != VSIM_ENUMERIC)
        return vsim_cli_error(cli.prog);
    print_result(&res);
    return rc ? vsim_cli_error(cli.prog) : VSIM_EXIT_OK;
}

int main(int argc, char **argv)
{
    vsim_train_params p = VSIM_TRAIN_PARAMS_INIT;
    vsim_train_result res;
    progress_state ps = { getenv("VSIM_QUIET") != NULL, vsim_cli_quiet() };
    const char *data = NULL, *out = NULL, *device = "cpu", *model_file = NULL, *resume = NULL;
    vsim_train_saved saved;
    int64_t seed = 1;
    int embed = 0, no_fsync = 0, sync_fsync = 0, first, rc, dev;
    char *args;
    vsim_opt opts[] = {
        VSIM_OPT_STRING('d', "data", &data, "FILE.h5", "dataset made by vsim-render"),
        VSIM_OPT_STRING('o', "out", &out, "RUN", "run directory to create (--embed: OUT.h5)"),
        VSIM_OPT_STRING('m', "model", &p.model, "SPEC", "wide (default), slim or a spec"),
        VSIM_OPT_STRING(0, "loss", &p.loss, "LOSS", "l2 (default), ssim, l2+ssim"),
        VSIM_OPT_INT64('n', "steps", &p.steps, "N", "training steps (default 1000)"),
        VSIM_OPT_DOUBLE(0, "epochs", &p.epochs, "E", "train for E epochs instead of --steps"),
        VSIM_OPT_INT('b', "batch", &p.batch, "B", "images per step (default 64)"),
        VSIM_OPT_DOUBLE(0, "lr", &p.lr, "X", "learning rate (default 1e-3)"),
        VSIM_OPT_STRING(0, "lr-decay", &p.lr_decay, "D", "none, step:G:N or exp:G:N"),
        VSIM_OPT_STRING(0, "device", &device, "DEV", "cpu (default) or cuda"),
        VSIM_OPT_INT('t', "threads", &p.n_threads, "T", "threads (default: all)"),
        VSIM_OPT_INT64('s', "seed", &seed, "S", "random seed (default 1)"),
        VSIM_OPT_DOUBLE(0, "val-frac", &p.val_frac, "F", "share of designs held out (0.1)"),
        VSIM_OPT_INT64(0, "eval-interval", &p.eval_interval, "N",
                       "evaluate every N steps (default 100; 0: at the end only)"),
        VSIM_OPT_INT64(0, "save-interval", &p.save_interval, "N",
                       "save weights, gradients, activations, images every N steps (100)"),
        VSIM_OPT_STRING(0, "save-config", &p.save_config, "FILE",
                        "collection save configs, one per line (see the manual)"),
        VSIM_OPT_INT64(0, "checkpoint-interval", &p.checkpoint_interval, "N",
                       "save RUN/model.h5 every N steps (default: at the end)"),
        VSIM_OPT_INT(0, "probe", &p.n_probe, "N", "images in the probe batch (default 8)"),
        VSIM_OPT_FLAG(0, "no-fsync", &no_fsync,
                      "never fsync shards (still atomic and safe if the job is killed; "
                      "not safe on power loss)"),
        VSIM_OPT_FLAG(0, "sync-fsync", &sync_fsync,
                      "fsync each shard before it becomes visible (default: in the "
                      "background, a few shards behind)"),
        VSIM_OPT_CALLBACK(0, "fault", NULL, "KIND[=V][@S]",
                          "inject a fault (repeatable; CPU): nan@S, dead-relu@S, freeze@S, "
                          "constant-input, zero-init, init-scale=X, collapse@S, stall@S, "
                          "eval-drift@S, grad-scale@S (see the manual)", add_fault),
        VSIM_OPT_STRING(0, "resume", &resume, "RUN",
                        "continue RUN from its last checkpoint (with the run's parameters; "
                        "--threads and the fsync options may be given)"),
        VSIM_OPT_FLAG(0, "embed", &embed, "write latent vectors of --data under --model-file"),
        VSIM_OPT_STRING(0, "model-file", &model_file, "M.h5", "saved model for --embed"),
        VSIM_OPT_END
    };

    p.steps = -1;   /* not given */
    p.n_threads = -1;
    vsim_cli_parse(&cli, opts, argc, argv, &first);
    if (resume && (data || out || embed || model_file || p.steps >= 0))
        vsim_cli_usage_error(&cli, "--resume takes the run's own parameters; only --threads, "
                             "--no-fsync and --sync-fsync may be given with it");
    if (resume)
        return resume_run(resume, &saved, p.n_threads, no_fsync, sync_fsync, &ps);
    if (p.n_threads == -1)
        p.n_threads = 0;
    if (p.steps >= 0 && p.epochs > 0.0)
        vsim_cli_usage_error(&cli, "give --steps or --epochs, not both");
    if (p.steps < 0)
        p.steps = p.epochs > 0.0 ? 0 : 1000;
    if (!data || !out)
        vsim_cli_usage_error(&cli, "--data and --out are required");
    if ((dev = vsim_device_parse(device)) < 0)
        vsim_cli_usage_error(&cli, "%s", vsim_errmsg());
    if (p.n_threads < 0 || p.batch < 1 || seed < 0)
        vsim_cli_usage_error(&cli, "bad --threads, --batch or --seed");
    vsim_layer_blas_init();
    if (embed) {
        if (!model_file)
            vsim_cli_usage_error(&cli, "--embed needs --model-file");
        if (vsim_train_embed(model_file, data, out, p.batch, p.n_threads))
            return vsim_cli_error(cli.prog);
        return VSIM_EXIT_OK;
    }
    p.device = dev;
    p.durable = no_fsync ? VSIM_DURABLE_NONE : sync_fsync ? VSIM_DURABLE_SYNC
                                                   : VSIM_DURABLE_ASYNC;
    p.seed = (uint64_t)seed;
    p.faults = faults;
    p.n_faults = n_faults;
    p.progress = print_progress;
    p.progress_ctx = &ps;
    args = argv_json(argc, argv);
    p.argv_json = args;
    rc = vsim_train_run(data, out, &p, &res);
    vsim_free(args);
    if (rc && rc != VSIM_ENUMERIC)
        return vsim_cli_error(cli.prog);
    print_result(&res);
    if (rc)
        return vsim_cli_error(cli.prog);
    return VSIM_EXIT_OK;
}
