/*
 * plot/scale.c - ranges, nice ticks, log ticks, tick labels, pixel maps, label
 * thinning and EMA smoothing (see plot/scale.h). No cairo here: the layout is
 * pure arithmetic so that tests check it numerically.
 * SPDX-License-Identifier: MIT
 */
#include "plot/scale.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int vsim_scale_range(const double *v, size_t n, int log, double *out_lo, double *out_hi)
{
    double lo = INFINITY, hi = -INFINITY;

    for (size_t i = 0; i < n; i++) {
        double x = v[i];

        if (!isfinite(x) || (log && !(x > 0.0)))
            continue;
        if (x < lo)
            lo = x;
        if (x > hi)
            hi = x;
    }
    if (lo > hi)
        return vsim_fail(VSIM_EINVAL, log ? "no positive values to show on a log axis"
                                          : "no finite values to show");
    *out_lo = lo;
    *out_hi = hi;
    return VSIM_OK;
}

void vsim_scale_pad(double *lo, double *hi, double pad)
{
    double w;

    if (*hi <= *lo) {
        double d = *lo == 0.0 ? 0.5 : fabs(*lo) * 0.1;

        *lo -= d;
        *hi += d;
    }
    w = *hi - *lo;
    *lo -= pad * w;
    *hi += pad * w;
}

double vsim_scale_nice_step(double span, int max_ticks)
{
    double raw, mag, f;

    if (max_ticks < 1)
        max_ticks = 1;
    if (!(span > 0.0) || !isfinite(span))
        return 1.0;
    raw = span / max_ticks;
    mag = pow(10.0, floor(log10(raw)));
    f = raw / mag;
    if (f <= 1.0 + 1e-9)
        return mag;
    if (f <= 2.0 + 1e-9)
        return 2.0 * mag;
    if (f <= 5.0 + 1e-9)
        return 5.0 * mag;
    return 10.0 * mag;
}

/* Round x to the step's decimal grid so that 3 * 0.1 becomes 0.3 exactly as printed. */
static double snap(double x, double step)
{
    double k = round(x / step);

    return fabs(k) < 1e15 ? k * step : x;
}

void vsim_scale_ticks(double lo, double hi, int max_ticks, vsim_ticks *out)
{
    double step, first;

    memset(out, 0, sizeof(*out));
    if (max_ticks > VSIM_SCALE_MAX_TICKS - 1)
        max_ticks = VSIM_SCALE_MAX_TICKS - 1;
    if (max_ticks < 2)
        max_ticks = 2;
    if (!(hi > lo)) {
        out->n = 1;
        out->v[0] = lo;
        out->step = 1.0;
        return;
    }
    /* the finest nice step (1, 2, 5 x 10^k) that gives at most max_ticks ticks */
    step = vsim_scale_nice_step(hi - lo, max_ticks);
    for (int guard = 0; guard < 8; guard++) {
        double n = floor(hi / step + 1e-9) - ceil(lo / step - 1e-9) + 1;
        double m = step / pow(10.0, floor(log10(step) + 1e-9));

        if (n <= max_ticks)
            break;
        step *= m < 1.5 ? 2.0 : (m < 3 ? 2.5 : 2.0);
    }
    first = ceil(lo / step - 1e-9) * step;
    for (double t = first; t <= hi + step * 1e-9 && out->n < VSIM_SCALE_MAX_TICKS; t += step) {
        out->v[out->n++] = snap(t, step);
        t = snap(t, step);
    }
    out->step = step;
}

void vsim_scale_log_ticks(double lo10, double hi10, int max_ticks, vsim_ticks *out)
{
    double first = ceil(lo10 - 1e-9), last = floor(hi10 + 1e-9);
    double k;

    memset(out, 0, sizeof(*out));
    out->log = 1;
    if (max_ticks > VSIM_SCALE_MAX_TICKS - 1)
        max_ticks = VSIM_SCALE_MAX_TICKS - 1;
    if (max_ticks < 2)
        max_ticks = 2;
    if (hi10 - lo10 < 2.0) {
        /* Under two decades: 1x, 2x and 5x marks, as many as fit. */
        static const double mult[3] = { 1.0, 2.0, 5.0 };

        for (double d = floor(lo10) - 1; d <= hi10 + 1; d++)
            for (int m = 0; m < 3 && out->n < VSIM_SCALE_MAX_TICKS; m++) {
                double v = d + log10(mult[m]);

                if (v >= lo10 - 1e-9 && v <= hi10 + 1e-9)
                    out->v[out->n++] = v;
            }
        out->step = 0.5;   /* < 1: 1-2-5 marks, labelled as plain numbers */
        if ((int)out->n <= max_ticks && out->n >= 2)
            return;
        out->n = 0;
    }
    k = ceil((last - first + 1) / max_ticks);
    if (k < 1)
        k = 1;
    first = ceil(first / k - 1e-9) * k;
    for (double d = first; d <= last + 1e-9 && out->n < VSIM_SCALE_MAX_TICKS; d += k)
        out->v[out->n++] = d;
    out->step = k;
}

