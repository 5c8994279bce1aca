/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/* Running Postfix's own tools: postconf to ask for default_database_type, postmap to build
 * lookup tables. Children get a scrubbed environment (PATH and LANG only: no AWS_* secrets)
 * and no stdin; their stderr is captured for the error message. */

#define POSTFIX_TOOL_OUTPUT_MAX 4096

/* postfix_default_database_type - `postconf -c config_dir -h default_database_type` into out
 * ("hash", "lmdb", ...). Returns 0, -ENOENT when postconf is not installed, -EIO when it
 * failed (why holds its stderr). */
int postfix_default_database_type(const char *config_dir, char *out, size_t out_size, char *why,
                                  size_t why_size);

/* postfix_postmap - `postmap -c config_dir TYPE:source` (creates source.db / source.lmdb...).
 * Returns 0, -ENOENT when postmap is not installed, -EIO when it failed (why has stderr). */
int postfix_postmap(const char *config_dir, const char *type, const char *source, char *why,
                    size_t why_size);

/* postfix_table_suffix - the file suffix postmap gives a table type: "hash" and "btree" ->
 * ".db", "lmdb" -> ".lmdb", "cdb" -> ".cdb", "dbm" and "sdbm" -> NULL (two files, refused). */
const char *postfix_table_suffix(const char *type);
