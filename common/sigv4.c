/* SPDX-License-Identifier: MIT */
/*
 * sigv4 - AWS Signature Version 4, header signing (AWS4-HMAC-SHA256).
 *
 * Canonical request: METHOD \n canonical URI \n canonical query \n "name:value\n" for each
 * signed header \n signed header names joined by ';' \n hex(SHA256(payload)).
 * String to sign: algorithm \n X-Amz-Date \n date8/region/service/aws4_request \n
 * hex(SHA256(canonical request)). Signature: hex HMAC-SHA256 of the string to sign, keyed with
 * the HMAC chain of sigv4_derive_signing_key(). The conformance data is the aws-c-auth
 * signing test suite (tests/data/sigv4) plus our own Secrets Manager vector made by botocore.
 *
 * Pure: no I/O, no clock, no logging. Malformed input is -EINVAL; nothing is repaired.
 * SECURITY: the "AWS4"+secret buffer and every derived key are wiped with OPENSSL_cleanse;
 * the canonical request (which holds the session token) lives in a secret buffer.
 */
#include "sigv4.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "buf.h"

#define SIGV4_ACCESS_KEY_ID_MAX 128
#define SIGV4_TERMINATOR        "aws4_request"

struct header_entry {
        const char *name; /* as given; compared and written in lower case */
        const char *value;
        size_t order; /* position in the request, to merge repeated headers in order */
};

struct query_pair {
        char *key; /* encoded */
        char *value;
};

static const char hex_digits[] = "0123456789abcdef";

/* Headers that proxies and HTTP stacks add or rewrite (botocore and aws-c-auth skip them). */
static const char *const unsigned_headers[] = {
        "user-agent", "expect", "x-amzn-trace-id", "connection", "transfer-encoding", "upgrade",
};

static char ascii_lower(char c)
{
        if (c >= 'A' && c <= 'Z')
                return (char)(c | 0x20);
        return c;
}

static int ascii_casecmp(const char *a, const char *b)
{
        for (;; a++, b++) {
                unsigned char ca = (unsigned char)ascii_lower(*a);
                unsigned char cb = (unsigned char)ascii_lower(*b);

                if (ca != cb || ca == '\0')
                        return (int)ca - (int)cb;
        }
}

static bool is_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* RFC 3986 section 2.3: the characters never percent-encoded */
static bool is_unreserved(char c)
{
        return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 7230 section 3.2.6 tchar */
static bool is_token(const char *s)
{
        if (!s || !*s)
                return false;
        for (; *s; s++)
                if (!is_alnum(*s) && !strchr("!#$%&'*+-.^_`|~", *s))
                        return false;
        return true;
}

/* is_scope_part - region, service: what may stand between the '/' of a credential scope */
static bool is_scope_part(const char *s)
{
        size_t n = 0;

        if (!s)
                return false;
        for (; s[n]; n++)
                if (!is_alnum(s[n]) && s[n] != '-' && s[n] != '_' && s[n] != '.')
                        return false;
        return n > 0 && n <= SIGV4_SCOPE_PART_MAX;
}

static bool is_date8(const char *s)
{
        for (size_t i = 0; i < 8; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return s[8] == '\0';
}

/* is_amz_date - basic ISO 8601 "YYYYMMDDTHHMMSSZ" */
static bool is_amz_date(const char *s, size_t len)
{
        if (len != SIGV4_AMZ_DATE_SIZE - 1 || s[8] != 'T' || s[15] != 'Z')
                return false;
        for (size_t i = 0; i < 15; i++)
                if (i != 8 && (s[i] < '0' || s[i] > '9'))
                        return false;
        return true;
}

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
        for (size_t i = 0; i < n; i++) {
                out[2 * i] = hex_digits[in[i] >> 4];
                out[2 * i + 1] = hex_digits[in[i] & 0x0f];
        }
        out[2 * n] = '\0';
}

static int sha256_hex(const void *data, size_t len, char out[SIGV4_SIGNATURE_SIZE])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int md_len = 0;

        if (EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != SIGV4_KEY_SIZE)
                return -EPROTO;
        hex_encode(md, md_len, out);
        return 0;
}

int sigv4_hmac_sha256(const void *key, size_t key_len, const void *data, size_t data_len,
                      unsigned char out[SIGV4_KEY_SIZE])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int md_len = 0;

        if (key_len > INT_MAX)
                return -EINVAL;
        if (!HMAC(EVP_sha256(), key, (int)key_len, data, data_len, md, &md_len) ||
            md_len != SIGV4_KEY_SIZE) {
                OPENSSL_cleanse(md, sizeof md);
                return -EPROTO;
        }
        memcpy(out, md, SIGV4_KEY_SIZE);
        OPENSSL_cleanse(md, sizeof md);
        return 0;
}

