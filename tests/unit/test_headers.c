/* SPDX-License-Identifier: MIT */
/*
 * test_headers - the header section rewrite (relay/headers.c): where the header section
 * ends (CRLF, LF, none, no body), the Received: header in Postfix's layout, Message-ID: and
 * Date: added only when missing (a folded "Date:" does not count), completion of bare local
 * names in address headers (display names, comments, lists, quoted strings with commas or
 * '@', folding) and leaving alone what is not understood (groups, routes, broken quoting),
 * the size limit, and envelope address completion. The dates were made with
 * `date -u -R -d @1705399200`, not by the code under test.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "headers.h"

#define RECEIVED                                                          \
        "Received: from client.example.net (localhost [127.0.0.1])\r\n"   \
        "\tby relay.example.com (mailinit) with ESMTP id 4F3C51C0A2B\r\n" \
        "\tfor <x@example.org>; Tue, 16 Jan 2024 10:00:00 +0000\r\n"
#define MESSAGE_ID "Message-ID: <20240116100000.4F3C51C0A2B@relay.example.com>\r\n"
#define DATE       "Date: Tue, 16 Jan 2024 10:00:00 +0000\r\n"
#define ADDED      MESSAGE_ID DATE "\r\n"

static const struct headers_context context = {
        .myhostname = "relay.example.com",
        .myorigin = "example.com",
        .client_name = "localhost",
        .client_addr = "127.0.0.1",
        .helo = "client.example.net",
        .protocol = "ESMTP",
        .queue_id = "4F3C51C0A2B",
        .recipient = "x@example.org",
        .now = 1705399200,
};

struct end_case {
        const char *msg;
        size_t want;
};

static void test_end(void **state)
{
        static const struct end_case cases[] = {
                {"Subject: x\r\n\r\nbody", 14},
                {"Subject: x\n\nbody", 12},
                {"Subject: x\r\n\r\n", 14},
                {"Subject: x\r\n folded\r\n\tagain\r\n\r\nbody\r\n", 31},
                {"Subject: x\r\nFrom: a\nTo: b\r\n\nbody", 28},
                {"Subject : obsolete space\r\n\r\n", 28},
                {"X:\r\n\r\n", 6},
                /* all headers, no body */
                {"Subject: x\r\nFrom: y", 19},
                {"Subject: x\r\n", 12},
                {"Subject: x", 10},
                {"Subject: a\r\n\tb", 14},
                /* no header section: all body */
                {"", 0},
                {"no header line\r\n\r\n", 0},
                {" Subject: continuation first\r\n\r\n", 0},
                {"\tSubject: x\r\n\r\n", 0},
                {"From me Tue Jan 16 10:00:00 2024\r\nSubject: x\r\n\r\n", 0},
                {":\r\n\r\n", 0},
                {"Sub ject: x\r\n\r\n", 0},
                {"Subj\xc3\xa9t: x\r\n\r\n", 0},
                /* an empty header section: the empty line alone */
                {"\r\nbody", 2},
                {"\nbody", 1},
                /* a non-header line ends the section without an empty line */
                {"Subject: x\r\nnot a header\r\n\r\n", 12},
                {"Subject: x\r\nSubject\r\n", 12},
                /* a whitespace-only line is a continuation, not the end */
                {"Subject: x\r\n \r\n\r\n", 17},
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                size_t got = headers_end(cases[i].msg, strlen(cases[i].msg));

                if (got != cases[i].want)
                        fail_msg("case %zu: headers_end(\"%s\"): got %zu, want %zu", i,
                                 cases[i].msg, got, cases[i].want);
        }
}

struct rewrite_case {
        const char *section;
        const char *want; /* after RECEIVED */
};

static void check_rewrite(size_t i, const char *section, size_t len,
                          const struct headers_context *ctx, const char *want)
{
        struct buf out;
        int r;

        buf_init(&out, 2 * HEADERS_SECTION_MAX);
        r = headers_rewrite(section, len, ctx, &out);
        if (r != 0)
                fail_msg("case %zu: headers_rewrite(\"%s\"): %d", i, section, r);
        if (out.len != strlen(want) || memcmp(out.data, want, out.len) != 0)
                fail_msg("case %zu: headers_rewrite(\"%s\"):\ngot:\n%s\nwant:\n%s", i, section,
                         out.data, want);
        buf_done(&out);
}

