/* SPDX-License-Identifier: MIT */
/*
 * sendmail_drop - how sendmail hands a message to the relay: a maildrop file (maildrop.h),
 * stored directly when this process can open the maildrop directory (root, mail_owner), else
 * by the setgid postdrop helper (MAILINIT_POSTDROP or /usr/libexec/mailinit/postdrop), fed on
 * a pipe, with argv "postdrop DIR NAME" and an empty environment. sendmail itself is never
 * privileged: it only decides where the file goes and tells the user what went wrong.
 * DIAGNOSTICS: "sendmail: fatal: ..." on stderr, sysexits codes (75 for what may work later:
 * no maildrop yet, disk full; 69 when the helper is missing; 77 when refused).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "fileio.h"
#include "maildrop_dir.h"
#include "sendmail.h"

/* exit_code_for - sysexits code for a failure to store the file */
static int exit_code_for(int r)
{
        switch (-r) {
        case ENOSPC:
        case EDQUOT:
        case ENOENT:
        case EAGAIN:
        case ENOMEM:
                return EX_TEMPFAIL;
        case EACCES:
        case EPERM:
                return EX_NOPERM;
        default:
                return EX_IOERR;
        }
}

/* create_maildrop - as root, when the relay never ran: spool_dir (0700) and its maildrop,
 * owned as the relay will want them (the spool's owner; group setgid_group when it exists) */
static int create_maildrop(const struct submitter *sub)
{
        struct group *gr = getgrnam(sub->setgid_group);
        struct stat st;
        int spool_fd, fd, r;

        if (mkdir(sub->spool_dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        spool_fd = open(sub->spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (spool_fd < 0)
                return -errno;
        if (fstat(spool_fd, &st) < 0) {
                r = -errno;
                close(spool_fd);
                return r;
        }
        r = maildrop_dir_prepare(spool_fd, st.st_uid, gr ? gr->gr_gid : (gid_t)-1, &fd);
        close(spool_fd);
        if (r >= 0)
                close(fd);
        return r;
}

/* run_postdrop - the setgid helper stores data as DIR/NAME; its exit code is returned (it
 * printed its own reason) */
static int run_postdrop(const struct submitter *sub, char *name, const char *data, size_t len)
{
        char argv0[] = "postdrop";
        char *const argv[] = {argv0, sub->maildrop_dir, name, NULL};
        char *const envp[] = {NULL};
        int pipefd[2], status, r;
        pid_t pid;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                r = -errno;
                close(pipefd[0]);
                close(pipefd[1]);
                return r;
        }
        if (pid == 0) {
                if (dup2(pipefd[0], STDIN_FILENO) < 0)
                        _exit(EX_OSERR);
                execve(sub->postdrop, argv, envp);
                fprintf(stderr, "sendmail: fatal: cannot run the postdrop helper %s: %s\n",
                        sub->postdrop, strerror(errno));
                _exit(errno == ENOENT ? EX_UNAVAILABLE : EX_OSERR);
        }
        close(pipefd[0]);
        r = fd_write_all(pipefd[1], data, len);
        close(pipefd[1]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return EX_OSERR;
        if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
                return WEXITSTATUS(status);
        if (!WIFEXITED(status)) {
                fprintf(stderr, "sendmail: fatal: the postdrop helper died (signal %d)\n",
                        WIFSIGNALED(status) ? WTERMSIG(status) : 0);
                return EX_SOFTWARE;
        }
        if (r < 0) {
                fprintf(stderr, "sendmail: fatal: cannot write to the postdrop helper: %s\n",
                        strerror(-r));
                return EX_IOERR;
        }
        return 0;
}

int sendmail_drop(const struct submitter *sub, const struct maildrop_envelope *env, const char *msg,
                  size_t len, char *ret_name, size_t name_size)
{
        char name[MAILDROP_NAME_LEN + 1];
        struct buf file;
        int fd, r, code = 0;

        buf_init(&file, MAILDROP_ENVELOPE_MAX + MAILDROP_MESSAGE_MAX + 16);
        r = maildrop_format(env, msg, len, &file);
        if (r < 0) {
                fprintf(stderr, "sendmail: fatal: %s\n",
                        r == -EINVAL ? "bad address or full name in the envelope" : strerror(-r));
                buf_done(&file);
                return r == -EINVAL ? EX_DATAERR : EX_OSERR;
        }
        r = maildrop_new_name(name);
        if (r < 0) {
                fprintf(stderr, "sendmail: fatal: no random numbers: %s\n", strerror(-r));
                buf_done(&file);
                return EX_OSERR;
        }
        fd = open(sub->maildrop_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && geteuid() == 0) {
                r = create_maildrop(sub);
                if (r < 0)
                        errno = -r;
                else
                        fd = open(sub->maildrop_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        if (fd >= 0) {
                r = maildrop_store(fd, name, file.data, file.len);
                close(fd);
                if (r < 0) {
                        fprintf(stderr, "sendmail: fatal: cannot write to %s: %s\n",
                                sub->maildrop_dir, strerror(-r));
                        code = exit_code_for(r);
                }
        } else if (errno == EACCES || errno == EPERM) {
                code = run_postdrop(sub, name, file.data, file.len);
                if (code < 0) {
                        fprintf(stderr, "sendmail: fatal: cannot run the postdrop helper: %s\n",
                                strerror(-code));
                        code = EX_OSERR;
                }
        } else {
                r = -errno;
                fprintf(stderr, "sendmail: fatal: cannot open the maildrop %s: %s%s\n",
                        sub->maildrop_dir, strerror(-r),
                        r == -ENOENT ? " (the relay creates it when it starts)" : "");
                code = exit_code_for(r);
        }
        buf_done(&file);
        if (code == 0)
                (void)snprintf(ret_name, name_size, "%s", name);
        return code;
}
