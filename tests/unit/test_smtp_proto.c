/* SPDX-License-Identifier: MIT */
/*
 * test_smtp_proto - relay/smtp_proto.c: command lines (every verb, hostile lines), MAIL and
 * RCPT arguments (every form the server must take, the classic open-relay test addresses as
 * syntax, parameters and their Postfix replies), replies (multi-line, malformed), EHLO
 * capabilities (SES's transcript from the reference notes), the DATA decoder (hand-written
 * cases, every chunking of them, and random streams against a line-at-a-time model written
 * here from RFC 5321 4.5.2, i.e. without the code under test) and the dot-stuffing round trip.
 * Random inputs come from a fixed seed, so failures repeat.
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

#include "smtp_proto.h"

/* A string literal with its length, so that cases may hold NUL bytes. */
#define TEXT(s)       s, sizeof(s) - 1
#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

#define SYNTAX_MAIL  "501 5.5.4 Syntax: MAIL FROM:<address>"
#define SYNTAX_RCPT  "501 5.5.4 Syntax: RCPT TO:<address>"
#define BAD_SENDER   "501 5.1.7 Bad sender address syntax"
#define BAD_RCPT     "501 5.1.3 Bad recipient address syntax"
#define NEED_UTF8    "553 5.6.7 Must declare SMTPUTF8 to send unicode address"
#define BAD_SIZE     "501 5.5.4 Bad message size syntax"
#define SIZE_TOO_BIG "552 5.3.4 Message size exceeds file system imposed limit"
#define UNSUPPORTED  "555 5.5.4 Unsupported option"

/* escape - s[0..n) printable for failure messages (cut to fit) */
static const char *escape(const char *s, size_t n)
{
        static char buf[4][512];
        static unsigned which;
        char *out = buf[which++ % 4];
        size_t o = 0;

        for (size_t i = 0; i < n && o + 8 < sizeof buf[0]; i++) {
                unsigned char c = (unsigned char)s[i];

                if (c == '\r')
                        o += (size_t)snprintf(out + o, 8, "\\r");
                else if (c == '\n')
                        o += (size_t)snprintf(out + o, 8, "\\n");
                else if (c < 0x20 || c >= 0x7f)
                        o += (size_t)snprintf(out + o, 8, "\\x%02x", c);
                else
                        out[o++] = (char)c;
        }
        out[o] = '\0';
        return out;
}

static const char *escape_str(const char *s)
{
        return escape(s, strlen(s));
}

/* ---- command lines ---- */

struct command_case {
        const char *line;
        size_t len;
        enum smtp_verb verb;
        const char *arg;
};

static void test_command_verbs(void **state)
{
        static const struct command_case cases[] = {
                {TEXT("HELO client.example"), SMTP_VERB_HELO, "client.example"},
                {TEXT("EHLO client.example"), SMTP_VERB_EHLO, "client.example"},
                {TEXT("ehlo [192.0.2.1]"), SMTP_VERB_EHLO, "[192.0.2.1]"},
                {TEXT("MAIL FROM:<a@example.com>"), SMTP_VERB_MAIL, "FROM:<a@example.com>"},
                {TEXT("mail from:<>"), SMTP_VERB_MAIL, "from:<>"},
                {TEXT("RCPT TO:<b@example.com>"), SMTP_VERB_RCPT, "TO:<b@example.com>"},
                {TEXT("Rcpt To:<b@example.com>"), SMTP_VERB_RCPT, "To:<b@example.com>"},
                {TEXT("DATA"), SMTP_VERB_DATA, ""},
                {TEXT("data "), SMTP_VERB_DATA, ""},
                {TEXT("BDAT 1000 LAST"), SMTP_VERB_BDAT, "1000 LAST"},
                {TEXT("RSET"), SMTP_VERB_RSET, ""},
                {TEXT("NOOP"), SMTP_VERB_NOOP, ""},
                {TEXT("noop anything"), SMTP_VERB_NOOP, "anything"},
                {TEXT("QUIT"), SMTP_VERB_QUIT, ""},
                {TEXT("VRFY postmaster"), SMTP_VERB_VRFY, "postmaster"},
                {TEXT("EXPN staff"), SMTP_VERB_EXPN, "staff"},
                {TEXT("HELP"), SMTP_VERB_HELP, ""},
                {TEXT("help MAIL"), SMTP_VERB_HELP, "MAIL"},
                {TEXT("STARTTLS"), SMTP_VERB_STARTTLS, ""},
                {TEXT("StartTLS"), SMTP_VERB_STARTTLS, ""},
                {TEXT("AUTH PLAIN AHVzZXIAcGFzcw=="), SMTP_VERB_AUTH, "PLAIN AHVzZXIAcGFzcw=="},
                {TEXT("auth login"), SMTP_VERB_AUTH, "login"},
                /* one space is eaten, the rest is the argument's */
                {TEXT("MAIL  FROM:<a@example.com>"), SMTP_VERB_MAIL, " FROM:<a@example.com>"},
                {TEXT("HELO\tx"), SMTP_VERB_UNKNOWN, ""}, /* the verb ends at a space only */
                {TEXT("MAILFROM:<a@example.com>"), SMTP_VERB_UNKNOWN, ""},
                {TEXT("MAI"), SMTP_VERB_UNKNOWN, ""},
                {TEXT("STARTTLSX"), SMTP_VERB_UNKNOWN, ""},
                {TEXT("XCLIENT ADDR=192.0.2.1"), SMTP_VERB_UNKNOWN, "ADDR=192.0.2.1"},
                {TEXT("GET / HTTP/1.1"), SMTP_VERB_UNKNOWN, "/ HTTP/1.1"},
                {TEXT("POST /cgi-bin HTTP/1.0"), SMTP_VERB_UNKNOWN, "/cgi-bin HTTP/1.0"},
                {TEXT(" QUIT"), SMTP_VERB_UNKNOWN, "QUIT"},
                {TEXT("QUIT\x7f"), SMTP_VERB_UNKNOWN, ""},
                {TEXT("\xc3\x89HLO x"), SMTP_VERB_UNKNOWN, "x"},
                {TEXT("MAIL FROM:<p\xc3\xa9@example.com> SMTPUTF8"), SMTP_VERB_MAIL,
                 "FROM:<p\xc3\xa9@example.com> SMTPUTF8"},
        };
        (void)state;

        for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
                const struct command_case *c = &cases[i];
                struct smtp_command cmd;
                int r;

                r = smtp_parse_command(c->line, c->len, &cmd);
                if (r != 0)
                        fail_msg("smtp_parse_command(\"%s\"): got r=%d, want 0",
                                 escape(c->line, c->len), r);
                if (cmd.verb != c->verb || strcmp(cmd.arg, c->arg) != 0)
                        fail_msg("smtp_parse_command(\"%s\"): got verb %d arg \"%s\", want %d "
                                 "\"%s\"",
                                 escape(c->line, c->len), cmd.verb, escape_str(cmd.arg), c->verb,
                                 c->arg);
                if (cmd.arg < c->line || cmd.arg > c->line + c->len)
                        fail_msg("smtp_parse_command(\"%s\"): arg does not point into the line",
                                 escape(c->line, c->len));
        }
}

static void test_command_hostile(void **state)
{
        static const struct {
                const char *line;
                size_t len;
        } cases[] = {
                {TEXT("")},
                {TEXT(" ")},
                {TEXT("   \t ")},
                {TEXT("NOOP\0")},
                {TEXT("NO\0OP")},
                {TEXT("\0")},
                {TEXT("MAIL FROM:<a@example.com>\r")},
                {TEXT("DA\rTA")},
                {TEXT("\rQUIT")},
                {TEXT("RCPT TO:<a@example.com>\nRCPT TO:<b@example.com>")},
                {TEXT("\x1b[31mHELO x")},
                {TEXT("HELO x\x0b")},
                {TEXT("HELO \x01")},
                {TEXT("EHLO \x1f")},
        };
        (void)state;

        for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
                struct smtp_command cmd, untouched;
                int r;

                memset(&cmd, 0xaa, sizeof cmd);
                memcpy(&untouched, &cmd, sizeof cmd);
                r = smtp_parse_command(cases[i].line, cases[i].len, &cmd);
                if (r != -EINVAL)
                        fail_msg("smtp_parse_command(\"%s\"): got r=%d, want -EINVAL",
                                 escape(cases[i].line, cases[i].len), r);
                if (memcmp(&cmd, &untouched, sizeof cmd) != 0)
                        fail_msg("smtp_parse_command(\"%s\"): failed but wrote *ret",
                                 escape(cases[i].line, cases[i].len));
        }
}

