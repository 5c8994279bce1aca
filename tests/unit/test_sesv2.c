/* SPDX-License-Identifier: MIT */
/*
 * test_sesv2 - the SES API v2 client's pure parts: the endpoint from the SDK environment
 * variables, the SendEmail body (checked by decoding it with jansson and OpenSSL, not with
 * the code under test), and the verdict for each answer of botocore's sesv2 model (status
 * codes from the model, error types as the service sends them: x-amzn-ErrorType with a
 * ":url" suffix, or "__type" with a "namespace#" prefix).
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
#include <jansson.h>
#include <openssl/evp.h>

#include "buf.h"
#include "sesv2.h"

static void test_endpoint(void **state)
{
        char *e;

        (void)state;
        unsetenv("AWS_ENDPOINT_URL_SESV2");
        unsetenv("AWS_ENDPOINT_URL");
        unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
        e = sesv2_endpoint("eu-west-1");
        assert_string_equal(e, "https://email.eu-west-1.amazonaws.com");
        free(e);
        e = sesv2_endpoint("cn-northwest-1");
        assert_string_equal(e, "https://email.cn-northwest-1.amazonaws.com.cn");
        free(e);
        setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1/", 1);
        e = sesv2_endpoint("eu-west-1");
        assert_string_equal(e, "http://127.0.0.1:1/");
        free(e);
        /* the service's own variable wins */
        setenv("AWS_ENDPOINT_URL_SESV2", "https://ses.example.test:8443", 1);
        e = sesv2_endpoint("eu-west-1");
        assert_string_equal(e, "https://ses.example.test:8443");
        free(e);
        setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
        e = sesv2_endpoint("us-east-1");
        assert_string_equal(e, "https://email.us-east-1.amazonaws.com");
        free(e);
        unsetenv("AWS_ENDPOINT_URL_SESV2");
        unsetenv("AWS_ENDPOINT_URL");
        unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
}

/* decode_base64 - OpenSSL's decoder, with the padding taken off the length */
static unsigned char *decode_base64(const char *in, size_t *ret_len)
{
        size_t n = strlen(in);
        unsigned char *out = malloc(n / 4 * 3 + 1);
        int w;

        assert_non_null(out);
        w = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
        assert_true(w >= 0);
        if (n >= 1 && in[n - 1] == '=')
                w--;
        if (n >= 2 && in[n - 2] == '=')
                w--;
        *ret_len = (size_t)w;
        return out;
}

static void check_body(const struct sesv2_message *m)
{
        struct buf b;
        json_error_t jerr;
        json_t *doc, *to;
        const char *data;
        unsigned char *raw;
        size_t raw_len;

        buf_init(&b, (size_t)sesv2_request_size(m) + 1);
        assert_int_equal(sesv2_build_send_email(m, &b), 0);
        assert_true(b.len <= sesv2_request_size(m));
        doc = json_loadb(b.data, b.len, 0, &jerr);
        assert_non_null(doc);
        if (m->sender[0])
                assert_string_equal(json_string_value(json_object_get(doc, "FromEmailAddress")),
                                    m->sender);
        else
                assert_null(json_object_get(doc, "FromEmailAddress"));
        to = json_object_get(json_object_get(doc, "Destination"), "ToAddresses");
        assert_int_equal(json_array_size(to), m->n_recipients);
        for (size_t i = 0; i < m->n_recipients; i++)
                assert_string_equal(json_string_value(json_array_get(to, i)), m->recipients[i]);
        data = json_string_value(
                json_object_get(json_object_get(json_object_get(doc, "Content"), "Raw"), "Data"));
        assert_non_null(data);
        raw = decode_base64(data, &raw_len);
        assert_int_equal(raw_len, m->raw_len);
        assert_memory_equal(raw, m->raw, m->raw_len);
        free(raw);
        json_decref(doc);
        buf_done(&b);
}

static void test_build(void **state)
{
        static const char *const rcpts[] = {"a@example.net", "\"odd \\\"quoted\\\"\"@example.org",
                                            "bcc@example.com"};
        static const char msg[] = "From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n";
        unsigned char *big = malloc(200 * 1024 + 1);
        struct sesv2_message m = {
                .sender = "sender@example.com",
                .recipients = rcpts,
                .n_recipients = 3,
                .raw = msg,
                .raw_len = sizeof msg - 1,
        };

        (void)state;
        check_body(&m);
        /* the null sender: no FromEmailAddress (SES takes the From header) */
        m.sender = "";
        check_body(&m);
        /* every length modulo 3, binary bytes, past one base64 chunk */
        assert_non_null(big);
        for (size_t i = 0; i < 200 * 1024 + 1; i++)
                big[i] = (unsigned char)(i * 7 + 3);
        for (size_t len = 0; len < 4; len++) {
                m.raw = big;
                m.raw_len = 200 * 1024 - 2 + len;
                check_body(&m);
        }
        m.raw_len = 0;
        check_body(&m);
        free(big);
}

