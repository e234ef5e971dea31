/*
 * trainer/device.c - backend names.
 * SPDX-License-Identifier: MIT
 */
#include "trainer/device.h"

#include <string.h>

#include "core/vsim.h"

int vsim_device_parse(const char *name)
{
    if (name && !strcmp(name, "cpu"))
        return VSIM_DEVICE_CPU;
    if (name && !strcmp(name, "cuda"))
        return VSIM_DEVICE_CUDA;
    return vsim_fail(VSIM_EINVAL, "unknown device '%s' (want cpu or cuda)", name ? name : "");
}
