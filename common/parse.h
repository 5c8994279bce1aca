/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Pure parsers for configuration values. Each returns 0 and writes *ret only on success,
 * -EINVAL for text that is not a value of that kind, -ERANGE when it does not fit. */

/* parse_uint64 - decimal digits only, no sign, no spaces. */
int parse_uint64(const char *s, uint64_t *ret);

/* parse_duration - Postfix time value: digits with an optional unit s, m, h, d or w;
 * without a unit, default_unit applies. Result in seconds. */
int parse_duration(const char *s, char default_unit, uint64_t *ret_seconds);

/* parse_size - bytes: digits with an optional k, m or g suffix (powers of 1024). */
int parse_size(const char *s, uint64_t *ret_bytes);

/* parse_bool - yes/no, true/false, on/off, 1/0 (case-insensitive). */
int parse_bool(const char *s, bool *ret);

/* parse_rate - a non-negative decimal number ("14", "0.5"). */
int parse_rate(const char *s, double *ret);

/* strip_whitespace - trim leading and trailing spaces/tabs/CR/LF in place; returns s moved
 * past leading space. */
char *strip_whitespace(char *s);

/* list_next - iterate a Postfix list (items separated by commas and/or white space).
 * *state starts at the list text; returns a pointer to the next item, of *ret_len bytes, or
 * NULL at the end. */
const char *list_next(const char **state, size_t *ret_len);
