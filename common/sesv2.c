/* SPDX-License-Identifier: MIT */
/*
 * sesv2 - Amazon SES API v2 SendEmail with raw content, the relay's alternative to SMTP.
 *
 * Wire format (botocore's model sesv2 2019-09-27, protocol rest-json, signing name "ses"):
 *   POST /v2/email/outbound-emails
 *   Content-Type: application/json
 *   {"FromEmailAddress":"a@example.com","Destination":{"ToAddresses":["b@example.net"]},
 *    "Content":{"Raw":{"Data":"<base64 of the message>"}}}
 * answered 200 {"MessageId":"0100..."}, or an error named by the x-amzn-ErrorType header
 * (also "__type" or "code" in the body; a "namespace#" prefix and a ":url" suffix removed)
 * with {"message": "..."}. The envelope goes as FromEmailAddress and Destination.ToAddresses,
 * so Bcc recipients get the message as with SMTP; headers are sent as queued.
 *
 * Verdicts: throttling (429, TooManyRequestsException, LimitExceededException), 5xx,
 * transport failures, SendingPaused/AccountSuspended and access denied defer the message;
 * MessageRejected, MailFromDomainNotVerifiedException, BadRequestException,
 * NotFoundException and validation errors bounce it; ExpiredToken and unrecognised tokens ask
 * for fresh credentials (once per call); a signature refused for clock skew is signed again
 * with the offset taken from the answer's Date (kept for later calls). Anything unknown
 * defers: the queue's lifetime bounds it, and no mail is lost to a misunderstanding.
 *
 * SECURITY: credentials are only in signed headers (wiped); texts built here never hold
 * message content.
 */
#include "sesv2.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "aws_request.h"
#include "secrets.h"

#define SESV2_CONTENT_TYPE "application/json"
#define SESV2_HOST_MAX     512
#define SESV2_PEER_MAX     600
#define B64_CHUNK_IN       (48 * 1024) /* a multiple of 3 */
#define B64_CHUNK_OUT      (B64_CHUNK_IN / 3 * 4)

struct sesv2_client {
        struct http_client *http;
        char *url;
        char *path;
        char *region;
        char host[SESV2_HOST_MAX]; /* the Host header: name[:port] */
        char name[SESV2_HOST_MAX]; /* without the port */
        char peer[SESV2_PEER_MAX];
        sesv2_credentials_fn get_credentials;
        void *userdata;
        uint64_t timeout_ms;
        time_t clock_offset;
};

char *sesv2_endpoint(const char *region)
{
        return aws_endpoint_url("AWS_ENDPOINT_URL_SESV2", "email", region);
}

/* --- the request -------------------------------------------------------------------------- */

static uint64_t base64_len(uint64_t n)
{
        return (n + 2) / 3 * 4;
}

uint64_t sesv2_request_size(const struct sesv2_message *m)
{
        uint64_t n = 128 + base64_len(m->raw_len);

        /* addresses as JSON strings: at most 6 bytes per byte (\u00XX) plus quotes, comma */
        n += 6 * strlen(m->sender) + 2;
        for (size_t i = 0; i < m->n_recipients; i++)
                n += 6 * strlen(m->recipients[i]) + 3;
        return n;
}

/* append_json_string - s as a JSON string literal (jansson escapes it) */
static int append_json_string(struct buf *out, const char *s)
{
        json_t *j = json_string(s);
        char *text;
        int r;

        if (!j)
                return -EINVAL; /* NULL or not UTF-8 (or ENOMEM: indistinguishable here) */
        text = json_dumps(j, JSON_ENCODE_ANY);
        json_decref(j);
        if (!text)
                return -ENOMEM;
        r = buf_append_str(out, text);
        free(text);
        return r;
}

static int append_base64(struct buf *out, const unsigned char *data, size_t len)
{
        unsigned char chunk[B64_CHUNK_OUT + 1];

        for (size_t done = 0; done < len;) {
                size_t n = len - done > B64_CHUNK_IN ? B64_CHUNK_IN : len - done;
                int w = EVP_EncodeBlock(chunk, data + done, (int)n);
                int r;

                if (w < 0)
                        return -EPROTO;
                r = buf_append(out, chunk, (size_t)w);
                if (r < 0)
                        return r;
                done += n;
        }
        return 0;
}

