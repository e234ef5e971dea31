/*
 * analyze/stats_series.c - one tensor's statistics summarised over steps and
 * workers (vsim-stats --across-steps): first, last, min and max of each field,
 * and the least-squares slope of log10(L2) over the step, kept as running
 * centred sums (Welford; merged with Chan's formula) so memory stays bounded.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <string.h>

#include "analyze/stats.h"

void vsim_stats_series_init(vsim_stats_series *s)
{
    memset(s, 0, sizeof(*s));
}

static void set_fields(double *dst, const vsim_stats *st, size_t n_fields)
{
    for (size_t f = 0; f < n_fields; f++)
        dst[f] = vsim_stats_field(st, (int)f);
}

static double nan_min(double a, double b)
{
    return isnan(a) || b < a ? b : a;
}

static double nan_max(double a, double b)
{
    return isnan(a) || b > a ? b : a;
}

/* Fold the trend sums of b (n, means, centred sums) into a. */
static void merge_trend(vsim_stats_series *a, double n, double mx, double my, double sxx,
                        double sxy)
{
    double tot = a->trend_n + n, dx, dy;

    if (n == 0.0)
        return;
    if (a->trend_n == 0.0) {
        a->trend_n = n;
        a->trend_mean_x = mx;
        a->trend_mean_y = my;
        a->trend_sxx = sxx;
        a->trend_sxy = sxy;
        return;
    }
    dx = mx - a->trend_mean_x;
    dy = my - a->trend_mean_y;
    a->trend_sxx += sxx + dx * dx * a->trend_n * n / tot;
    a->trend_sxy += sxy + dx * dy * a->trend_n * n / tot;
    a->trend_mean_x += dx * n / tot;
    a->trend_mean_y += dy * n / tot;
    a->trend_n = tot;
}

void vsim_stats_series_add(vsim_stats_series *s, int64_t step, const vsim_stats *st)
{
    double vals[VSIM_STATS_N_FIELDS];

    if (s->n_obs == 0) {
        s->n_fields = VSIM_STATS_F_PCT0 + st->n_pct;
        for (size_t f = 0; f < VSIM_STATS_N_FIELDS; f++)
            s->min[f] = s->max[f] = s->first[f] = s->last[f] = NAN;
    }
    set_fields(vals, st, s->n_fields);
    if (s->n_obs == 0 || step < s->first_step) {
        s->first_step = step;
        memcpy(s->first, vals, s->n_fields * sizeof(double));
    }
    if (s->n_obs == 0 || step >= s->last_step) {
        s->last_step = step;
        memcpy(s->last, vals, s->n_fields * sizeof(double));
    }
    for (size_t f = 0; f < s->n_fields; f++) {
        s->min[f] = nan_min(s->min[f], vals[f]);
        s->max[f] = nan_max(s->max[f], vals[f]);
    }
    s->n_obs++;
    if (isfinite(st->l2) && st->l2 > 0.0)
        merge_trend(s, 1.0, (double)step, log10(st->l2), 0.0, 0.0);
}

void vsim_stats_series_merge(vsim_stats_series *a, const vsim_stats_series *b)
{
    if (b->n_obs == 0)
        return;
    if (a->n_obs == 0) {
        *a = *b;
        return;
    }
    if (b->first_step < a->first_step) {
        a->first_step = b->first_step;
        memcpy(a->first, b->first, sizeof(a->first));
    }
    if (b->last_step > a->last_step) {
        a->last_step = b->last_step;
        memcpy(a->last, b->last, sizeof(a->last));
    }
    for (size_t f = 0; f < a->n_fields; f++) {
        a->min[f] = nan_min(a->min[f], b->min[f]);
        a->max[f] = nan_max(a->max[f], b->max[f]);
    }
    a->n_obs += b->n_obs;
    merge_trend(a, b->trend_n, b->trend_mean_x, b->trend_mean_y, b->trend_sxx, b->trend_sxy);
}

double vsim_stats_series_trend(const vsim_stats_series *s)
{
    if (s->trend_n < 2.0 || !(s->trend_sxx > 0.0))
        return NAN;
    return s->trend_sxy / s->trend_sxx;
}