int sigv4_derive_signing_key(const char *secret, const char *date8, const char *region,
                             const char *service, unsigned char out[SIGV4_KEY_SIZE])
{
        static const unsigned char key_prefix[4] = {'A', 'W', 'S', '4'};
        unsigned char secret_key[sizeof key_prefix + SIGV4_SECRET_MAX];
        unsigned char k[SIGV4_KEY_SIZE], k2[SIGV4_KEY_SIZE];
        size_t secret_len;
        int r;

        if (!secret || !date8 || !is_date8(date8) || !is_scope_part(region) ||
            !is_scope_part(service))
                return -EINVAL;
        secret_len = strlen(secret);
        if (secret_len == 0 || secret_len > SIGV4_SECRET_MAX)
                return -EINVAL;

        /* bytes, not a string: the first HMAC key is "AWS4" followed by the secret */
        memcpy(secret_key, key_prefix, sizeof key_prefix);
        memcpy(secret_key + sizeof key_prefix, secret, secret_len);
        r = sigv4_hmac_sha256(secret_key, sizeof key_prefix + secret_len, date8, 8, k);
        if (r >= 0)
                r = sigv4_hmac_sha256(k, sizeof k, region, strlen(region), k2);
        if (r >= 0)
                r = sigv4_hmac_sha256(k2, sizeof k2, service, strlen(service), k);
        if (r >= 0)
                r = sigv4_hmac_sha256(k, sizeof k, SIGV4_TERMINATOR, strlen(SIGV4_TERMINATOR), k2);
        if (r >= 0)
                memcpy(out, k2, SIGV4_KEY_SIZE);
        OPENSSL_cleanse(secret_key, sizeof secret_key);
        OPENSSL_cleanse(k, sizeof k);
        OPENSSL_cleanse(k2, sizeof k2);
        return r;
}

