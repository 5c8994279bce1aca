/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* read_file_bounded - read a whole regular file of at most max bytes into a NUL-terminated
 * buffer (caller frees). Returns 0, -EFBIG when the file is larger than max, or -errno. */
int read_file_bounded(const char *path, size_t max, char **ret_data, size_t *ret_len);

/* fd_write_all - write len bytes, retrying on EINTR and short writes. 0 or -errno. */
int fd_write_all(int fd, const void *data, size_t len);

/* fd_wait - poll fd for events until deadline_usec (CLOCK_MONOTONIC, see now_monotonic_usec):
 * 0 when ready (or in error: the next I/O call tells which), -ETIMEDOUT, or -errno. */
int fd_wait(int fd, short events, uint64_t deadline_usec);

/* write_file_atomic - replace path with data: a temporary file in the same directory created
 * with O_EXCL and the given mode, written, fsynced, renamed over path, then the directory is
 * fsynced. On failure the previous file is untouched and the temporary file removed.
 * Returns 0 or -errno. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* A set of files replaced together: each is staged as a temporary file in its target's
 * directory (written and fsynced), then file_batch_commit() renames them all and fsyncs the
 * directories. A failure before the commit leaves every target as it was; freeing an
 * uncommitted batch removes its temporary files. */
struct file_batch;

struct file_batch *file_batch_new(void);

/* file_batch_stage - write data to a new temporary file beside final_path with mode, fsync it.
 * *ret_tmp_path (may be NULL) is the temporary name, borrowed until the batch is freed.
 * Returns 0 or -errno (-ENOSPC, -EACCES...). */
int file_batch_stage(struct file_batch *b, const char *final_path, const void *data, size_t len,
                     mode_t mode, const char **ret_tmp_path);

/* file_batch_adopt - include a file another program made from a staged one (postmap's
 * "<tmp>.db"): it is fsynced now and renamed to final_path at commit. Returns 0 or -errno. */
int file_batch_adopt(struct file_batch *b, const char *tmp_path, const char *final_path);

/* file_batch_commit - rename every staged file into place, in staging order, then fsync each
 * directory. Returns 0 or the first -errno (files renamed before it stay renamed). */
int file_batch_commit(struct file_batch *b);

/* file_batch_free - NULL-tolerant; removes temporary files not committed. */
struct file_batch *file_batch_free(struct file_batch *b);

/* path_under_root - root + path when root is set and not "/", else a copy of path (caller
 * frees; NULL on ENOMEM). The path's contents still name paths as they are inside the root. */
char *path_under_root(const char *root, const char *path);
