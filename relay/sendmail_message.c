/* SPDX-License-Identifier: MIT */
/*
 * sendmail_message - the message as sendmail reads it (see sendmail_message.h). The reader
 * writes each input byte once into the output buffer and looks back at a line when its LF
 * arrives: "." (end of input, without -i), a leading ">*From " line (dropped), or a line to
 * terminate with CRLF. The output buffer's maximum is message_size_limit, so an oversized
 * message is refused while it is read, before anything is queued.
 */
#include "sendmail_message.h"

#include <errno.h>
#include <string.h>

#include "headers.h"

void sendmail_reader_init(struct sendmail_reader *r, bool dot_ends, size_t max)
{
        *r = (struct sendmail_reader){.dot_ends = dot_ends, .skip_from = true};
        buf_init(&r->out, max);
}

void sendmail_reader_done(struct sendmail_reader *r)
{
        buf_done(&r->out);
}

/* truncate_to - forget out's bytes from offset on */
static void truncate_to(struct buf *b, size_t offset)
{
        b->len = offset;
        if (b->data)
                b->data[offset] = '\0';
}

/* end_line - the current line is complete: decide what becomes of it. 1: it was the "." line. */
static int end_line(struct sendmail_reader *r)
{
        const char *line = r->out.data ? r->out.data + r->line_start : "";
        size_t n = r->out.len - r->line_start;
        bool cr = n > 0 && line[n - 1] == '\r';
        size_t text = cr ? n - 1 : n;
        int ret;

        if (r->dot_ends && text == 1 && line[0] == '.') {
                truncate_to(&r->out, r->line_start);
                r->done = true;
                return 1;
        }
        if (r->skip_from) {
                size_t gt = 0;

                while (gt < text && line[gt] == '>')
                        gt++;
                if (text - gt >= 5 && memcmp(line + gt, "From ", 5) == 0) {
                        truncate_to(&r->out, r->line_start);
                        return 0;
                }
                r->skip_from = false;
        }
        ret = cr ? buf_append(&r->out, "\n", 1) : buf_append(&r->out, "\r\n", 2);
        if (ret < 0)
                return ret;
        r->line_start = r->out.len;
        return 0;
}

int sendmail_reader_feed(struct sendmail_reader *r, const char *data, size_t len)
{
        while (len > 0 && !r->done) {
                const char *lf = memchr(data, '\n', len);
                size_t seg = lf ? (size_t)(lf - data) : len;
                int ret = seg > 0 ? buf_append(&r->out, data, seg) : 0;

                if (ret < 0)
                        return ret;
                if (!lf)
                        break;
                ret = end_line(r);
                if (ret != 0)
                        return ret;
                data += seg + 1;
                len -= seg + 1;
        }
        return r->done ? 1 : 0;
}

int sendmail_reader_finish(struct sendmail_reader *r)
{
        if (r->done || r->out.len == r->line_start)
                return 0;
        return end_line(r) < 0 ? -EFBIG : 0;
}

/* header_list - which recipient list a field feeds: 0 none, 1 regular, 2 resent */
static int header_list(const char *section, const struct headers_field *f, bool *ret_bcc)
{
        *ret_bcc = false;
        if (headers_field_is(section, f, "To") || headers_field_is(section, f, "Cc"))
                return 1;
        if (headers_field_is(section, f, "Bcc")) {
                *ret_bcc = true;
                return 1;
        }
        if (headers_field_is(section, f, "Resent-To") || headers_field_is(section, f, "Resent-Cc"))
                return 2;
        if (headers_field_is(section, f, "Resent-Bcc")) {
                *ret_bcc = true;
                return 2;
        }
        return 0;
}

int sendmail_prepare_message(const char *msg, size_t len, bool extract, struct addrlist *rcpts,
                             struct buf *out, const char **ret_bad_field)
{
        struct addrlist regular = {.max = rcpts->max}, resent = {.max = rcpts->max};
        size_t end = headers_end(msg, len), off = 0;
        struct headers_field f;
        int r = 0;

        *ret_bad_field = NULL;
        while (r >= 0 && headers_next_field(msg, end, &off, &f)) {
                bool bcc;
                int which = header_list(msg, &f, &bcc);

                if (extract && which) {
                        r = addrlist_parse(msg + f.value, f.end - f.value,
                                           which == 1 ? &regular : &resent);
                        if (r == -EINVAL)
                                *ret_bad_field = which == 1 ? (bcc ? "Bcc" : "To/Cc")
                                                            : (bcc ? "Resent-Bcc" : "Resent-To/Cc");
                        if (r < 0)
                                break;
                }
                if (!bcc)
                        r = buf_append(out, msg + f.start, f.end - f.start);
        }
        if (r >= 0 && off < len)
                r = buf_append(out, msg + off, len - off);
        if (r >= 0 && extract) {
                struct addrlist *from = resent.n > 0 ? &resent : &regular;

                for (size_t i = 0; r >= 0 && i < from->n; i++) {
                        if (rcpts->max && rcpts->n >= rcpts->max) {
                                r = -E2BIG;
                                break;
                        }
                        r = addrlist_parse(from->items[i], strlen(from->items[i]), rcpts);
                }
        }
        addrlist_done(&regular);
        addrlist_done(&resent);
        return r < 0 ? r : 0;
}
