/* SPDX-License-Identifier: MIT */
/*
 * smtp_server - the inbound side of the relay.
 *
 * Each connection is a struct session driven by sd-event I/O and timer sources: input is
 * read into a bounded buffer and split into command lines (PIPELINING: every complete
 * command is answered in order, replies are queued and flushed together); in DATA the
 * stream goes through the dot-unstuffing decoder into a spool writer, the header section
 * first through headers_rewrite (Received, Message-ID, Date, bare names completed).
 *
 * Durability: at the end of DATA the writer is finished and queued for the commit thread;
 * the session stops reading until the commit result comes back through an eventfd; only
 * then is "250 2.0.0 Ok: queued as ID" sent. The commit thread takes every writer waiting
 * when it wakes, so concurrent transactions share one directory fsync.
 *
 * Limits: command lines (SMTP_CMD_LINE_MAX; longer is 500 and the rest of the line is
 * dropped), recipients, message size (552, the stream is still consumed so the session stays
 * in sync), errors (421 and close), time per line (421 4.4.2: the timer is reset by complete
 * lines only, so a client trickling bytes cannot hold a session), connections in all and per
 * client address outside mynetworks (421 4.7.0); out of descriptors, a spare one is given up
 * to refuse the connection (421 4.3.2) instead of spinning on a readable listener.
 *
 * STARTTLS (RFC 3207): "220" is flushed in clear, then the handshake runs on the same socket,
 * driven by the events OpenSSL asks for; afterwards every byte goes through SSL_read/SSL_write.
 * SECURITY: whatever the client pipelined after STARTTLS is discarded (the command-injection
 * defence of RFC 3207 section 4: plaintext must not be taken as sent under TLS), and the
 * session starts again (no HELO, no transaction). AUTH (RFC 4954: PLAIN, LOGIN) is offered and
 * accepted only under TLS; an authenticated client may relay from outside mynetworks. Lines
 * carrying credentials are wiped from the input buffer once handled; passwords are never
 * logged.
 */
#include "smtp_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "headers.h"
#include "log.h"
#include "smtp_proto.h"
#include "smtpd_sasl.h"
#include "smtpd_tls.h"

#define SESSION_IN_MAX     (64 * 1024)
#define SESSION_OUT_MAX    (256 * 1024)
#define DEFAULT_MAX_RCPT   1000
#define DEFAULT_MAX_ERRORS 20
#define DEFAULT_IDLE_USEC  (300ULL * 1000000ULL)
#define DEFAULT_MAX_CONN   1000

enum session_state {
        STATE_COMMAND,
        STATE_DATA,
        STATE_AUTH,       /* an AUTH exchange: lines are SASL responses */
        STATE_COMMITTING, /* waiting for the commit thread: not reading */
        STATE_STARTTLS,   /* flushing "220 Ready to start TLS" in clear: not reading */
        STATE_HANDSHAKE,  /* the TLS handshake */
        STATE_CLOSING,    /* flush the output, then close */
        STATE_MAX,
};

static const char *const state_name[STATE_MAX] = {
        [STATE_COMMAND] = "COMMAND",   [STATE_DATA] = "DATA",
        [STATE_AUTH] = "AUTH",         [STATE_COMMITTING] = "COMMITTING",
        [STATE_STARTTLS] = "STARTTLS", [STATE_HANDSHAKE] = "HANDSHAKE",
        [STATE_CLOSING] = "CLOSING",
};

struct smtp_server;

struct session {
        struct smtp_server *server;
        struct session *next, *prev;
        int fd;
        sd_event_source *io;
        sd_event_source *timer;
        enum session_state state;
        struct sockaddr_storage peer;
        char peer_addr[INET6_ADDRSTRLEN];
        char client[120]; /* "localhost[127.0.0.1]" */
        char helo[256];
        bool esmtp;
        bool trusted; /* in mynetworks */
        unsigned errors;
        bool discarding_line; /* a too long command line: drop until LF */
        struct buf in;
        struct buf out;
        /* the transaction */
        bool have_mail;
        struct smtp_path sender;
        struct smtp_mail_params params;
        char **rcpts;
        size_t n_rcpts;
        struct smtp_data_decoder decoder;
        struct spool_writer *writer;
        struct buf headers; /* the header section until it is complete */
        bool headers_done;
        bool too_big;
        int write_error;
        struct session *commit_next; /* in the commit queue */
        int commit_result;
        /* STARTTLS and AUTH */
        struct smtpd_tls *tls; /* from STARTTLS on */
        bool tls_active;       /* the handshake completed */
        struct smtpd_sasl *sasl;
        bool authenticated;
        char sasl_method[16];
        char sasl_username[SMTPD_SASL_USERNAME_MAX];
};

struct smtp_server {
        sd_event *event;
        struct smtp_server_config config; /* hostname, myorigin: point to the copies below */
        char *hostname;
        char *myorigin;
        struct spool *spool;
        smtp_server_queued_fn queued;
        void *userdata;
        sd_event_source *listeners[16];
        size_t n_listeners;
        struct session *sessions;
        size_t n_sessions;
        size_t busy;
        int spare_fd;         /* /dev/null, given up to refuse a connection when out of fds */
        bool out_of_fds_said; /* logged once per shortage */
        /* commit thread */
        pthread_t thread;
        bool thread_started;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        struct session *pending; /* to commit (thread takes all) */
        struct session *done;    /* committed, to answer (loop takes all) */
        bool stopping;
        bool locks_ready;
        int efd;
        sd_event_source *efd_source;
};

static void session_close(struct session *s);
static int session_process_input(struct session *s);
static int session_update_io(struct session *s);
static int flush_output(struct session *s);
static int session_io(struct session *s, uint32_t revents);
static void touch_timer(struct session *s);

/* session_state - the one place that changes a session's state */
static void session_state(struct session *s, enum session_state state)
{
        if (s->state == state)
                return;
        log_debug("%s: %s -> %s", s->client, state_name[s->state], state_name[state]);
        s->state = state;
}

/* session_reads - the states in which input is read and handled */
static bool session_reads(const struct session *s)
{
        return s->state == STATE_COMMAND || s->state == STATE_DATA || s->state == STATE_AUTH;
}