int sesv2_build_send_email(const struct sesv2_message *m, struct buf *out)
{
        int r = 0;

        if (m->n_recipients == 0 || m->n_recipients > SESV2_RECIPIENTS_MAX || !m->sender)
                return -EINVAL;
        r = buf_append_str(out, "{");
        if (r >= 0 && m->sender[0]) {
                r = buf_append_str(out, "\"FromEmailAddress\":");
                if (r >= 0)
                        r = append_json_string(out, m->sender);
                if (r >= 0)
                        r = buf_append_str(out, ",");
        }
        if (r >= 0)
                r = buf_append_str(out, "\"Destination\":{\"ToAddresses\":[");
        for (size_t i = 0; r >= 0 && i < m->n_recipients; i++) {
                if (i > 0)
                        r = buf_append_str(out, ",");
                if (r >= 0)
                        r = append_json_string(out, m->recipients[i]);
        }
        if (r >= 0)
                r = buf_append_str(out, "]},\"Content\":{\"Raw\":{\"Data\":\"");
        if (r >= 0)
                r = append_base64(out, m->raw, m->raw_len);
        if (r >= 0)
                r = buf_append_str(out, "\"}}}");
        return r;
}

/* --- the answer --------------------------------------------------------------------------- */

static bool code_is(const char *code, const char *const *list)
{
        for (; *list; list++)
                if (strcmp(code, *list) == 0)
                        return true;
        return false;
}

static const char *const throttling_codes[] = {
        "TooManyRequestsException",
        "LimitExceededException",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "RequestLimitExceeded",
        "SlowDown",
        NULL,
};

static const char *const bounce_codes[] = {
        "MessageRejected",
        "MailFromDomainNotVerifiedException",
        "BadRequestException",
        "NotFoundException",
        "ValidationException",
        "InvalidParameterValue",
        NULL,
};

static const char *const refresh_codes[] = {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        NULL,
};

static const char *const account_codes[] = {
        "SendingPausedException", "AccountSuspendedException",
        "AccessDeniedException",  "AccessDenied",
        "NotAuthorized",          NULL,
};

/* copy_clean - src into dst without control characters (log lines, DSNs), cut to fit */
static void copy_clean(char *dst, size_t size, const char *src, size_t len)
{
        size_t n = 0;

        for (size_t i = 0; i < len && n + 1 < size; i++) {
                unsigned char ch = (unsigned char)src[i];

                dst[n++] = (char)(ch < 32 || ch == 127 ? ' ' : ch);
        }
        dst[n] = '\0';
}

static bool is_skew(const char *code, const char *message)
{
        if (strcmp(code, "InvalidSignatureException") != 0 &&
            strcmp(code, "SignatureDoesNotMatch") != 0 && strcmp(code, "RequestExpired") != 0)
                return false;
        return strcmp(code, "RequestExpired") == 0 || strstr(message, "Signature expired") ||
               strstr(message, "not yet current");
}

void sesv2_parse_response(long status, const char *body, size_t body_len,
                          const char *error_type_header, struct sesv2_result *ret)
{
        json_error_t jerr;
        json_t *doc = NULL;
        const char *type = NULL, *msg = NULL;

        *ret = (struct sesv2_result){.status = status, .verdict = SESV2_DEFER};
        if (body && body_len > 0)
                doc = json_loadb(body, body_len, 0, &jerr);
        if (status >= 200 && status < 300) {
                const char *id = json_string_value(json_object_get(doc, "MessageId"));

                if (id && *id) {
                        copy_clean(ret->message_id, sizeof ret->message_id, id, strlen(id));
                        ret->verdict = SESV2_SENT;
                } else {
                        /* SES took it (2xx) but said nothing usable: count it as sent, since
                         * sending again would deliver twice; say so in the record. */
                        ret->verdict = SESV2_SENT;
                        (void)snprintf(ret->message, sizeof ret->message,
                                       "SES answered HTTP %ld without a MessageId", status);
                }
                json_decref(doc);
                return;
        }
        if (json_is_object(doc)) {
                type = json_string_value(json_object_get(doc, "__type"));
                if (!type)
                        type = json_string_value(json_object_get(doc, "code"));
                if (!type)
                        type = json_string_value(json_object_get(doc, "Code"));
                msg = json_string_value(json_object_get(doc, "message"));
                if (!msg)
                        msg = json_string_value(json_object_get(doc, "Message"));
        }
        if (error_type_header && *error_type_header)
                type = error_type_header; /* what the SDKs read first for rest-json */
        if (type)
                secrets_error_code_from_type(type, ret->error_code, sizeof ret->error_code);
        copy_clean(ret->error_code, sizeof ret->error_code, ret->error_code,
                   strlen(ret->error_code));
        if (msg)
                copy_clean(ret->message, sizeof ret->message, msg, strlen(msg));
        else if (!json_is_object(doc) && status > 0)
                (void)snprintf(ret->message, sizeof ret->message, "HTTP %ld with %s", status,
                               body_len ? "a body that is not JSON" : "no body");
        json_decref(doc);

        if (status == 429 || code_is(ret->error_code, throttling_codes)) {
                ret->verdict = SESV2_DEFER;
                ret->daily_quota = strcasestr(ret->message, "Daily message quota") != NULL;
        } else if (status >= 500) { // NOLINT(bugprone-branch-clone): before the code checks below
                ret->verdict = SESV2_DEFER;
        } else if (code_is(ret->error_code, refresh_codes)) {
                ret->verdict = SESV2_REFRESH;
        } else if (is_skew(ret->error_code, ret->message)) {
                ret->verdict = SESV2_SKEW;
        } else if (code_is(ret->error_code, account_codes)) {
                ret->verdict = SESV2_DEFER;
                ret->account_problem = true;
        } else if (code_is(ret->error_code, bounce_codes)) {
                ret->verdict = SESV2_BOUNCE;
        } else {
                /* unknown codes, signature trouble, non-SES answers (a proxy's 404 page) */
                ret->verdict = SESV2_DEFER;
        }
}