static void test_build_errors(void **state)
{
        const char *many[SESV2_RECIPIENTS_MAX + 1];
        const char *bad[] = {"bad\xff@example.net"};
        struct sesv2_message m = {.sender = "s@example.com", .raw = "x", .raw_len = 1};
        struct buf b;

        (void)state;
        for (size_t i = 0; i < SESV2_RECIPIENTS_MAX + 1; i++)
                many[i] = "r@example.net";
        buf_init(&b, 1 << 20);
        m.recipients = many;
        m.n_recipients = 0;
        assert_int_equal(sesv2_build_send_email(&m, &b), -EINVAL);
        m.n_recipients = SESV2_RECIPIENTS_MAX + 1;
        assert_int_equal(sesv2_build_send_email(&m, &b), -EINVAL);
        m.n_recipients = SESV2_RECIPIENTS_MAX;
        buf_reset(&b);
        assert_int_equal(sesv2_build_send_email(&m, &b), 0);
        buf_reset(&b);
        m.recipients = bad;
        m.n_recipients = 1;
        assert_int_equal(sesv2_build_send_email(&m, &b), -EINVAL);
        buf_done(&b);
        /* a buffer too small for the message */
        buf_init(&b, 16);
        m.recipients = many;
        assert_int_equal(sesv2_build_send_email(&m, &b), -EFBIG);
        buf_done(&b);
}

#define SESV2_NS  "com.amazonaws.sesv2#"
#define CORAL_URL ":http://internal.amazon.com/coral/com.amazonaws.sesv2/"

static void test_parse(void **state)
{
        static const struct {
                long status;
                const char *header;
                const char *body;
                enum sesv2_verdict want;
                const char *want_code;
                const char *want_id_or_message;
                bool daily_quota, account_problem;
        } cases[] = {
                {200, "", "{\"MessageId\":\"0102018c-abc-000000\"}", SESV2_SENT, "",
                 "0102018c-abc-000000", false, false},
                {200, "", "", SESV2_SENT, "", "", false, false},
                {429, "TooManyRequestsException" CORAL_URL,
                 "{\"message\":\"Too many requests have been made to the operation.\"}",
                 SESV2_DEFER, "TooManyRequestsException",
                 "Too many requests have been made to the operation.", false, false},
                {429, "", "", SESV2_DEFER, "", "HTTP 429 with no body", false, false},
                {400, "LimitExceededException" CORAL_URL,
                 "{\"message\":\"Daily message quota exceeded.\"}", SESV2_DEFER,
                 "LimitExceededException", "Daily message quota exceeded.", true, false},
                {400, "MessageRejected" CORAL_URL,
                 "{\"message\":\"Email address is not verified.\"}", SESV2_BOUNCE,
                 "MessageRejected", "Email address is not verified.", false, false},
                {400, "", "{\"__type\":\"" SESV2_NS "MessageRejected\",\"message\":\"virus\"}",
                 SESV2_BOUNCE, "MessageRejected", "virus", false, false},
                {400, "MailFromDomainNotVerifiedException", "{}", SESV2_BOUNCE,
                 "MailFromDomainNotVerifiedException", "", false, false},
                {400, "BadRequestException" CORAL_URL, "{\"message\":\"Missing final '@domain'\"}",
                 SESV2_BOUNCE, "BadRequestException", "Missing final '@domain'", false, false},
                {404, "NotFoundException" CORAL_URL, "{\"message\":\"no such set\"}", SESV2_BOUNCE,
                 "NotFoundException", "no such set", false, false},
                /* a 404 page that is not SES's: defer */
                {404, "", "<html>Not Found</html>", SESV2_DEFER, "",
                 "HTTP 404 with a body that is not JSON", false, false},
                {400, "SendingPausedException" CORAL_URL, "{\"message\":\"paused\"}", SESV2_DEFER,
                 "SendingPausedException", "paused", false, true},
                {400, "AccountSuspendedException" CORAL_URL, "{}", SESV2_DEFER,
                 "AccountSuspendedException", "", false, true},
                {403, "AccessDeniedException" CORAL_URL,
                 "{\"message\":\"not authorized to perform: ses:SendEmail\"}", SESV2_DEFER,
                 "AccessDeniedException", "not authorized to perform: ses:SendEmail", false, true},
                {403, "ExpiredTokenException" CORAL_URL, "{\"message\":\"expired\"}", SESV2_REFRESH,
                 "ExpiredTokenException", "expired", false, false},
                {403, "", "{\"code\":\"InvalidClientTokenId\"}", SESV2_REFRESH,
                 "InvalidClientTokenId", "", false, false},
                {403, "UnrecognizedClientException", "{}", SESV2_REFRESH,
                 "UnrecognizedClientException", "", false, false},
                {403, "InvalidSignatureException" CORAL_URL,
                 "{\"message\":\"Signature expired: 20261128T100000Z is now earlier than 20261128T105500Z\"}",
                 SESV2_SKEW, "InvalidSignatureException",
                 "Signature expired: 20261128T100000Z is now earlier than 20261128T105500Z", false,
                 false},
                {403, "InvalidSignatureException", "{\"message\":\"Signature not yet current\"}",
                 SESV2_SKEW, "InvalidSignatureException", "Signature not yet current", false,
                 false},
                {403, "InvalidSignatureException", "{\"message\":\"does not match\"}", SESV2_DEFER,
                 "InvalidSignatureException", "does not match", false, false},
                {500, "InternalFailure", "{}", SESV2_DEFER, "InternalFailure", "", false, false},
                {503, "", "<html>Service Unavailable</html>", SESV2_DEFER, "",
                 "HTTP 503 with a body that is not JSON", false, false},
                /* an unknown error: defer, never bounce on a misunderstanding */
                {400, "SomethingNewException", "{}", SESV2_DEFER, "SomethingNewException", "",
                 false, false},
                /* control characters never reach a log line */
                {400, "MessageRejected", "{\"message\":\"a\\r\\nb\"}", SESV2_BOUNCE,
                 "MessageRejected", "a  b", false, false},
        };

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct sesv2_result r;

                sesv2_parse_response(cases[i].status, cases[i].body, strlen(cases[i].body),
                                     cases[i].header, &r);
                print_message("case %zu: status %ld -> verdict %d code '%s' message '%s'\n", i,
                              cases[i].status, r.verdict, r.error_code, r.message);
                assert_int_equal(r.verdict, cases[i].want);
                assert_int_equal(r.status, cases[i].status);
                assert_string_equal(r.error_code, cases[i].want_code);
                if (cases[i].want == SESV2_SENT && cases[i].want_id_or_message[0])
                        assert_string_equal(r.message_id, cases[i].want_id_or_message);
                else if (cases[i].want != SESV2_SENT)
                        assert_string_equal(r.message, cases[i].want_id_or_message);
                assert_int_equal(r.daily_quota, cases[i].daily_quota);
                assert_int_equal(r.account_problem, cases[i].account_problem);
        }
}