bool smtp_server_network_match(const struct network *nets, size_t n,
                               const struct sockaddr_storage *addr)
{
        uint8_t bytes[16] = {0}; /* an IPv4 address uses 4 */
        int family;

        if (addr->ss_family == AF_INET) {
                memcpy(bytes, &((const struct sockaddr_in *)addr)->sin_addr, 4);
                family = AF_INET;
        } else if (addr->ss_family == AF_INET6) {
                const struct in6_addr *a6 = &((const struct sockaddr_in6 *)addr)->sin6_addr;

                if (IN6_IS_ADDR_V4MAPPED(a6)) {
                        memcpy(bytes, a6->s6_addr + 12, 4);
                        family = AF_INET;
                } else {
                        memcpy(bytes, a6->s6_addr, 16);
                        family = AF_INET6;
                }
        } else {
                return false;
        }
        for (size_t i = 0; i < n; i++) {
                unsigned bits = nets[i].prefix_len, full = bits / 8, rest = bits % 8;

                if (nets[i].family != family)
                        continue;
                if (memcmp(bytes, nets[i].addr, full) != 0)
                        continue;
                if (rest && ((bytes[full] ^ nets[i].addr[full]) & (0xff << (8 - rest)) & 0xff))
                        continue;
                return true;
        }
        return false;
}

/* vreply - queue one reply line (with CRLF), formatted from ap */
static void vreply(struct session *s, const char *format, va_list ap)
        __attribute__((format(printf, 2, 0)));

static void vreply(struct session *s, const char *format, va_list ap)
{
        char line[1024];
        int n = vsnprintf(line, sizeof line - 2, format, ap);

        if (n < 0)
                return;
        if ((size_t)n > sizeof line - 3)
                n = (int)(sizeof line - 3);
        memcpy(line + n, "\r\n", 3);
        if (buf_append(&s->out, line, (size_t)n + 2) < 0)
                session_state(s, STATE_CLOSING); /* a client that does not read its replies */
}

/* reply - queue one reply line (with CRLF) */
static void reply(struct session *s, const char *format, ...) __attribute__((format(printf, 2, 3)));

static void reply(struct session *s, const char *format, ...)
{
        va_list ap;

        va_start(ap, format);
        vreply(s, format, ap);
        va_end(ap);
}

static void transaction_reset(struct session *s)
{
        for (size_t i = 0; i < s->n_rcpts; i++)
                free(s->rcpts[i]);
        free(s->rcpts);
        s->rcpts = NULL;
        s->n_rcpts = 0;
        s->have_mail = false;
        s->writer = spool_writer_free(s->writer);
        buf_done(&s->headers);
        s->headers_done = false;
        s->too_big = false;
        s->write_error = 0;
}

/* count_error - a protocol error; too many of them ends the session */
static void count_error(struct session *s)
{
        if (++s->errors >= s->server->config.max_errors) {
                reply(s, "421 4.7.0 %s Error: too many errors", s->server->config.hostname);
                session_state(s, STATE_CLOSING);
        }
}

/* reject - reply with an error (as reply()) and count it against smtpd_hard_error_limit */
static void reject(struct session *s, const char *format, ...)
        __attribute__((format(printf, 2, 3)));

static void reject(struct session *s, const char *format, ...)
{
        va_list ap;

        va_start(ap, format);
        vreply(s, format, ap);
        va_end(ap);
        count_error(s);
}

static void do_ehlo(struct session *s, const struct smtp_command *c, bool esmtp)
{
        const struct smtp_server_config *cfg = &s->server->config;

        if (!*c->arg) {
                reject(s, "501 5.5.4 Syntax: %s hostname", esmtp ? "EHLO" : "HELO");
                return;
        }
        transaction_reset(s);
        (void)snprintf(s->helo, sizeof s->helo, "%s", c->arg);
        s->esmtp = esmtp;
        if (!esmtp) {
                reply(s, "250 %s", cfg->hostname);
                return;
        }
        reply(s, "250-%s", cfg->hostname);
        reply(s, "250-PIPELINING");
        reply(s, "250-SIZE %llu", (unsigned long long)cfg->message_size_limit);
        reply(s, "250-VRFY");
        /* STARTTLS only in clear, AUTH only under TLS (never a password in clear) */
        if (cfg->tls_ctx && !s->tls_active)
                reply(s, "250-STARTTLS");
        if (cfg->sasl_enable && s->tls_active)
                reply(s, "250-AUTH %s", smtpd_sasl_mechanisms());
        reply(s, "250-ENHANCEDSTATUSCODES");
        reply(s, "250-8BITMIME");
        reply(s, "250 SMTPUTF8");
}

static void do_mail(struct session *s, const struct smtp_command *c)
{
        const char *error = NULL;

        if (!s->helo[0]) {
                reject(s, "503 5.5.1 Error: send HELO/EHLO first");
                return;
        }
        if (s->have_mail) {
                reject(s, "503 5.5.1 Error: nested MAIL command");
                return;
        }
        if (smtp_parse_mail_from(c->arg, &s->sender, &s->params, &error) < 0) {
                reject(s, "%s", error ? error : "501 5.5.4 Syntax: MAIL FROM:<address>");
                return;
        }
        if (s->params.size > s->server->config.message_size_limit) {
                reply(s, "552 5.3.4 Message size exceeds fixed limit");
                return;
        }
        if (!s->sender.is_null) {
                char completed[SMTP_ADDRESS_MAX + 1];

                if (headers_complete_address(s->sender.address, s->server->config.myorigin,
                                             completed, sizeof completed) == 0)
                        (void)snprintf(s->sender.address, sizeof s->sender.address, "%s",
                                       completed);
        }
        s->have_mail = true;
        reply(s, "250 2.1.0 Ok");
}

static void do_rcpt(struct session *s, const struct smtp_command *c)
{
        struct smtp_path path;
        const char *error = NULL;
        char completed[SMTP_ADDRESS_MAX + 1], **rcpts;

        if (!s->have_mail) {
                reject(s, "503 5.5.1 Error: need MAIL command");
                return;
        }
        if (smtp_parse_rcpt_to(c->arg, s->params.smtputf8, &path, &error) < 0) {
                reject(s, "%s", error ? error : "501 5.5.4 Syntax: RCPT TO:<address>");
                return;
        }
        /* Never an open relay: a client outside mynetworks that has not authenticated may relay
         * nothing, whatever the address looks like (percent hack, source route, bang path, IP
         * literal). */
        if (!s->trusted && !s->authenticated) {
                reply(s, "554 5.7.1 <%s>: Relay access denied", path.address);
                log_info(
                        "NOQUEUE: reject: RCPT from %s: 554 5.7.1 <%s>: Relay access denied; from=<%s> to=<%s>",
                        s->client, path.address, s->sender.address, path.address);
                count_error(s);
                return;
        }
        if (s->n_rcpts >= s->server->config.max_recipients) {
                reply(s, "452 4.5.3 Error: too many recipients");
                return;
        }
        if (headers_complete_address(path.address, s->server->config.myorigin, completed,
                                     sizeof completed) < 0) {
                reply(s, "553 5.1.3 Bad recipient address syntax");
                return;
        }
        rcpts = realloc(s->rcpts, (s->n_rcpts + 1) * sizeof *rcpts);
        if (!rcpts || !(rcpts[s->n_rcpts] = strdup(completed))) {
                if (rcpts)
                        s->rcpts = rcpts;
                reply(s, "451 4.3.0 Error: out of memory");
                return;
        }
        s->rcpts = rcpts;
        s->n_rcpts++;
        reply(s, "250 2.1.5 Ok");
}

