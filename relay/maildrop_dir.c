/* SPDX-License-Identifier: MIT */
/*
 * maildrop_dir - the maildrop directory and the one way files get into it (see maildrop_dir.h):
 * tmp name, write, fsync, rename without replacing, then the directory entry made durable.
 * SECURITY: used by the setgid postdrop helper on behalf of any local user: every open is
 * relative to a checked directory descriptor, O_EXCL|O_NOFOLLOW, and nothing is ever read.
 */
#include "maildrop_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

int maildrop_new_name(char name[static MAILDROP_NAME_LEN + 1])
{
        static const char hex[] = "0123456789abcdef";
        unsigned char bytes[MAILDROP_NAME_LEN / 2];
        size_t got = 0;

        while (got < sizeof bytes) {
                ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                got += (size_t)n;
        }
        for (size_t i = 0; i < sizeof bytes; i++) {
                name[2 * i] = hex[bytes[i] >> 4];
                name[2 * i + 1] = hex[bytes[i] & 15];
        }
        name[MAILDROP_NAME_LEN] = '\0';
        return 0;
}

bool maildrop_name_is_message(const char *name)
{
        return strlen(name) == MAILDROP_NAME_LEN &&
               strspn(name, "0123456789abcdef") == MAILDROP_NAME_LEN;
}

bool maildrop_name_is_temp(const char *name)
{
        size_t p = strlen(MAILDROP_TEMP_PREFIX);

        return strncmp(name, MAILDROP_TEMP_PREFIX, p) == 0 && maildrop_name_is_message(name + p);
}

int maildrop_store(int dir_fd, const char *name, const void *data, size_t len)
{
        char tmp[sizeof MAILDROP_TEMP_PREFIX + MAILDROP_NAME_LEN];
        struct stat dst, fst;
        int fd, r, dfd;

        if (!maildrop_name_is_message(name))
                return -EINVAL;
        (void)snprintf(tmp, sizeof tmp, "%s%s", MAILDROP_TEMP_PREFIX, name);
        fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    MAILDROP_FILE_MODE);
        if (fd < 0)
                return -errno;
        /* the mode must not depend on the caller's umask, and the group should be the
         * directory's (root writing directly has its own): the relay reads through it. When
         * the chown is not allowed, the writer is the directory's owner, whom the relay is. */
        r = fchmod(fd, MAILDROP_FILE_MODE) < 0 ? -errno : 0;
        if (r >= 0 && fstat(dir_fd, &dst) == 0 && fstat(fd, &fst) == 0 && fst.st_gid != dst.st_gid)
                (void)!fchown(fd, (uid_t)-1, dst.st_gid);
        if (r >= 0)
                r = fd_write_all(fd, data, len);
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && renameat2(dir_fd, tmp, dir_fd, name, RENAME_NOREPLACE) < 0)
                r = -errno;
        if (r < 0) {
                (void)unlinkat(dir_fd, tmp, 0);
                close(fd);
                return r;
        }
        dfd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
                r = fsync(dfd) < 0 ? -errno : 0;
                close(dfd);
        } else {
                /* XXX: no read permission on the directory (postdrop): one syncfs instead */
                r = syncfs(fd) < 0 ? -errno : 0;
        }
        close(fd);
        return r;
}

int maildrop_dir_check(int dir_fd, uid_t uid, gid_t gid)
{
        struct stat st;
        mode_t mode;

        if (fstat(dir_fd, &st) < 0)
                return -errno;
        mode = st.st_mode & 07777;
        if (!S_ISDIR(st.st_mode) || st.st_gid != gid || !(mode & S_ISVTX) ||
            (mode & (S_IWGRP | S_IXGRP)) != (S_IWGRP | S_IXGRP) || (mode & S_IRWXO) != 0)
                return -EPERM;
        if (uid != 0 && st.st_uid == uid)
                return -EPERM;
        return 0;
}

/* open_spool_to_group - the postdrop helper (effective group `group`) must pass through the
 * spool directory to reach the maildrop: group `group`, mode 0710 (search, no listing). The
 * owner may do this itself when it is in that group (SupplementaryGroups=), root always. */
static void open_spool_to_group(int spool_fd, gid_t group)
{
        struct stat st;

        if (group == (gid_t)-1 || fstat(spool_fd, &st) < 0)
                return;
        if (st.st_gid != group && fchown(spool_fd, (uid_t)-1, group) < 0)
                return;
        if ((st.st_mode & S_IXGRP) == 0)
                (void)fchmod(spool_fd, (st.st_mode & 07777) | S_IXGRP);
}

int maildrop_dir_prepare(int spool_fd, uid_t owner, gid_t group, int *ret_fd)
{
        struct stat st;
        int fd;

        open_spool_to_group(spool_fd, group);

        if (mkdirat(spool_fd, MAILDROP_DIR_NAME, MAILDROP_DIR_MODE) < 0 && errno != EEXIST)
                return -errno;
        fd = openat(spool_fd, MAILDROP_DIR_NAME, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                int r = -errno;

                close(fd);
                return r;
        }
        if (group == (gid_t)-1)
                group = st.st_gid;
        if (geteuid() == 0 && (st.st_uid != owner || st.st_gid != group) &&
            fchown(fd, owner, group) < 0) {
                int r = -errno;

                close(fd);
                return r;
        }
        /* not root: the owner may still hand it to a group it is in (SupplementaryGroups=) */
        if (geteuid() != 0 && st.st_gid != group)
                (void)!fchown(fd, (uid_t)-1, group); /* else pickup's errors say what is wrong */
        /* mkdir's mode went through the umask, and fchown clears nothing on directories */
        if ((st.st_mode & 07777) != MAILDROP_DIR_MODE && (geteuid() == 0 || st.st_uid == geteuid()))
                (void)fchmod(fd, MAILDROP_DIR_MODE);
        *ret_fd = fd;
        return 0;
}
