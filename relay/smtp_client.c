/* SPDX-License-Identifier: MIT */
/*
 * smtp_client - the relay's delivery client: one blocking SMTP session with the relayhost
 * (RFC 5321), used by one delivery thread for several messages.
 *
 *   connect: getaddrinfo (every address in turn) -> [TLS] -> 220 <- ; EHLO (HELO after a 5xx)
 *            -> [STARTTLS -> 220, TLS, EHLO again] -> [AUTH PLAIN|LOGIN, 334 ... -> 235]
 *   send:    [RSET] ; MAIL FROM:<s> [SIZE=n] [BODY=8BITMIME] [SMTPUTF8] ; RCPT TO:<r>... ;
 *            DATA -> 354 ; the dot-stuffed body ; "." -> final reply
 *   quit:    QUIT (bounded), close_notify, close
 *
 * No PIPELINING: SES does not offer it, and lock-step keeps every reply tied to its command.
 * The socket is O_NONBLOCK underneath a blocking interface: each connect, reply and write
 * waits in poll() with its own deadline (connect_timeout per address, command_timeout per
 * reply and per write), so no call can hang on a silent server.
 *
 * Reuse: before each message, a server that spoke or hung up while the connection was idle
 * (SES closes it after about 10 s with 451) makes smtp_client_send() fail with -ENOTCONN and
 * nothing sent; a transaction left open (no recipient accepted, DATA refused) is reset with
 * RSET before the next MAIL, whether or not the caller called smtp_client_rset().
 *
 * FAILURES: protocol outcomes are data (smtp_rcpt_result, *final, err->cls with the server's
 * reply); a broken connection (I/O error, timeout, 421, a reply we cannot parse) is -errno
 * with err and leaves the client usable only for smtp_client_quit(). Texts name the peer and
 * the step, Postfix style: "lost connection with host[ip]:port while sending message body".
 * SECURITY: the password only travels inside the SASL exchange; command buffers that held a
 * SASL response are wiped, and no error text carries either.
 */
#include "smtp_client.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "backoff.h"
#include "fileio.h"
#include "sasl_client.h"
#include "tcp_connect.h"
#include "tls_client.h"

#define SMTP_CLIENT_CONNECT_TIMEOUT_MS 30000ULL
#define SMTP_CLIENT_COMMAND_TIMEOUT_MS 60000ULL
#define SMTP_CLIENT_QUIT_TIMEOUT_MS    5000ULL
#define SMTP_CLIENT_RCPT_MAX           50                  /* SES's recipients per message */
#define SMTP_CLIENT_BODY_CHUNK         ((size_t)64 * 1024) /* bytes read per pread() */
#define SMTP_CLIENT_IN_MAX             8192 /* the input buffer: longest reply line */
#define SMTP_CLIENT_REPLY_LINES_MAX    1000 /* a reply longer than that is an attack */
#define SMTP_CLIENT_AUTH_STEPS_MAX     8    /* 334 challenges (LOGIN needs 2) */
#define SMTP_CLIENT_HOST_MAX           255  /* RFC 1035 2.3.4 */
#define SMTP_CLIENT_CMD_MAX            (SMTP_CMD_LINE_MAX + SASL_CLIENT_LINE_MAX + 16)
#define USEC_PER_MSEC                  1000ULL

enum smtp_client_state {
        SMTP_CLIENT_CONNECTING,
        SMTP_CLIENT_GREETING,
        SMTP_CLIENT_EHLO,
        SMTP_CLIENT_STARTTLS,
        SMTP_CLIENT_TLS_HANDSHAKE,
        SMTP_CLIENT_AUTH,
        SMTP_CLIENT_READY,
        SMTP_CLIENT_MAIL,
        SMTP_CLIENT_RCPT,
        SMTP_CLIENT_DATA,
        SMTP_CLIENT_BODY,
        SMTP_CLIENT_END_OF_DATA,
        SMTP_CLIENT_RSET,
        SMTP_CLIENT_QUIT,
        SMTP_CLIENT_BROKEN,
        SMTP_CLIENT_STATE_MAX,
};

/* What the client was doing, for "... while <state_name>" in error texts (Postfix's words). */
static const char *const state_name[SMTP_CLIENT_STATE_MAX] = {
        [SMTP_CLIENT_CONNECTING] = "connecting",
        [SMTP_CLIENT_GREETING] = "receiving the initial server greeting",
        [SMTP_CLIENT_EHLO] = "performing the EHLO handshake",
        [SMTP_CLIENT_STARTTLS] = "sending STARTTLS",
        [SMTP_CLIENT_TLS_HANDSHAKE] = "performing the TLS handshake",
        [SMTP_CLIENT_AUTH] = "authenticating",
        [SMTP_CLIENT_READY] = "idle",
        [SMTP_CLIENT_MAIL] = "sending MAIL FROM",
        [SMTP_CLIENT_RCPT] = "sending RCPT TO",
        [SMTP_CLIENT_DATA] = "sending DATA command",
        [SMTP_CLIENT_BODY] = "sending message body",
        [SMTP_CLIENT_END_OF_DATA] = "sending end of data -- message may be sent more than once",
        [SMTP_CLIENT_RSET] = "sending RSET",
        [SMTP_CLIENT_QUIT] = "sending QUIT",
        [SMTP_CLIENT_BROKEN] = "recovering from an earlier failure",
};

