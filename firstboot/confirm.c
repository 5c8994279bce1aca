/* SPDX-License-Identifier: MIT */
/*
 * confirm - submit the confirmation mail to the local relay over SMTP (RFC 5321):
 *   220 <- ; EHLO -> 250 ; MAIL FROM -> 250 ; RCPT TO -> 250 ; DATA -> 354 ; message -> 250 ;
 *   QUIT.
 * A small blocking client with one overall deadline: the relay is on loopback, so there is
 * nothing to gain from an event loop here. Replies may be multi-line ("250-...").
 */
#include "confirm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "backoff.h"
#include "buf.h"
#include "fileio.h"
#include "timefmt.h"

#define SMTP_LINE_MAX  1000 /* RFC 5321 4.5.3.1.5: reply line length */
#define SMTP_REPLY_MAX 8192

struct conn {
        int fd;
        uint64_t deadline_usec;
        char in[SMTP_REPLY_MAX];
        size_t in_len;
};

static int wait_fd(struct conn *c, short events)
{
        return fd_wait(c->fd, events, c->deadline_usec);
}

static int send_all(struct conn *c, const char *data, size_t len)
{
        while (len > 0) {
                ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);

                if (n < 0) {
                        int r;

                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                return errno == EPIPE ? -ECONNRESET : -errno;
                        r = wait_fd(c, POLLOUT);
                        if (r < 0)
                                return r;
                        continue;
                }
                data += n;
                len -= (size_t)n;
        }
        return 0;
}

/* read_reply - one complete reply; code and the text of its last line */
static int read_reply(struct conn *c, struct confirm_result *ret)
{
        for (;;) {
                char *line_end;

                /* Consume complete lines; a line "DDD " ends the reply. */
                while ((line_end = memchr(c->in, '\n', c->in_len))) {
                        size_t line_len = (size_t)(line_end - c->in) + 1;
                        size_t text_len = line_len;
                        bool last;

                        while (text_len > 0 &&
                               (c->in[text_len - 1] == '\n' || c->in[text_len - 1] == '\r'))
                                text_len--;
                        if (text_len < 3 || c->in[0] < '2' || c->in[0] > '5' || c->in[1] < '0' ||
                            c->in[1] > '9' || c->in[2] < '0' || c->in[2] > '9' ||
                            (text_len > 3 && c->in[3] != ' ' && c->in[3] != '-'))
                                return -EPROTO;
                        last = text_len == 3 || c->in[3] == ' ';
                        ret->code =
                                (c->in[0] - '0') * 100 + (c->in[1] - '0') * 10 + (c->in[2] - '0');
                        (void)snprintf(ret->reply, sizeof ret->reply, "%.*s", (int)text_len, c->in);
                        memmove(c->in, c->in + line_len, c->in_len - line_len);
                        c->in_len -= line_len;
                        if (last)
                                return 0;
                }
                if (c->in_len >= SMTP_LINE_MAX)
                        return -EPROTO;
                {
                        ssize_t n;
                        int r = wait_fd(c, POLLIN);

                        if (r < 0)
                                return r;
                        n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
                        if (n == 0)
                                return -ECONNRESET;
                        if (n < 0 && errno != EINTR && errno != EAGAIN)
                                return -errno;
                        if (n > 0)
                                c->in_len += (size_t)n;
                }
        }
}

/* command - send a line (may be NULL: only read), read the reply, check its class */
static int command(struct conn *c, const char *line, int want_class, struct confirm_result *ret)
{
        int r;

        if (line) {
                r = send_all(c, line, strlen(line));
                if (r < 0)
                        return r;
        }
        r = read_reply(c, ret);
        if (r < 0)
                return r;
        if (ret->code / 100 == want_class)
                return 0;
        return ret->code / 100 == 4 ? -EAGAIN : -EREMOTEIO;
}

