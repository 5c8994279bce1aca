/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "aws_credentials.h"

/* The instance metadata service's answers, parsed without I/O (imds.c fetches, these read),
 * so the fuzz target sees exactly what the client sees. */

#define IMDS_PARSE_WHY_MAX 320

/* imds_token_valid - a token answer is usable: not empty, no NUL byte. */
bool imds_token_valid(const char *body, size_t len);

/* imds_is_token_text - printable ASCII without spaces, as ids, regions and host names are. */
bool imds_is_token_text(const char *s);

/* imds_trim_text - remove trailing CR, LF and spaces of the NUL-terminated s of length len
 * in place; returns the new length. */
size_t imds_trim_text(char *s, size_t len);

/* imds_parse_region_document - the "region" of an instance identity document (JSON). Returns
 * 0 and *ret (caller frees), -EBADMSG (not JSON, no region or not a single printable word),
 * -ENOMEM. */
int imds_parse_region_document(const char *body, size_t len, char **ret);

/* imds_parse_role_list - the primary role of an iam/security-credentials/ listing: the first
 * line, cut in place. Returns 0 and *ret pointing into list, -EBADMSG when it is not a
 * single printable word without '/'. */
int imds_parse_role_list(char *list, const char **ret);

/* imds_tag_key - for one line of the tags/instance listing (a trailing CR is cut in place):
 * the key after "mailinit:" (borrowed from line), or NULL for other tags and for keys that
 * are not a single printable word without '/'. */
const char *imds_tag_key(char *line);

/* imds_parse_rfc3339_utc - "YYYY-MM-DDThh:mm:ssZ" (fractional seconds and "+00:00" allowed)
 * to time_t. Returns 0 or -EINVAL. */
int imds_parse_rfc3339_utc(const char *s, time_t *ret);

/* imds_parse_credentials - a role's credentials document. Returns 0 and fills *ret (release
 * with aws_credentials_done; the strings are registered with secret_mask); -EACCES when Code
 * is not "Success" (why quotes Code and Message, which carry no secret); -EBADMSG when it is
 * not a JSON object or lacks AccessKeyId, SecretAccessKey, Token or a valid Expiration (why
 * says which kind, never a value); -ENOMEM. The body is not modified; the caller wipes it. */
int imds_parse_credentials(const char *body, size_t len, struct aws_credentials *ret, char *why,
                           size_t why_size);