/* Longer than SMTP_CMD_LINE_MAX: the caller refuses those, but the parsers must cope. */
static void test_command_long(void **state)
{
        static char line[3 * SMTP_CMD_LINE_MAX];
        const char *reply = NULL;
        struct smtp_mail_params params;
        struct smtp_command cmd;
        struct smtp_path path;
        size_t len;
        int r;
        (void)state;

        memset(line, 'A', sizeof line - 1);
        line[sizeof line - 1] = '\0';
        assert_int_equal(smtp_parse_command(line, sizeof line - 1, &cmd), 0);
        assert_int_equal(cmd.verb, SMTP_VERB_UNKNOWN);
        assert_string_equal(cmd.arg, "");

        len = (size_t)snprintf(line, sizeof line, "MAIL FROM:<");
        memset(line + len, 'a', 2 * SMTP_CMD_LINE_MAX);
        len += 2 * SMTP_CMD_LINE_MAX;
        len += (size_t)snprintf(line + len, sizeof line - len, "@example.com> SIZE=1");
        assert_int_equal(smtp_parse_command(line, len, &cmd), 0);
        assert_int_equal(cmd.verb, SMTP_VERB_MAIL);
        r = smtp_parse_mail_from(cmd.arg, &path, &params, &reply);
        assert_int_equal(r, -EINVAL);
        assert_string_equal(reply, BAD_SENDER);

        /* a path that never closes */
        len = (size_t)snprintf(line, sizeof line, "RCPT TO:<");
        memset(line + len, '@', sizeof line - len - 1);
        line[sizeof line - 1] = '\0';
        assert_int_equal(smtp_parse_command(line, sizeof line - 1, &cmd), 0);
        r = smtp_parse_rcpt_to(cmd.arg, false, &path, &reply);
        assert_int_equal(r, -EINVAL);
        assert_string_equal(reply, BAD_RCPT);
}

/* ---- MAIL FROM / RCPT TO ---- */

struct mail_case {
        const char *arg;
        const char *address;
        bool is_null;
        uint64_t size;
        bool body_8bit;
        bool smtputf8;
};

static void test_mail_from_valid(void **state)
{
        static const struct mail_case cases[] = {
                {"FROM:<user@example.com>", "user@example.com", false, 0, false, false},
                {"from:<user@example.com>", "user@example.com", false, 0, false, false},
                {"From:<User@Example.COM>", "User@Example.COM", false, 0, false, false},
                {"FROM: <user@example.com>", "user@example.com", false, 0, false, false},
                {"FROM:   <user@example.com>", "user@example.com", false, 0, false, false},
                {" FROM:<user@example.com>", "user@example.com", false, 0, false, false},
                {"FROM:<user@example.com>   ", "user@example.com", false, 0, false, false},
                {"FROM:<>", "", true, 0, false, false},
                {"FROM:<> SIZE=1000", "", true, 1000, false, false},
                {"FROM:<user@example.com> SIZE=10485760 BODY=8BITMIME", "user@example.com", false,
                 10485760, true, false},
                {"FROM:<user@example.com> body=7bit size=0", "user@example.com", false, 0, false,
                 false},
                {"FROM:<user@example.com> BODY=8BITMIME BODY=7BIT", "user@example.com", false, 0,
                 false, false},
                {"FROM:<user@example.com>  SIZE=42\tBODY=8bitmime ", "user@example.com", false, 42,
                 true, false},
                {"FROM:<user@example.com> SIZE=00042", "user@example.com", false, 42, false, false},
                {"FROM:<user@example.com> SIZE=18446744073709551615", "user@example.com", false,
                 UINT64_MAX, false, false},
                {"FROM:<user@example.com> SMTPUTF8", "user@example.com", false, 0, false, true},
                {"FROM:<user@example.com> smtputf8 BODY=8BITMIME", "user@example.com", false, 0,
                 true, true},
                {"FROM:<p\xc3\xa9@example.com> SMTPUTF8", "p\xc3\xa9@example.com", false, 0, false,
                 true},
                {"FROM:<user@b\xc3\xbc\x63her.example> SMTPUTF8", "user@b\xc3\xbc\x63her.example",
                 false, 0, false, true},
                {"FROM:<\xe7\x94\xb0\xe4\xb8\xad@\xe4\xbe\x8b\xe3\x81\x88.jp> SMTPUTF8",
                 "\xe7\x94\xb0\xe4\xb8\xad@\xe4\xbe\x8b\xe3\x81\x88.jp", false, 0, false, true},
                {"FROM:<\xf0\x9f\x93\xa7@example.com> SMTPUTF8", "\xf0\x9f\x93\xa7@example.com",
                 false, 0, false, true},
                {"FROM:<\"\xc3\xa9 \xc3\xa9\"@example.com> SMTPUTF8",
                 "\"\xc3\xa9 \xc3\xa9\"@example.com", false, 0, false, true},
                {"FROM:<user@xn--bcher-kva.example>", "user@xn--bcher-kva.example", false, 0, false,
                 false},
                {"FROM:<user@example.com> AUTH=<>", "user@example.com", false, 0, false, false},
                {"FROM:<user@example.com> AUTH=user+40example.com", "user@example.com", false, 0,
                 false, false},
                /* source routes are removed (RFC 5321 appendix C) */
                {"FROM:<@a.example,@b.example:user@c.example>", "user@c.example", false, 0, false,
                 false},
                {"FROM:<@a.example:user@c.example>", "user@c.example", false, 0, false, false},
                {"FROM:<@[192.0.2.1]:user@c.example>", "user@c.example", false, 0, false, false},
                /* kept as written */
                {"FROM:<\"a b\"@example.com>", "\"a b\"@example.com", false, 0, false, false},
                {"FROM:<\"a\\\"b\"@example.com>", "\"a\\\"b\"@example.com", false, 0, false, false},
                {"FROM:<\"a>b\"@example.com>", "\"a>b\"@example.com", false, 0, false, false},
                {"FROM:<\"\"@example.com>", "\"\"@example.com", false, 0, false, false},
                {"FROM:<user%host.example@example.com>", "user%host.example@example.com", false, 0,
                 false, false},
                {"FROM:<host.example!user@example.com>", "host.example!user@example.com", false, 0,
                 false, false},
                {"FROM:<user@[192.0.2.1]>", "user@[192.0.2.1]", false, 0, false, false},
                {"FROM:<user@[IPv6:2001:db8::1]>", "user@[IPv6:2001:db8::1]", false, 0, false,
                 false},
                {"FROM:<user@[ipv6:::1]>", "user@[ipv6:::1]", false, 0, false, false},
                {"FROM:<user@[IPv6:::ffff:192.0.2.1]>", "user@[IPv6:::ffff:192.0.2.1]", false, 0,
                 false, false},
                /* a bare local part: Postfix appends $myorigin, RFC 5321 4.5.1 <Postmaster> */
                {"FROM:<MAILER-DAEMON>", "MAILER-DAEMON", false, 0, false, false},
                /* dots as old Japanese mobile carriers hand out, which Postfix takes */
                {"FROM:<a..b@docomo.ne.jp>", "a..b@docomo.ne.jp", false, 0, false, false},
                {"FROM:<a.@docomo.ne.jp>", "a.@docomo.ne.jp", false, 0, false, false},
                {"FROM:<user+tag@sub.example.co.uk>", "user+tag@sub.example.co.uk", false, 0, false,
                 false},
                {"FROM:<bounce_1@mail_relay.example.com>", "bounce_1@mail_relay.example.com", false,
                 0, false, false},
                {"FROM:<!#$%&'*+-/=?^_`{|}~@example.com>", "!#$%&'*+-/=?^_`{|}~@example.com", false,
                 0, false, false},
                {"FROM:<user@a.b.c.d.e.f.g.h.example>", "user@a.b.c.d.e.f.g.h.example", false, 0,
                 false, false},
                {"FROM:<user@1.2.3.4.example>", "user@1.2.3.4.example", false, 0, false, false},
        };
        (void)state;

        for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
                const struct mail_case *c = &cases[i];
                const char *reply = "untouched";
                struct smtp_mail_params params;
                struct smtp_path path;
                int r;

                memset(&path, 0xaa, sizeof path);
                memset(&params, 0xaa, sizeof params);
                r = smtp_parse_mail_from(c->arg, &path, &params, &reply);
                if (r != 0)
                        fail_msg("smtp_parse_mail_from(\"%s\"): got r=%d (%s), want 0",
                                 escape_str(c->arg), r, reply);
                if (strcmp(path.address, c->address) != 0 || path.is_null != c->is_null)
                        fail_msg("smtp_parse_mail_from(\"%s\"): got \"%s\" null %d, want \"%s\" %d",
                                 escape_str(c->arg), escape_str(path.address), path.is_null,
                                 escape_str(c->address), c->is_null);
                if (params.size != c->size || params.body_8bit != c->body_8bit ||
                    params.smtputf8 != c->smtputf8)
                        fail_msg("smtp_parse_mail_from(\"%s\"): got size %llu 8bit %d utf8 %d, "
                                 "want %llu %d %d",
                                 escape_str(c->arg), (unsigned long long)params.size,
                                 params.body_8bit, params.smtputf8, (unsigned long long)c->size,
                                 c->body_8bit, c->smtputf8);
                if (strcmp(reply, "untouched") != 0)
                        fail_msg("smtp_parse_mail_from(\"%s\"): succeeded but set the reply",
                                 escape_str(c->arg));
        }
}

struct reject_case {
        const char *arg;
        const char *reply;
};

