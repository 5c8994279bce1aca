/* SPDX-License-Identifier: MIT */
/*
 * tls_client - OpenSSL client sessions for the relay's delivery client (smtp_client.c).
 *
 * One SSL_CTX per session: the CA file is read at each connection, so a replaced bundle
 * takes effect without a restart, and nothing is shared between delivery threads. TLS 1.2 is
 * the minimum (SES accepts 1.2 and 1.3); the peer's chain must verify against ca_file and
 * its names must match the relayhost (X509_check_host rules, no partial wildcards), or its IP
 * addresses the IP literal. The socket is driven through a small BIO of our own that calls
 * send(MSG_NOSIGNAL)/recv(), so a server that closes never raises SIGPIPE in the daemon, and
 * every wait is a poll() bounded by the caller's deadline.
 *
 * FAILURES: -errno, and a short text in t->error (or why) without any "TLS:" prefix: the
 * caller adds its context. A session that met a fatal error sends no close_notify.
 */
#include "tls_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "backoff.h"
#include "fileio.h"

#define USEC_PER_MSEC 1000ULL

struct tls_client {
        int fd;        /* borrowed */
        int sys_errno; /* errno of the last failed send()/recv() in the BIO */
        bool failed;   /* a fatal error: no close_notify */
        SSL_CTX *ctx;
        SSL *ssl;
        char error[TLS_CLIENT_ERROR_MAX];
        char sni[256]; /* a writable copy: SSL_set_tlsext_host_name() casts away const */
};

static pthread_once_t bio_once = PTHREAD_ONCE_INIT;
static BIO_METHOD *bio_method;

/* sock_write - the BIO's write: send() without SIGPIPE; EAGAIN becomes a retry */
static int sock_write(BIO *b, const char *data, int len)
{
        struct tls_client *t = BIO_get_data(b);
        ssize_t n;

        BIO_clear_retry_flags(b);
        n = send(t->fd, data, (size_t)len, MSG_NOSIGNAL);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        BIO_set_retry_write(b);
                else
                        t->sys_errno = errno;
                return -1;
        }
        return (int)n;
}

static int sock_read(BIO *b, char *buf, int size)
{
        struct tls_client *t = BIO_get_data(b);
        ssize_t n;

        BIO_clear_retry_flags(b);
        n = recv(t->fd, buf, (size_t)size, 0);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        BIO_set_retry_read(b);
                else
                        t->sys_errno = errno;
                return -1;
        }
        return (int)n;
}

static long sock_ctrl(BIO *b, int cmd, long num, void *ptr)
{
        (void)b;
        (void)num;
        (void)ptr;
        /* Nothing is buffered here: a flush is done at once; everything else is unsupported. */
        return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int sock_create(BIO *b)
{
        BIO_set_init(b, 1);
        return 1;
}

static int sock_destroy(BIO *b)
{
        (void)b;
        return 1;
}

static void bio_method_init(void)
{
        BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "mailinit socket");

        if (!m)
                return;
        if (BIO_meth_set_write(m, sock_write) != 1 || BIO_meth_set_read(m, sock_read) != 1 ||
            BIO_meth_set_ctrl(m, sock_ctrl) != 1 || BIO_meth_set_create(m, sock_create) != 1 ||
            BIO_meth_set_destroy(m, sock_destroy) != 1) {
                BIO_meth_free(m);
                return;
        }
        bio_method = m;
}

/* ssl_reason - the reason text of the newest OpenSSL error, or fallback */
static const char *ssl_reason(unsigned long e, char *buf, size_t size, const char *fallback)
{
        const char *reason;

        if (e == 0)
                return fallback;
        reason = ERR_reason_error_string(e);
        if (reason)
                return reason;
        ERR_error_string_n(e, buf, size);
        return buf;
}

