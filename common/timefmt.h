/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <time.h>

/* Dates as mail headers write them, independent of the locale. */

#define TIMEFMT_RFC5322_MAX 40 /* "Sat, 28 Nov 2026 12:00:00 +0000" */
#define TIMEFMT_STAMP_MAX   16 /* "20261128120000" */

/* timefmt_rfc5322 - RFC 5322 section 3.3 date-time in UTC into out; when stamp is not NULL
 * also the YYYYMMDDhhmmss form (for Message-IDs). Returns 0 or -EOVERFLOW (a time gmtime
 * cannot break down, or a buffer too small). */
int timefmt_rfc5322(time_t t, char *out, size_t size, char *stamp, size_t stamp_size);
