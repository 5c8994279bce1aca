/* SPDX-License-Identifier: MIT */
/*
 * fileio - bounded reads and atomic replacement of files.
 *
 * write_file_atomic() is the recipe every configuration and state file goes through:
 * O_EXCL temporary file "<dir>/.<name>.XXXXXX" in the target's directory (so rename() is
 * atomic), fchmod to the final mode before any byte is written (secrets are never briefly
 * world-readable), write, fsync, rename, fsync(directory).
 */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backoff.h"

int read_file_bounded(const char *path, size_t max, char **ret_data, size_t *ret_len)
{
        struct stat st;
        char *data = NULL;
        size_t len = 0, cap;
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                goto out;
        }
        if (!S_ISREG(st.st_mode)) {
                r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
                goto out;
        }
        if ((size_t)st.st_size > max) {
                r = -EFBIG;
                goto out;
        }
        cap = (size_t)st.st_size + 1;
        data = malloc(cap + 1);
        if (!data) {
                r = -ENOMEM;
                goto out;
        }
        for (;;) {
                ssize_t n;

                if (len == cap) {
                        /* The file grew while we read it: allow up to max. */
                        char *p;

                        if (cap > max) {
                                r = -EFBIG;
                                goto out;
                        }
                        cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
                        p = realloc(data, cap + 1);
                        if (!p) {
                                r = -ENOMEM;
                                goto out;
                        }
                        data = p;
                }
                n = read(fd, data + len, cap - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto out;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        if (len > max) {
                r = -EFBIG;
                goto out;
        }
        data[len] = '\0';
        *ret_data = data;
        if (ret_len)
                *ret_len = len;
        data = NULL;
        r = 0;
out:
        free(data);
        close(fd);
        return r;
}

int fd_wait(int fd, short events, uint64_t deadline_usec)
{
        for (;;) {
                uint64_t now = now_monotonic_usec();
                struct pollfd p = {.fd = fd, .events = events};
                uint64_t ms;
                int n;

                if (now >= deadline_usec)
                        return -ETIMEDOUT;
                ms = (deadline_usec - now + 999) / 1000;
                n = poll(&p, 1, ms > INT_MAX ? INT_MAX : (int)ms);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n > 0)
                        return 0;
        }
}

int fd_write_all(int fd, const void *data, size_t len)
{
        const char *p = data;

        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

static int fsync_directory_of(const char *path)
{
        char *copy = strdup(path);
        int fd, r = 0;

        if (!copy)
                return -ENOMEM;
        fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0)
                r = -errno;
        if (fd >= 0)
                close(fd);
        free(copy);
        return r;
}

struct staged_file {
        char *tmp_path;
        char *final_path;
        bool committed;
};

struct file_batch {
        struct staged_file *files;
        size_t n_files;
};

struct file_batch *file_batch_new(void)
{
        return calloc(1, sizeof(struct file_batch));
}

static int batch_append(struct file_batch *b, char *tmp_path, const char *final_path)
{
        struct staged_file *files;
        char *final_copy = strdup(final_path);

        files = final_copy ? realloc(b->files, (b->n_files + 1) * sizeof *files) : NULL;
        if (!files) {
                free(final_copy);
                return -ENOMEM;
        }
        b->files = files;
        files[b->n_files++] = (struct staged_file){tmp_path, final_copy, false};
        /* cppcheck-suppress memleak ; final_copy is owned by b->files now (file_batch_free) */
        return 0;
}

/* temp_path_for - "<dir>/.<name>.XXXXXX" beside path */
static char *temp_path_for(const char *path)
{
        char *dir_copy = strdup(path), *base_copy = strdup(path), *tmp = NULL;

        if (dir_copy && base_copy &&
            asprintf(&tmp, "%s/.%s.XXXXXX", dirname(dir_copy), basename(base_copy)) < 0)
                tmp = NULL;
        free(dir_copy);
        free(base_copy);
        return tmp;
}

int file_batch_stage(struct file_batch *b, const char *final_path, const void *data, size_t len,
                     mode_t mode, const char **ret_tmp_path)
{
        char *tmp = temp_path_for(final_path);
        int fd, r;

        if (!tmp)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                free(tmp);
                return r;
        }
        /* The final mode before the first byte: a secret is never briefly readable. */
        r = fchmod(fd, mode) < 0 ? -errno : 0;
        if (r >= 0)
                r = fd_write_all(fd, data, len);
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r >= 0)
                r = -errno;
        if (r >= 0)
                r = batch_append(b, tmp, final_path);
        if (r < 0) {
                (void)unlink(tmp);
                free(tmp);
                return r;
        }
        if (ret_tmp_path)
                *ret_tmp_path = tmp;
        return 0;
}

int file_batch_adopt(struct file_batch *b, const char *tmp_path, const char *final_path)
{
        char *copy;
        int fd, r;

        fd = open(tmp_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = fsync(fd) < 0 ? -errno : 0;
        close(fd);
        if (r < 0)
                return r;
        copy = strdup(tmp_path);
        if (!copy)
                return -ENOMEM;
        r = batch_append(b, copy, final_path);
        if (r < 0)
                free(copy);
        return r;
}

int file_batch_commit(struct file_batch *b)
{
        int r = 0;

        for (size_t i = 0; i < b->n_files; i++) {
                if (rename(b->files[i].tmp_path, b->files[i].final_path) < 0)
                        return -errno;
                b->files[i].committed = true;
        }
        for (size_t i = 0; i < b->n_files; i++) {
                bool seen = false;

                /* one fsync per directory */
                for (size_t j = 0; j < i; j++) {
                        char *a = strdup(b->files[i].final_path),
                             *c = strdup(b->files[j].final_path);

                        if (a && c && strcmp(dirname(a), dirname(c)) == 0)
                                seen = true;
                        free(a);
                        free(c);
                }
                if (!seen) {
                        int q = fsync_directory_of(b->files[i].final_path);

                        if (q < 0 && r == 0)
                                r = q;
                }
        }
        return r;
}

struct file_batch *file_batch_free(struct file_batch *b)
{
        if (!b)
                return NULL;
        for (size_t i = 0; i < b->n_files; i++) {
                if (!b->files[i].committed)
                        (void)unlink(b->files[i].tmp_path);
                free(b->files[i].tmp_path);
                free(b->files[i].final_path);
        }
        free(b->files);
        free(b);
        return NULL;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
        struct file_batch *b = file_batch_new();
        int r;

        if (!b)
                return -ENOMEM;
        r = file_batch_stage(b, path, data, len, mode, NULL);
        if (r >= 0)
                r = file_batch_commit(b);
        file_batch_free(b);
        return r;
}

char *path_under_root(const char *root, const char *path)
{
        char *p;

        if (!root || !*root || strcmp(root, "/") == 0 || path[0] != '/')
                return strdup(path);
        if (asprintf(&p, "%s%s", root, path) < 0)
                return NULL;
        return p;
}
