/* SPDX-License-Identifier: MIT */
/*
 * test_dsn - the bounce message (relay/dsn.c): headers of the notification, the three
 * parts of the multipart/report between a boundary that occurs nowhere else, the
 * per-message and per-recipient fields of the delivery-status part, CRLF only and lines of
 * at most 998 octets (folding long diagnostics, cutting words longer than a line), control
 * characters from remote replies neutralised, the returned headers normalised, stopped at
 * the empty line and capped at 64 KiB, 8-bit content declared, and the refusals: no bounce
 * to the null sender. The dates were made with `date -u -R`, not by the code under test.
 * tests/integration/test_dsn_parse.sh checks the structure with Python's email package.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "dsn.h"

#define ORIGINAL_FIELDS                                                                  \
        "Received: from client.example.net (localhost [127.0.0.1])\r\n"                  \
        "\tby relay.example.com (mailinit) with ESMTP id 4F3C51C0A2B; Tue, 16 Jan 2024 " \
        "09:00:00 +0000\r\n"                                                             \
        "From: sender@example.com\r\n"                                                   \
        "To: a@example.org, b@example.org\r\n"                                           \
        "Subject: quarterly report\r\n"
#define ORIGINAL_HEADERS ORIGINAL_FIELDS "\r\n"

static const struct dsn_recipient two_recipients[] = {
        {"a@example.org", "5.1.1", "550 5.1.1 <a@example.org>: Recipient address rejected"},
        {"b@example.org", "5.7.1",
         "554 Message rejected: Email address is not verified. The following identities failed "
         "the check in region EU-WEST-1: b@example.org"},
};

static struct dsn_params base_params(void)
{
        return (struct dsn_params){
                .reporting_mta = "relay.example.com",
                .queue_id = "4F3C51C0A2B",
                .sender = "sender@example.com",
                .arrival = 1705395600,
                .now = 1705399200,
                .remote_mta = "email-smtp.eu-west-1.amazonaws.com",
                .recipients = two_recipients,
                .n_recipients = 2,
                .reason = "The message was rejected by the relay host.",
                .original_headers = ORIGINAL_HEADERS,
                .original_headers_len = sizeof ORIGINAL_HEADERS - 1,
        };
}

/* A built bounce, split at its boundary. */
struct parsed {
        struct buf msg;
        char boundary[128];
        const char *part[3]; /* each part's headers and content, up to the CRLF before "--" */
        size_t part_len[3];
};

static const char *find(const char *hay, size_t n, const char *needle)
{
        return memmem(hay, n, needle, strlen(needle));
}

static size_t count(const char *hay, size_t n, const char *needle)
{
        size_t c = 0;
        const char *p = hay, *end = hay + n;

        while ((p = find(p, (size_t)(end - p), needle))) {
                c++;
                p += strlen(needle);
        }
        return c;
}

/* check_lines - CRLF only, no NUL, every line at most 998 octets */
static void check_lines(const char *m, size_t n)
{
        size_t line = 0;

        for (size_t i = 0; i < n; i++) {
                if (m[i] == '\0')
                        fail_msg("NUL at offset %zu", i);
                if (m[i] == '\r' && (i + 1 >= n || m[i + 1] != '\n'))
                        fail_msg("bare CR at offset %zu", i);
                if (m[i] == '\n' && (i == 0 || m[i - 1] != '\r'))
                        fail_msg("bare LF at offset %zu", i);
                if (m[i] == '\n') {
                        if (line - 1 > 998)
                                fail_msg("line of %zu octets ending at offset %zu", line - 1, i);
                        line = 0;
                } else {
                        line++;
                }
        }
        if (n < 2 || m[n - 2] != '\r' || m[n - 1] != '\n')
                fail_msg("the message does not end with CRLF");
}

