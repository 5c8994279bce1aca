/* SPDX-License-Identifier: MIT */
/*
 * http - requests over libcurl with bounded time and bounded memory.
 *
 * Every request has a connect timeout and a total timeout, follows no redirects, speaks
 * only http and https, and stops reading when the body exceeds max_response. TLS peers
 * are verified (certificate and host name), against AWS_CA_BUNDLE when set. Retrying is
 * the caller's business (it knows which statuses are retryable); this file converts
 * CURLcode to -errno once and keeps curl's message for the log.
 */
#include "http.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "curl_library.h"

#define HTTP_DEFAULT_CONNECT_TIMEOUT_MS 1000
#define HTTP_DEFAULT_TIMEOUT_MS         5000
#define HTTP_DEFAULT_MAX_RESPONSE       (1024 * 1024)

struct http_client {
        CURL *curl;
        const char *ca_file;
        char error[CURL_ERROR_SIZE];
        bool too_big;
};

/* libcurl's functions, set once by global_init_once() */
static const struct curl_library *lib;
static int global_result;
static char global_error[300];
static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init_once(void)
{
        const struct curl_library *l = curl_library_load();

        if (!l) {
                (void)snprintf(global_error, sizeof global_error, "%s", curl_library_error());
                global_result = -ELIBACC;
        } else if (l->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                (void)snprintf(global_error, sizeof global_error, "libcurl's global set-up failed");
                global_result = -EIO;
        } else {
                lib = l;
        }
}

int http_global_init(void)
{
        (void)pthread_once(&global_once, global_init_once);
        return global_result;
}

const char *http_global_error(void)
{
        return global_error;
}

struct http_client *http_client_new(void)
{
        struct http_client *c;
        int r = http_global_init();

        if (r < 0) {
                errno = -r;
                return NULL;
        }
        c = calloc(1, sizeof *c);
        if (!c)
                return NULL;
        c->curl = lib->easy_init();
        if (!c->curl) {
                free(c);
                errno = ENOMEM;
                return NULL;
        }
        c->ca_file = getenv("AWS_CA_BUNDLE");
        if (c->ca_file && !*c->ca_file)
                c->ca_file = NULL;
        return c;
}

struct http_client *http_client_free(struct http_client *c)
{
        if (!c)
                return NULL;
        lib->easy_cleanup(c->curl);
        free(c);
        return NULL;
}

void http_client_set_ca_file(struct http_client *c, const char *path)
{
        c->ca_file = path;
}

const char *http_client_error(const struct http_client *c)
{
        return c->error;
}

struct write_ctx {
        struct http_client *client;
        struct http_response *resp;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
        struct write_ctx *ctx = userdata;
        size_t n = size * nmemb;

        if (buf_append(&ctx->resp->body, data, n) < 0) {
                ctx->client->too_big = true;
                return 0; /* makes curl fail with CURLE_WRITE_ERROR */
        }
        return n;
}

/* copy_header_value - if line is "name: value", copy the trimmed value into dst */
static void copy_header_value(const char *line, size_t len, const char *name, char *dst,
                              size_t dst_size)
{
        size_t name_len = strlen(name), start, end;

        if (len <= name_len || line[name_len] != ':' || strncasecmp(line, name, name_len) != 0)
                return;
        start = name_len + 1;
        end = len;
        while (start < end && (line[start] == ' ' || line[start] == '\t'))
                start++;
        while (end > start &&
               (line[end - 1] == '\r' || line[end - 1] == '\n' || line[end - 1] == ' '))
                end--;
        if (end - start >= dst_size)
                end = start + dst_size - 1;
        memcpy(dst, line + start, end - start);
        dst[end - start] = '\0';
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
        struct write_ctx *ctx = userdata;
        size_t n = size * nmemb;

        copy_header_value(data, n, "Date", ctx->resp->date, sizeof ctx->resp->date);
        copy_header_value(data, n, "x-amzn-RequestId", ctx->resp->request_id,
                          sizeof ctx->resp->request_id);
        copy_header_value(data, n, "x-amzn-ErrorType", ctx->resp->error_type,
                          sizeof ctx->resp->error_type);
        return n;
}

static int errno_from_curl(CURLcode code)
{
        switch ((int)code) { /* int: curl adds codes; -Wswitch-enum would list them all */
        case CURLE_OK:
                return 0;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return -EHOSTUNREACH;
        case CURLE_GOT_NOTHING:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_PARTIAL_FILE:
                return -ECONNRESET;
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
                return -EINVAL;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                return -EPROTO;
        default:
                return -EIO;
        }
}