struct smtp_client {
        enum smtp_client_state state;
        int fd;
        struct tls_client *tls; /* NULL: plaintext */
        enum relay_tls_mode mode;
        bool broken; /* I/O failed or the server closed: only quit() is left */
        bool dirty;  /* a transaction is open (MAIL accepted): RSET first */
        bool authenticated;
        uint64_t connect_timeout_ms;
        uint64_t command_timeout_ms;
        char host[SMTP_CLIENT_HOST_MAX + 1];
        char peer[SMTP_CLIENT_HOST_MAX + NI_MAXHOST + 16]; /* host[ip]:port */
        struct smtp_ehlo ehlo;
        size_t in_start, in_end; /* unread input: in[in_start..in_end) */
        char in[SMTP_CLIENT_IN_MAX];
        struct smtp_reply reply;                             /* the last reply read */
        char body_in[SMTP_CLIENT_BODY_CHUNK + 1];            /* + a CR held back */
        char body_out[2 * (SMTP_CLIENT_BODY_CHUNK + 1) + 8]; /* smtp_dot_stuff()'s worst
                                                              * case, then "\r\n.\r\n" */
};

/* set_state - the one place the state changes */
static void set_state(struct smtp_client *c, enum smtp_client_state state)
{
        assert(state < SMTP_CLIENT_STATE_MAX);
        c->state = state;
}

static uint64_t deadline_after(uint64_t ms)
{
        return now_monotonic_usec() + ms * USEC_PER_MSEC;
}

static void set_error(struct smtp_client_error *err, enum delivery_class cls, int code,
                      const char *format, ...) __attribute__((format(printf, 4, 5)));

static void set_error(struct smtp_client_error *err, enum delivery_class cls, int code,
                      const char *format, ...)
{
        va_list ap;

        err->cls = cls;
        err->code = code;
        va_start(ap, format);
        (void)vsnprintf(err->text, sizeof(err->text), format, ap);
        va_end(ap);
}

/* append_clean - append s to out[*len..size), printable ASCII only (servers' texts end up
 * in log lines and DSNs) */
static void append_clean(char *out, size_t size, size_t *len, const char *s)
{
        for (; *s && *len + 1 < size; s++) {
                unsigned char ch = (unsigned char)*s;

                if (ch < 0x20 || ch >= 0x7f)
                        ch = '?';
                out[(*len)++] = (char)ch;
        }
        out[*len] = '\0';
}

/* reply_format - "DDD [X.Y.Z ]text", further lines appended with spaces */
static void reply_format(const struct smtp_reply *reply, char *out, size_t size)
{
        const char *first = reply->n_lines > 0 ? reply->lines[0] : "";
        size_t len = 0;
        char code[8];

        assert(size > 0);
        out[0] = '\0';
        (void)snprintf(code, sizeof(code), "%03d", reply->code);
        append_clean(out, size, &len, code);
        /* The enhanced code, unless the text still starts with it. */
        if (reply->enhanced[0] && strncmp(first, reply->enhanced, strlen(reply->enhanced)) != 0) {
                append_clean(out, size, &len, " ");
                append_clean(out, size, &len, reply->enhanced);
        }
        for (size_t i = 0; i < reply->n_lines && i < SMTP_REPLY_LINES_MAX; i++) {
                if (!reply->lines[i][0])
                        continue;
                append_clean(out, size, &len, " ");
                append_clean(out, size, &len, reply->lines[i]);
        }
}

/* copy_text - src into dst, cut to fit */
static void copy_text(char *dst, size_t size, const char *src)
{
        size_t n = strnlen(src, size - 1);

        memcpy(dst, src, n);
        dst[n] = '\0';
}

static void error_from_reply(struct smtp_client_error *err, enum delivery_class cls,
                             const struct smtp_reply *reply)
{
        err->cls = cls;
        err->code = reply->code;
        reply_format(reply, err->text, sizeof(err->text));
}

static enum delivery_class reply_class(const struct smtp_reply *reply)
{
        char text[SMTP_REPLY_TEXT_MAX + 32];

        reply_format(reply, text, sizeof(text));
        return smtp_client_classify(reply->code, text);
}

/* io_error - a failed read or write: the connection is lost. r: -errno, 0 for EOF. */
static int io_error(struct smtp_client *c, int r, struct smtp_client_error *err)
{
        const char *what = state_name[c->state];
        const char *tls_text = c->tls ? tls_client_strerror(c->tls) : "";

        if (r == 0)
                r = -ECONNRESET;
        if (r == -ETIMEDOUT)
                set_error(err, DELIVERY_TEMPFAIL, 0, "conversation with %s timed out while %s",
                          c->peer, what);
        else if (r == -EPROTO && tls_text[0])
                set_error(err, DELIVERY_TEMPFAIL, 0, "TLS: %s (with %s while %s)", tls_text,
                          c->peer, what);
        else if (r == -ECONNRESET || r == -EPIPE)
                set_error(err, DELIVERY_TEMPFAIL, 0, "lost connection with %s while %s", c->peer,
                          what);
        else
                set_error(err, DELIVERY_TEMPFAIL, 0, "lost connection with %s while %s: %s",
                          c->peer, what, strerror(-r));
        c->broken = true;
        set_state(c, SMTP_CLIENT_BROKEN);
        return r;
}