/* io_failure - turn a failed SSL call's error (not WANT_*) into -errno and t->error */
static int io_failure(struct tls_client *t, int ssl_error, const char *what)
{
        unsigned long e = ERR_peek_last_error();
        char buf[160];

        t->failed = true;
        switch (ssl_error) {
        case SSL_ERROR_ZERO_RETURN:
                (void)snprintf(t->error, sizeof(t->error), "connection closed by the server");
                return -ECONNRESET;
        case SSL_ERROR_SYSCALL:
                if (t->sys_errno == 0) {
                        (void)snprintf(t->error, sizeof(t->error),
                                       "connection closed by the server during %s", what);
                        return -ECONNRESET;
                }
                (void)snprintf(t->error, sizeof(t->error), "%s: %s", what, strerror(t->sys_errno));
                return -t->sys_errno;
        case SSL_ERROR_SSL:
                if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
                    ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
                        (void)snprintf(t->error, sizeof(t->error),
                                       "connection closed by the server during %s", what);
                        return -ECONNRESET;
                }
                (void)snprintf(t->error, sizeof(t->error), "%s failed: %s", what,
                               ssl_reason(e, buf, sizeof(buf), "unknown error"));
                return -EPROTO;
        default:
                (void)snprintf(t->error, sizeof(t->error), "%s failed: %s", what,
                               ssl_reason(e, buf, sizeof(buf), "unexpected SSL error"));
                return -EPROTO;
        }
}

/* is_ip_literal - host is an IPv4 or IPv6 address (the certificate must list it as such) */
static bool is_ip_literal(const char *host)
{
        unsigned char addr[sizeof(struct in6_addr)];

        return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

/* session_new - the context (CA file, TLS >= 1.2, peer verification) and the SSL object
 * with its name checks */
static int session_new(struct tls_client *t, const char *host, const char *ca_file, char *why,
                       size_t why_size)
{
        BIO *bio;

        if (access(ca_file, R_OK) < 0) {
                int r = -errno;

                (void)snprintf(why, why_size, "CA file %s: %s", ca_file, strerror(-r));
                return r;
        }
        t->ctx = SSL_CTX_new(TLS_client_method());
        if (!t->ctx)
                return -ENOMEM;
        if (SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION) != 1)
                return -ENOMEM;
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
        (void)SSL_CTX_set_options(t->ctx, SSL_OP_NO_RENEGOTIATION);
        if (SSL_CTX_load_verify_locations(t->ctx, ca_file, NULL) != 1) {
                char buf[160];

                (void)snprintf(why, why_size, "CA file %s: no certificate could be loaded (%s)",
                               ca_file,
                               ssl_reason(ERR_peek_last_error(), buf, sizeof(buf), "empty"));
                return -EINVAL;
        }

        t->ssl = SSL_new(t->ctx);
        if (!t->ssl)
                return -ENOMEM;
        if (is_ip_literal(host)) {
                /* No SNI for an address (RFC 6066 3); the certificate must carry the IP. */
                if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host) != 1)
                        return -ENOMEM;
        } else {
                SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
                if ((size_t)snprintf(t->sni, sizeof(t->sni), "%s", host) >= sizeof(t->sni) ||
                    SSL_set_tlsext_host_name(t->ssl, t->sni) != 1 ||
                    SSL_set1_host(t->ssl, host) != 1) {
                        (void)snprintf(why, why_size, "cannot use host name '%s'", host);
                        return -EINVAL;
                }
        }

        bio = BIO_new(bio_method);
        if (!bio)
                return -ENOMEM;
        BIO_set_data(bio, t);
        SSL_set_bio(t->ssl, bio, bio); /* one reference, owned by the SSL object */
        return 0;
}

int tls_client_handshake(int fd, const char *host, const char *ca_file, uint64_t deadline_usec,
                         struct tls_client **ret, char *why, size_t why_size)
{
        struct tls_client *t;
        int r;

        if (pthread_once(&bio_once, bio_method_init) != 0 || !bio_method)
                return -ENOMEM;
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->fd = fd;
        why[0] = '\0';

        ERR_clear_error();
        r = session_new(t, host, ca_file, why, why_size);
        if (r < 0) {
                if (r == -ENOMEM && !why[0])
                        (void)snprintf(why, why_size, "out of memory");
                t->failed = true;
                goto fail;
        }

