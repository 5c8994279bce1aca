/* SPDX-License-Identifier: MIT */
/*
 * test_maildrop - the maildrop file format (relay/maildrop.c): what maildrop_format writes
 * (compared with files written out by hand here), that maildrop_parse reads it back, and that
 * every deviation is refused: a wrong magic, order, count, size, trailer, stray bytes, control
 * characters, spaces in addresses, too many recipients, numbers that are not canonical.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "maildrop.h"

static void test_format_exact(void **state)
{
        char r1[] = "a@example.net", r2[] = "b", name[] = "Jane Doe", sender[] = "jane@example.com";
        char empty[] = "";
        char *rcpts[] = {r1, r2};
        struct maildrop_envelope env = {
                .fullname = name, .sender = sender, .recipients = rcpts, .n_recipients = 2};
        static const char want[] = "MAILINIT-MAILDROP 1\n"
                                   "fullname Jane Doe\n"
                                   "sender jane@example.com\n"
                                   "rcpt a@example.net\n"
                                   "rcpt b\n"
                                   "size 6\n"
                                   "hi\r\n\r\n"
                                   "END\n";
        struct buf out;

        (void)state;
        buf_init(&out, 4096);
        assert_int_equal(maildrop_format(&env, "hi\r\n\r\n", 6, &out), 0);
        assert_int_equal(out.len, sizeof want - 1);
        assert_memory_equal(out.data, want, out.len);
        buf_done(&out);

        /* defaults: no full name, the submitter as sender; the null sender is "<>" */
        env.fullname = NULL;
        env.sender = NULL;
        env.n_recipients = 1;
        buf_init(&out, 4096);
        assert_int_equal(maildrop_format(&env, "", 0, &out), 0);
        assert_string_equal(out.data, "MAILINIT-MAILDROP 1\nrcpt a@example.net\nsize 0\nEND\n");
        buf_done(&out);
        env.sender = empty;
        buf_init(&out, 4096);
        assert_int_equal(maildrop_format(&env, "x", 1, &out), 0);
        assert_string_equal(out.data,
                            "MAILINIT-MAILDROP 1\nsender <>\nrcpt a@example.net\nsize 1\nxEND\n");
        buf_done(&out);
}

static void test_format_refuses(void **state)
{
        char bad[] = "a b@example.net", ok[] = "a@example.net", two_lines[] = "two\nlines",
             evil[] = "<evil>";
        char *bad_rcpt[] = {bad};
        char *ok_rcpt[] = {ok};
        struct maildrop_envelope env = {.recipients = ok_rcpt, .n_recipients = 0};
        struct buf out;

        (void)state;
        buf_init(&out, 64);
        assert_int_equal(maildrop_format(&env, "x", 1, &out), -EINVAL); /* no recipient */
        env.n_recipients = 1;
        env.fullname = two_lines;
        assert_int_equal(maildrop_format(&env, "x", 1, &out), -EINVAL);
        env.fullname = NULL;
        env.sender = evil;
        assert_int_equal(maildrop_format(&env, "x", 1, &out), -EINVAL);
        env.sender = NULL;
        env.recipients = bad_rcpt;
        assert_int_equal(maildrop_format(&env, "x", 1, &out), -EINVAL);
        env.recipients = ok_rcpt;
        /* past the buffer's maximum: nothing is left half-written */
        assert_int_equal(
                maildrop_format(
                        &env,
                        "0123456789012345678901234567890123456789012345678901234567890123456789",
                        70, &out),
                -EFBIG);
        assert_int_equal(out.len, 0);
        buf_done(&out);
}

static void test_round_trip(void **state)
{
        char *rcpts[MAILDROP_RECIPIENTS_MAX];
        char names[MAILDROP_RECIPIENTS_MAX][32];
        char name[] = "Zoë \"Z\" <x>", sender[] = "z@example.com";
        struct maildrop_envelope env = {.fullname = name,
                                        .sender = sender,
                                        .recipients = rcpts,
                                        .n_recipients = MAILDROP_RECIPIENTS_MAX};
        struct maildrop_envelope back;
        const char msg[] = "Subject: t\r\n\r\nbody\x00with NUL and \xff\r\n";
        size_t off, len;
        struct buf out;

        (void)state;
        for (size_t i = 0; i < MAILDROP_RECIPIENTS_MAX; i++) {
                (void)snprintf(names[i], sizeof names[i], "r%zu@example.net", i);
                rcpts[i] = names[i];
        }
        buf_init(&out, 1 << 20);
        assert_int_equal(maildrop_format(&env, msg, sizeof msg - 1, &out), 0);
        assert_int_equal(maildrop_parse(out.data, out.len, &back, &off, &len), 0);
        assert_string_equal(back.fullname, env.fullname);
        assert_string_equal(back.sender, "z@example.com");
        assert_int_equal(back.n_recipients, MAILDROP_RECIPIENTS_MAX);
        assert_string_equal(back.recipients[999], "r999@example.net");
        assert_int_equal(len, sizeof msg - 1);
        assert_memory_equal(out.data + off, msg, len);
        maildrop_envelope_done(&back);
        buf_done(&out);
}

