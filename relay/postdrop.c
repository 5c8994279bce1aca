/* SPDX-License-Identifier: MIT */
/*
 * postdrop - the setgid helper (/usr/libexec/mailinit/postdrop: a copy of the mailinit binary,
 * root:setgid_group, mode 2755). main() runs this, and only this, whenever the kernel says the
 * process is privileged (getauxval(AT_SECURE)), whatever the name it was run by. Its one job:
 * read a maildrop file on stdin, check it strictly (maildrop_parse), and store it as DIR/NAME
 * (argv: postdrop DIR NAME) with maildrop_store(). The file belongs to the real user, who is
 * therefore the submitter the relay sees.
 *
 * SECURITY: the caller controls argv, the environment, the descriptors, the limits and the
 * signals. So: the environment is cleared and never read (no MAILINIT_ROOT: sendmail, which
 * is not privileged, resolves the directory); descriptors 0-2 are opened on /dev/null when
 * missing, so nothing we open lands on them; SIGXFSZ is ignored so RLIMIT_FSIZE gives an error
 * instead of a half-written file; a set-user-id install is refused (the file would then belong
 * to that user). DIR must be a real maildrop (maildrop_dir_check: owned by the group this
 * helper runs as, sticky, group-writable, closed to others, not the caller's own), so the
 * effective group only ever creates new files there, with O_EXCL|O_NOFOLLOW, relative to the
 * checked descriptor. Nothing is ever read from the file system on the caller's behalf, no
 * configuration included: the relay enforces sender and submit rules at pickup.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "maildrop.h"
#include "maildrop_dir.h"
#include "sendmail.h"

#define POSTDROP_INPUT_MAX (MAILDROP_ENVELOPE_MAX + MAILDROP_MESSAGE_MAX + 16)

static int fail(int code, const char *what, int error)
{
        if (error)
                fprintf(stderr, "postdrop: fatal: uid=%lu: %s: %s\n", (unsigned long)getuid(), what,
                        strerror(error));
        else
                fprintf(stderr, "postdrop: fatal: uid=%lu: %s\n", (unsigned long)getuid(), what);
        return code;
}

/* standard_descriptors - 0, 1 and 2 open, so no file of ours becomes someone's stderr */
static int standard_descriptors(void)
{
        for (int fd = 0; fd < 3; fd++) {
                if (fcntl(fd, F_GETFD) >= 0)
                        continue;
                if (open("/dev/null", O_RDWR) != fd)
                        return -1;
        }
        return 0;
}

/* read_input - stdin, bounded */
static int read_input(struct buf *in)
{
        char chunk[65536];

        for (;;) {
                ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
                int r;

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return 0;
                r = buf_append(in, chunk, (size_t)n);
                if (r < 0)
                        return r;
        }
}

int postdrop_main(int argc, char **argv)
{
        struct maildrop_envelope env = {0};
        size_t offset, len;
        struct buf in;
        int dir_fd, r;

        if (standard_descriptors() < 0)
                _exit(EX_OSERR);
        (void)clearenv();
        (void)signal(SIGXFSZ, SIG_IGN);
        (void)signal(SIGPIPE, SIG_IGN);
        umask(077);
        if (geteuid() != getuid())
                return fail(EX_NOPERM, "this helper must be set-group-id only, not set-user-id", 0);
        if (argc != 3 || !maildrop_name_is_message(argv[2]))
                return fail(EX_USAGE, "usage: postdrop MAILDROP-DIRECTORY NAME (run by sendmail)",
                            0);
        dir_fd = open(argv[1], O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return fail(errno == ENOENT ? EX_TEMPFAIL : EX_NOPERM, "cannot open the maildrop",
                            errno);
        r = maildrop_dir_check(dir_fd, getuid(), getegid());
        if (r < 0) {
                close(dir_fd);
                return fail(EX_NOPERM,
                            "not a maildrop directory of this helper's group (mode 1730 expected)",
                            0);
        }
        buf_init(&in, POSTDROP_INPUT_MAX);
        r = read_input(&in);
        if (r == -EFBIG) {
                r = fail(EX_DATAERR, "message file too big", 0);
                goto out;
        }
        if (r < 0) {
                r = fail(EX_IOERR, "cannot read the message", -r);
                goto out;
        }
        r = in.len ? maildrop_parse(in.data, in.len, &env, &offset, &len) : -EBADMSG;
        maildrop_envelope_done(&env);
        if (r < 0) {
                r = r == -EBADMSG ? fail(EX_DATAERR, "malformed input (not a maildrop file)", 0)
                                  : fail(EX_OSERR, "out of memory", 0);
                goto out;
        }
        r = maildrop_store(dir_fd, argv[2], in.data, in.len);
        if (r < 0) {
                r = fail(r == -ENOSPC || r == -EDQUOT ? EX_TEMPFAIL : EX_CANTCREAT,
                         "cannot store the message", -r);
                goto out;
        }
        r = 0;
out:
        buf_done(&in);
        close(dir_fd);
        return r;
}