static void build(const struct dsn_params *p, struct parsed *ret)
{
        const char *b, *e, *m;
        char delim[160];
        size_t n;
        int r;

        memset(ret, 0, sizeof *ret);
        buf_init(&ret->msg, 4 * 1024 * 1024);
        r = dsn_build(p, &ret->msg);
        if (r != 0)
                fail_msg("dsn_build: %d", r);
        m = ret->msg.data;
        n = ret->msg.len;
        check_lines(m, n);

        b = find(m, n, "\tboundary=\"");
        assert_non_null(b);
        b += strlen("\tboundary=\"");
        e = strchr(b, '"');
        assert_non_null(e);
        assert_true((size_t)(e - b) < sizeof ret->boundary && e > b);
        memcpy(ret->boundary, b, (size_t)(e - b));
        /* RFC 2046 5.1.1 bchars, at most 70 */
        assert_true(strlen(ret->boundary) <= 70);
        assert_int_equal(strspn(ret->boundary, "0123456789abcdefghijklmnopqrstuvwxyz"
                                               "ABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=?"),
                         strlen(ret->boundary));

        /* three delimiters and the close delimiter, and the boundary nowhere else */
        (void)snprintf(delim, sizeof delim, "\r\n--%s\r\n", ret->boundary);
        assert_int_equal(count(m, n, delim), 3);
        (void)snprintf(delim, sizeof delim, "\r\n--%s--\r\n", ret->boundary);
        assert_int_equal(count(m, n, delim), 1);
        assert_true(find(m, n, delim) + strlen(delim) == m + n);
        assert_int_equal(count(m, n, ret->boundary), 5); /* Content-Type and the four above */

        (void)snprintf(delim, sizeof delim, "\r\n--%s", ret->boundary);
        b = find(m, n, delim);
        for (int i = 0; i < 3; i++) {
                b += strlen(delim) + 2;
                e = find(b, n - (size_t)(b - m), delim);
                assert_non_null(e);
                ret->part[i] = b;
                ret->part_len[i] = (size_t)(e - b);
                b = e;
        }
}

static void parsed_done(struct parsed *p)
{
        buf_done(&p->msg);
}

static void want_in(const char *what, const char *hay, size_t n, const char *needle)
{
        if (!find(hay, n, needle))
                fail_msg("%s: want \"%s\" in:\n%.*s", what, needle, (int)n, hay);
}

static void test_structure(void **state)
{
        static const char *const want_headers[] = {
                "Date: Tue, 16 Jan 2024 10:00:00 +0000\r\n",
                "From: MAILER-DAEMON@relay.example.com (Mail Delivery System)\r\n",
                "Subject: Undelivered Mail Returned to Sender\r\n",
                "To: sender@example.com\r\n",
                "Auto-Submitted: auto-replied\r\n",
                "Message-ID: <4F3C51C0A2B.20240116100000@relay.example.com>\r\n",
                "MIME-Version: 1.0\r\n",
                "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"",
                "Content-Transfer-Encoding: 7bit\r\n",
        };
        static const char *const want_text[] = {
                "Content-Description: Notification\r\n"
                "Content-Type: text/plain; charset=us-ascii\r\n\r\n",
                "This is the mail system at host relay.example.com.\r\n",
                "I'm sorry to have to inform you that your message could not\r\n"
                "be delivered to one or more recipients. It's attached below.\r\n",
                "The mail system\r\n",
                "The message was rejected by the relay host.\r\n",
                "<a@example.org>: host email-smtp.eu-west-1.amazonaws.com said: 550 5.1.1\r\n"
                " <a@example.org>: Recipient address rejected\r\n",
                "<b@example.org>: host email-smtp.eu-west-1.amazonaws.com said: 554 Message\r\n"
                " rejected: Email address is not verified.",
        };
        static const char *const want_status[] = {
                "Content-Description: Delivery report\r\n"
                "Content-Type: message/delivery-status\r\n\r\n"
                "Reporting-MTA: dns; relay.example.com\r\n"
                "X-Mailinit-Queue-ID: 4F3C51C0A2B\r\n"
                "X-Mailinit-Sender: rfc822; sender@example.com\r\n"
                "Arrival-Date: Tue, 16 Jan 2024 09:00:00 +0000\r\n"
                "\r\n"
                "Final-Recipient: rfc822; a@example.org\r\n"
                "Action: failed\r\n"
                "Status: 5.1.1\r\n"
                "Remote-MTA: dns; email-smtp.eu-west-1.amazonaws.com\r\n"
                "Diagnostic-Code: smtp; 550 5.1.1 <a@example.org>: Recipient address rejected\r\n"
                "\r\n"
                "Final-Recipient: rfc822; b@example.org\r\n"
                "Action: failed\r\n"
                "Status: 5.7.1\r\n"
                "Remote-MTA: dns; email-smtp.eu-west-1.amazonaws.com\r\n"
                "Diagnostic-Code: smtp; 554 Message rejected: Email address is not verified.\r\n"
                " The following identities failed the check in region EU-WEST-1: b@example.org\r\n",
        };
        struct dsn_params p = base_params();
        struct parsed d;
        const char *body;
        size_t head_len;
        (void)state;

        build(&p, &d);
        body = strstr(d.msg.data, "\r\n\r\n");
        assert_non_null(body);
        head_len = (size_t)(body - d.msg.data) + 2;
        for (size_t i = 0; i < sizeof want_headers / sizeof want_headers[0]; i++)
                want_in("headers", d.msg.data, head_len, want_headers[i]);
        for (size_t i = 0; i < sizeof want_text / sizeof want_text[0]; i++)
                want_in("text part", d.part[0], d.part_len[0], want_text[i]);
        for (size_t i = 0; i < sizeof want_status / sizeof want_status[0]; i++)
                want_in("delivery-status part", d.part[1], d.part_len[1], want_status[i]);
        /* the returned headers, without their empty line */
        want_in("headers part", d.part[2], d.part_len[2],
                "Content-Description: Undelivered Message Headers\r\n"
                "Content-Type: text/rfc822-headers\r\n\r\n" ORIGINAL_FIELDS);
        assert_int_equal(d.part_len[2], strlen("Content-Description: Undelivered Message "
                                               "Headers\r\nContent-Type: text/rfc822-headers\r\n"
                                               "\r\n" ORIGINAL_FIELDS));
        /* Postfix keeps field lines within 78 columns where the words allow */
        for (const char *l = d.part[1]; l < d.part[1] + d.part_len[1];) {
                const char *eol = strstr(l, "\r\n");

                if ((size_t)(eol - l) > 78)
                        fail_msg("delivery-status line of %zu columns: %.*s", (size_t)(eol - l),
                                 (int)(eol - l), l);
                l = eol + 2;
        }
        parsed_done(&d);
}

