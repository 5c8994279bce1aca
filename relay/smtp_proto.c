/* SPDX-License-Identifier: MIT */
/*
 * smtp_proto - the pure pieces of SMTP that the relay's server and client share: command
 * lines, MAIL/RCPT paths and their parameters (RFC 5321 4.1.2, 1870, 6152, 6531, 4954),
 * replies with enhanced status codes (RFC 3463, 2034), EHLO capabilities, and the DATA
 * stream in both directions (RFC 5321 4.5.2: dot-unstuffing and end-of-data on the server,
 * dot-stuffing on the client). Nothing here allocates, does I/O or logs; everything read is
 * bounded by the caller's buffers or by the fixed arrays of smtp_proto.h.
 * Failure policy: a client's syntax error is -EINVAL with the complete reply to send, in
 * Postfix smtpd's words; a server reply that is not one is -EPROTO; the DATA decoder never
 * fails. Reply texts are stored printable: controls and invalid UTF-8 become '?', so they
 * can go to logs and JSON as they are.
 * SECURITY: addresses are checked for syntax only. The percent hack, bang paths and IP
 * literals are valid syntax; whether to relay for them is the server's policy.
 */
#include "smtp_proto.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

/* Locale-independent character classes: SMTP is ASCII whatever LC_CTYPE says. */
static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_ctl(char c)
{
        return (unsigned char)c < 0x20 || c == 0x7f;
}

static bool is_8bit(char c)
{
        return (unsigned char)c >= 0x80;
}

static char ascii_lower(char c)
{
        if (c >= 'A' && c <= 'Z')
                return (char)(c + ('a' - 'A'));
        return c;
}

