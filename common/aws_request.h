/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "aws_credentials.h"
#include "http.h"

/* The pieces every signed AWS API call shares: where the service lives, how its URL splits
 * into the Host header and a path, the server's clock for skew correction, and one signed
 * POST. Library code: no logging; credentials only ever sit in wiped header lines. */

/* aws_endpoint_url - the endpoint URL for a service: the service's own variable (e.g.
 * AWS_ENDPOINT_URL_SESV2), else AWS_ENDPOINT_URL, both ignored when
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true; else https://HOST_PREFIX.REGION.amazonaws.com
 * (".cn" appended for cn- regions). Caller frees; NULL on ENOMEM. */
char *aws_endpoint_url(const char *service_env, const char *host_prefix, const char *region);

/* aws_split_endpoint - split an http(s) URL: host receives the Host header value (host[:port]
 * as written in the URL); *ret_path points into url at the path ("/..."), or at "" when the
 * URL has none. -EINVAL for another scheme, an empty or too long host, or userinfo/query in
 * the authority. */
int aws_split_endpoint(const char *url, char *host, size_t host_size, const char **ret_path);

/* aws_parse_http_date - an RFC 7231 IMF-fixdate (the Date header) into *ret; -EINVAL when s
 * is not one. */
int aws_parse_http_date(const char *s, time_t *ret);

/* One signed POST. target, when not NULL, is sent (and signed) as X-Amz-Target. The
 * connection timeout is the smaller of connect_timeout_ms and timeout_ms. */
struct aws_post {
        const char *url;  /* where to send it */
        const char *host; /* the Host header, as aws_split_endpoint() gives it */
        const char *path; /* the path that is signed */
        const char *region;
        const char *service; /* the signing name */
        const char *content_type;
        const char *target; /* NULL: no X-Amz-Target */
        const void *body;
        size_t body_len;
        uint64_t timeout_ms;
        uint64_t connect_timeout_ms;
        size_t max_response;
        bool secret_body; /* wipe the response body when released */
};

/* aws_signed_post - sign post with creds at time now (SigV4) and send it: headers Host,
 * Content-Type, [X-Amz-Target], X-Amz-Date, [X-Amz-Security-Token], Authorization, in that
 * order. Returns what http_perform() returns, a sigv4_sign() error (-EINVAL for malformed
 * credentials) or -ENOMEM; in every case the caller releases resp with http_response_done().
 * The header lines are wiped before return. */
int aws_signed_post(struct http_client *http, const struct aws_post *post,
                    const struct aws_credentials *creds, time_t now, struct http_response *resp);