static int connect_to(const char *address, struct conn *c)
{
        struct listen_address la;
        int fd, r;

        if (listen_address_parse(address, strlen(address), &la) < 0)
                return -EINVAL;
        fd = socket(la.sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        c->fd = fd;
        if (connect(fd, (struct sockaddr *)&la.sa, la.sa_len) == 0)
                return 0;
        if (errno != EINPROGRESS)
                return -errno;
        r = wait_fd(c, POLLOUT);
        if (r < 0)
                return r;
        {
                int err = 0;
                socklen_t len = sizeof err;

                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                        return -errno;
                return -err;
        }
}

/* format_message - headers and dot-stuffed CRLF body, ending with "\r\n.\r\n" */
static int format_message(const struct confirm_message *m, struct buf *b)
{
        char date[TIMEFMT_RFC5322_MAX], id[128];
        time_t now = time(NULL);
        const char *p;

        if (timefmt_rfc5322(now, date, sizeof date, NULL, 0) < 0)
                return -EINVAL;
        (void)snprintf(id, sizeof id, "%lld.%llx", (long long)now,
                       (unsigned long long)backoff_random());
        if (buf_printf(b,
                       "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\n"
                       "Message-ID: <mailinit.%s@%s>\r\nMIME-Version: 1.0\r\n"
                       "Content-Type: text/plain; charset=UTF-8\r\n"
                       "Content-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\n\r\n",
                       m->from, m->to, m->subject, date, id, m->message_id_domain) < 0)
                return -ENOMEM;
        for (p = m->body; *p;) {
                size_t n = strcspn(p, "\n");

                if (p[0] == '.' && buf_append_str(b, ".") < 0)
                        return -ENOMEM;
                if (buf_append(b, p, n) < 0 || buf_append_str(b, "\r\n") < 0)
                        return -ENOMEM;
                p += n;
                if (*p == '\n')
                        p++;
        }
        return buf_append_str(b, ".\r\n") < 0 ? -ENOMEM : 0;
}

int confirm_send(const char *address, const struct confirm_message *m, uint64_t timeout_ms,
                 struct confirm_result *ret)
{
        struct conn c = {.fd = -1, .deadline_usec = now_monotonic_usec() + timeout_ms * 1000};
        struct buf line, message;
        int r;

        *ret = (struct confirm_result){0};
        buf_init(&line, 2048);
        buf_init(&message, 1024 * 1024);
        r = connect_to(address, &c);
        if (r < 0)
                goto out;
        r = command(&c, NULL, 2, ret); /* greeting */
        if (r < 0)
                goto out;
        r = buf_printf(&line, "EHLO %s\r\n", m->helo);
        if (r >= 0)
                r = command(&c, line.data, 2, ret);
        if (r < 0)
                goto out;
        buf_reset(&line);
        r = buf_printf(&line, "MAIL FROM:<%s>\r\n", m->from);
        if (r >= 0)
                r = command(&c, line.data, 2, ret);
        if (r < 0)
                goto out;
        buf_reset(&line);
        r = buf_printf(&line, "RCPT TO:<%s>\r\n", m->to);
        if (r >= 0)
                r = command(&c, line.data, 2, ret);
        if (r < 0)
                goto out;
        r = command(&c, "DATA\r\n", 3, ret);
        if (r < 0)
                goto out;
        r = format_message(m, &message);
        if (r >= 0)
                r = command(&c, message.data, 2, ret);
        if (r < 0)
                goto out;
        confirm_parse_queue_id(ret->reply, ret->queue_id, sizeof ret->queue_id);
        {
                /* QUIT is a courtesy: the message is already accepted. */
                struct confirm_result quit;

                (void)command(&c, "QUIT\r\n", 2, &quit);
        }
out:
        if (c.fd >= 0)
                close(c.fd);
        buf_done(&line);
        buf_done(&message);
        return r;
}

void confirm_parse_queue_id(const char *reply, char *out, size_t size)
{
        const char *p = strstr(reply, "queued as ");
        size_t n;

        if (size == 0)
                return;
        out[0] = '\0';
        if (p) {
                p += strlen("queued as ");
        } else if (strncmp(reply, "250 Ok ", 7) == 0) {
                p = reply + 7;
        } else if (strncmp(reply, "250 2.0.0 Ok ", 13) == 0) {
                p = reply + 13;
        } else {
                return;
        }
        n = strcspn(p, " \t\r\n>)");
        if (n >= size)
                n = size - 1;
        memcpy(out, p, n);
        out[n] = '\0';
}
