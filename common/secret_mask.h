/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/* The one place that knows which strings are secret. Every log line and every printed
 * configuration passes through secret_mask_apply(), so a registered secret never reaches
 * a terminal, the journal or an error message. */

#define SECRET_MASK_TEXT "********"

/* secret_mask_add - remember a secret (copied) so later output masks it.
 * Strings shorter than 4 bytes are not registered (masking them would garble text).
 * Returns 0, or -ENOMEM / -ENOSPC when the table is full. */
int secret_mask_add(const char *secret);

/* secret_mask_apply - copy of text with every registered secret replaced by
 * SECRET_MASK_TEXT. Caller frees with free(). NULL on ENOMEM. */
char *secret_mask_apply(const char *text);

/* secret_mask_contains - true when text holds a registered secret. */
int secret_mask_contains(const char *text);

/* secret_mask_clear - wipe and forget every registered secret. */
void secret_mask_clear(void);

/* secret_free - wipe a NUL-terminated secret string and free it. Accepts NULL, returns NULL. */
char *secret_free(char *s);

/* secret_wipe - wipe len bytes at p (not optimised away). */
void secret_wipe(void *p, size_t len);

/* secret_hygiene_enable - for a process about to hold secrets: not dumpable (no core file,
 * no ptrace by other users, /proc/PID/mem closed), core size limit 0, and jansson's
 * allocations wiped when freed (JSON documents carry the secret). Idempotent. Returns 0 or
 * -errno from prctl/setrlimit. */
int secret_hygiene_enable(void);