static void do_data(struct session *s)
{
        struct spool_envelope env = {0};
        int r;

        if (!s->have_mail) {
                reject(s, "503 5.5.1 Error: need MAIL command");
                return;
        }
        if (s->n_rcpts == 0) {
                reject(s, "554 5.5.1 Error: no valid recipients");
                return;
        }
        env.sender = s->sender.address;
        env.recipients = s->rcpts;
        env.n_recipients = s->n_rcpts;
        env.arrival = time(NULL);
        (void)snprintf(env.client, sizeof env.client, "%s", s->client);
        env.body_8bit = s->params.body_8bit;
        env.smtputf8 = s->params.smtputf8;
        r = spool_writer_new(s->server->spool, &env, s->server->config.message_size_limit,
                             &s->writer);
        if (r < 0) {
                log_error_errno(r, "Cannot create a queue file in %s: %m",
                                spool_dir(s->server->spool));
                reply(s, "451 4.3.0 Error: queue file write error");
                return;
        }
        smtp_data_decoder_init(&s->decoder);
        buf_init(&s->headers, HEADERS_SECTION_MAX);
        s->headers_done = false;
        s->too_big = false;
        s->write_error = 0;
        session_state(s, STATE_DATA);
        reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

/* do_starttls - RFC 3207: "220", then the handshake once the reply is out */
static void do_starttls(struct session *s, const struct smtp_command *c)
{
        if (s->tls_active) {
                reject(s, "554 5.5.1 Error: TLS already active");
                return;
        }
        if (*c->arg) {
                reject(s, "501 5.5.4 Syntax: STARTTLS");
                return;
        }
        if (s->have_mail) {
                reject(s, "503 5.5.1 Error: MAIL transaction in progress");
                return;
        }
        reply(s, "220 2.0.0 Ready to start TLS");
        session_state(s, STATE_STARTTLS);
}

/* tls_start - the "220" is out: hand the socket to OpenSSL */
static int tls_start(struct session *s)
{
        int r = smtpd_tls_new(s->server->config.tls_ctx, s->fd, &s->tls);

        if (r < 0)
                return log_warning_errno(r, "%s: cannot start TLS: %m", s->client);
        session_state(s, STATE_HANDSHAKE);
        return 0;
}

/* tls_handshake - one step; 1 when done (the session starts again, RFC 3207 4.2), 0 when
 * waiting, < 0 to close */
static int tls_handshake(struct session *s)
{
        char description[160];
        int r = smtpd_tls_handshake(s->tls);

        if (r == -EAGAIN)
                return 0;
        if (r < 0) {
                log_info("SSL_accept error from %s: %s", s->client, smtpd_tls_strerror(s->tls));
                return r;
        }
        s->tls_active = true;
        smtpd_tls_describe(s->tls, description, sizeof description);
        log_info("Anonymous TLS connection established from %s: %s", s->client, description);
        /* Forget what the client said in clear: its name and any transaction. */
        transaction_reset(s);
        s->helo[0] = '\0';
        s->esmtp = false;
        session_state(s, STATE_COMMAND);
        touch_timer(s);
        return 1;
}

/* auth_end - the exchange is over (success or not): back to commands */
static void auth_end(struct session *s)
{
        s->sasl = smtpd_sasl_free(s->sasl);
        session_state(s, STATE_COMMAND);
}

/* auth_result - answer what smtpd_sasl_start/step returned */
static void auth_result(struct session *s, int r, const char *challenge, const char *reason)
{
        if (r == 0) {
                reply(s, "334 %s", challenge);
                session_state(s, STATE_AUTH);
                return;
        }
        if (r > 0) {
                s->authenticated = true;
                (void)snprintf(s->sasl_method, sizeof s->sasl_method, "%s",
                               smtpd_sasl_method(s->sasl));
                (void)snprintf(s->sasl_username, sizeof s->sasl_username, "%s",
                               smtpd_sasl_username(s->sasl));
                log_info("%s: sasl_method=%s, sasl_username=%s: authenticated", s->client,
                         s->sasl_method, s->sasl_username);
                reply(s, "235 2.7.0 Authentication successful");
                auth_end(s);
                return;
        }
        log_warning("%s: SASL %s authentication failed: %s", s->client,
                    s->sasl ? smtpd_sasl_method(s->sasl) : "?", reason);
        switch (r) {
        case -ENOPROTOOPT:
                reply(s, "504 5.5.4 Unsupported authentication mechanism");
                break;
        case -EINVAL:
                reply(s, "501 5.5.2 Error: %s", reason);
                break;
        case -EAGAIN:
        case -ENOMEM:
                reply(s, "454 4.7.0 Temporary authentication failure: %s", reason);
                break;
        default:
                reply(s, "535 5.7.8 Error: authentication failed: %s", reason);
                break;
        }
        auth_end(s);
        count_error(s);
}

/* do_auth - RFC 4954 "AUTH mechanism [initial-response]" */
static void do_auth(struct session *s, const struct smtp_command *c)
{
        char mech[21], reason[SMTPD_SASL_REASON_MAX] = "";
        const char *challenge = "", *initial = NULL;
        size_t len = strcspn(c->arg, " ");
        int r;

        if (!s->tls_active) {
                reject(s, "530 5.7.0 Must issue a STARTTLS command first");
                return;
        }
        if (!s->esmtp) {
                reject(s, "503 5.5.1 Error: send EHLO first");
                return;
        }
        if (s->authenticated) {
                reject(s, "503 5.5.1 Error: already authenticated");
                return;
        }
        if (s->have_mail) {
                reject(s, "503 5.5.1 Error: MAIL transaction in progress");
                return;
        }
        if (len == 0 || len >= sizeof mech) {
                reject(s, "501 5.5.4 Syntax: AUTH mechanism");
                return;
        }
        memcpy(mech, c->arg, len);
        mech[len] = '\0';
        if (c->arg[len] == ' ') {
                initial = c->arg + len + 1;
                if (!*initial || strchr(initial, ' ')) {
                        reject(s, "501 5.5.4 Syntax: AUTH mechanism [initial-response]");
                        return;
                }
        }
        s->sasl = smtpd_sasl_free(s->sasl);
        r = smtpd_sasl_new(s->server->config.hostname, &s->sasl);
        if (r < 0) {
                (void)snprintf(reason, sizeof reason, "the SASL library is not available");
                auth_result(s, -EAGAIN, NULL, reason);
                return;
        }
        r = smtpd_sasl_start(s->sasl, mech, initial, &challenge, reason, sizeof reason);
        auth_result(s, r, challenge, reason);
}

/* auth_continue - a line in an AUTH exchange: "*" cancels it (RFC 4954 4) */
static void auth_continue(struct session *s, const char *line)
{
        char reason[SMTPD_SASL_REASON_MAX] = "";
        const char *challenge = "";
        int r;

        if (strcmp(line, "*") == 0) {
                reply(s, "501 5.7.0 Authentication aborted");
                auth_end(s);
                count_error(s);
                return;
        }
        r = smtpd_sasl_step(s->sasl, line, &challenge, reason, sizeof reason);
        auth_result(s, r, challenge, reason);
}

/* reply_not_implemented - 502 (RFC 5321 4.2.4) for a command this server does not offer */
static void reply_not_implemented(struct session *s)
{
        reject(s, "502 5.5.1 Error: command not implemented");
}

static void do_command(struct session *s, char *line, size_t len)
{
        struct smtp_command c;

        if (smtp_parse_command(line, len, &c) < 0) {
                reject(s, "500 5.5.2 Error: bad syntax");
                return;
        }
        switch (c.verb) {
        case SMTP_VERB_HELO:
                do_ehlo(s, &c, false);
                break;
        case SMTP_VERB_EHLO:
                do_ehlo(s, &c, true);
                break;
        case SMTP_VERB_MAIL:
                do_mail(s, &c);
                break;
        case SMTP_VERB_RCPT:
                do_rcpt(s, &c);
                break;
        case SMTP_VERB_DATA:
                do_data(s);
                break;
        case SMTP_VERB_RSET:
                transaction_reset(s);
                reply(s, "250 2.0.0 Ok");
                break;
        case SMTP_VERB_NOOP:
                reply(s, "250 2.0.0 Ok");
                break;
        case SMTP_VERB_QUIT:
                reply(s, "221 2.0.0 Bye");
                session_state(s, STATE_CLOSING);
                break;
        case SMTP_VERB_VRFY:
                reply(s,
                      "252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery");
                break;
        case SMTP_VERB_HELP:
                reply(s, "214 2.0.0 See RFC 5321");
                break;
        case SMTP_VERB_STARTTLS:
                if (s->server->config.tls_ctx) {
                        do_starttls(s, &c);
                        break;
                }
                reply_not_implemented(s);
                break;
        case SMTP_VERB_AUTH:
                if (s->server->config.sasl_enable) {
                        do_auth(s, &c);
                        break;
                }
                reply_not_implemented(s);
                break;
        case SMTP_VERB_BDAT:
        case SMTP_VERB_EXPN:
                reply_not_implemented(s);
                break;
        case SMTP_VERB_UNKNOWN:
        case SMTP_VERB_MAX:
                reject(s, "502 5.5.2 Error: command not recognized");
                break;
        }
}

/* received_protocol - "with ..." of the Received header (RFC 3848) */
static const char *received_protocol(const struct session *s)
{
        if (!s->esmtp)
                return "SMTP";
        if (s->tls_active)
                return s->authenticated ? "ESMTPSA" : "ESMTPS";
        return s->authenticated ? "ESMTPA" : "ESMTP";
}

/* write_header_section - the collected header section [0, end) rewritten (Received,
 * Message-ID, Date, completed names), then the rest of what was collected, to the writer */
static int write_header_section(struct session *s, size_t end)
{
        struct headers_context ctx = {
                .myhostname = s->server->config.hostname,
                .myorigin = s->server->config.myorigin,
                .client_name = "localhost",
                .client_addr = s->peer_addr,
                .helo = s->helo,
                .protocol = received_protocol(s),
                .queue_id = spool_writer_id(s->writer),
                .recipient = s->n_rcpts == 1 ? s->rcpts[0] : NULL,
                .now = time(NULL),
        };
        struct buf rewritten;
        int r;

        buf_init(&rewritten, HEADERS_SECTION_MAX + 64 * 1024);
        r = headers_rewrite(s->headers.data ? s->headers.data : "", end, &ctx, &rewritten);
        if (r >= 0)
                r = spool_writer_write(s->writer, rewritten.data, rewritten.len);
        if (r >= 0 && s->headers.len > end)
                r = spool_writer_write(s->writer, s->headers.data + end, s->headers.len - end);
        buf_done(&rewritten);
        buf_done(&s->headers);
        s->headers_done = true;
        return r;
}

/* data_write - message bytes after decoding: the header section is collected and rewritten
 * first, the rest goes straight to the writer */
static void data_write(struct session *s, const char *data, size_t len)
{
        int r;

        if (s->too_big || s->write_error)
                return;
        if (!s->headers_done) {
                size_t end;

                r = buf_append(&s->headers, data, len);
                if (r < 0) {
                        /* A header section over the limit: treat the rest as body. */
                        s->headers_done = true;
                        r = spool_writer_write(s->writer, s->headers.data, s->headers.len);
                        if (r >= 0)
                                r = spool_writer_write(s->writer, data, len);
                        goto check;
                }
                /* Look only at complete lines: a chunk may end in the middle of a header
                 * ("...\r\nSubj"), which would look like the start of the body. The header
                 * section ends at the empty line or at the first complete line that is not a
                 * header; while every complete line is a header, wait for more. */
                {
                        const char *last_nl = memrchr(s->headers.data, '\n', s->headers.len);
                        size_t complete = last_nl ? (size_t)(last_nl - s->headers.data) + 1 : 0;

                        if (complete == 0)
                                return;
                        end = headers_end(s->headers.data, complete);
                        if (end == complete && !(end >= 2 && s->headers.data[end - 2] == '\n') &&
                            !(end >= 3 && s->headers.data[end - 2] == '\r' &&
                              s->headers.data[end - 3] == '\n') &&
                            !(end <= 2 &&
                              (s->headers.data[0] == '\n' || s->headers.data[0] == '\r')))
                                return; /* every complete line is a header: not finished yet */
                }
                r = write_header_section(s, end);
                goto check;
        }
        r = spool_writer_write(s->writer, data, len);
check:
        if (r == -EFBIG)
                s->too_big = true;
        else if (r < 0)
                s->write_error = r;
}

/* data_end - the "." line: finish the writer and hand it to the commit thread */
static void data_end(struct session *s)
{
        struct smtp_server *srv = s->server;
        /* cppcheck-suppress unreadVariable ; defensive: every path sets it today */
        int r = 0;

        if (!s->headers_done && !s->too_big && !s->write_error) {
                /* The whole message was headers (or empty): rewrite what we have. */
                r = write_header_section(
                        s, s->headers.len ? headers_end(s->headers.data, s->headers.len) : 0);
                if (r == -EFBIG)
                        s->too_big = true;
                else if (r < 0)
                        s->write_error = r;
        }
        if (s->too_big) {
                reply(s, "552 5.3.4 Error: message file too big");
                log_info("NOQUEUE: reject: %s: 552 5.3.4 message file too big; from=<%s>",
                         s->client, s->sender.address);
                transaction_reset(s);
                session_state(s, STATE_COMMAND);
                return;
        }
        if (!s->write_error)
                s->write_error = spool_writer_finish(s->writer);
        if (s->write_error) {
                log_error_errno(s->write_error, "Cannot write queue file %s: %m",
                                spool_writer_id(s->writer));
                reply(s, "451 4.3.0 Error: queue file write error");
                transaction_reset(s);
                session_state(s, STATE_COMMAND);
                return;
        }
        session_state(s, STATE_COMMITTING);
        srv->busy++;
        pthread_mutex_lock(&srv->lock);
        s->commit_next = srv->pending;
        srv->pending = s;
        pthread_cond_signal(&srv->cond);
        pthread_mutex_unlock(&srv->lock);
}

/* commit_thread - take every pending session, commit their writers in one group */
static void *commit_thread(void *userdata)
{
        struct smtp_server *srv = userdata;

        pthread_mutex_lock(&srv->lock);
        for (;;) {
                struct session *batch, *p;
                struct spool_writer *writers[256];
                int results[256];
                /* cppcheck-suppress unreadVariable ; defensive: every path sets it today */
                size_t n = 0;

                while (!srv->pending && !srv->stopping)
                        pthread_cond_wait(&srv->cond, &srv->lock);
                if (!srv->pending && srv->stopping)
                        break;
                batch = srv->pending;
                srv->pending = NULL;
                pthread_mutex_unlock(&srv->lock);

                /* Commit in chunks of 256 writers. */
                p = batch;
                while (p) {
                        struct session *chunk = p;

                        n = 0;
                        for (; p && n < 256; p = p->commit_next)
                                writers[n++] = p->writer;
                        (void)spool_commit(srv->spool, writers, n, results);
                        n = 0;
                        for (struct session *q = chunk; q != p; q = q->commit_next)
                                q->commit_result = results[n++];
                }
                pthread_mutex_lock(&srv->lock);
                /* Hand the whole batch back to the event loop. */
                for (p = batch; p;) {
                        struct session *next = p->commit_next;

                        p->commit_next = srv->done;
                        srv->done = p;
                        p = next;
                }
                {
                        uint64_t one = 1;

                        (void)!write(srv->efd, &one, sizeof one);
                }
        }
        pthread_mutex_unlock(&srv->lock);
        return NULL;
}

/* on_committed - the event loop side: answer every committed transaction */
static int on_committed(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
        struct smtp_server *srv = userdata;
        struct session *done, *s;
        uint64_t counter;

        (void)source;
        (void)revents;
        (void)!read(fd, &counter, sizeof counter);
        pthread_mutex_lock(&srv->lock);
        done = srv->done;
        srv->done = NULL;
        pthread_mutex_unlock(&srv->lock);
        for (s = done; s;) {
                struct session *next = s->commit_next;

                srv->busy--;
                if (s->commit_result < 0) {
                        log_error_errno(s->commit_result, "Cannot commit queue file %s: %m",
                                        spool_writer_id(s->writer));
                        reply(s, "451 4.3.0 Error: queue file write error");
                } else {
                        char id[SPOOL_QUEUE_ID_MAX + 1];

                        (void)snprintf(id, sizeof id, "%s", spool_writer_id(s->writer));
                        if (s->authenticated)
                                log_info("%s: client=%s, sasl_method=%s, sasl_username=%s", id,
                                         s->client, s->sasl_method, s->sasl_username);
                        else
                                log_info("%s: client=%s", id, s->client);
                        log_info("%s: from=<%s>, size=%llu, nrcpt=%zu (queue active)", id,
                                 s->sender.address,
                                 (unsigned long long)spool_writer_size(s->writer), s->n_rcpts);
                        reply(s, "250 2.0.0 Ok: queued as %s", id);
                        if (srv->queued)
                                srv->queued(srv->userdata, id);
                }
                transaction_reset(s);
                if (s->state == STATE_CLOSING) {
                        /* The client went away while we committed (or said QUIT). */
                        (void)flush_output(s);
                        session_close(s);
                        s = next;
                        continue;
                }
                session_state(s, STATE_COMMAND);
                /* Pipelined commands may be waiting in the input buffer (and, under TLS,
                 * inside OpenSSL, where no poll event announces them). */
                if (session_io(s, 0) < 0)
                        session_close(s);
                s = next;
        }
        return 0;
}

/* session_update_io - read when accepting input, write when output is pending */
static int session_update_io(struct session *s)
{
        uint32_t events = 0;

        if (s->state == STATE_CLOSING && s->out.len == 0)
                return -ECONNRESET; /* done: close */
        if (s->state == STATE_HANDSHAKE)
                return sd_event_source_set_io_events(s->io, smtpd_tls_events(s->tls));
        if (session_reads(s))
                events |= EPOLLIN;
        if (s->out.len > 0)
                events |= EPOLLOUT;
        if (s->tls && events)
                events |= smtpd_tls_events(s->tls); /* a read that must write, or the reverse */
        return sd_event_source_set_io_events(s->io, events);
}

static int flush_output(struct session *s)
{
        if (s->state == STATE_HANDSHAKE)
                return 0; /* nothing may go out in clear now */
        while (s->out.len > 0) {
                ssize_t n;

                if (s->tls) {
                        n = smtpd_tls_write(s->tls, s->out.data, s->out.len);
                        if (n == -EAGAIN)
                                return 0;
                        if (n < 0)
                                return (int)n;
                } else {
                        n = send(s->fd, s->out.data, s->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
                        if (n < 0) {
                                if (errno == EAGAIN || errno == EINTR)
                                        return 0;
                                return -errno;
                        }
                }
                memmove(s->out.data, s->out.data + n, s->out.len - (size_t)n);
                s->out.len -= (size_t)n;
                s->out.data[s->out.len] = '\0';
        }
        return 0;
}

/* session_process_input - handle what is in the input buffer, as far as the state allows */
static int session_process_input(struct session *s)
{
        size_t pos = 0;

        while (pos < s->in.len && session_reads(s)) {
                if (s->state == STATE_DATA) {
                        char out[8192];
                        size_t out_len = 0, consumed = 0, chunk = s->in.len - pos;
                        int end;

                        if (chunk > sizeof out / 2)
                                chunk = sizeof out / 2;
                        end = smtp_data_decode(&s->decoder, s->in.data + pos, chunk, out, &out_len,
                                               &consumed);
                        pos += consumed;
                        if (out_len > 0)
                                data_write(s, out, out_len);
                        if (end)
                                data_end(s);
                        continue;
                }
                {
                        char *start = s->in.data + pos;
                        char *nl = memchr(start, '\n', s->in.len - pos);
                        size_t len;

                        if (!nl) {
                                if (s->in.len - pos > SMTP_CMD_LINE_MAX) {
                                        reject(s, "500 5.5.0 Error: line too long");
                                        s->discarding_line = true;
                                        pos = s->in.len;
                                }
                                break;
                        }
                        len = (size_t)(nl - start);
                        pos += len + 1;
                        if (s->discarding_line) {
                                s->discarding_line = false;
                                continue;
                        }
                        if (len > 0 && start[len - 1] == '\r')
                                len--;
                        start[len] = '\0';
                        if (len > SMTP_CMD_LINE_MAX) {
                                reject(s, "500 5.5.0 Error: line too long");
                                if (s->state == STATE_AUTH)
                                        auth_end(s);
                                continue;
                        }
                        if (s->state == STATE_AUTH) {
                                auth_continue(s, start);
                                OPENSSL_cleanse(start, len); /* a response: credentials */
                        } else {
                                bool auth = len >= 4 && strncasecmp(start, "AUTH", 4) == 0;

                                do_command(s, start, len);
                                if (auth)
                                        OPENSSL_cleanse(start, len); /* an initial response */
                        }
                }
        }
        if (s->state == STATE_STARTTLS && pos < s->in.len) {
                /* RFC 3207 4: commands pipelined after STARTTLS were sent in clear; taking
                 * them as sent under TLS would let a man in the middle inject them. */
                log_warning("%s: discarding %zu byte(s) sent after STARTTLS", s->client,
                            s->in.len - pos);
                OPENSSL_cleanse(s->in.data + pos, s->in.len - pos);
                pos = s->in.len;
        }
        if (pos > 0) {
                memmove(s->in.data, s->in.data + pos, s->in.len - pos);
                s->in.len -= pos;
                if (s->in.data)
                        s->in.data[s->in.len] = '\0';
        }
        return flush_output(s);
}

static int on_idle(sd_event_source *source, uint64_t usec, void *userdata)
{
        struct session *s = userdata;

        (void)source;
        (void)usec;
        if (s->state == STATE_COMMITTING) {
                touch_timer(s); /* our own work, not the client's silence */
                return 0;
        }
        if (s->state == STATE_CLOSING)
                return 0;
        if (s->state == STATE_STARTTLS || s->state == STATE_HANDSHAKE) {
                /* no reply: the session is neither in clear nor under TLS now */
                log_info("timeout after STARTTLS from %s", s->client);
                session_close(s);
                return 0;
        }
        reply(s, "421 4.4.2 %s Error: timeout exceeded", s->server->config.hostname);
        (void)flush_output(s);
        log_info("timeout after %s from %s",
                 s->state == STATE_DATA   ? "DATA"
                 : s->state == STATE_AUTH ? "AUTH"
                                          : "command",
                 s->client);
        session_close(s);
        return 0;
}

/* touch_timer - the client has smtpd_timeout from now for its next complete line (a timer
 * that fired while we were busy committing is armed again) */
static void touch_timer(struct session *s)
{
        uint64_t now;

        if (sd_event_now(s->server->event, CLOCK_MONOTONIC, &now) >= 0) {
                (void)sd_event_source_set_time(s->timer, now + s->server->config.idle_timeout_usec);
                (void)sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
        }
}

/* session_read - handle what is buffered, then read and handle until the socket (and, under
 * TLS, OpenSSL) has nothing more or the state stops reading. < 0: close (EOF included). */
static int session_read(struct session *s)
{
        int r = session_process_input(s);

        if (r < 0)
                return r;
        while (session_reads(s)) {
                char chunk[16384];
                ssize_t n;

                if (s->tls) {
                        n = smtpd_tls_read(s->tls, chunk, sizeof chunk);
                        if (n == -EAGAIN)
                                break;
                        if (n < 0)
                                log_debug("%s: %s", s->client, smtpd_tls_strerror(s->tls));
                } else {
                        n = recv(s->fd, chunk, sizeof chunk, MSG_DONTWAIT);
                        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                                break;
                        if (n < 0)
                                n = -errno;
                }
                if (n <= 0)
                        return n < 0 ? (int)n : -ECONNRESET;
                /* smtpd_timeout is a deadline per line, not per read: a client trickling one
                 * byte at a time cannot hold a connection (Postfix's smtpd_per_record_deadline) */
                if (memchr(chunk, '\n', (size_t)n))
                        touch_timer(s);
                if (buf_append(&s->in, chunk, (size_t)n) < 0) {
                        /* only possible in command mode with garbage: drop it */
                        reject(s, "500 5.5.0 Error: line too long");
                        OPENSSL_cleanse(s->in.data, s->in.len);
                        buf_reset(&s->in);
                        s->discarding_line = true;
                }
                if (s->tls)
                        OPENSSL_cleanse(chunk, (size_t)n); /* may hold an AUTH line */
                r = session_process_input(s);
                if (r < 0)
                        return r;
                if ((size_t)n < sizeof chunk && !(s->tls && smtpd_tls_pending(s->tls)))
                        break;
        }
        return 0;
}

/* session_io - whatever the state allows: the handshake, reading (on EPOLLIN, and always under
 * TLS: OpenSSL may hold data or need a write first), writing, and the switch to TLS once the
 * "220" of STARTTLS is out; then the events to wait for. < 0: close the session. */
static int session_io(struct session *s, uint32_t revents)
{
        int r;

        for (;;) {
                if (s->state == STATE_HANDSHAKE) {
                        r = tls_handshake(s);
                        if (r <= 0) {
                                if (r < 0)
                                        return r;
                                break; /* wait for the events OpenSSL asked for */
                        }
                        revents = 0; /* under TLS now: session_read() tries anyway */
                }
                if (session_reads(s)) {
                        /* what is buffered first (pipelined behind a commit), then the socket */
                        if (s->tls || (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                                r = session_read(s);
                        else
                                r = session_process_input(s);
                        if (r < 0)
                                return r;
                }
                r = flush_output(s);
                if (r < 0)
                        return r;
                if (s->state == STATE_STARTTLS && s->out.len == 0) {
                        r = tls_start(s);
                        if (r < 0)
                                return r;
                        continue;
                }
                break;
        }
        return session_update_io(s);
}

static int on_session_io(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
        struct session *s = userdata;

        (void)source;
        (void)fd;
        if ((revents & (EPOLLHUP | EPOLLERR)) && !session_reads(s) && s->state != STATE_HANDSHAKE) {
                /* Gone while we were not reading (a commit, the 220 of STARTTLS): epoll
                 * reports this whatever the events asked for, so stop here. */
                session_close(s);
                return 0;
        }
        if (session_io(s, revents) < 0)
                session_close(s);
        return 0;
}

static void session_close(struct session *s)
{
        struct smtp_server *srv = s->server;

        if (s->state == STATE_COMMITTING) {
                /* The commit thread owns the writer now: finish when it answers. The idle
                 * timer must not free the session meanwhile. */
                session_state(s, STATE_CLOSING);
                (void)sd_event_source_set_enabled(s->io, SD_EVENT_OFF);
                (void)sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
                return;
        }
        transaction_reset(s);
        s->tls = smtpd_tls_free(s->tls);
        s->sasl = smtpd_sasl_free(s->sasl);
        sd_event_source_disable_unref(s->io);
        sd_event_source_disable_unref(s->timer);
        if (s->fd >= 0)
                close(s->fd);
        if (srv->sessions == s)
                srv->sessions = s->next;
        else if (s->prev)
                s->prev->next = s->next;
        if (s->next)
                s->next->prev = s->prev;
        srv->n_sessions--;
        buf_done(&s->in);
        buf_done(&s->out);
        free(s);
}

static void describe_peer(struct session *s)
{
        const void *addr = NULL;

        if (s->peer.ss_family == AF_INET)
                addr = &((struct sockaddr_in *)&s->peer)->sin_addr;
        else if (s->peer.ss_family == AF_INET6)
                addr = &((struct sockaddr_in6 *)&s->peer)->sin6_addr;
        if (!addr || !inet_ntop(s->peer.ss_family, addr, s->peer_addr, sizeof s->peer_addr))
                (void)snprintf(s->peer_addr, sizeof s->peer_addr, "unknown");
        (void)snprintf(s->client, sizeof s->client, "%s[%s]", s->trusted ? "localhost" : "unknown",
                       s->peer_addr);
}

/* same_address - the peers' addresses are equal (ports aside) */
static bool same_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
        /* The analyser loses that a session's server is the one whose list it walks, and so
         * that session_close() unlinks it before freeing it: a false "use after free". */
        /* NOLINTNEXTLINE(clang-analyzer-*) */
        if (a->ss_family != b->ss_family)
                return false;
        if (a->ss_family == AF_INET)
                return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
                              &((const struct sockaddr_in *)b)->sin_addr,
                              sizeof(struct in_addr)) == 0;
        if (a->ss_family == AF_INET6)
                return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                              &((const struct sockaddr_in6 *)b)->sin6_addr,
                              sizeof(struct in6_addr)) == 0;
        return false;
}

/* client_connections - sessions open from peer's address */
static size_t client_connections(const struct smtp_server *srv, const struct sockaddr_storage *peer)
{
        size_t n = 0;

        for (const struct session *s = srv->sessions; s; s = s->next)
                if (same_address(&s->peer, peer))
                        n++;
        return n;
}

/* refuse - answer 421 on a connection we will not serve, and close it */
static void refuse(int cfd, const char *reply_text)
{
        (void)!send(cfd, reply_text, strlen(reply_text), MSG_NOSIGNAL | MSG_DONTWAIT);
        close(cfd);
}

/* refuse_out_of_fds - EMFILE/ENFILE: the listener stays readable, so give up the spare
 * descriptor, take the connection off the backlog with it and refuse it, rather than spin
 * (libev's and nginx's recipe). Returns true when one was taken. */
static bool refuse_out_of_fds(struct smtp_server *srv, int listen_fd, int error)
{
        int cfd;

        if (!srv->out_of_fds_said) {
                log_warning_errno(error, "accept: %m; refusing new connections until some close");
                srv->out_of_fds_said = true;
        }
        if (srv->spare_fd < 0)
                return false;
        close(srv->spare_fd);
        cfd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd >= 0)
                refuse(cfd, "421 4.3.2 Error: too many connections, try again later\r\n");
        srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        return cfd >= 0;
}

