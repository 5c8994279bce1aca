/* SPDX-License-Identifier: MIT */
/*
 * fuzz_imds - imds/imds_parse.c, everything the metadata client reads from an answer, on
 * arbitrary bytes taken as each kind of answer in turn: a token, a text item (trimmed), an
 * instance identity document (region), a role listing, a tag listing, an RFC 3339 time and
 * a role's credentials document. The contract, checked with abort() (release builds define
 * NDEBUG): what is accepted has the promised shape (printable single words, keys after
 * "mailinit:", three non-empty credential strings registered with secret_mask and a valid
 * expiration); a refused credentials document is explained without quoting its
 * SecretAccessKey or Token (a value with '|' in it, which no message text has, must not
 * appear unless the Code or Message quoted it). Everything is freed, for LeakSanitizer.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "imds_parse.h"
#include "secret_mask.h"

static char text[FUZZ_INPUT_MAX + 1];

static bool is_word(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (*s <= ' ' || *s > '~')
                        return false;
        return true;
}

static void check_text(const uint8_t *data, size_t size)
{
        size_t len;

        memcpy(text, data, size);
        text[size] = '\0';
        len = imds_trim_text(text, strlen(text));
        if (len != strlen(text))
                abort();
        if (len > 0 && strchr("\r\n ", text[len - 1]))
                abort();
        if (imds_is_token_text(text) != (strspn(text, "!\"#$%&'()*+,-./0123456789:;<=>?@"
                                                      "ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
                                                      "abcdefghijklmnopqrstuvwxyz{|}~") == len))
                abort();
}

static void check_role_list(const uint8_t *data, size_t size)
{
        const char *role = NULL;

        memcpy(text, data, size);
        text[size] = '\0';
        if (imds_parse_role_list(text, &role) == 0 && (!is_word(role) || strchr(role, '/')))
                abort();
}

static void check_tags(const uint8_t *data, size_t size)
{
        char *line, *save = NULL;

        memcpy(text, data, size);
        text[size] = '\0';
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                const char *key = imds_tag_key(line);

                if (key && (key != line + 9 || strncmp(line, "mailinit:", 9) != 0 ||
                            !is_word(key) || strchr(key, '/')))
                        abort();
        }
}

static void check_region(const uint8_t *data, size_t size)
{
        char *region = NULL;
        int r = imds_parse_region_document((const char *)data, size, &region);

        if (r == 0 && (!is_word(region) || strlen(region) > 255))
                abort();
        if (r != 0 && r != -EBADMSG && r != -ENOMEM)
                abort();
        free(region);
}

static void check_time(const uint8_t *data, size_t size)
{
        time_t t = 0;

        memcpy(text, data, size);
        text[size] = '\0';
        (void)imds_parse_rfc3339_utc(text, &t);
}

/* quoted - a distinctive member value of doc appears in why though Code and Message lack it */
static bool quoted(json_t *doc, const char *name, const char *why)
{
        const char *v = json_string_value(json_object_get(doc, name));
        const char *code = json_string_value(json_object_get(doc, "Code"));
        const char *message = json_string_value(json_object_get(doc, "Message"));

        if (!v || strlen(v) < 4 || !strchr(v, '|') || !strstr(why, v))
                return false;
        return !(code && strstr(code, v)) && !(message && strstr(message, v));
}

static void check_credentials(const uint8_t *data, size_t size)
{
        struct aws_credentials c = {0};
        char why[IMDS_PARSE_WHY_MAX] = "";
        json_error_t jerr;
        json_t *doc;
        int r;

        secret_mask_clear();
        r = imds_parse_credentials((const char *)data, size, &c, why, sizeof why);
        if (r == 0) {
                if (!c.access_key_id || !*c.access_key_id || !c.secret_access_key ||
                    !*c.secret_access_key || !c.session_token || !*c.session_token)
                        abort();
                if (strlen(c.secret_access_key) >= 4 && !secret_mask_contains(c.secret_access_key))
                        abort();
                if (strlen(c.session_token) >= 4 && !secret_mask_contains(c.session_token))
                        abort();
                aws_credentials_done(&c);
        } else if (r == -EACCES || r == -EBADMSG) {
                if (why[0] == '\0' || c.access_key_id || c.secret_access_key || c.session_token)
                        abort();
                doc = json_loadb((const char *)data, size, 0, &jerr);
                if (quoted(doc, "SecretAccessKey", why) || quoted(doc, "Token", why))
                        abort();
                json_decref(doc);
        } else if (r != -ENOMEM) {
                abort();
        }
        secret_mask_clear();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size > (size_t)FUZZ_INPUT_MAX)
                return 0;
        if (imds_token_valid((const char *)data, size) != (size > 0 && !memchr(data, '\0', size)))
                abort();
        check_text(data, size);
        check_role_list(data, size);
        check_tags(data, size);
        check_region(data, size);
        check_time(data, size);
        check_credentials(data, size);
        return 0;
}
