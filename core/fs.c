/*
 * core/fs.c - atomic writes and folder helpers (see core/fs.h).
 * SPDX-License-Identifier: MIT
 */
#include "core/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/vsim.h"

int vsim_fs_mkdir_p(const char *dir)
{
    char *p = vsim_strdup(dir);
    int rc = VSIM_OK;

    if (!p)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    for (char *s = p + 1; ; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;

            *s = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                rc = vsim_fail(VSIM_EIO, "%s: cannot create folder: %s", p, strerror(errno));
                break;
            }
            *s = c;
            if (c == '\0')
                break;
        }
    }
    if (!rc && !vsim_fs_is_dir(dir))
        rc = vsim_fail(VSIM_EIO, "%s: exists and is not a folder", dir);
    vsim_free(p);
    return rc;
}

int vsim_fs_fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY);
    int rc = VSIM_OK;

    if (fd < 0)
        return vsim_fail(VSIM_EIO, "%s: cannot open for fsync: %s", path, strerror(errno));
    if (fsync(fd) != 0 && errno != EINVAL)
        rc = vsim_fail(VSIM_EIO, "%s: fsync failed: %s", path, strerror(errno));
    close(fd);
    return rc;
}

static int write_all(int fd, const void *data, size_t n_bytes)
{
    const char *p = data;

    while (n_bytes) {
        ssize_t w = write(fd, p, n_bytes);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n_bytes -= (size_t)w;
    }
    return 0;
}

static int fsync_parent(const char *path)
{
    char *dir = vsim_strdup(path);
    char *slash;
    int rc;

    if (!dir)
        return vsim_fail(VSIM_ENOMEM, "out of memory");
    slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    rc = vsim_fs_fsync_path(slash ? dir : ".");
    vsim_free(dir);
    return rc;
}

int vsim_fs_write_atomic(const char *path, const void *data, size_t n_bytes, int durable)
{
    vsim_buf tmp = VSIM_BUF_INIT;
    int fd = -1;
    int rc = vsim_buf_addf(&tmp, "%s.tmp", path);

    if (rc)
        return rc;
    fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        rc = vsim_fail(VSIM_EIO, "%s: cannot create: %s", tmp.buf, strerror(errno));
        goto done;
    }
    if (write_all(fd, data, n_bytes) != 0 || (durable && fsync(fd) != 0)) {
        rc = vsim_fail(VSIM_EIO, "%s: write failed: %s", tmp.buf, strerror(errno));
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = vsim_fail(VSIM_EIO, "%s: close failed: %s", tmp.buf, strerror(errno));
        goto fail;
    }
    fd = -1;
    if (rename(tmp.buf, path) != 0) {
        rc = vsim_fail(VSIM_EIO, "%s: rename failed: %s", path, strerror(errno));
        goto fail;
    }
    if (durable)
        rc = fsync_parent(path);
    goto done;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp.buf);
done:
    vsim_buf_release(&tmp);
    return rc;
}

int vsim_fs_read_file(const char *path, vsim_buf *out)
{
    FILE *f = fopen(path, "rb");
    char chunk[65536];
    size_t n;
    int rc = VSIM_OK;

    if (!f)
        return vsim_fail(errno == ENOENT ? VSIM_ENOTFOUND : VSIM_EIO, "%s: cannot open: %s",
                         path, strerror(errno));
    while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = vsim_buf_add(out, chunk, n);
    if (!rc && ferror(f))
        rc = vsim_fail(VSIM_EIO, "%s: read failed", path);
    fclose(f);
    return rc;
}

int vsim_fs_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

int vsim_fs_is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}
