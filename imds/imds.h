/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws_credentials.h"

/* The EC2 instance metadata service client (IMDSv2). One token per client, reused; a 401
 * renews it once; a 403 on the token PUT means IMDS is disabled. Timeouts, 5xx and 429 are
 * retried with full-jitter backoff until an overall deadline. Never through a proxy.
 * Library code: it does not log; imds_error() describes the last failure. */

#define IMDS_DEFAULT_ENDPOINT   "http://169.254.169.254"
#define IMDS_TOKEN_TTL_SEC      21600
#define IMDS_DEADLINE_MS        60000
#define IMDS_REQUEST_TIMEOUT_MS 2000
#define IMDS_BODY_MAX           (64 * 1024)
#define IMDS_USERDATA_MAX       (1024 * 1024)
#define IMDS_TAGS_MAX           64

struct imds_options {
        const char *endpoint;        /* NULL: AWS_EC2_METADATA_SERVICE_ENDPOINT, else the default */
        bool allow_v1;               /* fall back to IMDSv1 when the token PUT is not supported */
        uint64_t deadline_ms;        /* whole metadata phase; 0: IMDS_DEADLINE_MS */
        uint64_t request_timeout_ms; /* per attempt; 0: IMDS_REQUEST_TIMEOUT_MS */
        unsigned token_ttl_sec;      /* 0: IMDS_TOKEN_TTL_SEC */
};

struct imds_client;

/* imds_disabled_by_environment - AWS_EC2_METADATA_DISABLED is "true" (case-insensitive). */
bool imds_disabled_by_environment(void);

/* imds_client_new - a client; the deadline starts now. NULL on ENOMEM. */
struct imds_client *imds_client_new(const struct imds_options *options);
struct imds_client *imds_client_free(struct imds_client *c);

/* imds_get - GET "latest/<path>" into a NUL-terminated buffer of at most max bytes (caller
 * frees). Returns 0; -ENOENT on 404 (after a bounded wait for iam/security-credentials/);
 * -EACCES when IMDS is disabled (403 on the token); -ETIMEDOUT when the deadline passed;
 * -ECONNREFUSED / -EHOSTUNREACH / -ECONNRESET when unreachable after retries; -EBADMSG for
 * an empty answer or one with NUL bytes (when allow_binary is false); -EFBIG above max;
 * -EPROTO for unexpected statuses. */
int imds_get(struct imds_client *c, const char *path, size_t max, bool allow_binary,
             char **ret_body, size_t *ret_len);

/* imds_error - one sentence on the last failure (mentions the hop limit when the token PUT
 * timed out on a host that accepted the connection). Borrowed. */
const char *imds_error(const struct imds_client *c);

/* imds_has_token - true once the token PUT succeeded (or IMDSv1 is in use): tells a failure
 * of the token request from a failure of a later GET. */
bool imds_has_token(const struct imds_client *c);

/* imds_using_v1 - true when the client fell back to IMDSv1 (imds_v1_fallback). */
bool imds_using_v1(const struct imds_client *c);

/* imds_endpoint - the base URL in use. Borrowed. */
const char *imds_endpoint(const struct imds_client *c);

struct imds_tag {
        char *key; /* without the "mailinit:" prefix */
        char *value;
};

struct instance_metadata {
        char *instance_id;
        char *region;
        char *local_hostname;
        char *role_name;       /* NULL: no instance profile */
        char *lifecycle_state; /* autoscaling/target-lifecycle-state; NULL when absent */
        bool tags_exposed;     /* false: tags/instance answered 404 */
        struct imds_tag tags[IMDS_TAGS_MAX]; /* only tags named mailinit:<key> */
        size_t n_tags;
        uint8_t *user_data; /* raw bytes as IMDS returned them; NULL when none (404) */
        size_t user_data_len;
};

/* imds_read_instance - everything firstboot needs except credentials. Returns 0 or the
 * errors of imds_get() for a required item (instance id, region, hostname); optional items
 * (role, tags, lifecycle, user-data) treat 404 as absent. *md is filled only on success;
 * release with instance_metadata_done(). */
int imds_read_instance(struct imds_client *c, struct instance_metadata *ret);
void instance_metadata_done(struct instance_metadata *md);

/* imds_get_role_credentials - the instance role's temporary credentials (Code must be
 * "Success"; Expiration parsed). -EBADMSG for malformed JSON, -EACCES for a Code other than
 * Success (imds_error() quotes it). The strings are registered with secret_mask. */
int imds_get_role_credentials(struct imds_client *c, const char *role, struct aws_credentials *ret);
