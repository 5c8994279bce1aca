/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/* addrlist - the addresses of an RFC 5322 address list (3.4), as in To:/Cc:/Bcc: header
 * values and on sendmail's command line ("Name <a@b>, c@d (comment), group: e@f;"): display
 * names, comments, groups and source routes are dropped, folding and white space outside
 * quoted strings removed, quoted local parts kept as written. Pure: no I/O, no logging. */

struct addrlist {
        char **items;
        size_t n;
        size_t max; /* -E2BIG beyond (0: no limit) */
};

/* addrlist_parse - append the addresses in text[0..len) to list (each a copy; empty members
 * such as "undisclosed-recipients:;" add nothing). Returns the number added, -EINVAL for an
 * unterminated quoted string, comment or angle address, -E2BIG, or -ENOMEM. */
int addrlist_parse(const char *text, size_t len, struct addrlist *list);

void addrlist_done(struct addrlist *list);