/* protocol_error - the server said something that is not SMTP: give up the connection */
static int protocol_error(struct smtp_client *c, struct smtp_client_error *err, const char *why)
{
        set_error(err, DELIVERY_TEMPFAIL, 0, "protocol error from %s while %s: %s", c->peer,
                  state_name[c->state], why);
        c->broken = true;
        set_state(c, SMTP_CLIENT_BROKEN);
        return -EPROTO;
}

/* conn_recv - some bytes (> 0), 0 at EOF, or -errno */
static ssize_t conn_recv(struct smtp_client *c, char *buf, size_t size, uint64_t deadline_usec)
{
        if (c->tls)
                return tls_client_read(c->tls, buf, size, deadline_usec);
        for (;;) {
                ssize_t n = recv(c->fd, buf, size, 0);
                int r;

                if (n >= 0)
                        return n;
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN)
                        return -errno;
                r = fd_wait(c->fd, POLLIN, deadline_usec);
                if (r < 0)
                        return r;
        }
}

/* conn_send - all of data, or -errno */
static int conn_send(struct smtp_client *c, const char *data, size_t len, uint64_t deadline_usec)
{
        if (c->tls)
                return tls_client_write(c->tls, data, len, deadline_usec);
        while (len > 0) {
                ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
                int r;

                if (n >= 0) {
                        data += n;
                        len -= (size_t)n;
                        continue;
                }
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN)
                        return -errno;
                r = fd_wait(c->fd, POLLOUT, deadline_usec);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* read_line - the next input line, NUL-terminated in place, without its CRLF (or LF).
 * Returns 0, -errno, -E2BIG for a line longer than the input buffer. */
static int read_line(struct smtp_client *c, uint64_t deadline_usec, char **ret_line,
                     size_t *ret_len)
{
        for (;;) {
                char *start = c->in + c->in_start;
                char *nl = memchr(start, '\n', c->in_end - c->in_start);
                ssize_t n;

                if (nl) {
                        size_t len = (size_t)(nl - start);

                        if (len > 0 && start[len - 1] == '\r')
                                len--;
                        start[len] = '\0';
                        c->in_start = (size_t)(nl - c->in) + 1;
                        *ret_line = start;
                        *ret_len = len;
                        return 0;
                }
                if (c->in_start > 0) {
                        memmove(c->in, start, c->in_end - c->in_start);
                        c->in_end -= c->in_start;
                        c->in_start = 0;
                }
                if (c->in_end == sizeof(c->in))
                        return -E2BIG;
                n = conn_recv(c, c->in + c->in_end, sizeof(c->in) - c->in_end, deadline_usec);
                if (n <= 0)
                        return n == 0 ? -ECONNRESET : (int)n;
                c->in_end += (size_t)n;
        }
}

/* read_reply - one complete reply into *reply, within command_timeout. A 421 (the server
 * is closing the connection, RFC 5321 3.8) is a connection failure: -EREMOTEIO. */
static int read_reply(struct smtp_client *c, struct smtp_reply *reply,
                      struct smtp_client_error *err)
{
        uint64_t deadline = deadline_after(c->command_timeout_ms);
        size_t lines;

        memset(reply, 0, sizeof(*reply));
        for (lines = 0;; lines++) {
                char *line = NULL;
                size_t len = 0;
                int r;

                r = read_line(c, deadline, &line, &len);
                if (r == -E2BIG)
                        return protocol_error(c, err, "reply line too long");
                if (r < 0)
                        return io_error(c, r, err);
                if (lines >= SMTP_CLIENT_REPLY_LINES_MAX)
                        return protocol_error(c, err, "reply with too many lines");
                r = smtp_reply_feed_line(reply, line, len);
                if (r < 0) {
                        char why[96] = "";
                        size_t wlen = 0;

                        append_clean(why, sizeof(why), &wlen, "malformed reply line: ");
                        line[len > 60 ? 60 : len] = '\0';
                        append_clean(why, sizeof(why), &wlen, line);
                        return protocol_error(c, err, why);
                }
                if (r > 0)
                        break;
        }
        if (reply->code == 421) {
                error_from_reply(err, DELIVERY_TEMPFAIL, reply);
                c->broken = true;
                set_state(c, SMTP_CLIENT_BROKEN);
                return -EREMOTEIO;
        }
        return 0;
}

static int send_command(struct smtp_client *c, struct smtp_client_error *err, bool secret,
                        const char *format, ...) __attribute__((format(printf, 4, 5)));

/* send_command - one command line, CRLF added; secret: wipe the buffer afterwards (AUTH) */
static int send_command(struct smtp_client *c, struct smtp_client_error *err, bool secret,
                        const char *format, ...)
{
        char buf[SMTP_CLIENT_CMD_MAX];
        va_list ap;
        int n, r;

        va_start(ap, format);
        n = vsnprintf(buf, sizeof(buf) - 2, format, ap);
        va_end(ap);
        /* Callers check addresses against SMTP_ADDRESS_MAX and SASL lines are bounded, so
         * this cannot happen; never send a cut command if it does. */
        if (n < 0 || (size_t)n >= sizeof(buf) - 2) {
                if (secret)
                        OPENSSL_cleanse(buf, sizeof(buf));
                set_error(err, DELIVERY_TEMPFAIL, 0, "command too long while %s",
                          state_name[c->state]);
                return -EINVAL;
        }
        buf[n++] = '\r';
        buf[n++] = '\n';
        r = conn_send(c, buf, (size_t)n, deadline_after(c->command_timeout_ms));
        if (secret)
                OPENSSL_cleanse(buf, sizeof(buf));
        if (r < 0)
                return io_error(c, r, err);
        return 0;
}

/* chat - a command and its reply (in c->reply) */
static int chat(struct smtp_client *c, struct smtp_client_error *err, const char *format, ...)
        __attribute__((format(printf, 3, 4)));

static int chat(struct smtp_client *c, struct smtp_client_error *err, const char *format, ...)
{
        char buf[SMTP_CMD_LINE_MAX + 1];
        va_list ap;
        int n, r;

        va_start(ap, format);
        n = vsnprintf(buf, sizeof(buf), format, ap);
        va_end(ap);
        if (n < 0 || (size_t)n >= sizeof(buf)) {
                set_error(err, DELIVERY_TEMPFAIL, 0, "command too long while %s",
                          state_name[c->state]);
                return -EINVAL;
        }
        r = send_command(c, err, false, "%s", buf);
        if (r < 0)
                return r;
        return read_reply(c, &c->reply, err);
}

/* tcp_connect - the first address of host that accepts a connection within connect_timeout */
static int tcp_connect(struct smtp_client *c, uint16_t port, struct smtp_client_error *err)
{
        char ip[TCP_CONNECT_IP_MAX] = "?", why[512] = "";
        int fd, one = 1;

        set_state(c, SMTP_CLIENT_CONNECTING);
        fd = tcp_connect_host(c->host, port, c->connect_timeout_ms, ip, sizeof ip, why, sizeof why);
        if (fd < 0) {
                set_error(err, DELIVERY_TEMPFAIL, 0, "%s", why);
                return fd;
        }
        /* Every command is one write and waits for its reply: Nagle would only hold a write
         * back until the delayed ACK of the last one. */
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c->fd = fd;
        (void)snprintf(c->peer, sizeof(c->peer), "%s[%s]:%u", c->host, ip, port);
        return 0;
}

/* start_tls - the TLS handshake on the connected socket */
static int start_tls(struct smtp_client *c, const char *ca_file, struct smtp_client_error *err)
{
        char why[TLS_CLIENT_ERROR_MAX + 64];
        int r;

        set_state(c, SMTP_CLIENT_TLS_HANDSHAKE);
        r = tls_client_handshake(c->fd, c->host, ca_file, deadline_after(c->command_timeout_ms),
                                 &c->tls, why, sizeof(why));
        if (r == -ETIMEDOUT || r == -ECONNRESET)
                return io_error(c, r, err);
        if (r < 0) {
                /* The server expects TLS records now: nothing more can be said in clear. */
                set_error(err, DELIVERY_TEMPFAIL, 0, "TLS: %s", why[0] ? why : strerror(-r));
                c->broken = true;
                set_state(c, SMTP_CLIENT_BROKEN);
                return r;
        }
        return 0;
}

/* ehlo - EHLO, or HELO when EHLO is refused with 5xx (RFC 5321 3.2): c->ehlo */
static int ehlo(struct smtp_client *c, const char *helo, struct smtp_client_error *err)
{
        int r;

        set_state(c, SMTP_CLIENT_EHLO);
        memset(&c->ehlo, 0, sizeof(c->ehlo));
        r = chat(c, err, "EHLO %s", helo);
        if (r < 0)
                return r;
        if (c->reply.code == 250) {
                smtp_ehlo_parse(&c->reply, &c->ehlo);
                return 0;
        }
        if (c->reply.code >= 500 && c->reply.code < 600) {
                r = chat(c, err, "HELO %s", helo);
                if (r < 0)
                        return r;
                if (c->reply.code == 250)
                        return 0; /* no extensions */
        }
        error_from_reply(err, reply_class(&c->reply), &c->reply);
        return -EREMOTEIO;
}

/* authenticate - AUTH with PLAIN or LOGIN (RFC 4954); a refusal is AUTHFAIL or TEMPFAIL,
 * never PERMFAIL: mail is not bounced for our credentials */
static int authenticate(struct smtp_client *c, const char *username, const char *password,
                        struct smtp_client_error *err)
{
        struct sasl_client *s = NULL;
        const char *mech = NULL, *response = NULL;
        enum delivery_class cls;
        char offered[16], why[256] = "";
        unsigned steps;
        int r;

        set_state(c, SMTP_CLIENT_AUTH);
        (void)snprintf(offered, sizeof(offered), "%s %s", c->ehlo.auth_plain ? "PLAIN" : "",
                       c->ehlo.auth_login ? "LOGIN" : "");
        r = sasl_client_cyrus_new(c->host, username, password ? password : "", &s, why,
                                  sizeof(why));
        if (r < 0) {
                set_error(err, DELIVERY_TEMPFAIL, 0, "SASL: %s", why[0] ? why : strerror(-r));
                return r;
        }
        r = sasl_client_first(s, offered, &mech, &response, why, sizeof(why));
        if (r < 0) {
                set_error(err, DELIVERY_TEMPFAIL, 0, "%s", why[0] ? why : strerror(-r));
                goto out;
        }
        if (response)
                r = send_command(c, err, true, "AUTH %s %s", mech, response);
        else
                r = send_command(c, err, false, "AUTH %s", mech);
        if (r < 0)
                goto out;

        for (steps = 0;; steps++) {
                const char *challenge;

                r = read_reply(c, &c->reply, err);
                if (r < 0)
                        goto out;
                if (c->reply.code != 334)
                        break;
                if (steps >= SMTP_CLIENT_AUTH_STEPS_MAX) {
                        r = protocol_error(c, err, "too many AUTH challenges");
                        goto out;
                }
                challenge = c->reply.n_lines > 0 ? c->reply.lines[0] : "";
                r = sasl_client_next(s, challenge, &response, why, sizeof(why));
                if (r < 0) {
                        /* RFC 4954 4: "*" cancels the exchange; the server answers 501. */
                        r = send_command(c, err, false, "*");
                        if (r >= 0)
                                r = read_reply(c, &c->reply, err);
                        if (r >= 0) {
                                set_error(err, DELIVERY_TEMPFAIL, 0, "SASL %s: %s", mech, why);
                                r = -EPROTO;
                        }
                        goto out;
                }
                r = send_command(c, err, true, "%s", response);
                if (r < 0)
                        goto out;
        }
        if (c->reply.code / 100 == 2) {
                r = 0;
                goto out;
        }
        cls = reply_class(&c->reply);
        if (cls == DELIVERY_PERMFAIL || cls == DELIVERY_OK)
                cls = DELIVERY_AUTHFAIL;
        error_from_reply(err, cls, &c->reply);
        r = cls == DELIVERY_AUTHFAIL ? -EACCES : -EREMOTEIO;
out:
        (void)sasl_client_free(s);
        return r;
}

int smtp_client_connect(const struct smtp_client_options *o, struct smtp_client **ret,
                        struct smtp_client_error *err)
{
        struct smtp_client *c;
        const char *helo;
        int r;

        assert(o && ret && err);
        if (!o->host || !o->host[0] || strlen(o->host) > SMTP_CLIENT_HOST_MAX || o->port == 0) {
                set_error(err, DELIVERY_TEMPFAIL, 0, "no usable relayhost (host '%s', port %u)",
                          o->host ? o->host : "", o->port);
                return -EINVAL;
        }
        if (o->tls != RELAY_TLS_NONE && (!o->ca_file || !o->ca_file[0])) {
                set_error(err, DELIVERY_TEMPFAIL, 0, "TLS: no CA file to verify %s with", o->host);
                return -EINVAL;
        }
        helo = o->helo && o->helo[0] ? o->helo : "localhost";
        for (const char *p = helo; *p; p++)
                if ((unsigned char)*p <= ' ' || *p == 0x7f) {
                        set_error(err, DELIVERY_TEMPFAIL, 0,
                                  "bad HELO name: white space or control characters");
                        return -EINVAL;
                }

        c = calloc(1, sizeof(*c));
        if (!c) {
                set_error(err, DELIVERY_TEMPFAIL, 0, "out of memory");
                return -ENOMEM;
        }
        c->fd = -1;
        c->mode = o->tls;
        c->connect_timeout_ms =
                o->connect_timeout_ms ? o->connect_timeout_ms : SMTP_CLIENT_CONNECT_TIMEOUT_MS;
        c->command_timeout_ms =
                o->command_timeout_ms ? o->command_timeout_ms : SMTP_CLIENT_COMMAND_TIMEOUT_MS;
        (void)snprintf(c->host, sizeof(c->host), "%s", o->host);
        (void)snprintf(c->peer, sizeof(c->peer), "%s:%u", o->host, o->port);

        r = tcp_connect(c, o->port, err);
        if (r < 0)
                goto fail;
        if (o->tls == RELAY_TLS_SMTPS) {
                r = start_tls(c, o->ca_file, err);
                if (r < 0)
                        goto fail;
        }

        set_state(c, SMTP_CLIENT_GREETING);
        r = read_reply(c, &c->reply, err);
        if (r < 0)
                goto fail;
        if (c->reply.code != 220) {
                error_from_reply(err, reply_class(&c->reply), &c->reply);
                r = -EREMOTEIO;
                goto fail;
        }
        r = ehlo(c, helo, err);
        if (r < 0)
                goto fail;

        if (o->tls == RELAY_TLS_STARTTLS) {
                if (!c->ehlo.starttls) {
                        set_error(err, DELIVERY_TEMPFAIL, 0, "STARTTLS not offered by host %s",
                                  c->peer);
                        r = -EPROTO;
                        goto fail;
                }
                set_state(c, SMTP_CLIENT_STARTTLS);
                r = chat(c, err, "STARTTLS");
                if (r < 0)
                        goto fail;
                if (c->reply.code != 220) {
                        /* Never in clear: defer whatever the code says. */
                        error_from_reply(err, DELIVERY_TEMPFAIL, &c->reply);
                        r = -EREMOTEIO;
                        goto fail;
                }
                /* RFC 3207 4.2: forget everything from before TLS, including input that was
                 * already buffered (a man in the middle could have injected it). */
                c->in_start = c->in_end = 0;
                r = start_tls(c, o->ca_file, err);
                if (r < 0)
                        goto fail;
                r = ehlo(c, helo, err);
                if (r < 0)
                        goto fail;
        }

        /* Credentials only through TLS (or to the loopback relayhost of mode NONE), and only
         * when AUTH is offered: a sink without AUTH gets the mail without it, as Postfix. */
        if (o->username && o->username[0] && c->ehlo.auth && (c->tls || o->tls == RELAY_TLS_NONE)) {
                r = authenticate(c, o->username, o->password, err);
                if (r < 0)
                        goto fail;
                c->authenticated = true;
        }

        set_state(c, SMTP_CLIENT_READY);
        *ret = c;
        return 0;

fail:
        (void)smtp_client_quit(c);
        return r;
}

const char *smtp_client_tls_version(const struct smtp_client *c)
{
        return c->tls ? tls_client_version(c->tls) : NULL;
}

bool smtp_client_authenticated(const struct smtp_client *c)
{
        return c->authenticated;
}

/* address_ok - what can go between < > on a command line: bounded, no controls, no < > */
static bool address_ok(const char *address)
{
        const char *p;

        if (strlen(address) > SMTP_ADDRESS_MAX)
                return false;
        for (p = address; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '<' || *p == '>')
                        return false;
        return true;
}

/* local_reply - a reply made here, as if the server had sent it */
static void local_reply(struct smtp_reply *reply, const char *line)
{
        int r;

        memset(reply, 0, sizeof(*reply));
        r = smtp_reply_feed_line(reply, line, strlen(line));
        assert(r == 1);
        (void)r;
}

static void rcpt_from_reply(struct smtp_rcpt_result *res, const struct smtp_reply *reply)
{
        res->code = reply->code;
        reply_format(reply, res->text, sizeof(res->text));
        res->cls = smtp_client_classify(reply->code, res->text);
}

/* send_body - the message from body_fd, dot-stuffed, then the terminating "." line (in the
 * same write as the last bytes of the message: one packet, one TLS record) */
static int send_body(struct smtp_client *c, const struct smtp_client_message *m,
                     struct smtp_client_error *err)
{
        uint64_t offset = m->body_offset, left = m->body_size;
        bool at_line_start = true;
        size_t carry = 0, out_len;
        int r;

        for (;;) {
                size_t have = carry;

                if (left > 0) {
                        size_t want = left > SMTP_CLIENT_BODY_CHUNK ? SMTP_CLIENT_BODY_CHUNK
                                                                    : (size_t)left;
                        ssize_t n = pread(m->body_fd, c->body_in + carry, want, (off_t)offset);

                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0) {
                                /* Half a message is on the wire: only closing the connection
                                 * keeps the server from delivering it. */
                                r = n < 0 ? -errno : -EIO;
                                set_error(err, DELIVERY_TEMPFAIL, 0, "cannot read the message: %s",
                                          n < 0 ? strerror(-r) : "file shorter than its size");
                                c->broken = true;
                                set_state(c, SMTP_CLIENT_BROKEN);
                                return r;
                        }
                        offset += (uint64_t)n;
                        left -= (uint64_t)n;
                        have += (size_t)n;
                }
                /* A CR at the end of a chunk waits for the next one: smtp_dot_stuff() would
                 * see its LF alone and add a second CR. */
                carry = left > 0 && c->body_in[have - 1] == '\r';
                have -= carry;
                out_len = smtp_dot_stuff(c->body_in, have, c->body_out, &at_line_start);
                if (left == 0) {
                        /* RFC 5321 4.1.1.4: the data ends with CRLF before the "." line; add
                         * it when the message's last line had none. */
                        const char *end = at_line_start ? ".\r\n" : "\r\n.\r\n";

                        memcpy(c->body_out + out_len, end, strlen(end));
                        out_len += strlen(end);
                }
                r = conn_send(c, c->body_out, out_len, deadline_after(c->command_timeout_ms));
                if (r < 0)
                        return io_error(c, r, err);
                if (left == 0)
                        break;
                if (carry)
                        c->body_in[0] = '\r';
        }

        set_state(c, SMTP_CLIENT_END_OF_DATA);
        return 0;
}

