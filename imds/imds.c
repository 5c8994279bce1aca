/* SPDX-License-Identifier: MIT */
/*
 * imds - the EC2 instance metadata client, IMDSv2.
 *
 * One token per client: PUT latest/api/token with a TTL, then the token on every GET. A 401
 * means the token expired or was rotated: it is renewed once per request. A 403 on the token
 * PUT means the endpoint is disabled: fail at once. Timeouts, dropped connections, 5xx and
 * 429 are retried with full-jitter backoff, at most num_attempts times per request and never
 * past the client's deadline. A token PUT that times out on a host that accepted the TCP
 * connection is the classic hop-limit symptom (the answer's IP TTL runs out on the way back
 * into a container); the error says so. Never through an HTTP proxy: IMDS refuses PUTs with
 * X-Forwarded-For, and the traffic must not leave the instance.
 *
 * SECURITY: the token and role credentials are registered with secret_mask and wiped when
 * released; they are never written anywhere.
 */
#include "imds.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backoff.h"
#include "http.h"
#include "imds_parse.h"
#include "parse.h"
#include "secret_mask.h"

#define IMDS_ERROR_MAX               512
#define IMDS_TOKEN_MAX               4096
#define IMDS_DEFAULT_ATTEMPTS        4
#define IMDS_BACKOFF_BASE_MS         100
#define IMDS_BACKOFF_CAP_MS          2000
#define IMDS_CREDENTIALS_404_WAIT_MS 15000
#define IMDS_IPV6_ENDPOINT           "http://[fd00:ec2::254]"
#define IMDS_CREDENTIALS_PATH        "meta-data/iam/security-credentials/"

struct imds_client {
        struct http_client *http;
        char *endpoint;
        char *token; /* NULL until fetched; secret */
        bool allow_v1;
        bool using_v1;
        unsigned token_ttl_sec;
        unsigned max_attempts;
        uint64_t attempt_timeout_ms;
        uint64_t deadline_usec;
        char error[IMDS_ERROR_MAX];
};

static void set_error_text(struct imds_client *c, const char *format, ...)
        __attribute__((format(printf, 2, 3)));

/* set_error_text - record the sentence imds_error() returns */
static void set_error_text(struct imds_client *c, const char *format, ...)
{
        va_list ap;

        va_start(ap, format);
        (void)vsnprintf(c->error, sizeof c->error, format, ap);
        va_end(ap);
}

/* set_error - set_error_text, then r. A macro so that static analysers, which do not follow
 * variadic calls, still see which error is returned. */
#define set_error(c, r, ...) (set_error_text((c), __VA_ARGS__), (r))

bool imds_disabled_by_environment(void)
{
        const char *e = getenv("AWS_EC2_METADATA_DISABLED");

        return e && strcasecmp(e, "true") == 0;
}

/* env_timeout_ms - AWS_METADATA_SERVICE_TIMEOUT (seconds, decimals allowed) or fallback */
static uint64_t env_timeout_ms(uint64_t fallback)
{
        const char *e = getenv("AWS_METADATA_SERVICE_TIMEOUT");
        double v;

        if (!e || parse_rate(e, &v) < 0 || v <= 0 || v > 3600)
                return fallback;
        return (uint64_t)(v * 1000.0);
}

static unsigned env_attempts(unsigned fallback)
{
        const char *e = getenv("AWS_METADATA_SERVICE_NUM_ATTEMPTS");
        uint64_t v;

        if (!e || parse_uint64(e, &v) < 0 || v == 0 || v > 100)
                return fallback;
        return (unsigned)v;
}

static const char *default_endpoint(void)
{
        const char *e = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
        const char *mode = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");

        if (e && *e)
                return e;
        if (mode && strcasecmp(mode, "IPv6") == 0)
                return IMDS_IPV6_ENDPOINT;
        return IMDS_DEFAULT_ENDPOINT;
}

struct imds_client *imds_client_new(const struct imds_options *options)
{
        const char *v1_disabled = getenv("AWS_EC2_METADATA_V1_DISABLED");
        struct imds_client *c = calloc(1, sizeof *c);
        uint64_t deadline_ms;

