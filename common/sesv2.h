/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "aws_credentials.h"
#include "buf.h"
#include "http.h"

/* Amazon SES API v2 SendEmail with raw content (REST-JSON over HTTPS, Signature V4 for the
 * signing name "ses"): how the built-in relay delivers with the instance role's temporary
 * credentials instead of SMTP credentials. The request building and the response parsing
 * are pure (unit-tested, fuzzed); sesv2_send_email() adds the HTTP round trip, the
 * credential refresh on ExpiredToken and the clock-skew re-sign. Library code: no logging,
 * no message content in any text built here. */

#define SESV2_SERVICE         "ses"
#define SESV2_SEND_PATH       "/v2/email/outbound-emails"
#define SESV2_RAW_MAX         (40ULL * 1000 * 1000) /* SES: 40 MB per message after base64 */
#define SESV2_RECIPIENTS_MAX  50                    /* SES: 50 recipients per message */
#define SESV2_RESPONSE_MAX    (64 * 1024)
#define SESV2_TEXT_MAX        512
#define SESV2_MESSAGE_ID_MAX  128
#define SESV2_ERROR_CODE_MAX  96
#define SESV2_REQUEST_ID_MAX  128
#define SESV2_TIMEOUT_MS      60000
#define SESV2_CONNECT_TIMEOUT 10000

/* What the caller does with an answer. */
enum sesv2_verdict {
        SESV2_SENT,    /* 200 with a MessageId */
        SESV2_DEFER,   /* throttling, 5xx, transport, paused/suspended account, denied: later */
        SESV2_BOUNCE,  /* the message (or its envelope) is refused for good */
        SESV2_REFRESH, /* the credentials expired or were not recognised: new ones, once */
        SESV2_SKEW,    /* the signature's time is off: sign again with the server's Date */
};

struct sesv2_result {
        enum sesv2_verdict verdict;
        long status;                           /* HTTP status, 0 without an answer */
        char message_id[SESV2_MESSAGE_ID_MAX]; /* SENT */
        char error_code[SESV2_ERROR_CODE_MAX]; /* "MessageRejected", "" when none */
        char message[SESV2_TEXT_MAX];          /* the service's message, or what failed */
        char request_id[SESV2_REQUEST_ID_MAX]; /* x-amzn-RequestId */
        bool daily_quota;                      /* throttled for the 24-hour quota */
        bool account_problem;                  /* SendingPaused/AccountSuspended/denied */
};

/* The envelope and the message. recipients: 1..SESV2_RECIPIENTS_MAX. */
struct sesv2_message {
        const char *sender; /* "" for the null sender: FromEmailAddress is left out */
        const char *const *recipients;
        size_t n_recipients;
        const void *raw; /* the RFC 5322 message as queued */
        size_t raw_len;
};

/* sesv2_endpoint - AWS_ENDPOINT_URL_SESV2, else AWS_ENDPOINT_URL (both ignored when
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true), else https://email.REGION.amazonaws.com
 * (.amazonaws.com.cn for cn-* regions). Caller frees; NULL on ENOMEM. */
char *sesv2_endpoint(const char *region);

/* sesv2_request_size - bytes of the JSON body for m (to check SESV2_RAW_MAX first). Pure. */
uint64_t sesv2_request_size(const struct sesv2_message *m);

/* sesv2_build_send_email - the JSON body of SendEmail into out (appended):
 * {"FromEmailAddress": sender, "Destination": {"ToAddresses": [recipients]},
 *  "Content": {"Raw": {"Data": base64(raw)}}}. Returns 0, -EINVAL (no recipients, too many,
 * an address that is not valid UTF-8), -EFBIG (over out's maximum), -ENOMEM. Pure. */
int sesv2_build_send_email(const struct sesv2_message *m, struct buf *out);

/* sesv2_parse_response - the verdict for an HTTP answer: status, body, and the
 * x-amzn-ErrorType header (may be "" or NULL). Fills *ret (never fails; a body that is not
 * JSON is described in ret->message). Pure. */
void sesv2_parse_response(long status, const char *body, size_t body_len,
                          const char *error_type_header, struct sesv2_result *ret);

/* get_credentials - fill *ret (borrowed until the next call); refresh: the previous ones
 * were refused as expired. Returns 0 or -errno with a message in why. */
typedef int (*sesv2_credentials_fn)(void *userdata, bool refresh,
                                    const struct aws_credentials **ret, char *why, size_t why_size);

struct sesv2_client_options {
        const char *endpoint; /* NULL: sesv2_endpoint(region) */
        const char *region;
        sesv2_credentials_fn get_credentials;
        void *userdata;
        uint64_t timeout_ms; /* 0: SESV2_TIMEOUT_MS */
};

struct sesv2_client;

/* sesv2_client_new - one HTTP connection, reused across messages (one per delivery thread).
 * Strings are copied. Returns 0, -EINVAL (endpoint not an http(s) URL), -ENOMEM. */
int sesv2_client_new(const struct sesv2_client_options *o, struct sesv2_client **ret);
struct sesv2_client *sesv2_client_free(struct sesv2_client *c);

/* sesv2_send_email - one SendEmail call: sign, send, and on ExpiredToken (or an
 * unrecognised token) ask for fresh credentials and send once more; on a signature refused
 * for clock skew, sign once more with the server's time (kept for later calls). Returns 0
 * with *ret filled whatever SES answered (see ret->verdict; transport failures are DEFER with
 * ret->status 0), or -ENOMEM / -EINVAL (a request that cannot be built: see ret->message). */
int sesv2_send_email(struct sesv2_client *c, const struct sesv2_message *m,
                     struct sesv2_result *ret);

/* sesv2_client_peer - "host[ip]:port" of the last connection (the host alone before one),
 * for log lines. Borrowed. */
const char *sesv2_client_peer(struct sesv2_client *c);

/* sesv2_client_host - the endpoint's host name, for messages. Borrowed. */
const char *sesv2_client_host(const struct sesv2_client *c);
