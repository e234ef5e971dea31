/*
 * samples/fmnist.c - Fashion-MNIST importer: the idx files (big-endian header:
 * magic 0x00000803 images / 0x00000801 labels, then the dimensions) become a
 * vsim dataset with V = 1. Files are read through zlib's gzread, which also
 * reads uncompressed files, so both the Debian .gz files and plain ones work.
 * SPDX-License-Identifier: MIT
 */
#include "samples/dataset.h"

#include <string.h>
#include <zlib.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/mem.h"

#define FM_SIDE 28
#define FM_CLASSES 10

static const char *const CLASS_NAMES[FM_CLASSES] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"
};

/* dir/name.gz if it exists, else dir/name. */
static int find_file(const char *dir, const char *name, vsim_buf *out)
{
    vsim_buf_reset(out);
    if (vsim_buf_addf(out, "%s/%s.gz", dir, name))
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    if (vsim_fs_exists(out->buf))
        return VSIM_OK;
    vsim_buf_reset(out);
    if (vsim_buf_addf(out, "%s/%s", dir, name))
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    if (vsim_fs_exists(out->buf))
        return VSIM_OK;
    return vsim_fail(VSIM_ENOTFOUND, "%s/%s(.gz): not found (is dataset-fashion-mnist "
                     "installed?)", dir, name);
}

static int read_exact(gzFile g, const char *path, void *dst, size_t n_bytes)
{
    unsigned char *p = dst;

    while (n_bytes) {
        unsigned chunk = n_bytes > (1u << 30) ? (1u << 30) : (unsigned)n_bytes;
        int got = gzread(g, p, chunk);

        if (got <= 0)
            return vsim_fail(VSIM_EFORMAT, "%s: truncated or corrupt data", path);
        p += got;
        n_bytes -= (size_t)got;
    }
    return VSIM_OK;
}

/*
 * Read an idx file: magic (0, 0, 0x08, ndim), ndim big-endian counts, then the
 * bytes. Keeps at most limit items (0 = all); *n gets the count kept.
 */
static int read_idx(const char *path, int ndim, size_t limit, uint8_t **data, size_t *n)
{
    unsigned char hdr[16];
    size_t item = 1, count;
    gzFile g = gzopen(path, "rb");
    int rc;

    if (!g)
        return vsim_fail(VSIM_EIO, "%s: cannot open", path);
    rc = read_exact(g, path, hdr, 4 + 4 * (size_t)ndim);
    if (!rc && (hdr[0] || hdr[1] || hdr[2] != 0x08 || hdr[3] != ndim))
        rc = vsim_fail(VSIM_EFORMAT, "%s: not an idx file of unsigned bytes with %d dimensions",
                       path, ndim);
    count = rc ? 0 : (size_t)hdr[4] << 24 | (size_t)hdr[5] << 16 | (size_t)hdr[6] << 8 | hdr[7];
    for (int k = 1; k < ndim && !rc; k++) {
        const unsigned char *d = hdr + 4 + 4 * k;
        size_t v = (size_t)d[0] << 24 | (size_t)d[1] << 16 | (size_t)d[2] << 8 | d[3];

        if (v != FM_SIDE)
            rc = vsim_fail(VSIM_EFORMAT, "%s: image side %zu, want %d", path, v, FM_SIDE);
        item *= v;
    }
    if (!rc && limit && count > limit)
        count = limit;
    if (!rc && !(*data = vsim_mallocarray(count ? count : 1, item)))
        rc = vsim_fail(VSIM_ENOMEM, "out of memory (%zu items)", count);
    if (!rc)
        rc = read_exact(g, path, *data, count * item);
    gzclose(g);
    *n = count;
    return rc;
}

/* One split: its images and labels appended at row `at` of ds (already allocated). */
static int load_split(const char *dir, const char *prefix, size_t limit, uint8_t **img,
                      uint8_t **lab, size_t *n)
{
    vsim_buf path = VSIM_BUF_INIT, name = VSIM_BUF_INIT;
    size_t n_img = 0, n_lab = 0;
    int rc = vsim_buf_addf(&name, "%s-images-idx3-ubyte", prefix) ? VSIM_ENOMEM : VSIM_OK;

    if (!rc)
        rc = find_file(dir, name.buf, &path);
    if (!rc)
        rc = read_idx(path.buf, 3, limit, img, &n_img);
    vsim_buf_reset(&name);
    if (!rc && vsim_buf_addf(&name, "%s-labels-idx1-ubyte", prefix))
        rc = vsim_fail(VSIM_ENOMEM, "out of memory");
    if (!rc)
        rc = find_file(dir, name.buf, &path);
    if (!rc)
        rc = read_idx(path.buf, 1, limit, lab, &n_lab);
    if (!rc && n_img != n_lab)
        rc = vsim_fail(VSIM_EFORMAT, "%s: %zu labels for %zu images", path.buf, n_lab, n_img);
    for (size_t i = 0; i < n_lab && !rc; i++)
        if ((*lab)[i] >= FM_CLASSES)
            rc = vsim_fail(VSIM_EFORMAT, "%s: label %d out of range", path.buf, (*lab)[i]);
    *n = n_img;
    vsim_buf_release(&path);
    vsim_buf_release(&name);
    return rc;
}

int vsim_dataset_fmnist(const char *dir, size_t limit, vsim_dataset *out)
{
    vsim_dataset ds = VSIM_DATASET_INIT;
    uint8_t *img[2] = { NULL, NULL }, *lab[2] = { NULL, NULL };
    size_t n[2] = { 0, 0 }, at = 0, px = FM_SIDE * FM_SIDE;
    int rc = load_split(dir, "train", limit, &img[0], &lab[0], &n[0]);

    if (!rc)
        rc = load_split(dir, "t10k", limit, &img[1], &lab[1], &n[1]);
    if (!rc)
        rc = vsim_dataset_alloc(&ds, n[0] + n[1], 1, FM_SIDE, 0);
    if (!rc && (!(ds.split = vsim_malloc(ds.n ? ds.n : 1)) ||
                !(ds.label_names = vsim_calloc(FM_CLASSES, sizeof(char *)))))
        rc = vsim_fail(VSIM_ENOMEM, "out of memory");
    for (int c = 0; c < FM_CLASSES && !rc; c++) {
        if (!(ds.label_names[c] = vsim_strdup(CLASS_NAMES[c])))
            rc = vsim_fail(VSIM_ENOMEM, "out of memory");
        ds.n_labels++;
    }
    for (int s = 0; s < 2 && !rc; s++)
        for (size_t i = 0; i < n[s]; i++, at++) {
            memcpy(ds.images + at * px, img[s] + i * px, px);
            ds.labels[at] = lab[s][i];
            ds.design_id[at] = (int32_t)at;
            ds.split[at] = (uint8_t)s;
        }
    for (int s = 0; s < 2; s++) {
        vsim_free(img[s]);
        vsim_free(lab[s]);
    }
    ds.source = "fashion-mnist";
    ds.view_mode = "none";
    if (rc)
        vsim_dataset_release(&ds);
    else
        *out = ds;
    return rc;
}
