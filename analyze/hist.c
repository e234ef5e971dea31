/*
 * analyze/hist.c - equal-width histograms of a tensor's finite values, bin for
 * bin as numpy.histogram(x.astype(float64), bins=N) computes them (range
 * min..max widened by 0.5 when flat, edges by linspace, last bin closed, the
 * +-1 correction near edges of numpy/lib/histograms.py); log bins over
 * log10|x| of the non-zero finite values. Per-thread counts, summed after.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <string.h>

#include "analyze/stats_int.h"
#include "core/mem.h"
#include "core/omp.h"

typedef struct hist_job {
    const vsim_tensor *t;
    size_t n, n_chunks;
    int nth, log;
    size_t n_bins;
    double lo, hi, norm;
    uint64_t *counts;            /* [nth][n_bins] */
    double *absmin, *absmax;     /* [nth]: extremes of |x| over non-zero finite x */
    vsim_stats_scratch *scratch;
} hist_job;


void vsim_hist_release(vsim_hist *h)
{
    vsim_free(h->counts);
    memset(h, 0, sizeof(*h));
}

double vsim_hist_edge(const vsim_hist *h, size_t i)
{
    if (i >= h->n_bins)
        return h->hi;
    return (double)i * ((h->hi - h->lo) / (double)h->n_bins) + h->lo;
}

/* numpy's bin index of x in [lo, hi]. */
static size_t bin_of(const vsim_hist *h, double norm, double x)
{
    size_t n = h->n_bins, i, lo = 0, hi = n;

    if (!isfinite(norm)) {
        /* a range of denormals: n / (hi - lo) overflows; search the edges */
        while (hi - lo > 1) {
            size_t mid = (lo + hi) / 2;

            if (vsim_hist_edge(h, mid) <= x)
                lo = mid;
            else
                hi = mid;
        }
        return lo;
    }
    i = (size_t)((x - h->lo) * norm);
    if (i >= n)
        i = n - 1;
    if (x < vsim_hist_edge(h, i))
        i--;
    else if (i != n - 1 && x >= vsim_hist_edge(h, i + 1))
        i++;
    return i;
}

static void chunk_values(const hist_job *job, int ith, size_t c, size_t *m)
{
    size_t i0 = c * VSIM_STATS_CHUNK;
    size_t len = job->n - i0 < VSIM_STATS_CHUNK ? job->n - i0 : VSIM_STATS_CHUNK;

    *m = vsim_stats_load(job->t, i0, len, &job->scratch[ith], VSIM_LOAD_VALS, NULL);
}

static void job_thread(const hist_job *job, int ith, int find_range)
{
    const vsim_stats_scratch *sc = &job->scratch[ith];
    vsim_hist h = { job->n_bins, job->log, job->lo, job->hi, NULL };
    uint64_t *cnt = job->counts + (size_t)ith * job->n_bins;
    size_t c0, c1, m;

    vsim_stats_split(job->n_chunks, ith, job->nth, &c0, &c1);
    for (size_t c = c0; c < c1; c++) {
        chunk_values(job, ith, c, &m);
        for (size_t j = 0; j < m; j++) {
            double x = sc->vals[j];

            if (job->log) {
                if (x == 0.0)
                    continue;
                x = fabs(x);
                if (find_range) {
                    job->absmin[ith] = x < job->absmin[ith] ? x : job->absmin[ith];
                    job->absmax[ith] = x > job->absmax[ith] ? x : job->absmax[ith];
                    continue;
                }
                x = log10(x);
            }
            cnt[bin_of(&h, job->norm, x)]++;
        }
    }
}

static void run_job(const hist_job *job, int find_range)
{
    int nth = job->nth;

#pragma omp parallel num_threads(nth) default(none) shared(job, nth, find_range)
    {
        for (int ith = vsim_omp_thread_num(); ith < nth; ith += vsim_omp_num_threads())
            job_thread(job, ith, find_range);
    }
}

/* lo, hi of the log10 magnitudes; 0 if there is no non-zero finite value. */
static int log_range(hist_job *job, double *lo, double *hi)
{
    double amin = INFINITY, amax = 0.0;

    for (int i = 0; i < job->nth; i++) {
        job->absmin[i] = INFINITY;
        job->absmax[i] = 0.0;
    }
    run_job(job, 1);
    for (int i = 0; i < job->nth; i++) {
        amin = job->absmin[i] < amin ? job->absmin[i] : amin;
        amax = job->absmax[i] > amax ? job->absmax[i] : amax;
    }
    if (amax == 0.0)
        return 0;
    *lo = log10(amin);
    *hi = log10(amax);
    return 1;
}

int vsim_hist_compute(const vsim_tensor *t, size_t n_chunks, int nth,
                      const vsim_stats_params *p, const vsim_stats *st, vsim_hist *h)
{
    hist_job job = { .t = t, .n = vsim_tensor_n_elems(t), .n_chunks = n_chunks, .nth = nth,
                     .log = p->log_bins, .n_bins = p->n_bins };
    double lo = 0.0, hi = 1.0;
    int have = st->n_finite > 0, rc = VSIM_OK;
    uint64_t *counts = vsim_calloc(p->n_bins, sizeof(*counts));

    job.counts = vsim_calloc((size_t)nth * p->n_bins, sizeof(*job.counts));
    job.scratch = vsim_mallocarray((size_t)nth, sizeof(*job.scratch));
    job.absmin = vsim_mallocarray((size_t)nth, sizeof(double));
    job.absmax = vsim_mallocarray((size_t)nth, sizeof(double));
    if (!counts || !job.counts || !job.scratch || !job.absmin || !job.absmax) {
        rc = vsim_fail(VSIM_ENOMEM, "stats: out of memory for a histogram");
        goto done;
    }
    if (have && job.log)
        have = log_range(&job, &lo, &hi);
    else if (have) {
        lo = st->min;
        hi = st->max;
    }
    if (lo == hi) {
        lo -= 0.5;
        hi += 0.5;
    }
    job.lo = lo;
    job.hi = hi;
    job.norm = (double)p->n_bins / (hi - lo);
    if (have)
        run_job(&job, 0);
    for (int i = 0; i < nth; i++)
        for (size_t b = 0; b < p->n_bins; b++)
            counts[b] += job.counts[(size_t)i * p->n_bins + b];
    vsim_hist_release(h);
    h->n_bins = p->n_bins;
    h->log = p->log_bins;
    h->lo = lo;
    h->hi = hi;
    h->counts = counts;
    counts = NULL;
done:
    vsim_free(counts);
    vsim_free(job.absmax);
    vsim_free(job.absmin);
    vsim_free(job.scratch);
    vsim_free(job.counts);
    return rc;
}