        if (!c)
                return NULL;
        c->http = http_client_new();
        if (!c->http) {
                int saved = errno;

                free(c);
                errno = saved;
                return NULL;
        }
        c->endpoint = strdup(options && options->endpoint ? options->endpoint : default_endpoint());
        if (!c->endpoint)
                return imds_client_free(c);
        c->allow_v1 = options && options->allow_v1 &&
                      !(v1_disabled && strcasecmp(v1_disabled, "true") == 0);
        c->token_ttl_sec =
                options && options->token_ttl_sec ? options->token_ttl_sec : IMDS_TOKEN_TTL_SEC;
        c->attempt_timeout_ms =
                env_timeout_ms(options && options->request_timeout_ms ? options->request_timeout_ms
                                                                      : IMDS_REQUEST_TIMEOUT_MS);
        c->max_attempts = env_attempts(IMDS_DEFAULT_ATTEMPTS);
        deadline_ms = options && options->deadline_ms ? options->deadline_ms : IMDS_DEADLINE_MS;
        c->deadline_usec = now_monotonic_usec() + deadline_ms * 1000;
        return c;
}

struct imds_client *imds_client_free(struct imds_client *c)
{
        if (!c)
                return NULL;
        http_client_free(c->http);
        free(c->endpoint);
        secret_free(c->token);
        free(c);
        return NULL;
}

const char *imds_error(const struct imds_client *c)
{
        return c->error;
}

bool imds_has_token(const struct imds_client *c)
{
        return c->token || c->using_v1;
}

bool imds_using_v1(const struct imds_client *c)
{
        return c->using_v1;
}

const char *imds_endpoint(const struct imds_client *c)
{
        return c->endpoint;
}

/* remaining_ms - time left before the deadline, 0 when it has passed */
static uint64_t remaining_ms(const struct imds_client *c)
{
        uint64_t now = now_monotonic_usec();

        return now >= c->deadline_usec ? 0 : (c->deadline_usec - now) / 1000;
}

/* attempt_timeout - the per-attempt timeout, cut to the deadline */
static uint64_t attempt_timeout(const struct imds_client *c)
{
        uint64_t left = remaining_ms(c);

        return left < c->attempt_timeout_ms ? left : c->attempt_timeout_ms;
}

/* pause_before_retry - sleep the jittered backoff for attempt; false when the deadline
 * would pass first */
static bool pause_before_retry(const struct imds_client *c, unsigned attempt)
{
        uint64_t delay = backoff_delay_ms(IMDS_BACKOFF_BASE_MS, IMDS_BACKOFF_CAP_MS, attempt,
                                          backoff_random());

        if (delay + 10 >= remaining_ms(c))
                return false;
        sleep_ms(delay);
        return true;
}

static bool is_retryable_status(long status)
{
        return status == 429 || status >= 500;
}

static bool is_transport_retryable(int r)
{
        return r == -ETIMEDOUT || r == -ECONNREFUSED || r == -ECONNRESET || r == -EHOSTUNREACH ||
               r == -EIO;
}

