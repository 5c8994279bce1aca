/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/* Largest main.cf text (and largest edited result) accepted, in bytes. */
#define POSTFIX_CONF_MAX_BYTES ((size_t)4 * 1024 * 1024)

/* One "name = value" setting. Both borrowed from the caller. */
struct postfix_conf_edit {
        const char *name;
        const char *value;
};

/* postfix_conf_edit - apply edits to the main.cf text (len bytes, not NUL-terminated) with
 * postconf -e semantics; the new text in *ret (malloc'd, NUL-terminated, length *ret_len;
 * caller frees with free()). Values are trimmed of surrounding white space as postconf does;
 * for a name given twice the later edit wins. Returns 0, -EINVAL for input containing NUL
 * bytes or an edit whose name is not [A-Za-z0-9_]+ or whose value contains a newline, -EFBIG
 * when the text or the result exceeds POSTFIX_CONF_MAX_BYTES, -ENOMEM. Pure: no I/O, no
 * logging. *ret and *ret_len are written only on success. */
int postfix_conf_edit(const char *text, size_t len, const struct postfix_conf_edit *edits,
                      size_t n_edits, char **ret, size_t *ret_len);

/* postfix_conf_lookup - the value of name's last definition in main.cf text (continuation
 * lines joined as Postfix does), malloc'd, or NULL with errno set: ENOENT (not defined),
 * EINVAL (bad name, NUL bytes in text), EFBIG (text too large), ENOMEM. No $name expansion. */
char *postfix_conf_lookup(const char *text, size_t len, const char *name);