/* check_idle - before a connection is used again: did the server speak or hang up in the
 * meantime? SES closes sessions idle for about 10 s with "451 Timeout waiting for data from
 * client"; reading that as the reply to our MAIL would defer a message for nothing. Returns
 * 0, or -ENOTCONN (nothing was sent: reconnect) with err. */
static int check_idle(struct smtp_client *c, struct smtp_client_error *err)
{
        if (c->in_start == c->in_end) {
                struct pollfd p = {.fd = c->fd, .events = POLLIN};
                ssize_t n;

                if (poll(&p, 1, 0) <= 0)
                        return 0; /* quiet (a poll() error shows up in the next write) */
                /* Readable: data, EOF, or only TLS records (a session ticket) that leave no
                 * application data; the expired deadline makes the read non-blocking. */
                n = conn_recv(c, c->in, sizeof(c->in), now_monotonic_usec());
                if (n == -ETIMEDOUT)
                        return 0;
                if (n <= 0) {
                        (void)io_error(c, (int)n, err);
                        return -ENOTCONN;
                }
                c->in_start = 0;
                c->in_end = (size_t)n;
        }
        /* Something nobody asked for: read it for the log, then give the connection up. */
        if (read_reply(c, &c->reply, err) < 0)
                return -ENOTCONN;
        error_from_reply(err, DELIVERY_TEMPFAIL, &c->reply);
        c->broken = true;
        set_state(c, SMTP_CLIENT_BROKEN);
        return -ENOTCONN;
}

