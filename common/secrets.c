/* SPDX-License-Identifier: MIT */
/*
 * secrets - GetSecretValue, the one Secrets Manager call mailinit makes.
 *
 * Wire format (botocore's model of secretsmanager): POST / with
 *   Content-Type: application/x-amz-json-1.1
 *   X-Amz-Target: secretsmanager.GetSecretValue
 *   {"SecretId":"..."}
 * signed with SigV4 for service "secretsmanager" in the secret's region, whatever host an
 * endpoint override points at. Errors come back as {"__type": ..., "message": ...}; the code
 * is read from __type (or x-amzn-ErrorType) with a "namespace#" prefix and a ":url" suffix
 * removed.
 *
 * Retry policy (SDK standard mode): throttling, 5xx and transport failures are retried with
 * full-jitter backoff, bounded by attempts and a deadline; ExpiredTokenException asks for
 * fresh credentials and retries once; a signature rejected for clock skew is signed again
 * once with the offset taken from the response's Date header; every other error is final.
 *
 * SECURITY: the response body and the secret string live in wiped buffers; no message built
 * here contains them.
 */
#include "secrets.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "aws_request.h"
#include "backoff.h"
#include "buf.h"
#include "secret_mask.h"

#define SECRETS_SERVICE            "secretsmanager"
#define SECRETS_TARGET             "secretsmanager.GetSecretValue"
#define SECRETS_CONTENT_TYPE       "application/x-amz-json-1.1"
#define SECRETS_DEFAULT_ATTEMPTS   5
#define SECRETS_ATTEMPT_TIMEOUT_MS 10000
#define SECRETS_CONNECT_TIMEOUT_MS 5000
#define SECRETS_BACKOFF_BASE_MS    200
#define SECRETS_BACKOFF_CAP_MS     20000
#define SECRETS_HOST_MAX           512
#define SECRETS_HEADER_MAX         4096

static int set_error(struct secrets_error *err, const char *code, int r, const char *format, ...)
        __attribute__((format(printf, 4, 5)));

static int set_error(struct secrets_error *err, const char *code, int r, const char *format, ...)
{
        va_list ap;

        (void)snprintf(err->error_code, sizeof err->error_code, "%s", code ? code : "");
        va_start(ap, format);
        (void)vsnprintf(err->message, sizeof err->message, format, ap);
        va_end(ap);
        return r;
}

void secrets_error_code_from_type(const char *type, char *out, size_t size)
{
        const char *start = type, *hash, *colon;
        size_t len;

        if (size == 0)
                return;
        colon = strchr(type, ':');
        len = colon ? (size_t)(colon - type) : strlen(type);
        hash = memchr(type, '#', len);
        if (hash) {
                len -= (size_t)(hash + 1 - type);
                start = hash + 1;
        }
        if (len >= size)
                len = size - 1;
        memcpy(out, start, len);
        out[len] = '\0';
}

char *secrets_endpoint(const char *region)
{
        return aws_endpoint_url("AWS_ENDPOINT_URL_SECRETS_MANAGER", SECRETS_SERVICE, region);
}

static bool is_throttling(const char *code)
{
        static const char *const codes[] = {
                "Throttling",
                "ThrottlingException",
                "ThrottledException",
                "RequestThrottledException",
                "TooManyRequestsException",
                "RequestLimitExceeded",
                "ProvisionedThroughputExceededException",
                "BandwidthLimitExceeded",
                "LimitExceededException",
                "RequestThrottled",
                "SlowDown",
                "PriorRequestNotComplete",
                "EC2ThrottledException",
        };

        for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
                if (strcmp(code, codes[i]) == 0)
                        return true;
        return false;
}

static bool is_transient(const char *code)
{
        return strcmp(code, "RequestTimeout") == 0 ||
               strcmp(code, "RequestTimeoutException") == 0 ||
               strcmp(code, "InternalServiceError") == 0 || strcmp(code, "InternalFailure") == 0 ||
               strcmp(code, "ServiceUnavailable") == 0;
}

/* parse_success - fill ret from a 200 body */
static int parse_success(const struct http_response *resp, const struct secrets_request *req,
                         struct secret_value *ret, struct secrets_error *err)
{
        json_error_t jerr;
        json_t *doc, *s, *b;
        const char *arn, *version;
        int r = 0;

