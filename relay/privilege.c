/* SPDX-License-Identifier: MIT */
/*
 * privilege - the relay's one-way switch from root to mail_owner (Postfix's master starts as
 * root and its smtpd runs as mail_owner; here one process binds first, then switches).
 *
 * Order: look the user and group up (while /etc/passwd is readable), give the spool to the
 * user, bind the listeners and read the root-only files (done by relay.c), then drop:
 * setgroups, setgid, setuid (real, effective and saved ids, so it cannot be undone), then
 * PR_SET_NO_NEW_PRIVS and the bounding and ambient capability sets cleared, so that nothing
 * exec'd later can gain privileges either. capget() and a setuid(0) attempt verify it.
 *
 * SECURITY: the spool is walked with *at() calls and AT_SYMLINK_NOFOLLOW / O_NOFOLLOW, one
 * level below spool_dir only, so a link planted in the spool cannot make root chown a file
 * elsewhere. Files in maildrop keep their owners: the owner is the submitter's identity.
 */
#include "privilege.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAILDROP_NAME "maildrop"
#define MAILDROP_MODE (S_ISVTX | 0730)

static int fail(char *why, size_t why_size, int r, const char *format, ...)
        __attribute__((format(printf, 4, 5)));

static int fail(char *why, size_t why_size, int r, const char *format, ...)
{
        va_list ap;

        va_start(ap, format);
        (void)vsnprintf(why, why_size, format, ap);
        va_end(ap);
        return r;
}

int privilege_lookup(const char *mail_owner, const char *setgid_group, struct relay_identity *ret,
                     char *why, size_t why_size)
{
        struct relay_identity id = {0};
        struct passwd *pw;
        struct group *gr;

        errno = 0;
        pw = getpwnam(mail_owner);
        if (!pw)
                return fail(
                        why, why_size, errno ? -errno : -ENOENT,
                        "mail_owner: user '%s' does not exist; create it (the packages' sysusers.d does) or set mail_owner to the relay's user",
                        mail_owner);
        if (pw->pw_uid == 0 || pw->pw_gid == 0)
                return fail(
                        why, why_size, -EPERM,
                        "mail_owner: user '%s' is root or in group root; the relay does not talk SMTP as root",
                        mail_owner);
        id.uid = pw->pw_uid;
        id.gid = pw->pw_gid;
        (void)snprintf(id.user, sizeof id.user, "%s", mail_owner);
        errno = 0;
        gr = getgrnam(setgid_group);
        if (gr && gr->gr_gid != 0) {
                id.drop_gid = gr->gr_gid;
                id.have_drop_group = true;
                (void)snprintf(id.group, sizeof id.group, "%s", setgid_group);
        }
        *ret = id;
        return 0;
}

/* give_entry - chown one entry of dir_fd to the user when it is a directory or a regular file
 * (never through a symbolic link) */
