/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The confirmation mail: one SMTP transaction with the local relay (Postfix or mailinit's),
 * over loopback, no TLS, no AUTH (the relay trusts mynetworks). */

#define CONFIRM_REPLY_MAX 512

struct confirm_message {
        const char *helo; /* myhostname */
        const char *from; /* notify_from */
        const char *to;   /* notify_to */
        const char *subject;
        const char *body; /* lines separated by "\n"; dot-stuffed and CRLF'd here */
        const char *message_id_domain;
};

struct confirm_result {
        int code;                      /* last SMTP reply code, 0 when none */
        char reply[CONFIRM_REPLY_MAX]; /* last reply text, one line */
        char queue_id[64];             /* from "250 2.0.0 Ok: queued as ID" or "250 Ok ID" */
};

/* confirm_send - connect to address ("127.0.0.1:25", "[::1]:25"), send the message, QUIT.
 * Returns 0 when the message was accepted (250 after DATA), -EAGAIN for a 4xx reply,
 * -EREMOTEIO for a 5xx reply (ret->code, ret->reply), -ECONNREFUSED, -ETIMEDOUT,
 * -ECONNRESET, -EPROTO (not SMTP), -EINVAL (bad address). Bounded by timeout_ms overall. */
int confirm_send(const char *address, const struct confirm_message *m, uint64_t timeout_ms,
                 struct confirm_result *ret);

/* confirm_parse_queue_id - the queue id in a 250 reply to DATA ("Ok: queued as 4ABC" from
 * Postfix, "Ok 0100018c..." from SES-like servers, "queued as ID"), or "" . Pure. */
void confirm_parse_queue_id(const char *reply, char *out, size_t size);
