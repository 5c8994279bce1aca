/* SPDX-License-Identifier: MIT */
/*
 * test_addrlist - addresses out of RFC 5322 address lists (relay/addrlist.c), as sendmail -t
 * and the command line need them: display names, comments (nested), quoted strings with
 * commas, groups, source routes, folding, and the errors (unterminated parts, the limit).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "addrlist.h"

struct list_case {
        const char *text;
        const char *want; /* the addresses joined with '|' */
};

static void check(const char *text, const char *want)
{
        struct addrlist l = {0};
        char got[1024] = "";
        int r = addrlist_parse(text, strlen(text), &l);

        if (r < 0)
                fail_msg("'%s': error %d", text, r);
        for (size_t i = 0; i < l.n; i++) {
                if (i)
                        strncat(got, "|", sizeof got - strlen(got) - 1);
                strncat(got, l.items[i], sizeof got - strlen(got) - 1);
        }
        if (strcmp(got, want) != 0 || (size_t)r != l.n)
                fail_msg("'%s': got '%s' (%d), want '%s'", text, got, r, want);
        addrlist_done(&l);
}

static void test_lists(void **state)
{
        static const struct list_case cases[] = {
                {"a@example.net", "a@example.net"},
                {"  a@example.net ,b@example.net,", "a@example.net|b@example.net"},
                {"Alice <alice@example.net>", "alice@example.net"},
                {"\"Doe, John\" <john@example.net>, x@y", "john@example.net|x@y"},
                {"bob@example.net (Bob (the builder))", "bob@example.net"},
                {"(lead) <c@d>", "c@d"},
                {"friends: a@x, B <b@x>;, c@x", "a@x|b@x|c@x"},
                {"undisclosed-recipients:;", ""},
                {"", ""},
                {" , ,", ""},
                {"<@relay.example,@other:user@example.net>", "user@example.net"},
                {"\"quoted local\"@example.net", "\"quoted local\"@example.net"},
                {"a@example.net,\r\n\tb@example.net", "a@example.net|b@example.net"},
                {"root", "root"},
                {"<>", ""},
                {"x@y <z@w>", "z@w"},
                {"\"a\\\"b\" <q@r>", "q@r"},
        };

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
                check(cases[i].text, cases[i].want);
}

static void test_errors(void **state)
{
        static const char *const bad[] = {"\"open", "(open", "<open@x", "a>", "<a <b>>"};
        struct addrlist l = {.max = 2};

        (void)state;
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                struct addrlist e = {0};

                if (addrlist_parse(bad[i], strlen(bad[i]), &e) != -EINVAL)
                        fail_msg("'%s' was accepted", bad[i]);
                addrlist_done(&e);
        }
        assert_int_equal(addrlist_parse("a, b", 4, &l), 2);
        assert_int_equal(addrlist_parse("c", 1, &l), -E2BIG);
        assert_int_equal(l.n, 2);
        addrlist_done(&l);
        assert_null(l.items);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lists),
                cmocka_unit_test(test_errors),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
