/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>

/* The server side of STARTTLS (RFC 3207) for the relay's SMTP server (OpenSSL): one SSL_CTX
 * built at start from a PEM certificate chain and key (TLS 1.2 or newer, no renegotiation, no
 * resumption, no client certificates), and one non-blocking session per connection whose calls
 * never wait: -EAGAIN says which poll events (smtpd_tls_events()) the call needs before it is
 * tried again, so an event loop drives it. No logging: failures are -errno plus a reason. */

#define SMTPD_TLS_ERROR_MAX 256

/* smtpd_tls_context_new - the server context from cert_file (PEM chain, leaf first) and
 * key_file (PEM). Returns 0 and *ret (free with SSL_CTX_free()), or -errno with why:
 * -ENOENT/-EACCES/-EINVAL when a file cannot be used, -ENOMEM. */
int smtpd_tls_context_new(const char *cert_file, const char *key_file, SSL_CTX **ret, char *why,
                          size_t why_size);

struct smtpd_tls;

/* smtpd_tls_new - a server session on fd (borrowed: connected, O_NONBLOCK; the caller closes
 * it after smtpd_tls_free()). Returns 0 and *ret, or -ENOMEM. */
int smtpd_tls_new(SSL_CTX *ctx, int fd, struct smtpd_tls **ret);

/* smtpd_tls_handshake - advance the handshake. Returns 1 when it is complete, -EAGAIN when it
 * waits for smtpd_tls_events(), -EPROTO (see smtpd_tls_strerror()) or -ECONNRESET (the client
 * closed) on failure. */
int smtpd_tls_handshake(struct smtpd_tls *t);

/* smtpd_tls_read - up to size bytes of plaintext. Returns the count (> 0), 0 when the client
 * closed, -EAGAIN, or -EPROTO/-ECONNRESET. */
ssize_t smtpd_tls_read(struct smtpd_tls *t, void *buf, size_t size);

/* smtpd_tls_write - some of data[0..len) (partial writes; the same bytes, possibly more,
 * must follow an -EAGAIN, wherever they were moved). Returns the count (> 0), -EAGAIN, or
 * -EPROTO/-EPIPE. */
ssize_t smtpd_tls_write(struct smtpd_tls *t, const void *data, size_t len);

/* smtpd_tls_events - EPOLLIN and/or EPOLLOUT the last -EAGAIN waits for; 0 after success. */
uint32_t smtpd_tls_events(const struct smtpd_tls *t);

/* smtpd_tls_pending - plaintext already decrypted and buffered inside OpenSSL: no poll event
 * announces it, so read again. */
bool smtpd_tls_pending(const struct smtpd_tls *t);

/* smtpd_tls_describe - "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)". */
void smtpd_tls_describe(const struct smtpd_tls *t, char *out, size_t size);

/* smtpd_tls_strerror - the reason of the last failure ("" when none). Borrowed. */
const char *smtpd_tls_strerror(const struct smtpd_tls *t);

/* smtpd_tls_free - send close_notify once when the session is healthy (without waiting for
 * the client's), then free. The socket stays open. NULL-tolerant; returns NULL. */
struct smtpd_tls *smtpd_tls_free(struct smtpd_tls *t);
