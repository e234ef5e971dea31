/*
 * core/mem.c - checked allocation, fault injection and arenas.
 * SPDX-License-Identifier: MIT
 */
#include "core/mem.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/vsim.h"

static atomic_long fail_after;   /* 0: never fail */
static atomic_long n_calls;
static atomic_long n_failed;

void vsim_mem_fail_after(long n)
{
    atomic_store(&n_calls, 0);
    atomic_store(&n_failed, 0);
    atomic_store(&fail_after, n);
}

long vsim_mem_n_failed(void)
{
    return atomic_load(&n_failed);
}

static int should_fail(void)
{
    long limit = atomic_load(&fail_after);

    if (limit <= 0)
        return 0;
    if (atomic_fetch_add(&n_calls, 1) + 1 >= limit) {
        atomic_fetch_add(&n_failed, 1);
        return 1;
    }
    return 0;
}

void *vsim_malloc(size_t n_bytes)
{
    if (should_fail())
        return NULL;
    return malloc(n_bytes ? n_bytes : 1);
}

void *vsim_calloc(size_t n_elems, size_t elem_bytes)
{
    if (should_fail())
        return NULL;
    if (n_elems == 0 || elem_bytes == 0)
        return calloc(1, 1);
    return calloc(n_elems, elem_bytes);
}

void *vsim_realloc(void *p, size_t n_bytes)
{
    if (should_fail())
        return NULL;
    return realloc(p, n_bytes ? n_bytes : 1);
}

void *vsim_mallocarray(size_t n_elems, size_t elem_bytes)
{
    if (elem_bytes && n_elems > SIZE_MAX / elem_bytes)
        return NULL;
    return vsim_malloc(n_elems * elem_bytes);
}

void *vsim_reallocarray(void *p, size_t n_elems, size_t elem_bytes)
{
    if (elem_bytes && n_elems > SIZE_MAX / elem_bytes)
        return NULL;
    return vsim_realloc(p, n_elems * elem_bytes);
}

int vsim_grow(void **p, size_t *cap, size_t need, size_t elem_bytes)
{
    size_t n;
    void *q;

    if (need <= *cap)
        return VSIM_OK;
    if (need > SIZE_MAX / 2 || (elem_bytes && need > SIZE_MAX / 2 / elem_bytes))
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    n = *cap ? *cap * 2 : 16;
    while (n < need)
        n *= 2;
    q = vsim_reallocarray(*p, n, elem_bytes);
    if (!q)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    *p = q;
    *cap = n;
    return VSIM_OK;
}

char *vsim_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = vsim_malloc(len + 1);

    if (!d)
        return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

char *vsim_strdup(const char *s)
{
    return vsim_strndup(s, SIZE_MAX);
}

void vsim_free(void *p)
{
    free(p);
}

struct vsim_arena_block {
    struct vsim_arena_block *next;
    size_t used_bytes;
    size_t cap_bytes;
    _Alignas(16) unsigned char data[];
};

void *vsim_arena_alloc(vsim_arena *a, size_t n_bytes)
{
    struct vsim_arena_block *b = a->head;
    size_t need = (n_bytes + 15) & ~(size_t)15;

    if (!b || b->cap_bytes - b->used_bytes < need) {
        size_t cap = a->block_bytes ? a->block_bytes : 64 * 1024;

        if (cap < need)
            cap = need;
        b = vsim_malloc(sizeof(*b) + cap);
        if (!b)
            return NULL;
        b->next = a->head;
        b->used_bytes = 0;
        b->cap_bytes = cap;
        a->head = b;
    }
    b->used_bytes += need;
    return b->data + b->used_bytes - need;
}

char *vsim_arena_strdup(vsim_arena *a, const char *s)
{
    size_t len = strlen(s);
    char *d = vsim_arena_alloc(a, len + 1);

    if (d)
        memcpy(d, s, len + 1);
    return d;
}

void vsim_arena_release(vsim_arena *a)
{
    struct vsim_arena_block *b = a->head;

    while (b) {
        struct vsim_arena_block *next = b->next;

        free(b);
        b = next;
    }
    a->head = NULL;
}
