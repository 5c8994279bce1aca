/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The TLS side of the relay's delivery client (OpenSSL): a client session over a connected
 * non-blocking socket, TLS 1.2 or newer, the peer's certificate verified against a CA file and
 * the relayhost's name (SNI and host-name check) or IP literal. Every call takes a deadline
 * (CLOCK_MONOTONIC, microseconds, as now_monotonic_usec()) and waits with poll(). Writes use
 * send(MSG_NOSIGNAL): no SIGPIPE. No logging: failures are -errno plus tls_client_strerror(). */

#define TLS_CLIENT_ERROR_MAX 256

struct tls_client;

/* tls_client_handshake - a TLS session on fd (borrowed: connected, O_NONBLOCK; the caller
 * closes it after tls_client_free()). host: a DNS name (sent as SNI, matched against the
 * certificate's names) or an IPv4/IPv6 literal (matched against its IP addresses). Returns 0
 * and *ret; or -errno with why ("certificate verify failed (hostname mismatch)"): -EPROTO for
 * TLS failures, -ETIMEDOUT, -ECONNRESET when the server closed, -ENOENT/-EINVAL when ca_file
 * cannot be loaded, -ENOMEM. */
int tls_client_handshake(int fd, const char *host, const char *ca_file, uint64_t deadline_usec,
                         struct tls_client **ret, char *why, size_t why_size);

/* tls_client_read - up to size bytes. Returns the count (> 0), 0 when the server closed the
 * session, or -errno (-ETIMEDOUT, -ECONNRESET, -EPROTO; see tls_client_strerror()). */
ssize_t tls_client_read(struct tls_client *t, void *buf, size_t size, uint64_t deadline_usec);

/* tls_client_write - all of data[0..len). Returns 0 or -errno (-ETIMEDOUT, -ECONNRESET,
 * -EPIPE, -EPROTO). */
int tls_client_write(struct tls_client *t, const void *data, size_t len, uint64_t deadline_usec);

/* tls_client_strerror - what the last failed call of t met ("" when none). Borrowed. */
const char *tls_client_strerror(const struct tls_client *t);

/* tls_client_version - "TLSv1.3" (static text). */
const char *tls_client_version(const struct tls_client *t);

/* tls_client_free - send close_notify when the session is healthy (without waiting for the
 * server's), then free. The socket stays open. NULL-tolerant; returns NULL. */
struct tls_client *tls_client_free(struct tls_client *t);
