/*
 * tests/helpers/shard-check.c - verifies a run written by shard-writer:
 *   shard-check DIR            every complete step holds exactly the expected values
 *   shard-check DIR --follow   follow a live run until END; each step must be seen once,
 *                              in order, with the expected values
 * Prints "checked N steps, P problems" and exits 1 on any mismatch.
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/mem.h"
#include "readers/trial.h"

static int check_step(const vsim_trial *t, int64_t s)
{
    for (size_t k = 0; k < vsim_trial_n_tensors(t); k++) {
        const vsim_tensor_info *ti = vsim_trial_tensor(t, k);
        long layer;
        vsim_tensor v;
        void *buf;
        int bad = 0;

        if (sscanf(ti->name, "layer%ld/weight", &layer) != 1)
            continue;
        if (vsim_trial_read(t, ti->name, s, 0, &v, &buf)) {
            fprintf(stderr, "shard-check: %s\n", vsim_errmsg());
            return 1;
        }
        for (size_t i = 0; i < vsim_tensor_n_elems(&v); i++) {
            float want = (float)((double)(((int64_t)s * 131 + (int64_t)i * 7 + layer) % 251) -
                                 100.0) / 8.0f;

            bad |= ((float *)buf)[i] != want;
        }
        vsim_free(buf);
        if (bad) {
            fprintf(stderr, "shard-check: step %" PRId64 " %s: wrong values\n", s, ti->name);
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    int follow = argc > 2 && !strcmp(argv[2], "--follow");
    vsim_trial *t = NULL;
    int64_t next = 0;
    size_t n_checked = 0;
    int rc = 0;

    for (int tries = 0; vsim_trial_open(argv[1], &t); tries++) {
        if (!follow || tries > 2000) {
            fprintf(stderr, "shard-check: %s\n", vsim_errmsg());
            return 1;
        }
        nanosleep(&(struct timespec){ 0, 5000000L }, NULL);
    }
    for (;;) {
        int ended = vsim_trial_ended(t, NULL, NULL);

        for (size_t i = 0; i < vsim_trial_n_steps(t) && !rc; i++) {
            int64_t s = vsim_trial_step(t, i)->step;

            if (s < next)
                continue;
            if (s != next) {
                fprintf(stderr, "shard-check: step %" PRId64 " missing\n", next);
                rc = 1;
            }
            rc |= check_step(t, s);
            next = s + 1;
            n_checked++;
        }
        if (!follow || ended || rc)
            break;
        nanosleep(&(struct timespec){ 0, 2000000L }, NULL);
        if (vsim_trial_refresh(t, NULL)) {
            fprintf(stderr, "shard-check: %s\n", vsim_errmsg());
            rc = 1;
        }
    }
    printf("checked %zu steps, %zu problems\n", n_checked, vsim_trial_n_problems(t));
    for (size_t i = 0; i < vsim_trial_n_problems(t); i++)
        fprintf(stderr, "shard-check: %s: %s\n", vsim_trial_problem_at(t, i)->path,
                vsim_trial_problem_at(t, i)->message);
    rc |= vsim_trial_n_problems(t) != 0;
    vsim_trial_close(t);
    return rc;
}
