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
 * in sync), errors (421 and close), idle time (421 4.4.2), connections (421 4.7.0).
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

#include "buf.h"
#include "headers.h"
#include "log.h"
#include "smtp_proto.h"

#define SESSION_IN_MAX     (64 * 1024)
#define SESSION_OUT_MAX    (256 * 1024)
#define DEFAULT_MAX_RCPT   1000
#define DEFAULT_MAX_ERRORS 20
#define DEFAULT_IDLE_USEC  (300ULL * 1000000ULL)
#define DEFAULT_MAX_CONN   500

enum session_state {
        STATE_COMMAND,
        STATE_DATA,
        STATE_COMMITTING, /* waiting for the commit thread: not reading */
        STATE_CLOSING,    /* flush the output, then close */
        STATE_MAX,
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
};

struct smtp_server {
        sd_event *event;
        struct smtp_server_config config;
        struct spool *spool;
        smtp_server_queued_fn queued;
        void *userdata;
        sd_event_source *listeners[16];
        size_t n_listeners;
        struct session *sessions;
        size_t n_sessions;
        size_t busy;
        /* commit thread */
        pthread_t thread;
        bool thread_started;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        struct session *pending; /* to commit (thread takes all) */
        struct session *done;    /* committed, to answer (loop takes all) */
        bool stopping;
        int efd;
        sd_event_source *efd_source;
};

static void session_close(struct session *s);
static int session_process_input(struct session *s);
static int session_update_io(struct session *s);
static int flush_output(struct session *s);

bool smtp_server_network_match(const struct network *nets, size_t n,
                               const struct sockaddr_storage *addr)
{
        uint8_t bytes[16];
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

/* reply - queue one reply line (with CRLF) */
static void reply(struct session *s, const char *format, ...) __attribute__((format(printf, 2, 3)));

static void reply(struct session *s, const char *format, ...)
{
        char line[1024];
        va_list ap;
        int n;

        va_start(ap, format);
        n = vsnprintf(line, sizeof line - 2, format, ap);
        va_end(ap);
        if (n < 0)
                return;
        if ((size_t)n > sizeof line - 3)
                n = (int)(sizeof line - 3);
        memcpy(line + n, "\r\n", 3);
        if (buf_append(&s->out, line, (size_t)n + 2) < 0)
                s->state = STATE_CLOSING; /* a client that does not read its replies */
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
                s->state = STATE_CLOSING;
        }
}