static void test_mail_from_invalid(void **state)
{
        static const struct reject_case cases[] = {
                {"", SYNTAX_MAIL},
                {"FROM", SYNTAX_MAIL},
                {"FROM:", SYNTAX_MAIL},
                {"FROM:   ", SYNTAX_MAIL},
                {"TO:<user@example.com>", SYNTAX_MAIL},
                {"FROM <user@example.com>", SYNTAX_MAIL},
                {"FROM :<user@example.com>", SYNTAX_MAIL},
                {"FROMX:<user@example.com>", SYNTAX_MAIL},
                {"FROM:user@example.com", SYNTAX_MAIL},
                {"FROM:user@example.com>", SYNTAX_MAIL},
                {"FROM:\"<user@example.com>\"", SYNTAX_MAIL},
                {"FROM:<user@example.com", BAD_SENDER},
                {"FROM:<", BAD_SENDER},
                {"FROM:<<user@example.com>>", BAD_SENDER},
                {"FROM:< user@example.com>", BAD_SENDER},
                {"FROM:<user@example.com >", BAD_SENDER},
                {"FROM:<user@example.com>junk", BAD_SENDER},
                {"FROM:<user@example.com>SIZE=1", BAD_SENDER},
                {"FROM:<user@example.com>>", BAD_SENDER},
                {"FROM:<user@>", BAD_SENDER},
                {"FROM:<@example.com>", BAD_SENDER},
                {"FROM:<@>", BAD_SENDER},
                {"FROM:<user@@example.com>", BAD_SENDER},
                {"FROM:<user@host@example.com>", BAD_SENDER},
                {"FROM:<us er@example.com>", BAD_SENDER},
                {"FROM:<user@exa mple.com>", BAD_SENDER},
                {"FROM:<user(comment)@example.com>", BAD_SENDER},
                {"FROM:<user,other@example.com>", BAD_SENDER},
                {"FROM:<user;other@example.com>", BAD_SENDER},
                {"FROM:<user@example..com>", BAD_SENDER},
                {"FROM:<user@.example.com>", BAD_SENDER},
                {"FROM:<user@example.com.>", BAD_SENDER},
                {"FROM:<user@-example.com>", BAD_SENDER},
                {"FROM:<user@example-.com>", BAD_SENDER},
                {"FROM:<user@exa%mple.com>", BAD_SENDER},
                {"FROM:<user@[192.0.2.256]>", BAD_SENDER},
                {"FROM:<user@[192.0.2]>", BAD_SENDER},
                {"FROM:<user@[192.0.2.1>", BAD_SENDER},
                {"FROM:<user@[]>", BAD_SENDER},
                {"FROM:<user@[IPv6:]>", BAD_SENDER},
                {"FROM:<user@[IPv6:2001:db8::g]>", BAD_SENDER},
                {"FROM:<user@[2001:db8::1]>", BAD_SENDER},
                {"FROM:<user@[tag:content]>", BAD_SENDER},
                {"FROM:<user@[192.0.2.1].example>", BAD_SENDER},
                {"FROM:<\"unterminated@example.com>", BAD_SENDER},
                {"FROM:<\"a\tb\"@example.com>", BAD_SENDER},
                {"FROM:<\"a\\\xc3\xa9\"@example.com> SMTPUTF8", BAD_SENDER},
                {"FROM:<\"a\"b@example.com>", BAD_SENDER},
                {"FROM:<@a.example,b.example:user@c.example>", BAD_SENDER},
                {"FROM:<@a.example:>", BAD_SENDER},
                {"FROM:<@:user@c.example>", BAD_SENDER},
                {"FROM:<@a.example,:user@c.example>", BAD_SENDER},
                {"FROM:<@a.example;@b.example:user@c.example>", BAD_SENDER},
                {"FROM:<user\x01@example.com>", BAD_SENDER},
                {"FROM:<user@example.com\x7f>", BAD_SENDER},
                /* 8-bit addresses */
                {"FROM:<p\xc3\xa9@example.com>", NEED_UTF8},
                {"FROM:<user@b\xc3\xbc\x63her.example>", NEED_UTF8},
                {"FROM:<p\xc3\xa9@example.com> BODY=8BITMIME", NEED_UTF8},
                {"FROM:<p\xe9@example.com> SMTPUTF8", BAD_SENDER},         /* Latin-1 */
                {"FROM:<p\xc0\xae@example.com> SMTPUTF8", BAD_SENDER},     /* overlong */
                {"FROM:<p\xed\xa0\x80@example.com> SMTPUTF8", BAD_SENDER}, /* surrogate */
                {"FROM:<p\xc3@example.com> SMTPUTF8", BAD_SENDER},
                {"FROM:<p\xe0\x80\xaf@example.com> SMTPUTF8", BAD_SENDER},     /* overlong */
                {"FROM:<p\xf0\x80\x80\xaf@example.com> SMTPUTF8", BAD_SENDER}, /* overlong */
                {"FROM:<p\xf4\x90\x80\x80@example.com> SMTPUTF8", BAD_SENDER}, /* > U+10FFFF */
                {"FROM:<p\xf5\x80\x80\x80@example.com> SMTPUTF8", BAD_SENDER},
                {"FROM:<p\xa9@example.com> SMTPUTF8", BAD_SENDER}, /* lone continuation */
                {"FROM:<\"\xc3\xa9\"@example.com>", NEED_UTF8},    /* truncated */
                /* parameters */
                {"FROM:<user@example.com> SIZE=99999999999999999999999", SIZE_TOO_BIG},
                {"FROM:<user@example.com> SIZE=18446744073709551616", SIZE_TOO_BIG},
                {"FROM:<user@example.com> SIZE=", BAD_SIZE},
                {"FROM:<user@example.com> SIZE=abc", BAD_SIZE},
                {"FROM:<user@example.com> SIZE=-1", BAD_SIZE},
                {"FROM:<user@example.com> SIZE=+1", BAD_SIZE},
                {"FROM:<user@example.com> SIZE=1k", BAD_SIZE},
                {"FROM:<user@example.com> SIZE=1=2", BAD_SIZE},
                {"FROM:<user@example.com> SIZE", UNSUPPORTED ": SIZE"},
                {"FROM:<user@example.com> BODY=BINARYMIME", UNSUPPORTED ": BODY=BINARYMIME"},
                {"FROM:<user@example.com> body=binarymime", UNSUPPORTED ": BODY=BINARYMIME"},
                {"FROM:<user@example.com> BODY=8BIT", UNSUPPORTED ": BODY"},
                {"FROM:<user@example.com> BODY=", UNSUPPORTED ": BODY"},
                {"FROM:<user@example.com> BODY", UNSUPPORTED ": BODY"},
                {"FROM:<user@example.com> SMTPUTF8=yes", UNSUPPORTED ": SMTPUTF8"},
                {"FROM:<user@example.com> RET=HDRS", UNSUPPORTED ": RET"},
                {"FROM:<user@example.com> ENVID=abc", UNSUPPORTED ": ENVID"},
                {"FROM:<user@example.com> REQUIRETLS", UNSUPPORTED ": REQUIRETLS"},
                {"FROM:<user@example.com> MT-PRIORITY=3", UNSUPPORTED ": MT-PRIORITY"},
                {"FROM:<user@example.com> XVERP", UNSUPPORTED},
                {"FROM:<user@example.com> FOO=bar", UNSUPPORTED},
                {"FROM:<user@example.com> SIZE=1 FOO", UNSUPPORTED},
                {"FROM:<user@example.com> =", UNSUPPORTED},
                {"FROM:<user@example.com> SIZE\xc3\xa9=1", UNSUPPORTED},
                {"FROM:<user@example.com> AUTH=", "501 5.5.4 Bad AUTH parameter syntax"},
                {"FROM:<user@example.com> AUTH=a\x01", "501 5.5.4 Bad AUTH parameter syntax"},
                {"FROM:<user@example.com> AUTH=<> AUTH=<>",
                 "503 5.5.4 Error: multiple AUTH= options"},
                {"FROM:<user@example.com> AUTH", UNSUPPORTED ": AUTH"},
        };
        (void)state;

        for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
                const struct reject_case *c = &cases[i];
                struct smtp_mail_params params, untouched_params;
                struct smtp_path path, untouched_path;
                const char *reply = NULL;
                int r;

                memset(&path, 0xaa, sizeof path);
                memset(&params, 0xaa, sizeof params);
                memcpy(&untouched_path, &path, sizeof path);
                memcpy(&untouched_params, &params, sizeof params);
                r = smtp_parse_mail_from(c->arg, &path, &params, &reply);
                if (r != -EINVAL)
                        fail_msg("smtp_parse_mail_from(\"%s\"): got r=%d, want -EINVAL",
                                 escape_str(c->arg), r);
                if (!reply || strcmp(reply, c->reply) != 0)
                        fail_msg("smtp_parse_mail_from(\"%s\"): got reply \"%s\", want \"%s\"",
                                 escape_str(c->arg), reply ? reply : "(null)", c->reply);
                if (memcmp(&path, &untouched_path, sizeof path) != 0 ||
                    memcmp(&params, &untouched_params, sizeof params) != 0)
                        fail_msg("smtp_parse_mail_from(\"%s\"): failed but wrote the results",
                                 escape_str(c->arg));
        }
}

/* build_address - "u@ddd.ddd..." of exactly len bytes, in labels of at most 63 */
static void build_address(char *out, size_t len)
{
        size_t o = 2;

        assert_true(len > 10);
        memcpy(out, "u@", 2);
        while (o < len) {
                size_t n;

                if (o > 2)
                        out[o++] = '.';
                n = len - o < 63 ? len - o : 63;
                if (len - o - n == 1)
                        n--; /* no empty label at the end */
                memset(out + o, 'd', n);
                o += n;
        }
        out[len] = '\0';
}

