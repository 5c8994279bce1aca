/* SPDX-License-Identifier: MIT */
/*
 * fuzz_headers - headers_end() and headers_rewrite() (relay/headers.c) on arbitrary bytes
 * taken as a whole message, with a fixed context. The contract checked (with abort(), not
 * assert(): release builds define NDEBUG): the section is within the input; the rewrite
 * succeeds; the result starts with "Received: ", uses CRLF only, ends with the empty line
 * and has no other empty line (headers_end finds all of it); and rewriting the result again
 * only puts another Received: on top (completion and the added Message-ID:/Date: are
 * idempotent). headers_complete_address() runs on the first line. Nothing here logs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "headers.h"

static const struct headers_context fuzz_context = {
        .myhostname = "relay.example.com",
        .myorigin = "example.com",
        .client_name = "localhost",
        .client_addr = "127.0.0.1",
        .helo = "client.example.net",
        .protocol = "ESMTP",
        .queue_id = "4F3C51C0A2B",
        .recipient = "x@example.org",
        .now = 1705399200,
};

/* Every bare local part can grow by "@example.com" and every LF by a CR. */
#define FUZZ_OUT_MAX (16 * FUZZ_INPUT_MAX + 4096)

static void check_complete_address(const char *data, size_t size)
{
        char in[256], out[256 + 16];
        size_t n = 0;

        while (n < size && n < sizeof in - 1 && data[n] != '\n' && data[n] != '\0')
                n++;
        memcpy(in, data, n);
        in[n] = '\0';
        if (headers_complete_address(in, "example.com", out, sizeof out) != 0)
                abort();
        if (strncmp(out, in, n) != 0)
                abort();
        if (out[n] != '\0' && strcmp(out + n, "@example.com") != 0)
                abort();
        if (headers_complete_address(in, "example.com", out, n) != -ENOBUFS)
                abort();
}

static void check_output(const struct buf *out)
{
        const char *m = out->data;
        size_t n = out->len;

        if (n < 12 || memcmp(m, "Received: ", 10) != 0)
                abort();
        if (memcmp(m + n - 4, "\r\n\r\n", 4) != 0)
                abort();
        for (size_t i = 0; i < n; i++)
                if (m[i] == '\n' && (i == 0 || m[i - 1] != '\r'))
                        abort();
        /* the empty line is the last line, and only there */
        if (memmem(m, n, "\r\n\r\n", 4) != m + n - 4)
                abort();
        if (headers_end(m, n) != n)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *msg = (const char *)data;
        struct buf out, again;
        size_t end, received;
        int r;

        if (size > (size_t)FUZZ_INPUT_MAX)
                return 0;
        check_complete_address(msg, size);

        end = headers_end(msg, size);
        if (end > size)
                abort();
        buf_init(&out, FUZZ_OUT_MAX);
        r = headers_rewrite(msg, end, &fuzz_context, &out);
        if (r == -ENOMEM)
                goto out;
        if (r != 0)
                abort();
        check_output(&out);

        buf_init(&again, FUZZ_OUT_MAX + 4096);
        r = headers_rewrite(out.data, out.len, &fuzz_context, &again);
        if (r == 0) {
                if (again.len <= out.len)
                        abort();
                received = again.len - out.len;
                /* the same Received: on top of the first result, unchanged */
                if (memcmp(again.data, out.data, received) != 0 ||
                    memcmp(again.data + received, out.data, out.len) != 0)
                        abort();
        } else if (r != -ENOMEM) {
                abort();
        }
        buf_done(&again);
out:
        buf_done(&out);
        return 0;
}
