/* SPDX-License-Identifier: MIT */
/*
 * test_smtp_client - smtp_client_classify (relay/smtp_client.c): the delivery class of a
 * reply. The texts are SES's own (troubleshoot-smtp.md, /work/shared/reference/
 * aws-smtp-facts.md 2.5) and RFC 4954's; the wanted classes follow SPEC.md: 4xx defers,
 * 5xx bounces, authentication failures (535, 454 Temporary authentication failure) defer
 * and re-read the credentials, never bounce. Texts are passed both as "DDD text" (what the
 * client formats) and without the code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "smtp_client.h"

struct classify_case {
        int code;
        const char *text;
        enum delivery_class want;
};

static const char *name(enum delivery_class cls)
{
        switch (cls) {
        case DELIVERY_OK:
                return "OK";
        case DELIVERY_TEMPFAIL:
                return "TEMPFAIL";
        case DELIVERY_PERMFAIL:
                return "PERMFAIL";
        case DELIVERY_AUTHFAIL:
                return "AUTHFAIL";
        }
        return "?";
}

static void check(const struct classify_case *cases, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                const struct classify_case *c = &cases[i];
                enum delivery_class got = smtp_client_classify(c->code, c->text);

                if (got != c->want)
                        fail_msg("smtp_client_classify(%d, \"%s\"): got %s, want %s", c->code,
                                 c->text ? c->text : "(null)", name(got), name(c->want));
        }
}

static void test_success(void **state)
{
        static const struct classify_case cases[] = {
                {250, "250 Ok", DELIVERY_OK},
                {250, "250 Ok 010001a220b494b8-aac4892f-cc61-4cb5-9713-b89afe4bdd89-000000",
                 DELIVERY_OK},
                {235, "235 Authentication successful.", DELIVERY_OK},
                {220, "email-smtp.amazonaws.com ESMTP SimpleEmailService", DELIVERY_OK},
                {251, "251 User not local; will forward", DELIVERY_OK},
                {200, NULL, DELIVERY_OK},
                {299, "", DELIVERY_OK},
        };
        (void)state;
        check(cases, sizeof cases / sizeof cases[0]);
}

static void test_ses_tempfail(void **state)
{
        static const struct classify_case cases[] = {
                {421, "421 Too many concurrent SMTP connections", DELIVERY_TEMPFAIL},
                {451, "451 Temporary service failure", DELIVERY_TEMPFAIL},
                {451, "451 Timeout waiting for data from client", DELIVERY_TEMPFAIL},
                {451, "451 4.4.2 Timeout waiting for data from client", DELIVERY_TEMPFAIL},
                {454, "454 Throttling failure: Daily message quota exceeded", DELIVERY_TEMPFAIL},
                {454, "454 Throttling failure: Maximum sending rate exceeded", DELIVERY_TEMPFAIL},
                {454, "Throttling failure: Maximum sending rate exceeded", DELIVERY_TEMPFAIL},
                {454, "454 Temporary service failure", DELIVERY_TEMPFAIL},
                /* RFC 3207: STARTTLS unavailable is 4.7.0, but not about authentication */
                {454, "454 4.7.0 TLS not available due to temporary reason", DELIVERY_TEMPFAIL},
                /* 4.7.x without "auth" (Postfix policy deferrals) */
                {450, "450 4.7.1 Client host rejected: cannot find your hostname",
                 DELIVERY_TEMPFAIL},
                {452, "452 4.5.3 Too many recipients", DELIVERY_TEMPFAIL},
                {400, NULL, DELIVERY_TEMPFAIL},
        };
        (void)state;
        check(cases, sizeof cases / sizeof cases[0]);
}

