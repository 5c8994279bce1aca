/* SPDX-License-Identifier: MIT */
/*
 * sendmail_smtp - `sendmail -bs`: an SMTP session (RFC 5321) on stdin/stdout for the user who
 * runs it, as Postfix's stand-alone smtpd: EHLO/HELO, MAIL (SIZE, BODY, SMTPUTF8), RCPT,
 * DATA, RSET, NOOP, VRFY, HELP, QUIT. Commands and the DATA stream go through the relay's own
 * parsers (smtp_proto); each message is dropped into the maildrop like a command-line
 * submission by the same user, so MAIL FROM is held to the same rule as -f (553 5.7.1 for a
 * sender the user does not own, unless trusted_users) and Bcc: is removed. Replies are
 * flushed one by one; input is read with stdio, so pipelined commands simply wait.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "addrlist.h"
#include "buf.h"
#include "sendmail.h"
#include "sendmail_message.h"
#include "smtp_proto.h"

struct session {
        const struct submitter *sub;
        bool greeted;
        bool in_transaction;
        bool smtputf8;
        char sender[SMTP_ADDRESS_MAX + 1];
        struct addrlist rcpts;
};

static void reply(const char *format, ...) __attribute__((format(printf, 1, 2)));

static void reply(const char *format, ...)
{
        va_list ap;

        va_start(ap, format);
        vprintf(format, ap);
        va_end(ap);
        fputs("\r\n", stdout);
        (void)fflush(stdout);
}

static void reset(struct session *s)
{
        s->in_transaction = false;
        s->smtputf8 = false;
        s->sender[0] = '\0';
        addrlist_done(&s->rcpts);
}

/* read_line - one line with its line break (getline: the caller's own memory is the only
 * bound of a line, as this process runs for, and as, the user who feeds it), -ENODATA at EOF */
static int read_line(char **line, size_t *cap, size_t *ret_len)
{
        ssize_t n = getline(line, cap, stdin);

        if (n < 0)
                return -ENODATA;
        *ret_len = (size_t)n;
        return 0;
}

static void do_mail(struct session *s, const char *arg)
{
        struct smtp_mail_params params;
        struct smtp_path path;
        const char *err;

        if (s->in_transaction) {
                reply("503 5.5.1 Error: nested MAIL command");
                return;
        }
        if (smtp_parse_mail_from(arg, &path, &params, &err) < 0) {
                reply("%s", err);
                return;
        }
        if (params.size > s->sub->size_limit) {
                reply("552 5.3.4 Message size exceeds fixed limit");
                return;
        }
        if (!sendmail_sender_check(s->sub, path.is_null ? "" : path.address)) {
                reply("553 5.7.1 <%s>: Sender address rejected: not owned by user %s", path.address,
                      s->sub->login);
                return;
        }
        (void)snprintf(s->sender, sizeof s->sender, "%s", path.is_null ? "" : path.address);
        s->smtputf8 = params.smtputf8;
        s->in_transaction = true;
        reply("250 2.1.0 Ok");
}

static void do_rcpt(struct session *s, const char *arg)
{
        struct smtp_path path;
        const char *err;
        int r;

        if (!s->in_transaction) {
                reply("503 5.5.1 Error: need MAIL command");
                return;
        }
        if (smtp_parse_rcpt_to(arg, s->smtputf8, &path, &err) < 0) {
                reply("%s", err);
                return;
        }
        if (path.is_null || path.address[0] == '\0') {
                reply("553 5.1.3 Bad recipient address syntax");
                return;
        }
        r = addrlist_parse(path.address, strlen(path.address), &s->rcpts);
        if (r == -E2BIG)
                reply("452 4.5.3 Error: too many recipients");
        else if (r <= 0 || !maildrop_address_ok(path.address, strlen(path.address)))
                reply("553 5.1.3 Bad recipient address syntax");
        else
                reply("250 2.1.5 Ok");
}

