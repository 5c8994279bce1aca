/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/* Reader for Postfix main.cf syntax: "key = value" lines, '#' comment lines, blank lines,
 * and continuation lines (starting with white space) appended to the previous value.
 * It knows no key names: settings.c validates keys and values. */

#define CONFIG_FILE_MAX  (1024 * 1024)
#define CONFIG_ERROR_MAX 512

/* Text of the last error, naming the source, the line and the key where known. */
struct config_error {
        char message[CONFIG_ERROR_MAX];
};

struct config_entry {
        char *key;
        char *value; /* trimmed; continuation lines joined with one space; "$name" unexpanded */
        unsigned line;
};

struct config_file {
        char *label; /* the path as the user knows it, used in messages */
        struct config_entry *entries;
        size_t n_entries;
};

/* config_parse - parse text of len bytes. label names the source in errors ("file:line: ...").
 * Returns 0 and a new config_file in *ret (free with config_file_free), or -EINVAL with
 * err filled (NUL byte, missing '=', bad key name, continuation without a parameter, ...),
 * -EFBIG above CONFIG_FILE_MAX, -ENOMEM. */
int config_parse(const char *label, const char *text, size_t len, struct config_file **ret,
                 struct config_error *err);

/* config_read_file - read and parse the file at io_path (the path with any --root applied),
 * naming it label in messages. Returns -ENOENT (err filled) when the file does not exist. */
int config_read_file(const char *io_path, const char *label, struct config_file **ret,
                     struct config_error *err);

/* config_file_get - value of the last entry named key, or NULL. Borrowed. */
const char *config_file_get(const struct config_file *f, const char *key);

/* config_file_free - NULL-tolerant; wipes values (the credentials file uses this syntax). */
struct config_file *config_file_free(struct config_file *f);

/* config_error_set - printf into err (NULL-tolerant). Returns -EINVAL. */
int config_error_set(struct config_error *err, const char *format, ...)
        __attribute__((format(printf, 2, 3)));
