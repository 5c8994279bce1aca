/* SPDX-License-Identifier: MIT */
/*
 * records - SPF (RFC 7208) and DMARC (RFC 7489) TXT records, read as far as doctor needs:
 * is it one, does SPF include a domain, which DMARC policy. SPF terms are separated by
 * spaces; DMARC tags by ';', each "name=value" with optional white space around both.
 */
#include "records.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* skip_space - past spaces and tabs */
static const char *skip_space(const char *s)
{
        while (*s == ' ' || *s == '\t')
                s++;
        return s;
}

bool spf_is_record(const char *txt)
{
        const char *s = skip_space(txt);

        return strncasecmp(s, "v=spf1", 6) == 0 && (s[6] == '\0' || s[6] == ' ' || s[6] == '\t');
}

/* same_domain - a[0..alen) and b name the same domain, ignoring case and a trailing dot */
static bool same_domain(const char *a, size_t alen, const char *b)
{
        size_t blen = strlen(b);

        if (alen > 0 && a[alen - 1] == '.')
                alen--;
        if (blen > 0 && b[blen - 1] == '.')
                blen--;
        return alen == blen && strncasecmp(a, b, alen) == 0;
}

bool spf_includes(const char *record, const char *domain)
{
        const char *p = record;

        for (;;) {
                size_t len;

                p = skip_space(p);
                if (!*p)
                        return false;
                len = strcspn(p, " \t");
                if (len > 8 && (*p == '+' ? strncasecmp(p + 1, "include:", 8) == 0
                                          : strncasecmp(p, "include:", 8) == 0)) {
                        size_t skip = *p == '+' ? 9 : 8;

                        if (len > skip && same_domain(p + skip, len - skip, domain))
                                return true;
                }
                p += len;
        }
}

/* next_tag - the tag at *p: name and value bounds (trimmed); *p moves past its ';'. false at
 * the end. */
static bool next_tag(const char **p, const char **name, size_t *name_len, const char **value,
                     size_t *value_len)
{
        const char *s = skip_space(*p), *end, *eq;

        if (!*s)
                return false;
        end = s + strcspn(s, ";");
        *p = *end ? end + 1 : end;
        eq = memchr(s, '=', (size_t)(end - s));
        if (!eq) {
                *name = s;
                *name_len = 0;
                *value = s;
                *value_len = 0;
                return true;
        }
        *name = s;
        *name_len = (size_t)(eq - s);
        while (*name_len > 0 && (s[*name_len - 1] == ' ' || s[*name_len - 1] == '\t'))
                (*name_len)--;
        *value = skip_space(eq + 1);
        *value_len = (size_t)(end - *value);
        while (*value_len > 0 &&
               ((*value)[*value_len - 1] == ' ' || (*value)[*value_len - 1] == '\t'))
                (*value_len)--;
        return true;
}

bool dmarc_is_record(const char *txt)
{
        const char *p = txt, *name, *value;
        size_t name_len, value_len;

        return next_tag(&p, &name, &name_len, &value, &value_len) && name_len == 1 &&
               (*name == 'v' || *name == 'V') && value_len == 6 &&
               strncasecmp(value, "DMARC1", 6) == 0;
}

int dmarc_policy(const char *record, char *out, size_t size)
{
        const char *p = record, *name, *value;
        size_t name_len, value_len;

        while (next_tag(&p, &name, &name_len, &value, &value_len))
                if (name_len == 1 && (*name == 'p' || *name == 'P') && value_len > 0) {
                        (void)snprintf(out, size, "%.*s", (int)value_len, value);
                        return 0;
                }
        return -ENOENT;
}
