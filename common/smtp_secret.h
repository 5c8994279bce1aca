/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/* The SES SMTP credentials held by a secret's SecretString (SPEC "AWS access"):
 *   {"smtp_username": "...", "smtp_password": "..."}   (also "username" / "password")
 *   {"access_key_id": "...", "secret_access_key": "..."}  (an IAM user's key: the SMTP
 *      password is derived for the region with the SES algorithm)
 * Anything else is an error that never quotes the secret. */

#define SMTP_SECRET_ERROR_MAX 256
#define SMTP_CREDENTIAL_MAX   512

struct smtp_credentials {
        char *username; /* not secret: shown in --dry-run and logs */
        char *password; /* secret, registered with secret_mask */
        int derived;    /* 1 when derived from an IAM secret access key */
};

/* smtp_secret_parse - parse len bytes of SecretString for region. Returns 0 and fills
 * *ret (release with smtp_credentials_done), -EBADMSG with why filled, -ENOMEM. */
int smtp_secret_parse(const char *secret_string, size_t len, const char *region,
                      struct smtp_credentials *ret, char *why, size_t why_size);

/* smtp_credentials_done - wipe and free. */
void smtp_credentials_done(struct smtp_credentials *c);
