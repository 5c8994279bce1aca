/* SPDX-License-Identifier: MIT */
/*
 * parse - value parsers shared by the config reader and the protocol code. Pure: no
 * allocation, no logging, no locale (strtoull and friends are avoided for their silent
 * acceptance of signs and white space).
 */
#include "parse.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

int parse_uint64(const char *s, uint64_t *ret)
{
        uint64_t v = 0;

        if (!s || !*s)
                return -EINVAL;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t)(*s - '0');
        }
        *ret = v;
        return 0;
}

/* split_number_suffix - digits at the start of s, and the single suffix char after them */
static int split_number_suffix(const char *s, uint64_t *ret_num, char *ret_suffix)
{
        char digits[32];
        size_t n = 0;
        int r;

        if (!s)
                return -EINVAL;
        while (s[n] >= '0' && s[n] <= '9')
                n++;
        if (n == 0 || n >= sizeof digits)
                return n == 0 ? -EINVAL : -ERANGE;
        if (s[n] && s[n + 1])
                return -EINVAL;
        memcpy(digits, s, n);
        digits[n] = '\0';
        r = parse_uint64(digits, ret_num);
        if (r < 0)
                return r;
        *ret_suffix = s[n];
        return 0;
}

static int multiply(uint64_t v, uint64_t factor, uint64_t *ret)
{
        if (factor != 0 && v > UINT64_MAX / factor)
                return -ERANGE;
        *ret = v * factor;
        return 0;
}

int parse_duration(const char *s, char default_unit, uint64_t *ret_seconds)
{
        uint64_t v, factor;
        char unit;
        int r;

        r = split_number_suffix(s, &v, &unit);
        if (r < 0)
                return r;
        if (unit == '\0')
                unit = default_unit;
        switch (unit) {
        case 's':
                factor = 1;
                break;
        case 'm':
                factor = 60;
                break;
        case 'h':
                factor = 3600;
                break;
        case 'd':
                factor = 86400;
                break;
        case 'w':
                factor = 7 * 86400;
                break;
        default:
                return -EINVAL;
        }
        return multiply(v, factor, ret_seconds);
}

int parse_size(const char *s, uint64_t *ret_bytes)
{
        uint64_t v, factor;
        char unit;
        int r;

        r = split_number_suffix(s, &v, &unit);
        if (r < 0)
                return r;
        switch (unit) {
        case '\0':
                factor = 1;
                break;
        case 'k':
        case 'K':
                factor = 1024;
                break;
        case 'm':
        case 'M':
                factor = 1024 * 1024;
                break;
        case 'g':
        case 'G':
                factor = 1024 * 1024 * 1024;
                break;
        default:
                return -EINVAL;
        }
        return multiply(v, factor, ret_bytes);
}

int parse_bool(const char *s, bool *ret)
{
        static const char *const yes[] = {"yes", "true", "on", "1"};
        static const char *const no[] = {"no", "false", "off", "0"};

        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
                if (strcasecmp(s, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcasecmp(s, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

int parse_rate(const char *s, double *ret)
{
        uint64_t whole = 0, frac = 0, scale = 1;
        const char *p = s;

        if (!s || !*s)
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                if (whole > 1000000000)
                        return -ERANGE;
                whole = whole * 10 + (uint64_t)(*p - '0');
        }
        if (p == s && *p != '.')
                return -EINVAL;
        if (*p == '.') {
                p++;
                if (!(*p >= '0' && *p <= '9'))
                        return -EINVAL;
                for (; *p >= '0' && *p <= '9'; p++) {
                        if (scale >= 1000000000)
                                continue; /* ignore digits beyond nano precision */
                        frac = frac * 10 + (uint64_t)(*p - '0');
                        scale *= 10;
                }
        }
        if (*p)
                return -EINVAL;
        *ret = (double)whole + (double)frac / (double)scale;
        return 0;
}

static int is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

char *strip_whitespace(char *s)
{
        size_t n;

        while (is_space(*s))
                s++;
        n = strlen(s);
        while (n > 0 && is_space(s[n - 1]))
                s[--n] = '\0';
        return s;
}

const char *list_next(const char **state, size_t *ret_len)
{
        const char *p = *state, *start;

        while (*p && (*p == ',' || is_space(*p)))
                p++;
        if (!*p) {
                *state = p;
                return NULL;
        }
        start = p;
        while (*p && *p != ',' && !is_space(*p))
                p++;
        *ret_len = (size_t)(p - start);
        *state = p;
        return start;
}
