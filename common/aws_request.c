/* SPDX-License-Identifier: MIT */
/*
 * aws_request - endpoint resolution, URL splitting, Date parsing and the signed POST shared
 * by the Secrets Manager and SES v2 clients.
 *
 * SECURITY: the session token and the signature are only in header lines that are wiped
 * with secret_free() once the request is sent.
 */
#include "aws_request.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "secret_mask.h"
#include "sigv4.h"

#define AWS_HEADER_LINES_MAX 7 /* six lines and the NULL that ends them */

/* env_is_true - the variable is set to "true" (any case) */
static bool env_is_true(const char *name)
{
        const char *v = getenv(name);

        return v && strcasecmp(v, "true") == 0;
}

char *aws_endpoint_url(const char *service_env, const char *host_prefix, const char *region)
{
        const char *e = NULL;
        char *url;

        if (!env_is_true("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) {
                e = getenv(service_env);
                if (!e || !*e)
                        e = getenv("AWS_ENDPOINT_URL");
        }
        if (e && *e)
                return strdup(e);
        if (asprintf(&url, "https://%s.%s.amazonaws.com%s", host_prefix, region,
                     strncmp(region, "cn-", 3) == 0 ? ".cn" : "") < 0)
                return NULL;
        return url;
}

int aws_split_endpoint(const char *url, char *host, size_t host_size, const char **ret_path)
{
        const char *p, *slash;
        size_t n;

        if (strncasecmp(url, "https://", 8) == 0)
                p = url + 8;
        else if (strncasecmp(url, "http://", 7) == 0)
                p = url + 7;
        else
                return -EINVAL;
        slash = strchr(p, '/');
        n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || n >= host_size || memchr(p, '@', n) || memchr(p, '?', n))
                return -EINVAL;
        memcpy(host, p, n);
        host[n] = '\0';
        *ret_path = p + n;
        return 0;
}

int aws_parse_http_date(const char *s, time_t *ret)
{
        struct tm tm = {0};
        const char *end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);

        if (!end || *end)
                return -EINVAL;
        *ret = timegm(&tm);
        return 0;
}

/* header_line - "Name: value" into a new string; NULL on ENOMEM */
static char *header_line(const char *name, const char *value)
{
        char *s;

        return asprintf(&s, "%s: %s", name, value) < 0 ? NULL : s;
}

int aws_signed_post(struct http_client *http, const struct aws_post *post,
                    const struct aws_credentials *creds, time_t now, struct http_response *resp)
{
        const struct sigv4_header sign_headers[] = {
                {"Host", post->host},
                {"Content-Type", post->content_type},
                {"X-Amz-Target", post->target}, /* last: left out when NULL */
        };
        struct sigv4_request sreq = {
                .method = "POST",
                .path = post->path,
                .headers = sign_headers,
                .n_headers = sizeof sign_headers / sizeof sign_headers[0] - (post->target ? 0 : 1),
                .payload = post->body,
                .payload_len = post->body_len,
        };
        struct sigv4_params params = {
                .access_key_id = creds->access_key_id,
                .secret_access_key = creds->secret_access_key,
                .session_token = creds->session_token,
                .region = post->region,
                .service = post->service,
                .now = now,
        };
        struct sigv4_result sig = {0};
        char *lines[AWS_HEADER_LINES_MAX] = {0};
        size_t n = 0;
        int r;

        *resp = (struct http_response){0}; /* safe to release whatever happens below */
        r = sigv4_sign(&sreq, &params, &sig);
        if (r < 0)
                return r;
        lines[n++] = header_line("Host", post->host);
        lines[n++] = header_line("Content-Type", post->content_type);
        if (post->target)
                lines[n++] = header_line("X-Amz-Target", post->target);
        lines[n++] = header_line("X-Amz-Date", sig.amz_date);
        if (sig.add_security_token)
                lines[n++] = header_line("X-Amz-Security-Token", creds->session_token);
        lines[n++] = header_line("Authorization", sig.authorization);
        sigv4_result_done(&sig);
        for (size_t i = 0; i < n; i++)
                if (!lines[i])
                        r = -ENOMEM;
        if (r >= 0) {
                struct http_request hreq = {
                        .method = "POST",
                        .url = post->url,
                        .headers = (const char *const *)lines,
                        .body = post->body,
                        .body_len = post->body_len,
                        .connect_timeout_ms = post->connect_timeout_ms < post->timeout_ms
                                                      ? post->connect_timeout_ms
                                                      : post->timeout_ms,
                        .timeout_ms = post->timeout_ms,
                        .max_response = post->max_response,
                        .secret_body = post->secret_body,
                };

                r = http_perform(http, &hreq, resp);
        }
        for (size_t i = 0; i < n; i++)
                secret_free(lines[i]);
        return r;
}