static int on_accept(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
        struct smtp_server *srv = userdata;

        (void)source;
        (void)revents;
        for (;;) {
                struct sockaddr_storage peer = {0};
                socklen_t len = sizeof peer;
                struct session *s;
                uint64_t now;
                int cfd, r;

                cfd = accept4(fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        if ((errno == EMFILE || errno == ENFILE) &&
                            refuse_out_of_fds(srv, fd, errno))
                                continue;
                        if (errno != EAGAIN)
                                log_debug_errno(errno, "accept: %m");
                        return 0;
                }
                srv->out_of_fds_said = false;
                if (srv->n_sessions >= srv->config.max_connections) {
                        log_debug("refusing a connection: default_process_limit %u reached",
                                  srv->config.max_connections);
                        refuse(cfd, "421 4.7.0 Error: too many connections\r\n");
                        continue;
                }
                if (srv->config.max_connections_per_client &&
                    !smtp_server_network_match(srv->config.mynetworks, srv->config.n_mynetworks,
                                               &peer) &&
                    client_connections(srv, &peer) >= srv->config.max_connections_per_client) {
                        log_debug(
                                "refusing a connection: smtpd_client_connection_count_limit %u reached",
                                srv->config.max_connections_per_client);
                        refuse(cfd, "421 4.7.0 Error: too many connections from your address\r\n");
                        continue;
                }
                s = calloc(1, sizeof *s);
                if (!s) {
                        close(cfd);
                        return 0;
                }
                s->server = srv;
                s->fd = cfd;
                s->peer = peer;
                s->trusted = smtp_server_network_match(srv->config.mynetworks,
                                                       srv->config.n_mynetworks, &peer);
                describe_peer(s);
                buf_init(&s->in, SESSION_IN_MAX);
                buf_init(&s->out, SESSION_OUT_MAX);
                r = sd_event_add_io(srv->event, &s->io, cfd, EPOLLIN, on_session_io, s);
                if (r >= 0 && sd_event_now(srv->event, CLOCK_MONOTONIC, &now) >= 0)
                        r = sd_event_add_time(srv->event, &s->timer, CLOCK_MONOTONIC,
                                              now + srv->config.idle_timeout_usec, 1000000, on_idle,
                                              s);
                if (r < 0) {
                        sd_event_source_disable_unref(s->io);
                        close(cfd);
                        buf_done(&s->in);
                        buf_done(&s->out);
                        free(s);
                        return 0;
                }
                s->next = srv->sessions;
                if (s->next)
                        s->next->prev = s;
                srv->sessions = s;
                srv->n_sessions++;
                log_debug("connect from %s", s->client);
                reply(s, "220 %s ESMTP mailinit", srv->config.hostname);
                if (flush_output(s) < 0 || session_update_io(s) < 0)
                        session_close(s);
        }
}

