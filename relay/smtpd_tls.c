/* SPDX-License-Identifier: MIT */
/*
 * smtpd_tls - STARTTLS for the relay's SMTP server: the server SSL_CTX and non-blocking
 * sessions that an event loop drives.
 *
 * The context is built once at start: certificate chain and key from PEM files (checked
 * against each other), TLS 1.2 at least, no renegotiation, no session cache and no tickets
 * (a mail client gains little from resumption; nothing is kept that would need rotating), no
 * client certificates. An unexpected EOF reads as a close: SMTP has QUIT for clean ends.
 *
 * A session is OpenSSL's SSL on the connection's socket (SSL_set_fd: the relay ignores
 * SIGPIPE). Every call returns at once: SSL_ERROR_WANT_READ/WRITE become -EAGAIN and the poll
 * events to wait for. Writes are partial and the caller's buffer may move between retries
 * (SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER). After a fatal error
 * the session is marked broken and no close_notify is attempted.
 */
#include "smtpd_tls.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <openssl/err.h>

struct smtpd_tls {
        SSL *ssl;
        uint32_t events; /* what the last -EAGAIN waits for */
        bool established;
        bool broken; /* a fatal error: no close_notify */
        char error[2 * SMTPD_TLS_ERROR_MAX];
};

/* openssl_reason - the oldest queued OpenSSL error as text (then the queue is cleared) */
static void openssl_reason(char *out, size_t size, const char *fallback)
{
        unsigned long e = ERR_get_error();

        if (e)
                ERR_error_string_n(e, out, size);
        else
                (void)snprintf(out, size, "%s", fallback);
        ERR_clear_error();
}

int smtpd_tls_context_new(const char *cert_file, const char *key_file, SSL_CTX **ret, char *why,
                          size_t why_size)
{
        char reason[SMTPD_TLS_ERROR_MAX];
        SSL_CTX *ctx;

        if (access(cert_file, R_OK) < 0 || access(key_file, R_OK) < 0) {
                int r = -errno;

                (void)snprintf(why, why_size, "cannot read %s: %s",
                               access(cert_file, R_OK) < 0 ? cert_file : key_file, strerror(-r));
                return r;
        }
        ERR_clear_error();
        ctx = SSL_CTX_new(TLS_server_method());
        if (!ctx) {
                (void)snprintf(why, why_size, "out of memory");
                return -ENOMEM;
        }
        if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
                openssl_reason(reason, sizeof reason, "cannot require TLS 1.2");
                (void)snprintf(why, why_size, "%s", reason);
                SSL_CTX_free(ctx);
                return -EINVAL;
        }
        (void)SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                               SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF);
        (void)SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        (void)SSL_CTX_set_num_tickets(ctx, 0);
        (void)SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                            SSL_MODE_RELEASE_BUFFERS);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
                openssl_reason(reason, sizeof reason, "no certificate");
                (void)snprintf(why, why_size, "cannot load the certificate chain %s: %s", cert_file,
                               reason);
                SSL_CTX_free(ctx);
                return -EINVAL;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
                openssl_reason(reason, sizeof reason, "no key");
                (void)snprintf(why, why_size, "cannot load the private key %s: %s", key_file,
                               reason);
                SSL_CTX_free(ctx);
                return -EINVAL;
        }
        if (SSL_CTX_check_private_key(ctx) != 1) {
                openssl_reason(reason, sizeof reason, "mismatch");
                (void)snprintf(why, why_size,
                               "the private key %s does not match the certificate %s: %s", key_file,
                               cert_file, reason);
                SSL_CTX_free(ctx);
                return -EINVAL;
        }
        *ret = ctx;
        return 0;
}

int smtpd_tls_new(SSL_CTX *ctx, int fd, struct smtpd_tls **ret)
{
        struct smtpd_tls *t = calloc(1, sizeof *t);

        if (!t)
                return -ENOMEM;
        ERR_clear_error();
        t->ssl = SSL_new(ctx);
        if (!t->ssl || SSL_set_fd(t->ssl, fd) != 1) {
                ERR_clear_error();
                SSL_free(t->ssl);
                free(t);
                return -ENOMEM;
        }
        SSL_set_accept_state(t->ssl);
        *ret = t;
        return 0;
}

