/*
 * rules/rules_int.h - what the engine (rules/engine.c) and the rule families
 * (rules/<family>.c) share: the rule definition table, parameter values, the
 * per-step context with the tensors read once for all rules, and helpers.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_RULES_RULES_INT_H
#define VSIM_RULES_RULES_INT_H

#include <stddef.h>
#include <stdint.h>

#include "analyze/stats.h"
#include "core/tensor.h"
#include "readers/trial.h"
#include "rules/rules.h"

#define RULE_MAX_PARAMS 16

/* Parameter types. */
enum {
    RULE_P_INT = 1,   /* integer; "None" allowed where the default is None (-> unset) */
    RULE_P_DOUBLE,    /* number; "None" -> unset */
    RULE_P_BOOL,      /* True/False/true/false/1/0/yes/no */
    RULE_P_STRING,    /* any text, lists comma-separated; "None" -> unset */
    RULE_P_MODE,      /* TRAIN/EVAL/PREDICT/GLOBAL (any case); "None" -> automatic */
    RULE_P_RANGE      /* "(lo, hi)" or "lo:hi" */
};

typedef struct rule_pdef {
    const char *name;
    int type;
    const char *def;          /* default as text; "None" for none */
    const char *help;         /* one line for --list */
} rule_pdef;

/*
 * The default of parameter param of rule under semantics=smdebug where it differs
 * from the vsim default in its rule_pdef (engine.c keeps the one table); NULL: the same.
 */
VSIM_INTERNAL const char *vsim_rule_smdebug_default(const char *rule, const char *param);

typedef struct rule_pval {
    int set;                  /* 0: None */
    long long i;
    double d, lo, hi;
    char *s;                  /* owned */
} rule_pval;

/* What the engine prepares for a bound tensor at a step (bits). */
enum {
    RULE_NEED_VALUES = 1,     /* full values (the rule reads e->view) */
    RULE_NEED_STATS = 2,      /* vsim_stats (moments, counts); from reductions if no values */
    RULE_NEED_PCT = 4         /* stats with the 5th and 95th percentiles */
};

/*
 * A tensor's values, shared by reference instead of copied. The runner reads a
 * step's tensors into buffers (one reference each, dropped when the step is
 * done); a rule that needs a value at later steps (WeightUpdateRatio's
 * previous weights, UnchangedTensor's last num_steps - 1 values) holds a
 * reference and drops it when it no longer needs it. A buffer nobody holds
 * goes back to the runner's pool and the next read reuses it: no copies, no
 * fresh pages every step. Its bytes are never written while it is held.
 */
typedef struct rule_buf {
    int n_refs;
    int idle;                 /* in the pool: steps it went unused */
    size_t cap_bytes;
    void *data;
    void *map;                /* non-NULL: data lies in this read-only mapping of map_len
                                 bytes (vsim_trial_map), unmapped on the last drop */
    size_t map_len;
    struct rule_buf *next;    /* pool list */
} rule_buf;

/*
 * Buffers nobody holds, kept for reuse. Bounded: a buffer left unused for a
 * whole step is freed (vsim_rule_pool_trim), so the pool holds at most what
 * was released at the end of the last step. Counters are for the summary.
 */
typedef struct rule_pool {
    rule_buf *free;
    size_t n_new;             /* poolable buffers (64 KiB and more) allocated */
    size_t n_got;             /* poolable buffers handed out (new or reused) */
    size_t n_mapped;          /* mappings made */
    size_t live_bytes;        /* bytes of the buffers allocated and not yet freed */
    size_t peak_bytes;
} rule_pool;

/* A buffer of at least n_bytes with one reference: a pooled one if it fits, else new; NULL. */
VSIM_INTERNAL rule_buf *vsim_rule_buf_get(rule_pool *pool, size_t n_bytes);
/* A buffer with one reference over a mapping (map, len) whose values start at data; NULL. */
VSIM_INTERNAL rule_buf *vsim_rule_buf_mapped(rule_pool *pool, void *map, size_t len, void *data);
/* Take one more reference to b; returns b. */
VSIM_INTERNAL rule_buf *vsim_rule_buf_hold(rule_buf *b);
/* Drop a reference (NULL b: nothing); the last one returns b to pool, or frees it if pool
 * is NULL. */
