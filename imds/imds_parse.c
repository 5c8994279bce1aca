/* SPDX-License-Identifier: MIT */
/*
 * imds_parse - the pure half of the metadata client: what a token, an identity document, a
 * role listing, a tag listing and a credentials document mean. No I/O and no logging.
 *
 * SECURITY: the credentials document holds the role's secret access key and session token.
 * They are copied into wiped strings registered with secret_mask; jansson's own copies are
 * wiped when the document is released (secret_hygiene_enable sets jansson's allocator).
 * Error texts name members, never their values.
 */
#include "imds_parse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "secret_mask.h"

bool imds_token_valid(const char *body, size_t len)
{
        return body && len > 0 && !memchr(body, '\0', len);
}

bool imds_is_token_text(const char *s)
{
        for (; *s; s++)
                if (*s <= ' ' || *s > '~')
                        return false;
        return true;
}

size_t imds_trim_text(char *s, size_t len)
{
        while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' '))
                s[--len] = '\0';
        return len;
}

int imds_parse_region_document(const char *body, size_t len, char **ret)
{
        json_error_t jerr;
        const char *region;
        json_t *doc;

        doc = json_loadb(body, len, 0, &jerr);
        region = doc ? json_string_value(json_object_get(doc, "region")) : NULL;
        if (!region || !*region || !imds_is_token_text(region) || strlen(region) > 255) {
                json_decref(doc);
                return -EBADMSG;
        }
        *ret = strdup(region);
        json_decref(doc);
        return *ret ? 0 : -ENOMEM;
}

int imds_parse_role_list(char *list, const char **ret)
{
        list[strcspn(list, "\r\n")] = '\0';
        if (!*list || !imds_is_token_text(list) || strchr(list, '/'))
                return -EBADMSG;
        *ret = list;
        return 0;
}

const char *imds_tag_key(char *line)
{
        size_t n = strlen(line);

        if (n > 0 && line[n - 1] == '\r')
                line[--n] = '\0';
        if (strncmp(line, "mailinit:", 9) != 0 || n == 9)
                return NULL;
        /* EC2 exposes only keys of letters, digits and + - = . , _ : @ in metadata; anything
         * else (a CR, a '/', "..") would end up in the next request's path. */
        if (!imds_is_token_text(line + 9) || strchr(line + 9, '/'))
                return NULL;
        return line + 9;
}

int imds_parse_rfc3339_utc(const char *s, time_t *ret)
{
        struct tm tm = {0};
        const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);

        if (!end)
                return -EINVAL;
        if (*end == '.')
                for (end++; *end >= '0' && *end <= '9'; end++)
                        ;
        if (strcmp(end, "Z") != 0 && strcmp(end, "+00:00") != 0)
                return -EINVAL;
        *ret = timegm(&tm);
        return 0;
}

static int why_printf(char *why, size_t why_size, int r, const char *format, ...)
        __attribute__((format(printf, 4, 5)));

static int why_printf(char *why, size_t why_size, int r, const char *format, ...)
{
        va_list ap;

        if (why && why_size) {
                va_start(ap, format);
                (void)vsnprintf(why, why_size, format, ap);
                va_end(ap);
        }
        return r;
}

/* dup_secret_member - copy a non-empty string member, registering it with secret_mask */
static int dup_secret_member(json_t *doc, const char *name, char **ret)
{
        const char *v = json_string_value(json_object_get(doc, name));

        if (!v || !*v)
                return -EBADMSG;
        *ret = strdup(v);
        if (!*ret)
                return -ENOMEM;
        (void)secret_mask_add(*ret);
        return 0;
}

int imds_parse_credentials(const char *body, size_t len, struct aws_credentials *ret, char *why,
                           size_t why_size)
{
        struct aws_credentials creds = {.source = "instance role"};
        const char *code, *expiration;
        json_error_t jerr;
        json_t *doc;
        int r;

        doc = json_loadb(body, len, 0, &jerr);
        if (!json_is_object(doc)) {
                json_decref(doc);
                return why_printf(why, why_size, -EBADMSG, "are not a JSON object");
        }
        code = json_string_value(json_object_get(doc, "Code"));
        if (!code || strcmp(code, "Success") != 0) {
                const char *message = json_string_value(json_object_get(doc, "Message"));

                r = why_printf(why, why_size, -EACCES, "Code %.64s%s%.200s",
                               code ? code : "(missing)", message ? ": " : "",
                               message ? message : "");
                json_decref(doc);
                return r;
        }
        r = dup_secret_member(doc, "AccessKeyId", &creds.access_key_id);
        if (r >= 0)
                r = dup_secret_member(doc, "SecretAccessKey", &creds.secret_access_key);
        if (r >= 0)
                r = dup_secret_member(doc, "Token", &creds.session_token);
        expiration = json_string_value(json_object_get(doc, "Expiration"));
        if (r >= 0 && (!expiration || imds_parse_rfc3339_utc(expiration, &creds.expiration) < 0))
                r = -EBADMSG;
        json_decref(doc);
        if (r < 0) {
                aws_credentials_done(&creds);
                return r == -EBADMSG
                               ? why_printf(
                                         why, why_size, r,
                                         "lack AccessKeyId, SecretAccessKey, Token or a valid Expiration")
                               : r;
        }
        *ret = creds;
        return 0;
}
