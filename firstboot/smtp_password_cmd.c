/* SPDX-License-Identifier: MIT */
/*
 * smtp_password_cmd - `mailinit smtp-password --region REGION`: reads an IAM user's secret
 * access key (one line) on stdin and prints the Amazon SES SMTP password for REGION, followed
 * by a newline, on stdout (common/ses_smtp_password.c has the algorithm).
 * Exit codes (sysexits): 0 done; 64 usage (missing or malformed --region); 65 the key on stdin
 * is empty, too long or holds white space or control characters; 71 the process could not be
 * made non-dumpable; 74 reading stdin or writing stdout failed.
 * SECURITY: the key is read with read(2) into one stack buffer (no stdio copy), the process is
 * non-dumpable (no core file, no ptrace by the same user) while it holds the key, and the key
 * and the password are wiped before returning. No message ever includes the key.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include "firstboot.h"
#include "log.h"
#include "secret_mask.h"
#include "ses_smtp_password.h"

#define SMTP_PASSWORD_KEY_MAX    128 /* bytes of secret access key accepted on stdin */
#define SMTP_PASSWORD_REGION_MAX 32

static void usage(FILE *out)
{
        fprintf(out,
                "Usage: mailinit smtp-password --region REGION\n"
                "Read an IAM user's secret access key (one line) on standard input and print\n"
                "the Amazon SES SMTP password for REGION (e.g. eu-west-1). The SMTP user name\n"
                "is the access key ID. Only long-term IAM user keys work with SES SMTP.\n\n"
                "  -r, --region REGION   the SES region the password is for (required)\n"
                "  -h, --help            show this help\n");
}

static bool region_valid(const char *s)
{
        size_t n;

        for (n = 0; s[n]; n++)
                if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '-'))
                        return false;
        return n > 0 && n <= SMTP_PASSWORD_REGION_MAX;
}

/* read_key - stdin into buf (NUL-terminated, trailing LF then CR removed). From a pipe or file
 * it reads to the end, so that a second line is seen and refused; from a terminal it reads one
 * line with echo off. Returns the length, -EFBIG when longer than SMTP_PASSWORD_KEY_MAX, or
 * -errno from read(2). */
static ssize_t read_key(char *buf, size_t size)
{
        struct termios saved, quiet;
        bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
        size_t len = 0;
        int r = 0;

        if (tty) {
                quiet = saved;
                quiet.c_lflag &= ~(tcflag_t)ECHO;
                (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
                (void)fputs("Secret access key: ", stderr);
        }
        /* the key, CR LF, and one byte more to tell a longer input apart; then the NUL */
        while (len < size - 1) {
                ssize_t n = read(STDIN_FILENO, buf + len, size - 1 - len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (tty && memchr(buf + len - (size_t)n, '\n', (size_t)n))
                        break;
        }
        if (tty) {
                (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
                (void)fputc('\n', stderr);
        }
        buf[len] = '\0';
        if (r < 0)
                return r;
        if (len > 0 && buf[len - 1] == '\n')
                buf[--len] = '\0';
        if (len > 0 && buf[len - 1] == '\r')
                buf[--len] = '\0';
        if (len > SMTP_PASSWORD_KEY_MAX)
                return -EFBIG;
        return (ssize_t)len;
}

static bool key_clean(const char *key)
{
        for (const char *s = key; *s; s++)
                if ((unsigned char)*s <= ' ' || *s == 0x7f)
                        return false;
        return true;
}

/* write_all - the whole buffer to fd, or -errno */
static int write_all(int fd, const char *p, size_t n)
{
        while (n > 0) {
                ssize_t w = write(fd, p, n);

                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += w;
                n -= (size_t)w;
        }
        return 0;
}

int smtp_password_main(int argc, char **argv)
{
        static const struct option options[] = {
                {"region", required_argument, NULL, 'r'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        char key[SMTP_PASSWORD_KEY_MAX + 4]; /* key, CR, LF, one byte more, NUL */
        char line[SES_SMTP_PASSWORD_SIZE];
        const char *region = NULL;
        ssize_t len;
        int c, r, ret;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+r:h", options, NULL)) != -1) {
                switch (c) {
                case 'r':
                        region = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return EX_OK;
                default:
                        log_error("smtp-password: unknown option or missing argument '%s'.",
                                  argv[optind - 1]);
                        usage(stderr);
                        return EX_USAGE;
                }
        }
        if (optind < argc) {
                log_error("smtp-password: unexpected argument '%s'.", argv[optind]);
                usage(stderr);
                return EX_USAGE;
        }
        if (!region) {
                log_error("smtp-password: --region is required.");
                usage(stderr);
                return EX_USAGE;
        }
        if (!region_valid(region)) {
                log_error("smtp-password: '%s' is not a region name (lower-case letters, digits "
                          "and '-', like eu-west-1).",
                          region);
                return EX_USAGE;
        }

        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
                log_error_errno(errno,
                                "smtp-password: failed to make the process non-dumpable: %m");
                return EX_OSERR;
        }

        len = read_key(key, sizeof key);
        if (len == -EFBIG) {
                log_error("smtp-password: the secret access key on stdin is longer than %d bytes.",
                          SMTP_PASSWORD_KEY_MAX);
                ret = EX_DATAERR;
                goto out;
        }
        if (len < 0) {
                log_error_errno((int)len, "smtp-password: failed to read stdin: %m");
                ret = EX_IOERR;
                goto out;
        }
        if (len == 0) {
                log_error("smtp-password: no secret access key on stdin (expected one line).");
                ret = EX_DATAERR;
                goto out;
        }
        if (!key_clean(key)) {
                log_error("smtp-password: the secret access key on stdin contains white space or "
                          "control characters (expected one line holding only the key).");
                ret = EX_DATAERR;
                goto out;
        }

        r = ses_smtp_password(key, region, line, sizeof line);
        if (r < 0) {
                log_error_errno(r, "smtp-password: failed to derive the SMTP password: %m");
                ret = EX_SOFTWARE;
                goto out;
        }
        line[SES_SMTP_PASSWORD_LEN] = '\n'; /* line has room for the password and a newline */
        r = write_all(STDOUT_FILENO, line, SES_SMTP_PASSWORD_LEN + 1);
        if (r < 0) {
                log_error_errno(r, "smtp-password: failed to write the password: %m");
                ret = EX_IOERR;
                goto out;
        }
        ret = EX_OK;
out:
        secret_wipe(key, sizeof key);
        secret_wipe(line, sizeof line);
        return ret;
}