static void test_address_length(void **state)
{
        char address[SMTP_ADDRESS_MAX + 8], arg[SMTP_ADDRESS_MAX + 32];
        const char *reply = NULL;
        struct smtp_mail_params params;
        struct smtp_path path;
        (void)state;

        build_address(address, SMTP_ADDRESS_MAX);
        assert_int_equal(strlen(address), SMTP_ADDRESS_MAX);
        snprintf(arg, sizeof arg, "FROM:<%s>", address);
        assert_int_equal(smtp_parse_mail_from(arg, &path, &params, &reply), 0);
        assert_string_equal(path.address, address);
        snprintf(arg, sizeof arg, "TO:<%s>", address);
        assert_int_equal(smtp_parse_rcpt_to(arg, false, &path, &reply), 0);
        assert_string_equal(path.address, address);

        build_address(address, SMTP_ADDRESS_MAX + 1);
        snprintf(arg, sizeof arg, "FROM:<%s>", address);
        assert_int_equal(smtp_parse_mail_from(arg, &path, &params, &reply), -EINVAL);
        assert_string_equal(reply, BAD_SENDER);
        snprintf(arg, sizeof arg, "TO:<%s>", address);
        assert_int_equal(smtp_parse_rcpt_to(arg, false, &path, &reply), -EINVAL);
        assert_string_equal(reply, BAD_RCPT);

        /* the limit is on what is kept: a source route in front does not count */
        build_address(address, SMTP_ADDRESS_MAX);
        snprintf(arg, sizeof arg, "TO:<@relay.example:%s>", address);
        assert_int_equal(smtp_parse_rcpt_to(arg, false, &path, &reply), 0);
        assert_string_equal(path.address, address);

        /* a 64-byte label */
        snprintf(arg, sizeof arg, "TO:<u@%064d.example>", 0);
        assert_int_equal(smtp_parse_rcpt_to(arg, false, &path, &reply), -EINVAL);
        snprintf(arg, sizeof arg, "TO:<u@%063d.example>", 0);
        assert_int_equal(smtp_parse_rcpt_to(arg, false, &path, &reply), 0);
}

struct rcpt_case {
        const char *arg;
        bool smtputf8;
        const char *address;
};

static void test_rcpt_to_valid(void **state)
{
        static const struct rcpt_case cases[] = {
                {"TO:<user@example.com>", false, "user@example.com"},
                {"to:<user@example.com>", false, "user@example.com"},
                {"TO: <user@example.com>", false, "user@example.com"},
                {"TO:<user@example.com>  ", false, "user@example.com"},
                {"TO:<Postmaster>", false, "Postmaster"},
                {"TO:<postmaster@[192.0.2.1]>", false, "postmaster@[192.0.2.1]"},
                {"TO:<p\xc3\xa9@example.com>", true, "p\xc3\xa9@example.com"},
                /* the usual open-relay test addresses: all valid syntax, kept as written
                 * (relaying policy is the server's); source routes are removed */
                {"TO:<user%victim.example@relay.example>", false,
                 "user%victim.example@relay.example"},
                {"TO:<user%victim.example>", false, "user%victim.example"},
                {"TO:<victim.example!user@relay.example>", false,
                 "victim.example!user@relay.example"},
                {"TO:<victim.example!user>", false, "victim.example!user"},
                {"TO:<victim.example!user%relay.example@relay.example>", false,
                 "victim.example!user%relay.example@relay.example"},
                {"TO:<\"user@victim.example\">", false, "\"user@victim.example\""},
                {"TO:<\"user@victim.example\"@relay.example>", false,
                 "\"user@victim.example\"@relay.example"},
                {"TO:<\"user%victim.example\"@relay.example>", false,
                 "\"user%victim.example\"@relay.example"},
                {"TO:<@relay.example:user@victim.example>", false, "user@victim.example"},
                {"TO:<@a.example,@b.example:user@c.example>", false, "user@c.example"},
                {"TO:<user@[192.0.2.1]>", false, "user@[192.0.2.1]"},
                {"TO:<user%victim.example@[192.0.2.1]>", false, "user%victim.example@[192.0.2.1]"},
                {"TO:<user@[IPv6:2001:db8::1]>", false, "user@[IPv6:2001:db8::1]"},
        };
        (void)state;

        for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
                const struct rcpt_case *c = &cases[i];
                const char *reply = "untouched";
                struct smtp_path path;
                int r;

                memset(&path, 0xaa, sizeof path);
                r = smtp_parse_rcpt_to(c->arg, c->smtputf8, &path, &reply);
                if (r != 0)
                        fail_msg("smtp_parse_rcpt_to(\"%s\"): got r=%d (%s), want 0",
                                 escape_str(c->arg), r, reply);
                if (strcmp(path.address, c->address) != 0 || path.is_null)
                        fail_msg("smtp_parse_rcpt_to(\"%s\"): got \"%s\" null %d, want \"%s\"",
                                 escape_str(c->arg), escape_str(path.address), path.is_null,
                                 escape_str(c->address));
                if (strcmp(reply, "untouched") != 0)
                        fail_msg("smtp_parse_rcpt_to(\"%s\"): succeeded but set the reply",
                                 escape_str(c->arg));
        }
}

static void test_rcpt_to_invalid(void **state)
{
        static const struct reject_case cases[] = {
                {"", SYNTAX_RCPT},
                {"TO:", SYNTAX_RCPT},
                {"FROM:<user@example.com>", SYNTAX_RCPT},
                {"TO:user@example.com", SYNTAX_RCPT},
                {"TO :<user@example.com>", SYNTAX_RCPT},
                {"TO:<>", BAD_RCPT},
                {"TO:<> SIZE=1", BAD_RCPT},
                {"TO:<user@victim.example@relay.example>", BAD_RCPT},
                {"TO:<user@example.com", BAD_RCPT},
                {"TO:<user@example.com>x", BAD_RCPT},
                {"TO:<@relay.example>", BAD_RCPT},
                {"TO:<user@[192.0.2.1]:25>", BAD_RCPT},
                {"TO:<p\xc3\xa9@example.com>", NEED_UTF8},
                {"TO:<user@example.com> NOTIFY=NEVER", UNSUPPORTED ": NOTIFY"},
                {"TO:<user@example.com> ORCPT=rfc822;user@example.com", UNSUPPORTED ": ORCPT"},
                {"TO:<user@example.com> SIZE=1", UNSUPPORTED ": SIZE"},
                {"TO:<user@example.com> SMTPUTF8", UNSUPPORTED ": SMTPUTF8"},
                {"TO:<user@example.com> FOO", UNSUPPORTED},
        };
        (void)state;

        for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
                const struct reject_case *c = &cases[i];
                struct smtp_path path, untouched;
                const char *reply = NULL;
                int r;

                memset(&path, 0xaa, sizeof path);
                memcpy(&untouched, &path, sizeof path);
                r = smtp_parse_rcpt_to(c->arg, false, &path, &reply);
                if (r != -EINVAL)
                        fail_msg("smtp_parse_rcpt_to(\"%s\"): got r=%d, want -EINVAL",
                                 escape_str(c->arg), r);
                if (!reply || strcmp(reply, c->reply) != 0)
                        fail_msg("smtp_parse_rcpt_to(\"%s\"): got reply \"%s\", want \"%s\"",
                                 escape_str(c->arg), reply ? reply : "(null)", c->reply);
                if (memcmp(&path, &untouched, sizeof path) != 0)
                        fail_msg("smtp_parse_rcpt_to(\"%s\"): failed but wrote *path",
                                 escape_str(c->arg));
        }
}

/* Every reply the parsers hand out is a complete SMTP reply: "[45]DD text". */
static void test_reply_texts_are_replies(void **state)
{
        static const char *const args[] = {
                "",
                "FROM:<",
                "FROM:<p\xc3\xa9@example.com>",
                "FROM:<a@example.com> SIZE=x",
                "FROM:<a@example.com> SIZE=99999999999999999999999",
                "FROM:<a@example.com> BODY=BINARYMIME",
                "FROM:<a@example.com> X",
                "FROM:<a@example.com> AUTH=",
                "FROM:<a@example.com> AUTH=a AUTH=b",
        };
        (void)state;

        for (size_t i = 0; i < N_ELEMENTS(args); i++) {
                struct smtp_mail_params params;
                struct smtp_path path;
                const char *reply = NULL;

                assert_int_equal(smtp_parse_mail_from(args[i], &path, &params, &reply), -EINVAL);
                assert_non_null(reply);
                if (strlen(reply) < 5 || (reply[0] != '4' && reply[0] != '5') || reply[3] != ' ' ||
                    strspn(reply, "0123456789") != 3)
                        fail_msg("\"%s\": reply \"%s\" is not an SMTP reply", escape_str(args[i]),
                                 reply);
        }
}

/* ---- replies ---- */

/* feed - lines[] (NUL-terminated, without CRLF) into a fresh reply; the last return value */
static int feed(struct smtp_reply *reply, const char *const *lines, size_t n)
{
        int r = 0;

        memset(reply, 0, sizeof *reply);
        for (size_t i = 0; i < n; i++) {
                r = smtp_reply_feed_line(reply, lines[i], strlen(lines[i]));
                if (r < 0)
                        return r;
                if (r == 1 && i + 1 < n)
                        fail_msg("reply complete at line %zu of %zu", i + 1, n);
        }
        return r;
}

