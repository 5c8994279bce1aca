/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* A growable byte buffer with a maximum set at init (curl dynbuf "toobig"). The data is
 * always NUL-terminated so text users can read it as a string; len excludes the NUL. */
struct buf {
        char *data;
        size_t len;
        size_t cap;
        size_t max;
        bool secret; /* wipe on growth and on buf_done() */
};

/* buf_init - empty buffer that refuses to grow beyond max bytes. */
void buf_init(struct buf *b, size_t max);

/* buf_init_secret - as buf_init, and every copy of the contents is wiped when released. */
void buf_init_secret(struct buf *b, size_t max);

/* buf_append - add n bytes. Returns 0, -EFBIG past the maximum (buffer unchanged) or -ENOMEM. */
int buf_append(struct buf *b, const void *data, size_t n);

/* buf_append_str - add a NUL-terminated string. */
int buf_append_str(struct buf *b, const char *s);

/* buf_printf - add formatted text. Same returns as buf_append. */
int buf_printf(struct buf *b, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* buf_reset - empty the buffer, keeping its memory. */
void buf_reset(struct buf *b);

/* buf_take - hand the data to the caller (free() it; NULL when nothing was ever appended)
 * and reset the buffer. */
char *buf_take(struct buf *b, size_t *ret_len);

/* buf_done - release the contents (wiped first for secret buffers). */
void buf_done(struct buf *b);
