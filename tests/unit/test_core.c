/*
 * tests/unit/test_core.c - core: errors, buffers, RNG, tensors, allocation faults, fs.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "core/vsim.h"
#include "tests/vt.h"

static void test_errors(void)
{
    int rc = vsim_fail(VSIM_EFORMAT, "%s: bad %d", "f.h5", 3);

    VT_CHECK(rc == VSIM_EFORMAT, "fail returns status");
    VT_CHECK(!strcmp(vsim_errmsg(), "f.h5: bad 3"), "message formatted");
    rc = vsim_errctx("reading %s", "run");
    VT_CHECK(rc == VSIM_EFORMAT, "errctx keeps status");
    VT_CHECK(!strcmp(vsim_errmsg(), "reading run: f.h5: bad 3"), "context prefixed");
    VT_CHECK(!strcmp(vsim_strstatus(VSIM_ENUMERIC), "numerical failure"), "strstatus");
}

static void test_grow(void)
{
    int *a = NULL;
    size_t cap = 0;

    VT_CHECK(vsim_grow((void **)&a, &cap, 1, sizeof(*a)) == VSIM_OK && cap == 16, "first: 16");
    a[15] = 7;
    VT_CHECK(vsim_grow((void **)&a, &cap, 16, sizeof(*a)) == VSIM_OK && cap == 16, "enough: kept");
    VT_CHECK(vsim_grow((void **)&a, &cap, 100, sizeof(*a)) == VSIM_OK && cap == 128 &&
             a[15] == 7, "doubled past the need, contents kept");
    VT_CHECK(vsim_grow((void **)&a, &cap, SIZE_MAX / 2, sizeof(*a)) == VSIM_ENOMEM &&
             cap == 128 && a[15] == 7, "too large: ENOMEM, array untouched");
    VT_CHECK(vsim_grow((void **)&a, &cap, SIZE_MAX, 1) == VSIM_ENOMEM && cap == 128,
             "no endless doubling past SIZE_MAX");
    vsim_free(a);
}

static void test_list_has(void)
{
    VT_CHECK(vsim_list_has("a,bb,c", "bb", 2) && vsim_list_has("a,bb,c", "c", 1) &&
             vsim_list_has("a", "a", 1), "list holds its items");
    VT_CHECK(!vsim_list_has("a,bb,c", "b", 1) && !vsim_list_has("a,bb,c", "bbx", 3) &&
             !vsim_list_has("", "a", 1) && vsim_list_has("a,bb,c", "bbx", 2),
             "no prefixes, no empty list; item length counts");
}

static void test_buf(void)
{
    vsim_buf b = VSIM_BUF_INIT;
    char *s;
    size_t len;

    VT_CHECK(b.buf[0] == '\0' && b.len == 0, "empty buffer is a string");
    vsim_buf_addf(&b, "%d-%s", 42, "x");
    vsim_buf_addch(&b, '!');
    VT_CHECK(!strcmp(b.buf, "42-x!"), "addf/addch");
    vsim_buf_reset(&b);
    vsim_buf_add_json_str(&b, "a\"b\\c\n\x01");
    VT_CHECK(!strcmp(b.buf, "\"a\\\"b\\\\c\\n\\u0001\""), "json escaping");
    for (int i = 0; i < 1000; i++)
        vsim_buf_adds(&b, "0123456789");
    VT_CHECK(b.len == 10000 + 17, "growth keeps length");
    s = vsim_buf_detach(&b, &len);
    VT_CHECK(len == 10017 && strlen(s) == len, "detach");
    VT_CHECK(b.buf[0] == '\0' && b.alloc == 0, "detached buffer re-initialised");
    vsim_free(s);
}

static void test_rng(void)
{
    vsim_rng a, b, c;
    double sum = 0, sum2 = 0;
    int same = 1;
    const int n = 200000;

    vsim_rng_seed(&a, 7, 0);
    vsim_rng_seed(&b, 7, 0);
    vsim_rng_seed(&c, 7, 1);
    for (int i = 0; i < 100; i++) {
        uint64_t x = vsim_rng_u64(&a);

        same &= x == vsim_rng_u64(&b);
        VT_CHECK(i > 0 || x != vsim_rng_u64(&c), "streams differ");
    }
    VT_CHECK(same, "same seed, same stream");
    for (int i = 0; i < n; i++) {
        double z = vsim_rng_normal(&a);

        sum += z;
        sum2 += z * z;
    }
    VT_NEAR(sum / n, 0.0, 0.01, "normal mean");
    VT_NEAR(sum2 / n, 1.0, 0.02, "normal variance");
    for (int i = 0; i < 1000; i++)
        VT_CHECK(vsim_rng_below(&a, 7) < 7, "below in range");
}

static void test_tensor(void)
{
    float data[6] = { 0, 1, 2, 3, 4, 5 };
    size_t shape[2] = { 2, 3 };
    vsim_tensor t;

    vsim_tensor_init(&t, VSIM_F32, 2, shape, data);
    VT_CHECK(vsim_tensor_n_elems(&t) == 6, "n_elems");
    VT_CHECK(t.stride[0] == 3 && t.stride[1] == 1, "row-major strides");
    VT_CHECK(vsim_tensor_is_contiguous(&t), "contiguous");
    /* transpose view */
    t.shape[0] = 3; t.shape[1] = 2; t.stride[0] = 1; t.stride[1] = 3;
    VT_CHECK(!vsim_tensor_is_contiguous(&t), "transpose not contiguous");
    VT_NEAR(vsim_tensor_get(&t, 1), 3.0, 0, "strided get");
    VT_CHECK(vsim_dtype_parse("int64") == VSIM_I64, "dtype parse");
    VT_CHECK(vsim_dtype_size(VSIM_U8) == 1 && vsim_dtype_size(VSIM_F64) == 8, "dtype size");
}