struct reply_case {
        const char *lines[4];
        size_t n;
        int want_r;
        int code;
        const char *enhanced;
        const char *first_text;
        const char *last_text;
};

static void test_reply_parse(void **state)
{
        static const struct reply_case cases[] = {
                {{"250 Ok"}, 1, 1, 250, "", "Ok", "Ok"},
                {{"220 email-smtp.amazonaws.com ESMTP SimpleEmailService-d-ABC123"},
                 1,
                 1,
                 220,
                 "",
                 "email-smtp.amazonaws.com ESMTP SimpleEmailService-d-ABC123",
                 NULL},
                {{"250 Ok 0100018c2f3a4b5c-12345678-aaaa-bbbb-cccc-0123456789ab-000000"},
                 1,
                 1,
                 250,
                 "",
                 "Ok 0100018c2f3a4b5c-12345678-aaaa-bbbb-cccc-0123456789ab-000000",
                 NULL},
                {{"250 2.0.0 Ok: queued as 4XyZ"},
                 1,
                 1,
                 250,
                 "2.0.0",
                 "2.0.0 Ok: queued as 4XyZ",
                 NULL},
                {{"451 4.4.2 Timeout waiting for data from client"},
                 1,
                 1,
                 451,
                 "4.4.2",
                 "4.4.2 Timeout waiting for data from client",
                 NULL},
                {{"454 Throttling failure: Maximum sending rate exceeded"},
                 1,
                 1,
                 454,
                 "",
                 "Throttling failure: Maximum sending rate exceeded",
                 NULL},
                {{"535 Authentication Credentials Invalid"},
                 1,
                 1,
                 535,
                 "",
                 "Authentication Credentials Invalid",
                 NULL},
                {{"550-5.1.1 The email account that you tried to reach does not exist.",
                  "550-5.1.1 Please try double-checking the recipient's email",
                  "550 5.1.1 address for typos. x-gsmtp"},
                 3,
                 1,
                 550,
                 "5.1.1",
                 "5.1.1 The email account that you tried to reach does not exist.",
                 "5.1.1 address for typos. x-gsmtp"},
                {{"554 5.10.100 x"}, 1, 1, 554, "5.10.100", "5.10.100 x", NULL},
                {{"554 5.999.999"}, 1, 1, 554, "5.999.999", "5.999.999", NULL},
                {{"550 5.1.1x user unknown"}, 1, 1, 550, "", "5.1.1x user unknown", NULL},
                {{"550 4.1.1 class differs"}, 1, 1, 550, "", "4.1.1 class differs", NULL},
                {{"550 5.1000.1 too long"}, 1, 1, 550, "", "5.1000.1 too long", NULL},
                {{"550 5.1. x"}, 1, 1, 550, "", "5.1. x", NULL},
                {{"550 5..1 x"}, 1, 1, 550, "", "5..1 x", NULL},
                {{"550 5.1"}, 1, 1, 550, "", "5.1", NULL},
                {{"550 5.1.1.1 x"}, 1, 1, 550, "", "5.1.1.1 x", NULL},
                {{"221"}, 1, 1, 221, "", "", NULL},
                {{"250 "}, 1, 1, 250, "", "", NULL},
                {{"250-", "250"}, 2, 1, 250, "", "", ""},
                {{"250-first", "250-second"}, 2, 0, 250, "", "first", "second"},
                {{"354 End data with <CR><LF>.<CR><LF>"},
                 1,
                 1,
                 354,
                 "",
                 "End data with <CR><LF>.<CR><LF>",
                 NULL},
                {{"250 a\tb\x1b[0mc\x7f"}, 1, 1, 250, "", "a?b?[0mc?", NULL},
                {{"250 caf\xc3\xa9 \xff\xfe ok"}, 1, 1, 250, "", "caf\xc3\xa9 ?? ok", NULL},
                /* malformed */
                {{"25"}, 1, -EPROTO, 0, "", NULL, NULL},
                {{"2500 x"}, 1, -EPROTO, 0, "", NULL, NULL},
                {{"250x"}, 1, -EPROTO, 0, "", NULL, NULL},
                {{"abc"}, 1, -EPROTO, 0, "", NULL, NULL},
                {{""}, 1, -EPROTO, 0, "", NULL, NULL},
                {{" 250 x"}, 1, -EPROTO, 0, "", NULL, NULL},
                {{"25a x"}, 1, -EPROTO, 0, "", NULL, NULL},
                {{"199 x"}, 1, -EPROTO, 0, "", NULL, NULL},
                {{"600 x"}, 1, -EPROTO, 0, "", NULL, NULL},
                {{"099 x"}, 1, -EPROTO, 0, "", NULL, NULL},
                {{"250\tx"}, 1, -EPROTO, 0, "", NULL, NULL},
                {{"250-a", "251 b"}, 2, -EPROTO, 250, "", "a", NULL},
                {{"250-a", "25"}, 2, -EPROTO, 250, "", "a", NULL},
                {{"250-a", "HTTP/1.1 400 Bad Request"}, 2, -EPROTO, 250, "", "a", NULL},
        };
        (void)state;

        for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
                const struct reply_case *c = &cases[i];
                struct smtp_reply reply;
                int r;

                r = feed(&reply, c->lines, c->n);
                if (r != c->want_r)
                        fail_msg("reply case %zu (\"%s\"): got r=%d, want %d", i,
                                 escape_str(c->lines[0]), r, c->want_r);
                if (reply.code != c->code || strcmp(reply.enhanced, c->enhanced) != 0)
                        fail_msg("reply case %zu (\"%s\"): got code %d enhanced \"%s\", want %d "
                                 "\"%s\"",
                                 i, escape_str(c->lines[0]), reply.code, reply.enhanced, c->code,
                                 c->enhanced);
                if (c->first_text && strcmp(reply.lines[0], c->first_text) != 0)
                        fail_msg("reply case %zu: got first text \"%s\", want \"%s\"", i,
                                 escape_str(reply.lines[0]), escape_str(c->first_text));
                if (c->last_text && strcmp(reply.lines[reply.n_lines - 1], c->last_text) != 0)
                        fail_msg("reply case %zu: got last text \"%s\", want \"%s\"", i,
                                 escape_str(reply.lines[reply.n_lines - 1]), c->last_text);
                if (c->want_r >= 0 && reply.n_lines != c->n)
                        fail_msg("reply case %zu: got %zu lines, want %zu", i, reply.n_lines, c->n);
                if (c->want_r < 0 && reply.n_lines != c->n - 1)
                        fail_msg("reply case %zu: the bad line was stored (%zu lines)", i,
                                 reply.n_lines);
        }
}

static void test_reply_limits(void **state)
{
        char line[2048], want[SMTP_REPLY_TEXT_MAX];
        struct smtp_reply reply;
        (void)state;

        /* a long text is cut to SMTP_REPLY_TEXT_MAX - 1 */
        memset(&reply, 0, sizeof reply);
        memcpy(line, "250 ", 4);
        memset(line + 4, 'x', 1000);
        assert_int_equal(smtp_reply_feed_line(&reply, line, 1004), 1);
        assert_int_equal(strlen(reply.lines[0]), SMTP_REPLY_TEXT_MAX - 1);

        /* ... at a character boundary */
        memset(&reply, 0, sizeof reply);
        memset(line + 4, 'x', SMTP_REPLY_TEXT_MAX - 2);
        memcpy(line + 4 + SMTP_REPLY_TEXT_MAX - 2, "\xc3\xa9", 2);
        assert_int_equal(smtp_reply_feed_line(&reply, line, 4 + SMTP_REPLY_TEXT_MAX), 1);
        memset(want, 'x', SMTP_REPLY_TEXT_MAX - 2);
        want[SMTP_REPLY_TEXT_MAX - 2] = '\0';
        assert_string_equal(reply.lines[0], want);

        /* the line need not be NUL-terminated, and a NUL inside is not the end */
        memset(&reply, 0, sizeof reply);
        assert_int_equal(smtp_reply_feed_line(&reply, "250 ab\0cdXXXX", 9), 1);
        assert_string_equal(reply.lines[0], "ab?cd");

        /* lines beyond SMTP_REPLY_LINES_MAX are counted, not stored */
        memset(&reply, 0, sizeof reply);
        for (int i = 0; i < 40; i++) {
                int n = snprintf(line, sizeof line, "250%cline %d", i == 39 ? ' ' : '-', i);

                assert_int_equal(smtp_reply_feed_line(&reply, line, (size_t)n), i == 39 ? 1 : 0);
        }
        assert_int_equal(reply.n_lines, 40);
        assert_string_equal(reply.lines[SMTP_REPLY_LINES_MAX - 1], "line 31");
}

