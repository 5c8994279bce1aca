/* SPDX-License-Identifier: MIT */
/*
 * smtp_send_tool - test-only driver of relay/smtp_client.c (tests/integration/test_smtp_client.sh):
 *   smtp_send_tool --host H --port P --tls starttls|smtps|none [--ca FILE]
 *                  [--user U --pass-env VAR] --from A --to B [--to C...] --body FILE
 *                  [--count N] [--pause-ms N] [--timeout-ms N] [--helo NAME] [--smtputf8]
 * connects once and sends the body N times over that connection (waiting --pause-ms between
 * two messages, to let a server's idle timeout strike). Prints
 *   connected peer=HOST[IP]:PORT max_size=N
 *   message=I
 *   rcpt=ADDR class=OK code=250 text=250 Ok          (one per recipient)
 *   final=250 class=OK text=250 Ok 0100...           ("final=none" when DATA was not sent)
 * or "error: class=TEMPFAIL code=N text=..." when the connection failed (then it stops).
 * After a message whose final reply is not 2xx it calls smtp_client_rset(), as the relay
 * does. The password is read from the environment variable VAR, never from argv. Exit 0 when
 * every message got a 2xx final reply, 1 otherwise, 2 on usage errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backoff.h"
#include "parse.h"
#include "smtp_client.h"

#define TOOL_RCPT_MAX 50

static const char *class_name(enum delivery_class cls)
{
        switch (cls) {
        case DELIVERY_OK:
                return "OK";
        case DELIVERY_TEMPFAIL:
                return "TEMPFAIL";
        case DELIVERY_PERMFAIL:
                return "PERMFAIL";
        case DELIVERY_AUTHFAIL:
                return "AUTHFAIL";
        }
        return "?";
}

static int usage(void)
{
        fprintf(stderr, "usage: smtp_send_tool --host H --port P --tls starttls|smtps|none "
                        "[--ca FILE] [--user U --pass-env VAR] --from A --to B [--to C...] "
                        "--body FILE [--count N] [--pause-ms N] [--timeout-ms N] [--helo NAME] "
                        "[--smtputf8]\n");
        return 2;
}

static void print_error(const struct smtp_client_error *err)
{
        printf("error: class=%s code=%d text=%s\n", class_name(err->cls), err->code, err->text);
}

/* body_is_8bit - any byte above 127 in fd's first size bytes */
static int body_is_8bit(int fd, uint64_t size, bool *ret)
{
        char buf[65536];
        uint64_t off = 0;

        *ret = false;
        while (off < size) {
                ssize_t n = pread(fd, buf, sizeof(buf), (off_t)off);

                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                for (ssize_t i = 0; i < n; i++)
                        if ((unsigned char)buf[i] > 127)
                                *ret = true;
                off += (uint64_t)n;
        }
        return 0;
}