static int rset(struct smtp_client *c, struct smtp_client_error *err)
{
        int r;

        set_state(c, SMTP_CLIENT_RSET);
        r = chat(c, err, "RSET");
        if (r < 0)
                return r;
        if (c->reply.code / 100 != 2) {
                /* A server that cannot reset cannot be trusted with the next message. */
                error_from_reply(err, reply_class(&c->reply), &c->reply);
                c->broken = true;
                set_state(c, SMTP_CLIENT_BROKEN);
                return -EREMOTEIO;
        }
        c->dirty = false;
        set_state(c, SMTP_CLIENT_READY);
        return 0;
}

int smtp_client_send(struct smtp_client *c, const struct smtp_client_message *m,
                     struct smtp_rcpt_result *rcpt, struct smtp_reply *final,
                     struct smtp_client_error *err)
{
        const char *refusal = NULL;
        char params[96] = "";
        size_t i, accepted = 0, len = 0;
        int r;

        assert(c && m && rcpt && final && err && m->sender && m->recipients);
        assert(m->n_recipients >= 1 && m->n_recipients <= SMTP_CLIENT_RCPT_MAX);
        memset(final, 0, sizeof(*final));
        for (i = 0; i < m->n_recipients; i++)
                rcpt[i] = (struct smtp_rcpt_result){.cls = DELIVERY_TEMPFAIL};

