/* SPDX-License-Identifier: MIT */
/*
 * fuzz_smtp_proto - relay/smtp_proto.c on arbitrary bytes. Each LF-separated line (a CR
 * before the LF removed) goes through smtp_parse_command and, whatever its verb, through the
 * MAIL and RCPT parsers; the same lines are fed as a server's reply, and every complete reply
 * through smtp_ehlo_parse and smtp_reply_text. The whole input is then a DATA stream, decoded
 * whole, byte by byte and in chunk sizes taken from the input, which must all agree; and it
 * is dot-stuffed and decoded back, which must give it again with bare LF turned into CRLF.
 * The contract is checked with abort(), not assert(): release builds define NDEBUG.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "smtp_proto.h"

/* Room for the worst case of every transformation of a FUZZ_INPUT_MAX input. */
#define OUT_MAX (2 * FUZZ_INPUT_MAX + 16)

static char line_buf[FUZZ_INPUT_MAX + 1];
static char out_whole[OUT_MAX], out_part[OUT_MAX], stuffed[OUT_MAX], want[OUT_MAX];
static struct smtp_reply reply, reply_before;

static bool has_ctl(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

/* check_reply_string - what the MAIL/RCPT parsers hand back is a complete 4xx/5xx reply */
static void check_reply_string(const char *r)
{
        if (!r || strlen(r) < 5 || (r[0] != '4' && r[0] != '5') || strspn(r, "0123456789") != 3 ||
            r[3] != ' ' || has_ctl(r))
                abort();
}

static void check_path(const struct smtp_path *p, bool null_ok)
{
        size_t n = strnlen(p->address, sizeof p->address);

        if (n > SMTP_ADDRESS_MAX || p->is_null != (n == 0) || (p->is_null && !null_ok))
                abort();
        if (has_ctl(p->address))
                abort();
}

static void parse_paths(const char *arg)
{
        struct smtp_mail_params params;
        struct smtp_path path;
        const char *r = NULL;

        if (smtp_parse_mail_from(arg, &path, &params, &r) == 0) {
                check_path(&path, true);
                if (r)
                        abort();
        } else {
                check_reply_string(r);
        }
        for (int utf8 = 0; utf8 < 2; utf8++) {
                r = NULL;
                if (smtp_parse_rcpt_to(arg, utf8, &path, &r) == 0) {
                        check_path(&path, false);
                        if (r)
                                abort();
                } else {
                        check_reply_string(r);
                }
        }
}

static void parse_command_line(const char *line, size_t len)
{
        struct smtp_command cmd;

        memcpy(line_buf, line, len);
        line_buf[len] = '\0';
        if (smtp_parse_command(line_buf, len, &cmd) == 0) {
                if ((unsigned)cmd.verb >= SMTP_VERB_MAX || cmd.arg < line_buf ||
                    cmd.arg > line_buf + len)
                        abort();
                parse_paths(cmd.arg);
        } else if (len > 0 && !memchr(line, '\0', len)) {
                /* -EINVAL needs a control character or a blank line */
                bool ctl = false;

                for (size_t i = 0; i < len; i++)
                        if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
                                ctl = true;
                if (!ctl && strspn(line_buf, " \t") != len)
                        abort();
        }
        parse_paths(line_buf);
}

/* check_complete_reply - a reply smtp_reply_feed_line called complete */
static void check_complete_reply(void)
{
        size_t stored = reply.n_lines < SMTP_REPLY_LINES_MAX ? reply.n_lines : SMTP_REPLY_LINES_MAX;
        struct smtp_ehlo ehlo;
        char text[SMTP_REPLY_TEXT_MAX + 8];
        size_t e = strnlen(reply.enhanced, sizeof reply.enhanced);

        if (reply.code < 200 || reply.code > 599 || reply.n_lines == 0)
                abort();
        if (e == sizeof reply.enhanced || (e > 0 && reply.enhanced[0] != '0' + reply.code / 100))
                abort();
        for (size_t i = 0; i < stored; i++)
                if (strnlen(reply.lines[i], SMTP_REPLY_TEXT_MAX) >= SMTP_REPLY_TEXT_MAX ||
                    has_ctl(reply.lines[i]))
                        abort();
        smtp_ehlo_parse(&reply, &ehlo);
        for (size_t size = 0; size < 8; size++) {
                memset(text, 'Z', sizeof text);
                smtp_reply_text(&reply, text, size);
                if (size > 0 && strnlen(text, size) >= size)
                        abort();
                if (text[size] != 'Z')
                        abort();
        }
        smtp_reply_text(&reply, text, sizeof text);
        if (strnlen(text, sizeof text) < 3 || has_ctl(text))
                abort();
}

static void feed_reply_line(const char *line, size_t len)
{
        int r;

        memcpy(&reply_before, &reply, sizeof reply);
        r = smtp_reply_feed_line(&reply, line, len);
        if (r == -EPROTO) {
                if (memcmp(&reply_before, &reply, sizeof reply) != 0)
                        abort();
                memset(&reply, 0, sizeof reply);
        } else if (r == 1) {
                check_complete_reply();
                memset(&reply, 0, sizeof reply);
        } else if (r != 0) {
                abort();
        }
}

/* decode_run - decode in chunks (chunk_of(k) bytes for the k-th call; 0: all at once) */
static int decode_run(const uint8_t *data, size_t size,
                      size_t (*chunk_of)(size_t k, const uint8_t *data, size_t size), char *out,
                      size_t *ret_out_len, size_t *ret_consumed, uint64_t *ret_lines)
{
        struct smtp_data_decoder d;
        size_t pos = 0, o = 0;
        int r = 0;

        smtp_data_decoder_init(&d);
        for (size_t k = 0; pos < size || k == 0; k++) {
                size_t n = chunk_of ? chunk_of(k, data, size) : size - pos;
                size_t out_len = SIZE_MAX, consumed = SIZE_MAX;

                if (n == 0 || n > size - pos)
                        n = size - pos;
                r = smtp_data_decode(&d, (const char *)data + pos, n, out + o, &out_len, &consumed);
                if ((r != 0 && r != 1) || out_len > 2 * n || consumed > n ||
                    (r == 0 && consumed != n))
                        abort();
                o += out_len;
                pos += consumed;
                if (r == 1)
                        break;
        }
        *ret_out_len = o;
        *ret_consumed = pos;
        *ret_lines = d.lines;
        return r;
}

static size_t chunk_bytes(size_t k, const uint8_t *data, size_t size)
{
        (void)k;
        (void)data;
        (void)size;
        return 1;
}

/* chunk_from_input - sizes 1..64 read from the input itself, so libFuzzer steers them */
static size_t chunk_from_input(size_t k, const uint8_t *data, size_t size)
{
        return 1 + data[(k * 7919) % size] % 64;
}

static void check_data(const uint8_t *data, size_t size)
{
        size_t whole_len, whole_consumed, part_len, part_consumed;
        uint64_t whole_lines, part_lines;
        int whole_r, r;

        whole_r =
                decode_run(data, size, NULL, out_whole, &whole_len, &whole_consumed, &whole_lines);
        for (size_t i = 0; i < whole_len; i++)
                if (out_whole[i] == '\n' && (i == 0 || out_whole[i - 1] != '\r'))
                        abort(); /* bare LF in the message */

        r = decode_run(data, size, chunk_bytes, out_part, &part_len, &part_consumed, &part_lines);
        if (r != whole_r || part_len != whole_len || part_consumed != whole_consumed ||
            part_lines != whole_lines || memcmp(out_part, out_whole, whole_len) != 0)
                abort();
        if (size > 0) {
                r = decode_run(data, size, chunk_from_input, out_part, &part_len, &part_consumed,
                               &part_lines);
                if (r != whole_r || part_len != whole_len || part_consumed != whole_consumed ||
                    part_lines != whole_lines || memcmp(out_part, out_whole, whole_len) != 0)
                        abort();
        }
}

/* check_stuffing - decode(stuff(x) [CRLF] ".\r\n") gives x with bare LF made CRLF [CRLF] */
static void check_stuffing(const uint8_t *data, size_t size)
{
        const char *x = (const char *)data;
        size_t n, want_len = 0, out_len, consumed;
        bool line_start = true;
        uint64_t lines;

        n = smtp_dot_stuff(x, size, stuffed, &line_start);
        if (n > 2 * size + 1)
                abort();
        for (size_t i = 0; i < size; i++) {
                if (x[i] == '\n' && (i == 0 || x[i - 1] != '\r'))
                        want[want_len++] = '\r';
                want[want_len++] = x[i];
        }
        if (!line_start) {
                memcpy(stuffed + n, "\r\n", 2);
                n += 2;
                memcpy(want + want_len, "\r\n", 2);
                want_len += 2;
        }
        memcpy(stuffed + n, ".\r\n", 3);
        n += 3;
        if (decode_run((const uint8_t *)stuffed, n, NULL, out_whole, &out_len, &consumed, &lines) !=
                    1 ||
            consumed != n || out_len != want_len || memcmp(out_whole, want, want_len) != 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *s = (const char *)data;
        size_t start = 0;

        if (size > (size_t)FUZZ_INPUT_MAX)
                return 0;

        memset(&reply, 0, sizeof reply);
        while (start < size) {
                const char *lf = memchr(s + start, '\n', size - start);
                size_t end = lf ? (size_t)(lf - s) : size, len = end - start;

                if (len > 0 && s[end - 1] == '\r')
                        len--;
                parse_command_line(s + start, len);
                feed_reply_line(s + start, len);
                start = end + 1;
        }
        check_data(data, size);
        check_stuffing(data, size);
        return 0;
}