/* --- the client --------------------------------------------------------------------------- */

/* send_path - the path to POST to: the endpoint's base path (kept, without its trailing
 * slashes) followed by SESV2_SEND_PATH. Caller frees; NULL on ENOMEM. */
static char *send_path(const char *base)
{
        size_t plen = strlen(base);
        char *path;

        while (plen > 0 && base[plen - 1] == '/')
                plen--;
        return asprintf(&path, "%.*s%s", (int)plen, base, SESV2_SEND_PATH) < 0 ? NULL : path;
}

int sesv2_client_new(const struct sesv2_client_options *o, struct sesv2_client **ret)
{
        struct sesv2_client *c = calloc(1, sizeof *c);
        const char *base_path;
        int r;

        if (!c)
                return -ENOMEM;
        c->url = o->endpoint ? strdup(o->endpoint) : sesv2_endpoint(o->region);
        c->region = strdup(o->region);
        c->http = http_client_new();
        if (!c->http) {
                r = -errno;
                sesv2_client_free(c);
                return r;
        }
        if (!c->url || !c->region) {
                sesv2_client_free(c);
                return -ENOMEM;
        }
        r = aws_split_endpoint(c->url, c->host, sizeof c->host, &base_path);
        if (r < 0) {
                sesv2_client_free(c);
                return r;
        }
        c->path = send_path(base_path);
        if (!c->path) {
                sesv2_client_free(c);
                return -ENOMEM;
        }
        /* the URL to POST to: scheme://host + path */
        {
                char *full;
                size_t scheme_len = (size_t)(strstr(c->url, "://") - c->url) + 3;

                if (asprintf(&full, "%.*s%s%s", (int)scheme_len, c->url, c->host, c->path) < 0) {
                        sesv2_client_free(c);
                        return -ENOMEM;
                }
                free(c->url);
                c->url = full;
        }
        /* the host name without the Host header's port ("[::1]:8443" -> "[::1]") */
        {
                size_t n = c->host[0] == '[' ? strcspn(c->host, "]") + 1 : strcspn(c->host, ":");

                (void)snprintf(c->name, sizeof c->name, "%.*s", (int)n, c->host);
        }
        (void)snprintf(c->peer, sizeof c->peer, "%s", c->name);
        c->get_credentials = o->get_credentials;
        c->userdata = o->userdata;
        c->timeout_ms = o->timeout_ms ? o->timeout_ms : SESV2_TIMEOUT_MS;
        *ret = c;
        return 0;
}

struct sesv2_client *sesv2_client_free(struct sesv2_client *c)
{
        if (!c)
                return NULL;
        http_client_free(c->http);
        free(c->url);
        free(c->path);
        free(c->region);
        free(c);
        return NULL;
}

const char *sesv2_client_host(const struct sesv2_client *c)
{
        return c->name;
}

const char *sesv2_client_peer(struct sesv2_client *c)
{
        return c->peer;
}

/* perform_signed - sign and send one attempt */
static int perform_signed(struct sesv2_client *c, const struct buf *body,
                          const struct aws_credentials *creds, time_t now,
                          struct http_response *resp)
{
        const struct aws_post post = {
                .url = c->url,
                .host = c->host,
                .path = c->path,
                .region = c->region,
                .service = SESV2_SERVICE,
                .content_type = SESV2_CONTENT_TYPE,
                .body = body->data,
                .body_len = body->len,
                .timeout_ms = c->timeout_ms,
                .connect_timeout_ms = SESV2_CONNECT_TIMEOUT,
                .max_response = SESV2_RESPONSE_MAX,
        };