static void test_reply_text(void **state)
{
        static const char *const ses[] = {"250 Ok 0100018c2f3a4b5c-000000"};
        static const char *const bare[] = {"221"};
        static const char *const multi[] = {"550-5.1.1 first", "550 5.1.1 second"};
        struct smtp_reply reply;
        char out[64];
        (void)state;

        assert_int_equal(feed(&reply, ses, 1), 1);
        smtp_reply_text(&reply, out, sizeof out);
        assert_string_equal(out, "250 Ok 0100018c2f3a4b5c-000000");
        smtp_reply_text(&reply, out, 7);
        assert_string_equal(out, "250 Ok");
        smtp_reply_text(&reply, out, 5);
        assert_string_equal(out, "250 ");
        smtp_reply_text(&reply, out, 4);
        assert_string_equal(out, "250");
        memcpy(out, "zz", 3);
        smtp_reply_text(&reply, out, 3);
        assert_string_equal(out, "");
        smtp_reply_text(&reply, out, 0); /* writes nothing */

        assert_int_equal(feed(&reply, bare, 1), 1);
        smtp_reply_text(&reply, out, sizeof out);
        assert_string_equal(out, "221");

        assert_int_equal(feed(&reply, multi, 2), 1);
        smtp_reply_text(&reply, out, sizeof out);
        assert_string_equal(out, "550 5.1.1 first");

        memset(&reply, 0, sizeof reply);
        smtp_reply_text(&reply, out, sizeof out);
        assert_string_equal(out, "");
}

/* ---- EHLO ---- */

struct ehlo_case {
        const char *lines[12];
        size_t n;
        struct smtp_ehlo want;
};

static void test_ehlo_parse(void **state)
{
        static const struct ehlo_case cases[] = {
                /* SES before STARTTLS (the reference notes, aws-smtp-facts.md 2.5) */
                {{"250-email-smtp.amazonaws.com", "250-8BITMIME", "250-SIZE 10485760",
                  "250-STARTTLS", "250-AUTH PLAIN LOGIN", "250 Ok"},
                 6,
                 {.starttls = true,
                  .eightbitmime = true,
                  .auth = true,
                  .auth_plain = true,
                  .auth_login = true,
                  .size = 10485760}},
                /* Postfix 3.7 */
                {{"250-mail.example.com", "250-PIPELINING", "250-SIZE 10240000", "250-VRFY",
                  "250-ETRN", "250-STARTTLS", "250-ENHANCEDSTATUSCODES", "250-8BITMIME", "250-DSN",
                  "250-SMTPUTF8", "250 CHUNKING"},
                 11,
                 {.starttls = true,
                  .pipelining = true,
                  .eightbitmime = true,
                  .smtputf8 = true,
                  .enhancedstatuscodes = true,
                  .size = 10240000}},
                {{"250-mx.example", "250-AUTH=LOGIN PLAIN", "250 AUTH LOGIN"},
                 3,
                 {.auth = true, .auth_plain = true, .auth_login = true}},
                {{"250-mx.example", "250-AUTH=PLAIN"}, 2, {.auth = true, .auth_plain = true}},
                {{"250-mx.example", "250 AUTH CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256 "
                                    "XOAUTH2 OAUTHBEARER GSSAPI NTLM EXTERNAL ANONYMOUS LOGIN"},
                 2,
                 {.auth = true, .auth_login = true}},
                {{"250-mx.example", "250-auth   plain", "250-starttls", "250 size"},
                 4,
                 {.auth = true, .auth_plain = true, .starttls = true}},
                {{"250-mx.example", "250 SIZE 99999999999999999999999"}, 2, {.size = 0}},
                {{"250-mx.example", "250 SIZE 0"}, 2, {.size = 0}},
                {{"250-mx.example", "250 SIZE abc"}, 2, {.size = 0}},
                {{"250-mx.example", "250-AUTHX PLAIN", "250-STARTTLSX", "250-X-8BITMIME",
                  "250 XAUTH=PLAIN"},
                 5,
                 {0}},
                /* the first line is the greeting, whatever it says */
                {{"250-STARTTLS", "250 8BITMIME"}, 2, {.eightbitmime = true}},
                {{"250 mx.example Hello"}, 1, {0}},
        };
        (void)state;

        for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
                const struct ehlo_case *c = &cases[i];
                struct smtp_reply reply;
                struct smtp_ehlo got;
                int r;

                r = feed(&reply, c->lines, c->n);
                assert_true(r >= 0);
                memset(&got, 0xaa, sizeof got);
                smtp_ehlo_parse(&reply, &got);
                if (got.starttls != c->want.starttls || got.pipelining != c->want.pipelining ||
                    got.eightbitmime != c->want.eightbitmime || got.smtputf8 != c->want.smtputf8 ||
                    got.enhancedstatuscodes != c->want.enhancedstatuscodes ||
                    got.auth != c->want.auth || got.auth_plain != c->want.auth_plain ||
                    got.auth_login != c->want.auth_login || got.size != c->want.size)
                        fail_msg("ehlo case %zu: got tls %d pipe %d 8bit %d utf8 %d esc %d auth "
                                 "%d/%d/%d size %llu, want %d %d %d %d %d %d/%d/%d %llu",
                                 i, got.starttls, got.pipelining, got.eightbitmime, got.smtputf8,
                                 got.enhancedstatuscodes, got.auth, got.auth_plain, got.auth_login,
                                 (unsigned long long)got.size, c->want.starttls, c->want.pipelining,
                                 c->want.eightbitmime, c->want.smtputf8,
                                 c->want.enhancedstatuscodes, c->want.auth, c->want.auth_plain,
                                 c->want.auth_login, (unsigned long long)c->want.size);
        }
}

/* Capabilities past SMTP_REPLY_LINES_MAX lines are not stored, and not read. */
static void test_ehlo_many_lines(void **state)
{
        struct smtp_reply reply;
        struct smtp_ehlo e;
        char line[64];
        (void)state;

        memset(&reply, 0, sizeof reply);
        for (int i = 0; i < 40; i++) {
                int n;

                if (i == 0)
                        n = snprintf(line, sizeof line, "250-mx.example");
                else if (i == 5)
                        n = snprintf(line, sizeof line, "250-STARTTLS");
                else if (i == 39)
                        n = snprintf(line, sizeof line, "250 PIPELINING");
                else
                        n = snprintf(line, sizeof line, "250-X-FILLER-%d", i);
                assert_true(smtp_reply_feed_line(&reply, line, (size_t)n) >= 0);
        }
        smtp_ehlo_parse(&reply, &e);
        assert_true(e.starttls);
        assert_false(e.pipelining);
}

/* ---- DATA ---- */

/* A decoding run: what came out, what the decoder returned, what it consumed. */
struct decoded {
        char *out;
        size_t out_len;
        int r;
        size_t consumed;
        uint64_t lines;
};

static void decoded_done(struct decoded *dd)
{
        free(dd->out);
        dd->out = NULL;
}

/* decode_chunked - feed in[0..len) in chunks of the sizes chunk(i) gives (0: all the rest)
 * until the decoder reports the end; checks the per-call contract on the way */
static void decode_chunked(const char *in, size_t len, size_t (*chunk)(size_t call, void *ud),
                           void *ud, struct decoded *ret)
{
        struct smtp_data_decoder d;
        size_t pos = 0, o = 0;
        char *out;
        int r = 0;

        out = malloc(2 * len + 1);
        assert_non_null(out);
        smtp_data_decoder_init(&d);
        for (size_t call = 0; pos < len || call == 0; call++) {
                size_t n = chunk ? chunk(call, ud) : 0, out_len = SIZE_MAX, consumed = SIZE_MAX;

                if (n == 0 || n > len - pos)
                        n = len - pos;
                r = smtp_data_decode(&d, in + pos, n, out + o, &out_len, &consumed);
                if (r != 0 && r != 1)
                        fail_msg("smtp_data_decode: got r=%d", r);
                if (out_len > 2 * n || consumed > n || (r == 0 && consumed != n))
                        fail_msg("smtp_data_decode(%zu bytes): out %zu, consumed %zu, r %d", n,
                                 out_len, consumed, r);
                o += out_len;
                pos += consumed;
                if (r == 1)
                        break;
        }
        ret->out = out;
        ret->out_len = o;
        ret->r = r;
        ret->consumed = pos;
        ret->lines = d.lines;
}

static size_t chunk_one(size_t call, void *ud)
{
        (void)call;
        (void)ud;
        return 1;
}

static size_t chunk_fixed(size_t call, void *ud)
{
        (void)call;
        return *(const size_t *)ud;
}

/* chunk_split: the first call gets *ud bytes, the second the rest */
static size_t chunk_split(size_t call, void *ud)
{
        return call == 0 ? *(const size_t *)ud : 0;
}

static size_t chunk_random(size_t call, void *ud)
{
        (void)call;
        (void)ud;
        switch (rand() % 4) {
        case 0:
                return 1;
        case 1:
                return 2 + (size_t)(rand() % 3);
        case 2:
                return 1 + (size_t)(rand() % 64);
        default:
                return 1 + (size_t)(rand() % 4096);
        }
}

/* assert_decoded_equal - two runs over the same input agree */
static void assert_decoded_equal(const char *what, const char *in, size_t len,
                                 const struct decoded *got, const struct decoded *want)
{
        if (got->r != want->r || got->consumed != want->consumed || got->out_len != want->out_len ||
            memcmp(got->out, want->out, got->out_len) != 0 || got->lines != want->lines)
                fail_msg("%s \"%s\": got r %d consumed %zu \"%s\" lines %llu, whole input gave "
                         "%d %zu \"%s\" %llu",
                         what, escape(in, len), got->r, got->consumed,
                         escape(got->out, got->out_len), (unsigned long long)got->lines, want->r,
                         want->consumed, escape(want->out, want->out_len),
                         (unsigned long long)want->lines);
}