        doc = json_loadb(resp->body.data ? resp->body.data : "", resp->body.len, 0, &jerr);
        if (!json_is_object(doc)) {
                json_decref(doc);
                return set_error(err, NULL, -EBADMSG,
                                 "GetSecretValue for secret '%s': the answer is not a JSON object",
                                 req->secret_id);
        }
        s = json_object_get(doc, "SecretString");
        b = json_object_get(doc, "SecretBinary");
        *ret = (struct secret_value){0};
        if (json_is_string(s)) {
                ret->secret_len = json_string_length(s);
                ret->secret_string = malloc(ret->secret_len + 1);
                if (!ret->secret_string) {
                        r = -ENOMEM;
                        goto out;
                }
                memcpy(ret->secret_string, json_string_value(s), ret->secret_len + 1);
                /* jansson's copy is released with doc; wipe it first. */
                secret_wipe((void *)(uintptr_t)json_string_value(s), ret->secret_len);
        } else if (json_is_string(b)) {
                ret->is_binary = true;
                secret_wipe((void *)(uintptr_t)json_string_value(b), json_string_length(b));
        } else {
                r = set_error(
                        err, NULL, -EBADMSG,
                        "GetSecretValue for secret '%s': the answer has neither SecretString nor SecretBinary",
                        req->secret_id);
                goto out;
        }
        arn = json_string_value(json_object_get(doc, "ARN"));
        version = json_string_value(json_object_get(doc, "VersionId"));
        ret->arn = arn ? strdup(arn) : NULL;
        ret->version_id = version ? strdup(version) : NULL;
        (void)snprintf(ret->request_id, sizeof ret->request_id, "%s", resp->request_id);
out:
        json_decref(doc);
        if (r < 0)
                secret_value_done(ret);
        return r;
}

/* classify_error - verdict for a non-200 answer; *ret_r holds the final error when DONE */
static enum secrets_verdict classify_error(const struct http_response *resp,
                                           const struct secrets_request *req, int *ret_r,
                                           char *code, size_t code_size, struct secrets_error *err)
{
        char message[256] = "";
        json_error_t jerr;
        json_t *doc;
        const char *type = NULL, *m = NULL;
        bool is_json;

        doc = json_loadb(resp->body.data ? resp->body.data : "", resp->body.len, 0, &jerr);
        is_json = json_is_object(doc);
        if (is_json) {
                type = json_string_value(json_object_get(doc, "__type"));
                m = json_string_value(json_object_get(doc, "message"));
                if (!m)
                        m = json_string_value(json_object_get(doc, "Message"));
        }
        if (!type && resp->error_type[0])
                type = resp->error_type;
        code[0] = '\0';
        if (type)
                secrets_error_code_from_type(type, code, code_size);
        if (m)
                (void)snprintf(message, sizeof message, "%s", m);
        json_decref(doc);

        if (resp->status == 429 || is_throttling(code)) {
                set_error(err, code, -EAGAIN, "GetSecretValue for secret '%s' was throttled (%s)",
                          req->secret_id, code[0] ? code : "HTTP 429");
                return SECRETS_VERDICT_RETRY;
        }
        if (resp->status >= 500 || is_transient(code)) {
                set_error(err, code, -EIO,
                          "GetSecretValue for secret '%s': the service answered HTTP %ld%s%s",
                          req->secret_id, resp->status, code[0] ? " " : "", code);
                return SECRETS_VERDICT_RETRY;
        }
        if (strcmp(code, "ExpiredTokenException") == 0 || strcmp(code, "ExpiredToken") == 0) {
                *ret_r =
                        set_error(err, code, -EACCES, "GetSecretValue for secret '%s' (%s): %s: %s",
                                  req->secret_id, req->principal, code, message);
                return SECRETS_VERDICT_REFRESH;
        }
        if (strcmp(code, "InvalidSignatureException") == 0 &&
            (strstr(message, "Signature expired") || strstr(message, "not yet current"))) {
                *ret_r = set_error(
                        err, code, -EACCES,
                        "GetSecretValue for secret '%s' (%s): the request's time is off by more than 5 minutes (is the clock set?): %s",
                        req->secret_id, req->principal, message);
                return SECRETS_VERDICT_SKEW;
        }
        if (!code[0]) {
                *ret_r = set_error(
                        err, NULL, -EBADMSG,
                        "GetSecretValue for secret '%s': the service answered HTTP %ld with %s",
                        req->secret_id, resp->status,
                        is_json ? "a JSON body without an error type" : "a body that is not JSON");
                return SECRETS_VERDICT_DONE;
        }
        if (strcmp(code, "AccessDeniedException") == 0 || strcmp(code, "DecryptionFailure") == 0 ||
            strcmp(code, "UnrecognizedClientException") == 0 ||
            strcmp(code, "InvalidSignatureException") == 0 ||
            strcmp(code, "IncompleteSignature") == 0 ||
            strcmp(code, "MissingAuthenticationTokenException") == 0 ||
            strcmp(code, "InvalidClientTokenId") == 0)
                *ret_r = -EACCES;
        else if (strcmp(code, "ResourceNotFoundException") == 0)
                *ret_r = -ENOENT;
        else if (strcmp(code, "InvalidParameterException") == 0 ||
                 strcmp(code, "InvalidRequestException") == 0 ||
                 strcmp(code, "ValidationException") == 0)
                *ret_r = -EINVAL;
        else
                *ret_r = -EREMOTEIO;
        set_error(err, code, *ret_r, "GetSecretValue for secret '%s' (%s): %s: %s", req->secret_id,
                  req->principal, code, message[0] ? message : "(no message)");
        return SECRETS_VERDICT_DONE;
}