struct field_case {
        const char *status, *diagnostic, *remote;
        const char *want;     /* in the delivery-status part */
        const char *not_want; /* nowhere in the message */
};

static void test_fields(void **state)
{
        static const struct field_case cases[] = {
                /* the status the caller derived, or 5.0.0 when it is not one */
                {"4.4.7", "451 4.4.7 expired", NULL, "Status: 4.4.7\r\n", NULL},
                {"5.1.10", "550", NULL, "Status: 5.1.10\r\n", NULL},
                {NULL, "550 x", NULL, "Status: 5.0.0\r\n", NULL},
                {"bogus", "550 x", NULL, "Status: 5.0.0\r\n", "bogus"},
                {"5.1", "550 x", NULL, "Status: 5.0.0\r\n", NULL},
                {"3.1.1", "550 x", NULL, "Status: 5.0.0\r\n", NULL},
                {"5.1.1\r\nX: y", "550 x", NULL, "Status: 5.0.0\r\n", "X: y"},
                {"5.1234.1", "550 x", NULL, "Status: 5.0.0\r\n", NULL},
                /* an SMTP reply, or our own words */
                {"5.0.0", "550-first line", NULL, "Diagnostic-Code: smtp; 550-first line\r\n",
                 NULL},
                {"4.4.1", "connection timed out", NULL,
                 "Diagnostic-Code: X-Mailinit; connection timed out\r\n", NULL},
                {"5.0.0", "55 short", NULL, "Diagnostic-Code: X-Mailinit; 55 short\r\n", NULL},
                /* a multi-line reply and control characters become one line of text */
                {"5.0.0", "550-first\r\n550 second\tthird\x01\x7f end  ", NULL,
                 "Diagnostic-Code: smtp; 550-first 550 second third end\r\n", NULL},
                {"5.0.0", "550 x\r\nBcc: injected", NULL,
                 "Diagnostic-Code: smtp; 550 x Bcc: injected\r\n", "\nBcc:"},
                /* nothing to say: no Diagnostic-Code */
                {"5.0.0", NULL, NULL, "Status: 5.0.0\r\n", "Diagnostic-Code"},
                {"5.0.0", " \r\n ", NULL, "Status: 5.0.0\r\n", "Diagnostic-Code"},
                /* Remote-MTA only when known */
                {"5.0.0", "550 x", NULL, "Status: 5.0.0\r\nDiagnostic-Code", "Remote-MTA"},
                {"5.0.0", "550 x", "mx.example.org", "Remote-MTA: dns; mx.example.org\r\n", NULL},
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                const struct field_case *c = &cases[i];
                struct dsn_recipient rc = {"a@example.org", c->status, c->diagnostic};
                struct dsn_params p = base_params();
                struct parsed d;

                p.recipients = &rc;
                p.n_recipients = 1;
                p.remote_mta = c->remote;
                build(&p, &d);
                if (!find(d.part[1], d.part_len[1], c->want))
                        fail_msg("case %zu: want \"%s\" in:\n%.*s", i, c->want, (int)d.part_len[1],
                                 d.part[1]);
                if (c->not_want && find(d.msg.data, d.msg.len, c->not_want))
                        fail_msg("case %zu: \"%s\" in:\n%s", i, c->not_want, d.msg.data);
                parsed_done(&d);
        }
}

