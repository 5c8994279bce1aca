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
        bool local;         /* picked up from the maildrop: "(mailinit, from userid N)" */
        unsigned local_uid; /* the submitter, when local */
        const char *from;   /* added as "From: VALUE" when the message has none (NULL: not) */
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

/* headers_field - one header field of a section: [start, end) including its folded lines
 * and its line break; the name is [start, start + name_len); the value starts at value. */
struct headers_field {
        size_t start;
        size_t name_len;
        size_t value;
        size_t end;
};

/* headers_next_field - the field at *off in section[0..len) (as headers_end found it), and
 * *off moved past it. Returns false at the end (the empty line, or len). A line that is not a
 * field (no name) is returned with name_len 0. */
bool headers_next_field(const char *section, size_t len, size_t *off, struct headers_field *ret);

/* headers_field_is - the field's name is name (case-insensitive) */
bool headers_field_is(const char *section, const struct headers_field *f, const char *name);

/* headers_mailbox - "Display Name <address>" for a From: header: the name quoted when it has
 * RFC 5322 specials, RFC 2047-encoded (UTF-8, B) when it has non-ASCII bytes; just the address
 * when name is NULL or empty. Appends to out; 0 or -ENOMEM/-EFBIG. */
int headers_mailbox(const char *name, const char *address, struct buf *out);

/* headers_complete_address - "user" -> "user@myorigin" into out; other addresses copied
 * (including "" for the null sender). Returns 0 or -ENOBUFS. */
int headers_complete_address(const char *address, const char *myorigin, char *out, size_t size);