static void test_authfail(void **state)
{
        static const struct classify_case cases[] = {
                {535, "535 Authentication Credentials Invalid", DELIVERY_AUTHFAIL},
                {535, "535 Account not subscribed to SES", DELIVERY_AUTHFAIL},
                {535, "535 5.7.8 Authentication credentials invalid", DELIVERY_AUTHFAIL},
                {534, "534 5.7.9 Authentication mechanism is too weak", DELIVERY_AUTHFAIL},
                {530, "530 Authentication required", DELIVERY_AUTHFAIL},
                {530, "530 Must issue a STARTTLS command first", DELIVERY_AUTHFAIL},
                {530, "530 5.7.0 Authentication required", DELIVERY_AUTHFAIL},
                {535, NULL, DELIVERY_AUTHFAIL},
                /* SES's temporary authentication failure, with or without the code */
                {454, "454 Temporary authentication failure", DELIVERY_AUTHFAIL},
                {454, "Temporary authentication failure", DELIVERY_AUTHFAIL},
                {454, "454 TEMPORARY AUTHENTICATION FAILURE", DELIVERY_AUTHFAIL},
                /* RFC 4954 6: 454 4.7.0 Temporary authentication failure */
                {454, "454 4.7.0 Temporary authentication failure", DELIVERY_AUTHFAIL},
                /* enhanced 4.7.x and "auth" on another 4xx */
                {432, "432 4.7.12 A password transition is needed (auth)", DELIVERY_AUTHFAIL},
                {451, "451 4.7.0 Auth backend unavailable", DELIVERY_AUTHFAIL},
                {421, "4.7.0 authentication service down", DELIVERY_AUTHFAIL},
        };
        (void)state;
        check(cases, sizeof cases / sizeof cases[0]);
}

static void test_permfail(void **state)
{
        static const struct classify_case cases[] = {
                {552, "552 Message is too long.", DELIVERY_PERMFAIL},
                {552, "552 5.3.4 message size exceeds the relayhost's limit", DELIVERY_PERMFAIL},
                {553, "553 <bad@> Invalid email address", DELIVERY_PERMFAIL},
                {553, "553 5.6.7 the relayhost does not support SMTPUTF8", DELIVERY_PERMFAIL},
                {554,
                 "554 Message rejected: Email address is not verified. The following identities "
                 "failed the check in region EU-WEST-1: a@example.com",
                 DELIVERY_PERMFAIL},
                /* "authorized" is not an authentication failure of ours, and 5xx bounces */
                {554,
                 "554 Access denied: User arn:aws:iam::123456789012:user/x is not authorized to "
                 "perform ses:SendRawEmail",
                 DELIVERY_PERMFAIL},
                {550, "550 5.1.1 <nobody@example.com>: Recipient address rejected",
                 DELIVERY_PERMFAIL},
                {554, "554 Transaction failed: Recipient count exceeds 50.", DELIVERY_PERMFAIL},
                /* 5.7.x "auth" on a code other than 530/534/535 is the contract's 5xx */
                {550, "550 5.7.1 authentication required for relay", DELIVERY_PERMFAIL},
                {500, NULL, DELIVERY_PERMFAIL},
                {599, "", DELIVERY_PERMFAIL},
        };
        (void)state;
        check(cases, sizeof cases / sizeof cases[0]);
}

static void test_no_final_reply(void **state)
{
        /* No reply (0), a preliminary or intermediate one where a final one was due, or a
         * code out of range: nothing to bounce on. */
        static const struct classify_case cases[] = {
                {0, "", DELIVERY_TEMPFAIL},
                {0, NULL, DELIVERY_TEMPFAIL},
                {354, "354 End data with <CR><LF>.<CR><LF>", DELIVERY_TEMPFAIL},
                {334, "VXNlcm5hbWU6", DELIVERY_TEMPFAIL},
                {199, "199 what", DELIVERY_TEMPFAIL},
                {600, "600 what", DELIVERY_TEMPFAIL},
                {-1, NULL, DELIVERY_TEMPFAIL},
        };
        (void)state;
        check(cases, sizeof cases / sizeof cases[0]);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_success),        cmocka_unit_test(test_ses_tempfail),
                cmocka_unit_test(test_authfail),       cmocka_unit_test(test_permfail),
                cmocka_unit_test(test_no_final_reply),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
