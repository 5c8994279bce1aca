/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Pure readers of the DNS TXT records the dns checks look at (no lookups here). */

/* spf_is_record - txt is an SPF record: "v=spf1" then a space or the end (RFC 7208 4.5;
 * case-insensitive). */
bool spf_is_record(const char *txt);

/* spf_includes - record has the term include:DOMAIN with the qualifier '+' or none
 * (case-insensitive; a trailing dot on either side is ignored). */
bool spf_includes(const char *record, const char *domain);

/* dmarc_is_record - txt starts with the tag v=DMARC1 (RFC 7489 6.3; spaces around tags and
 * '=' allowed). */
bool dmarc_is_record(const char *txt);

/* dmarc_policy - the value of the p= tag of a DMARC record into out ("quarantine"). Returns
 * 0, or -ENOENT when there is no p tag (sp= does not count). */
int dmarc_policy(const char *record, char *out, size_t size);
