/* SPDX-License-Identifier: MIT */
/*
 * headers - what the relay does to the header section of a message it accepts, as Postfix's
 * cleanup does: a Received: header on top (Postfix's layout, "(mailinit)" in place of
 * "(Postfix)"), then the original headers, with bare local names in From:, Sender:,
 * Reply-To:, To: and Cc: completed with @myorigin, then Message-ID: <YYYYMMDDhhmmss.QUEUEID@
 * myhostname> and Date: when the message has none (SES overrides both, but they must be
 * there for the copies that do not go through SES). Line endings become CRLF; folding and
 * every other byte is kept. An address header this parser does not understand (group
 * syntax, source routes, broken quoting) is left as it is: a wrong guess would change
 * where replies go. Dates are UTC ("+0000"), so the output does not depend on TZ.
 * Pure: no clock, no I/O, no logging.
 */
#include "headers.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "timefmt.h"

/* "Tue, 16 Jan 2024 10:00:00 +0000" */
#define HEADERS_DATE_MAX 64

/* The headers whose bare local names are completed (Postfix also does Resent-* and Bcc). */
static const char *const headers_address_names[] = {"From", "Sender", "Reply-To", "To", "Cc"};

/* headers_line - the line at off: its length without the line break (LF, CRLF, or a CR at
 * the very end), and the offset of the next line */
static size_t headers_line(const char *s, size_t len, size_t off, size_t *ret_next)
{
        const char *lf = memchr(s + off, '\n', len - off);
        size_t end = lf ? (size_t)(lf - s) : len;

        *ret_next = lf ? end + 1 : len;
        if (end > off && s[end - 1] == '\r')
                end--;
        return end - off;
}

/* headers_field_name - length of the field name when the line starts a header field
 * ("name:" with printable US-ASCII but ':' in the name, RFC 5322 section 2.2; spaces before
 * the colon are the obsolete syntax of section 4.5), else 0. *ret_value gets the offset
 * after the colon. */
static size_t headers_field_name(const char *p, size_t n, size_t *ret_value)
{
        size_t i = 0, name_len;

        while (i < n && (unsigned char)p[i] > 32 && (unsigned char)p[i] < 127 && p[i] != ':')
                i++;
        name_len = i;
        if (name_len == 0)
                return 0;
        while (i < n && (p[i] == ' ' || p[i] == '\t'))
                i++;
        if (i >= n || p[i] != ':')
                return 0;
        *ret_value = i + 1;
        return name_len;
}

static bool headers_is_wsp(char c)
{
        return c == ' ' || c == '\t';
}

size_t headers_end(const char *msg, size_t len)
{
        size_t off = 0, next, value;

        while (off < len) {
                size_t n = headers_line(msg, len, off, &next);

                if (n == 0)
                        return next; /* the empty line, included (even as the first line) */
                if (!headers_field_name(msg + off, n, &value) &&
                    (off == 0 || !headers_is_wsp(msg[off])))
                        return off; /* not a header: the body starts here */
                off = next;
        }
        return len;
}

/* headers_emit - append p[0..n) with every LF or CRLF turned into CRLF */
static int headers_emit(struct buf *out, const char *p, size_t n)
{
        const char *lf;

        while ((lf = memchr(p, '\n', n))) {
                size_t seg = (size_t)(lf - p);
                int r;

                r = buf_append(out, p, seg > 0 && p[seg - 1] == '\r' ? seg - 1 : seg);
                if (r < 0)
                        return r;
                r = buf_append(out, "\r\n", 2);
                if (r < 0)
                        return r;
                n -= seg + 1;
                p = lf + 1;
        }
        return buf_append(out, p, n);
}

/* headers_emit_clean - append a value given by the client or the configuration, with
 * control characters replaced, so nothing can start a header line of its own */