int main(int argc, char **argv)
{
        struct smtp_client_options o = {.tls = RELAY_TLS_STARTTLS, .helo = "smtp-send-tool.test"};
        struct smtp_client_message m = {.sender = NULL};
        const char *recipients[TOOL_RCPT_MAX];
        static struct smtp_rcpt_result rcpt[TOOL_RCPT_MAX];
        static struct smtp_reply final;
        struct smtp_client_error err;
        struct smtp_client *c = NULL;
        const char *body = NULL, *pass_env = NULL;
        uint64_t count = 1, timeout_ms = 0, port = 0, pause_ms = 0;
        size_t n_rcpt = 0;
        struct stat st;
        int fd, r, rc = 0;

        for (int i = 1; i < argc; i++) {
                const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

                if (strcmp(opt, "--smtputf8") == 0) {
                        m.smtputf8 = true;
                        continue;
                }
                if (!val)
                        return usage();
                i++;
                if (strcmp(opt, "--host") == 0)
                        o.host = val;
                else if (strcmp(opt, "--port") == 0) {
                        if (parse_uint64(val, &port) < 0 || port == 0 || port > 65535)
                                return usage();
                } else if (strcmp(opt, "--tls") == 0) {
                        if (strcmp(val, "starttls") == 0)
                                o.tls = RELAY_TLS_STARTTLS;
                        else if (strcmp(val, "smtps") == 0)
                                o.tls = RELAY_TLS_SMTPS;
                        else if (strcmp(val, "none") == 0)
                                o.tls = RELAY_TLS_NONE;
                        else
                                return usage();
                } else if (strcmp(opt, "--ca") == 0)
                        o.ca_file = val;
                else if (strcmp(opt, "--user") == 0)
                        o.username = val;
                else if (strcmp(opt, "--pass-env") == 0)
                        pass_env = val;
                else if (strcmp(opt, "--from") == 0)
                        m.sender = val;
                else if (strcmp(opt, "--to") == 0) {
                        if (n_rcpt == TOOL_RCPT_MAX) {
                                fprintf(stderr, "smtp_send_tool: at most %d recipients\n",
                                        TOOL_RCPT_MAX);
                                return 2;
                        }
                        recipients[n_rcpt++] = val;
                } else if (strcmp(opt, "--body") == 0)
                        body = val;
                else if (strcmp(opt, "--count") == 0) {
                        if (parse_uint64(val, &count) < 0 || count == 0)
                                return usage();
                } else if (strcmp(opt, "--pause-ms") == 0) {
                        if (parse_uint64(val, &pause_ms) < 0)
                                return usage();
                } else if (strcmp(opt, "--timeout-ms") == 0) {
                        if (parse_uint64(val, &timeout_ms) < 0 || timeout_ms == 0)
                                return usage();
                } else if (strcmp(opt, "--helo") == 0)
                        o.helo = val;
                else
                        return usage();
        }
        if (!o.host || port == 0 || !m.sender || n_rcpt == 0 || !body)
                return usage();
        o.port = (uint16_t)port;
        o.connect_timeout_ms = o.command_timeout_ms = timeout_ms;
        if (pass_env) {
                o.password = getenv(pass_env);
                if (!o.password) {
                        fprintf(stderr, "smtp_send_tool: $%s is not set\n", pass_env);
                        return 2;
                }
        }

        fd = open(body, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0) {
                fprintf(stderr, "smtp_send_tool: %s: %s\n", body, strerror(errno));
                return 2;
        }
        m.recipients = recipients;
        m.n_recipients = n_rcpt;
        m.body_fd = fd;
        m.body_size = (uint64_t)st.st_size;
        r = body_is_8bit(fd, m.body_size, &m.body_8bit);
        if (r < 0) {
                fprintf(stderr, "smtp_send_tool: %s: %s\n", body, strerror(-r));
                return 2;
        }

        r = smtp_client_connect(&o, &c, &err);
        if (r < 0) {
                print_error(&err);
                fprintf(stderr, "smtp_send_tool: connect: %s\n", strerror(-r));
                (void)close(fd);
                return 1;
        }
        printf("connected peer=%s max_size=%llu\n", smtp_client_peer(c),
               (unsigned long long)smtp_client_max_size(c));

        for (uint64_t k = 1; k <= count; k++) {
                char text[SMTP_REPLY_TEXT_MAX + 8];

                if (k > 1 && pause_ms > 0) {
                        (void)fflush(stdout);
                        sleep_ms(pause_ms);
                }
                printf("message=%llu\n", (unsigned long long)k);
                r = smtp_client_send(c, &m, rcpt, &final, &err);
                for (size_t i = 0; i < n_rcpt; i++)
                        printf("rcpt=%s class=%s code=%d text=%s\n", recipients[i],
                               class_name(rcpt[i].cls), rcpt[i].code, rcpt[i].text);
                if (r < 0) {
                        print_error(&err);
                        fprintf(stderr, "smtp_send_tool: send: %s\n", strerror(-r));
                        rc = 1;
                        break;
                }
                if (final.code == 0) {
                        printf("final=none\n");
                        rc = 1;
                        continue;
                }
                smtp_reply_text(&final, text, sizeof(text));
                printf("final=%d class=%s text=%s\n", final.code,
                       class_name(smtp_client_classify(final.code, text)), text);
                if (final.code / 100 != 2) {
                        rc = 1;
                        r = smtp_client_rset(c, &err);
                        if (r < 0) {
                                print_error(&err);
                                break;
                        }
                }
        }
        (void)fflush(stdout);
        c = smtp_client_quit(c);
        (void)close(fd);
        return rc;
}