static void test_mem_faults(void)
{
    vsim_arena a = VSIM_ARENA_INIT;
    void *p;

    vsim_mem_fail_after(2);
    p = vsim_malloc(10);
    VT_CHECK(p != NULL, "first allocation succeeds");
    VT_CHECK(vsim_malloc(10) == NULL, "second allocation fails");
    VT_CHECK(vsim_mem_n_failed() == 1, "failure counted");
    vsim_mem_fail_after(0);
    vsim_free(p);
    VT_CHECK(vsim_mallocarray(SIZE_MAX / 2, 4) == NULL, "overflow refused");
    for (int i = 0; i < 1000; i++) {
        char *s = vsim_arena_strdup(&a, "hello arena");

        VT_CHECK(s && ((uintptr_t)s & 15) == 0, "arena aligned");
    }
    vsim_arena_release(&a);
}

static void test_fs(void)
{
    char dir[] = "/tmp/vsim-test-core.XXXXXX";
    vsim_buf path = VSIM_BUF_INIT, got = VSIM_BUF_INIT;

    VT_CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    vsim_buf_addf(&path, "%s/a/b/c", dir);
    VT_CHECK(vsim_fs_mkdir_p(path.buf) == VSIM_OK && vsim_fs_is_dir(path.buf), "mkdir -p");
    vsim_buf_adds(&path, "/f.txt");
    VT_CHECK(vsim_fs_write_atomic(path.buf, "data", 4, 1) == VSIM_OK, "atomic write");
    VT_CHECK(vsim_fs_read_file(path.buf, &got) == VSIM_OK && !strcmp(got.buf, "data"),
             "read back");
    vsim_buf_adds(&path, ".tmp");
    VT_CHECK(!vsim_fs_exists(path.buf), "no temporary left");
    VT_CHECK(vsim_fs_read_file("/nonexistent/x", &got) == VSIM_ENOTFOUND, "missing file");
    VT_CHECK(strstr(vsim_errmsg(), "/nonexistent/x") != NULL, "error names the file");
    vsim_buf_release(&path);
    vsim_buf_release(&got);
    {
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        VT_CHECK(system(cmd) == 0, "cleanup");
    }
}

int main(void)
{
    test_list_has();
    test_grow();
    test_errors();
    test_buf();
    test_rng();
    test_tensor();
    test_mem_faults();
    test_fs();
    return VT_REPORT("core");
}