/* unfold - the text of a folded field: CRLF dropped, as RFC 5322 2.2.3 unfolds */
static char *unfold(const char *s, size_t n)
{
        char *out = malloc(n + 1);
        size_t k = 0;

        assert_non_null(out);
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') {
                        i++;
                        continue;
                }
                out[k++] = s[i];
        }
        out[k] = '\0';
        return out;
}

static void test_long_lines(void **state)
{
        char *word = malloc(3001), *words = malloc(4001), *text;
        struct dsn_recipient rc[2];
        struct dsn_params p = base_params();
        struct parsed d;
        const char *f, *e;
        (void)state;

        /* one word of 3000 octets (must be cut), words of 9 octets (folded near 78) */
        assert_non_null(word);
        assert_non_null(words);
        memset(word, 'w', 3000);
        memcpy(word, "550 ", 4);
        word[3000] = '\0';
        for (int i = 0; i < 4000; i++)
                words[i] = i % 10 == 9 ? ' ' : (char)('a' + i % 10);
        memcpy(words, "550 ", 4);
        words[3999] = '\0';
        rc[0] = (struct dsn_recipient){"a@example.org", "5.0.0", word};
        rc[1] = (struct dsn_recipient){"b@example.org", "5.0.0", words};
        p.recipients = rc;
        p.n_recipients = 2;
        build(&p, &d); /* checks every line is within 998 */

        /* unfolded, the folded field is the text again; the cut word has spaces added */
        f = find(d.part[1], d.part_len[1], "Diagnostic-Code: smtp; 550\r\n wwww");
        assert_non_null(f);
        e = find(f, d.part_len[1] - (size_t)(f - d.part[1]), "\r\n\r\n");
        assert_non_null(e);
        text = unfold(f, (size_t)(e - f));
        assert_int_equal(strlen(text), strlen("Diagnostic-Code: smtp; ") + 3000 + 3);
        free(text);

        f = find(d.part[1], d.part_len[1], "Diagnostic-Code: smtp; 550 efghi ");
        assert_non_null(f);
        e = find(f, d.part_len[1] - (size_t)(f - d.part[1]), "\r\n--");
        if (!e)
                e = d.part[1] + d.part_len[1];
        text = unfold(f, (size_t)(e - f));
        assert_string_equal(text + strlen("Diagnostic-Code: smtp; "), words);
        free(text);
        for (const char *l = f; l < e;) {
                const char *eol = strstr(l, "\r\n");

                assert_true(eol - l <= 78);
                l = eol + 2;
        }
        parsed_done(&d);
        free(word);
        free(words);
}

static void test_returned_headers(void **state)
{
        static const char mixed[] = "Subject: a\nX-CR: b\rX-CRLF: c\r\nX-NUL: d\0e\r\n"
                                    "X-Folded: f\n\tg\r\n\r\nbody: not a header\r\n";
        static const char want_mixed[] = "Subject: a\r\nX-CR: b\r\nX-CRLF: c\r\nX-NUL: d?e\r\n"
                                         "X-Folded: f\r\n\tg\r\n";
        struct dsn_params p = base_params();
        struct parsed d;
        size_t n = 200 * 1024, line = 5000;
        char *big = malloc(n), *head;
        const char *content;
        (void)state;

        /* bare CR and LF become CRLF, NUL is replaced, the body is not returned */
        p.original_headers = mixed;
        p.original_headers_len = sizeof mixed - 1;
        build(&p, &d);
        content = strstr(d.part[2], "\r\n\r\n") + 4;
        assert_int_equal((size_t)(d.part[2] + d.part_len[2] - content), strlen(want_mixed));
        assert_memory_equal(content, want_mixed, strlen(want_mixed));
        parsed_done(&d);

        /* no headers at all: an empty part */
        p.original_headers = NULL;
        p.original_headers_len = 0;
        build(&p, &d);
        assert_true(d.part_len[2] > 4 && memcmp(d.part[2] + d.part_len[2] - 4, "\r\n\r\n", 4) == 0);
        parsed_done(&d);

        /* 200 KiB of headers, the first line 5000 octets: cut at 64 KiB, at a line, and the
         * long line goes on as continuation lines */
        assert_non_null(big);
        for (size_t i = 0; i < n; i++)
                big[i] = i < line ? 'v' : (i - line) % 50 == 49 ? '\n' : 'h';
        memcpy(big, "X-Long: ", 8);
        big[line - 1] = '\n';
        for (size_t i = line; i < n; i += 50)
                memcpy(big + i, "X-H: ", 5);
        p.original_headers = big;
        p.original_headers_len = n;
        build(&p, &d);
        content = strstr(d.part[2], "\r\n\r\n") + 4;
        assert_true(d.part_len[2] - (size_t)(content - d.part[2]) <= 64 * 1024);
        assert_true(d.part_len[2] - (size_t)(content - d.part[2]) > 60 * 1024);
        head = unfold(content, 998 * 6);
        assert_memory_equal(head, "X-Long: vvv", 11);
        assert_int_equal(strspn(head + 8, "v "), 4991 + 5);
        assert_memory_equal(d.part[2] + d.part_len[2] - 6, "hhhh\r\n", 6);
        free(head);
        parsed_done(&d);
        free(big);
}

