/* SPDX-License-Identifier: MIT */
/*
 * test_smtp_secret - the secret formats of the SPEC, and that no error message quotes the
 * secret. Derived passwords are checked against the values computed independently in
 * reference/aws-smtp-facts.md (matching PhpAwsSmtpPassword's published test).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "secret_mask.h"
#include "secrets.h"
#include "smtp_secret.h"

struct format_case {
        const char *json;
        int want_r;
        const char *want_user;
        const char *want_password;
        const char *want_why; /* substring of the message */
};

static const struct format_case format_cases[] = {
        {"{\"smtp_username\":\"AKIAUSER\",\"smtp_password\":\"BPassWord1234\"}", 0, "AKIAUSER",
         "BPassWord1234", NULL},
        {"{\"username\":\"u1\",\"password\":\"p1p1p1\"}", 0, "u1", "p1p1p1", NULL},
        {"{\"smtp_username\":\"u\",\"password\":\"mixed-ok\"}", 0, "u", "mixed-ok", NULL},
        {"{\"access_key_id\":\"AKIAEXAMPLE\",\"secret_access_key\":\"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"}",
         0, "AKIAEXAMPLE", "BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38Pk", NULL},
        {"", -EBADMSG, NULL, NULL, "empty string"},
        {"not json", -EBADMSG, NULL, NULL, "not valid JSON (line 1"},
        {"[\"a\"]", -EBADMSG, NULL, NULL, "not an object"},
        {"\"hunter2hunter2\"", -EBADMSG, NULL, NULL, "not an object"},
        {"{}", -EBADMSG, NULL, NULL, "neither smtp_username"},
        {"{\"smtp_username\":\"u\"}", -EBADMSG, NULL, NULL, "neither smtp_username"},
        {"{\"smtp_username\":\"u\",\"smtp_password\":\"\"}", -EBADMSG, NULL, NULL,
         "\"smtp_password\" is empty"},
        {"{\"smtp_username\":\"u\",\"smtp_password\":42}", -EBADMSG, NULL, NULL,
         "\"smtp_password\" is not a string"},
        {"{\"smtp_username\":\"u\",\"smtp_password\":\"a\\nb-secret\"}", -EBADMSG, NULL, NULL,
         "control characters"},
        {"{\"smtp_username\":\"u\",\"smtp_password\":\"x\",\"smtp_password\":\"y\"}", -EBADMSG,
         NULL, NULL, "not valid JSON"},
        {"{\"access_key_id\":\"AKIA\"}", -EBADMSG, NULL, NULL, "neither smtp_username"},
};

static void test_formats(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof format_cases / sizeof format_cases[0]; i++) {
                const struct format_case *c = &format_cases[i];
                struct smtp_credentials creds = {0};
                char why[SMTP_SECRET_ERROR_MAX] = "";
                int r = smtp_secret_parse(c->json, strlen(c->json), "eu-west-1", &creds, why,
                                          sizeof why);

                print_message("case %zu: %s -> r=%d why='%s'\n", i, c->json, r, why);
                assert_int_equal(r, c->want_r);
                if (r == 0) {
                        assert_string_equal(creds.username, c->want_user);
                        assert_string_equal(creds.password, c->want_password);
                        assert_true(secret_mask_contains(creds.password));
                } else {
                        assert_non_null(strstr(why, c->want_why));
                }
                smtp_credentials_done(&creds);
        }
}

/* An error about a secret never repeats any part of the secret's values. */
static void test_messages_do_not_quote_values(void **state)
{
        static const char *const inputs[] = {
                "{\"smtp_username\":\"u\",\"smtp_password\":\"\\u0001SuperSecretValue\"}",
                "{\"smtp_user\":\"SuperSecretValue\"}",
                "SuperSecretValue",
                "{\"smtp_username\":\"u\",\"smtp_password\":\"SuperSecretValue\",",
        };

        (void)state;
        for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
                struct smtp_credentials creds = {0};
                char why[SMTP_SECRET_ERROR_MAX] = "";

                assert_int_equal(smtp_secret_parse(inputs[i], strlen(inputs[i]), "us-east-1",
                                                   &creds, why, sizeof why),
                                 -EBADMSG);
                print_message("why: %s\n", why);
                assert_null(strstr(why, "SuperSecret"));
        }
}

static void test_derived_per_region(void **state)
{
        static const struct {
                const char *region, *want;
        } cases[] = {
                {"us-east-1", "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9"},
                {"us-west-2", "BF2PynzbSCAjX08zhZZnP/kW+T9P5zs/1Er0pi5vTEmd"},
        };
        const char *json = "{\"access_key_id\":\"AKIAEXAMPLE\",\"secret_access_key\":"
                           "\"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"}";

        (void)state;
        for (size_t i = 0; i < 2; i++) {
                struct smtp_credentials creds = {0};
                char why[SMTP_SECRET_ERROR_MAX];

                assert_int_equal(smtp_secret_parse(json, strlen(json), cases[i].region, &creds, why,
                                                   sizeof why),
                                 0);
                assert_string_equal(creds.password, cases[i].want);
                assert_int_equal(creds.derived, 1);
                smtp_credentials_done(&creds);
        }
}

static void test_error_code_from_type(void **state)
{
        static const struct {
                const char *type, *want;
        } cases[] = {
                {"ResourceNotFoundException", "ResourceNotFoundException"},
                {"com.amazonaws.secretsmanager#ResourceNotFoundException",
                 "ResourceNotFoundException"},
                {"ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.secretsmanager/",
                 "ResourceNotFoundException"},
                {"aws.protocoltests#FooError:http://internal.amazon.com/coral/com.amazon.coral.validate/",
                 "FooError"},
                {"", ""},
                {"#", ""},
        };

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                char got[128];

                secrets_error_code_from_type(cases[i].type, got, sizeof got);
                print_message("'%s' -> got '%s', want '%s'\n", cases[i].type, got, cases[i].want);
                assert_string_equal(got, cases[i].want);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_formats),
                cmocka_unit_test(test_messages_do_not_quote_values),
                cmocka_unit_test(test_derived_per_region),
                cmocka_unit_test(test_error_code_from_type),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