        for (;;) {
                int n, e;

                ERR_clear_error();
                t->sys_errno = 0;
                n = SSL_connect(t->ssl);
                if (n == 1)
                        break;
                e = SSL_get_error(t->ssl, n);
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                        r = fd_wait(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline_usec);
                        if (r < 0) {
                                t->failed = true;
                                (void)snprintf(why, why_size, "handshake timed out");
                                goto fail;
                        }
                        continue;
                }
                if (SSL_get_verify_result(t->ssl) != X509_V_OK) {
                        /* Say why: "hostname mismatch", "unable to get local issuer
                         * certificate", "certificate has expired"... */
                        t->failed = true;
                        (void)snprintf(
                                why, why_size, "certificate verify failed (%s)",
                                X509_verify_cert_error_string(SSL_get_verify_result(t->ssl)));
                        r = -EPROTO;
                        goto fail;
                }
                r = io_failure(t, e, "the handshake");
                (void)snprintf(why, why_size, "%s", t->error);
                goto fail;
        }
        *ret = t;
        return 0;

fail:
        (void)tls_client_free(t);
        return r;
}

ssize_t tls_client_read(struct tls_client *t, void *buf, size_t size, uint64_t deadline_usec)
{
        int chunk = size > INT_MAX ? INT_MAX : (int)size;

        t->error[0] = '\0';
        if (t->failed) {
                (void)snprintf(t->error, sizeof(t->error), "the TLS session failed earlier");
                return -ENOTCONN;
        }
        for (;;) {
                int n, e;

                ERR_clear_error();
                t->sys_errno = 0;
                n = SSL_read(t->ssl, buf, chunk);
                if (n > 0)
                        return n;
                e = SSL_get_error(t->ssl, n);
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                        int r = fd_wait(t->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
                                        deadline_usec);

                        if (r < 0) {
                                (void)snprintf(t->error, sizeof(t->error), "read timed out");
                                return r;
                        }
                        continue;
                }
                if (e == SSL_ERROR_ZERO_RETURN) {
                        /* close_notify: an orderly end (no close_notify of ours after it) */
                        t->failed = true;
                        return 0;
                }
                return io_failure(t, e, "read");
        }
}

int tls_client_write(struct tls_client *t, const void *data, size_t len, uint64_t deadline_usec)
{
        const char *p = data;

        t->error[0] = '\0';
        if (t->failed) {
                (void)snprintf(t->error, sizeof(t->error), "the TLS session failed earlier");
                return -ENOTCONN;
        }
        while (len > 0) {
                int chunk = len > INT_MAX ? INT_MAX : (int)len;
                int n, e;

                ERR_clear_error();
                t->sys_errno = 0;
                /* A retried SSL_write() gets the same buffer and length, as OpenSSL wants. */
                n = SSL_write(t->ssl, p, chunk);
                if (n > 0) {
                        p += n;
                        len -= (size_t)n;
                        continue;
                }
                e = SSL_get_error(t->ssl, n);
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                        int r = fd_wait(t->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
                                        deadline_usec);

                        if (r < 0) {
                                (void)snprintf(t->error, sizeof(t->error), "write timed out");
                                return r;
                        }
                        continue;
                }
                return io_failure(t, e, "write");
        }
        return 0;
}

const char *tls_client_strerror(const struct tls_client *t)
{
        return t->error;
}

const char *tls_client_version(const struct tls_client *t)
{
        return SSL_get_version(t->ssl);
}

struct tls_client *tls_client_free(struct tls_client *t)
{
        if (!t)
                return NULL;
        if (t->ssl) {
                if (!t->failed) {
                        /* One non-blocking attempt: QUIT was answered already, and nobody
                         * waits for the server's close_notify (RFC 8446 6.1 allows it). */
                        ERR_clear_error();
                        (void)SSL_shutdown(t->ssl);
                }
                SSL_free(t->ssl);
        }
        SSL_CTX_free(t->ctx);
        ERR_clear_error();
        free(t);
        return NULL;
}
