/* SPDX-License-Identifier: MIT */
/*
 * fuzz_smtp_secret - smtp_secret_parse() (common/smtp_secret.c) on arbitrary bytes as a
 * secret's SecretString. The contract, checked with abort() (release builds define NDEBUG):
 * success gives a non-empty user name and password of printable characters within the
 * limits, and the password is registered with secret_mask at once; a refusal explains itself
 * and never quotes a credential (a value with '|' in it, which no message text has, must not
 * appear in the explanation). Everything is wiped and freed, for LeakSanitizer.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "secret_mask.h"
#include "smtp_secret.h"

static bool printable(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

/* check_not_quoted - the string members of the document that look distinctive are not in why */
static void check_not_quoted(const uint8_t *data, size_t size, const char *why)
{
        json_error_t jerr;
        const char *key;
        json_t *doc, *v;

        doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, &jerr);
        if (!json_is_object(doc)) {
                json_decref(doc);
                return;
        }
        json_object_foreach(doc, key, v)
        {
                const char *s = json_string_value(v);

                if (s && strlen(s) >= 4 && strchr(s, '|') && strstr(why, s))
                        abort();
        }
        json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct smtp_credentials c = {0};
        char why[SMTP_SECRET_ERROR_MAX] = "";
        int r;

        if (size > (size_t)FUZZ_INPUT_MAX)
                return 0;
        secret_mask_clear();
        r = smtp_secret_parse((const char *)data, size, "eu-west-1", &c, why, sizeof why);
        if (r == 0) {
                if (!c.username || !c.password || !*c.username || !*c.password)
                        abort();
                if (strlen(c.username) > SMTP_CREDENTIAL_MAX ||
                    strlen(c.password) > SMTP_CREDENTIAL_MAX)
                        abort();
                if (!printable(c.username) || !printable(c.password))
                        abort();
                if (strlen(c.password) >= 4 && !secret_mask_contains(c.password))
                        abort();
                smtp_credentials_done(&c);
                if (c.username || c.password)
                        abort();
        } else if (r == -EBADMSG) {
                if (why[0] == '\0' || c.username || c.password)
                        abort();
                check_not_quoted(data, size, why);
        } else if (r != -ENOMEM) {
                abort();
        }
        secret_mask_clear();
        return 0;
}