void vsim_scale_nice_range(double *lo, double *hi, int max_ticks)
{
    double step;

    if (!(*hi > *lo))
        vsim_scale_pad(lo, hi, 0.0);
    step = vsim_scale_nice_step(*hi - *lo, max_ticks);
    *lo = floor(*lo / step + 1e-9) * step;
    *hi = ceil(*hi / step - 1e-9) * step;
}

/* Unicode superscript of an integer exponent ("⁻¹²"). */
static void superscript(long e, char *out, size_t cap)
{
    static const char *const digit[10] = { "⁰", "¹", "²", "³", "⁴",
                                           "⁵", "⁶", "⁷", "⁸", "⁹" };
    char dec[24];
    size_t len = 0;

    snprintf(dec, sizeof(dec), "%ld", e);
    out[0] = '\0';
    for (const char *p = dec; *p; p++) {
        const char *s = *p == '-' ? "⁻" : digit[*p - '0'];
        size_t n = strlen(s);

        if (len + n + 1 > cap)
            break;
        memcpy(out + len, s, n + 1);
        len += n;
    }
}

void vsim_scale_format(double v, double step, int log, char *out, size_t cap)
{
    double a;
    int dec;

    if (cap == 0)
        return;
    if (log) {
        double e = round(v);

        if (fabs(v - e) < 1e-9 && step >= 1.0) {
            char sup[64];

            superscript((long)e, sup, sizeof(sup));
            snprintf(out, cap, "10%s", sup);
        } else {
            snprintf(out, cap, "%.3g", pow(10.0, v));
        }
        return;
    }
    if (!isfinite(v)) {
        snprintf(out, cap, "%g", v);
        return;
    }
    if (fabs(v) < fabs(step) * 1e-9)
        v = 0.0;
    a = fabs(v);
    if (v == 0.0 && (fabs(step) < 1e-4 || fabs(step) >= 1e6)) {
        snprintf(out, cap, "0");   /* beside 5e-08, not 0.00000000 */
        return;
    }
    if (v != 0.0 && (a >= 1e6 || a < 1e-4 || fabs(step) < 1e-4)) {
        int digits = (int)(floor(log10(a) + 1e-9) - floor(log10(fabs(step)) + 1e-9)) + 1;

        if (digits < 1)
            digits = 1;
        if (digits > 6)
            digits = 6;
        snprintf(out, cap, "%.*e", digits - 1, v);
        /* 1.0e-06 -> 1e-06 keeps the labels short */
        if (digits == 1)
            snprintf(out, cap, "%.0e", v);
        return;
    }
    dec = step > 0.0 ? (int)ceil(-log10(step) - 1e-9) : 0;
    if (dec < 0)
        dec = 0;
    if (dec > 10)
        dec = 10;
    snprintf(out, cap, "%.*f", dec, v);
}

double vsim_scale_map(const vsim_scale *s, double v)
{
    double d;

    if (s->log)
        v = v > 0.0 ? log10(v) : -HUGE_VAL;
    d = s->d1 - s->d0;
    if (d == 0.0)
        return 0.5 * (s->p0 + s->p1);
    return s->p0 + (v - s->d0) / d * (s->p1 - s->p0);
}

int vsim_box_overlap(const vsim_box *a, const vsim_box *b)
{
    return a->x < b->x + b->w && b->x < a->x + a->w && a->y < b->y + b->h && b->y < a->y + a->h;
}

int vsim_boxes_overlap(const vsim_box *boxes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (vsim_box_overlap(&boxes[i], &boxes[j]))
                return 1;
    return 0;
}

/* 1 if labels 0, k, 2k, ... keep gap pixels between neighbours. */
static int thin_fits(const double *pos, const double *ext, size_t n, double gap, size_t k)
{
    for (size_t i = 0; i + k < n; i += k) {
        double dist = fabs(pos[i + k] - pos[i]);

        if (dist < 0.5 * (ext[i] + ext[i + k]) + gap)
            return 0;
    }
    return 1;
}

size_t vsim_scale_thin(const double *pos, const double *ext, size_t n, double gap)
{
    size_t k = 1;

    while (k < n && !thin_fits(pos, ext, n, gap, k))
        k++;
    return k;
}

void vsim_scale_smooth(const double *y, size_t n, double w, double *out)
{
    double last = 0.0, debias = 0.0;

    if (!(w > 0.0) || w >= 1.0) {
        if (out != y)
            memmove(out, y, n * sizeof(*y));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        double v = y[i];

        if (!isfinite(v)) {
            out[i] = v;
            continue;
        }
        last = last * w + (1.0 - w) * v;
        debias = debias * w + (1.0 - w);
        out[i] = last / debias;
    }
}