/* fetch_token - PUT latest/api/token; on success c->token holds the token (or using_v1) */
static int fetch_token(struct imds_client *c)
{
        char ttl_header[64], *url;
        const char *headers[] = {ttl_header, NULL};
        int last = -ETIMEDOUT;
        bool timed_out_connected = false;

        c->token = secret_free(c->token);
        (void)snprintf(ttl_header, sizeof ttl_header, "X-aws-ec2-metadata-token-ttl-seconds: %u",
                       c->token_ttl_sec);
        url = http_url_join(c->endpoint, "latest/api/token");
        if (!url)
                return -ENOMEM;

        for (unsigned attempt = 0; attempt < c->max_attempts; attempt++) {
                struct http_request req = {
                        .method = "PUT",
                        .url = url,
                        .headers = headers,
                        .connect_timeout_ms = attempt_timeout(c),
                        .timeout_ms = attempt_timeout(c),
                        .max_response = IMDS_TOKEN_MAX,
                        .no_proxy = true,
                        .secret_body = true,
                };
                struct http_response resp;
                int r;

                if (req.timeout_ms == 0)
                        break;
                r = http_perform(c->http, &req, &resp);
                if (r == 0 && resp.status == 200 &&
                    imds_token_valid(resp.body.data, resp.body.len)) {
                        c->token = buf_take(&resp.body, NULL);
                        http_response_done(&resp);
                        free(url);
                        if (!c->token)
                                return -ENOMEM;
                        (void)secret_mask_add(c->token);
                        return 0;
                }
                if (r == 0 && resp.status == 403) {
                        http_response_done(&resp);
                        free(url);
                        return set_error(
                                c, -EACCES,
                                "the instance metadata service refused the token request (403 on PUT /latest/api/token at %s): IMDS is disabled on this instance (HttpEndpoint=disabled) or the request went through a proxy",
                                c->endpoint);
                }
                if (r == 0 && (resp.status == 404 || resp.status == 405) && c->allow_v1) {
                        http_response_done(&resp);
                        free(url);
                        c->using_v1 = true;
                        return 0;
                }
                if (r == 0 && !is_retryable_status(resp.status)) {
                        long status = resp.status;

                        http_response_done(&resp);
                        free(url);
                        if (status == 200)
                                return set_error(
                                        c, -EBADMSG,
                                        "the instance metadata service at %s answered the token request with an empty or malformed token",
                                        c->endpoint);
                        return set_error(
                                c, -EPROTO,
                                "the instance metadata service at %s answered the token request with HTTP %ld%s",
                                c->endpoint, status,
                                status == 404 || status == 405
                                        ? " (IMDSv2 not supported; IMDSv1 is used only with imds_v1_fallback = yes)"
                                        : "");
                }
                if (r == 0) {
                        last = -EAGAIN;
                        (void)set_error(
                                c, -EAGAIN,
                                "the instance metadata service at %s answered the token request with HTTP %ld",
                                c->endpoint, resp.status);
                } else {
                        last = r;
                        if (r == -ETIMEDOUT && resp.connected)
                                timed_out_connected = true;
                        (void)set_error(
                                c, r,
                                "cannot get an IMDSv2 token from the instance metadata service at %s: %s",
                                c->endpoint, http_client_error(c->http));
                }
                http_response_done(&resp);
                if (!is_transport_retryable(r) && r != 0) {
                        free(url);
                        return r == -EFBIG
                                       ? set_error(
                                                 c, -EBADMSG,
                                                 "the instance metadata service at %s answered the token request with an oversized token",
                                                 c->endpoint)
                                       : r;
                }
                if (attempt + 1 < c->max_attempts && !pause_before_retry(c, attempt))
                        break;
        }
        free(url);
        if (timed_out_connected)
                return set_error(
                        c, -ETIMEDOUT,
                        "the IMDSv2 token request (PUT /latest/api/token) to %s timed out although the host accepted the connection: the token answer is probably dropped by the metadata hop limit (raise HttpPutResponseHopLimit to 2 for containers)",
                        c->endpoint);
        /* Out of attempts with 5xx answers: the service is there but not serving. */
        return last == -EAGAIN ? -ECONNRESET : last;
}

/* has_nul - true when any of len bytes is NUL */
static bool has_nul(const char *p, size_t len)
{
        return memchr(p, '\0', len) != NULL;
}