static void test_rewrite(void **state)
{
        static const struct rewrite_case cases[] = {
                /* no header section at all, or an empty one */
                {"", ADDED},
                {"\r\n", ADDED},
                {"\n", ADDED},
                {"Subject: hi\r\n\r\n", "Subject: hi\r\n" ADDED},
                /* LF and a missing final line break become CRLF */
                {"Subject: hi\nX-A: b\n\n", "Subject: hi\r\nX-A: b\r\n" ADDED},
                {"Subject: hi", "Subject: hi\r\n" ADDED},
                {"Subject: hi\r\n folded\n\tagain\r\n\r\n",
                 "Subject: hi\r\n folded\r\n\tagain\r\n" ADDED},
                /* present: nothing added, whatever the case of the name */
                {"Message-ID: <a@b>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n",
                 "Message-ID: <a@b>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n"},
                {"message-id: <a@b>\r\nDATE: x\r\n\r\n", "message-id: <a@b>\r\nDATE: x\r\n\r\n"},
                {"Message-Id : <a@b>\r\n\r\n", "Message-Id : <a@b>\r\n" DATE "\r\n"},
                {"Date: x\r\n\r\n", "Date: x\r\n" MESSAGE_ID "\r\n"},
                /* look-alikes do not count */
                {"Resent-Message-ID: <a@b>\r\nResent-Date: x\r\n\r\n",
                 "Resent-Message-ID: <a@b>\r\nResent-Date: x\r\n" ADDED},
                {"X-A: a\r\n Date: folded\r\n Message-ID: <folded@x>\r\n\r\n",
                 "X-A: a\r\n Date: folded\r\n Message-ID: <folded@x>\r\n" ADDED},
                {"X-Date: x\r\n\r\n", "X-Date: x\r\n" ADDED},
                /* bare local names */
                {"From: root\r\n", "From: root@example.com\r\n" ADDED},
                {"From: Root User <root>\r\n", "From: Root User <root@example.com>\r\n" ADDED},
                {"Sender: john.doe\r\n", "Sender: john.doe@example.com\r\n" ADDED},
                {"Reply-To: jdoe (John Doe)\r\n",
                 "Reply-To: jdoe@example.com (John Doe)\r\n" ADDED},
                {"Cc: \"Doe, John\" <jdoe>\r\n", "Cc: \"Doe, John\" <jdoe@example.com>\r\n" ADDED},
                {"Cc: \"jdoe@example.org\" <jdoe>\r\n",
                 "Cc: \"jdoe@example.org\" <jdoe@example.com>\r\n" ADDED},
                {"To: a, b@x.org, \"Doe, John\" <jdoe>, c (Comment, with <stuff> @ in), <d>\r\n",
                 "To: a@example.com, b@x.org, \"Doe, John\" <jdoe@example.com>, c@example.com "
                 "(Comment, with <stuff> @ in), <d@example.com>\r\n" ADDED},
                {"to: a\r\ncc: b\r\nFROM: c\r\n",
                 "to: a@example.com\r\ncc: b@example.com\r\nFROM: c@example.com\r\n" ADDED},
                {"To : a\r\n", "To : a@example.com\r\n" ADDED},
                {"From: \"quoted local\"\r\n", "From: \"quoted local\"@example.com\r\n" ADDED},
                {"From: =?utf-8?q?J=C3=B6rg?= <joerg>\r\n",
                 "From: =?utf-8?q?J=C3=B6rg?= <joerg@example.com>\r\n" ADDED},
                {"From: j\xc3\xb6rg\r\n", "From: j\xc3\xb6rg@example.com\r\n" ADDED},
                {"From: John Q. Public <jqp>\r\n",
                 "From: John Q. Public <jqp@example.com>\r\n" ADDED},
                {"From: Name < user > (c)\r\n", "From: Name < user@example.com > (c)\r\n" ADDED},
                {"To: a@[192.0.2.1], b\r\n", "To: a@[192.0.2.1], b@example.com\r\n" ADDED},
                {"To: a,,b,\r\n", "To: a@example.com,,b@example.com,\r\n" ADDED},
                {"To: a@b.c, <d@e.f>, Name <g@h.i>\r\n",
                 "To: a@b.c, <d@e.f>, Name <g@h.i>\r\n" ADDED},
                /* folding is kept, and completion goes on over continuation lines */
                {"To: a,\r\n b,\r\n\tc@x.org,\r\n \"Doe,\r\n John\" <jdoe>\r\n",
                 "To: a@example.com,\r\n b@example.com,\r\n\tc@x.org,\r\n \"Doe,\r\n John\" "
                 "<jdoe@example.com>\r\n" ADDED},
                {"To: a,\n b\n\n", "To: a@example.com,\r\n b@example.com\r\n" ADDED},
                /* not address headers */
                {"Subject: root\r\nX-To: a\r\nResent-To: b\r\n",
                 "Subject: root\r\nX-To: a\r\nResent-To: b\r\n" ADDED},
                /* not understood: left as it is */
                {"To: friends: a, b;\r\n", "To: friends: a, b;\r\n" ADDED},
                {"To: undisclosed-recipients:;\r\n", "To: undisclosed-recipients:;\r\n" ADDED},
                {"To: John Doe\r\n", "To: John Doe\r\n" ADDED},
                {"To: a, John Doe\r\n", "To: a, John Doe\r\n" ADDED},
                {"To: <a\r\n", "To: <a\r\n" ADDED},
                {"To: a>\r\n", "To: a>\r\n" ADDED},
                {"To: <<a>>\r\n", "To: <<a>>\r\n" ADDED},
                {"To: <a> <b>\r\n", "To: <a> <b>\r\n" ADDED},
                {"To: Name <user> trailing\r\n", "To: Name <user> trailing\r\n" ADDED},
                {"To: \"unterminated, a\r\n", "To: \"unterminated, a\r\n" ADDED},
                {"To: a (unterminated comment\r\n", "To: a (unterminated comment\r\n" ADDED},
                {"To: a) b\r\n", "To: a) b\r\n" ADDED},
                {"To: <@route.example:user@x>\r\n", "To: <@route.example:user@x>\r\n" ADDED},
                {"From: .bad\r\n", "From: .bad\r\n" ADDED},
                {"From: bad.\r\n", "From: bad.\r\n" ADDED},
                {"From: a..b\r\n", "From: a..b\r\n" ADDED},
                {"From: a@b@c\r\n", "From: a@b@c\r\n" ADDED},
                {"From: <a@b@c>\r\n", "From: <a@b@c>\r\n" ADDED},
                {"From: [192.0.2.1]\r\n", "From: [192.0.2.1]\r\n" ADDED},
                {"From: a \\b\r\n", "From: a \\b\r\n" ADDED},
                {"From: <john doe>\r\n", "From: <john doe>\r\n" ADDED},
                /* nothing to complete */
                {"From:\r\nTo:   \r\nReply-To: <>\r\n",
                 "From:\r\nTo:   \r\nReply-To: <>\r\n" ADDED},
                /* a leading continuation or a stray line in the section is copied */
                {" stray\r\nSubject: x\r\n", " stray\r\nSubject: x\r\n" ADDED},
                /* nothing after the empty line is ours */
                {"Subject: x\r\n\r\nFrom: body\r\n", "Subject: x\r\n" ADDED},
        };
        char want[4096];
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                (void)snprintf(want, sizeof want, "%s%s", RECEIVED, cases[i].want);
                check_rewrite(i, cases[i].section, strlen(cases[i].section), &context, want);
        }
}