/* do_data - 354, the message up to the "." line, then the drop */
static int do_data(struct session *s, char **line, size_t *cap)
{
        struct smtp_data_decoder dec;
        struct buf msg, prepared;
        struct maildrop_envelope env = {0};
        char name[64] = "";
        const char *bad;
        bool too_big = false, ended = false;
        int r, code;

        if (!s->in_transaction) {
                reply("503 5.5.1 Error: need MAIL command");
                return 0;
        }
        if (s->rcpts.n == 0) {
                reply("554 5.5.1 Error: no valid recipients");
                return 0;
        }
        reply("354 End data with <CR><LF>.<CR><LF>");
        smtp_data_decoder_init(&dec);
        buf_init(&msg, (size_t)s->sub->size_limit);
        while (!ended) {
                size_t len, consumed = 0;

                if (read_line(line, cap, &len) < 0)
                        break;
                while (consumed < len && !ended) {
                        char out[8192];
                        size_t chunk = len - consumed, out_len = 0, used = 0;

                        if (chunk > sizeof out / 2)
                                chunk = sizeof out / 2;
                        ended = smtp_data_decode(&dec, *line + consumed, chunk, out, &out_len,
                                                 &used) == 1;
                        consumed += used;
                        if (!too_big && out_len > 0 && buf_append(&msg, out, out_len) < 0)
                                too_big = true;
                }
        }
        if (!ended) {
                buf_done(&msg);
                return -ENODATA; /* EOF inside DATA: nothing is queued */
        }
        if (too_big) {
                reply("552 5.3.4 Error: message file too big");
                buf_done(&msg);
                reset(s);
                return 0;
        }
        buf_init(&prepared, (size_t)s->sub->size_limit);
        r = sendmail_prepare_message(msg.data ? msg.data : "", msg.len, false, &s->rcpts, &prepared,
                                     &bad);
        env.fullname = s->sub->fullname;
        env.sender = s->sender;
        env.recipients = s->rcpts.items;
        env.n_recipients = s->rcpts.n;
        code = r < 0 ? EX_SOFTWARE
                     : sendmail_drop(s->sub, &env, prepared.data ? prepared.data : "", prepared.len,
                                     name, sizeof name);
        if (code == 0)
                reply("250 2.0.0 Ok: queued as %s", name);
        else if (code == EX_NOPERM)
                reply("554 5.7.1 Error: not allowed to submit mail");
        else
                reply("451 4.3.0 Error: queue file write error");
        buf_done(&prepared);
        buf_done(&msg);
        reset(s);
        return 0;
}

int sendmail_smtp_session(const struct submitter *sub)
{
        struct session s = {.sub = sub, .rcpts = {.max = MAILDROP_RECIPIENTS_MAX}};
        char *line = NULL;
        size_t cap = 0, len;
        int errors = 0;

        reply("220 %s ESMTP mailinit", sub->myhostname);
        while (read_line(&line, &cap, &len) == 0) {
                struct smtp_command c;

                while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
                        line[--len] = '\0';
                if (len > SMTP_CMD_LINE_MAX || smtp_parse_command(line, len, &c) < 0) {
                        reply(len > SMTP_CMD_LINE_MAX ? "500 5.5.0 Error: line too long"
                                                      : "500 5.5.2 Error: bad syntax");
                        if (++errors >= 20) {
                                reply("421 4.7.0 Error: too many errors");
                                break;
                        }
                        continue;
                }
                switch (c.verb) {
                case SMTP_VERB_HELO:
                        s.greeted = true;
                        reply("250 %s", sub->myhostname);
                        break;
                case SMTP_VERB_EHLO:
                        s.greeted = true;
                        reply("250-%s\r\n250-PIPELINING\r\n250-SIZE %llu\r\n250-8BITMIME\r\n"
                              "250-ENHANCEDSTATUSCODES\r\n250 SMTPUTF8",
                              sub->myhostname, (unsigned long long)sub->size_limit);
                        break;
                case SMTP_VERB_MAIL:
                        do_mail(&s, c.arg);
                        break;
                case SMTP_VERB_RCPT:
                        do_rcpt(&s, c.arg);
                        break;
                case SMTP_VERB_DATA:
                        if (do_data(&s, &line, &cap) < 0)
                                goto out;
                        break;
                case SMTP_VERB_RSET:
                        reset(&s);
                        reply("250 2.0.0 Ok");
                        break;
                case SMTP_VERB_NOOP:
                        reply("250 2.0.0 Ok");
                        break;
                case SMTP_VERB_VRFY:
                        reply("252 2.0.0 Cannot VRFY user, but will accept message and attempt "
                              "delivery");
                        break;
                case SMTP_VERB_HELP:
                        reply("214 2.0.0 See RFC 5321");
                        break;
                case SMTP_VERB_QUIT:
                        reply("221 2.0.0 Bye");
                        goto out;
                case SMTP_VERB_BDAT:
                case SMTP_VERB_EXPN:
                case SMTP_VERB_STARTTLS:
                case SMTP_VERB_AUTH:
                        reply("502 5.5.1 Error: command not implemented");
                        break;
                case SMTP_VERB_UNKNOWN:
                case SMTP_VERB_MAX:
                        reply("502 5.5.2 Error: command not recognized");
                        break;
                }
        }
out:
        reset(&s);
        free(line);
        return 0;
}