int imds_get(struct imds_client *c, const char *path, size_t max, bool allow_binary,
             char **ret_body, size_t *ret_len)
{
        bool renewed = false, is_credentials = strncmp(path, IMDS_CREDENTIALS_PATH,
                                                       strlen(IMDS_CREDENTIALS_PATH)) == 0;
        uint64_t first_404_usec = 0;
        char *url, *full_path, token_header[IMDS_TOKEN_MAX + 64];
        const char *headers[] = {token_header, NULL};
        int r = -ETIMEDOUT;

        if (asprintf(&full_path, "latest/%s", path) < 0)
                return -ENOMEM;
        url = http_url_join(c->endpoint, full_path);
        free(full_path);
        if (!url)
                return -ENOMEM;

        for (unsigned attempt = 0; attempt < c->max_attempts;) {
                struct http_request req = {
                        .method = "GET",
                        .url = url,
                        .max_response = max,
                        .no_proxy = true,
                        .secret_body = is_credentials,
                };
                struct http_response resp;

                if (!c->token && !c->using_v1) {
                        r = fetch_token(c);
                        if (r < 0)
                                goto out;
                }
                if (c->token) {
                        (void)snprintf(token_header, sizeof token_header,
                                       "X-aws-ec2-metadata-token: %s", c->token);
                        req.headers = headers;
                }
                req.connect_timeout_ms = req.timeout_ms = attempt_timeout(c);
                if (req.timeout_ms == 0) {
                        r = set_error(
                                c, -ETIMEDOUT,
                                "the instance metadata phase ran out of time (deadline) while reading %s",
                                path);
                        goto out;
                }
                r = http_perform(c->http, &req, &resp);
                secret_wipe(token_header, sizeof token_header);
                if (r == -EFBIG) {
                        http_response_done(&resp);
                        r = set_error(
                                c, -EFBIG,
                                "the instance metadata answer for %s is larger than %zu bytes",
                                path, max);
                        goto out;
                }
                if (r == 0 && resp.status == 200) {
                        if (resp.body.len == 0) {
                                http_response_done(&resp);
                                r = set_error(c, -EBADMSG,
                                              "the instance metadata answer for %s is empty", path);
                                goto out;
                        }
                        if (!allow_binary && has_nul(resp.body.data, resp.body.len)) {
                                http_response_done(&resp);
                                r = set_error(
                                        c, -EBADMSG,
                                        "the instance metadata answer for %s contains a NUL byte",
                                        path);
                                goto out;
                        }
                        *ret_body = buf_take(&resp.body, ret_len);
                        http_response_done(&resp);
                        r = 0;
                        goto out;
                }
                if (r == 0 && resp.status == 401 && !c->using_v1 && !renewed) {
                        /* The token expired or IMDS restarted: renew once, same attempt. */
                        http_response_done(&resp);
                        renewed = true;
                        c->token = secret_free(c->token);
                        continue;
                }
                if (r == 0 && resp.status == 404) {
                        uint64_t now = now_monotonic_usec();

                        http_response_done(&resp);
                        /* The instance profile's credentials appear a few seconds after
                         * launch: wait for them, bounded; every other 404 is final. */
                        if (!is_credentials) {
                                r = -ENOENT;
                                goto out;
                        }
                        if (!first_404_usec)
                                first_404_usec = now;
                        if (now - first_404_usec > IMDS_CREDENTIALS_404_WAIT_MS * 1000ULL ||
                            !pause_before_retry(c, attempt < 4 ? attempt + 2 : 6)) {
                                r = set_error(c, -ENOENT, "the instance metadata has no %s (404)",
                                              path);
                                goto out;
                        }
                        continue;
                }
                if (r == 0 && !is_retryable_status(resp.status)) {
                        r = set_error(c,
                                      resp.status == 401 || resp.status == 403 ? -EACCES : -EPROTO,
                                      "the instance metadata service answered HTTP %ld for %s",
                                      resp.status, path);
                        http_response_done(&resp);
                        goto out;
                }
                if (r == 0)
                        (void)set_error(c, -EAGAIN,
                                        "the instance metadata service answered HTTP %ld for %s",
                                        resp.status, path);
                else
                        (void)set_error(
                                c, r, "cannot read %s from the instance metadata service at %s: %s",
                                path, c->endpoint, http_client_error(c->http));
                http_response_done(&resp);
                if (r != 0 && !is_transport_retryable(r))
                        goto out;
                if (r == 0)
                        r = -EAGAIN;
                attempt++;
                if (attempt < c->max_attempts && !pause_before_retry(c, attempt - 1))
                        break;
        }
        /* Out of attempts: r holds the last failure, c->error its description (success left
         * through out: already, so a 0 here is a failure too) */
        if (r == -EAGAIN || r >= 0)
                r = -ECONNRESET;
out:
        free(url);
        return r > 0 ? -EIO : r; /* http_perform gives 0 or -errno: r is never positive */
}

/* get_text - a required or optional text item, trailing white space removed */
static int get_text(struct imds_client *c, const char *path, char **ret)
{
        size_t len;
        char *s;
        int r;

        r = imds_get(c, path, IMDS_BODY_MAX, false, &s, &len);
        if (r < 0)
                return r;
        if (imds_trim_text(s, len) == 0) {
                free(s);
                return set_error(c, -EBADMSG, "the instance metadata answer for %s is empty", path);
        }
        *ret = s;
        return 0;
}

static int get_identifier(struct imds_client *c, const char *path, char **ret)
{
        char *s;
        int r;

        r = get_text(c, path, &s);
        if (r < 0)
                return r;
        if (!imds_is_token_text(s) || strlen(s) > 255) {
                free(s);
                return set_error(
                        c, -EBADMSG,
                        "the instance metadata answer for %s is not a single word of printable text",
                        path);
        }
        *ret = s;
        return 0;
}

/* region_from_document - the region field of the instance identity document */
static int region_from_document(struct imds_client *c, char **ret)
{
        char *body;
        size_t len;
        int r;

        r = imds_get(c, "dynamic/instance-identity/document", IMDS_BODY_MAX, false, &body, &len);
        if (r < 0)
                return r;
        r = imds_parse_region_document(body, len, ret);
        free(body);
        if (r == -EBADMSG)
                return set_error(c, -EBADMSG, "the instance identity document has no valid region");
        return r;
}

