/* SPDX-License-Identifier: MIT */
/*
 * test_sendmail_options - sendmail's command line (relay/sendmail_options.c) as cron, mailx,
 * PHP and scripts write it, the options Postfix ignores, and its usage errors, worded as
 * Postfix's sendmail words them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sendmail_options.h"

#define ARGS_MAX 48

/* parse - a space-separated command line ("-" words are options) */
static int parse(const char *line, struct sendmail_options *o)
{
        static char buf[512];
        static char *argv[ARGS_MAX + 1];
        int argc = 0;

        (void)snprintf(buf, sizeof buf, "%s", line);
        for (char *p = buf; *p && argc < ARGS_MAX;) {
                while (*p == ' ')
                        *p++ = '\0';
                if (!*p)
                        break;
                argv[argc++] = p;
                while (*p && *p != ' ')
                        p++;
        }
        argv[argc] = NULL;
        return sendmail_parse_options(argc, argv, o);
}

static void test_common_lines(void **state)
{
        struct sendmail_options o;

        (void)state;
        /* Debian's cron */
        assert_int_equal(parse("sendmail -FCronDaemon -i -B8BITMIME -oem root", &o), 0);
        assert_int_equal(o.mode, SENDMAIL_MODE_DELIVER);
        assert_string_equal(o.fullname, "CronDaemon");
        assert_false(o.dot_ends);
        assert_int_equal(o.n_recipients, 1);
        assert_string_equal(o.recipients[0], "root");
        /* PHP's mail() */
        assert_int_equal(parse("/usr/sbin/sendmail -t -i", &o), 0);
        assert_true(o.extract);
        assert_false(o.dot_ends);
        assert_int_equal(o.n_recipients, 0);
        /* mailx */
        assert_int_equal(parse("sendmail -oi -f me@example.com -- a@x b@x", &o), 0);
        assert_string_equal(o.sender, "me@example.com");
        assert_int_equal(o.n_recipients, 2);
        assert_true(o.dot_ends == false);
        /* the default keeps the "." rule */
        assert_int_equal(parse("sendmail a@x", &o), 0);
        assert_true(o.dot_ends);
        assert_null(o.sender);
        /* accepted and ignored */
        assert_int_equal(
                parse("sendmail -odi -odb -oem -om -o7 -Am -Ac -G -U -v -x -C /etc -L x -N never -R full -V id -XV -m -c -h 5 -e x -p x -O a=b r@x",
                      &o),
                0);
        assert_int_equal(o.mode, SENDMAIL_MODE_DELIVER);
        assert_int_equal(o.n_recipients, 1);
        assert_int_equal(o.verbose, 1);
        /* options after recipients, as GNU getopt permutes them (Postfix on Linux too) */
        assert_int_equal(parse("sendmail r@x -f s@x", &o), 0);
        assert_string_equal(o.sender, "s@x");
        assert_int_equal(o.n_recipients, 1);
        assert_int_equal(parse("sendmail -r s@x r@x", &o), 0);
        assert_string_equal(o.sender, "s@x");
}

static void test_modes(void **state)
{
        struct sendmail_options o;

        (void)state;
        assert_int_equal(parse("sendmail -bp", &o), 0);
        assert_int_equal(o.mode, SENDMAIL_MODE_MAILQ);
        assert_int_equal(parse("/usr/bin/mailq", &o), 0);
        assert_int_equal(o.mode, SENDMAIL_MODE_MAILQ);
        assert_int_equal(parse("newaliases", &o), 0);
        assert_int_equal(o.mode, SENDMAIL_MODE_NEWALIASES);
        assert_int_equal(parse("sendmail -bi", &o), 0);
        assert_int_equal(o.mode, SENDMAIL_MODE_NEWALIASES);
        assert_int_equal(parse("sendmail -I", &o), 0);
        assert_int_equal(o.mode, SENDMAIL_MODE_NEWALIASES);
        assert_int_equal(parse("sendmail -bs", &o), 0);
        assert_int_equal(o.mode, SENDMAIL_MODE_SMTP);
        assert_int_equal(parse("sendmail -bm r@x", &o), 0);
        assert_int_equal(o.mode, SENDMAIL_MODE_DELIVER);
        assert_int_equal(parse("sendmail -q", &o), 0);
        assert_int_equal(o.mode, SENDMAIL_MODE_FLUSH);
        assert_int_equal(parse("sendmail -qIABC", &o), 0);
        assert_int_equal(o.mode, SENDMAIL_MODE_FLUSH);
        assert_int_equal(parse("sendmail -q30m", &o), 0);
        assert_int_equal(o.mode, SENDMAIL_MODE_IGNORE);
        assert_int_equal(parse("sendmail -bh", &o), 0);
        assert_int_equal(o.mode, SENDMAIL_MODE_IGNORE);
}

struct usage_case {
        const char *line;
        const char *error;
};

static void test_usage_errors(void **state)
{
        static const struct usage_case cases[] = {
                {"sendmail -Z r@x", "usage: sendmail [options]"},
                {"/usr/sbin/sendmail -f", "usage: sendmail [options]"},
                {"sendmail -n r@x", "-n option not supported"},
                {"sendmail -bd", "unsupported: -bd"},
                {"sendmail -bv r@x", "unsupported: -bv"},
                {"sendmail -XZ r@x", "unsupported: -XZ"},
                {"sendmail -B 9BIT r@x", "-B option needs 8BITMIME or 7BIT"},
                {"sendmail -t -bp", "-t can be used only in delivery mode"},
                {"sendmail -bp r@x", "display queue mode requires no recipient"},
                {"sendmail -bs r@x", "stand-alone mode requires no recipient"},
                {"newaliases r@x", "alias initialization mode requires no recipient"},
                {"sendmail -qX", "-qX is not implemented"},
                {"sendmail -qR", "specify: -qRsitename"},
        };
        struct sendmail_options o;

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                int r = parse(cases[i].line, &o);

                if (r != -EINVAL || strcmp(o.error, cases[i].error) != 0)
                        fail_msg("'%s': got %d '%s', want '%s'", cases[i].line, r, o.error,
                                 cases[i].error);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_common_lines),
                cmocka_unit_test(test_modes),
                cmocka_unit_test(test_usage_errors),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
