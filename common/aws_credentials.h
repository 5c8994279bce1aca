/* SPDX-License-Identifier: MIT */
#pragma once

#include <time.h>

/* AWS credentials as the SDK credential chain produces them. The strings are secrets:
 * release with aws_credentials_done(), which wipes them. */
struct aws_credentials {
        char *access_key_id;
        char *secret_access_key;
        char *session_token; /* NULL for long-term keys */
        time_t expiration;   /* 0 when they do not expire */
        const char
                *source; /* "environment", "instance role NAME"... (static or owned by provider) */
};

/* aws_credentials_done - wipe and free the strings; the struct may be reused. */
void aws_credentials_done(struct aws_credentials *c);