static int headers_emit_clean(struct buf *out, const char *s)
{
        while (*s) {
                size_t i;
                int r;

                for (i = 0; s[i] && (unsigned char)s[i] >= 32 && s[i] != 127; i++)
                        ;
                r = buf_append(out, s, i);
                if (r < 0)
                        return r;
                if (!s[i])
                        break;
                r = buf_append(out, "?", 1);
                if (r < 0)
                        return r;
                s += i + 1;
        }
        return 0;
}

/* Address list scanning (RFC 5322 section 3.4) for completing bare local parts. */

enum headers_token {
        TOKEN_END,
        TOKEN_WORD,    /* atom or dot-atom (dots included) */
        TOKEN_QUOTED,  /* quoted-string */
        TOKEN_LITERAL, /* [domain literal] */
        TOKEN_SPECIAL, /* < > @ , : ; */
        TOKEN_ERROR,
};

struct headers_scan {
        const char *raw; /* the whole header field, name and line breaks included */
        size_t n;
        size_t pos;         /* scanning position */
        size_t last;        /* what is emitted so far (real run) */
        struct buf *out;    /* NULL: a dry run that only validates */
        const char *origin; /* "@myorigin" is inserted */
};

static bool headers_is_atext(unsigned char c)
{
        /* RFC 5322 atext, the dot of dot-atoms, and UTF-8 (RFC 6532 section 3.2) */
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c >= 0x80 || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~.", c));
}

/* headers_skip_cfws - white space, line breaks and (nested) comments; false when a
 * comment is not closed */
static bool headers_skip_cfws(struct headers_scan *s)
{
        unsigned depth = 0;

        while (s->pos < s->n) {
                char c = s->raw[s->pos];

                if (depth > 0 && c == '\\') {
                        s->pos += 2;
                        continue;
                }
                if (c == '(')
                        depth++;
                else if (c == ')' && depth > 0)
                        depth--;
                else if (depth == 0 && (c == '\0' || !strchr(" \t\r\n", c)))
                        return true;
                s->pos++;
        }
        s->pos = s->n;
        return depth == 0;
}

/* headers_delimited - skip a quoted-string or domain literal ending with close; false when
 * it never ends */
static bool headers_delimited(struct headers_scan *s, char close)
{
        s->pos++;
        while (s->pos < s->n) {
                char c = s->raw[s->pos];

                if (c == '\\') {
                        s->pos += 2;
                        continue;
                }
                s->pos++;
                if (c == close)
                        return true;
        }
        s->pos = s->n;
        return false;
}

/* headers_token - the next token; [*ret_start, *ret_end) is its text */
static enum headers_token headers_token(struct headers_scan *s, size_t *ret_start, size_t *ret_end)
{
        enum headers_token t;
        unsigned char c;

        if (!headers_skip_cfws(s))
                return TOKEN_ERROR;
        if (s->pos >= s->n)
                return TOKEN_END;
        *ret_start = s->pos;
        c = (unsigned char)s->raw[s->pos];
        if (c == '"') {
                t = headers_delimited(s, '"') ? TOKEN_QUOTED : TOKEN_ERROR;
        } else if (c == '[') {
                t = headers_delimited(s, ']') ? TOKEN_LITERAL : TOKEN_ERROR;
        } else if (c != '\0' && strchr("<>@,:;", c)) {
                s->pos++;
                t = TOKEN_SPECIAL;
        } else if (headers_is_atext(c)) {
                while (s->pos < s->n && headers_is_atext((unsigned char)s->raw[s->pos]))
                        s->pos++;
                t = TOKEN_WORD;
        } else {
                return TOKEN_ERROR; /* ')', ']', '\\', controls */
        }
        *ret_end = s->pos;
        return t;
}

/* headers_local_part_ok - a word that is a whole local part: a quoted-string, or a
 * dot-atom with no leading, trailing or doubled dot */
