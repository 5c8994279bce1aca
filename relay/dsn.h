/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <time.h>

#include "buf.h"

/* Delivery status notifications (RFC 3464, RFC 6522 multipart/report) for bounced mail, as
 * Postfix's bounce daemon writes them. Pure: builds text. */

struct dsn_recipient {
        const char *address;
        const char *status;     /* "5.1.1" (from the reply's enhanced code, else 5.0.0 / 4.4.7) */
        const char *diagnostic; /* "550 5.1.1 <x@y>: Recipient address rejected" */
};

struct dsn_params {
        const char *reporting_mta; /* myhostname */
        const char *queue_id;
        const char *sender; /* the original envelope sender: the bounce goes there */
        time_t arrival;
        time_t now;
        const char *remote_mta; /* "email-smtp.eu-west-1.amazonaws.com" or NULL */
        const struct dsn_recipient *recipients;
        size_t n_recipients;
        const char *reason;           /* one sentence for the human-readable part */
        const char *original_headers; /* the returned message's header section */
        size_t original_headers_len;
};

/* dsn_build - the complete bounce message (headers and body, CRLF line endings) into out:
 * From: MAILER-DAEMON@reporting_mta, To: the sender, Subject: Undelivered Mail Returned to
 * Sender, Auto-Submitted: auto-replied, a multipart/report; report-type=delivery-status with a
 * text part, a message/delivery-status part (Reporting-MTA, X-Postfix-Queue-ID-style
 * X-Mailinit-Queue-ID, Arrival-Date; per recipient Final-Recipient, Action: failed, Status,
 * Remote-MTA, Diagnostic-Code) and a text/rfc822-headers part. Returns 0, -EINVAL (no
 * sender: the null sender gets no bounce), -ENOMEM/-EFBIG from buf. */
int dsn_build(const struct dsn_params *p, struct buf *out);