/* check_chunkings - byte by byte, fixed sizes, every two-way split and random chunks all
 * give what the whole input gave */
static void check_chunkings(const char *in, size_t len, const struct decoded *whole)
{
        struct decoded got;
        size_t sizes[] = {2, 3, 7, 64};

        decode_chunked(in, len, chunk_one, NULL, &got);
        assert_decoded_equal("byte by byte", in, len, &got, whole);
        decoded_done(&got);
        for (size_t i = 0; i < N_ELEMENTS(sizes); i++) {
                decode_chunked(in, len, chunk_fixed, &sizes[i], &got);
                assert_decoded_equal("fixed chunks", in, len, &got, whole);
                decoded_done(&got);
        }
        for (size_t split = 1; split < len && len < 512; split++) {
                decode_chunked(in, len, chunk_split, &split, &got);
                assert_decoded_equal("split in two", in, len, &got, whole);
                decoded_done(&got);
        }
        decode_chunked(in, len, chunk_random, NULL, &got);
        assert_decoded_equal("random chunks", in, len, &got, whole);
        decoded_done(&got);
}

struct data_case {
        const char *in;
        size_t len;
        const char *want;
        size_t want_len;
        int want_r;
        size_t want_consumed;
        uint64_t want_lines;
};

static void test_data_decode(void **state)
{
        static const struct data_case cases[] = {
                {TEXT(".\r\n"), TEXT(""), 1, 3, 0},
                {TEXT(".\n"), TEXT(""), 1, 2, 0},
                {TEXT(""), TEXT(""), 0, 0, 0},
                {TEXT("."), TEXT(""), 0, 1, 0},
                {TEXT(".\r"), TEXT(""), 0, 2, 0},
                {TEXT("Subject: x\r\n\r\nbody\r\n.\r\n"), TEXT("Subject: x\r\n\r\nbody\r\n"), 1, 23,
                 3},
                {TEXT("a\r\n.\r\nQUIT\r\n"), TEXT("a\r\n"), 1, 6, 1},
                {TEXT("a\n.\n"), TEXT("a\r\n"), 1, 4, 1},
                {TEXT("a\r\n.\n"), TEXT("a\r\n"), 1, 5, 1},
                {TEXT("a\n.\r\n"), TEXT("a\r\n"), 1, 5, 1},
                {TEXT("a\nb\nc\n.\n"), TEXT("a\r\nb\r\nc\r\n"), 1, 8, 3},
                {TEXT("\r\n.\r\n"), TEXT("\r\n"), 1, 5, 1},
                {TEXT("\n\n.\r\n"), TEXT("\r\n\r\n"), 1, 5, 2},
                /* RFC 5321 4.5.2 */
                {TEXT("..\r\n.\r\n"), TEXT(".\r\n"), 1, 7, 1},
                {TEXT("...\r\n.\r\n"), TEXT("..\r\n"), 1, 8, 1},
                {TEXT(".foo\r\n.\r\n"), TEXT("foo\r\n"), 1, 9, 1},
                {TEXT("a\r\n..\r\n.\r\n"), TEXT("a\r\n.\r\n"), 1, 10, 2},
                {TEXT("a\r\n. \r\n.\r\n"), TEXT("a\r\n \r\n"), 1, 10, 2},
                {TEXT("..\n.\n"), TEXT(".\r\n"), 1, 5, 1},
                /* a "." that is not alone on its line, or not at its start */
                {TEXT("a.\r\n.\r\n"), TEXT("a.\r\n"), 1, 7, 1},
                {TEXT("a .\r\n.\r\n"), TEXT("a .\r\n"), 1, 8, 1},
                {TEXT("a\r\n.x\r\n.\r\n"), TEXT("a\r\nx\r\n"), 1, 10, 2},
                {TEXT("say \"\\r\\n.\\r\\n\"\r\n.\r\n"), TEXT("say \"\\r\\n.\\r\\n\"\r\n"), 1, 20,
                 1},
                /* bare CR is text, not a line end (SMTP smuggling: "\r.\r" ends nothing) */
                {TEXT("a\rb\r\n.\r\n"), TEXT("a\rb\r\n"), 1, 8, 1},
                {TEXT("a\r.\r\n.\r\n"), TEXT("a\r.\r\n"), 1, 8, 1},
                {TEXT("a\r.\r.\r\n.\r\n"), TEXT("a\r.\r.\r\n"), 1, 10, 1},
                {TEXT("\r\r\n.\r\n"), TEXT("\r\r\n"), 1, 6, 1},
                {TEXT(".\r.\r\n.\r\n"), TEXT("\r.\r\n"), 1, 8, 1},
                {TEXT(".\r\r\n.\r\n"), TEXT("\r\r\n"), 1, 7, 1},
                {TEXT(".\rx\r\n.\r\n"), TEXT("\rx\r\n"), 1, 8, 1},
                {TEXT("a\n\r.\r\n.\r\n"), TEXT("a\r\n\r.\r\n"), 1, 9, 2},
                {TEXT(".\r\r"), TEXT("\r\r"), 0, 3, 0},
                {TEXT("a\r\n.\r\r\n.\r\n"), TEXT("a\r\n\r\r\n"), 1, 10, 2},
                /* no end yet: held back only what may still end the data */
                {TEXT("hello"), TEXT("hello"), 0, 5, 0},
                {TEXT("hello\r"), TEXT("hello\r"), 0, 6, 0},
                {TEXT("hello\r\n"), TEXT("hello\r\n"), 0, 7, 1},
                {TEXT("hello\r\n."), TEXT("hello\r\n"), 0, 8, 1},
                {TEXT("hello\r\n.\r"), TEXT("hello\r\n"), 0, 9, 1},
                {TEXT("hello\r\n.."), TEXT("hello\r\n."), 0, 9, 1},
                /* binary */
                {TEXT("\0\xff\r\n.\0\r\n.\r\n"), TEXT("\0\xff\r\n\0\r\n"), 1, 11, 2},
        };
        (void)state;

        for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
                const struct data_case *c = &cases[i];
                size_t want_len = c->want_len;
                struct decoded whole;

                decode_chunked(c->in, c->len, NULL, NULL, &whole);
                if (whole.r != c->want_r || whole.consumed != c->want_consumed ||
                    whole.out_len != want_len || memcmp(whole.out, c->want, want_len) != 0 ||
                    whole.lines != c->want_lines)
                        fail_msg("decode \"%s\": got r %d consumed %zu \"%s\" lines %llu, want "
                                 "%d %zu \"%s\" %llu",
                                 escape(c->in, c->len), whole.r, whole.consumed,
                                 escape(whole.out, whole.out_len), (unsigned long long)whole.lines,
                                 c->want_r, c->want_consumed, escape(c->want, want_len),
                                 (unsigned long long)c->want_lines);
                check_chunkings(c->in, c->len, &whole);
                decoded_done(&whole);
        }
}

static void test_data_after_end(void **state)
{
        struct smtp_data_decoder d;
        size_t out_len, consumed;
        char out[64];
        (void)state;

        smtp_data_decoder_init(&d);
        assert_int_equal(smtp_data_decode(&d, TEXT("x\r\n.\r\nRSET\r\n"), out, &out_len, &consumed),
                         1);
        assert_int_equal(consumed, 6);
        assert_int_equal(out_len, 3);
        /* once ended, it stays ended and takes nothing */
        assert_int_equal(smtp_data_decode(&d, TEXT("RSET\r\n"), out, &out_len, &consumed), 1);
        assert_int_equal(consumed, 0);
        assert_int_equal(out_len, 0);
        /* init starts a new message */
        smtp_data_decoder_init(&d);
        assert_int_equal(smtp_data_decode(&d, TEXT("..\r\n"), out, &out_len, &consumed), 0);
        assert_int_equal(out_len, 3);
        assert_memory_equal(out, ".\r\n", 3);
        assert_int_equal(d.lines, 1);
}

static void test_data_long_line(void **state)
{
        const size_t n = 100 * 1024;
        struct decoded whole;
        char *in;
        (void)state;

        in = malloc(n + 8);
        assert_non_null(in);

        /* 100 KB without a line end: passed through, no end */
        memset(in, 'x', n);
        decode_chunked(in, n, NULL, NULL, &whole);
        assert_int_equal(whole.r, 0);
        assert_int_equal(whole.consumed, n);
        assert_int_equal(whole.out_len, n);
        assert_memory_equal(whole.out, in, n);
        check_chunkings(in, n, &whole);
        decoded_done(&whole);

        /* the same starting with '.' and then ended */
        in[0] = '.';
        memcpy(in + n, "\r\n.\r\n", 5);
        decode_chunked(in, n + 5, NULL, NULL, &whole);
        assert_int_equal(whole.r, 1);
        assert_int_equal(whole.consumed, n + 5);
        assert_int_equal(whole.out_len, n - 1 + 2);
        assert_memory_equal(whole.out, in + 1, n - 1 + 2);
        check_chunkings(in, n + 5, &whole);
        decoded_done(&whole);
        free(in);
}