        return aws_signed_post(c->http, &post, creds, now, resp);
}

static void update_peer(struct sesv2_client *c)
{
        char ipport[128];

        http_client_peer(c->http, ipport, sizeof ipport);
        if (!ipport[0])
                return;
        {
                const char *colon = strrchr(ipport, ':');
                const char *ip = ipport;
                size_t ip_len = (size_t)(colon - ipport);

                if (ip[0] == '[' && ip_len >= 2) { /* "[::1]:443": the brackets are ours */
                        ip++;
                        ip_len -= 2;
                }
                (void)snprintf(c->peer, sizeof c->peer, "%s[%.*s]%s", c->name, (int)ip_len, ip,
                               colon);
        }
}

int sesv2_send_email(struct sesv2_client *c, const struct sesv2_message *m,
                     struct sesv2_result *ret)
{
        bool refreshed = false, skew_fixed = false, refresh = false;
        uint64_t size = sesv2_request_size(m);
        struct buf body;
        int r;

        *ret = (struct sesv2_result){.verdict = SESV2_DEFER};
        if (base64_len(m->raw_len) > SESV2_RAW_MAX) {
                ret->verdict = SESV2_BOUNCE;
                (void)snprintf(ret->error_code, sizeof ret->error_code, "MessageTooLarge");
                (void)snprintf(
                        ret->message, sizeof ret->message,
                        "the message is %zu bytes; SES takes at most %llu bytes after base64 encoding",
                        m->raw_len, (unsigned long long)SESV2_RAW_MAX);
                return 0;
        }
        buf_init(&body, (size_t)size + 1);
        r = sesv2_build_send_email(m, &body);
        if (r < 0) {
                buf_done(&body);
                if (r == -ENOMEM)
                        return r;
                ret->verdict = SESV2_BOUNCE;
                (void)snprintf(ret->error_code, sizeof ret->error_code, "BadRequestException");
                (void)snprintf(ret->message, sizeof ret->message,
                               "the envelope cannot be sent with the SES API (%s)",
                               r == -EINVAL ? "an address that is not UTF-8, or no recipient"
                                            : strerror(-r));
                return 0;
        }
        for (;;) {
                const struct aws_credentials *creds = NULL;
                struct http_response resp;
                char why[256] = "";

                r = c->get_credentials(c->userdata, refresh, &creds, why, sizeof why);
                refresh = false;
                if (r < 0) {
                        *ret = (struct sesv2_result){.verdict = SESV2_DEFER,
                                                     .account_problem = true};
                        (void)snprintf(ret->message, sizeof ret->message,
                                       "no AWS credentials to sign the request: %.400s", why);
                        r = r == -ENOMEM ? r : 0;
                        break;
                }
                r = perform_signed(c, &body, creds, time(NULL) + c->clock_offset, &resp);
                update_peer(c);
                if (r == -ENOMEM) {
                        http_response_done(&resp);
                        break;
                }
                if (r < 0) {
                        *ret = (struct sesv2_result){.verdict = SESV2_DEFER};
                        (void)snprintf(ret->message, sizeof ret->message, "%s %.200s: %.250s",
                                       r == -EINVAL ? "cannot sign or send to"
                                                    : "cannot reach SES at",
                                       c->host,
                                       http_client_error(c->http)[0] ? http_client_error(c->http)
                                                                     : strerror(-r));
                        http_response_done(&resp);
                        r = 0;
                        break;
                }
                sesv2_parse_response(resp.status, resp.body.data, resp.body.len, resp.error_type,
                                     ret);
                copy_clean(ret->request_id, sizeof ret->request_id, resp.request_id,
                           strlen(resp.request_id));
                if (ret->verdict == SESV2_SKEW && !skew_fixed) {
                        time_t server;

                        if (aws_parse_http_date(resp.date, &server) == 0) {
                                c->clock_offset = server - time(NULL);
                                skew_fixed = true;
                                http_response_done(&resp);
                                continue;
                        }
                }
                http_response_done(&resp);
                if (ret->verdict == SESV2_REFRESH && !refreshed) {
                        refreshed = refresh = true;
                        continue;
                }
                if (ret->verdict == SESV2_REFRESH || ret->verdict == SESV2_SKEW) {
                        /* the second refusal: the credentials or the clock need an operator */
                        ret->verdict = SESV2_DEFER;
                        ret->account_problem = true;
                }
                break;
        }
        buf_done(&body);
        return r;
}