        if (c->broken) {
                set_error(err, DELIVERY_TEMPFAIL, 0,
                          "connection with %s is unusable after an earlier failure", c->peer);
                r = -ENOTCONN;
                goto fail;
        }
        r = check_idle(c, err);
        if (r < 0)
                goto fail;
        if (c->dirty) {
                r = rset(c, err);
                if (r < 0)
                        goto fail;
        }

        /* Refusals decided here, before a byte is sent: as final as the server's would be. */
        if (c->ehlo.size > 0 && m->body_size > c->ehlo.size)
                refusal = "552 5.3.4 message size exceeds the relayhost's limit";
        else if (m->smtputf8 && !c->ehlo.smtputf8) /* RFC 6531 3.2 */
                refusal = "553 5.6.7 the relayhost does not support SMTPUTF8";
        else if (!address_ok(m->sender))
                refusal = "553 5.1.7 bad sender address syntax";
        if (refusal) {
                local_reply(final, refusal);
                for (i = 0; i < m->n_recipients; i++)
                        rcpt_from_reply(&rcpt[i], final);
                return 0;
        }

        /* RFC 1870 (SIZE), 6152 (8BITMIME), 6531 (SMTPUTF8): only what the server offers. */
        if (c->ehlo.size > 0)
                len += (size_t)snprintf(params + len, sizeof(params) - len, " SIZE=%llu",
                                        (unsigned long long)m->body_size);
        if (m->body_8bit && c->ehlo.eightbitmime)
                len += (size_t)snprintf(params + len, sizeof(params) - len, " BODY=8BITMIME");
        if (m->smtputf8)
                (void)snprintf(params + len, sizeof(params) - len, " SMTPUTF8");

