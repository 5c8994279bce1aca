/* SPDX-License-Identifier: MIT */
/*
 * dsn_tool - print the bounce relay/dsn.c builds for one of a few fixed inputs, for
 * tests/integration/test_dsn_parse.sh to parse with Python's email package.
 *   dsn_tool basic | long | 8bit | hostile
 * basic: two recipients rejected by SES; long: a diagnostic of 3000 octets without a
 * space, a 200 KiB header section with a 5000-octet line; 8bit: UTF-8 addresses and
 * headers; hostile: CR/LF and a fake boundary in the diagnostic, bare CR/LF in the
 * headers, no Remote-MTA. Exit 0, or 1 with a message on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dsn.h"

static const char basic_headers[] =
        "Received: from client.example.net (localhost [127.0.0.1])\r\n"
        "\tby relay.example.com (mailinit) with ESMTP id 4F3C51C0A2B; Tue, 16 Jan 2024 "
        "09:00:00 +0000\r\n"
        "From: sender@example.com\r\n"
        "To: a@example.org, b@example.org\r\n"
        "Subject: quarterly report\r\n"
        "Message-ID: <20240116090000.4F3C51C0A2B@relay.example.com>\r\n"
        "\r\n";

static const struct dsn_recipient basic_recipients[] = {
        {"a@example.org", "5.1.1", "550 5.1.1 <a@example.org>: Recipient address rejected"},
        {"b@example.org", "5.7.1",
         "554 Message rejected: Email address is not verified. The following identities failed "
         "the check in region EU-WEST-1: b@example.org"},
};

static const char utf8_headers[] = "From: J\xc3\xb6rg <j\xc3\xb6rg@example.com>\r\n"
                                   "To: \xc3\xa9l\xc3\xa8ve@example.org\r\n"
                                   "Subject: =?utf-8?q?r=C3=A9sum=C3=A9?=\r\n";

static const struct dsn_recipient utf8_recipients[] = {
        {"\xc3\xa9l\xc3\xa8ve@example.org", "5.1.1", "550 5.1.1 unknown user \xc3\xa9l\xc3\xa8ve"},
};

static const char hostile_headers[] = "Subject: a\nX-CR: b\rX-Two: c\r\n"
                                      "X-Folded: d\n\te\r\n"
                                      "--mailinit.0000\r\n"
                                      "\r\n"
                                      "body: not returned\r\n";

static const struct dsn_recipient hostile_recipients[] = {
        {"a@example.org", "5.0.0",
         "550-first line\r\n550-Bcc: victim@example.org\r\n550 --mailinit.0000--\r\n\r\nbody"},
        {"b@example.org", "not a status", NULL},
        {"c@example.org", NULL, "connection timed out"},
};

int main(int argc, char **argv)
{
        struct dsn_params p = {
                .reporting_mta = "relay.example.com",
                .queue_id = "4F3C51C0A2B",
                .sender = "sender@example.com",
                .arrival = 1705395600,
                .now = 1705399200,
                .remote_mta = "email-smtp.eu-west-1.amazonaws.com",
                .recipients = basic_recipients,
                .n_recipients = 2,
                .reason = "The message was rejected by the relay host.",
                .original_headers = basic_headers,
                .original_headers_len = sizeof basic_headers - 1,
        };
        struct dsn_recipient long_recipient = {"long@example.org", "5.3.4", NULL};
        char *diag = NULL, *big = NULL;
        struct buf out;
        int r;

        if (argc != 2) {
                fprintf(stderr, "usage: dsn_tool basic|long|8bit|hostile\n");
                return 1;
        }
        if (strcmp(argv[1], "long") == 0) {
                size_t n = 200 * 1024;

                diag = malloc(3001);
                big = malloc(n);
                if (!diag || !big)
                        return 1;
                memset(diag, 'w', 3000);
                memcpy(diag, "552 ", 4);
                diag[3000] = '\0';
                long_recipient.diagnostic = diag;
                p.recipients = &long_recipient;
                p.n_recipients = 1;
                for (size_t i = 0; i < n; i++)
                        big[i] = i < 5000 ? 'v' : (i - 5000) % 50 == 49 ? '\n' : 'h';
                memcpy(big, "X-Long: ", 8);
                big[4999] = '\n';
                for (size_t i = 5000; i + 5 < n; i += 50)
                        memcpy(big + i, "X-H: ", 5);
                p.original_headers = big;
                p.original_headers_len = n;
        } else if (strcmp(argv[1], "8bit") == 0) {
                p.sender = "j\xc3\xb6rg@example.com";
                p.recipients = utf8_recipients;
                p.n_recipients = 1;
                p.original_headers = utf8_headers;
                p.original_headers_len = sizeof utf8_headers - 1;
        } else if (strcmp(argv[1], "hostile") == 0) {
                p.remote_mta = NULL;
                p.reason = "Line one\r\nX-Injected: yes";
                p.recipients = hostile_recipients;
                p.n_recipients = 3;
                p.original_headers = hostile_headers;
                p.original_headers_len = sizeof hostile_headers - 1;
        } else if (strcmp(argv[1], "basic") != 0) {
                fprintf(stderr, "dsn_tool: unknown case '%s'\n", argv[1]);
                return 1;
        }

        buf_init(&out, 4 * 1024 * 1024);
        r = dsn_build(&p, &out);
        if (r < 0) {
                fprintf(stderr, "dsn_tool: dsn_build: %s\n", strerror(-r));
                return 1;
        }
        if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
                fprintf(stderr, "dsn_tool: write failed\n");
                return 1;
        }
        buf_done(&out);
        free(diag);
        free(big);
        return 0;
}
