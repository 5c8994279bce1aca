/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Pure SMTP protocol pieces (RFC 5321, 1869, 6152, 6531, 3207, 4954, 2920, 2034), shared by
 * the relay's server and client and fuzzed: command lines, MAIL/RCPT paths and parameters,
 * replies (multi-line, enhanced status codes), EHLO capabilities, and the DATA stream
 * (end-of-data detection and dot-unstuffing). No I/O, no allocation, no logging. */

#define SMTP_CMD_LINE_MAX    2048 /* Postfix's line_length_limit: RFC 5321's 512 plus extensions */
#define SMTP_ADDRESS_MAX     254  /* RFC 5321 4.5.3.1.3: path 256 including the brackets */
#define SMTP_REPLY_LINES_MAX 32
#define SMTP_REPLY_TEXT_MAX  512

enum smtp_verb {
        SMTP_VERB_HELO,
        SMTP_VERB_EHLO,
        SMTP_VERB_MAIL,
        SMTP_VERB_RCPT,
        SMTP_VERB_DATA,
        SMTP_VERB_BDAT,
        SMTP_VERB_RSET,
        SMTP_VERB_NOOP,
        SMTP_VERB_QUIT,
        SMTP_VERB_VRFY,
        SMTP_VERB_EXPN,
        SMTP_VERB_HELP,
        SMTP_VERB_STARTTLS,
        SMTP_VERB_AUTH,
        SMTP_VERB_UNKNOWN,
        SMTP_VERB_MAX,
};

struct smtp_command {
        enum smtp_verb verb;
        const char *arg; /* after the verb and one space ("" when none); points into the line */
};

/* smtp_parse_command - split a command line (without CRLF, NUL-terminated, len bytes) into
 * verb and argument. Verbs are case-insensitive. Returns 0; -EINVAL for an empty line, a line
 * with NUL or other control characters (except TAB) -> reply "500 5.5.2 Syntax error". */
int smtp_parse_command(const char *line, size_t len, struct smtp_command *ret);

struct smtp_path {
        char address[SMTP_ADDRESS_MAX + 1]; /* without < >; "" for the null path <> */
        bool is_null;
};

struct smtp_mail_params {
        uint64_t size;  /* SIZE=, 0 when absent */
        bool body_8bit; /* BODY=8BITMIME */
        bool smtputf8;  /* SMTPUTF8 */
};

/* smtp_parse_mail_from / smtp_parse_rcpt_to - the argument of MAIL ("FROM:<a@b> SIZE=123") and
 * RCPT ("TO:<a@b>"), case-insensitive keywords, optional space after the colon (as Postfix
 * accepts). A source route (<@a,@b:user@c>) is removed, keeping user@c (RFC 5321 C). An
 * address without angle brackets is refused. Returns 0, or -EINVAL with *ret_reply set to the
 * complete reply to send (static text, e.g. "501 5.1.7 Bad sender address syntax",
 * "555 5.5.4 Unsupported option: FOO", "553 5.1.3 Bad recipient address syntax"). Non-ASCII in
 * an address is accepted only with smtputf8 (MAIL's SMTPUTF8 for RCPT: pass it in). */
int smtp_parse_mail_from(const char *arg, struct smtp_path *path, struct smtp_mail_params *params,
                         const char **ret_reply);
int smtp_parse_rcpt_to(const char *arg, bool smtputf8, struct smtp_path *path,
                       const char **ret_reply);

/* A reply as read by a client: code, enhanced status (when the first line has one), and
 * the lines' texts. */
struct smtp_reply {
        int code;          /* 200..599 */
        char enhanced[16]; /* "4.7.0" or "" */
        size_t n_lines;
        char lines[SMTP_REPLY_LINES_MAX][SMTP_REPLY_TEXT_MAX]; /* text after "DDD " / "DDD-" */
};

/* smtp_reply_feed_line - add one line (without CRLF) to *reply (zeroed before the first line).
 * Returns 1 when the reply is complete ("DDD " or a bare "DDD"), 0 when more lines follow
 * ("DDD-"), -EPROTO for a line that is not a reply or whose code differs from the first
 * line's. Lines beyond SMTP_REPLY_LINES_MAX are counted but not stored; long texts are cut. */
int smtp_reply_feed_line(struct smtp_reply *reply, const char *line, size_t len);

/* smtp_reply_text - "DDD text" of the first line (for logs: "250 Ok 0100..."), into out. */
void smtp_reply_text(const struct smtp_reply *reply, char *out, size_t size);

struct smtp_ehlo {
        bool starttls;
        bool pipelining;
        bool eightbitmime;
        bool smtputf8;
        bool enhancedstatuscodes;
        bool auth; /* AUTH advertised (any mechanism) */
        bool auth_plain;
        bool auth_login;
        uint64_t size; /* SIZE value, 0 when absent or unlimited */
};

/* smtp_ehlo_parse - the capabilities in a 250 reply to EHLO (every line after the first;
 * keywords case-insensitive; "AUTH=PLAIN LOGIN" old style accepted too). */
void smtp_ehlo_parse(const struct smtp_reply *reply, struct smtp_ehlo *ret);

/* The DATA stream of the server side: end-of-data detection ("CRLF.CRLF", and bare "LF.LF"
 * as Postfix accepts) and dot-unstuffing, across arbitrary chunk boundaries. Line endings
 * are passed through unchanged except that a bare LF is turned into CRLF. */
struct smtp_data_decoder {
        int state; /* private */
        uint64_t lines;
};

void smtp_data_decoder_init(struct smtp_data_decoder *d);

/* smtp_data_decode - decode in[0..in_len): writes the message bytes to out (capacity at least
 * 2 * in_len, for LF->CRLF), *ret_out_len bytes; *ret_consumed input bytes were used. Returns 1
 * when the terminating "." line was consumed (bytes after it, *ret_consumed < in_len, belong
 * to the next command: PIPELINING), 0 when more data is needed. Never fails. */
int smtp_data_decode(struct smtp_data_decoder *d, const char *in, size_t in_len, char *out,
                     size_t *ret_out_len, size_t *ret_consumed);

/* smtp_dot_stuff - the client side: copy in to out adding a '.' before each line that starts
 * with '.', turning bare LF into CRLF; at_line_start carries state across chunks (start
 * with true). out needs 2 * in_len + 1 bytes. Returns the output length. */
size_t smtp_dot_stuff(const char *in, size_t in_len, char *out, bool *at_line_start);
