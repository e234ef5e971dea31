/*
 * tests/helpers/study-replay.c - feed a stream of study events to vsim's pruner
 * (sweep/study.h) and print each decision, for the differential test against
 * Optuna (tests/cli/t1000-sweep.sh). Usage: study-replay PRUNER < events
 *   add                    a new running trial (ids 0, 1, ...)
 *   report ID STEP VALUE   prints "ID STEP prune|keep"
 *   state ID complete|pruned|fail
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vsim.h"
#include "sweep/study.h"

int main(int argc, char **argv)
{
    vsim_pruner p;
    vsim_study *s;
    char line[256], what[32];
    size_t id;

    if (argc != 2 || vsim_pruner_parse(argv[1], &p) || vsim_study_create(&p, &s)) {
        fprintf(stderr, "study-replay: %s\n", argc == 2 ? vsim_errmsg() : "usage: PRUNER");
        return 2;
    }
    while (fgets(line, sizeof(line), stdin)) {
        long long step;
        double v;

        if (!strncmp(line, "add", 3)) {
            if (vsim_study_add_trial(s, &id))
                return 1;
        } else if (sscanf(line, "report %zu %lld %lf", &id, &step, &v) == 3) {
            vsim_prune_decision d;

            if (vsim_study_report(s, id, step, v, &d))
                return 1;
            printf("%zu %lld %s\n", id, step, d.prune ? "prune" : "keep");
        } else if (sscanf(line, "state %zu %31s", &id, what) == 2) {
            vsim_study_set_state(s, id, !strcmp(what, "complete") ? VSIM_TRIAL_COMPLETE
                                        : !strcmp(what, "pruned") ? VSIM_TRIAL_PRUNED
                                                                  : VSIM_TRIAL_FAIL);
        } else {
            fprintf(stderr, "study-replay: bad line: %s", line);
            return 2;
        }
    }
    vsim_study_destroy(s);
    return 0;
}