static bool headers_local_part_ok(const struct headers_scan *s, enum headers_token t, size_t start,
                                  size_t end)
{
        const char *w = s->raw + start;
        size_t n = end - start;

        if (t == TOKEN_QUOTED)
                return true;
        if (t != TOKEN_WORD || w[0] == '.' || w[n - 1] == '.')
                return false;
        for (size_t i = 1; i < n; i++)
                if (w[i] == '.' && w[i - 1] == '.')
                        return false;
        return true;
}

/* headers_insert - complete the local part that ends at offset at (real run only) */
static int headers_insert(struct headers_scan *s, size_t at)
{
        int r;

        if (!s->out)
                return 0;
        r = headers_emit(s->out, s->raw + s->last, at - s->last);
        if (r < 0)
                return r;
        r = buf_append(s->out, "@", 1);
        if (r < 0)
                return r;
        s->last = at;
        return buf_append_str(s->out, s->origin);
}

/* One address of the list, as far as completion cares. */
struct headers_address {
        bool in_angle, angle_done, has_at;
        unsigned words;       /* words of the local part (or of the phrase, before '<') */
        bool word_ok;         /* the last such word is a whole local part */
        size_t word_end;      /* where it ends */
        unsigned inner_words; /* the same inside <...> */
        bool inner_ok, inner_at;
        size_t inner_end;
};

/* headers_scan_address - one address up to ',' or the end; *ret_last is true at the end.
 * Returns 0, 1 (completed), -EINVAL (not understood: leave the header alone) or a buf
 * error. */
static int headers_scan_address(struct headers_scan *s, bool *ret_last)
{
        struct headers_address a = {0};
        enum headers_token t;
        size_t start = 0, end = 0;
        int r;

        for (;;) {
                t = headers_token(s, &start, &end);
                if (t == TOKEN_ERROR)
                        return -EINVAL;
                if (t == TOKEN_END || (t == TOKEN_SPECIAL && s->raw[start] == ','))
                        break;
                if (a.angle_done)
                        return -EINVAL; /* only comments may follow <...> */
                if (t == TOKEN_WORD || t == TOKEN_QUOTED || t == TOKEN_LITERAL) {
                        if (a.in_angle) {
                                if (a.inner_at)
                                        continue; /* the domain: not our business */
                                if (t == TOKEN_LITERAL)
                                        return -EINVAL;
                                a.inner_words++;
                                a.inner_ok = headers_local_part_ok(s, t, start, end);
                                a.inner_end = end;
                        } else if (!a.has_at) {
                                if (t == TOKEN_LITERAL)
                                        return -EINVAL;
                                a.words++;
                                a.word_ok = headers_local_part_ok(s, t, start, end);
                                a.word_end = end;
                        }
                        continue;
                }
                switch (s->raw[start]) {
                case '<':
                        if (a.in_angle || a.has_at)
                                return -EINVAL;
                        a.in_angle = true;
                        break;
                case '>':
                        if (!a.in_angle)
                                return -EINVAL;
                        a.in_angle = false;
                        a.angle_done = true;
                        break;
                case '@':
                        if (a.in_angle) {
                                if (a.inner_words == 0 || a.inner_at)
                                        return -EINVAL; /* a source route, or "a@b@c" */
                                a.inner_at = true;
                        } else {
                                if (a.words == 0 || a.has_at)
                                        return -EINVAL;
                                a.has_at = true;
                        }
                        break;
                default: /* ':' and ';': group syntax or a route */
                        return -EINVAL;
                }
        }
        *ret_last = t == TOKEN_END;
        if (a.in_angle)
                return -EINVAL;
        if (a.angle_done) {
                if (a.inner_at || a.inner_words == 0) /* has a domain, or <> */
                        return 0;
                if (a.inner_words > 1 || !a.inner_ok)
                        return -EINVAL;
                r = headers_insert(s, a.inner_end);
                return r < 0 ? r : 1;
        }
        if (a.has_at || a.words == 0) /* addr-spec with a domain, or an empty list member */
                return 0;
        if (a.words > 1 || !a.word_ok) /* a phrase without <address>: not an address */
                return -EINVAL;
        r = headers_insert(s, a.word_end);
        return r < 0 ? r : 1;
}

