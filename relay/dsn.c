/* SPDX-License-Identifier: MIT */
/*
 * dsn - the bounce message for mail the relay gives up on, laid out as Postfix's bounce
 * daemon writes it: a multipart/report (RFC 6522) with report-type=delivery-status, whose
 * parts are a human-readable notice, a message/delivery-status part (RFC 3464 section 2)
 * and the returned message's header section as text/rfc822-headers.
 * Wire format: CRLF line endings; every line at most 998 octets (RFC 5322 section 2.1.1),
 * long fields folded before a space near 78 columns, cut only where a word is longer than
 * a line. Text from the remote server or the message (diagnostics, addresses) has control
 * characters replaced, so it cannot start lines or fields of its own. The returned headers
 * stop at the first empty line and at DSN_HEADERS_MAX; bare CR and LF become CRLF. The MIME
 * boundary is random and checked against the content of every part.
 * Not quite pure: the boundary needs random bits (backoff_random). No I/O, no logging.
 */
#include "dsn.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "backoff.h"
#include "timefmt.h"

/* the returned header section is cut (at a line) beyond this, as Postfix limits it */
#define DSN_HEADERS_MAX    ((size_t)64 * 1024)
/* RFC 5322 2.1.1: "MUST be no more than 998 characters", "SHOULD be no more than 78" */
#define DSN_LINE_MAX       998
#define DSN_LINE_SOFT      78
/* one field or notice line from a remote reply; longer ones are cut */
#define DSN_FIELD_MAX      ((size_t)16 * 1024)
#define DSN_DATE_MAX       64
/* "mailinit." and 32 hex digits */
#define DSN_BOUNDARY_MAX   64
#define DSN_BOUNDARY_TRIES 8

/* dsn_clean - append s to b with control characters as spaces, runs of spaces collapsed
 * and no space at either end; at most DSN_FIELD_MAX bytes of s */
static int dsn_clean(struct buf *b, const char *s)
{
        bool space = false, any = false;
        size_t i;
        int r;

        for (i = 0; i < DSN_FIELD_MAX && s[i]; i++) {
                unsigned char c = (unsigned char)s[i];

                if (c <= ' ' || c == 127) {
                        space = any;
                        continue;
                }
                if (space) {
                        r = buf_append(b, " ", 1);
                        if (r < 0)
                                return r;
                        space = false;
                }
                r = buf_append(b, &s[i], 1);
                if (r < 0)
                        return r;
                any = true;
        }
        return 0;
}

/* dsn_fold - append the logical line s[0..n) (no control characters, single spaces) with
 * CRLF: folded before a space so lines stay within 78 columns where the words allow, and
 * within 998 always; a word longer than a line is cut and goes on after an added space */
static int dsn_fold(struct buf *out, const char *s, size_t n)
{
        size_t i = 0, lead = 0, j;
        int r;

        while (lead + (n - i) > DSN_LINE_SOFT) {
                size_t brk = 0;
                bool hard = false;

                /* the last space that keeps the line within 78; here i + 78 - lead < n */
                for (j = i + DSN_LINE_SOFT - lead; j > i; j--)
                        if (s[j] == ' ') {
                                brk = j;
                                break;
                        }
                /* else the first space at all, within 998 */
                for (j = i + DSN_LINE_SOFT - lead + 1;
                     !brk && j < n && lead + j - i <= DSN_LINE_MAX; j++)
                        if (s[j] == ' ')
                                brk = j;
                if (!brk) {
                        if (lead + (n - i) <= DSN_LINE_MAX)
                                break; /* one long word that fits */
                        brk = i + DSN_LINE_MAX - lead;
                        /* not inside a UTF-8 sequence */
                        while (brk > i + 1 && ((unsigned char)s[brk] & 0xc0) == 0x80)
                                brk--;
                        hard = true;
                }
                if (lead)
                        r = buf_append(out, " ", 1);
                else
                        r = 0;
                if (r >= 0)
                        r = buf_append(out, s + i, brk - i);
                if (r >= 0)
                        r = buf_append(out, "\r\n", 2);
                if (r < 0)
                        return r;
                /* a soft break leaves the space to start the continuation line */
                lead = hard ? 1 : 0;
                i = brk;
        }
        r = lead ? buf_append(out, " ", 1) : 0;
        if (r >= 0)
                r = buf_append(out, s + i, n - i);
        if (r >= 0)
                r = buf_append(out, "\r\n", 2);
        return r;
}

