/* SPDX-License-Identifier: MIT */
/*
 * test_ses_smtp_password - common/ses_smtp_password.c. The known answers for the SES
 * documentation's example secret come from outside this code: they match the expected values
 * of independent public implementations (the PHP PhpAwsSmtpPassword tests, Drupal az_quickstart
 * for us-west-2) and a Python hmac/hashlib computation. Then the refused inputs, which leave
 * the output untouched.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ses_smtp_password.h"

/* clang-format off: cmocka.h needs <setjmp.h>, <stdarg.h>, <stddef.h>, <stdint.h> first */
#include <cmocka.h>
/* clang-format on */

/* The SES developer guide's example secret (note "/bPxRfi", not the SigV4 suite's "+bPxRfi"). */
#define DOC_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

struct known_case {
        const char *region;
        const char *want;
};

static void test_known_values(void **state)
{
        static const struct known_case known[] = {
                {"us-east-1", "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9"},
                {"us-west-2", "BF2PynzbSCAjX08zhZZnP/kW+T9P5zs/1Er0pi5vTEmd"},
                {"eu-west-1", "BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38Pk"},
        };
        char got[SES_SMTP_PASSWORD_SIZE];

        (void)state;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
                int r = ses_smtp_password(DOC_SECRET, known[i].region, got, sizeof got);

                if (r != 0)
                        fail_msg("%s: got r=%d, want 0", known[i].region, r);
                if (strcmp(got, known[i].want) != 0)
                        fail_msg("%s: got %s, want %s", known[i].region, got, known[i].want);
                assert_int_equal(strlen(got), SES_SMTP_PASSWORD_LEN);
        }
}

static void test_exact_buffer(void **state)
{
        char big[64];

        (void)state;
        memset(big, 'x', sizeof big);
        assert_int_equal(ses_smtp_password(DOC_SECRET, "us-east-1", big, SES_SMTP_PASSWORD_SIZE),
                         0);
        assert_string_equal(big, "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9");
        assert_int_equal(big[SES_SMTP_PASSWORD_SIZE], 'x'); /* nothing written past out_size */
}

struct refused_case {
        const char *secret;
        const char *region;
        size_t size;
        int want_r;
};

static void test_refused(void **state)
{
        static const struct refused_case refused[] = {
                {DOC_SECRET, "us-east-1", SES_SMTP_PASSWORD_SIZE - 1, -ENOBUFS},
                {DOC_SECRET, "us-east-1", 0, -ENOBUFS},
                {"", "us-east-1", SES_SMTP_PASSWORD_SIZE, -EINVAL},
                {NULL, "us-east-1", SES_SMTP_PASSWORD_SIZE, -EINVAL},
                {DOC_SECRET, "", SES_SMTP_PASSWORD_SIZE, -EINVAL},
                {DOC_SECRET, NULL, SES_SMTP_PASSWORD_SIZE, -EINVAL},
                {DOC_SECRET, "US-EAST-1", SES_SMTP_PASSWORD_SIZE, -EINVAL},
                {DOC_SECRET, "us_east_1", SES_SMTP_PASSWORD_SIZE, -EINVAL},
                {DOC_SECRET, "us-east-1 ", SES_SMTP_PASSWORD_SIZE, -EINVAL},
                {DOC_SECRET, "us-east-1/x", SES_SMTP_PASSWORD_SIZE, -EINVAL},
                {DOC_SECRET, "a-region-name-that-is-far-too-long", SES_SMTP_PASSWORD_SIZE, -EINVAL},
        };
        char out[SES_SMTP_PASSWORD_SIZE];

        (void)state;
        for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
                const struct refused_case *c = &refused[i];
                int r;

                memset(out, 'x', sizeof out);
                r = ses_smtp_password(c->secret, c->region, out, c->size);
                if (r != c->want_r)
                        fail_msg("case %zu (region '%s'): got r=%d, want %d", i,
                                 c->region ? c->region : "(null)", r, c->want_r);
                for (size_t j = 0; j < sizeof out; j++)
                        if (out[j] != 'x')
                                fail_msg("case %zu: failed but wrote out[%zu]", i, j);
        }
        assert_int_equal(ses_smtp_password(DOC_SECRET, "us-east-1", NULL, 64), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_known_values),
                cmocka_unit_test(test_exact_buffer),
                cmocka_unit_test(test_refused),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