int smtp_server_new(sd_event *e, const struct smtp_server_config *config, struct spool *spool,
                    smtp_server_queued_fn queued, void *userdata, struct smtp_server **ret)
{
        struct smtp_server *srv = calloc(1, sizeof *srv);
        int r;

        if (!srv)
                return -ENOMEM;
        srv->efd = -1;
        srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        srv->event = sd_event_ref(e);
        srv->config = *config;
        /* Our own copies: the caller's settings are replaced on SIGHUP. */
        srv->config.hostname = srv->hostname = strdup(config->hostname);
        srv->config.myorigin = srv->myorigin = strdup(config->myorigin);
        srv->config.tls_ctx = NULL;
        if (!srv->hostname || !srv->myorigin) {
                r = -ENOMEM;
                goto fail;
        }
        if (config->sasl_enable && (!config->tls_ctx || !*smtpd_sasl_mechanisms())) {
                r = -EINVAL; /* AUTH only under TLS, and only once Cyrus is ready */
                goto fail;
        }
        if (config->tls_ctx) {
                if (SSL_CTX_up_ref(config->tls_ctx) != 1) {
                        r = -ENOMEM;
                        goto fail;
                }
                srv->config.tls_ctx = config->tls_ctx;
        }
        if (!srv->config.max_recipients)
                srv->config.max_recipients = DEFAULT_MAX_RCPT;
        if (!srv->config.max_errors)
                srv->config.max_errors = DEFAULT_MAX_ERRORS;
        if (!srv->config.idle_timeout_usec)
                srv->config.idle_timeout_usec = DEFAULT_IDLE_USEC;
        if (!srv->config.max_connections)
                srv->config.max_connections = DEFAULT_MAX_CONN;
        srv->spool = spool;
        srv->queued = queued;
        srv->userdata = userdata;
        pthread_mutex_init(&srv->lock, NULL);
        pthread_cond_init(&srv->cond, NULL);
        srv->locks_ready = true;
        srv->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (srv->efd < 0) {
                r = -errno;
                goto fail;
        }
        r = sd_event_add_io(e, &srv->efd_source, srv->efd, EPOLLIN, on_committed, srv);
        if (r < 0)
                goto fail;
        r = -pthread_create(&srv->thread, NULL, commit_thread, srv);
        if (r < 0)
                goto fail;
        srv->thread_started = true;
        *ret = srv;
        return 0;
fail:
        smtp_server_free(srv);
        return r;
}