/* dsn_line - prefix (our own text) followed by cleaned text, folded; nothing when text
 * cleans to nothing and skip_empty is set */
static int dsn_line(struct buf *out, const char *prefix, const char *text, const char *suffix,
                    bool skip_empty)
{
        struct buf line;
        size_t n;
        int r;

        buf_init(&line, strlen(prefix) + DSN_FIELD_MAX + strlen(suffix));
        r = buf_append_str(&line, prefix);
        n = line.len;
        if (r >= 0)
                r = dsn_clean(&line, text ? text : "");
        if (r >= 0 && skip_empty && line.len == n) {
                buf_done(&line);
                return 0;
        }
        if (r >= 0)
                r = buf_append_str(&line, suffix);
        if (r >= 0)
                r = dsn_fold(out, line.data, line.len);
        buf_done(&line);
        return r;
}

static bool dsn_has_8bit(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] >= 0x80)
                        return true;
        return false;
}

/* dsn_status_ok - RFC 3463 status-code: class "." subject "." detail */
static bool dsn_status_ok(const char *s)
{
        if (!s || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
                return false;
        s += 2;
        for (int part = 0; part < 2; part++) {
                size_t n = strspn(s, "0123456789");
                if (n < 1 || n > 3)
                        return false;
                s += n;
                if (part == 0 && *s++ != '.')
                        return false;
        }
        return *s == '\0';
}

/* dsn_is_smtp_reply - "550 ..." / "550-..." / "550": the diagnostic is an SMTP reply */
static bool dsn_is_smtp_reply(const char *s)
{
        while (*s == ' ' || *s == '\t')
                s++;
        return s[0] >= '2' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' &&
               s[2] <= '9' && (s[3] == '\0' || s[3] == ' ' || s[3] == '-');
}

/* dsn_text - the human-readable part, worded as Postfix's default failure template */
static int dsn_text(const struct dsn_params *p, struct buf *b)
{
        int r;

        r = dsn_line(b, "This is the mail system at host ", p->reporting_mta, ".", false);
        if (r >= 0)
                r = buf_append_str(
                        b, "\r\n"
                           "I'm sorry to have to inform you that your message could not\r\n"
                           "be delivered to one or more recipients. It's attached below.\r\n"
                           "\r\n"
                           "For further assistance, please send mail to postmaster.\r\n"
                           "\r\n"
                           "If you do so, please include this problem report. You can\r\n"
                           "delete your own text from the attached returned message.\r\n"
                           "\r\n"
                           "                   The mail system\r\n");
        if (r >= 0 && p->reason && *p->reason) {
                r = buf_append_str(b, "\r\n");
                if (r >= 0)
                        r = dsn_line(b, "", p->reason, "", false);
        }
        for (size_t i = 0; r >= 0 && i < p->n_recipients; i++) {
                const struct dsn_recipient *rc = &p->recipients[i];
                const char *diag = rc->diagnostic && *rc->diagnostic ? rc->diagnostic : NULL;
                struct buf line;

                /* "<rcpt>: host H said: 550 ..." as Postfix puts it; cleaned as one line */
                buf_init(&line, 3 * DSN_FIELD_MAX);
                r = buf_printf(&line, "<%.*s>: ", (int)DSN_FIELD_MAX, rc->address);
                if (r >= 0 && p->remote_mta)
                        r = buf_printf(&line, "host %.*s said: ", (int)DSN_FIELD_MAX,
                                       p->remote_mta);
                if (r >= 0 && diag)
                        r = buf_printf(&line, "%.*s", (int)DSN_FIELD_MAX, diag);
                else if (r >= 0)
                        r = buf_printf(&line, "delivery failed with status %s",
                                       dsn_status_ok(rc->status) ? rc->status : "5.0.0");
                if (r >= 0)
                        r = buf_append_str(b, "\r\n");
                if (r >= 0)
                        r = dsn_line(b, "", line.data, "", false);
                buf_done(&line);
        }
        return r;
}

/* dsn_address_type - RFC 6533: "utf-8" for an internationalized address */
static const char *dsn_address_type(const char *a)
{
        return dsn_has_8bit(a, strlen(a)) ? "utf-8; " : "rfc822; ";
}

/* dsn_status - the message/delivery-status part (RFC 3464 section 2.2 and 2.3) */
static int dsn_status(const struct dsn_params *p, const char *arrival, struct buf *b)
{
        char prefix[64];
        int r;

        r = dsn_line(b, "Reporting-MTA: dns; ", p->reporting_mta, "", false);
        if (r >= 0)
                r = dsn_line(b, "X-Mailinit-Queue-ID: ", p->queue_id, "", false);
        if (r >= 0) {
                (void)snprintf(prefix, sizeof prefix, "X-Mailinit-Sender: %s",
                               dsn_address_type(p->sender));
                r = dsn_line(b, prefix, p->sender, "", false);
        }
        if (r >= 0)
                r = buf_printf(b, "Arrival-Date: %s\r\n", arrival);
        for (size_t i = 0; r >= 0 && i < p->n_recipients; i++) {
                const struct dsn_recipient *rc = &p->recipients[i];
                const char *diag = rc->diagnostic ? rc->diagnostic : "";

                r = buf_append_str(b, "\r\n");
                if (r >= 0) {
                        (void)snprintf(prefix, sizeof prefix, "Final-Recipient: %s",
                                       dsn_address_type(rc->address));
                        r = dsn_line(b, prefix, rc->address, "", false);
                }
                if (r >= 0)
                        r = buf_printf(b, "Action: failed\r\nStatus: %s\r\n",
                                       dsn_status_ok(rc->status) ? rc->status : "5.0.0");
                if (r >= 0 && p->remote_mta)
                        r = dsn_line(b, "Remote-MTA: dns; ", p->remote_mta, "", true);
                if (r >= 0)
                        r = dsn_line(b,
                                     dsn_is_smtp_reply(diag) ? "Diagnostic-Code: smtp; "
                                                             : "Diagnostic-Code: X-Mailinit; ",
                                     diag, "", true);
        }
        return r;
}

/* dsn_headers - the returned header section: CRLF, CR or LF each end a line (bare ones
 * become CRLF), NUL becomes '?', it stops at the first empty line, lines over 998 octets
 * go on as continuation lines, and it is cut at a line beyond DSN_HEADERS_MAX */
static int dsn_headers(const char *h, size_t n, struct buf *b)
{
        size_t i = 0;

        if (!h)
                return 0;
        while (i < n) {
                size_t start = i, end, piece, lead;

                while (i < n && h[i] != '\r' && h[i] != '\n')
                        i++;
                end = i;
                if (i < n && h[i] == '\r')
                        i++;
                if (i < n && h[i] == '\n' && (i == end || h[i - 1] == '\r'))
                        i++;
                if (end == start)
                        break; /* the empty line: the body follows */
                for (lead = 0; start < end; start += piece, lead = 1) {
                        int r;

                        piece = end - start;
                        if (lead + piece > DSN_LINE_MAX)
                                piece = DSN_LINE_MAX - lead;
                        if (b->len + lead + piece + 2 > DSN_HEADERS_MAX)
                                return 0;
                        r = lead ? buf_append(b, " ", 1) : 0;
                        for (size_t k = start; r >= 0 && k < start + piece; k++)
                                r = buf_append(b, h[k] ? &h[k] : "?", 1);
                        if (r >= 0)
                                r = buf_append(b, "\r\n", 2);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* dsn_boundary - random, and in none of the parts (RFC 2046 section 5.1.1: the boundary
 * must not appear in the encapsulated material) */
static int dsn_boundary(char *out, size_t size, struct buf *const *parts, size_t n_parts)
{
        for (int tries = 0; tries < DSN_BOUNDARY_TRIES; tries++) {
                bool found = false;

                (void)snprintf(out, size, "mailinit.%016llx%016llx",
                               (unsigned long long)backoff_random(),
                               (unsigned long long)backoff_random());
                for (size_t i = 0; i < n_parts && !found; i++)
                        found = parts[i]->data &&
                                memmem(parts[i]->data, parts[i]->len, out, strlen(out)) != NULL;
                if (!found)
                        return 0;
        }
        return -EAGAIN;
}

static int dsn_assemble(const struct dsn_params *p, struct buf *const *parts, const char *date,
                        const char *stamp, struct buf *out)
{
        static const char *const description[3] = {"Notification", "Delivery report",
                                                   "Undelivered Message Headers"};
        char boundary[DSN_BOUNDARY_MAX];
        bool eight[3];
        int r;

        r = dsn_boundary(boundary, sizeof boundary, parts, 3);
        if (r < 0)
                return r;
        for (int i = 0; i < 3; i++)
                eight[i] = dsn_has_8bit(parts[i]->data, parts[i]->len);

        r = buf_printf(out, "Date: %s\r\n", date);
        if (r >= 0)
                r = dsn_line(out, "From: MAILER-DAEMON@", p->reporting_mta,
                             " (Mail Delivery System)", false);
        if (r >= 0)
                r = buf_append_str(out, "Subject: Undelivered Mail Returned to Sender\r\n");
        if (r >= 0)
                r = dsn_line(out, "To: ", p->sender, "", false);
        if (r >= 0)
                r = buf_append_str(out, "Auto-Submitted: auto-replied\r\n");
        if (r >= 0) {
                struct buf prefix;

                buf_init(&prefix, DSN_FIELD_MAX);
                r = buf_printf(&prefix, "Message-ID: <%s.%s@", p->queue_id, stamp);
                if (r >= 0)
                        r = dsn_line(out, prefix.data, p->reporting_mta, ">", false);
                buf_done(&prefix);
        }
        if (r >= 0)
                r = buf_printf(out,
                               "MIME-Version: 1.0\r\n"
                               "Content-Type: multipart/report; report-type=delivery-status;\r\n"
                               "\tboundary=\"%s\"\r\n"
                               "Content-Transfer-Encoding: %s\r\n"
                               "\r\n"
                               "This is a MIME-encapsulated message.\r\n",
                               boundary, eight[0] || eight[1] || eight[2] ? "8bit" : "7bit");
        for (int i = 0; r >= 0 && i < 3; i++) {
                r = buf_printf(out, "\r\n--%s\r\nContent-Description: %s\r\n", boundary,
                               description[i]);
                if (r < 0)
                        break;
                if (i == 0)
                        r = buf_printf(out, "Content-Type: text/plain; charset=%s\r\n",
                                       eight[i] ? "utf-8" : "us-ascii");
                else if (i == 1)
                        r = buf_append_str(out, "Content-Type: message/delivery-status\r\n");
                else
                        r = buf_append_str(out, "Content-Type: text/rfc822-headers\r\n");
                if (r >= 0 && eight[i])
                        r = buf_append_str(out, "Content-Transfer-Encoding: 8bit\r\n");
                if (r >= 0)
                        r = buf_append(out, "\r\n", 2);
                if (r >= 0)
                        r = buf_append(out, parts[i]->data ? parts[i]->data : "", parts[i]->len);
        }
        if (r >= 0)
                r = buf_printf(out, "\r\n--%s--\r\n", boundary);
        return r;
}

int dsn_build(const struct dsn_params *p, struct buf *out)
{
        char date[DSN_DATE_MAX], arrival[DSN_DATE_MAX], stamp[DSN_DATE_MAX];
        struct buf text, status, headers;
        struct buf *const parts[3] = {&text, &status, &headers};
        size_t start = out->len;
        int r;

        assert(p->reporting_mta && p->queue_id);
        /* RFC 5321 section 4.5.5: no notification is ever sent to the null sender */
        if (!p->sender || !*p->sender)
                return -EINVAL;
        if (p->n_recipients == 0 || !p->recipients)
                return -EINVAL;
        for (size_t i = 0; i < p->n_recipients; i++)
                if (!p->recipients[i].address)
                        return -EINVAL;
        r = timefmt_rfc5322(p->now, date, sizeof date, stamp, sizeof stamp);
        if (r >= 0)
                r = timefmt_rfc5322(p->arrival, arrival, sizeof arrival, NULL, 0);
        if (r < 0)
                return r;

        for (int i = 0; i < 3; i++)
                buf_init(parts[i], out->max);
        r = dsn_text(p, &text);
        if (r >= 0)
                r = dsn_status(p, arrival, &status);
        if (r >= 0)
                r = dsn_headers(p->original_headers, p->original_headers_len, &headers);
        if (r >= 0)
                r = dsn_assemble(p, parts, date, stamp, out);
        for (int i = 0; i < 3; i++)
                buf_done(parts[i]);
        if (r < 0 && out->data) {
                /* leave out as it was */
                out->len = start;
                out->data[start] = '\0';
        }
        return r < 0 ? r : 0;
}
