/* SPDX-License-Identifier: MIT */
/*
 * smtp_secret - the SMTP user name and password from a secret's SecretString.
 *
 * SECURITY: error messages name keys and kinds of problems, never values. The password
 * (given or derived) is registered with secret_mask as soon as it exists; the secret
 * access key is registered too, since it is as good as the password.
 */
#include "smtp_secret.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "secret_mask.h"
#include "ses_smtp_password.h"

static int fail(char *why, size_t why_size, const char *format, ...)
        __attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t why_size, const char *format, ...)
{
        va_list ap;

        if (why && why_size) {
                va_start(ap, format);
                (void)vsnprintf(why, why_size, format, ap);
                va_end(ap);
        }
        return -EBADMSG;
}

/* credential_text - a member that must be a non-empty string of printable characters */
static int credential_text(json_t *doc, const char *name, const char **ret, char *why,
                           size_t why_size)
{
        json_t *v = json_object_get(doc, name);
        const char *s;
        size_t n;

        if (!v)
                return 0;
        if (!json_is_string(v))
                return fail(why, why_size, "the secret's \"%s\" is not a string", name);
        s = json_string_value(v);
        n = json_string_length(v);
        if (n == 0)
                return fail(why, why_size, "the secret's \"%s\" is empty", name);
        if (n > SMTP_CREDENTIAL_MAX)
                return fail(why, why_size, "the secret's \"%s\" is longer than %d bytes", name,
                            SMTP_CREDENTIAL_MAX);
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                        return fail(why, why_size,
                                    "the secret's \"%s\" contains control characters", name);
        *ret = s;
        return 1;
}

int smtp_secret_parse(const char *secret_string, size_t len, const char *region,
                      struct smtp_credentials *ret, char *why, size_t why_size)
{
        const char *user = NULL, *pass = NULL, *akid = NULL, *sak = NULL;
        struct smtp_credentials c = {0};
        json_error_t jerr;
        json_t *doc;
        int r;

        if (len == 0)
                return fail(
                        why, why_size,
                        "the secret is an empty string; expected a JSON object with smtp_username and smtp_password");
        doc = json_loadb(secret_string, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
        if (!doc)
                return fail(
                        why, why_size,
                        "the secret is not valid JSON (line %d, column %d); expected a JSON object with smtp_username and smtp_password",
                        jerr.line, jerr.column);
        if (!json_is_object(doc)) {
                json_decref(doc);
                return fail(
                        why, why_size,
                        "the secret is JSON but not an object; expected {\"smtp_username\": ..., \"smtp_password\": ...}");
        }
        if ((r = credential_text(doc, "smtp_username", &user, why, why_size)) < 0 ||
            (!user && (r = credential_text(doc, "username", &user, why, why_size)) < 0) ||
            (r = credential_text(doc, "smtp_password", &pass, why, why_size)) < 0 ||
            (!pass && (r = credential_text(doc, "password", &pass, why, why_size)) < 0) ||
            (r = credential_text(doc, "access_key_id", &akid, why, why_size)) < 0 ||
            (r = credential_text(doc, "secret_access_key", &sak, why, why_size)) < 0)
                goto out;

        if (user && pass) {
                c.username = strdup(user);
                c.password = strdup(pass);
        } else if (akid && sak) {
                char derived[SES_SMTP_PASSWORD_SIZE];

                (void)secret_mask_add(sak);
                r = ses_smtp_password(sak, region, derived, sizeof derived);
                if (r < 0) {
                        r = fail(
                                why, why_size,
                                "cannot derive the SES SMTP password for region '%s' from the secret's access key",
                                region);
                        goto out;
                }
                c.username = strdup(akid);
                c.password = strdup(derived);
                c.derived = 1;
                secret_wipe(derived, sizeof derived);
        } else {
                r = fail(
                        why, why_size,
                        "the secret has neither smtp_username and smtp_password (or username and password) nor access_key_id and secret_access_key");
                goto out;
        }
        if (!c.username || !c.password) {
                r = -ENOMEM;
                goto out;
        }
        (void)secret_mask_add(c.password);
        *ret = c;
        c = (struct smtp_credentials){0};
        r = 0;
out:
        smtp_credentials_done(&c);
        json_decref(doc);
        return r;
}

void smtp_credentials_done(struct smtp_credentials *c)
{
        if (!c)
                return;
        c->username = secret_free(c->username);
        c->password = secret_free(c->password);
        c->derived = 0;
}