/* read_tags - keys named mailinit:<key> and their values */
static int read_tags(struct imds_client *c, struct instance_metadata *md)
{
        char *list, *line, *save = NULL;
        int r;

        r = get_text(c, "meta-data/tags/instance", &list);
        if (r == -ENOENT) {
                md->tags_exposed = false;
                return 0;
        }
        if (r < 0)
                return r;
        md->tags_exposed = true;
        for (line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                const char *key = imds_tag_key(line);
                char *path, *value;

                if (!key)
                        continue;
                if (md->n_tags >= IMDS_TAGS_MAX) {
                        free(list);
                        return set_error(c, -EBADMSG, "more than %d mailinit:* instance tags",
                                         IMDS_TAGS_MAX);
                }
                if (asprintf(&path, "meta-data/tags/instance/%s", line) < 0) {
                        free(list);
                        return -ENOMEM;
                }
                r = imds_get(c, path, IMDS_BODY_MAX, false, &value, NULL);
                free(path);
                if (r == -ENOENT)
                        continue; /* removed between the listing and now */
                if (r < 0) {
                        free(list);
                        return r;
                }
                md->tags[md->n_tags].key = strdup(key);
                md->tags[md->n_tags].value = value;
                if (!md->tags[md->n_tags].key) {
                        free(value);
                        free(list);
                        return -ENOMEM;
                }
                md->n_tags++;
        }
        free(list);
        return 0;
}

int imds_read_instance(struct imds_client *c, struct instance_metadata *ret)
{
        struct instance_metadata md = {0};
        char *info = NULL, *roles = NULL, *data = NULL;
        size_t len;
        int r;

        r = get_identifier(c, "meta-data/instance-id", &md.instance_id);
        if (r < 0)
                goto fail;
        r = get_identifier(c, "meta-data/placement/region", &md.region);
        if (r == -ENOENT)
                r = region_from_document(c, &md.region);
        if (r < 0)
                goto fail;
        r = get_text(c, "meta-data/local-hostname", &md.local_hostname);
        if (r < 0)
                goto fail;
        /* Several names may be listed, separated by spaces: the first is the primary. */
        md.local_hostname[strcspn(md.local_hostname, " \t")] = '\0';

        /* iam/info exists only when an instance profile is attached: without it there is no
         * role and nothing to wait for. */
        r = get_text(c, "meta-data/iam/info", &info);
        free(info);
        if (r == 0) {
                r = get_text(c, IMDS_CREDENTIALS_PATH, &roles);
                if (r < 0 && r != -ENOENT)
                        goto fail;
                if (r == 0) {
                        const char *role;

                        md.role_name = roles;
                        if (imds_parse_role_list(roles, &role) < 0) {
                                r = set_error(c, -EBADMSG,
                                              "the instance metadata lists an invalid role name");
                                goto fail;
                        }
                }
        } else if (r != -ENOENT) {
                goto fail;
        }

        r = read_tags(c, &md);
        if (r < 0)
                goto fail;

        r = get_identifier(c, "meta-data/autoscaling/target-lifecycle-state", &md.lifecycle_state);
        if (r < 0 && r != -ENOENT)
                goto fail;

        r = imds_get(c, "user-data", IMDS_USERDATA_MAX, true, &data, &len);
        if (r == 0) {
                md.user_data = (uint8_t *)data;
                md.user_data_len = len;
        } else if (r == -EFBIG) {
                (void)set_error(c, -EFBIG, "user-data is larger than %d bytes", IMDS_USERDATA_MAX);
                goto fail;
        } else if (r != -ENOENT) {
                goto fail;
        }
        *ret = md;
        return 0;
fail:
        instance_metadata_done(&md);
        return r;
}

void instance_metadata_done(struct instance_metadata *md)
{
        free(md->instance_id);
        free(md->region);
        free(md->local_hostname);
        free(md->role_name);
        free(md->lifecycle_state);
        for (size_t i = 0; i < md->n_tags; i++) {
                free(md->tags[i].key);
                free(md->tags[i].value);
        }
        free(md->user_data);
        *md = (struct instance_metadata){0};
}

int imds_get_role_credentials(struct imds_client *c, const char *role, struct aws_credentials *ret)
{
        char why[IMDS_PARSE_WHY_MAX], *path, *body;
        size_t len;
        int r;

        if (asprintf(&path, "%s%s", IMDS_CREDENTIALS_PATH, role) < 0)
                return -ENOMEM;
        r = imds_get(c, path, IMDS_BODY_MAX, false, &body, &len);
        free(path);
        if (r < 0)
                return r;
        r = imds_parse_credentials(body, len, ret, why, sizeof why);
        secret_wipe(body, len);
        free(body);
        if (r == -EACCES)
                return set_error(c, r,
                                 "the instance metadata has no usable credentials for role %s: %s",
                                 role, why);
        if (r == -EBADMSG)
                return set_error(c, r, "the credentials of role %s in instance metadata %s", role,
                                 why);
        return r;
}
