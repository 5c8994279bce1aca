/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* HTTP over libcurl (loaded on first use, see curl_library.h): with curl_library, the only
 * module that includes <curl/curl.h>. One client keeps one
 * connection alive across requests (IMDS answers many small GETs). Transport failures are
 * converted to -errno here, once, and curl's text is kept in the client for the log. */

#define HTTP_ERROR_MAX 256

struct http_request {
        const char *method; /* "GET", "PUT", "POST" */
        const char *url;
        const char *const *headers; /* NULL or NULL-terminated "Name: value" strings */
        const void *body;           /* sent as is; NULL for none */
        size_t body_len;
        uint64_t connect_timeout_ms; /* 0: 1000 */
        uint64_t timeout_ms;         /* total, 0: 5000 */
        size_t max_response;         /* body cap; 0: 1 MiB */
        bool no_proxy;               /* never use an HTTP proxy (IMDS) */
        bool secret_body;            /* wipe the response body when released */
};

struct http_response {
        long status; /* 0 when no HTTP response was received */
        struct buf body;
        char date[64];        /* the Date header, for clock-skew correction */
        char request_id[128]; /* x-amzn-RequestId */
        char error_type[128]; /* x-amzn-ErrorType */
        bool connected;       /* the TCP connection was established */
};

struct http_client;

/* http_client_new - NULL with errno set: ENOMEM, or ELIBACC/EIO when libcurl cannot be
 * loaded or initialised (http_global_error() says why). The CA bundle is AWS_CA_BUNDLE when
 * set, else libcurl's default (the system bundle). */
struct http_client *http_client_new(void);
struct http_client *http_client_free(struct http_client *c);

/* http_global_init - load libcurl and run its global set-up, once per process (thread-safe;
 * later calls return the first result). Returns 0, -ELIBACC (libcurl missing or unusable) or
 * -EIO (set-up failed); then http_global_error() says why. */
int http_global_init(void);

/* http_global_error - why http_global_init() failed ("" when it did not). Static. */
const char *http_global_error(void);

/* http_client_set_ca_file - verify TLS peers against this PEM bundle (borrowed; NULL resets). */
void http_client_set_ca_file(struct http_client *c, const char *path);

/* http_perform - one request. Returns 0 when an HTTP response arrived (any status: see
 * resp->status), or -ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH, -ECONNRESET, -EFBIG (body larger
 * than max_response), -EPROTO (TLS or HTTP protocol error), -EINVAL (bad URL), -ENOMEM, -EIO.
 * resp is initialised by this call; release it with http_response_done(). */
int http_perform(struct http_client *c, const struct http_request *req, struct http_response *resp);

/* http_client_error - curl's description of the last failure ("" when none). Borrowed. */
const char *http_client_error(const struct http_client *c);

/* http_client_peer - "ip:port" of the last connection (IPv6 in brackets), "" before one. */
void http_client_peer(const struct http_client *c, char *out, size_t size);

/* http_response_done - release the body. */
void http_response_done(struct http_response *resp);

/* http_url_join - base (with or without a trailing slash) + path (without a leading slash).
 * Caller frees; NULL on ENOMEM. */
char *http_url_join(const char *base, const char *path);
