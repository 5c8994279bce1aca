/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* AWS Signature Version 4, header signing (AWS4-HMAC-SHA256). Pure: no I/O, no logging and
 * no clock; the caller passes the time. */

#define SIGV4_ALGORITHM      "AWS4-HMAC-SHA256"
#define SIGV4_AMZ_DATE_SIZE  17                   /* "20150830T123600Z" + NUL */
#define SIGV4_SIGNATURE_SIZE 65                   /* 64 hex digits + NUL */
#define SIGV4_KEY_SIZE       32                   /* HMAC-SHA256 output */
#define SIGV4_SECRET_MAX     256                  /* bytes of a secret access key */
#define SIGV4_CANONICAL_MAX  ((size_t)256 * 1024) /* bytes of canonical request */
#define SIGV4_SCOPE_PART_MAX 64                   /* bytes of a region or service name */

struct sigv4_header {
        const char *name;
        const char *value;
};

/* A request to sign. Everything is borrowed for the duration of sigv4_sign().
 * method: "GET", "POST"... (upper case, as sent).
 * path: the path of the request target as sent, starting with '/'. Dot segments and
 *   repeated slashes are removed and each segment is URI-encoded once (the rule for every
 *   service but S3), so a '%' already in it is encoded again as "%25".
 * query: the query string without '?', or NULL. Pairs are percent-decoded, encoded again
 *   per RFC 3986 and sorted by key, then value.
 * headers: the headers to sign; must include Host. Names are case-insensitive; repeated
 *   names are merged in order. X-Amz-Date, when present, is the signing time (and `now` is
 *   not used). User-Agent, Expect, X-Amzn-Trace-Id, Connection, Transfer-Encoding and
 *   Upgrade are never signed (proxies may change them). Authorization is refused.
 * payload: the body (payload_len bytes; NULL when empty). */
struct sigv4_request {
        const char *method;
        const char *path;
        const char *query;
        const struct sigv4_header *headers;
        size_t n_headers;
        const void *payload;
        size_t payload_len;
};

/* Credentials, scope and time. session_token is NULL for long-term keys; when set it is
 * signed as X-Amz-Security-Token (see sigv4_result.add_security_token). */
struct sigv4_params {
        const char *access_key_id;
        const char *secret_access_key;
        const char *session_token;
        const char *region;
        const char *service;
        time_t now;
};

/* The signature and its intermediate steps. Strings are owned by the result and released by
 * sigv4_result_done(). The canonical request holds the session token: treat it as secret. */
struct sigv4_result {
        char *canonical_request;
        char *string_to_sign;
        char *signed_headers;                 /* "host;x-amz-date;..." */
        char *authorization;                  /* value of the Authorization header */
        char signature[SIGV4_SIGNATURE_SIZE]; /* lower-case hex */
        char amz_date[SIGV4_AMZ_DATE_SIZE];   /* value of X-Amz-Date */
        bool add_amz_date;       /* the request lacks X-Amz-Date: send X-Amz-Date: amz_date */
        bool add_security_token; /* send X-Amz-Security-Token: session_token (it was signed) */
};

/* sigv4_sign - sign req. The caller sends req's headers plus Authorization: authorization,
 * and the headers that the add_* flags ask for. Returns 0 and fills *ret; -EINVAL for a
 * malformed request or parameter (no Host, bad header name, bare CR/LF in a value, bad
 * percent-escape, empty key...), -EFBIG past SIGV4_CANONICAL_MAX, -ENOMEM, -EPROTO when
 * OpenSSL fails. *ret is written only on success. */
int sigv4_sign(const struct sigv4_request *req, const struct sigv4_params *p,
               struct sigv4_result *ret);

/* sigv4_result_done - wipe and free the strings; the struct may be reused. */
void sigv4_result_done(struct sigv4_result *r);

/* sigv4_derive_signing_key - the HMAC chain "AWS4"+secret -> date8 (YYYYMMDD) -> region ->
 * service -> "aws4_request". Writes out only on success; returns 0, -EINVAL (empty or too
 * long secret, date8 not 8 digits, bad region or service) or -EPROTO. The caller wipes out. */
int sigv4_derive_signing_key(const char *secret, const char *date8, const char *region,
                             const char *service, unsigned char out[SIGV4_KEY_SIZE]);

/* sigv4_hmac_sha256 - HMAC-SHA256(key, data) into out. Returns 0 or -EPROTO (OpenSSL). */
int sigv4_hmac_sha256(const void *key, size_t key_len, const void *data, size_t data_len,
                      unsigned char out[SIGV4_KEY_SIZE]);
