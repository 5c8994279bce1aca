/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smtp_proto.h"

/* The delivery client of the built-in relay: one blocking SMTP connection to the relayhost,
 * used by one delivery thread for several messages. STARTTLS (or implicit TLS) with the
 * certificate verified against ca_file and the relayhost's name (OpenSSL), then AUTH through
 * the Cyrus SASL client (PLAIN, LOGIN) when the server offers AUTH and credentials are given
 * (a server that offers no AUTH gets the mail without it, as Postfix does). Every read and
 * write has a deadline. No logging: outcomes are data. */

enum relay_tls_mode {
        RELAY_TLS_STARTTLS,
        RELAY_TLS_SMTPS,
        RELAY_TLS_NONE, /* only towards a loopback relayhost (checked by the caller) */
};

enum delivery_class {
        DELIVERY_OK,
        DELIVERY_TEMPFAIL, /* 4xx, connection and TLS trouble: defer */
        DELIVERY_PERMFAIL, /* 5xx: bounce */
        DELIVERY_AUTHFAIL, /* 535, 454 4.7.x auth: defer and re-read the credentials */
};

struct smtp_client_options {
        const char *host; /* name or IP literal; the certificate must match it */
        uint16_t port;
        enum relay_tls_mode tls;
        const char *ca_file;  /* PEM bundle */
        const char *helo;     /* our name in EHLO */
        const char *username; /* NULL: no AUTH */
        const char *password;
        uint64_t connect_timeout_ms; /* 0: 30000 */
        uint64_t command_timeout_ms; /* 0: 60000 (also per DATA write) */
};

struct smtp_client_error {
        enum delivery_class cls;
        int code;                            /* SMTP code when the server answered, else 0 */
        char text[SMTP_REPLY_TEXT_MAX + 64]; /* "454 Throttling failure: ..." or what failed:
                                              * "connect to host:port: Connection refused",
                                              * "TLS: certificate verify failed (host mismatch)" */
};

struct smtp_client;

/* smtp_client_connect - connect, greeting, EHLO, STARTTLS, EHLO, AUTH. Returns 0 and a
 * client ready for MAIL, or -errno (-ECONNREFUSED, -ETIMEDOUT, -EPROTO for TLS or protocol
 * failures, -EACCES for an authentication failure, -EREMOTEIO for a 4xx/5xx reply) with err. */
int smtp_client_connect(const struct smtp_client_options *o, struct smtp_client **ret,
                        struct smtp_client_error *err);

/* What to send. The body is read from fd at offset, size bytes, and dot-stuffed on the way.
 * recipients: at most 50 per call (SES's limit; the caller splits). */
struct smtp_client_message {
        const char *sender; /* "" for <> */
        const char *const *recipients;
        size_t n_recipients;
        int body_fd;
        uint64_t body_offset;
        uint64_t body_size;
        bool body_8bit;
        bool smtputf8;
};

struct smtp_rcpt_result {
        enum delivery_class cls;
        int code;
        char text[SMTP_REPLY_TEXT_MAX]; /* "550 5.1.1 ..." */
};

/* smtp_client_send - one transaction: MAIL (SIZE=, BODY=8BITMIME when advertised), RCPT for
 * each recipient (results in rcpt[i]), DATA when one was accepted, the body, the final reply
 * (*final: "250 Ok 0100018c..." carries SES's message id). Returns 0 when the transaction
 * ran to its end (recipients may still have failed, and the final reply may be 4xx/5xx:
 * check final->code), or -errno when the connection failed (the client is then unusable;
 * err says why and every recipient not yet answered counts as TEMPFAIL). */
int smtp_client_send(struct smtp_client *c, const struct smtp_client_message *m,
                     struct smtp_rcpt_result *rcpt, struct smtp_reply *final,
                     struct smtp_client_error *err);

/* smtp_client_rset - RSET between messages after a failed transaction. */
int smtp_client_rset(struct smtp_client *c, struct smtp_client_error *err);

/* smtp_client_max_size - the server's EHLO SIZE (0: none). */
uint64_t smtp_client_max_size(const struct smtp_client *c);

/* smtp_client_peer - "host[ip]:port" for log lines. */
const char *smtp_client_peer(const struct smtp_client *c);

/* smtp_client_tls_version - "TLSv1.3" when the session is encrypted, NULL in plaintext. */
const char *smtp_client_tls_version(const struct smtp_client *c);

/* smtp_client_authenticated - true when AUTH succeeded (false: no credentials were given, or
 * the server offered no AUTH). */
bool smtp_client_authenticated(const struct smtp_client *c);

/* smtp_client_quit - QUIT (bounded) and free. NULL-tolerant. */
struct smtp_client *smtp_client_quit(struct smtp_client *c);

/* smtp_client_classify - the class of a reply code and text: 2xx OK; 535, 534, 530 and 454 with
 * "authentication" or 4.7.x auth codes -> AUTHFAIL; other 4xx TEMPFAIL; 5xx PERMFAIL. Pure. */
enum delivery_class smtp_client_classify(int code, const char *text);