enum secrets_verdict secrets_parse_answer(const struct http_response *resp,
                                          const struct secrets_request *req,
                                          struct secret_value *ret, int *ret_r,
                                          struct secrets_error *err)
{
        enum secrets_verdict verdict;
        char code[128];

        *ret = (struct secret_value){0};
        if (resp->status == 200) {
                *ret_r = parse_success(resp, req, ret, err);
                return SECRETS_VERDICT_DONE;
        }
        *ret_r = -EIO;
        verdict = classify_error(resp, req, ret_r, code, sizeof code, err);
        if (verdict == SECRETS_VERDICT_RETRY)
                *ret_r = resp->status == 429 || is_throttling(code) ? -EAGAIN : -EIO;
        return verdict;
}

static uint64_t remaining_ms(uint64_t deadline_usec)
{
        uint64_t now = now_monotonic_usec();

        return now >= deadline_usec ? 0 : (deadline_usec - now) / 1000;
}

int secrets_get_secret_value(struct http_client *http, const struct secrets_request *req,
                             struct secret_value *ret, struct secrets_error *err)
{
        unsigned max_attempts = req->max_attempts ? req->max_attempts : SECRETS_DEFAULT_ATTEMPTS;
        uint64_t attempt_timeout =
                req->attempt_timeout_ms ? req->attempt_timeout_ms : SECRETS_ATTEMPT_TIMEOUT_MS;
        uint64_t deadline_usec = now_monotonic_usec() +
                                 (req->deadline_ms ? req->deadline_ms : SECRETS_DEADLINE_MS) * 1000;
        char host[SECRETS_HOST_MAX], *url = NULL, *path = NULL, *body = NULL;
        const char *url_path;
        bool refreshed = false, skew_fixed = false, refresh = false;
        struct aws_post post;
        time_t offset = 0;
        json_t *request_doc;
        int r;

        *err = (struct secrets_error){0};
        url = req->endpoint ? strdup(req->endpoint) : secrets_endpoint(req->region);
        if (!url)
                return -ENOMEM;
        r = aws_split_endpoint(url, host, sizeof host, &url_path);
        if (r >= 0) {
                path = strdup(url_path[0] && url_path[1] ? url_path : "/");
                if (!path)
                        r = -ENOMEM;
        }
        if (r < 0) {
                r = r == -ENOMEM
                            ? r
                            : set_error(err, NULL, -EINVAL,
                                        "the Secrets Manager endpoint '%s' is not an http(s) URL",
                                        url);
                goto out;
        }
        request_doc = json_pack("{s:s}", "SecretId", req->secret_id);
        body = request_doc ? json_dumps(request_doc, JSON_COMPACT) : NULL;
        json_decref(request_doc);
        if (!body) {
                r = -ENOMEM;
                goto out;
        }