struct received_case {
        const char *helo, *client_name, *client_addr, *protocol, *recipient;
        const char *want; /* up to "; " */
};

static void test_received(void **state)
{
        static const struct received_case cases[] = {
                {"client.example.net", "localhost", "127.0.0.1", "ESMTP", NULL,
                 "Received: from client.example.net (localhost [127.0.0.1])\r\n"
                 "\tby relay.example.com (mailinit) with ESMTP id 4F3C51C0A2B; "},
                {"[192.0.2.7]", "unknown", "192.0.2.7", "ESMTPSA", "a@b.c",
                 "Received: from [192.0.2.7] (unknown [192.0.2.7])\r\n"
                 "\tby relay.example.com (mailinit) with ESMTPSA id 4F3C51C0A2B\r\n"
                 "\tfor <a@b.c>; "},
                /* no HELO: the client's name stands in, as in Postfix */
                {NULL, "localhost", "::1", "SMTP", NULL,
                 "Received: from localhost (localhost [::1])\r\n"
                 "\tby relay.example.com (mailinit) with SMTP id 4F3C51C0A2B; "},
                {"", "localhost", "127.0.0.1", "SMTP", NULL,
                 "Received: from localhost (localhost [127.0.0.1])\r\n"
                 "\tby relay.example.com (mailinit) with SMTP id 4F3C51C0A2B; "},
                /* local submission: no client at all */
                {NULL, NULL, NULL, "local", NULL,
                 "Received: by relay.example.com (mailinit) with local id 4F3C51C0A2B; "},
                {NULL, NULL, NULL, NULL, NULL,
                 "Received: by relay.example.com (mailinit) with SMTP id 4F3C51C0A2B; "},
                /* control characters from the client cannot start a header line */
                {"evil\r\nBcc: victim@example.org", "localhost", "127.0.0.1", "SMTP", "a@b\r\nX: y",
                 "Received: from evil??Bcc: victim@example.org (localhost [127.0.0.1])\r\n"
                 "\tby relay.example.com (mailinit) with SMTP id 4F3C51C0A2B\r\n"
                 "\tfor <a@b??X: y>; "},
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                const struct received_case *c = &cases[i];
                struct headers_context ctx = context;
                char want[1024];

                ctx.helo = c->helo;
                ctx.client_name = c->client_name;
                ctx.client_addr = c->client_addr;
                ctx.protocol = c->protocol;
                ctx.recipient = c->recipient;
                (void)snprintf(want, sizeof want, "%sTue, 16 Jan 2024 10:00:00 +0000\r\n%s",
                               c->want, ADDED);
                check_rewrite(i, "", 0, &ctx, want);
        }
}

