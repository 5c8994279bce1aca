/* SPDX-License-Identifier: MIT */
/*
 * test_secret_mask - the one place that masks secrets (common/secret_mask.c): registration,
 * masking of every occurrence, overlapping secrets (no part of the longer one may show),
 * the minimum length, the table limit and wiping. Each test starts from an empty table.
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

#include "secret_mask.h"

#define M SECRET_MASK_TEXT

static int clear_table(void **state)
{
        (void)state;
        secret_mask_clear();
        return 0;
}

/* want_masked - secret_mask_apply(text) must be exactly want */
static void want_masked(const char *text, const char *want)
{
        char *got = secret_mask_apply(text);

        assert_non_null(got);
        if (strcmp(got, want) != 0)
                fail_msg("secret_mask_apply(\"%s\"):\n  got  \"%s\"\n  want \"%s\"", text, got,
                         want);
        free(got);
}

static void test_mask_text_is_fixed(void **state)
{
        (void)state;
        /* the mask does not tell the secret's length */
        assert_string_equal(SECRET_MASK_TEXT, "********");
}

static void test_nothing_registered(void **state)
{
        (void)state;
        want_masked("smtp_password = hunter2-password", "smtp_password = hunter2-password");
        want_masked("", "");
        assert_int_equal(secret_mask_contains("hunter2-password"), 0);
        assert_null(secret_mask_apply(NULL));
        assert_int_equal(secret_mask_contains(NULL), 0);
}

static void test_add_apply_contains(void **state)
{
        (void)state;
        assert_int_equal(secret_mask_add("hunter2-password"), 0);
        want_masked("smtp_password = hunter2-password", "smtp_password = " M);
        want_masked("hunter2-password", M);
        want_masked("[hunter2-password]", "[" M "]");
        want_masked("hunter2-passwor", "hunter2-passwor");
        want_masked("HUNTER2-PASSWORD", "HUNTER2-PASSWORD"); /* exact bytes only */
        want_masked("", "");
        assert_int_equal(secret_mask_contains("x hunter2-password y"), 1);
        assert_int_equal(secret_mask_contains("hunter2-passwor"), 0);
        assert_int_equal(secret_mask_contains(""), 0);
}

static void test_several_occurrences(void **state)
{
        (void)state;
        assert_int_equal(secret_mask_add("s3cr3t"), 0);
        want_masked("a s3cr3t b s3cr3t", "a " M " b " M);
        want_masked("s3cr3ts3cr3t", M M);
        want_masked("s3cr3t s3cr3t s3cr3t\n", M " " M " " M "\n");
        want_masked("s3cr3s3cr3tt", "s3cr3" M "t");
}

static void test_several_secrets(void **state)
{
        (void)state;
        assert_int_equal(secret_mask_add("AKIAEXAMPLEKEY"), 0);
        assert_int_equal(secret_mask_add("session-token-value"), 0);
        want_masked("key=AKIAEXAMPLEKEY token=session-token-value key=AKIAEXAMPLEKEY",
                    "key=" M " token=" M " key=" M);
}

static void test_prefix_overlap(void **state)
{
        static const char *const orders[2][2] = {
                {"abcd1234", "abcd1234efgh"},
                {"abcd1234efgh", "abcd1234"},
        };
        (void)state;

        /* whichever was registered first, the longer secret is masked as a whole */
        for (int o = 0; o < 2; o++) {
                secret_mask_clear();
                assert_int_equal(secret_mask_add(orders[o][0]), 0);
                assert_int_equal(secret_mask_add(orders[o][1]), 0);
                want_masked("x abcd1234efgh y", "x " M " y");
                want_masked("x abcd1234 y", "x " M " y");
                want_masked("abcd1234efghabcd1234", M M);
        }
}

static void test_partial_overlap(void **state)
{
        static const char *const orders[2][2] = {
                {"1234abcd", "abcdWXYZ"},
                {"abcdWXYZ", "1234abcd"},
        };
        (void)state;

        /* one secret's end is the other's start: neither may show in part */
        for (int o = 0; o < 2; o++) {
                secret_mask_clear();
                assert_int_equal(secret_mask_add(orders[o][0]), 0);
                assert_int_equal(secret_mask_add(orders[o][1]), 0);
                want_masked("<1234abcdWXYZ>", "<" M ">");
                want_masked("1234abcd abcdWXYZ", M " " M);
        }
        /* a chain of three */
        secret_mask_clear();
        assert_int_equal(secret_mask_add("aaaaBBBB"), 0);
        assert_int_equal(secret_mask_add("BBBBcccc"), 0);
        assert_int_equal(secret_mask_add("ccccDDDD"), 0);
        want_masked("-aaaaBBBBccccDDDD-", "-" M "-");
}