static int no_credentials(void *userdata, bool refresh, const struct aws_credentials **ret,
                          char *why, size_t why_size)
{
        int *calls = userdata;

        (void)refresh;
        (void)ret;
        (*calls)++;
        (void)snprintf(why, why_size, "no instance role");
        return -ENOENT;
}

/* sesv2_send_email's verdicts that need no network: a message too large for SES bounces before
 * anything is asked or sent; no credentials defers, naming why */
static void test_send_without_network(void **state)
{
        static const char *const rcpts[] = {"a@example.net"};
        /* 30 000 001 bytes are 40 000 004 in base64: over SES's 40 MB */
        size_t big_len = 30000001;
        char *big = calloc(1, big_len);
        int calls = 0;
        struct sesv2_client_options o = {
                .endpoint = "http://127.0.0.1:9/base/",
                .region = "eu-west-1",
                .get_credentials = no_credentials,
                .userdata = &calls,
        };
        struct sesv2_message m = {
                .sender = "s@example.com",
                .recipients = rcpts,
                .n_recipients = 1,
                .raw = big,
                .raw_len = big_len,
        };
        struct sesv2_client *c = NULL;
        struct sesv2_result r;

        (void)state;
        assert_non_null(big);
        assert_int_equal(sesv2_client_new(&o, &c), 0);
        assert_string_equal(sesv2_client_host(c), "127.0.0.1");
        assert_string_equal(sesv2_client_peer(c), "127.0.0.1");
        assert_int_equal(sesv2_send_email(c, &m, &r), 0);
        assert_int_equal(r.verdict, SESV2_BOUNCE);
        assert_string_equal(r.error_code, "MessageTooLarge");
        assert_int_equal(calls, 0);
        m.raw_len = 29999999; /* 40 000 000 in base64: fits */
        assert_int_equal(sesv2_send_email(c, &m, &r), 0);
        assert_int_equal(r.verdict, SESV2_DEFER);
        assert_true(r.account_problem);
        assert_int_equal(calls, 1);
        assert_non_null(
                strstr(r.message, "no AWS credentials to sign the request: no instance role"));
        free(big);
        assert_null(sesv2_client_free(c));
        /* an endpoint that is not an http(s) URL */
        o.endpoint = "ftp://example.com";
        assert_int_equal(sesv2_client_new(&o, &c), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_endpoint),
                cmocka_unit_test(test_build),
                cmocka_unit_test(test_build_errors),
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_send_without_network),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