static void test_context(void **state)
{
        struct headers_context ctx = context;
        struct buf out;

        (void)state;
        /* without myorigin nothing is completed */
        ctx.myorigin = NULL;
        check_rewrite(0, "From: root\r\nTo: <a>\r\n", 21, &ctx,
                      RECEIVED "From: root\r\nTo: <a>\r\n" ADDED);
        ctx.myorigin = "";
        check_rewrite(1, "From: root\r\n", 12, &ctx, RECEIVED "From: root\r\n" ADDED);

        /* other times: 1970, a one-digit day, 9999; beyond that the date cannot be written */
        ctx = context;
        ctx.now = 0;
        ctx.recipient = NULL;
        check_rewrite(2, "", 0, &ctx,
                      "Received: from client.example.net (localhost [127.0.0.1])\r\n"
                      "\tby relay.example.com (mailinit) with ESMTP id 4F3C51C0A2B; "
                      "Thu, 1 Jan 1970 00:00:00 +0000\r\n"
                      "Message-ID: <19700101000000.4F3C51C0A2B@relay.example.com>\r\n"
                      "Date: Thu, 1 Jan 1970 00:00:00 +0000\r\n\r\n");
        ctx.now = 253402300799;
        check_rewrite(3, "Message-ID: <x@y>\r\n", 19, &ctx,
                      "Received: from client.example.net (localhost [127.0.0.1])\r\n"
                      "\tby relay.example.com (mailinit) with ESMTP id 4F3C51C0A2B; "
                      "Fri, 31 Dec 9999 23:59:59 +0000\r\n"
                      "Message-ID: <x@y>\r\n"
                      "Date: Fri, 31 Dec 9999 23:59:59 +0000\r\n\r\n");
        ctx.now = 253402300800;
        buf_init(&out, 4096);
        assert_int_equal(headers_rewrite("", 0, &ctx, &out), -EOVERFLOW);
        assert_int_equal(out.len, 0);
        buf_done(&out);
}

