/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

#include "creds.h"
#include "settings.h"
#include "smtp_secret.h"

#define FETCH_SECRET_ERROR_MAX 640

struct fetched_secret {
        struct smtp_credentials smtp;
        char *arn;
        char *version_id;
};

/* fetch_secret - GetSecretValue for settings' secret_id in settings' region with the
 * credentials of p, then the SMTP credentials from its SecretString. Returns 0, or:
 *   -EACCES (denied, KMS decryption, credentials rejected), -ENOENT / -EINVAL (wrong secret
 *   id), -EAGAIN (throttled) / -ETIMEDOUT (deadline), -EPROTO (TLS failure or an answer
 *   that is not the service's), -ECONNREFUSED & co (unreachable), -EBADMSG / -EFBIG (the
 *   secret's content is unusable),
 * with why naming the secret and the principal, never the value. */
int fetch_secret(const struct settings *settings, struct creds_provider *p,
                 struct fetched_secret *ret, char *why, size_t why_size);

void fetched_secret_done(struct fetched_secret *s);
