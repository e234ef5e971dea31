/*
 * readers/run.c - run-directory names shared by writer and reader: modes,
 * reductions, shard paths (shard format v1, docs/format.md).
 * SPDX-License-Identifier: MIT
 */
#include "readers/run.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/vsim.h"

static const char *const mode_names[VSIM_N_MODES] = { "train", "eval", "predict", "global" };

static const char *const reduction_names[VSIM_N_REDUCTIONS] = {
    "min", "max", "mean", "std", "variance", "sum", "l1", "l2",
    "abs_min", "abs_max", "abs_mean", "nan_count",
};

const char *vsim_mode_name(vsim_mode m)
{
    return (m >= 0 && m < VSIM_N_MODES) ? mode_names[m] : "invalid";
}

int vsim_mode_parse(const char *s, vsim_mode *out)
{
    for (int m = 0; m < VSIM_N_MODES; m++) {
        if (!strcmp(s, mode_names[m])) {
            *out = (vsim_mode)m;
            return VSIM_OK;
        }
    }
    return vsim_fail(VSIM_EINVAL, "unknown mode '%s' (want train, eval, predict or global)", s);
}

const char *vsim_reduction_name(vsim_reduction r)
{
    return (r >= 0 && r < VSIM_N_REDUCTIONS) ? reduction_names[r] : "invalid";
}

int vsim_reduction_parse_list(const char *list, unsigned *out_mask)
{
    unsigned mask = 0;
    const char *p = list;

    while (*p) {
        size_t len = strcspn(p, ",");
        int found = 0;

        for (int r = 0; r < VSIM_N_REDUCTIONS && len; r++) {
            if (strlen(reduction_names[r]) == len && !strncmp(p, reduction_names[r], len)) {
                mask |= VSIM_RED_BIT(r);
                found = 1;
            }
        }
        if (len && !found)
            return vsim_fail(VSIM_EINVAL, "unknown reduction '%.*s'", (int)len, p);
        p += len;
        if (*p == ',')
            p++;
    }
    *out_mask = mask;
    return VSIM_OK;
}

int vsim_run_parse_shard_name(const char *name, int64_t *step)
{
    size_t len = strlen(name);
    char *end;

    if (len != 5 + 12 + 3 || strncmp(name, "step-", 5) || strcmp(name + 17, ".h5"))
        return 0;
    for (int i = 5; i < 17; i++)
        if (name[i] < '0' || name[i] > '9')
            return 0;
    *step = strtoll(name + 5, &end, 10);
    return 1;
}

int vsim_run_shard_path(struct vsim_buf *out, const char *run_dir, int worker, int64_t step)
{
    return vsim_buf_addf(out, "%s/" VSIM_RUN_SHARDS "/w%d/step-%012" PRId64 ".h5", run_dir,
                         worker, step);
}

int vsim_steps_format(struct vsim_buf *out, const int64_t *steps, size_t n)
{
    size_t i = 0;
    int rc = VSIM_OK;

    while (!rc && i < n) {
        size_t j = i + 1;
        int64_t stride = j < n ? steps[j] - steps[i] : 0;

        while (j + 1 < n && steps[j + 1] - steps[j] == stride)
            j++;
        if (i > 0)
            rc = vsim_buf_addch(out, ',');
        if (rc)
            break;
        if (j < n && j - i >= 2) {
            rc = vsim_buf_addf(out, "%" PRId64 "-%" PRId64, steps[i], steps[j]);
            if (!rc && stride != 1)
                rc = vsim_buf_addf(out, ":%" PRId64, stride);
            i = j + 1;
        } else {
            rc = vsim_buf_addf(out, "%" PRId64, steps[i]);
            i++;
        }
    }
    return rc;
}
