/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/* The Amazon SES SMTP password derived from an IAM secret access key (SES developer guide,
 * "Obtaining Amazon SES SMTP credentials"): version byte 0x04, then a SigV4-style HMAC chain
 * over the fixed date "11111111", the region, "ses", "aws4_request" and "SendRawEmail". */

#define SES_SMTP_PASSWORD_LEN  44 /* Base64 of 33 bytes */
#define SES_SMTP_PASSWORD_SIZE (SES_SMTP_PASSWORD_LEN + 1)

/* ses_smtp_password - write the password for region (e.g. "eu-west-1", [a-z0-9-]) into out,
 * NUL-terminated. Returns 0; -EINVAL for an empty or too long secret or a bad region;
 * -ENOBUFS when out_size < SES_SMTP_PASSWORD_SIZE; -EPROTO when OpenSSL fails. Pure. */
int ses_smtp_password(const char *secret_access_key, const char *region, char *out,
                      size_t out_size);