/* word_eq - s[0..n) is the lower-case word w, ignoring ASCII case */
static bool word_eq(const char *s, size_t n, const char *w)
{
        if (strlen(w) != n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (ascii_lower(s[i]) != w[i])
                        return false;
        return true;
}

/* prefix_eq - s (NUL-terminated) starts with the lower-case word w, ignoring ASCII case */
static bool prefix_eq(const char *s, const char *w)
{
        for (; *w; s++, w++)
                if (ascii_lower(*s) != *w)
                        return false;
        return true;
}

/* utf8_seq_len - length of the well-formed UTF-8 sequence at s[0..n) (RFC 3629: no overlong
 * forms, no surrogates, at most U+10FFFF), or 0 */
static size_t utf8_seq_len(const char *s, size_t n)
{
        const unsigned char *u = (const unsigned char *)s;
        size_t len;
        unsigned char lo = 0x80, hi = 0xbf;

        if (n == 0)
                return 0;
        if (u[0] < 0x80)
                return 1;
        if (u[0] >= 0xc2 && u[0] <= 0xdf)
                len = 2;
        else if (u[0] >= 0xe0 && u[0] <= 0xef)
                len = 3;
        else if (u[0] >= 0xf0 && u[0] <= 0xf4)
                len = 4;
        else
                return 0;
        if (u[0] == 0xe0)
                lo = 0xa0;
        else if (u[0] == 0xed)
                hi = 0x9f;
        else if (u[0] == 0xf0)
                lo = 0x90;
        else if (u[0] == 0xf4)
                hi = 0x8f;
        if (n < len || u[1] < lo || u[1] > hi)
                return 0;
        for (size_t i = 2; i < len; i++)
                if (u[i] < 0x80 || u[i] > 0xbf)
                        return 0;
        return len;
}

static bool utf8_is_valid(const char *s, size_t n)
{
        size_t k;

        for (size_t i = 0; i < n; i += k) {
                k = utf8_seq_len(s + i, n - i);
                if (k == 0)
                        return false;
        }
        return true;
}

/* ---- command lines ---- */

static const char *const verb_name[SMTP_VERB_MAX] = {
        [SMTP_VERB_HELO] = "helo",         [SMTP_VERB_EHLO] = "ehlo", [SMTP_VERB_MAIL] = "mail",
        [SMTP_VERB_RCPT] = "rcpt",         [SMTP_VERB_DATA] = "data", [SMTP_VERB_BDAT] = "bdat",
        [SMTP_VERB_RSET] = "rset",         [SMTP_VERB_NOOP] = "noop", [SMTP_VERB_QUIT] = "quit",
        [SMTP_VERB_VRFY] = "vrfy",         [SMTP_VERB_EXPN] = "expn", [SMTP_VERB_HELP] = "help",
        [SMTP_VERB_STARTTLS] = "starttls", [SMTP_VERB_AUTH] = "auth",
};

int smtp_parse_command(const char *line, size_t len, struct smtp_command *ret)
{
        enum smtp_verb verb = SMTP_VERB_UNKNOWN;
        bool blank = true;
        size_t verb_len = 0;

        assert(line);
        assert(ret);

        /* RFC 5321 4.1.1: commands are text; a NUL or a bare CR is never part of one (a CR
         * here was not followed by LF, which the caller split on). Postfix also answers a
         * line of only blanks with 500. */
        for (size_t i = 0; i < len; i++) {
                if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
                        return -EINVAL;
                if (line[i] != ' ' && line[i] != '\t')
                        blank = false;
        }
        if (blank)
                return -EINVAL;

        while (verb_len < len && line[verb_len] != ' ')
                verb_len++;
        for (int v = 0; v < SMTP_VERB_UNKNOWN; v++)
                if (word_eq(line, verb_len, verb_name[v])) {
                        verb = (enum smtp_verb)v;
                        break;
                }
        ret->verb = verb;
        ret->arg = verb_len < len ? line + verb_len + 1 : line + len;
        return 0;
}

/* ---- MAIL FROM / RCPT TO ---- */

/* RFC 5322 atext: the characters of a Dot-string besides '.' (RFC 5321 4.1.2). '%' and '!'
 * are among them, which is why the percent hack and bang paths are plain syntax. */
static bool is_atext(char c)
{
        return is_alpha(c) || is_digit(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* address_literal_is_valid - the inside of "[...]": an IPv4 dotted quad or "IPv6:" and an
 * IPv6 address (RFC 5321 4.1.3); general address literals are not accepted */
static bool address_literal_is_valid(const char *s, size_t n)
{
        unsigned char addr[16];
        char buf[INET6_ADDRSTRLEN + 1];
        int family = AF_INET;

        if (n >= 5 && word_eq(s, 5, "ipv6:")) {
                family = AF_INET6;
                s += 5;
                n -= 5;
        }
        if (n == 0 || n >= sizeof buf)
                return false;
        memcpy(buf, s, n);
        buf[n] = '\0';
        return inet_pton(family, buf, addr) == 1;
}

/* domain_scan - a domain (letter-digit-hyphen labels, '_' tolerated, U-labels as 8-bit bytes
 * for the caller to check) or an address literal at s; the byte after it, or NULL */
static const char *domain_scan(const char *s)
{
        const char *p = s;
        size_t label = 0;

        if (*p == '[') {
                const char *close = strchr(p, ']');

                if (!close || !address_literal_is_valid(p + 1, (size_t)(close - p - 1)))
                        return NULL;
                return close + 1;
        }
        for (;; p++) {
                if (*p == '.') {
                        if (label == 0 || p[-1] == '-')
                                return NULL;
                        label = 0;
                } else if (is_alpha(*p) || is_digit(*p) || *p == '_' || *p == '-' || is_8bit(*p)) {
                        if (label == 0 && *p == '-')
                                return NULL;
                        if (++label > 63)
                                return NULL;
                } else {
                        break;
                }
        }
        /* RFC 1035: at most 255 bytes; no trailing dot, no trailing hyphen */
        if (label == 0 || p[-1] == '-' || p - s > 255)
                return NULL;
        return p;
}

/* local_part_scan - a Dot-string or Quoted-string at s (RFC 5321 4.1.2, with RFC 6531's 8-bit
 * bytes left for the caller to check); the byte after it, or NULL. Dots are not checked:
 * like Postfix, "a..b" and "a." (still used by old Japanese mobile carriers) pass. */
static const char *local_part_scan(const char *s)
{
        const char *p = s;

        if (*p == '"') {
                for (p++; *p != '"'; p++) {
                        if (*p == '\\') {
                                /* quoted-pairSMTP: a backslash and one of %d32-126 */
                                p++;
                                if (is_ctl(*p) || is_8bit(*p))
                                        return NULL;
                        } else if (is_ctl(*p)) {
                                return NULL; /* includes the end of the string */
                        }
                }
                return p + 1;
        }
        while (is_atext(*p) || *p == '.' || is_8bit(*p))
                p++;
        return p == s ? NULL : p;
}

/* path_parse - the path "<...>" at s (s[0] == '<'): the mailbox without the source route
 * (RFC 5321 appendix C) in box[0..*ret_box_len), and the byte after '>'. A mailbox may lack
 * "@domain": RFC 5321 4.5.1 requires <Postmaster>, and Postfix takes bare local parts. */
static int path_parse(const char *s, const char **ret_box, size_t *ret_box_len,
                      const char **ret_end)
{
        const char *p = s + 1, *box;

        assert(*s == '<');
        if (*p == '@') {
                /* A-d-l: "@one,@two:" */
                for (;;) {
                        if (*p != '@')
                                return -EINVAL;
                        p = domain_scan(p + 1);
                        if (!p)
                                return -EINVAL;
                        if (*p == ':')
                                break;
                        if (*p != ',')
                                return -EINVAL;
                        p++;
                }
                p++;
                if (*p == '>')
                        return -EINVAL; /* a route to nobody: "<@a:>" */
        }
        box = p;
        if (*p != '>') {
                p = local_part_scan(p);
                if (!p)
                        return -EINVAL;
                if (*p == '@') {
                        p = domain_scan(p + 1);
                        if (!p)
                                return -EINVAL;
                }
                if (*p != '>')
                        return -EINVAL;
        }
        *ret_box = box;
        *ret_box_len = (size_t)(p - box);
        *ret_end = p + 1;
        return 0;
}

/* How MAIL and RCPT differ. */
struct path_command {
        const char *keyword;     /* "from:" */
        const char *syntax;      /* the keyword or the brackets are missing */
        const char *bad_address; /* the path is malformed */
        bool null_ok;            /* "<>" allowed */
};

static const struct path_command mail_command = {
        .keyword = "from:",
        .syntax = "501 5.5.4 Syntax: MAIL FROM:<address>",
        .bad_address = "501 5.1.7 Bad sender address syntax",
        .null_ok = true,
};

static const struct path_command rcpt_command = {
        .keyword = "to:",
        .syntax = "501 5.5.4 Syntax: RCPT TO:<address>",
        .bad_address = "501 5.1.3 Bad recipient address syntax",
        .null_ok = false,
};

#define REPLY_NEED_SMTPUTF8 "553 5.6.7 Must declare SMTPUTF8 to send unicode address"

/* path_argument_parse - "FROM:<path>" up to the parameters: the mailbox in
 * box[0..*ret_box_len) and where the parameters start */
static int path_argument_parse(const struct path_command *cmd, const char *arg,
                               const char **ret_box, size_t *ret_box_len, const char **ret_params,
                               const char **ret_reply)
{
        const char *p = arg, *box, *end;
        size_t box_len;

        /* Postfix tolerates blanks before the keyword and after the colon */
        while (*p == ' ')
                p++;
        if (!prefix_eq(p, cmd->keyword)) {
                *ret_reply = cmd->syntax;
                return -EINVAL;
        }
        p += strlen(cmd->keyword);
        while (*p == ' ')
                p++;
        if (*p != '<') {
                *ret_reply = cmd->syntax;
                return -EINVAL;
        }
        if (path_parse(p, &box, &box_len, &end) < 0 || box_len > SMTP_ADDRESS_MAX ||
            (box_len == 0 && !cmd->null_ok)) {
                *ret_reply = cmd->bad_address;
                return -EINVAL;
        }
        if (*end != '\0' && *end != ' ' && *end != '\t') {
                *ret_reply = cmd->bad_address; /* "<a@b>junk" */
                return -EINVAL;
        }
        *ret_box = box;
        *ret_box_len = box_len;
        *ret_params = end;
        return 0;
}

/* path_store - copy the checked mailbox; 8-bit bytes need SMTPUTF8 and valid UTF-8 */
static int path_store(const struct path_command *cmd, const char *box, size_t box_len,
                      bool smtputf8, struct smtp_path *path, const char **ret_reply)
{
        bool eight_bit = false;

        for (size_t i = 0; i < box_len; i++)
                if (is_8bit(box[i]))
                        eight_bit = true;
        if (eight_bit && !smtputf8) {
                *ret_reply = REPLY_NEED_SMTPUTF8;
                return -EINVAL;
        }
        if (eight_bit && !utf8_is_valid(box, box_len)) {
                *ret_reply = cmd->bad_address;
                return -EINVAL;
        }
        memcpy(path->address, box, box_len);
        path->address[box_len] = '\0';
        path->is_null = box_len == 0;
        return 0;
}

/* A parameter "KEYWORD[=value]" as found on the line. */
struct param {
        const char *key;
        size_t key_len;
        const char *value; /* NULL when there is no '=' */
        size_t value_len;
};

/* param_next - the next blank-separated parameter after *p; false at the end */
static bool param_next(const char **p, struct param *ret)
{
        const char *s = *p, *tok, *eq;
        size_t n;

        while (*s == ' ' || *s == '\t')
                s++;
        if (*s == '\0')
                return false;
        tok = s;
        while (*s != '\0' && *s != ' ' && *s != '\t')
                s++;
        n = (size_t)(s - tok);
        eq = memchr(tok, '=', n);
        ret->key = tok;
        ret->key_len = eq ? (size_t)(eq - tok) : n;
        ret->value = eq ? eq + 1 : NULL;
        ret->value_len = eq ? n - ret->key_len - 1 : 0;
        *p = s;
        return true;
}

/* unsupported_reply - 555 for a parameter we do not take. Replies are static text, so the
 * option is named only when it is a well-known one; client bytes are never echoed. */
static const char *unsupported_reply(const struct param *prm)
{
        static const struct {
                const char *keyword;
                const char *reply;
        } known[] = {
                {"size", "555 5.5.4 Unsupported option: SIZE"},
                {"body", "555 5.5.4 Unsupported option: BODY"},
                {"smtputf8", "555 5.5.4 Unsupported option: SMTPUTF8"},
                {"auth", "555 5.5.4 Unsupported option: AUTH"},
                {"ret", "555 5.5.4 Unsupported option: RET"},
                {"envid", "555 5.5.4 Unsupported option: ENVID"},
                {"notify", "555 5.5.4 Unsupported option: NOTIFY"},
                {"orcpt", "555 5.5.4 Unsupported option: ORCPT"},
                {"requiretls", "555 5.5.4 Unsupported option: REQUIRETLS"},
                {"mt-priority", "555 5.5.4 Unsupported option: MT-PRIORITY"},
        };

        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
                if (word_eq(prm->key, prm->key_len, known[i].keyword))
                        return known[i].reply;
        return "555 5.5.4 Unsupported option";
}

/* size_parse - RFC 1870 size-value: decimal digits; -ERANGE past 2^64 - 1 */
static int size_parse(const char *s, size_t n, uint64_t *ret)
{
        uint64_t v = 0;

        if (n == 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (!is_digit(s[i]))
                        return -EINVAL;
        }
        for (size_t i = 0; i < n; i++) {
                unsigned d = (unsigned)(s[i] - '0');

                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

/* mail_params_parse - MAIL's parameters (Postfix smtpd's replies) */
static int mail_params_parse(const char *p, struct smtp_mail_params *ret, const char **ret_reply)
{
        struct smtp_mail_params params = {0};
        bool auth_seen = false;
        struct param prm;
        int r;

        while (param_next(&p, &prm)) {
                if (word_eq(prm.key, prm.key_len, "size") && prm.value) {
                        r = size_parse(prm.value, prm.value_len, &params.size);
                        if (r == -ERANGE) {
                                *ret_reply =
                                        "552 5.3.4 Message size exceeds file system imposed limit";
                                return -EINVAL;
                        }
                        if (r < 0) {
                                *ret_reply = "501 5.5.4 Bad message size syntax";
                                return -EINVAL;
                        }
                } else if (word_eq(prm.key, prm.key_len, "body") && prm.value) {
                        /* RFC 6152; BINARYMIME (RFC 3030) needs BDAT, which we do not offer */
                        if (word_eq(prm.value, prm.value_len, "7bit"))
                                params.body_8bit = false;
                        else if (word_eq(prm.value, prm.value_len, "8bitmime"))
                                params.body_8bit = true;
                        else if (word_eq(prm.value, prm.value_len, "binarymime")) {
                                *ret_reply = "555 5.5.4 Unsupported option: BODY=BINARYMIME";
                                return -EINVAL;
                        } else {
                                *ret_reply = unsupported_reply(&prm);
                                return -EINVAL;
                        }
                } else if (word_eq(prm.key, prm.key_len, "smtputf8") && !prm.value) {
                        params.smtputf8 = true;
                } else if (word_eq(prm.key, prm.key_len, "auth") && prm.value) {
                        /* RFC 4954 5: a server offering AUTH must take AUTH=; we do not
                         * trust it, which the RFC allows, so it is checked and dropped */
                        if (prm.value_len == 0) {
                                *ret_reply = "501 5.5.4 Bad AUTH parameter syntax";
                                return -EINVAL;
                        }
                        for (size_t i = 0; i < prm.value_len; i++)
                                if (is_ctl(prm.value[i]) || is_8bit(prm.value[i])) {
                                        *ret_reply = "501 5.5.4 Bad AUTH parameter syntax";
                                        return -EINVAL;
                                }
                        if (auth_seen) {
                                *ret_reply = "503 5.5.4 Error: multiple AUTH= options";
                                return -EINVAL;
                        }
                        auth_seen = true;
                } else {
                        *ret_reply = unsupported_reply(&prm);
                        return -EINVAL;
                }
        }
        *ret = params;
        return 0;
}

int smtp_parse_mail_from(const char *arg, struct smtp_path *path, struct smtp_mail_params *params,
                         const char **ret_reply)
{
        struct smtp_mail_params p;
        const char *box, *rest;
        size_t box_len;
        int r;

        assert(arg);
        assert(path);
        assert(params);
        assert(ret_reply);

        r = path_argument_parse(&mail_command, arg, &box, &box_len, &rest, ret_reply);
        if (r < 0)
                return r;
        /* the parameters first: SMTPUTF8 decides whether the address may be 8-bit */
        r = mail_params_parse(rest, &p, ret_reply);
        if (r < 0)
                return r;
        r = path_store(&mail_command, box, box_len, p.smtputf8, path, ret_reply);
        if (r < 0)
                return r;
        *params = p;
        return 0;
}

int smtp_parse_rcpt_to(const char *arg, bool smtputf8, struct smtp_path *path,
                       const char **ret_reply)
{
        const char *box, *rest;
        struct param prm;
        size_t box_len;
        int r;

        assert(arg);
        assert(path);
        assert(ret_reply);

        r = path_argument_parse(&rcpt_command, arg, &box, &box_len, &rest, ret_reply);
        if (r < 0)
                return r;
        /* no RCPT parameter is offered: NOTIFY and ORCPT need DSN, which we do not announce */
        if (param_next(&rest, &prm)) {
                *ret_reply = unsupported_reply(&prm);
                return -EINVAL;
        }
        return path_store(&rcpt_command, box, box_len, smtputf8, path, ret_reply);
}

/* ---- replies ---- */

/* text_store - the printable form of s[0..n) in out (SMTP_REPLY_TEXT_MAX bytes): controls and
 * bytes that are not UTF-8 become '?'; cut at a character boundary */
static void text_store(char out[static SMTP_REPLY_TEXT_MAX], const char *s, size_t n)
{
        size_t o = 0, k;

        for (size_t i = 0; i < n; i += k) {
                k = utf8_seq_len(s + i, n - i);
                if (k == 0 || (k == 1 && is_ctl(s[i]))) {
                        k = 1;
                        if (o + 1 > SMTP_REPLY_TEXT_MAX - 1)
                                break;
                        out[o++] = '?';
                        continue;
                }
                if (o + k > SMTP_REPLY_TEXT_MAX - 1)
                        break;
                memcpy(out + o, s + i, k);
                o += k;
        }
        out[o] = '\0';
}

/* enhanced_parse - RFC 3463 "class.subject.detail " at the start of a text, when its class
 * is the reply's (RFC 2034 3); "" otherwise */
static void enhanced_parse(const char *s, size_t n, int code, char out[static 16])
{
        size_t i = 0;

        out[0] = '\0';
        if (n < 5 || s[0] != (char)('0' + code / 100) || s[1] != '.')
                return;
        i = 2;
        for (int part = 0; part < 2; part++) {
                size_t start = i;

                while (i < n && is_digit(s[i]) && i - start < 4)
                        i++;
                if (i == start || i - start > 3)
                        return;
                if (part == 0) {
                        if (i >= n || s[i] != '.')
                                return;
                        i++;
                }
        }
        if (i < n && s[i] != ' ')
                return;
        memcpy(out, s, i);
        out[i] = '\0';
}

int smtp_reply_feed_line(struct smtp_reply *reply, const char *line, size_t len)
{
        const char *text = "";
        size_t text_len = 0;
        bool last;
        int code;

        assert(reply);
        assert(line || len == 0);

        /* RFC 5321 4.2: Reply-code [ SP / "-" text ] */
        if (len < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]))
                return -EPROTO;
        code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        if (code < 200 || code > 599)
                return -EPROTO;
        if (len == 3)
                last = true;
        else if (line[3] == ' ' || line[3] == '-')
                last = line[3] == ' ';
        else
                return -EPROTO;
        if (len > 4) {
                text = line + 4;
                text_len = len - 4;
        }
        if (reply->n_lines > 0 && code != reply->code)
                return -EPROTO;

        if (reply->n_lines == 0) {
                reply->code = code;
                enhanced_parse(text, text_len, code, reply->enhanced);
        }
        if (reply->n_lines < SMTP_REPLY_LINES_MAX)
                text_store(reply->lines[reply->n_lines], text, text_len);
        reply->n_lines++;
        return last ? 1 : 0;
}

void smtp_reply_text(const struct smtp_reply *reply, char *out, size_t size)
{
        const char *text;
        size_t o, n, k;

        assert(reply);
        assert(out || size == 0);

        if (size == 0)
                return;
        if (reply->n_lines == 0 || reply->code < 200 || reply->code > 599) {
                out[0] = '\0';
                return;
        }
        if (size < 4) {
                out[0] = '\0'; /* not even the code fits */
                return;
        }
        out[0] = (char)('0' + reply->code / 100);
        out[1] = (char)('0' + reply->code / 10 % 10);
        out[2] = (char)('0' + reply->code % 10);
        o = 3;
        text = reply->lines[0];
        n = strnlen(text, SMTP_REPLY_TEXT_MAX);
        if (n > 0 && o + 1 < size)
                out[o++] = ' ';
        for (size_t i = 0; i < n && o < size - 1; i += k) {
                k = utf8_seq_len(text + i, n - i);
                if (k == 0)
                        k = 1; /* not from text_store: copy it anyway */
                if (o + k > size - 1)
                        break;
                memcpy(out + o, text + i, k);
                o += k;
        }
        out[o] = '\0';
}

/* ---- EHLO ---- */

/* ehlo_auth_mechanism - note one SASL mechanism name */
static void ehlo_auth_mechanism(struct smtp_ehlo *e, const char *s, size_t n)
{
        if (word_eq(s, n, "plain"))
                e->auth_plain = true;
        else if (word_eq(s, n, "login"))
                e->auth_login = true;
}

/* token_next - the next space-separated word after *p; false at the end */
static bool token_next(const char **p, const char **ret, size_t *ret_len)
{
        const char *s = *p, *t;

        while (*s == ' ')
                s++;
        if (*s == '\0')
                return false;
        t = s;
        while (*s != '\0' && *s != ' ')
                s++;
        *ret = t;
        *ret_len = (size_t)(s - t);
        *p = s;
        return true;
}

/* ehlo_line - one capability line: a keyword and space-separated parameters (RFC 5321
 * 4.1.1.1) */
static void ehlo_line(struct smtp_ehlo *e, const char *line)
{
        const char *p = line, *kw, *t;
        size_t kw_len, t_len;

        if (!token_next(&p, &kw, &kw_len))
                return;
        if (word_eq(kw, kw_len, "starttls"))
                e->starttls = true;
        else if (word_eq(kw, kw_len, "pipelining"))
                e->pipelining = true;
        else if (word_eq(kw, kw_len, "8bitmime"))
                e->eightbitmime = true;
        else if (word_eq(kw, kw_len, "smtputf8"))
                e->smtputf8 = true;
        else if (word_eq(kw, kw_len, "enhancedstatuscodes"))
                e->enhancedstatuscodes = true;
        else if (word_eq(kw, kw_len, "size")) {
                uint64_t v = 0;

                /* RFC 1870 4: no value or 0 means no fixed limit; a bad one tells nothing */
                if (token_next(&p, &t, &t_len) && size_parse(t, t_len, &v) == 0)
                        e->size = v;
                else
                        e->size = 0;
        } else if (word_eq(kw, kw_len, "auth") || (kw_len > 5 && prefix_eq(kw, "auth="))) {
                /* "AUTH=PLAIN LOGIN" is what pre-RFC 2554 clients needed (Postfix
                 * broken_sasl_auth_clients); the mechanisms follow either way */
                e->auth = true;
                if (kw_len > 5)
                        ehlo_auth_mechanism(e, kw + 5, kw_len - 5);
                while (token_next(&p, &t, &t_len))
                        ehlo_auth_mechanism(e, t, t_len);
        }
}

void smtp_ehlo_parse(const struct smtp_reply *reply, struct smtp_ehlo *ret)
{
        struct smtp_ehlo e = {0};
        size_t n;

        assert(reply);
        assert(ret);

        /* the first line is the server's name and greeting, not a capability */
        n = reply->n_lines < SMTP_REPLY_LINES_MAX ? reply->n_lines : SMTP_REPLY_LINES_MAX;
        /* cppcheck-suppress knownConditionTrueFalse ; n comes from the reply, not a constant */
        for (size_t i = 1; i < n; i++)
                ehlo_line(&e, reply->lines[i]);
        *ret = e;
}

/* ---- DATA ---- */

/* Where the decoder stands in the stream. A '.' at the start of a line, and a CR after it,
 * are held back (not written) until the next byte tells whether the line is the end. */
enum data_state {
        DATA_LINE_START, /* at the start of a line */
        DATA_DOT,        /* "." at the start of a line, held back */
        DATA_DOT_CR,     /* ".\r" at the start of a line, held back */
        DATA_TEXT,       /* inside a line */
        DATA_CR,         /* after a CR (written) that may start a CRLF */
        DATA_DONE,       /* the "." line was consumed */
        DATA_STATE_MAX,
};

void smtp_data_decoder_init(struct smtp_data_decoder *d)
{
        assert(d);
        d->state = DATA_LINE_START;
        d->lines = 0;
}

/* data_step - the one place the decoder's state changes: consume c, write at most 2 bytes
 * at out + *o (RFC 5321 4.5.2: the first '.' of a line is dropped; the line "." ends the
 * data; bare LF becomes CRLF, and a lone "." line ended by a bare LF counts, as Postfix
 * accepts). lines counts the line ends written. */
static enum data_state data_step(struct smtp_data_decoder *d, enum data_state s, char c, char *out,
                                 size_t *o)
{
        switch (s) {
        case DATA_DOT_CR:
                if (c == '\n')
                        return DATA_DONE;
                out[(*o)++] = '\r'; /* the held CR was bare */
                return data_step(d, DATA_CR, c, out, o);
        case DATA_DOT:
                if (c == '\r')
                        return DATA_DOT_CR;
                if (c == '\n')
                        return DATA_DONE;
                out[(*o)++] = c; /* the held '.' is dropped: ".." -> ".", ".x" -> "x" */
                return DATA_TEXT;
        case DATA_LINE_START:
                if (c == '.')
                        return DATA_DOT;
                return data_step(d, DATA_TEXT, c, out, o);
        case DATA_CR:
                if (c == '\n') {
                        out[(*o)++] = '\n';
                        d->lines++;
                        return DATA_LINE_START;
                }
                return data_step(d, DATA_TEXT, c, out, o);
        case DATA_TEXT:
                if (c == '\n') {
                        out[(*o)++] = '\r';
                        out[(*o)++] = '\n';
                        d->lines++;
                        return DATA_LINE_START;
                }
                out[(*o)++] = c;
                return c == '\r' ? DATA_CR : DATA_TEXT;
        case DATA_DONE:
        case DATA_STATE_MAX:
                break;
        }
        assert(!"data_step: no transition from this state");
        return s;
}

int smtp_data_decode(struct smtp_data_decoder *d, const char *in, size_t in_len, char *out,
                     size_t *ret_out_len, size_t *ret_consumed)
{
        enum data_state s;
        size_t i = 0, o = 0;

        assert(d);
        assert(d->state >= 0 && d->state < DATA_STATE_MAX);
        assert(in || in_len == 0);
        assert(out || in_len == 0);
        assert(ret_out_len);
        assert(ret_consumed);

        s = (enum data_state)d->state;
        while (i < in_len && s != DATA_DONE) {
                if (s == DATA_TEXT) {
                        /* the common case: copy up to the next CR or LF in one go */
                        size_t j = i;

                        while (j < in_len && in[j] != '\r' && in[j] != '\n')
                                j++;
                        memcpy(out + o, in + i, j - i);
                        o += j - i;
                        i = j;
                        if (i == in_len)
                                break;
                }
                s = data_step(d, s, in[i++], out, &o);
        }
        d->state = (int)s;
        *ret_out_len = o;
        *ret_consumed = i;
        return s == DATA_DONE ? 1 : 0;
}

size_t smtp_dot_stuff(const char *in, size_t in_len, char *out, bool *at_line_start)
{
        bool line_start;
        size_t o = 0;

        assert(in || in_len == 0);
        assert(out || in_len == 0);
        assert(at_line_start);

        /* XXX: one bool cannot say that the previous call ended with CR, so a CRLF split
         * between two calls is sent as CR CRLF (never as a bare LF). Callers cut chunks
         * after a LF, or hold a trailing CR back for the next call. */
        line_start = *at_line_start;
        for (size_t i = 0; i < in_len; i++) {
                char c = in[i];

                if (line_start && c == '.')
                        out[o++] = '.';
                if (c == '\n' && (i == 0 || in[i - 1] != '\r'))
                        out[o++] = '\r';
                out[o++] = c;
                line_start = c == '\n';
        }
        *at_line_start = line_start;
        return o;
}