        set_state(c, SMTP_CLIENT_MAIL);
        r = chat(c, err, "MAIL FROM:<%s>%s", m->sender, params);
        if (r < 0)
                goto fail;
        if (c->reply.code / 100 != 2) {
                /* No transaction: every recipient shares the sender's fate (454 throttling,
                 * 552 too long, 553 sender...). */
                *final = c->reply;
                for (i = 0; i < m->n_recipients; i++)
                        rcpt_from_reply(&rcpt[i], &c->reply);
                set_state(c, SMTP_CLIENT_READY);
                return 0;
        }
        c->dirty = true;

        set_state(c, SMTP_CLIENT_RCPT);
        for (i = 0; i < m->n_recipients; i++) {
                if (!address_ok(m->recipients[i])) {
                        local_reply(&c->reply, "553 5.1.3 bad recipient address syntax");
                        rcpt_from_reply(&rcpt[i], &c->reply);
                        continue;
                }
                r = chat(c, err, "RCPT TO:<%s>", m->recipients[i]);
                if (r < 0)
                        goto fail;
                rcpt_from_reply(&rcpt[i], &c->reply);
                if (rcpt[i].cls == DELIVERY_OK)
                        accepted++;
        }
        if (accepted == 0) {
                /* Nothing to send; the open transaction is reset before the next one. */
                set_state(c, SMTP_CLIENT_READY);
                return 0;
        }

