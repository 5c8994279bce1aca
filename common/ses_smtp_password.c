/* SPDX-License-Identifier: MIT */
/*
 * ses_smtp_password - SES SMTP password (version 4) from an IAM secret access key:
 * k = HMAC chain "AWS4"+secret -> "11111111" -> region -> "ses" -> "aws4_request" (the SigV4
 * signing key for that fixed date), password = Base64(0x04 || HMAC-SHA256(k, "SendRawEmail")).
 * Only long-term IAM user keys work with SES SMTP; the password is valid in that region only.
 * SECURITY: every intermediate key is wiped with OPENSSL_cleanse; the caller owns out.
 */
#include "ses_smtp_password.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "sigv4.h"

#define SES_DATE           "11111111"
#define SES_SERVICE        "ses"
#define SES_MESSAGE        "SendRawEmail"
#define SES_VERSION        0x04
#define SES_REGION_LEN_MAX 32

static bool is_region(const char *s)
{
        size_t n = 0;

        if (!s)
                return false;
        for (; s[n]; n++)
                if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '-'))
                        return false;
        return n > 0 && n <= SES_REGION_LEN_MAX;
}

int ses_smtp_password(const char *secret_access_key, const char *region, char *out, size_t out_size)
{
        unsigned char key[SIGV4_KEY_SIZE], raw[1 + SIGV4_KEY_SIZE];
        unsigned char encoded[SES_SMTP_PASSWORD_SIZE];
        int r;

        if (!secret_access_key || !*secret_access_key || !is_region(region) || !out)
                return -EINVAL;
        if (out_size < SES_SMTP_PASSWORD_SIZE)
                return -ENOBUFS;

        r = sigv4_derive_signing_key(secret_access_key, SES_DATE, region, SES_SERVICE, key);
        if (r >= 0) {
                raw[0] = SES_VERSION;
                r = sigv4_hmac_sha256(key, sizeof key, SES_MESSAGE, strlen(SES_MESSAGE), raw + 1);
        }
        if (r >= 0) {
                if (EVP_EncodeBlock(encoded, raw, sizeof raw) == SES_SMTP_PASSWORD_LEN)
                        memcpy(out, encoded, SES_SMTP_PASSWORD_SIZE);
                else
                        r = -EPROTO;
        }
        OPENSSL_cleanse(key, sizeof key);
        OPENSSL_cleanse(raw, sizeof raw);
        OPENSSL_cleanse(encoded, sizeof encoded);
        return r;
}