int smtp_server_add_listener(struct smtp_server *srv, int fd)
{
        int r;

        if (srv->n_listeners >= sizeof srv->listeners / sizeof srv->listeners[0]) {
                close(fd);
                return -E2BIG;
        }
        (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        r = sd_event_add_io(srv->event, &srv->listeners[srv->n_listeners], fd, EPOLLIN, on_accept,
                            srv);
        if (r < 0) {
                close(fd);
                return r;
        }
        (void)sd_event_source_set_io_fd_own(srv->listeners[srv->n_listeners], 1);
        srv->n_listeners++;
        return 0;
}

void smtp_server_stop_accepting(struct smtp_server *srv)
{
        for (size_t i = 0; i < srv->n_listeners; i++)
                srv->listeners[i] = sd_event_source_disable_unref(srv->listeners[i]);
        srv->n_listeners = 0;
}

size_t smtp_server_busy(const struct smtp_server *srv)
{
        return srv->busy;
}

size_t smtp_server_connections(const struct smtp_server *srv)
{
        return srv->n_sessions;
}

struct smtp_server *smtp_server_free(struct smtp_server *srv)
{
        if (!srv)
                return NULL;
        smtp_server_stop_accepting(srv);
        if (srv->thread_started) {
                pthread_mutex_lock(&srv->lock);
                srv->stopping = true;
                pthread_cond_signal(&srv->cond);
                pthread_mutex_unlock(&srv->lock);
                (void)pthread_join(srv->thread, NULL);
        }
        /* Commits that finished: their sessions are closed without the 250 they never got. */
        while (srv->done) {
                struct session *s = srv->done;

                srv->done = s->commit_next;
                session_state(s, STATE_CLOSING);
                session_close(s);
        }
        while (srv->sessions) {
                struct session *s = srv->sessions;

                /* s is the head: session_close() unlinks it (see same_address) */
                /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
                session_state(s, STATE_CLOSING);
                session_close(s);
        }
        sd_event_source_disable_unref(srv->efd_source);
        if (srv->efd >= 0)
                close(srv->efd);
        if (srv->spare_fd >= 0)
                close(srv->spare_fd);
        if (srv->locks_ready) {
                pthread_mutex_destroy(&srv->lock);
                pthread_cond_destroy(&srv->cond);
        }
        sd_event_unref(srv->event);
        SSL_CTX_free(srv->config.tls_ctx);
        free(srv->hostname);
        free(srv->myorigin);
        free(srv);
        return NULL;
}
