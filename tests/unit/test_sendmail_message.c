/* SPDX-License-Identifier: MIT */
/*
 * test_sendmail_message - how sendmail reads a message (relay/sendmail_message.c): line
 * endings (bare LF, CRLF, CR inside a line, no final line break), the "." line with and
 * without -i, mbox "From " lines, 8-bit bytes, the size limit, input split at every byte;
 * and the header pass: -t recipients (To/Cc/Bcc; Resent-* only when present), Bcc removed
 * with or without -t, folded headers, messages without headers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sendmail_message.h"

struct read_case {
        const char *in;
        bool dot_ends;
        const char *want;
};

/* read_whole - in, fed at once and split at every position, must give want each time */
static void read_whole(const struct read_case *c)
{
        size_t n = strlen(c->in);

        for (size_t split = 0; split <= n; split++) {
                struct sendmail_reader r;
                int ret;

                sendmail_reader_init(&r, c->dot_ends, 4096);
                ret = sendmail_reader_feed(&r, c->in, split);
                if (ret == 0)
                        ret = sendmail_reader_feed(&r, c->in + split, n - split);
                assert_true(ret >= 0);
                assert_int_equal(sendmail_reader_finish(&r), 0);
                if (strcmp(r.out.data ? r.out.data : "", c->want) != 0)
                        fail_msg("'%s' split at %zu: got '%s', want '%s'", c->in, split,
                                 r.out.data ? r.out.data : "", c->want);
                sendmail_reader_done(&r);
        }
}

static void test_reader(void **state)
{
        static const struct read_case cases[] = {
                {"Subject: x\n\nbody\n", true, "Subject: x\r\n\r\nbody\r\n"},
                {"Subject: x\r\n\r\nbody\r\n", true, "Subject: x\r\n\r\nbody\r\n"},
                {"a\rb\nc", true, "a\rb\r\nc\r\n"},
                {"no newline", true, "no newline\r\n"},
                {"one\n.\ntwo\n", true, "one\r\n"},
                {"one\r\n.\r\ntwo\r\n", true, "one\r\n"},
                {"one\n.\ntwo\n", false, "one\r\n.\r\ntwo\r\n"},
                {"one\n..\n.x\n", true, "one\r\n..\r\n.x\r\n"},
                {"last\n.", true, "last\r\n"},
                {"From alice Mon Jan 1\n>From x\nSubject: y\n\nFrom here\n", true,
                 "Subject: y\r\n\r\nFrom here\r\n"},
                {"caf\xc3\xa9 \xff\n", true, "caf\xc3\xa9 \xff\r\n"},
                {"", true, ""},
                {"\n", true, "\r\n"},
        };

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
                read_whole(&cases[i]);
}

static void test_reader_limit(void **state)
{
        struct sendmail_reader r;

        (void)state;
        sendmail_reader_init(&r, true, 10);
        assert_int_equal(sendmail_reader_feed(&r, "12345678\n", 9), 0); /* 10 with CRLF */
        assert_int_equal(sendmail_reader_feed(&r, "x", 1), -EFBIG);
        sendmail_reader_done(&r);
        /* the "." line stops reading: what follows does not count */
        sendmail_reader_init(&r, true, 10);
        assert_int_equal(sendmail_reader_feed(&r, "1\n.\nxxxxxxxxxxxxxxxxxxxxxxxxxx\n", 30), 1);
        assert_string_equal(r.out.data, "1\r\n");
        sendmail_reader_done(&r);
}

static void prepare(const char *msg, bool extract, const char *want_msg, const char *want_rcpts)
{
        struct addrlist rcpts = {.max = 100};
        char got[1024] = "";
        const char *bad;
        struct buf out;

        buf_init(&out, 1 << 16);
        assert_int_equal(addrlist_parse("cmd@example.net", 15, &rcpts), 1);
        assert_int_equal(sendmail_prepare_message(msg, strlen(msg), extract, &rcpts, &out, &bad),
                         0);
        if (strcmp(out.data ? out.data : "", want_msg) != 0)
                fail_msg("message: got '%s', want '%s'", out.data ? out.data : "", want_msg);
        for (size_t i = 0; i < rcpts.n; i++) {
                if (i)
                        strncat(got, "|", sizeof got - strlen(got) - 1);
                strncat(got, rcpts.items[i], sizeof got - strlen(got) - 1);
        }
        if (strcmp(got, want_rcpts) != 0)
                fail_msg("recipients: got '%s', want '%s'", got, want_rcpts);
        addrlist_done(&rcpts);
        buf_done(&out);
}

static void test_prepare(void **state)
{
        (void)state;
        prepare("To: a@x, B <b@x>\r\nCc: c@x\r\nBcc: d@x,\r\n e@x\r\nSubject: s\r\n\r\nTo: body@x\r\n",
                true, "To: a@x, B <b@x>\r\nCc: c@x\r\nSubject: s\r\n\r\nTo: body@x\r\n",
                "cmd@example.net|a@x|b@x|c@x|d@x|e@x");
        /* without -t: Bcc still goes, recipients stay those of the command line */
        prepare("bcc: d@x\r\nSubject: s\r\n\r\nb\r\n", false, "Subject: s\r\n\r\nb\r\n",
                "cmd@example.net");
        /* Resent-* fields win when there are any (RFC 5322 3.6.6) */
        prepare("To: old@x\r\nResent-To: new@x\r\nResent-Bcc: hidden@x\r\n\r\nb\r\n", true,
                "To: old@x\r\nResent-To: new@x\r\n\r\nb\r\n", "cmd@example.net|new@x|hidden@x");
        /* no header section at all */
        prepare("just text\r\nTo: not-a-header@x\r\n", true, "just text\r\nTo: not-a-header@x\r\n",
                "cmd@example.net");
        /* all headers, no body */
        prepare("To: a@x\r\nBcc: b@x\r\n", true, "To: a@x\r\n", "cmd@example.net|a@x|b@x");
}

static void test_prepare_errors(void **state)
{
        struct addrlist rcpts = {.max = 2};
        const char *bad = NULL;
        struct buf out;

        (void)state;
        buf_init(&out, 1 << 16);
        assert_int_equal(
                sendmail_prepare_message("To: \"open\r\n\r\n", 14, true, &rcpts, &out, &bad),
                -EINVAL);
        assert_string_equal(bad, "To/Cc");
        buf_reset(&out);
        assert_int_equal(
                sendmail_prepare_message("To: a, b, c\r\n\r\n", 15, true, &rcpts, &out, &bad),
                -E2BIG);
        addrlist_done(&rcpts);
        buf_done(&out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_reader),
                cmocka_unit_test(test_reader_limit),
                cmocka_unit_test(test_prepare),
                cmocka_unit_test(test_prepare_errors),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