static int give_entry(int dir_fd, const char *name, const struct relay_identity *id,
                      bool *ret_is_dir)
{
        struct stat st;

        *ret_is_dir = false;
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
                return 0;
        *ret_is_dir = S_ISDIR(st.st_mode);
        if (st.st_uid == id->uid && st.st_gid == id->gid)
                return 0;
        if (fchownat(dir_fd, name, id->uid, id->gid, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        return 0;
}

/* give_directory - the files of the subdirectory name of spool_fd to the user */
static int give_directory(int spool_fd, const char *name, const struct relay_identity *id)
{
        int fd = openat(spool_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct dirent *de;
        DIR *d;
        int r = 0;

        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                close(fd);
                return r;
        }
        while ((de = readdir(d))) {
                bool is_dir;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                r = give_entry(dirfd(d), de->d_name, id, &is_dir);
                if (r < 0)
                        break;
        }
        closedir(d);
        return r;
}

/* prepare_maildrop - owner the user, group setgid_group, 1730 (Postfix's maildrop) */
static int prepare_maildrop(int spool_fd, const struct relay_identity *id)
{
        struct stat st;
        int fd, r = 0;

        if (mkdirat(spool_fd, MAILDROP_NAME, 0700) < 0 && errno != EEXIST)
                return -errno;
        fd = openat(spool_fd, MAILDROP_NAME, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 ||
            ((st.st_uid != id->uid || st.st_gid != id->drop_gid) &&
             fchown(fd, id->uid, id->drop_gid) < 0) ||
            ((st.st_mode & 07777) != MAILDROP_MODE && fchmod(fd, MAILDROP_MODE) < 0))
                r = -errno;
        close(fd);
        return r;
}

int privilege_prepare_spool(const char *spool_dir, const struct relay_identity *id, char *why,
                            size_t why_size)
{
        struct dirent *de;
        struct stat st;
        mode_t spool_mode;
        gid_t spool_gid;
        DIR *d;
        int fd, r = 0;

        if (mkdir(spool_dir, 0700) < 0 && errno != EEXIST)
                return fail(why, why_size, -errno, "cannot create %s: %s", spool_dir,
                            strerror(errno));
        fd = open(spool_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0) {
                r = -errno;
                if (fd >= 0)
                        close(fd);
                return fail(why, why_size, r, "cannot open %s: %s", spool_dir, strerror(-r));
        }
        /* with a maildrop group, that group may pass through (0710) to reach the maildrop, as
         * maildrop_dir.h sets out; nobody else may enter */
        spool_gid = id->have_drop_group ? id->drop_gid : id->gid;
        spool_mode = id->have_drop_group ? 0710 : 0700;
        if (((st.st_uid != id->uid || st.st_gid != spool_gid) &&
             fchown(fd, id->uid, spool_gid) < 0) ||
            ((st.st_mode & 07777) != spool_mode && fchmod(fd, spool_mode) < 0)) {
                r = -errno;
                close(fd);
                return fail(why, why_size, r, "cannot give %s to %s: %s", spool_dir, id->user,
                            strerror(-r));
        }
        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                close(fd);
                return fail(why, why_size, r, "cannot read %s: %s", spool_dir, strerror(-r));
        }
        while ((de = readdir(d))) {
                bool is_dir;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (strcmp(de->d_name, MAILDROP_NAME) == 0)
                        continue; /* below, with its own owner, group and mode */
                r = give_entry(dirfd(d), de->d_name, id, &is_dir);
                if (r >= 0 && is_dir)
                        r = give_directory(dirfd(d), de->d_name, id);
                if (r < 0) {
                        (void)fail(why, why_size, r, "cannot give %s/%s to %s: %s", spool_dir,
                                   de->d_name, id->user, strerror(-r));
                        break;
                }
        }
        if (r >= 0 && id->have_drop_group) {
                r = prepare_maildrop(dirfd(d), id);
                if (r < 0)
                        (void)fail(why, why_size, r, "cannot prepare %s/%s: %s", spool_dir,
                                   MAILDROP_NAME, strerror(-r));
        }
        closedir(d);
        return r;
}

/* capabilities_left - true when any capability remains in the effective, permitted or
 * inheritable set of this thread */
static int capabilities_left(bool *ret)
{
        struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {{0}};

        if (syscall(SYS_capget, &header, data) < 0)
                return -errno;
        *ret = false;
        for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
                if (data[i].effective || data[i].permitted || data[i].inheritable)
                        *ret = true;
        return 0;
}

/* drop_capability_sets - no_new_privs, then the bounding and ambient sets emptied (needs
 * CAP_SETPCAP, so before setuid) */
static int drop_capability_sets(char *why, size_t why_size)
{
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return fail(why, why_size, -errno, "prctl(PR_SET_NO_NEW_PRIVS): %s",
                            strerror(errno));
        for (unsigned long cap = 0; cap <= 63; cap++) {
                if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
                        break; /* past the last capability this kernel knows */
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
                        return fail(why, why_size, -errno, "prctl(PR_CAPBSET_DROP, %lu): %s", cap,
                                    strerror(errno));
        }
        (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
        return 0;
}

int privilege_drop(const struct relay_identity *id, char *why, size_t why_size)
{
        gid_t groups[1] = {id->drop_gid};
        bool left = true;
        int r;

        r = drop_capability_sets(why, why_size);
        if (r < 0)
                return r;
        if (setgroups(id->have_drop_group ? 1 : 0, groups) < 0)
                return fail(why, why_size, -errno, "setgroups: %s", strerror(errno));
        if (setresgid(id->gid, id->gid, id->gid) < 0)
                return fail(why, why_size, -errno, "setresgid(%u): %s", (unsigned)id->gid,
                            strerror(errno));
        if (setresuid(id->uid, id->uid, id->uid) < 0)
                return fail(why, why_size, -errno, "setresuid(%u): %s", (unsigned)id->uid,
                            strerror(errno));
        /* setuid reset it to fs.suid_dumpable: no core file and no ptrace, as before */
        (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

        r = capabilities_left(&left);
        if (r < 0)
                return fail(why, why_size, r, "capget: %s", strerror(-r));
        if (left)
                return fail(why, why_size, -EPERM, "capabilities are left after switching to %s",
                            id->user);
        if (setuid(0) == 0 || geteuid() == 0 || getegid() == 0)
                return fail(why, why_size, -EPERM, "root could be regained after switching to %s",
                            id->user);
        if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
                return fail(why, why_size, -EPERM, "no_new_privs is not set");
        return 0;
}
