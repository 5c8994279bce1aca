/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* read_file_bounded - read a whole regular file of at most max bytes into a NUL-terminated
 * buffer (caller frees). Returns 0, -EFBIG when the file is larger than max, or -errno. */
int read_file_bounded(const char *path, size_t max, char **ret_data, size_t *ret_len);

/* write_file_atomic - replace path with data: a temporary file in the same directory created
 * with O_EXCL and the given mode, written, fsynced, renamed over path, then the directory is
 * fsynced. On failure the previous file is untouched and the temporary file removed.
 * Returns 0 or -errno. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* path_under_root - root + path when root is set and not "/", else a copy of path (caller
 * frees; NULL on ENOMEM). The path's contents still name paths as they are inside the root. */
char *path_under_root(const char *root, const char *path);