static void test_8bit(void **state)
{
        static const char headers[] =
                "Subject: =?utf-8?q?x?=\r\nFrom: J\xc3\xb6rg <j@example.com>\r\n";
        struct dsn_recipient rc = {"j\xc3\xb6rg@example.org", "5.1.1", "550 5.1.1 unknown"};
        struct dsn_params p = base_params();
        struct parsed d;
        (void)state;

        p.original_headers = headers;
        p.original_headers_len = sizeof headers - 1;
        build(&p, &d);
        want_in("headers", d.msg.data, d.msg.len, "Content-Transfer-Encoding: 8bit\r\n\r\n");
        want_in("headers part", d.part[2], d.part_len[2],
                "Content-Type: text/rfc822-headers\r\nContent-Transfer-Encoding: 8bit\r\n");
        parsed_done(&d);

        p.recipients = &rc;
        p.n_recipients = 1;
        build(&p, &d);
        want_in("text part", d.part[0], d.part_len[0],
                "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n");
        want_in("delivery-status part", d.part[1], d.part_len[1],
                "Final-Recipient: utf-8; j\xc3\xb6rg@example.org\r\n");
        parsed_done(&d);
}

static void test_refusals(void **state)
{
        struct dsn_params p = base_params();
        struct dsn_recipient no_address = {NULL, "5.0.0", "550 x"};
        struct buf out;
        (void)state;

        buf_init(&out, 1024 * 1024);
        assert_int_equal(buf_append_str(&out, "kept"), 0);
        /* the null sender never gets a bounce (RFC 5321 4.5.5) */
        p.sender = "";
        assert_int_equal(dsn_build(&p, &out), -EINVAL);
        p.sender = NULL;
        assert_int_equal(dsn_build(&p, &out), -EINVAL);
        p = base_params();
        p.n_recipients = 0;
        assert_int_equal(dsn_build(&p, &out), -EINVAL);
        p = base_params();
        p.recipients = &no_address;
        p.n_recipients = 1;
        assert_int_equal(dsn_build(&p, &out), -EINVAL);
        /* a date that cannot be written */
        p = base_params();
        p.now = 253402300800;
        assert_int_equal(dsn_build(&p, &out), -EOVERFLOW);
        assert_string_equal(out.data, "kept");
        buf_done(&out);

        /* too big for the buffer: -EFBIG and the buffer as it was */
        buf_init(&out, 1500);
        assert_int_equal(buf_append_str(&out, "kept"), 0);
        p = base_params();
        assert_int_equal(dsn_build(&p, &out), -EFBIG);
        assert_int_equal(out.len, 4);
        assert_string_equal(out.data, "kept");
        buf_done(&out);
}

static void test_appends_and_varies(void **state)
{
        struct dsn_params p = base_params();
        struct parsed a, b;
        struct buf out;
        (void)state;

        build(&p, &a);
        build(&p, &b);
        /* a fresh boundary each time */
        assert_string_not_equal(a.boundary, b.boundary);
        parsed_done(&a);
        parsed_done(&b);

        buf_init(&out, 1024 * 1024);
        assert_int_equal(buf_append_str(&out, "Return-Path: <>\r\n"), 0);
        assert_int_equal(dsn_build(&p, &out), 0);
        assert_memory_equal(out.data, "Return-Path: <>\r\nDate: ", 23);
        buf_done(&out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_structure),
                cmocka_unit_test(test_fields),
                cmocka_unit_test(test_long_lines),
                cmocka_unit_test(test_returned_headers),
                cmocka_unit_test(test_8bit),
                cmocka_unit_test(test_refusals),
                cmocka_unit_test(test_appends_and_varies),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
