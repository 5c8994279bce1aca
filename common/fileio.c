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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static int write_all(int fd, const void *data, size_t len)
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
        if (fd < 0)
                r = -errno;
        else if (fsync(fd) < 0)
                r = -errno;
        if (fd >= 0)
                close(fd);
        free(copy);
        return r;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
        char *dir_copy = NULL, *base_copy = NULL, *tmp = NULL;
        int fd = -1, r;

        dir_copy = strdup(path);
        base_copy = strdup(path);
        if (!dir_copy || !base_copy) {
                r = -ENOMEM;
                goto out;
        }
        if (asprintf(&tmp, "%s/.%s.XXXXXX", dirname(dir_copy), basename(base_copy)) < 0) {
                tmp = NULL;
                r = -ENOMEM;
                goto out;
        }
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                free(tmp);
                tmp = NULL;
                goto out;
        }
        if (fchmod(fd, mode) < 0) {
                r = -errno;
                goto out;
        }
        r = write_all(fd, data, len);
        if (r < 0)
                goto out;
        if (fsync(fd) < 0) {
                r = -errno;
                goto out;
        }
        if (close(fd) < 0) {
                fd = -1;
                r = -errno;
                goto out;
        }
        fd = -1;
        if (rename(tmp, path) < 0) {
                r = -errno;
                goto out;
        }
        free(tmp);
        tmp = NULL;
        r = fsync_directory_of(path);
out:
        if (fd >= 0)
                close(fd);
        if (tmp) {
                (void)unlink(tmp);
                free(tmp);
        }
        free(dir_copy);
        free(base_copy);
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