/* uri_encode_append - RFC 3986 percent-encoding of n bytes, upper-case hex as SigV4 wants */
static int uri_encode_append(struct buf *b, const char *s, size_t n)
{
        static const char upper_hex[] = "0123456789ABCDEF";
        int r;

        for (size_t i = 0; i < n; i++) {
                if (is_unreserved(s[i])) {
                        r = buf_append(b, &s[i], 1);
                } else {
                        unsigned char c = (unsigned char)s[i];
                        char esc[3] = {'%', upper_hex[c >> 4], upper_hex[c & 0x0f]};

                        r = buf_append(b, esc, sizeof esc);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

/* canonical_uri_append - remove "." and ".." segments and empty segments (repeated slashes),
 * keep a trailing slash when a segment remains, then encode each segment once. */
static int canonical_uri_append(struct buf *b, const char *path)
{
        struct segment {
                const char *s;
                size_t n;
        } * seg;
        size_t n_seg = 0, max_seg = 1, len;
        int r = 0;

        if (!path || path[0] != '/')
                return -EINVAL;
        len = strlen(path);
        for (const char *p = path; *p; p++)
                if (*p == '/')
                        max_seg++;
        seg = calloc(max_seg, sizeof *seg);
        if (!seg)
                return -ENOMEM;

        for (const char *p = path; *p;) {
                const char *end = strchrnul(p, '/');
                size_t n = (size_t)(end - p);

                if (n == 2 && p[0] == '.' && p[1] == '.') {
                        if (n_seg > 0)
                                n_seg--;
                } else if (n > 0 && !(n == 1 && p[0] == '.')) {
                        seg[n_seg].s = p;
                        seg[n_seg].n = n;
                        n_seg++;
                }
                p = *end ? end + 1 : end;
        }

        for (size_t i = 0; i < n_seg && r >= 0; i++) {
                r = buf_append(b, "/", 1);
                if (r >= 0)
                        r = uri_encode_append(b, seg[i].s, seg[i].n);
        }
        if (r >= 0 && (n_seg == 0 || path[len - 1] == '/'))
                r = buf_append(b, "/", 1);
        free(seg);
        return r;
}

static int hex_value(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* query_component - percent-decode s[0..n) and encode it again: "%E1%88%B4" and the raw
 * UTF-8 bytes give the same text. '+' is a literal plus (RFC 3986), not a space. */
static int query_component(const char *s, size_t n, char **ret)
{
        struct buf out;
        char *raw;
        size_t raw_len = 0;
        int r;

        raw = malloc(n + 1);
        if (!raw)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '%') {
                        if (n - i < 3 || hex_value(s[i + 1]) < 0 || hex_value(s[i + 2]) < 0) {
                                free(raw);
                                return -EINVAL;
                        }
                        raw[raw_len++] = (char)(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
                        i += 2;
                } else
                        raw[raw_len++] = s[i];
        }

        buf_init(&out, SIGV4_CANONICAL_MAX);
        r = uri_encode_append(&out, raw, raw_len);
        if (r >= 0 && !out.data)
                r = buf_append(&out, "", 0);
        free(raw);
        if (r < 0) {
                buf_done(&out);
                return r;
        }
        *ret = buf_take(&out, NULL);
        return 0;
}

static int query_pair_compare(const void *a, const void *b)
{
        const struct query_pair *x = a, *y = b;
        int c = strcmp(x->key, y->key);

        return c != 0 ? c : strcmp(x->value, y->value);
}

/* canonical_query_append - pairs sorted by encoded key, then encoded value; "k" is "k=" */
static int canonical_query_append(struct buf *b, const char *query)
{
        struct query_pair *pairs = NULL;
        size_t n_pairs = 0, max_pairs = 1;
        int r = 0;

        if (!query || !*query)
                return 0;
        for (const char *p = query; *p; p++)
                if (*p == '&')
                        max_pairs++;
        pairs = calloc(max_pairs, sizeof *pairs);
        if (!pairs)
                return -ENOMEM;

        for (const char *p = query; *p && r >= 0;) {
                const char *end = strchrnul(p, '&');
                const char *eq = memchr(p, '=', (size_t)(end - p));
                const char *key_end = eq ? eq : end;

                if (end > p) {
                        r = query_component(p, (size_t)(key_end - p), &pairs[n_pairs].key);
                        if (r >= 0) {
                                const char *v = eq ? eq + 1 : end;

                                r = query_component(v, (size_t)(end - v), &pairs[n_pairs].value);
                        }
                        n_pairs++;
                }
                p = *end ? end + 1 : end;
        }
        if (r >= 0)
                qsort(pairs, n_pairs, sizeof *pairs, query_pair_compare);
        for (size_t i = 0; i < n_pairs && r >= 0; i++)
                r = buf_printf(b, "%s%s=%s", i > 0 ? "&" : "", pairs[i].key, pairs[i].value);

        for (size_t i = 0; i < n_pairs; i++) {
                free(pairs[i].key);
                free(pairs[i].value);
        }
        free(pairs);
        return r;
}

/* header_value_append - trim, and turn each run of white space into one space. An obs-fold
 * (CRLF or LF followed by SP/HT, RFC 7230 section 3.2.4) is white space; a bare CR or LF, or
 * any other control character, is refused. */
static int header_value_append(struct buf *b, const char *v)
{
        bool space = false, seen = false;
        int r;

        for (const char *s = v; *s; s++) {
                char c = *s;

                if (c == '\r') {
                        if (s[1] != '\n')
                                return -EINVAL;
                        c = *++s;
                }
                if (c == '\n') {
                        if (s[1] != ' ' && s[1] != '\t')
                                return -EINVAL;
                        c = ' ';
                }
                if (c == ' ' || c == '\t') {
                        space = seen;
                        continue;
                }
                if ((unsigned char)c < 0x20 || c == 0x7f)
                        return -EINVAL;
                if (space) {
                        r = buf_append(b, " ", 1);
                        if (r < 0)
                                return r;
                        space = false;
                }
                r = buf_append(b, &c, 1);
                if (r < 0)
                        return r;
                seen = true;
        }
        return 0;
}

static int header_name_append(struct buf *b, const char *name)
{
        for (const char *s = name; *s; s++) {
                char c = ascii_lower(*s);
                int r = buf_append(b, &c, 1);

                if (r < 0)
                        return r;
        }
        return 0;
}

static int header_entry_compare(const void *a, const void *b)
{
        const struct header_entry *x = a, *y = b;
        int c = ascii_casecmp(x->name, y->name);

        if (c != 0)
                return c;
        return x->order < y->order ? -1 : x->order > y->order;
}

static bool is_unsigned_header(const char *name)
{
        for (size_t i = 0; i < sizeof unsigned_headers / sizeof unsigned_headers[0]; i++)
                if (ascii_casecmp(name, unsigned_headers[i]) == 0)
                        return true;
        return false;
}

/* trimmed - the value without leading and trailing SP/HT, as a span */
static const char *trimmed(const char *v, size_t *ret_len)
{
        size_t n;

        while (*v == ' ' || *v == '\t')
                v++;
        n = strlen(v);
        while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
                n--;
        *ret_len = n;
        return v;
}

/* collect_headers - validate the request headers and pick the ones to sign. Fills amz_date
 * from an X-Amz-Date header, and says whether the session token header is already there. */
static int collect_headers(const struct sigv4_request *req, const struct sigv4_params *p,
                           struct header_entry *entries, size_t *ret_n,
                           char amz_date[SIGV4_AMZ_DATE_SIZE], bool *ret_has_date,
                           bool *ret_has_token)
{
        size_t n = 0, n_host = 0, n_date = 0, n_token = 0;

        for (size_t i = 0; i < req->n_headers; i++) {
                const struct sigv4_header *h = &req->headers[i];
                const char *v;
                size_t len;

                if (!is_token(h->name) || !h->value)
                        return -EINVAL;
                if (ascii_casecmp(h->name, "authorization") == 0)
                        return -EINVAL;
                if (is_unsigned_header(h->name))
                        continue;
                if (ascii_casecmp(h->name, "host") == 0) {
                        n_host++;
                } else if (ascii_casecmp(h->name, "x-amz-date") == 0) {
                        v = trimmed(h->value, &len);
                        if (!is_amz_date(v, len))
                                return -EINVAL;
                        memcpy(amz_date, v, len);
                        amz_date[len] = '\0';
                        n_date++;
                } else if (ascii_casecmp(h->name, "x-amz-security-token") == 0) {
                        /* the same token twice is harmless; two different ones are a bug */
                        v = trimmed(h->value, &len);
                        if (p->session_token && (strlen(p->session_token) != len ||
                                                 memcmp(v, p->session_token, len) != 0))
                                return -EINVAL;
                        n_token++;
                }
                entries[n++] = (struct header_entry){h->name, h->value, i};
        }
        if (n_host != 1 || n_date > 1 || n_token > 1)
                return -EINVAL;
        *ret_n = n;
        *ret_has_date = n_date > 0;
        *ret_has_token = n_token > 0;
        return 0;
}

static int canonical_headers_append(struct buf *creq, struct buf *signed_headers,
                                    const struct header_entry *e, size_t n)
{
        int r = 0;

        for (size_t i = 0; i < n && r >= 0; i++) {
                bool first = i == 0 || ascii_casecmp(e[i - 1].name, e[i].name) != 0;
                bool last = i + 1 == n || ascii_casecmp(e[i + 1].name, e[i].name) != 0;

                if (first) {
                        if (i > 0)
                                r = buf_append(signed_headers, ";", 1);
                        if (r >= 0)
                                r = header_name_append(signed_headers, e[i].name);
                        if (r >= 0)
                                r = header_name_append(creq, e[i].name);
                        if (r >= 0)
                                r = buf_append(creq, ":", 1);
                } else
                        r = buf_append(creq, ",", 1);
                if (r >= 0)
                        r = header_value_append(creq, e[i].value);
                if (r >= 0 && last)
                        r = buf_append(creq, "\n", 1);
        }
        return r;
}

static int check_params(const struct sigv4_request *req, const struct sigv4_params *p)
{
        size_t n;

        if (!req || !p || !is_token(req->method) || !req->path ||
            (req->n_headers > 0 && !req->headers) || (req->payload_len > 0 && !req->payload))
                return -EINVAL;
        if (!p->access_key_id || !p->secret_access_key || !is_scope_part(p->region) ||
            !is_scope_part(p->service))
                return -EINVAL;
        for (n = 0; p->access_key_id[n]; n++)
                if (!is_alnum(p->access_key_id[n]))
                        return -EINVAL;
        if (n == 0 || n > SIGV4_ACCESS_KEY_ID_MAX)
                return -EINVAL;
        if (p->session_token) {
                if (!*p->session_token)
                        return -EINVAL; /* an empty token header would not be sent at all */
                for (const char *s = p->session_token; *s; s++)
                        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
                                return -EINVAL;
        }
        return 0;
}

int sigv4_sign(const struct sigv4_request *req, const struct sigv4_params *p,
               struct sigv4_result *ret)
{
        struct buf creq, sts, signed_headers, auth;
        struct header_entry *entries = NULL;
        struct sigv4_result res = {0};
        unsigned char key[SIGV4_KEY_SIZE], sig[SIGV4_KEY_SIZE];
        char hash[SIGV4_SIGNATURE_SIZE], date8[9];
        bool has_date = false, has_token = false;
        size_t n = 0;
        int r;

        buf_init_secret(&creq, SIGV4_CANONICAL_MAX);
        buf_init(&sts, SIGV4_CANONICAL_MAX);
        buf_init(&signed_headers, SIGV4_CANONICAL_MAX);
        buf_init(&auth, SIGV4_CANONICAL_MAX);

        r = check_params(req, p);
        if (r < 0)
                goto out;
        entries = calloc(req->n_headers + 2, sizeof *entries);
        if (!entries) {
                r = -ENOMEM;
                goto out;
        }
        r = collect_headers(req, p, entries, &n, res.amz_date, &has_date, &has_token);
        if (r < 0)
                goto out;
        if (!has_date) {
                struct tm tm;

                if (!gmtime_r(&p->now, &tm) ||
                    strftime(res.amz_date, sizeof res.amz_date, "%Y%m%dT%H%M%SZ", &tm) !=
                            SIGV4_AMZ_DATE_SIZE - 1) {
                        r = -EINVAL;
                        goto out;
                }
                entries[n++] = (struct header_entry){"x-amz-date", res.amz_date, SIZE_MAX - 1};
                res.add_amz_date = true;
        }
        if (p->session_token && !has_token) {
                entries[n++] =
                        (struct header_entry){"x-amz-security-token", p->session_token, SIZE_MAX};
                res.add_security_token = true;
        }
        qsort(entries, n, sizeof *entries, header_entry_compare);
        memcpy(date8, res.amz_date, 8);
        date8[8] = '\0';

        /* Canonical request */
        r = buf_printf(&creq, "%s\n", req->method);
        if (r >= 0)
                r = canonical_uri_append(&creq, req->path);
        if (r >= 0)
                r = buf_append(&creq, "\n", 1);
        if (r >= 0)
                r = canonical_query_append(&creq, req->query);
        if (r >= 0)
                r = buf_append(&creq, "\n", 1);
        if (r >= 0)
                r = canonical_headers_append(&creq, &signed_headers, entries, n);
        if (r >= 0)
                r = sha256_hex(req->payload_len > 0 ? req->payload : "", req->payload_len, hash);
        if (r >= 0)
                r = buf_printf(&creq, "\n%s\n%s", signed_headers.data, hash);
        if (r < 0)
                goto out;

        /* String to sign */
        r = sha256_hex(creq.data, creq.len, hash);
        if (r >= 0)
                r = buf_printf(&sts, SIGV4_ALGORITHM "\n%s\n%s/%s/%s/" SIGV4_TERMINATOR "\n%s",
                               res.amz_date, date8, p->region, p->service, hash);
        if (r < 0)
                goto out;

        /* Signature */
        r = sigv4_derive_signing_key(p->secret_access_key, date8, p->region, p->service, key);
        if (r >= 0)
                r = sigv4_hmac_sha256(key, sizeof key, sts.data, sts.len, sig);
        if (r < 0)
                goto out;
        hex_encode(sig, sizeof sig, res.signature);
        r = buf_printf(&auth,
                       SIGV4_ALGORITHM " Credential=%s/%s/%s/%s/" SIGV4_TERMINATOR
                                       ", SignedHeaders=%s, Signature=%s",
                       p->access_key_id, date8, p->region, p->service, signed_headers.data,
                       res.signature);
        if (r < 0)
                goto out;

        res.canonical_request = buf_take(&creq, NULL);
        res.string_to_sign = buf_take(&sts, NULL);
        res.signed_headers = buf_take(&signed_headers, NULL);
        res.authorization = buf_take(&auth, NULL);
        *ret = res;
        r = 0;
out:
        OPENSSL_cleanse(key, sizeof key);
        OPENSSL_cleanse(sig, sizeof sig);
        free(entries);
        buf_done(&creq);
        buf_done(&sts);
        buf_done(&signed_headers);
        buf_done(&auth);
        return r;
}

static char *wipe_free(char *s)
{
        if (s) {
                OPENSSL_cleanse(s, strlen(s));
                free(s);
        }
        return NULL;
}

void sigv4_result_done(struct sigv4_result *r)
{
        if (!r)
                return;
        r->canonical_request = wipe_free(r->canonical_request);
        r->string_to_sign = wipe_free(r->string_to_sign);
        r->signed_headers = wipe_free(r->signed_headers);
        r->authorization = wipe_free(r->authorization);
        OPENSSL_cleanse(r->signature, sizeof r->signature);
        r->amz_date[0] = '\0';
        r->add_amz_date = r->add_security_token = false;
}
