/* SPDX-License-Identifier: MIT */
/*
 * sendmail_options - Postfix sendmail(1)'s option letters ("A:B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:
 * imno:p:r:q:tvx"): -t -i -oi -f -r -F -v -bm -bs -bp -bi -I -q are implemented; -odi, -odb,
 * -oem, -om, -o7/-o8, -Am/-Ac, -B, -C, -G, -L, -N, -O, -R, -U, -V, -XV, -c, -e, -h, -m, -p,
 * -x, -bh/-bH and -q<interval> are accepted and have no effect, as there; -n, -bd, -bv, an
 * unknown -b/-X mode and any other letter are usage errors, worded as Postfix words them.
 */
#include "sendmail_options.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SENDMAIL_GETOPT "A:B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:imno:p:r:q:tvx"

static const char *base_name(const char *path)
{
        const char *slash = strrchr(path, '/');

        return slash ? slash + 1 : path;
}

/* fail - the usage error: o (as parsed so far) into ret, with the message */
static int fail(struct sendmail_options *ret, const struct sendmail_options *o, const char *format,
                ...) __attribute__((format(printf, 3, 4)));

static int fail(struct sendmail_options *ret, const struct sendmail_options *o, const char *format,
                ...)
{
        va_list ap;

        *ret = *o;
        va_start(ap, format);
        (void)vsnprintf(ret->error, sizeof ret->error, format, ap);
        va_end(ap);
        return -EINVAL;
}

int sendmail_parse_options(int argc, char **argv, struct sendmail_options *ret)
{
        const char *name = argc > 0 ? base_name(argv[0]) : "sendmail";
        struct sendmail_options o = {.dot_ends = true};
        int c;

        if (strcmp(name, "mailq") == 0)
                o.mode = SENDMAIL_MODE_MAILQ;
        else if (strcmp(name, "newaliases") == 0)
                o.mode = SENDMAIL_MODE_NEWALIASES;
        optind = 0; /* a full reset of getopt's state (glibc) */
        opterr = 0;
        for (;;) {
                int at = optind > 0 ? optind : 1;

                /* "-q" alone is not getopt-compatible ("q:" takes an argument) */
                if (at < argc && strcmp(argv[at], "-q") == 0) {
                        o.mode = SENDMAIL_MODE_FLUSH;
                        optind = at + 1;
                        continue;
                }
                c = getopt(argc, argv, SENDMAIL_GETOPT);
                if (c == -1)
                        break;
                switch (c) {
                case 'B':
                        if (strcmp(optarg, "8BITMIME") != 0 && strcmp(optarg, "7BIT") != 0)
                                return fail(ret, &o, "-B option needs 8BITMIME or 7BIT");
                        break;
                case 'F':
                        o.fullname = optarg;
                        break;
                case 'I':
                        o.mode = SENDMAIL_MODE_NEWALIASES;
                        break;
                case 'X':
                        if (optarg[0] != 'V')
                                return fail(ret, &o, "unsupported: -%c%c", c, optarg[0]);
                        break;
                case 'b':
                        switch (optarg[0]) {
                        case 'h':
                        case 'H':
                                o.mode = SENDMAIL_MODE_IGNORE;
                                break;
                        case 'i':
                                o.mode = SENDMAIL_MODE_NEWALIASES;
                                break;
                        case 'm':
                                o.mode = SENDMAIL_MODE_DELIVER;
                                break;
                        case 'p':
                                o.mode = SENDMAIL_MODE_MAILQ;
                                break;
                        case 's':
                                o.mode = SENDMAIL_MODE_SMTP;
                                break;
                        default:
                                /* -bd (run `mailinit relay`), -bv and the rest */
                                return fail(ret, &o, "unsupported: -%c%c", c, optarg[0]);
                        }
                        break;
                case 'f':
                case 'r':
                        o.sender = optarg;
                        break;
                case 'i':
                        o.dot_ends = false;
                        break;
                case 'n':
                        return fail(ret, &o, "-%c option not supported", c);
                case 'o':
                        if (optarg[0] == 'i')
                                o.dot_ends = false;
                        break;
                case 'q':
                        if (optarg[0] >= '0' && optarg[0] <= '9') {
                                if (o.mode != SENDMAIL_MODE_FLUSH)
                                        o.mode = SENDMAIL_MODE_IGNORE;
                        } else if ((optarg[0] == 'R' || optarg[0] == 'I') && optarg[1]) {
                                o.mode = SENDMAIL_MODE_FLUSH;
                        } else if (optarg[0] == 'R' || optarg[0] == 'I') {
                                return fail(ret, &o, "%s",
                                            optarg[0] == 'R' ? "specify: -qRsitename"
                                                             : "specify: -qIqueueid");
                        } else {
                                return fail(ret, &o, "-q%c is not implemented", optarg[0]);
                        }
                        break;
                case 't':
                        o.extract = true;
                        break;
                case 'v':
                        o.verbose++;
                        break;
                case 'A':
                case 'C':
                case 'G':
                case 'L':
                case 'N':
                case 'O':
                case 'R':
                case 'U':
                case 'V':
                case 'c':
                case 'e':
                case 'h':
                case 'm':
                case 'p':
                case 'x':
                        break;
                default:
                        return fail(ret, &o, "usage: %s [options]", name);
                }
        }
        if (o.extract && o.mode != SENDMAIL_MODE_DELIVER)
                return fail(ret, &o, "-t can be used only in delivery mode");
        o.recipients = argv + optind;
        o.n_recipients = optind < argc ? (size_t)(argc - optind) : 0;
        if (o.n_recipients > 0 && o.mode != SENDMAIL_MODE_DELIVER) {
                static const char *const what[SENDMAIL_MODE_MAX] = {
                        [SENDMAIL_MODE_SMTP] = "stand-alone mode requires no recipient",
                        [SENDMAIL_MODE_MAILQ] = "display queue mode requires no recipient",
                        [SENDMAIL_MODE_NEWALIASES] =
                                "alias initialization mode requires no recipient",
                        [SENDMAIL_MODE_FLUSH] = "flush queue mode requires no recipient",
                };

                if (what[o.mode])
                        return fail(ret, &o, "%s", what[o.mode]);
        }
        *ret = o;
        return 0;
}
