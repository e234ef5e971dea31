/*
 * trainer/fault.c - faults injected into a training job on purpose (vsim-train
 * --fault): the labelled corpus of broken runs that the rules are measured on
 * (issue 19, bench/rules-corpus.sh, docs/rules.md). Each fault reproduces one
 * pathology from a known step, so a rule's delay can be measured.
 * SPDX-License-Identifier: MIT
 */
#include "trainer/fault.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

static const struct {
    const char *name;
    vsim_fault_kind kind;
    int takes_step;          /* KIND@STEP allowed */
    int takes_value;         /* KIND=VALUE allowed (a number, or a layer name for freeze) */
    double value;            /* default value */
} kinds[] = {
    { "nan", VSIM_FAULT_NAN, 1, 0, 0.0 },
    { "dead-relu", VSIM_FAULT_DEAD_RELU, 1, 1, -10.0 },
    { "freeze", VSIM_FAULT_FREEZE, 1, 1, 0.0 },
    { "constant-input", VSIM_FAULT_CONSTANT_INPUT, 0, 1, 0.5 },
    { "zero-init", VSIM_FAULT_ZERO_INIT, 0, 0, 0.0 },
    { "init-scale", VSIM_FAULT_INIT_SCALE, 0, 1, 1.0 },
    { "collapse", VSIM_FAULT_COLLAPSE, 1, 0, 0.0 },
    { "stall", VSIM_FAULT_STALL, 1, 0, 0.0 },
    { "eval-drift", VSIM_FAULT_EVAL_DRIFT, 1, 1, 0.002 },
    { "grad-scale", VSIM_FAULT_GRAD_SCALE, 1, 1, 100.0 },
};

const char *vsim_fault_kinds(void)
{
    return "nan@S, dead-relu[=BIAS]@S, freeze[=LAYER]@S, constant-input[=LEVEL], zero-init, "
           "init-scale=X, collapse@S, stall@S, eval-drift[=RATE]@S, grad-scale[=X]@S";
}

int vsim_fault_parse(const char *text, vsim_fault *out)
{
    const char *at = strchr(text, '@'), *eq = strchr(text, '=');
    size_t n = strcspn(text, "=@");

    memset(out, 0, sizeof(*out));
    out->text = text;
    for (size_t i = 0; i < VSIM_ARRAY_LEN(kinds); i++) {
        if (strlen(kinds[i].name) != n || strncmp(kinds[i].name, text, n))
            continue;
        out->kind = kinds[i].kind;
        out->value = kinds[i].value;
        if (at && !kinds[i].takes_step)
            return vsim_fail(VSIM_EINVAL, "fault '%s': %s starts at step 0 (no @STEP)", text,
                             kinds[i].name);
        if (eq && (!kinds[i].takes_value || (at && eq > at)))
            return vsim_fail(VSIM_EINVAL, "fault '%s': %s takes no value", text,
                             kinds[i].name);
        if (kinds[i].kind == VSIM_FAULT_INIT_SCALE && !eq)
            return vsim_fail(VSIM_EINVAL, "fault '%s': give the factor, init-scale=X", text);
        if (at) {
            char *end;

            errno = 0;
            out->step = strtoll(at + 1, &end, 10);
            if (errno || end == at + 1 || *end || out->step < 0)
                return vsim_fail(VSIM_EINVAL, "fault '%s': bad step '%s'", text, at + 1);
        }
        if (eq) {
            size_t len = at ? (size_t)(at - eq - 1) : strlen(eq + 1);
            char val[64];
            char *end;

            if (!len || len >= sizeof(val))
                return vsim_fail(VSIM_EINVAL, "fault '%s': bad value", text);
            memcpy(val, eq + 1, len);
            val[len] = '\0';
            if (out->kind == VSIM_FAULT_FREEZE) {
                memcpy(out->layer, val, len + 1 < sizeof(out->layer) ? len + 1
                                                                     : sizeof(out->layer));
                out->layer[sizeof(out->layer) - 1] = '\0';
            } else {
                errno = 0;
                out->value = strtod(val, &end);
                if (errno || *end || !isfinite(out->value))
                    return vsim_fail(VSIM_EINVAL, "fault '%s': bad number '%s'", text, val);
            }
        }
        return VSIM_OK;
    }
    return vsim_fail(VSIM_EINVAL, "unknown fault '%s' (known: %s)", text, vsim_fault_kinds());
}
