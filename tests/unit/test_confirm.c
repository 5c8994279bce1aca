/* SPDX-License-Identifier: MIT */
/*
 * test_confirm - the queue id of the confirmation mail, from the reply texts of the
 * relays it meets: Postfix ("250 2.0.0 Ok: queued as 4ABC"), SES ("250 Ok 0100018c-..."),
 * and replies that carry none.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "confirm.h"

static void test_queue_id(void **state)
{
        static const struct {
                const char *reply, *want;
        } cases[] = {
                {"250 2.0.0 Ok: queued as 4XbYfR0Zq9z5Fv", "4XbYfR0Zq9z5Fv"},
                {"250 2.0.0 Ok: queued as 3A5B21C0E5", "3A5B21C0E5"},
                {"250 Ok 0100018c2a0b1c3d-6f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b-000000",
                 "0100018c2a0b1c3d-6f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b-000000"},
                {"250 2.0.0 Ok 7K2H1", "7K2H1"},
                {"250 OK id=1qXyZ-000123-AB", ""},
                {"250 Message accepted for delivery", ""},
                {"250 2.0.0 Ok: queued as ", ""},
                {"", ""},
        };

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                char got[64] = "unset";

                confirm_parse_queue_id(cases[i].reply, got, sizeof got);
                print_message("'%s' -> got '%s', want '%s'\n", cases[i].reply, got, cases[i].want);
                assert_string_equal(got, cases[i].want);
        }
}

static void test_queue_id_truncated(void **state)
{
        char got[8];

        (void)state;
        confirm_parse_queue_id("250 2.0.0 Ok: queued as ABCDEFGHIJKLMNOP", got, sizeof got);
        assert_string_equal(got, "ABCDEFG");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_queue_id),
                cmocka_unit_test(test_queue_id_truncated),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
