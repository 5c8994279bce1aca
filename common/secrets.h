/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws_credentials.h"
#include "http.h"

/* AWS Secrets Manager GetSecretValue (AWS JSON 1.1 over HTTPS, Signature V4), with the
 * retry rules of the AWS SDKs' standard mode. The caller supplies credentials through a
 * callback so that ExpiredTokenException can ask for fresh ones. Library code: no logging;
 * failures are described in struct secrets_error, never with the secret's value. */

#define SECRETS_RESPONSE_MAX (128 * 1024) /* a secret is at most 64 KiB */
#define SECRETS_ERROR_MAX    512
#define SECRETS_DEADLINE_MS  60000

/* get_credentials - fill *ret (borrowed until the next call); refresh asks for new ones
 * (the previous were rejected as expired). Returns 0 or -errno with a message in why. */
typedef int (*secrets_credentials_fn)(void *userdata, bool refresh,
                                      const struct aws_credentials **ret, char *why,
                                      size_t why_size);

struct secrets_request {
        const char *secret_id;
        const char *region;
        const char *endpoint;  /* NULL: secrets_endpoint_for_region() */
        const char *principal; /* who asks, for messages: "role NAME" */
        secrets_credentials_fn get_credentials;
        void *userdata;
        uint64_t deadline_ms;        /* 0: SECRETS_DEADLINE_MS */
        unsigned max_attempts;       /* 0: 5 */
        uint64_t attempt_timeout_ms; /* 0: 10000 */
};

struct secret_value {
        char *secret_string; /* NUL-terminated; NULL when the secret is binary; secret */
        size_t secret_len;
        bool is_binary;
        char *arn;
        char *version_id;
        char request_id[128];
};

/* error_code: the AWS error code ("AccessDeniedException") or "" for transport failures. */
struct secrets_error {
        char error_code[128];
        char message[SECRETS_ERROR_MAX];
};

/* secrets_endpoint - the URL to use for region: AWS_ENDPOINT_URL_SECRETS_MANAGER, else
 * AWS_ENDPOINT_URL (both ignored when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true), else
 * https://secretsmanager.REGION.amazonaws.com (.amazonaws.com.cn for cn-* regions).
 * Caller frees; NULL on ENOMEM. */
char *secrets_endpoint(const char *region);

/* secrets_get_secret_value - fetch the current version of the secret. Returns 0 and fills
 * *ret (release with secret_value_done), or:
 *   -EACCES  AccessDeniedException, DecryptionFailure, signature or token rejected
 *   -ENOENT  ResourceNotFoundException
 *   -EINVAL  InvalidParameterException, InvalidRequestException, bad endpoint
 *   -EAGAIN  still throttled when attempts or the deadline ran out
 *   -ETIMEDOUT  the deadline passed while the service did not answer
 *   -ECONNREFUSED/-EHOSTUNREACH/-ECONNRESET/-EIO  unreachable or 5xx after retries
 *   -EPROTO  TLS failure (certificate not trusted or not matching the host)
 *   -EBADMSG a response that is not the service's JSON
 *   -EFBIG   a response larger than SECRETS_RESPONSE_MAX
 * err names the secret and the principal. */
int secrets_get_secret_value(struct http_client *http, const struct secrets_request *req,
                             struct secret_value *ret, struct secrets_error *err);

/* Outcome of one answer, as the retry loop sees it. */
enum secrets_verdict {
        SECRETS_VERDICT_DONE,    /* success or final error: *ret_r says which */
        SECRETS_VERDICT_RETRY,   /* throttling, 5xx: back off and retry */
        SECRETS_VERDICT_REFRESH, /* ExpiredTokenException: new credentials, retry at once */
        SECRETS_VERDICT_SKEW,    /* clock skew: re-sign with the server's time, retry at once */
};

/* secrets_parse_answer - what one HTTP answer to GetSecretValue means (status, body, Date and
 * x-amzn-ErrorType of resp; req gives the secret id and principal for messages). A 200 with
 * a usable body fills *ret (release with secret_value_done) and sets *ret_r to 0; every other
 * outcome leaves *ret empty, sets *ret_r to the error secrets_get_secret_value() would return
 * and describes it in err. Pure (no I/O): the retry loop and the fuzz target call it. */
enum secrets_verdict secrets_parse_answer(const struct http_response *resp,
                                          const struct secrets_request *req,
                                          struct secret_value *ret, int *ret_r,
                                          struct secrets_error *err);

/* secret_value_done - wipe and free. */
void secret_value_done(struct secret_value *v);

/* secrets_error_code_from_type - the bare code of a __type or x-amzn-ErrorType value:
 * "com.amazonaws.secretsmanager#ResourceNotFoundException" and
 * "ResourceNotFoundException:http://internal.amazon.com/..." both give
 * "ResourceNotFoundException". Writes at most size bytes. Pure. */
void secrets_error_code_from_type(const char *type, char *out, size_t size);