/* model_decode - RFC 5321 4.5.2 a line at a time, written for this test: a line ends at LF
 * (a CR just before it belongs to the line end), "." alone ends the data, a leading '.' is
 * dropped, lines go out with CRLF. An unfinished last line goes out as far as it cannot
 * still become the "." line. */
static void model_decode(const char *in, size_t len, struct decoded *ret)
{
        size_t pos = 0, o = 0;
        char *out = malloc(2 * len + 1);

        assert_non_null(out);
        ret->r = 0;
        ret->lines = 0;
        while (pos < len) {
                const char *lf = memchr(in + pos, '\n', len - pos);
                size_t end, start = pos;

                if (!lf) {
                        size_t rest = len - pos;

                        if (in[pos] == '.' && (rest == 1 || (rest == 2 && in[pos + 1] == '\r'))) {
                                pos = len; /* "." or ".\r": held back */
                                break;
                        }
                        if (in[pos] == '.')
                                start++;
                        memcpy(out + o, in + start, len - start);
                        o += len - start;
                        pos = len;
                        break;
                }
                end = (size_t)(lf - in);
                if (end > pos && in[end - 1] == '\r')
                        end--;
                if (end - pos == 1 && in[pos] == '.') {
                        pos = (size_t)(lf - in) + 1;
                        ret->r = 1;
                        break;
                }
                if (end > pos && in[pos] == '.')
                        start++;
                memcpy(out + o, in + start, end - start);
                o += end - start;
                out[o++] = '\r';
                out[o++] = '\n';
                ret->lines++;
                pos = (size_t)(lf - in) + 1;
        }
        ret->out = out;
        ret->out_len = o;
        ret->consumed = pos;
}

/* random_stream - bytes that make DATA interesting: dots, CR, LF, text, some binary */
static void random_stream(char *buf, size_t len)
{
        static const char alphabet[] = {'.', '.', '.', '\r', '\r', '\n', '\n', '\n', 'a', ' '};

        for (size_t i = 0; i < len; i++)
                buf[i] = rand() % 16 == 0 ? (char)(rand() % 256)
                                          : alphabet[(size_t)rand() % sizeof alphabet];
}

static void test_data_against_model(void **state)
{
        char buf[300];
        (void)state;

        srand(5321);
        for (int iter = 0; iter < 3000; iter++) {
                size_t len = (size_t)rand() % sizeof buf;
                struct decoded got, want;

                random_stream(buf, len);
                model_decode(buf, len, &want);
                decode_chunked(buf, len, NULL, NULL, &got);
                assert_decoded_equal("against the model", buf, len, &got, &want);
                if (iter % 10 == 0)
                        check_chunkings(buf, len, &got);
                decoded_done(&got);
                decoded_done(&want);
        }
}

static void test_data_binary_junk(void **state)
{
        const size_t n = 64 * 1024;
        struct decoded whole;
        char *in;
        (void)state;

        in = malloc(n);
        assert_non_null(in);
        srand(3030);
        for (size_t i = 0; i < n; i++)
                in[i] = (char)(rand() % 256);
        decode_chunked(in, n, NULL, NULL, &whole);
        for (size_t i = 0; i < whole.out_len; i++)
                if (whole.out[i] == '\n' && (i == 0 || whole.out[i - 1] != '\r'))
                        fail_msg("binary junk: bare LF at output byte %zu", i);
        check_chunkings(in, n, &whole);
        decoded_done(&whole);
        free(in);
}

/* ---- dot-stuffing ---- */

struct stuff_case {
        const char *in;
        bool at_line_start;
        const char *want;
        bool want_line_start;
};

static void test_dot_stuff(void **state)
{
        static const struct stuff_case cases[] = {
                {"", true, "", true},
                {"", false, "", false},
                {".", true, "..", false},
                {".", false, ".", false},
                {".\r\n", true, "..\r\n", true},
                {"a\r\n.\r\n", true, "a\r\n..\r\n", true},
                {"a\n.b\n", true, "a\r\n..b\r\n", true},
                {"a\n\n", true, "a\r\n\r\n", true},
                {"\n", true, "\r\n", true},
                {"a.b", true, "a.b", false},
                {"a\r.b", true, "a\r.b", false},
                {"a\r\r\n", true, "a\r\r\n", true},
                {"...", true, "....", false},
                {"x\r\n..\r\n", true, "x\r\n...\r\n", true},
                {"a\r", true, "a\r", false},
        };
        (void)state;

        for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
                const struct stuff_case *c = &cases[i];
                size_t len = strlen(c->in), n;
                bool line_start = c->at_line_start;
                char out[64];

                memset(out, 0, sizeof out);
                n = smtp_dot_stuff(c->in, len, out, &line_start);
                if (n != strlen(c->want) || memcmp(out, c->want, n) != 0 ||
                    line_start != c->want_line_start)
                        fail_msg("smtp_dot_stuff(\"%s\", %d): got \"%s\" %d, want \"%s\" %d",
                                 escape(c->in, len), c->at_line_start, escape(out, n), line_start,
                                 escape_str(c->want), c->want_line_start);
        }
}

/* normalise - bare LF to CRLF: what the decoder gives back for what was stuffed */
static size_t normalise(const char *in, size_t len, char *out)
{
        size_t o = 0;

        for (size_t i = 0; i < len; i++) {
                if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
                        out[o++] = '\r';
                out[o++] = in[i];
        }
        return o;
}

/* stuff_chunked - stuff in random chunks that do not split a CRLF (see smtp_dot_stuff) */
static size_t stuff_chunked(const char *in, size_t len, char *out, bool *line_start)
{
        size_t pos = 0, o = 0;

        while (pos < len) {
                size_t n = 1 + (size_t)rand() % 16;

                if (n > len - pos)
                        n = len - pos;
                if (pos + n < len && in[pos + n - 1] == '\r' && in[pos + n] == '\n')
                        n++;
                o += smtp_dot_stuff(in + pos, n, out + o, line_start);
                pos += n;
        }
        return o;
}

static void test_stuff_round_trip(void **state)
{
        char x[400], stuffed[2 * sizeof x + 16], want[2 * sizeof x + 16];
        (void)state;

        srand(2821);
        for (int iter = 0; iter < 5000; iter++) {
                size_t len = (size_t)rand() % sizeof x, n, want_len;
                bool line_start = true;
                struct decoded got;

                random_stream(x, len);
                n = iter % 2 ? smtp_dot_stuff(x, len, stuffed, &line_start)
                             : stuff_chunked(x, len, stuffed, &line_start);
                assert_true(n <= 2 * len + 1);
                for (size_t i = 0; i < n; i++)
                        if (stuffed[i] == '\n' && (i == 0 || stuffed[i - 1] != '\r'))
                                fail_msg("smtp_dot_stuff(\"%s\"): bare LF in the output",
                                         escape(x, len));
                want_len = normalise(x, len, want);
                if (!line_start) {
                        /* the client ends the last line before the "." */
                        memcpy(stuffed + n, "\r\n", 2);
                        n += 2;
                        memcpy(want + want_len, "\r\n", 2);
                        want_len += 2;
                }
                memcpy(stuffed + n, ".\r\n", 3);
                n += 3;
                decode_chunked(stuffed, n, iter % 3 ? chunk_random : NULL, NULL, &got);
                if (got.r != 1 || got.consumed != n || got.out_len != want_len ||
                    memcmp(got.out, want, want_len) != 0)
                        fail_msg("round trip of \"%s\": got r %d consumed %zu/%zu \"%s\", want "
                                 "\"%s\"",
                                 escape(x, len), got.r, got.consumed, n,
                                 escape(got.out, got.out_len), escape(want, want_len));
                decoded_done(&got);
        }
}

/* XXX: the documented limit of the bool state: a CRLF split between calls becomes CR CRLF,
 * never a bare LF, and the dots stay right. */
static void test_stuff_split_crlf(void **state)
{
        char out[32];
        bool line_start = true;
        size_t n;
        (void)state;

        n = smtp_dot_stuff("a\r", 2, out, &line_start);
        n += smtp_dot_stuff("\n.b\r\n", 5, out + n, &line_start);
        assert_int_equal(n, 9);
        assert_memory_equal(out, "a\r\r\n..b\r\n", 9);
        assert_true(line_start);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_command_verbs),
                cmocka_unit_test(test_command_hostile),
                cmocka_unit_test(test_command_long),
                cmocka_unit_test(test_mail_from_valid),
                cmocka_unit_test(test_mail_from_invalid),
                cmocka_unit_test(test_address_length),
                cmocka_unit_test(test_rcpt_to_valid),
                cmocka_unit_test(test_rcpt_to_invalid),
                cmocka_unit_test(test_reply_texts_are_replies),
                cmocka_unit_test(test_reply_parse),
                cmocka_unit_test(test_reply_limits),
                cmocka_unit_test(test_reply_text),
                cmocka_unit_test(test_ehlo_parse),
                cmocka_unit_test(test_ehlo_many_lines),
                cmocka_unit_test(test_data_decode),
                cmocka_unit_test(test_data_after_end),
                cmocka_unit_test(test_data_long_line),
                cmocka_unit_test(test_data_against_model),
                cmocka_unit_test(test_data_binary_junk),
                cmocka_unit_test(test_dot_stuff),
                cmocka_unit_test(test_stuff_round_trip),
                cmocka_unit_test(test_stuff_split_crlf),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
