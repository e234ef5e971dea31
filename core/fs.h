/*
 * core/fs.h - small filesystem helpers: atomic whole-file writes (temporary
 * name in the same folder, fsync, rename, fsync of the folder), mkdir -p.
 * SPDX-License-Identifier: MIT
 */
#ifndef VSIM_CORE_FS_H
#define VSIM_CORE_FS_H

#include <stddef.h>

#include "core/buf.h"

/* Create dir and its parents (mode 0777 & ~umask). VSIM_OK if it exists. */
int vsim_fs_mkdir_p(const char *dir);
/*
 * Write data to path atomically: path.tmp is written, flushed (fsync when
 * durable), and renamed over path; the folder is fsynced when durable.
 */
int vsim_fs_write_atomic(const char *path, const void *data, size_t n_bytes, int durable);
/* fsync a file or folder by path. */
int vsim_fs_fsync_path(const char *path);
/* Read a whole file into out (appended). Errors name the path. */
int vsim_fs_read_file(const char *path, vsim_buf *out);
/* 1 if path exists (any type), 0 otherwise. */
int vsim_fs_exists(const char *path);
/* 1 if path is a directory. */
int vsim_fs_is_dir(const char *path);

#endif