        post = (struct aws_post){
                .url = url,
                .host = host,
                .path = path,
                .region = req->region,
                .service = SECRETS_SERVICE,
                .content_type = SECRETS_CONTENT_TYPE,
                .target = SECRETS_TARGET,
                .body = body,
                .body_len = strlen(body),
                .connect_timeout_ms = SECRETS_CONNECT_TIMEOUT_MS,
                .max_response = SECRETS_RESPONSE_MAX,
                .secret_body = true,
        };
        for (unsigned attempt = 0; attempt < max_attempts;) {
                const struct aws_credentials *creds = NULL;
                struct http_response resp;
                enum secrets_verdict verdict;
                char why[256] = "";
                uint64_t timeout = remaining_ms(deadline_usec);

                if (timeout == 0)
                        break;
                if (timeout > attempt_timeout)
                        timeout = attempt_timeout;
                r = req->get_credentials(req->userdata, refresh, &creds, why, sizeof why);
                refresh = false;
                if (r < 0) {
                        r = set_error(err, NULL, r, "no AWS credentials to read secret '%s': %s",
                                      req->secret_id, why);
                        goto out;
                }
                post.timeout_ms = timeout;
                r = aws_signed_post(http, &post, creds, time(NULL) + offset, &resp);
                if (r == -EINVAL) {
                        http_response_done(&resp);
                        r = set_error(
                                err, NULL, r,
                                "cannot sign the request for secret '%s' (malformed credentials or endpoint)",
                                req->secret_id);
                        goto out;
                }
                if (r == 0 && resp.status == 200) {
                        (void)secrets_parse_answer(&resp, req, ret, &r, err);
                        http_response_done(&resp);
                        goto out;
                }
                if (r < 0) {
                        const char *detail = http_client_error(http);

                        http_response_done(&resp);
                        if (r == -EFBIG) {
                                r = set_error(
                                        err, NULL, r,
                                        "GetSecretValue for secret '%s': the answer is larger than %d bytes",
                                        req->secret_id, SECRETS_RESPONSE_MAX);
                                goto out;
                        }
                        if (r == -EPROTO || r == -EINVAL || r == -ENOMEM) {
                                r = set_error(
                                        err, NULL, r,
                                        "cannot reach Secrets Manager at %s for secret '%s': %s",
                                        url, req->secret_id, detail);
                                goto out;
                        }
                        set_error(err, NULL, r,
                                  "cannot reach Secrets Manager at %s for secret '%s': %s", url,
                                  req->secret_id, detail);
                } else {
                        verdict = secrets_parse_answer(&resp, req, ret, &r, err);
                        if (verdict == SECRETS_VERDICT_SKEW && !skew_fixed) {
                                time_t server;

                                if (aws_parse_http_date(resp.date, &server) == 0) {
                                        offset = server - time(NULL);
                                        skew_fixed = true;
                                        http_response_done(&resp);
                                        continue;
                                }
                        }
                        http_response_done(&resp);
                        if (verdict == SECRETS_VERDICT_REFRESH && !refreshed) {
                                refreshed = refresh = true;
                                continue;
                        }
                        if (verdict != SECRETS_VERDICT_RETRY)
                                goto out;
                        r = err->error_code[0] && is_throttling(err->error_code) ? -EAGAIN : -EIO;
                }
                attempt++;
                if (attempt < max_attempts) {
                        uint64_t delay =
                                backoff_delay_ms(SECRETS_BACKOFF_BASE_MS, SECRETS_BACKOFF_CAP_MS,
                                                 attempt - 1, backoff_random());

                        if (delay >= remaining_ms(deadline_usec))
                                break;
                        sleep_ms(delay);
                }
        }
        /* Out of attempts or time: r and err describe the last failure. */
        if (remaining_ms(deadline_usec) == 0 && r != -EAGAIN) {
                char last[SECRETS_ERROR_MAX];

                (void)snprintf(last, sizeof last, "%s", err->message);
                r = set_error(err, err->error_code, -ETIMEDOUT,
                              "reading secret '%s' ran out of time: %s", req->secret_id, last);
        }
out:
        free(body);
        free(path);
        free(url);
        return r;
}

void secret_value_done(struct secret_value *v)
{
        if (!v)
                return;
        if (v->secret_string) {
                secret_wipe(v->secret_string, v->secret_len);
                free(v->secret_string);
        }
        free(v->arn);
        free(v->version_id);
        *v = (struct secret_value){0};
}