        set_state(c, SMTP_CLIENT_DATA);
        r = chat(c, err, "DATA");
        if (r < 0)
                goto fail;
        if (c->reply.code != 354) {
                *final = c->reply;
                set_state(c, SMTP_CLIENT_READY);
                return 0;
        }

        set_state(c, SMTP_CLIENT_BODY);
        r = send_body(c, m, err);
        if (r < 0)
                goto fail;
        r = read_reply(c, final, err);
        if (r < 0)
                goto fail;
        /* Whatever the code, the transaction is over (RFC 5321 4.1.1.4). */
        c->dirty = false;
        set_state(c, SMTP_CLIENT_READY);
        return 0;

fail:
        /* Accepted recipients were not delivered and the others were not answered: both are
         * deferred with the reason. Refusals already received stand. */
        for (i = 0; i < m->n_recipients; i++) {
                if (rcpt[i].cls != DELIVERY_OK && rcpt[i].code != 0)
                        continue;
                rcpt[i].cls = DELIVERY_TEMPFAIL;
                rcpt[i].code = err->code;
                copy_text(rcpt[i].text, sizeof(rcpt[i].text), err->text);
        }
        return r;
}

int smtp_client_rset(struct smtp_client *c, struct smtp_client_error *err)
{
        assert(c && err);
        if (c->broken) {
                set_error(err, DELIVERY_TEMPFAIL, 0,
                          "connection with %s is unusable after an earlier failure", c->peer);
                return -ENOTCONN;
        }
        return rset(c, err);
}

uint64_t smtp_client_max_size(const struct smtp_client *c)
{
        return c->ehlo.size;
}

const char *smtp_client_peer(const struct smtp_client *c)
{
        return c->peer;
}

struct smtp_client *smtp_client_quit(struct smtp_client *c)
{
        if (!c)
                return NULL;
        if (c->fd >= 0 && !c->broken) {
                struct smtp_client_error ignored;

                /* Polite and bounded: the answer changes nothing. */
                set_state(c, SMTP_CLIENT_QUIT);
                if (c->command_timeout_ms > SMTP_CLIENT_QUIT_TIMEOUT_MS)
                        c->command_timeout_ms = SMTP_CLIENT_QUIT_TIMEOUT_MS;
                if (send_command(c, &ignored, false, "QUIT") >= 0)
                        (void)read_reply(c, &c->reply, &ignored);
        }
        c->tls = tls_client_free(c->tls);
        if (c->fd >= 0)
                (void)close(c->fd);
        free(c);
        return NULL;
}

/* enhanced_is_4_7 - text (after an optional "DDD " / "DDD-") starts with "4.7.x" */
static bool enhanced_is_4_7(const char *text)
{
        const char *p = text;

        if (p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' &&
            p[2] <= '9' && (p[3] == ' ' || p[3] == '-'))
                p += 4;
        return p[0] == '4' && p[1] == '.' && p[2] == '7' && p[3] == '.' && p[4] >= '0' &&
               p[4] <= '9';
}

enum delivery_class smtp_client_classify(int code, const char *text)
{
        if (!text)
                text = "";
        if (code >= 200 && code <= 299)
                return DELIVERY_OK;
        /* RFC 4954 6: 530 authentication required (also SES's "Must issue a STARTTLS command
         * first"), 534 mechanism too weak, 535 credentials invalid: our credentials or our
         * setup, never the message's fault. */
        if (code == 530 || code == 534 || code == 535)
                return DELIVERY_AUTHFAIL;
        if (code >= 400 && code <= 499) {
                /* SES: "454 Temporary authentication failure"; RFC 4954: 454 4.7.0. */
                if (code == 454 && strcasestr(text, "authentication"))
                        return DELIVERY_AUTHFAIL;
                if (enhanced_is_4_7(text) && strcasestr(text, "auth"))
                        return DELIVERY_AUTHFAIL;
                return DELIVERY_TEMPFAIL;
        }
        if (code >= 500 && code <= 599)
                return DELIVERY_PERMFAIL;
        /* No reply, or 1xx/3xx where a final reply was due: defer. */
        return DELIVERY_TEMPFAIL;
}