static void test_limits(void **state)
{
        const char *list = "From: a, b, c, d, e, f, g, h, i\r\n";
        size_t n = HEADERS_SECTION_MAX + 1;
        char *big = malloc(n);
        struct buf out;

        (void)state;
        assert_non_null(big);
        /* "X: aaaa...\r\n" lines */
        for (size_t i = 0; i < n; i++)
                big[i] = i % 100 == 98   ? '\r'
                         : i % 100 == 99 ? '\n'
                         : i % 100 < 3   ? "X: "[i % 100]
                                         : 'a';
        buf_init(&out, 4 * HEADERS_SECTION_MAX);
        assert_int_equal(buf_append_str(&out, "kept"), 0);
        assert_int_equal(headers_rewrite(big, n, &context, &out), -EFBIG);
        assert_int_equal(out.len, 4);
        assert_string_equal(out.data, "kept");
        /* exactly the maximum is fine, and appended */
        assert_int_equal(headers_rewrite(big, n - 1, &context, &out), 0);
        assert_memory_equal(out.data, "kept" RECEIVED, strlen("kept" RECEIVED));
        assert_true(out.len > n);
        buf_done(&out);

        /* an output buffer too small: -EFBIG, and the buffer as it was */
        buf_init(&out, 300);
        assert_int_equal(buf_append_str(&out, "kept"), 0);
        assert_int_equal(headers_rewrite(list, strlen(list), &context, &out), -EFBIG);
        assert_int_equal(out.len, 4);
        assert_string_equal(out.data, "kept");
        buf_done(&out);
        free(big);
}

struct complete_case {
        const char *address, *origin;
        size_t size;
        int want_r;
        const char *want;
};

static void test_complete_address(void **state)
{
        static const struct complete_case cases[] = {
                {"user", "example.com", 64, 0, "user@example.com"},
                {"postmaster", "example.com", 64, 0, "postmaster@example.com"},
                {"user@example.org", "example.com", 64, 0, "user@example.org"},
                {"", "example.com", 64, 0, ""}, /* the null sender */
                {"\"a@b\"", "example.com", 64, 0, "\"a@b\"@example.com"},
                {"\"a\\\"@b\"", "example.com", 64, 0, "\"a\\\"@b\"@example.com"},
                {"\"a b\"@example.org", "example.com", 64, 0, "\"a b\"@example.org"},
                {"j\xc3\xb6rg", "example.com", 64, 0, "j\xc3\xb6rg@example.com"},
                {"user", NULL, 64, 0, "user"},
                {"user", "", 64, 0, "user"},
                /* sizes: "user@example.com" needs 17 bytes */
                {"user", "example.com", 17, 0, "user@example.com"},
                {"user", "example.com", 16, -ENOBUFS, NULL},
                {"user@x", "example.com", 7, 0, "user@x"},
                {"user@x", "example.com", 6, -ENOBUFS, NULL},
                {"", "example.com", 1, 0, ""},
                {"", "example.com", 0, -ENOBUFS, NULL},
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                const struct complete_case *c = &cases[i];
                char out[64];
                int r;

                memset(out, 'Z', sizeof out);
                r = headers_complete_address(c->address, c->origin, out, c->size);
                if (r != c->want_r)
                        fail_msg("case %zu: headers_complete_address(\"%s\", size %zu): got %d, "
                                 "want %d",
                                 i, c->address, c->size, r, c->want_r);
                if (c->want && strcmp(out, c->want) != 0)
                        fail_msg("case %zu: headers_complete_address(\"%s\"): got \"%s\", want "
                                 "\"%s\"",
                                 i, c->address, out, c->want);
                if (!c->want && out[0] != 'Z')
                        fail_msg("case %zu: out written on failure", i);
        }
}

/* what the relay's pickup adds to a locally submitted message (Postfix's pickup layout) */
static void test_local(void **state)
{
        struct headers_context ctx = context;
        struct buf out;
        const char *text = "Subject: s\r\n\r\n";

        (void)state;
        ctx.client_name = ctx.client_addr = ctx.helo = NULL;
        ctx.protocol = "local";
        ctx.local = true;
        ctx.local_uid = 1001;
        ctx.from = "Jane <jane@example.com>";
        buf_init(&out, 1 << 16);
        assert_int_equal(headers_rewrite(text, strlen(text), &ctx, &out), 0);
        assert_string_equal(out.data,
                            "Received: by relay.example.com (mailinit, from userid 1001)\r\n"
                            "\tid 4F3C51C0A2B\r\n"
                            "\tfor <x@example.org>; Tue, 16 Jan 2024 10:00:00 +0000\r\n"
                            "Subject: s\r\n"
                            "From: Jane <jane@example.com>\r\n" ADDED);
        buf_done(&out);
        /* a From: already there stays the only one; header names are case-insensitive */
        text = "fROM: me\r\n\r\n";
        buf_init(&out, 1 << 16);
        assert_int_equal(headers_rewrite(text, strlen(text), &ctx, &out), 0);
        assert_null(strstr(out.data, "Jane"));
        assert_non_null(strstr(out.data, "fROM: me@example.com\r\n"));
        buf_done(&out);
        /* a value with a line break cannot add a header of its own */
        ctx.from = "x\r\nBcc: evil@example.net";
        text = "";
        buf_init(&out, 1 << 16);
        assert_int_equal(headers_rewrite(text, 0, &ctx, &out), 0);
        assert_null(strstr(out.data, "\r\nBcc:"));
        buf_done(&out);
}

