/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"

/* What the relay does to a message's header section when it accepts it, as Postfix's
 * cleanup does: a Received: header on top; Message-ID: and Date: added when missing; bare
 * local names in From:/Sender:/Reply-To:/To:/Cc: completed with @myorigin; and the same
 * completion for envelope addresses. Pure. */

#define HEADERS_SECTION_MAX (1024 * 1024)

struct headers_context {
        const char *myhostname;
        const char *myorigin;
        const char *client_name; /* "localhost" */
        const char *client_addr; /* "127.0.0.1" */
        const char *helo;        /* what the client said in HELO/EHLO */
        const char *protocol;    /* "ESMTP", "ESMTPS", "ESMTPA", "ESMTPSA", "SMTP", "local" */
        const char *queue_id;
        const char *recipient; /* "for <x@y>" when there is exactly one, else NULL */
        time_t now;
};

/* headers_end - length of the header section of msg (up to and including the empty line
 * that ends it, CRLF or LF); len when the message has no body separator (all headers) or
 * 0 when the first line is not a header (no header section). */
size_t headers_end(const char *msg, size_t len);

/* headers_rewrite - the new header section for section[0..len) (as headers_end found it)
 * into out: Received first, then the original headers with bare local names completed,
 * then Message-ID and Date when they were missing, then the empty line (CRLF endings
 * throughout; folded headers kept). -EFBIG above HEADERS_SECTION_MAX. */
int headers_rewrite(const char *section, size_t len, const struct headers_context *ctx,
                    struct buf *out);

/* headers_complete_address - "user" -> "user@myorigin" into out; other addresses copied
 * (including "" for the null sender). Returns 0 or -ENOBUFS. */
int headers_complete_address(const char *address, const char *myorigin, char *out, size_t size);
