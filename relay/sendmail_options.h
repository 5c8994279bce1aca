/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* sendmail's command line, with Postfix sendmail(1)'s options: those it implements, those it
 * accepts and ignores, and its answer to the rest ("fatal: usage: ...", EX_USAGE). Pure. */

enum sendmail_mode {
        SENDMAIL_MODE_DELIVER,    /* -bm, the default: read a message, queue it */
        SENDMAIL_MODE_SMTP,       /* -bs: an SMTP session on stdin/stdout */
        SENDMAIL_MODE_MAILQ,      /* -bp, or invoked as mailq */
        SENDMAIL_MODE_NEWALIASES, /* -bi, -I, or invoked as newaliases */
        SENDMAIL_MODE_FLUSH,      /* -q, -qR..., -qI... */
        SENDMAIL_MODE_IGNORE,     /* -bh, -bH, -q<interval>: nothing to do, exit 0 */
        SENDMAIL_MODE_MAX,
};

#define SENDMAIL_ERROR_MAX 160

struct sendmail_options {
        enum sendmail_mode mode;
        bool extract;         /* -t */
        bool dot_ends;        /* false with -i / -oi */
        const char *sender;   /* -f / -r, as given; NULL when absent */
        const char *fullname; /* -F; NULL when absent */
        unsigned verbose;     /* -v */
        char **recipients;    /* borrowed from argv */
        size_t n_recipients;
        char error[SENDMAIL_ERROR_MAX]; /* why -EINVAL */
};

/* sendmail_parse_options - argv as given (argv[0] is the name: "sendmail", "mailq",
 * "newaliases" choose the default mode). Returns 0, or -EINVAL with ret->error set (to print
 * as "sendmail: fatal: ERROR", exit EX_USAGE). argv may be permuted (GNU getopt). */
int sendmail_parse_options(int argc, char **argv, struct sendmail_options *ret);
