/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "addrlist.h"
#include "buf.h"

/* What sendmail does to the message it reads, as Postfix's sendmail and cleanup do: line
 * endings become CRLF (bare LF, CRLF, a last line without one), 8-bit bytes are kept, leading
 * mbox "From " lines are dropped, and unless -i/-oi a line with a single "." ends the input.
 * Then the header section: with -t the recipients of To:/Cc:/Bcc: (only those of
 * Resent-To:/-Cc:/-Bcc: when there are any, RFC 5322 3.6.6) are extracted, and Bcc:/Resent-Bcc:
 * fields are always removed. Pure: no I/O, no logging. */

struct sendmail_reader {
        struct buf out;    /* the message so far, CRLF line endings */
        size_t line_start; /* offset in out of the line being read */
        bool dot_ends;     /* a "." line ends the input (no -i) */
        bool skip_from;    /* still at the start: mbox "From " lines are dropped */
        bool done;         /* the "." line was seen: ignore the rest */
};

/* sendmail_reader_init - max: the largest message accepted (message_size_limit). */
void sendmail_reader_init(struct sendmail_reader *r, bool dot_ends, size_t max);

/* sendmail_reader_feed - input bytes, in chunks of any size. Returns 1 when the "." line ended
 * the input (stop reading), 0 for more, -EFBIG past max, -ENOMEM. */
int sendmail_reader_feed(struct sendmail_reader *r, const char *data, size_t len);

/* sendmail_reader_finish - end of input: a last line without a line break is completed. */
int sendmail_reader_finish(struct sendmail_reader *r);

void sendmail_reader_done(struct sendmail_reader *r);

/* sendmail_prepare_message - msg[0..len) as the reader made it, into out: Bcc:/Resent-Bcc:
 * removed; with extract, the header recipients appended to rcpts. Returns 0, -EINVAL for an
 * address list that cannot be parsed (ret_bad_field: its name, static), -E2BIG, -ENOMEM,
 * -EFBIG. */
int sendmail_prepare_message(const char *msg, size_t len, bool extract, struct addrlist *rcpts,
                             struct buf *out, const char **ret_bad_field);