/* failed - turn the SSL_get_error() of a call that returned ret into -errno */
static int failed(struct smtpd_tls *t, int ret, const char *what)
{
        int e = SSL_get_error(t->ssl, ret), saved_errno = errno;

        switch (e) {
        case SSL_ERROR_WANT_READ:
                t->events = EPOLLIN;
                return -EAGAIN;
        case SSL_ERROR_WANT_WRITE:
                t->events = EPOLLOUT;
                return -EAGAIN;
        case SSL_ERROR_ZERO_RETURN:
                /* close_notify (or, with SSL_OP_IGNORE_UNEXPECTED_EOF, a bare EOF) */
                t->events = 0;
                (void)snprintf(t->error, sizeof t->error, "%s: the client closed the connection",
                               what);
                return -ECONNRESET;
        case SSL_ERROR_SYSCALL:
                t->broken = true;
                if (ERR_peek_error() == 0) {
                        ERR_clear_error();
                        (void)snprintf(t->error, sizeof t->error, "%s: %s", what,
                                       ret == 0 || saved_errno == 0 ? "connection closed"
                                                                    : strerror(saved_errno));
                        return saved_errno == EPIPE ? -EPIPE : -ECONNRESET;
                }
                break;
        default:
                t->broken = true;
                break;
        }
        {
                char reason[SMTPD_TLS_ERROR_MAX];

                openssl_reason(reason, sizeof reason, "TLS error");
                (void)snprintf(t->error, sizeof t->error, "%s: %s", what, reason);
        }
        return -EPROTO;
}

int smtpd_tls_handshake(struct smtpd_tls *t)
{
        int ret;

        ERR_clear_error();
        ret = SSL_accept(t->ssl);
        if (ret == 1) {
                t->events = 0;
                t->established = true;
                return 1;
        }
        ret = failed(t, ret, "SSL_accept");
        if (ret != -EAGAIN)
                t->broken = true; /* no close_notify in the middle of a handshake */
        return ret;
}

ssize_t smtpd_tls_read(struct smtpd_tls *t, void *buf, size_t size)
{
        int ret, r;

        ERR_clear_error();
        ret = SSL_read(t->ssl, buf, size > INT_MAX ? INT_MAX : (int)size);
        if (ret > 0) {
                t->events = 0;
                return ret;
        }
        r = failed(t, ret, "SSL_read");
        return r == -ECONNRESET && !t->broken ? 0 : r;
}

ssize_t smtpd_tls_write(struct smtpd_tls *t, const void *data, size_t len)
{
        int ret;

        if (len == 0)
                return 0;
        ERR_clear_error();
        ret = SSL_write(t->ssl, data, len > INT_MAX ? INT_MAX : (int)len);
        if (ret > 0) {
                t->events = 0;
                return ret;
        }
        ret = failed(t, ret, "SSL_write");
        return ret == -ECONNRESET ? -EPIPE : ret;
}

uint32_t smtpd_tls_events(const struct smtpd_tls *t)
{
        return t->events;
}

bool smtpd_tls_pending(const struct smtpd_tls *t)
{
        return SSL_pending(t->ssl) > 0;
}

void smtpd_tls_describe(const struct smtpd_tls *t, char *out, size_t size)
{
        const SSL_CIPHER *c = SSL_get_current_cipher(t->ssl);
        int alg_bits = 0, bits = c ? SSL_CIPHER_get_bits(c, &alg_bits) : 0;

        (void)snprintf(out, size, "%s with cipher %s (%d/%d bits)", SSL_get_version(t->ssl),
                       c ? SSL_CIPHER_get_name(c) : "none", bits, alg_bits);
}

const char *smtpd_tls_strerror(const struct smtpd_tls *t)
{
        return t->error;
}

struct smtpd_tls *smtpd_tls_free(struct smtpd_tls *t)
{
        if (!t)
                return NULL;
        if (t->established && !t->broken) {
                ERR_clear_error();
                (void)SSL_shutdown(t->ssl); /* one try: a client that is gone does not hold us */
                ERR_clear_error();
        }
        SSL_free(t->ssl);
        free(t);
        return NULL;
}