VSIM_INTERNAL void vsim_rule_buf_drop(rule_pool *pool, rule_buf *b);
/* End of a step: free the pooled buffers that went unused for a whole step. */
VSIM_INTERNAL void vsim_rule_pool_trim(rule_pool *pool);
/* Free every pooled buffer (held ones stay with their holders). */
VSIM_INTERNAL void vsim_rule_pool_release(rule_pool *pool);

/* One tensor read at the current step (worker 0). */
typedef struct rule_entry {
    int present;              /* read at this step */
    int has_values;           /* view/buf valid (else only reductions were saved) */
    vsim_tensor view;         /* view.data is buf->data */
    rule_buf *buf;            /* the runner's reference; rules hold more to keep it */
    unsigned red_mask;        /* saved reductions */
    double red[VSIM_N_REDUCTIONS];
    int has_stats;
    vsim_stats st;            /* pct[0], pct[1] = 5th, 95th when asked */
} rule_entry;

typedef struct vsim_rule vsim_rule;
typedef struct rule_ctx rule_ctx;

typedef struct rule_def {
    const char *name;
    const char *summary;      /* meaning, for --list */
    const rule_pdef *params;
    size_t n_params;
    /* After parsing: check combinations, allocate r->state. VSIM_EINVAL with a message. */
    int (*setup)(vsim_rule *r);
    /* Choose tensors (rule_bind_add); called again whenever new tensors appear. */
    int (*bind)(vsim_rule *r, rule_ctx *c);
    /* Evaluate at c->step: emit FIRED verdicts; return a vsim_rule_result or < 0 on error. */
    int (*eval)(vsim_rule *r, rule_ctx *c);
    /* End of data or idle poll (c->step NULL): may emit verdicts; may be NULL. */
    int (*idle)(vsim_rule *r, rule_ctx *c, int final);
    void (*destroy)(vsim_rule *r);
} rule_def;

struct vsim_rule {
    const rule_def *def;
    char name[64];
    rule_pval pv[RULE_MAX_PARAMS];    /* in def->params order */
    void *state;                      /* the family's; freed by def->destroy */
    size_t *tensors;                  /* bound tensor indices */
    unsigned *need;                   /* RULE_NEED_* per bound tensor */
    size_t n_tensors, cap_tensors;
    unsigned modes;                   /* 1 << vsim_mode mask of steps it looks at; 0: all */
    int ended;
    int had_tensors;                  /* some bound tensor was present at some step */
    int fired_before;                 /* actions already ran */
    int smdebug;                      /* semantics=smdebug: smdebug's defaults and algorithm */
    vsim_rule_summary sum;
};

struct vsim_rules {
    vsim_rule **rules;
    size_t n_rules;
    int used;                         /* vsim_rules_run was called */
    int smdebug;                      /* rules added from now on default to semantics=smdebug */
};

/* The context of one evaluation. */
struct rule_ctx {
    vsim_trial *trial;
    const vsim_step_info *step;       /* NULL in idle calls */
    rule_entry *entries;              /* indexed by tensor index; n_entries */
    size_t n_entries;
    int watch;
    double now;                       /* wall clock, seconds since the epoch */
    double last_arrival;              /* watch: when the newest step was first seen */
    int n_threads;
    rule_pool pool;                   /* read buffers nobody holds */
    vsim_rule *rule;                  /* the rule being evaluated */
    vsim_verdict *out;                /* verdicts emitted by the rule at this call */
    size_t n_out, cap_out;
};