int http_perform(struct http_client *c, const struct http_request *req, struct http_response *resp)
{
        struct curl_slist *headers = NULL;
        struct write_ctx ctx = {c, resp};
        curl_off_t connect_time = 0;
        CURLcode code;
        CURL *curl = c->curl;
        int r;

        *resp = (struct http_response){0};
        if (req->secret_body)
                buf_init_secret(&resp->body,
                                req->max_response ? req->max_response : HTTP_DEFAULT_MAX_RESPONSE);
        else
                buf_init(&resp->body,
                         req->max_response ? req->max_response : HTTP_DEFAULT_MAX_RESPONSE);
        c->error[0] = '\0';
        c->too_big = false;

        for (size_t i = 0; req->headers && req->headers[i]; i++) {
                struct curl_slist *n = lib->slist_append(headers, req->headers[i]);

                if (!n) {
                        lib->slist_free_all(headers);
                        return -ENOMEM;
                }
                headers = n;
        }
        /* Without this, curl adds "Expect: 100-continue" to large POSTs, costing a round trip. */
        {
                struct curl_slist *n = lib->slist_append(headers, "Expect:");

                if (!n) {
                        lib->slist_free_all(headers);
                        return -ENOMEM;
                }
                headers = n;
        }

        lib->easy_reset(curl);
        (void)lib->easy_setopt(curl, CURLOPT_URL, req->url);
        (void)lib->easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
        (void)lib->easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
        (void)lib->easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        (void)lib->easy_setopt(curl, CURLOPT_ERRORBUFFER, c->error);
        (void)lib->easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                               (long)(req->connect_timeout_ms ? req->connect_timeout_ms
                                                              : HTTP_DEFAULT_CONNECT_TIMEOUT_MS));
        (void)lib->easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                               (long)(req->timeout_ms ? req->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS));
        (void)lib->easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        (void)lib->easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
        (void)lib->easy_setopt(curl, CURLOPT_WRITEDATA, &ctx);
        (void)lib->easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
        (void)lib->easy_setopt(curl, CURLOPT_HEADERDATA, &ctx);
        (void)lib->easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
        (void)lib->easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
        (void)lib->easy_setopt(curl, CURLOPT_USERAGENT, "mailinit/" MAILINIT_VERSION);
        if (c->ca_file)
                (void)lib->easy_setopt(curl, CURLOPT_CAINFO, c->ca_file);
        if (req->no_proxy)
                (void)lib->easy_setopt(curl, CURLOPT_PROXY, "");
        if (req->max_response)
                (void)lib->easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                                       (curl_off_t)req->max_response);

        if (strcmp(req->method, "GET") == 0) {
                (void)lib->easy_setopt(curl, CURLOPT_HTTPGET, 1L);
        } else if (strcmp(req->method, "POST") == 0) {
                (void)lib->easy_setopt(curl, CURLOPT_POST, 1L);
                (void)lib->easy_setopt(curl, CURLOPT_POSTFIELDS, req->body ? req->body : "");
                (void)lib->easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                                       (curl_off_t)req->body_len);
        } else {
                (void)lib->easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
                (void)lib->easy_setopt(curl, CURLOPT_POSTFIELDS, req->body ? req->body : "");
                (void)lib->easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                                       (curl_off_t)req->body_len);
        }

        code = lib->easy_perform(curl);
        (void)lib->easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connect_time);
        resp->connected = connect_time > 0;
        if (code == CURLE_OK)
                (void)lib->easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
        lib->slist_free_all(headers);

        if (c->too_big || code == CURLE_FILESIZE_EXCEEDED) {
                (void)snprintf(c->error, sizeof c->error, "response larger than %zu bytes",
                               resp->body.max);
                return -EFBIG;
        }
        r = errno_from_curl(code);
        if (r < 0 && !c->error[0])
                (void)snprintf(c->error, sizeof c->error, "%s", lib->easy_strerror(code));
        return r;
}

void http_client_peer(const struct http_client *c, char *out, size_t size)
{
        char *ip = NULL;
        long port = 0;

        if (size == 0)
                return;
        out[0] = '\0';
        if (lib->easy_getinfo(c->curl, CURLINFO_PRIMARY_IP, &ip) != CURLE_OK || !ip || !*ip)
                return;
        (void)lib->easy_getinfo(c->curl, CURLINFO_PRIMARY_PORT, &port);
        (void)snprintf(out, size, strchr(ip, ':') ? "[%s]:%ld" : "%s:%ld", ip, port);
}

void http_response_done(struct http_response *resp)
{
        buf_done(&resp->body);
}

char *http_url_join(const char *base, const char *path)
{
        size_t n = strlen(base);
        char *url;

        while (n > 0 && base[n - 1] == '/')
                n--;
        while (*path == '/')
                path++;
        if (asprintf(&url, "%.*s/%s", (int)n, base, path) < 0)
                return NULL;
        return url;
}
