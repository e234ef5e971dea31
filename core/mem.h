/*
 * core/mem.h - checked allocation with a fault-injection hook (Lua's
 * l_memcontrol, SQLite's faultsim) and a simple arena for long-lived runs.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_CORE_MEM_H
#define VSIM_CORE_MEM_H

#include <stddef.h>

/* Like malloc/calloc/realloc, but may be made to fail (vsim_mem_fail_after). */
void *vsim_malloc(size_t n_bytes);
void *vsim_calloc(size_t n_elems, size_t elem_bytes);
void *vsim_realloc(void *p, size_t n_bytes);
/* Multiply n_elems * elem_bytes with overflow check and allocate; NULL on overflow. */
void *vsim_mallocarray(size_t n_elems, size_t elem_bytes);
void *vsim_reallocarray(void *p, size_t n_elems, size_t elem_bytes);
/*
 * Make the array *p (capacity *cap elements of elem_bytes) hold at least need
 * elements, doubling (from 16); VSIM_OK or VSIM_ENOMEM (the array untouched).
 */
int vsim_grow(void **p, size_t *cap, size_t need, size_t elem_bytes);
char *vsim_strdup(const char *s);
char *vsim_strndup(const char *s, size_t n);
void vsim_free(void *p);

/*
 * Make the n-th allocation from now (1-based) and every later one fail;
 * n = 0 disables. Process-wide; for tests only.
 */
void vsim_mem_fail_after(long n);
/* Number of allocations that were made to fail since the last vsim_mem_fail_after. */
long vsim_mem_n_failed(void);

/* Arena: bump allocator whose blocks are freed together. */
typedef struct vsim_arena {
    struct vsim_arena_block *head;
    size_t block_bytes;      /* default block size */
} vsim_arena;

#define VSIM_ARENA_INIT { NULL, 0 }

/* 16-byte aligned memory from the arena, or NULL (out of memory). */
void *vsim_arena_alloc(vsim_arena *a, size_t n_bytes);
char *vsim_arena_strdup(vsim_arena *a, const char *s);
/* Free all blocks; the arena is reusable afterwards. */
void vsim_arena_release(vsim_arena *a);

#endif