/* The table of built-in rules (engine.c gathers the families'). */
extern const rule_def vsim_rules_loss_defs[];
extern const size_t vsim_rules_loss_n;
extern const rule_def vsim_rules_grad_defs[];
extern const size_t vsim_rules_grad_n;
extern const rule_def vsim_rules_tensor_defs[];
extern const size_t vsim_rules_tensor_n;
extern const rule_def vsim_rules_act_defs[];
extern const size_t vsim_rules_act_n;
extern const rule_def vsim_rules_embed_defs[];
extern const size_t vsim_rules_embed_n;

/* Value of parameter name of r (asserted to exist in its definition). */
VSIM_INTERNAL const rule_pval *vsim_rule_p(const vsim_rule *r, const char *name);

/* Emit a verdict of the current rule at the current step (FIRED unless result says otherwise). */
VSIM_INTERNAL int vsim_rule_emit(rule_ctx *c, int result, const char *tensor, int64_t ref_step,
                                 double value, double threshold, const char *fmt, ...)
    VSIM_PRINTF(7, 8);

/* Bind tensor index ti with needs (merged if already bound). */
VSIM_INTERNAL int vsim_rule_bind_add(vsim_rule *r, size_t ti, unsigned need);
/*
 * Bind every tensor in one of the comma-separated collections or matching one
 * of the comma-separated regexes (the union, as smdebug); NULL lists add nothing.
 */
VSIM_INTERNAL int vsim_rule_bind_select(vsim_rule *r, rule_ctx *c, const char *collections,
                                        const char *regexes, unsigned need);
/* The entry of bound tensor k at this step, or NULL if it was not saved here. */
VSIM_INTERNAL const rule_entry *vsim_rule_entry(const rule_ctx *c, const vsim_rule *r, size_t k);
VSIM_INTERNAL const char *vsim_rule_tensor_name(const rule_ctx *c, size_t ti);

/* A scalar's value (first element) of an entry; NaN if none. */
VSIM_INTERNAL double vsim_rule_scalar(const rule_entry *e);

/*
 * Kernels over at least this many elements use the OpenMP team; smaller ones
 * run serially: waking the team costs more than their work, and on a busy
 * machine a worker can wait a whole timeslice for a core.
 */
#define RULE_PAR_MIN_ELEMS 262144

/*
 * Deterministic kernels over two same-shape contiguous tensors (any dtypes;
 * float32 pairs take a vectorised path). Parallel from RULE_PAR_MIN_ELEMS.
 */
VSIM_INTERNAL double vsim_rule_diff_l2(const vsim_tensor *a, const vsim_tensor *b,
                                       int n_threads);
/* numpy.allclose(a, b, rtol, atol, equal_nan): |a - b| <= atol + rtol * |b|. */
VSIM_INTERNAL int vsim_rule_allclose(const vsim_tensor *a, const vsim_tensor *b, double rtol,
                                     double atol, int equal_nan, int n_threads);

/* A (mode step, value) history of a scalar series, for the loss-like rules. */
typedef struct rule_series {
    int64_t *ms;              /* mode steps */
    int64_t *gs;              /* global steps */
    double *v;
    size_t n, cap;
} rule_series;

VSIM_INTERNAL int vsim_rule_series_push(rule_series *s, int64_t ms, int64_t gs, double v);
/* Index of the newest entry with ms <= limit, or -1. */
VSIM_INTERNAL long vsim_rule_series_newest_le(const rule_series *s, int64_t limit);
VSIM_INTERNAL void vsim_rule_series_free(rule_series *s);

/* Bind by the rule's collection_names / tensor_regex, or every tensor when neither is set. */
VSIM_INTERNAL int vsim_rule_bind_default_all(vsim_rule *r, rule_ctx *c, unsigned need);
/* vsim_rule_bind_default_all with the shared statistics: a rule def's bind. */
VSIM_INTERNAL int vsim_rule_bind_stats(vsim_rule *r, rule_ctx *c);

/* A rule's answer for a step: fired if anything fired, else not fired if anything was looked at. */
static inline int vsim_rule_answer(int fired, int evaluated)
{
    return fired ? VSIM_RULE_FIRED : evaluated ? VSIM_RULE_NOT_FIRED : VSIM_RULE_SKIP;
}

#endif