struct bad_case {
        const char *name;
        const char *text;
};

static void test_parse_strict(void **state)
{
        static const struct bad_case cases[] = {
                {"empty", ""},
                {"other magic", "MAILINIT-MAILDROP 2\nrcpt a\nsize 0\nEND\n"},
                {"CRLF records", "MAILINIT-MAILDROP 1\r\nrcpt a\r\nsize 0\r\nEND\n"},
                {"no recipient", "MAILINIT-MAILDROP 1\nsize 0\nEND\n"},
                {"empty recipient", "MAILINIT-MAILDROP 1\nrcpt \nsize 0\nEND\n"},
                {"space in address", "MAILINIT-MAILDROP 1\nrcpt a b\nsize 0\nEND\n"},
                {"angle in address", "MAILINIT-MAILDROP 1\nrcpt <a>\nsize 0\nEND\n"},
                {"tab in address", "MAILINIT-MAILDROP 1\nrcpt a\tb\nsize 0\nEND\n"},
                {"order: sender after rcpt",
                 "MAILINIT-MAILDROP 1\nrcpt a\nsender b\nsize 0\nEND\n"},
                {"order: fullname after sender",
                 "MAILINIT-MAILDROP 1\nsender b\nfullname x\nrcpt a\nsize 0\nEND\n"},
                {"two senders", "MAILINIT-MAILDROP 1\nsender a\nsender b\nrcpt a\nsize 0\nEND\n"},
                {"unknown record", "MAILINIT-MAILDROP 1\nrcpt a\nflags x\nsize 0\nEND\n"},
                {"control in full name",
                 "MAILINIT-MAILDROP 1\nfullname a\x01\nrcpt a\nsize 0\nEND\n"},
                {"empty full name", "MAILINIT-MAILDROP 1\nfullname \nrcpt a\nsize 0\nEND\n"},
                {"size short", "MAILINIT-MAILDROP 1\nrcpt a\nsize 5\nabEND\n"},
                {"size long", "MAILINIT-MAILDROP 1\nrcpt a\nsize 1\nabcEND\n"},
                {"leading zero", "MAILINIT-MAILDROP 1\nrcpt a\nsize 01\nxEND\n"},
                {"sign", "MAILINIT-MAILDROP 1\nrcpt a\nsize +1\nxEND\n"},
                {"huge size", "MAILINIT-MAILDROP 1\nrcpt a\nsize 99999999999\nxEND\n"},
                {"no trailer", "MAILINIT-MAILDROP 1\nrcpt a\nsize 1\nx"},
                {"bad trailer", "MAILINIT-MAILDROP 1\nrcpt a\nsize 1\nxEND\r\n"},
                {"bytes after", "MAILINIT-MAILDROP 1\nrcpt a\nsize 1\nxEND\nmore"},
                {"no size", "MAILINIT-MAILDROP 1\nrcpt a\nxEND\n"},
                {"truncated envelope", "MAILINIT-MAILDROP 1\nrcpt a"},
        };
        struct maildrop_envelope env;
        size_t off, len;

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                int r = maildrop_parse(cases[i].text, strlen(cases[i].text), &env, &off, &len);

                if (r != -EBADMSG)
                        fail_msg("%s: got %d, want -EBADMSG", cases[i].name, r);
        }
        /* and the good one beside them */
        assert_int_equal(maildrop_parse("MAILINIT-MAILDROP 1\nsender <>\nrcpt a\nsize 1\nxEND\n",
                                        49, &env, &off, &len),
                         0);
        assert_string_equal(env.sender, "");
        assert_null(env.fullname);
        maildrop_envelope_done(&env);
}

static void test_too_many_recipients(void **state)
{
        struct maildrop_envelope env;
        size_t off, len;
        struct buf b;

        (void)state;
        buf_init(&b, 1 << 20);
        assert_int_equal(buf_append_str(&b, MAILDROP_MAGIC "\n"), 0);
        for (int i = 0; i <= MAILDROP_RECIPIENTS_MAX; i++)
                assert_int_equal(buf_printf(&b, "rcpt r%d\n", i), 0);
        assert_int_equal(buf_append_str(&b, "size 0\nEND\n"), 0);
        assert_int_equal(maildrop_parse(b.data, b.len, &env, &off, &len), -EBADMSG);
        buf_done(&b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_format_exact),        cmocka_unit_test(test_format_refuses),
                cmocka_unit_test(test_round_trip),          cmocka_unit_test(test_parse_strict),
                cmocka_unit_test(test_too_many_recipients),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