struct mailbox_case {
        const char *name;
        const char *want;
};

static void test_mailbox(void **state)
{
        static const struct mailbox_case cases[] = {
                {NULL, "a@example.com"},
                {"", "a@example.com"},
                {"CronDaemon", "CronDaemon <a@example.com>"},
                {"Jane Q. Doe", "\"Jane Q. Doe\" <a@example.com>"},
                {"Doe, Jane", "\"Doe, Jane\" <a@example.com>"},
                {"say \"hi\"", "\"say \\\"hi\\\"\" <a@example.com>"},
                /* UTF-8: an RFC 2047 encoded-word ("Zoë" is Wm/Dqw== in base64) */
                {"Zo\xc3\xab", "=?UTF-8?B?Wm/Dqw==?= <a@example.com>"},
        };

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct buf out;

                buf_init(&out, 1024);
                assert_int_equal(headers_mailbox(cases[i].name, "a@example.com", &out), 0);
                if (strcmp(out.data, cases[i].want) != 0)
                        fail_msg("'%s': got '%s', want '%s'",
                                 cases[i].name ? cases[i].name : "(null)", out.data, cases[i].want);
                buf_done(&out);
        }
}

/* a long non-ASCII name: several encoded-words, none over 75 characters, no UTF-8 character
 * cut in two (each word decodes on its own) */
static void test_mailbox_long(void **state)
{
        char name[61];
        struct buf out;
        const char *p;
        int words = 0;

        (void)state;
        for (size_t i = 0; i < 60; i += 2)
                memcpy(name + i, "\xc3\xa9", 2);
        name[60] = '\0';
        buf_init(&out, 1024);
        assert_int_equal(headers_mailbox(name, "a@example.com", &out), 0);
        /* 22 characters (44 bytes), then 8; base64 by Python's base64 module, not this code */
        assert_string_equal(
                out.data,
                "=?UTF-8?B?w6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6k=?= "
                "=?UTF-8?B?w6nDqcOpw6nDqcOpw6nDqQ==?= <a@example.com>");
        for (p = out.data; (p = strstr(p, "=?UTF-8?B?")); p++) {
                const char *end = strstr(p, "?=");

                assert_non_null(end);
                assert_true(end + 2 - p <= 75);
                words++;
        }
        assert_int_equal(words, 2);
        buf_done(&out);
}

static void test_next_field(void **state)
{
        const char *s = "To: a,\r\n b\r\nX-Y: z\r\nnot a header\r\n\r\nbody";
        size_t end = headers_end(s, strlen(s)), off = 0;
        struct headers_field f;

        (void)state;
        assert_true(headers_next_field(s, end, &off, &f));
        assert_true(headers_field_is(s, &f, "to"));
        assert_int_equal(f.start, 0);
        assert_int_equal(f.value, 3);
        assert_int_equal(f.end, 12);
        assert_true(headers_next_field(s, end, &off, &f));
        assert_true(headers_field_is(s, &f, "X-Y"));
        assert_false(headers_field_is(s, &f, "X"));
        assert_int_equal(f.end, 20);
        /* "not a header" ended the section */
        assert_int_equal(end, 20);
        assert_false(headers_next_field(s, end, &off, &f));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_end),        cmocka_unit_test(test_rewrite),
                cmocka_unit_test(test_received),   cmocka_unit_test(test_context),
                cmocka_unit_test(test_limits),     cmocka_unit_test(test_complete_address),
                cmocka_unit_test(test_local),      cmocka_unit_test(test_mailbox),
                cmocka_unit_test(test_next_field), cmocka_unit_test(test_mailbox_long),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