static void test_contained_secret(void **state)
{
        (void)state;
        assert_int_equal(secret_mask_add("LONG"), 0);
        assert_int_equal(secret_mask_add("SECRETLONGVALUE"), 0);
        want_masked("v=SECRETLONGVALUE", "v=" M);
        want_masked("v=LONG", "v=" M);
}

static void test_short_secrets_not_registered(void **state)
{
        (void)state;
        assert_int_equal(secret_mask_add("abc"), 0);
        assert_int_equal(secret_mask_add("a"), 0);
        assert_int_equal(secret_mask_add(""), 0);
        assert_int_equal(secret_mask_add(NULL), 0);
        want_masked("abc a cab", "abc a cab");
        assert_int_equal(secret_mask_contains("abc"), 0);
        /* four bytes is the minimum */
        assert_int_equal(secret_mask_add("abcd"), 0);
        want_masked("abc abcd", "abc " M);
}

static void test_duplicates_and_table_full(void **state)
{
        char name[32];

        (void)state;
        for (int i = 0; i < 100; i++)
                assert_int_equal(secret_mask_add("same-secret"), 0);
        /* 32 entries; the duplicates above took one */
        for (int i = 1; i < 32; i++) {
                (void)snprintf(name, sizeof name, "secret-%02d", i);
                assert_int_equal(secret_mask_add(name), 0);
        }
        assert_int_equal(secret_mask_add("one-too-many"), -ENOSPC);
        want_masked("one-too-many secret-31 same-secret", "one-too-many " M " " M);
        /* an already known secret is still fine when full */
        assert_int_equal(secret_mask_add("secret-07"), 0);
        secret_mask_clear();
        want_masked("secret-31 same-secret", "secret-31 same-secret");
        assert_int_equal(secret_mask_add("one-too-many"), 0);
        want_masked("one-too-many", M);
}

static void test_clear(void **state)
{
        (void)state;
        assert_int_equal(secret_mask_add("hunter2-password"), 0);
        assert_int_equal(secret_mask_contains("hunter2-password"), 1);
        secret_mask_clear();
        assert_int_equal(secret_mask_contains("hunter2-password"), 0);
        want_masked("hunter2-password", "hunter2-password");
        secret_mask_clear(); /* twice is fine */
}

static void test_growth(void **state)
{
        /* 4-byte secrets become 8-byte masks: the output is twice the input */
        size_t n = 1000;
        char *text = malloc(4 * n + 1), *got;

        (void)state;
        assert_non_null(text);
        for (size_t i = 0; i < n; i++)
                memcpy(text + 4 * i, "wxyz", 4);
        text[4 * n] = '\0';
        assert_int_equal(secret_mask_add("wxyz"), 0);
        got = secret_mask_apply(text);
        assert_non_null(got);
        assert_int_equal(strlen(got), 8 * n);
        for (size_t i = 0; i < 8 * n; i++)
                if (got[i] != '*')
                        fail_msg("byte %zu is '%c'", i, got[i]);
        free(got);
        free(text);
}

static void test_wipe_and_free(void **state)
{
        char buf[16];
        char *s = strdup("to-be-wiped");

        (void)state;
        memset(buf, 'x', sizeof buf);
        secret_wipe(buf, sizeof buf);
        for (size_t i = 0; i < sizeof buf; i++)
                assert_int_not_equal(buf[i], 'x');
        secret_wipe(NULL, 10);
        secret_wipe(buf, 0);
        assert_non_null(s);
        assert_null(secret_free(s));
        assert_null(secret_free(NULL));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_mask_text_is_fixed, clear_table, clear_table),
                cmocka_unit_test_setup_teardown(test_nothing_registered, clear_table, clear_table),
                cmocka_unit_test_setup_teardown(test_add_apply_contains, clear_table, clear_table),
                cmocka_unit_test_setup_teardown(test_several_occurrences, clear_table, clear_table),
                cmocka_unit_test_setup_teardown(test_several_secrets, clear_table, clear_table),
                cmocka_unit_test_setup_teardown(test_prefix_overlap, clear_table, clear_table),
                cmocka_unit_test_setup_teardown(test_partial_overlap, clear_table, clear_table),
                cmocka_unit_test_setup_teardown(test_contained_secret, clear_table, clear_table),
                cmocka_unit_test_setup_teardown(test_short_secrets_not_registered, clear_table,
                                                clear_table),
                cmocka_unit_test_setup_teardown(test_duplicates_and_table_full, clear_table,
                                                clear_table),
                cmocka_unit_test_setup_teardown(test_clear, clear_table, clear_table),
                cmocka_unit_test_setup_teardown(test_growth, clear_table, clear_table),
                cmocka_unit_test_setup_teardown(test_wipe_and_free, clear_table, clear_table),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
