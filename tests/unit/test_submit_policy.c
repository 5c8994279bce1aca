/* SPDX-License-Identifier: MIT */
/*
 * test_submit_policy - who may submit and with which sender (relay/submit_policy.c):
 * list syntax, authorized_submit_users (empty = anyone, root always), trusted_users, and the
 * -f rule (own login, login@myorigin with any case in the domain, the null sender, the
 * default; nothing else unless trusted; no prefix tricks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "submit_policy.h"

static void test_lists(void **state)
{
        (void)state;
        assert_true(submit_user_listed("root, mailinit", "mailinit"));
        assert_true(submit_user_listed("root,mailinit  www-data", "www-data"));
        assert_false(submit_user_listed("root, mailinit", "mail"));
        assert_false(submit_user_listed("", "root"));
        assert_false(submit_user_listed(NULL, "root"));

        assert_true(submit_authorized("", "anyone", false));
        assert_true(submit_authorized(" , ", "anyone", false));
        assert_true(submit_authorized("www-data", "www-data", false));
        assert_false(submit_authorized("www-data", "mallory", false));
        assert_true(submit_authorized("www-data", "root", true));

        assert_true(submit_trusted("", "root", true));
        assert_true(submit_trusted("root, mailinit", "mailinit", false));
        assert_false(submit_trusted("root, mailinit", "alice", false));
}

static void test_sender(void **state)
{
        (void)state;
        assert_true(submit_sender_allowed(NULL, "alice", "example.com", false));
        assert_true(submit_sender_allowed("", "alice", "example.com", false));
        assert_true(submit_sender_allowed("alice", "alice", "example.com", false));
        assert_true(submit_sender_allowed("alice@example.com", "alice", "example.com", false));
        assert_true(submit_sender_allowed("alice@EXAMPLE.COM", "alice", "example.com", false));
        assert_false(submit_sender_allowed("Alice@example.com", "alice", "example.com", false));
        assert_false(submit_sender_allowed("alice@example.org", "alice", "example.com", false));
        assert_false(submit_sender_allowed("alicex@example.com", "alice", "example.com", false));
        assert_false(submit_sender_allowed("al@example.com", "alice", "example.com", false));
        assert_false(submit_sender_allowed("bob", "alice", "example.com", false));
        assert_false(submit_sender_allowed("alice@", "alice", "", false));
        assert_true(submit_sender_allowed("boss@example.com", "alice", "example.com", true));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lists),
                cmocka_unit_test(test_sender),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
