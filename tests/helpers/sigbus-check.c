/*
 * tests/helpers/sigbus-check.c - vsim_cli_sigbus against a real SIGBUS:
 *   sigbus-check DIR shrink   write a run with a 2 MiB tensor, map it, cut the
 *                             shard short, touch the lost page: the handler
 *                             must print its message and exit 1
 *   sigbus-check DIR other    raise(SIGBUS) (not a mapping fault): the handler
 *                             must leave it to the default action (killed)
 * Used by tests/cli/t0820-sigbus.sh. Exit 0 means the fault never came (a test
 * failure).
 * SPDX-License-Identifier: MIT
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "readers/trial.h"
#include "readers/writer.h"

int main(int argc, char **argv)
{
    enum { N = 1 << 19 };       /* 2 MiB of float32: mapped, 1 MiB-aligned in the shard */
    vsim_writer_params wp = VSIM_WRITER_PARAMS_INIT;
    vsim_save_config every = VSIM_SAVE_CONFIG_INIT;
    size_t shape[1] = { N }, len;
    float *x = calloc(N, sizeof(float));
    char shard[4200];
    vsim_tensor t, v;
    vsim_writer *w;
    vsim_trial *tr;
    void *map;
    volatile float sink;

    if (argc != 3 || !x)
        return 2;
    vsim_cli_sigbus("sigbus-check");
    if (!strcmp(argv[2], "other")) {
        raise(SIGBUS);
        return 0;
    }
    wp.durable = 0;
    every.save_interval = 1;
    vsim_tensor_init(&t, VSIM_F32, 1, shape, x);
    if (vsim_writer_open(argv[1], &wp, &w) || vsim_writer_set_collection(w, "weights", NULL,
                                                                          &every) ||
        vsim_writer_begin_step(w, 0, VSIM_MODE_TRAIN, 0) ||
        vsim_writer_save(w, "w", "weights", &t) || vsim_writer_end_step(w) ||
        vsim_writer_close(w, "completed", 0) || vsim_trial_open(argv[1], &tr) ||
        vsim_trial_map(tr, "w", 0, 0, 0, &v, &map, &len)) {
        fprintf(stderr, "sigbus-check: %s\n", vsim_errmsg());
        return 2;
    }
    snprintf(shard, sizeof(shard), "%s/shards/w0/step-000000000000.h5", argv[1]);
    if (truncate(shard, 4096)) {
        perror(shard);
        return 2;
    }
    sink = ((const float *)v.data)[N - 1];     /* past the new end of the file: SIGBUS */
    (void)sink;
    return 0;
}