static void do_ehlo(struct session *s, const struct smtp_command *c, bool esmtp)
{
        const struct smtp_server_config *cfg = &s->server->config;

        if (!*c->arg) {
                reply(s, "501 5.5.4 Syntax: %s hostname", esmtp ? "EHLO" : "HELO");
                count_error(s);
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
        reply(s, "250-ENHANCEDSTATUSCODES");
        reply(s, "250-8BITMIME");
        reply(s, "250 SMTPUTF8");
}

static void do_mail(struct session *s, const struct smtp_command *c)
{
        const char *error = NULL;

        if (!s->helo[0]) {
                reply(s, "503 5.5.1 Error: send HELO/EHLO first");
                count_error(s);
                return;
        }
        if (s->have_mail) {
                reply(s, "503 5.5.1 Error: nested MAIL command");
                count_error(s);
                return;
        }
        if (smtp_parse_mail_from(c->arg, &s->sender, &s->params, &error) < 0) {
                reply(s, "%s", error ? error : "501 5.5.4 Syntax: MAIL FROM:<address>");
                count_error(s);
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
                reply(s, "503 5.5.1 Error: need MAIL command");
                count_error(s);
                return;
        }
        if (smtp_parse_rcpt_to(c->arg, s->params.smtputf8, &path, &error) < 0) {
                reply(s, "%s", error ? error : "501 5.5.4 Syntax: RCPT TO:<address>");
                count_error(s);
                return;
        }
        /* Never an open relay: a client outside mynetworks may relay nothing, whatever the
         * address looks like (percent hack, source route, bang path, IP literal). */
        if (!s->trusted) {
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
                reply(s, "503 5.5.1 Error: need MAIL command");
                count_error(s);
                return;
        }
        if (s->n_rcpts == 0) {
                reply(s, "554 5.5.1 Error: no valid recipients");
                count_error(s);
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
        s->state = STATE_DATA;
        reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

static void do_command(struct session *s, char *line, size_t len)
{
        struct smtp_command c;

        if (smtp_parse_command(line, len, &c) < 0) {
                reply(s, "500 5.5.2 Error: bad syntax");
                count_error(s);
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
                s->state = STATE_CLOSING;
                break;
        case SMTP_VERB_VRFY:
                reply(s,
                      "252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery");
                break;
        case SMTP_VERB_HELP:
                reply(s, "214 2.0.0 See RFC 5321");
                break;
        case SMTP_VERB_STARTTLS:
        case SMTP_VERB_AUTH:
        case SMTP_VERB_BDAT:
        case SMTP_VERB_EXPN:
                reply(s, "502 5.5.1 Error: command not implemented");
                count_error(s);
                break;
        case SMTP_VERB_UNKNOWN:
        case SMTP_VERB_MAX:
                reply(s, "502 5.5.2 Error: command not recognized");
                count_error(s);
                break;
        }
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
                r = 0;
                {
                        struct buf rewritten;
                        struct headers_context ctx = {
                                .myhostname = s->server->config.hostname,
                                .myorigin = s->server->config.myorigin,
                                .client_name = "localhost",
                                .client_addr = s->peer_addr,
                                .helo = s->helo,
                                .protocol = s->esmtp ? "ESMTP" : "SMTP",
                                .queue_id = spool_writer_id(s->writer),
                                .recipient = s->n_rcpts == 1 ? s->rcpts[0] : NULL,
                                .now = time(NULL),
                        };

                        buf_init(&rewritten, HEADERS_SECTION_MAX + 64 * 1024);
                        r = headers_rewrite(s->headers.data, end, &ctx, &rewritten);
                        if (r >= 0)
                                r = spool_writer_write(s->writer, rewritten.data, rewritten.len);
                        if (r >= 0 && s->headers.len > end)
                                r = spool_writer_write(s->writer, s->headers.data + end,
                                                       s->headers.len - end);
                        buf_done(&rewritten);
                }
                s->headers_done = true;
                buf_done(&s->headers);
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
        int r = 0;

        if (!s->headers_done && !s->too_big && !s->write_error) {
                /* The whole message was headers (or empty): rewrite what we have. */
                struct headers_context ctx = {
                        .myhostname = srv->config.hostname,
                        .myorigin = srv->config.myorigin,
                        .client_name = "localhost",
                        .client_addr = s->peer_addr,
                        .helo = s->helo,
                        .protocol = s->esmtp ? "ESMTP" : "SMTP",
                        .queue_id = spool_writer_id(s->writer),
                        .recipient = s->n_rcpts == 1 ? s->rcpts[0] : NULL,
                        .now = time(NULL),
                };
                struct buf rewritten;
                size_t end = s->headers.len ? headers_end(s->headers.data, s->headers.len) : 0;

                buf_init(&rewritten, HEADERS_SECTION_MAX + 64 * 1024);
                r = headers_rewrite(s->headers.data ? s->headers.data : "", end, &ctx, &rewritten);
                if (r >= 0)
                        r = spool_writer_write(s->writer, rewritten.data, rewritten.len);
                if (r >= 0 && s->headers.len > end)
                        r = spool_writer_write(s->writer, s->headers.data + end,
                                               s->headers.len - end);
                buf_done(&rewritten);
                buf_done(&s->headers);
                s->headers_done = true;
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
                s->state = STATE_COMMAND;
                return;
        }
        if (!s->write_error)
                s->write_error = spool_writer_finish(s->writer);
        if (s->write_error) {
                log_error_errno(s->write_error, "Cannot write queue file %s: %m",
                                spool_writer_id(s->writer));
                reply(s, "451 4.3.0 Error: queue file write error");
                transaction_reset(s);
                s->state = STATE_COMMAND;
                return;
        }
        s->state = STATE_COMMITTING;
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
                s->state = STATE_COMMAND;
                /* Pipelined commands may be waiting in the input buffer. */
                if (session_process_input(s) < 0 || session_update_io(s) < 0)
                        session_close(s);
                s = next;
        }
        return 0;
}

/* session_update_io - read when accepting input, write when output is pending */
static int session_update_io(struct session *s)
{
        uint32_t events = 0;

        if (s->state == STATE_COMMAND || s->state == STATE_DATA)
                events |= EPOLLIN;
        if (s->out.len > 0)
                events |= EPOLLOUT;
        if (s->state == STATE_CLOSING && s->out.len == 0)
                return -ECONNRESET; /* done: close */
        return sd_event_source_set_io_events(s->io, events);
}

static int flush_output(struct session *s)
{
        while (s->out.len > 0) {
                ssize_t n = send(s->fd, s->out.data, s->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);

                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        return -errno;
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

        while (pos < s->in.len && (s->state == STATE_COMMAND || s->state == STATE_DATA)) {
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
                                        reply(s, "500 5.5.0 Error: line too long");
                                        count_error(s);
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
                                reply(s, "500 5.5.0 Error: line too long");
                                count_error(s);
                                continue;
                        }
                        do_command(s, start, len);
                }
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
        if (s->state == STATE_COMMITTING)
                return 0; /* our own work, not the client's silence */
        reply(s, "421 4.4.2 %s Error: timeout exceeded", s->server->config.hostname);
        (void)flush_output(s);
        log_info("timeout after %s from %s", s->state == STATE_DATA ? "DATA" : "command",
                 s->client);
        session_close(s);
        return 0;
}

static void touch_timer(struct session *s)
{
        uint64_t now;

        if (sd_event_now(s->server->event, CLOCK_MONOTONIC, &now) >= 0)
                (void)sd_event_source_set_time(s->timer, now + s->server->config.idle_timeout_usec);
}

static int on_session_io(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
        struct session *s = userdata;
        int r;

        (void)source;
        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                for (;;) {
                        char chunk[16384];
                        ssize_t n;

                        if (s->state != STATE_COMMAND && s->state != STATE_DATA)
                                break;
                        n = recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
                        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                                break;
                        if (n <= 0) {
                                session_close(s);
                                return 0;
                        }
                        touch_timer(s);
                        if (buf_append(&s->in, chunk, (size_t)n) < 0) {
                                /* only possible in command mode with garbage: drop it */
                                reply(s, "500 5.5.0 Error: line too long");
                                count_error(s);
                                buf_reset(&s->in);
                                s->discarding_line = true;
                        }
                        r = session_process_input(s);
                        if (r < 0) {
                                session_close(s);
                                return 0;
                        }
                        if ((size_t)n < sizeof chunk)
                                break;
                }
        }
        if (revents & EPOLLOUT) {
                r = flush_output(s);
                if (r < 0) {
                        session_close(s);
                        return 0;
                }
        }
        if (session_update_io(s) < 0)
                session_close(s);
        return 0;
}

static void session_close(struct session *s)
{
        struct smtp_server *srv = s->server;

        if (s->state == STATE_COMMITTING) {
                /* The commit thread owns the writer now: finish when it answers. */
                s->state = STATE_CLOSING;
                (void)sd_event_source_set_enabled(s->io, SD_EVENT_OFF);
                return;
        }
        transaction_reset(s);
        sd_event_source_disable_unref(s->io);
        sd_event_source_disable_unref(s->timer);
        if (s->fd >= 0)
                close(s->fd);
        if (s->prev)
                s->prev->next = s->next;
        else
                srv->sessions = s->next;
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

static int on_accept(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
        struct smtp_server *srv = userdata;

        (void)source;
        (void)revents;
        for (;;) {
                struct sockaddr_storage peer;
                socklen_t len = sizeof peer;
                struct session *s;
                uint64_t now;
                int cfd, r;

                cfd = accept4(fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                                return 0;
                        /* EMFILE/ENFILE: stop for now, the next connection retries. */
                        log_warning_errno(errno, "accept: %m");
                        return 0;
                }
                if (srv->n_sessions >= srv->config.max_connections) {
                        static const char busy[] = "421 4.7.0 Error: too many connections\r\n";

                        (void)!send(cfd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
                        close(cfd);
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
        srv->event = sd_event_ref(e);
        srv->config = *config;
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
                s->state = STATE_CLOSING;
                session_close(s);
        }
        while (srv->sessions) {
                struct session *s = srv->sessions;

                s->state = STATE_CLOSING;
                session_close(s);
        }
        sd_event_source_disable_unref(srv->efd_source);
        if (srv->efd >= 0)
                close(srv->efd);
        pthread_mutex_destroy(&srv->lock);
        pthread_cond_destroy(&srv->cond);
        sd_event_unref(srv->event);
        free(srv);
        return NULL;
}