/* headers_scan_list - the address list after the colon at value */
static int headers_scan_list(struct headers_scan *s, size_t value)
{
        bool last = false;
        int completed = 0;

        s->pos = value;
        s->last = 0;
        while (!last) {
                int r = headers_scan_address(s, &last);

                if (r < 0)
                        return r;
                completed += r;
        }
        return completed;
}

/* headers_emit_address_field - a From:/To:/... field with bare local names completed, or
 * as it is when it cannot be parsed */
static int headers_emit_address_field(struct buf *out, const char *raw, size_t n, size_t value,
                                      const char *origin)
{
        struct headers_scan s = {.raw = raw, .n = n, .origin = origin};
        int r;

        /* a dry run first: nothing is changed in a field that is not understood whole */
        r = headers_scan_list(&s, value);
        if (r <= 0)
                return headers_emit(out, raw, n);
        s.out = out;
        r = headers_scan_list(&s, value); /* only buf errors now */
        if (r < 0)
                return r;
        return headers_emit(out, raw + s.last, n - s.last);
}

static bool headers_name_is(const char *name, size_t n, const char *want)
{
        return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

static bool headers_is_address_field(const char *name, size_t n)
{
        for (size_t i = 0; i < sizeof headers_address_names / sizeof headers_address_names[0]; i++)
                if (headers_name_is(name, n, headers_address_names[i]))
                        return true;
        return false;
}

/* headers_received - Postfix's Received: layout, folded as Postfix folds it */
static int headers_received(struct buf *out, const struct headers_context *ctx, const char *date)
{
        const char *helo = ctx->helo && *ctx->helo ? ctx->helo : ctx->client_name;
        int r;

        r = buf_append_str(out, "Received: ");
        if (r >= 0 && (helo || ctx->client_addr)) {
                /* Postfix names the client by its HELO, and by its name when it gave none */
                r = buf_append_str(out, "from ");
                if (r >= 0)
                        r = headers_emit_clean(out, helo ? helo : "unknown");
                if (r >= 0)
                        r = buf_append_str(out, " (");
                if (r >= 0)
                        r = headers_emit_clean(out,
                                               ctx->client_name ? ctx->client_name : "unknown");
                if (r >= 0)
                        r = buf_append_str(out, " [");
                if (r >= 0)
                        r = headers_emit_clean(out,
                                               ctx->client_addr ? ctx->client_addr : "unknown");
                if (r >= 0)
                        r = buf_append_str(out, "])\r\n\t");
        }
        if (r >= 0)
                r = buf_append_str(out, "by ");
        if (r >= 0)
                r = headers_emit_clean(out, ctx->myhostname);
        if (r >= 0 && ctx->local) {
                /* Postfix's pickup: "by host (Postfix, from userid N)\r\n\tid ID" */
                r = buf_printf(out, " (mailinit, from userid %u)\r\n\tid ", ctx->local_uid);
        } else {
                if (r >= 0)
                        r = buf_append_str(out, " (mailinit) with ");
                if (r >= 0)
                        r = headers_emit_clean(out, ctx->protocol ? ctx->protocol : "SMTP");
                if (r >= 0)
                        r = buf_append_str(out, " id ");
        }
        if (r >= 0)
                r = headers_emit_clean(out, ctx->queue_id);
        if (r >= 0 && ctx->recipient) {
                r = buf_append_str(out, "\r\n\tfor <");
                if (r >= 0)
                        r = headers_emit_clean(out, ctx->recipient);
                if (r >= 0)
                        r = buf_append_str(out, ">");
        }
        if (r >= 0)
                r = buf_printf(out, "; %s\r\n", date);
        return r;
}

static int headers_rewrite_fields(const char *section, size_t len,
                                  const struct headers_context *ctx, struct buf *out,
                                  bool *ret_has_message_id, bool *ret_has_date, bool *ret_has_from)
{
        size_t off = 0, next, value = 0;
        bool complete = ctx->myorigin && *ctx->myorigin;

        while (off < len) {
                size_t n = headers_line(section, len, off, &next), name_len, end;
                int r;

                if (n == 0)
                        break; /* the empty line; anything after it is not ours */
                name_len = headers_field_name(section + off, n, &value);
                /* the field goes on over continuation lines (folding, RFC 5322 2.2.3) */
                end = off + n;
                while (next < len && headers_is_wsp(section[next])) {
                        size_t cont = next;

                        end = cont + headers_line(section, len, cont, &next);
                }
                if (name_len > 0 && headers_name_is(section + off, name_len, "Message-ID"))
                        *ret_has_message_id = true;
                if (name_len > 0 && headers_name_is(section + off, name_len, "Date"))
                        *ret_has_date = true;
                if (name_len > 0 && headers_name_is(section + off, name_len, "From"))
                        *ret_has_from = true;
                if (name_len > 0 && complete && headers_is_address_field(section + off, name_len))
                        r = headers_emit_address_field(out, section + off, end - off, value,
                                                       ctx->myorigin);
                else
                        r = headers_emit(out, section + off, end - off);
                if (r < 0)
                        return r;
                r = buf_append(out, "\r\n", 2);
                if (r < 0)
                        return r;
                off = next;
        }
        return 0;
}

int headers_rewrite(const char *section, size_t len, const struct headers_context *ctx,
                    struct buf *out)
{
        char date[HEADERS_DATE_MAX], stamp[HEADERS_DATE_MAX];
        bool has_message_id = false, has_date = false, has_from = false;
        size_t start = out->len;
        int r;

        assert(ctx->myhostname && ctx->queue_id);
        if (len > (size_t)HEADERS_SECTION_MAX)
                return -EFBIG;
        r = timefmt_rfc5322(ctx->now, date, sizeof date, stamp, sizeof stamp);
        if (r < 0)
                return r;

        r = headers_received(out, ctx, date);
        if (r >= 0)
                r = headers_rewrite_fields(section, len, ctx, out, &has_message_id, &has_date,
                                           &has_from);
        if (r >= 0 && !has_from && ctx->from) {
                r = buf_append_str(out, "From: ");
                if (r >= 0)
                        r = headers_emit_clean(out, ctx->from);
                if (r >= 0)
                        r = buf_append_str(out, "\r\n");
        }
        if (r >= 0 && !has_message_id) {
                r = buf_printf(out, "Message-ID: <%s.", stamp);
                if (r >= 0)
                        r = headers_emit_clean(out, ctx->queue_id);
                if (r >= 0)
                        r = buf_append_str(out, "@");
                if (r >= 0)
                        r = headers_emit_clean(out, ctx->myhostname);
                if (r >= 0)
                        r = buf_append_str(out, ">\r\n");
        }
        if (r >= 0 && !has_date)
                r = buf_printf(out, "Date: %s\r\n", date);
        if (r >= 0)
                r = buf_append(out, "\r\n", 2);
        if (r < 0 && out->data) {
                /* leave out as it was */
                out->len = start;
                out->data[start] = '\0';
        }
        return r < 0 ? r : 0;
}

/* headers_has_domain - an '@' outside quoted-strings */
static bool headers_has_domain(const char *a)
{
        bool quoted = false;

        for (; *a; a++) {
                if (quoted && *a == '\\' && a[1]) {
                        a++;
                        continue;
                }
                if (*a == '"')
                        quoted = !quoted;
                else if (*a == '@' && !quoted)
                        return true;
        }
        return false;
}

int headers_complete_address(const char *address, const char *myorigin, char *out, size_t size)
{
        size_t n = strlen(address);
        int w;

        if (n == 0 || !myorigin || !*myorigin || headers_has_domain(address)) {
                if (n >= size)
                        return -ENOBUFS;
                memcpy(out, address, n + 1);
                return 0;
        }
        if (n + 1 + strlen(myorigin) >= size)
                return -ENOBUFS;
        w = snprintf(out, size, "%s@%s", address, myorigin);
        return w < 0 ? -ENOBUFS : 0;
}

bool headers_next_field(const char *section, size_t len, size_t *off, struct headers_field *ret)
{
        size_t next, value = 0, n;

        if (*off >= len)
                return false;
        n = headers_line(section, len, *off, &next);
        if (n == 0)
                return false;
        ret->start = *off;
        ret->name_len = headers_field_name(section + *off, n, &value);
        ret->value = ret->name_len ? *off + value : *off;
        while (next < len && headers_is_wsp(section[next]))
                (void)headers_line(section, len, next, &next);
        ret->end = next;
        *off = next;
        return true;
}

bool headers_field_is(const char *section, const struct headers_field *f, const char *name)
{
        return f->name_len > 0 && headers_name_is(section + f->start, f->name_len, name);
}

/* headers_needs_quotes - a display name with RFC 5322 specials (3.2.3) must be quoted */
static bool headers_needs_quotes(const char *name)
{
        for (const char *p = name; *p; p++)
                if (strchr("()<>[]:;@\\,.\"", *p))
                        return true;
        return false;
}

/* headers_encoded_word - "=?UTF-8?B?...?=" for p[0..n), after a space when not first */
static int headers_encoded_word(struct buf *out, const unsigned char *p, size_t n, bool space)
{
        static const char b64[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        int r = buf_append_str(out, space ? " =?UTF-8?B?" : "=?UTF-8?B?");

        for (size_t i = 0; r >= 0 && i < n; i += 3) {
                unsigned v = (unsigned)p[i] << 16;
                char q[4];

                if (i + 1 < n)
                        v |= (unsigned)p[i + 1] << 8;
                if (i + 2 < n)
                        v |= p[i + 2];
                q[0] = b64[(v >> 18) & 63];
                q[1] = b64[(v >> 12) & 63];
                q[2] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
                q[3] = i + 2 < n ? b64[v & 63] : '=';
                r = buf_append(out, q, 4);
        }
        if (r >= 0)
                r = buf_append_str(out, "?=");
        return r;
}

int headers_mailbox(const char *name, const char *address, struct buf *out)
{
        bool ascii = true;
        int r = 0;

        if (!name || !*name)
                return buf_append_str(out, address);
        for (const char *p = name; *p; p++)
                if ((unsigned char)*p >= 0x80)
                        ascii = false;
        if (!ascii) {
                /* RFC 2047 encoded-words of at most 75 characters (section 2): 45 bytes each,
                 * cut between UTF-8 characters), separated by spaces */
                size_t n = strlen(name), at = 0;

                while (r >= 0 && at < n) {
                        size_t take = n - at > 45 ? 45 : n - at;

                        while (take > 1 && at + take < n &&
                               ((unsigned char)name[at + take] & 0xc0) == 0x80)
                                take--;
                        r = headers_encoded_word(out, (const unsigned char *)name + at, take,
                                                 at > 0);
                        at += take;
                }
        } else if (headers_needs_quotes(name)) {
                r = buf_append(out, "\"", 1);
                for (const char *p = name; r >= 0 && *p; p++) {
                        if (*p == '"' || *p == '\\')
                                r = buf_append(out, "\\", 1);
                        if (r >= 0)
                                r = buf_append(out, p, 1);
                }
                if (r >= 0)
                        r = buf_append(out, "\"", 1);
        } else {
                r = buf_append_str(out, name);
        }
        if (r >= 0)
                r = buf_printf(out, " <%s>", address);
        return r;
}
