/* SPDX-License-Identifier: MIT */
/*
 * config - the main.cf-syntax reader (mailinit.conf, relay.conf, the credentials file).
 *
 * Syntax, as postconf(5) describes it: a logical line starts with non-white-space text of
 * the form "key = value"; a line that starts with white space continues the previous
 * logical line; blank lines and lines whose first non-space character is '#' are ignored
 * (also between a line and its continuation). '#' elsewhere is part of the value, as in
 * Postfix. A later entry for the same key wins.
 *
 * Failure policy: the first problem stops parsing and is reported as "label:line: text";
 * nothing is returned on error. Values are wiped when freed: the credentials file shares
 * this reader.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fileio.h"
#include "parse.h"
#include "secret_mask.h"

#define CONFIG_KEY_MAX 64

int config_error_set(struct config_error *err, const char *format, ...)
{
        va_list ap;

        if (err) {
                va_start(ap, format);
                (void)vsnprintf(err->message, sizeof err->message, format, ap);
                va_end(ap);
        }
        return -EINVAL;
}

struct config_file *config_file_free(struct config_file *f)
{
        if (!f)
                return NULL;
        for (size_t i = 0; i < f->n_entries; i++) {
                free(f->entries[i].key);
                (void)secret_free(f->entries[i].value);
        }
        free(f->entries);
        free(f->label);
        free(f);
        return NULL;
}

const char *config_file_get(const struct config_file *f, const char *key)
{
        for (size_t i = f->n_entries; i > 0; i--)
                if (strcmp(f->entries[i - 1].key, key) == 0)
                        return f->entries[i - 1].value;
        return NULL;
}

static bool is_blank(char c)
{
        return c == ' ' || c == '\t';
}

static bool is_key_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_';
}

/* line_is_ignored - blank, white-space only, or a comment line */
static bool line_is_ignored(const char *line, size_t len)
{
        size_t i = 0;

        while (i < len && (is_blank(line[i]) || line[i] == '\r'))
                i++;
        return i == len || line[i] == '#';
}

/* add_entry - split "key = value" (logical line, NUL-terminated) and append it */
static int add_entry(struct config_file *f, char *logical, unsigned line, struct config_error *err)
{
        struct config_entry *entries;
        char *eq, *key, *value;
        size_t key_len;

        eq = strchr(logical, '=');
        key = logical;
        key_len = 0;
        while (is_key_char(key[key_len]))
                key_len++;
        if (key_len == 0)
                return config_error_set(err,
                                        "%s:%u: expected a parameter name at the start of the line",
                                        f->label, line);
        if (!eq) {
                key[key_len] = '\0';
                return config_error_set(err, "%s:%u: missing '=' after '%s'", f->label, line, key);
        }
        for (char *p = key + key_len; p < eq; p++) {
                if (!is_blank(*p)) {
                        key[key_len] = '\0';
                        return config_error_set(
                                err, "%s:%u: bad parameter name near '%s': expected 'name = value'",
                                f->label, line, key);
                }
        }
        if (key_len > CONFIG_KEY_MAX) {
                key[CONFIG_KEY_MAX] = '\0';
                return config_error_set(err, "%s:%u: parameter name '%s...' is too long", f->label,
                                        line, key);
        }
        key[key_len] = '\0';
        value = strip_whitespace(eq + 1);

        /* grow by doubling (one realloc per entry is quadratic on a 1 MB file); the capacity
         * follows from the count: 16, then every power of two */
        if (f->n_entries == 0 || (f->n_entries >= 16 && (f->n_entries & (f->n_entries - 1)) == 0)) {
                entries = realloc(f->entries,
                                  (f->n_entries ? f->n_entries * 2 : 16) * sizeof *entries);
                if (!entries)
                        return -ENOMEM;
                f->entries = entries;
        }
        entries = f->entries;
        entries[f->n_entries].key = strdup(key);
        entries[f->n_entries].value = strdup(value);
        entries[f->n_entries].line = line;
        if (!entries[f->n_entries].key || !entries[f->n_entries].value) {
                free(entries[f->n_entries].key);
                free(entries[f->n_entries].value);
                return -ENOMEM;
        }
        f->n_entries++;
        return 0;
}

/* flush_logical - finish the logical line collected in b, if any */
static int flush_logical(struct config_file *f, struct buf *b, unsigned start_line,
                         struct config_error *err)
{
        int r;

        if (b->len == 0)
                return 0;
        r = add_entry(f, b->data, start_line, err);
        buf_reset(b);
        return r;
}

int config_parse(const char *label, const char *text, size_t len, struct config_file **ret,
                 struct config_error *err)
{
        struct config_file *f;
        struct buf logical;
        unsigned line = 0, start_line = 0;
        size_t pos = 0;
        int r = 0;

        if (len > CONFIG_FILE_MAX) {
                config_error_set(err, "%s: file is larger than %d bytes", label, CONFIG_FILE_MAX);
                return -EFBIG;
        }
        f = calloc(1, sizeof *f);
        if (!f)
                return -ENOMEM;
        f->label = strdup(label);
        if (!f->label) {
                free(f);
                return -ENOMEM;
        }
        buf_init_secret(&logical, CONFIG_FILE_MAX);

        while (pos < len) {
                const char *start = text + pos, *nl;
                size_t line_len;

                line++;
                nl = memchr(start, '\n', len - pos);
                line_len = nl ? (size_t)(nl - start) : len - pos;
                pos += line_len + (nl ? 1 : 0);
                if (memchr(start, '\0', line_len)) {
                        r = config_error_set(err, "%s:%u: line contains a NUL byte", label, line);
                        goto out;
                }
                if (line_len > 0 && start[line_len - 1] == '\r')
                        line_len--;
                if (line_is_ignored(start, line_len))
                        continue;
                /* trailing blanks, and below a continuation's indentation, would end up
                 * inside the value: lines are joined with exactly one space */
                while (is_blank(start[line_len - 1]))
                        line_len--;
                if (is_blank(start[0])) {
                        if (logical.len == 0) {
                                r = config_error_set(
                                        err,
                                        "%s:%u: continuation line (starting with white space) without a parameter before it",
                                        label, line);
                                goto out;
                        }
                        while (is_blank(*start)) {
                                start++;
                                line_len--;
                        }
                        r = buf_append_str(&logical, " ");
                        if (r >= 0)
                                r = buf_append(&logical, start, line_len);
                } else {
                        r = flush_logical(f, &logical, start_line, err);
                        if (r < 0)
                                goto out;
                        start_line = line;
                        r = buf_append(&logical, start, line_len);
                }
                if (r < 0)
                        goto out;
        }
        r = flush_logical(f, &logical, start_line, err);
out:
        buf_done(&logical);
        if (r < 0) {
                config_file_free(f);
                return r;
        }
        *ret = f;
        return 0;
}

int config_read_file(const char *io_path, const char *label, struct config_file **ret,
                     struct config_error *err)
{
        char *text = NULL;
        size_t len = 0;
        int r;

        r = read_file_bounded(io_path, CONFIG_FILE_MAX, &text, &len);
        if (r == -EFBIG) {
                config_error_set(err, "%s: file is larger than %d bytes", label, CONFIG_FILE_MAX);
                return r;
        }
        if (r < 0) {
                config_error_set(err, "%s: cannot read: %s", label, strerror(-r));
                return r;
        }
        r = config_parse(label, text, len, ret, err);
        secret_wipe(text, len);
        free(text);
        return r;
}
