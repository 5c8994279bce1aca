/* SPDX-License-Identifier: MIT */
/*
 * buf - bounded growable buffer. Growth doubles the capacity up to max + 1 (the NUL).
 * Secret buffers wipe the old block when they grow and wipe on release.
 */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secret_mask.h"

void buf_init(struct buf *b, size_t max)
{
        *b = (struct buf){.max = max};
}

void buf_init_secret(struct buf *b, size_t max)
{
        *b = (struct buf){.max = max, .secret = true};
}

static int buf_reserve(struct buf *b, size_t need)
{
        size_t cap;
        char *p;

        if (need <= b->cap)
                return 0;
        cap = b->cap ? b->cap : 256;
        while (cap < need)
                cap = cap > (SIZE_MAX / 2) ? need : cap * 2;
        if (cap > b->max + 1)
                cap = b->max + 1;
        if (b->secret) {
                p = malloc(cap);
                if (!p)
                        return -ENOMEM;
                if (b->data) {
                        memcpy(p, b->data, b->len + 1);
                        secret_wipe(b->data, b->cap);
                        free(b->data);
                }
        } else {
                p = realloc(b->data, cap);
                if (!p)
                        return -ENOMEM;
        }
        b->data = p;
        b->cap = cap;
        return 0;
}

int buf_append(struct buf *b, const void *data, size_t n)
{
        int r;

        if (n > b->max || b->len > b->max - n)
                return -EFBIG;
        r = buf_reserve(b, b->len + n + 1);
        if (r < 0)
                return r;
        if (n > 0)
                memcpy(b->data + b->len, data, n);
        b->len += n;
        b->data[b->len] = '\0';
        return 0;
}

int buf_append_str(struct buf *b, const char *s)
{
        return buf_append(b, s, strlen(s));
}

int buf_printf(struct buf *b, const char *format, ...)
{
        va_list ap;
        char small[256], *big = NULL;
        int n, r;

        va_start(ap, format);
        n = vsnprintf(small, sizeof small, format, ap);
        va_end(ap);
        if (n < 0)
                return -EINVAL;
        if ((size_t)n < sizeof small) {
                r = buf_append(b, small, (size_t)n);
                if (b->secret)
                        secret_wipe(small, sizeof small);
                return r;
        }
        va_start(ap, format);
        n = vasprintf(&big, format, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        r = buf_append(b, big, (size_t)n);
        if (b->secret)
                secret_wipe(big, (size_t)n);
        free(big);
        return r;
}

void buf_reset(struct buf *b)
{
        if (b->data) {
                if (b->secret)
                        secret_wipe(b->data, b->len);
                b->data[0] = '\0';
        }
        b->len = 0;
}

char *buf_take(struct buf *b, size_t *ret_len)
{
        char *p = b->data;

        if (ret_len)
                *ret_len = b->len;
        b->data = NULL;
        b->len = b->cap = 0;
        return p;
}

void buf_done(struct buf *b)
{
        if (b->data && b->secret)
                secret_wipe(b->data, b->cap);
        free(b->data);
        b->data = NULL;
        b->len = b->cap = 0;
}
