/* SPDX-License-Identifier: MIT */
/*
 * fuzz_secrets - secrets_parse_answer() (common/secrets.c), the reading of one Secrets
 * Manager GetSecretValue answer, on arbitrary bytes. The input is an answer: its first byte
 * picks the HTTP status, the bytes up to the first LF are the x-amzn-ErrorType header, the
 * rest is the body (the service's JSON: SecretString / SecretBinary, or __type and message).
 * The contract, checked with abort() (release builds define NDEBUG): the verdict is one of
 * the four; success only on a 200, with a NUL-terminated secret of the stated length or a
 * binary one; every failure has a message and an error code free of '#' and ':' prefixes and
 * suffixes; the message never quotes the SecretString. secrets_error_code_from_type() runs on
 * the header too, with small output sizes. Everything is wiped and freed, for LeakSanitizer.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "fuzz.h"
#include "http.h"
#include "secret_mask.h"
#include "secrets.h"

static const long statuses[] = {200, 200, 200, 200, 400, 400, 400, 403,
                                404, 408, 429, 500, 502, 503, 504, 302};

static void check_code_from_type(const char *type)
{
        char out[128];

        for (size_t size = 1; size <= sizeof out; size *= 2) {
                memset(out, 'x', sizeof out);
                secrets_error_code_from_type(type, out, size);
                if (strnlen(out, size) >= size || strchr(out, ':'))
                        abort();
        }
}

/* occurs_twice - needle at two places at least of the len bytes at hay */
static bool occurs_twice(const char *hay, size_t len, const char *needle)
{
        size_t n = strlen(needle);
        const char *first = memmem(hay, len, needle, n);

        return first && memmem(first + 1, len - (size_t)(first + 1 - hay), needle, n) != NULL;
}

/* check_not_quoted - the SecretString of the body, when distinctive, is not in message. The
 * message may quote the error type header and the body's other fields: a SecretString that
 * also stands there (the fuzzer copies bytes around) proves nothing and is not checked. */
static void check_not_quoted(const struct http_response *resp, const char *message)
{
        const char *body = resp->body.data ? resp->body.data : "";
        json_error_t jerr;
        const char *s;
        json_t *doc;

        doc = json_loadb(body, resp->body.len, 0, &jerr);
        s = json_string_value(json_object_get(doc, "SecretString"));
        if (s && strlen(s) >= 4 && strchr(s, '|') && strstr(message, s) &&
            !strstr(resp->error_type, s) && !occurs_twice(body, resp->body.len, s))
                abort();
        json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const struct secrets_request req = {
                .secret_id = "mailinit/ses-smtp",
                .region = "eu-west-1",
                .principal = "role mailinit-test",
        };
        struct http_response resp = {0};
        struct secret_value value;
        struct secrets_error err = {0};
        enum secrets_verdict verdict;
        const char *body, *lf;
        size_t type_len;
        int r = 1;

        if (size == 0 || size > (size_t)FUZZ_INPUT_MAX)
                return 0;
        resp.status = statuses[data[0] % (sizeof statuses / sizeof statuses[0])];
        body = (const char *)data + 1;
        lf = memchr(body, '\n', size - 1);
        type_len = lf ? (size_t)(lf - body) : 0;
        if (type_len >= sizeof resp.error_type)
                type_len = sizeof resp.error_type - 1;
        memcpy(resp.error_type, body, type_len);
        resp.error_type[type_len] = '\0';
        if (lf)
                body = lf + 1;
        buf_init(&resp.body, SECRETS_RESPONSE_MAX);
        if (buf_append(&resp.body, body, size - (size_t)(body - (const char *)data)) < 0) {
                buf_done(&resp.body);
                return 0;
        }
        check_code_from_type(resp.error_type);

        verdict = secrets_parse_answer(&resp, &req, &value, &r, &err);
        switch (verdict) {
        case SECRETS_VERDICT_DONE:
                if (r == 0) {
                        if (resp.status != 200)
                                abort();
                        if (value.is_binary == (value.secret_string != NULL))
                                abort();
                        if (value.secret_string && value.secret_string[value.secret_len] != '\0')
                                abort();
                } else if (r > 0 || err.message[0] == '\0' || value.secret_string) {
                        abort();
                }
                break;
        case SECRETS_VERDICT_RETRY:
                if ((r != -EAGAIN && r != -EIO) || err.message[0] == '\0')
                        abort();
                break;
        case SECRETS_VERDICT_REFRESH:
        case SECRETS_VERDICT_SKEW:
                if (r != -EACCES || err.message[0] == '\0' || resp.status == 200)
                        abort();
                break;
        default:
                abort();
        }
        if (strchr(err.error_code, ':') ||
            strnlen(err.message, sizeof err.message) == sizeof err.message)
                abort();
        check_not_quoted(&resp, err.message);
        secret_value_done(&value);
        buf_done(&resp.body);
        secret_mask_clear();
        return 0;
}
