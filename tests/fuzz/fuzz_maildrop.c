/* SPDX-License-Identifier: MIT */
/*
 * fuzz_maildrop - maildrop_parse() (relay/maildrop.c) on arbitrary bytes taken as a dropped
 * file: what any local user can hand the relay through the postdrop helper. Contract, checked
 * with abort() (release builds define NDEBUG): -EBADMSG or -ENOMEM, or an envelope that keeps
 * the format's promises (1..MAILDROP_RECIPIENTS_MAX recipients, addresses and full name that
 * pass the format's own checks, the message inside the input followed by exactly the
 * trailer), and that maildrop_format() writes back byte for byte as the input. The input is
 * also parsed as the -t header scan sees it (sendmail_prepare_message over the reader's
 * output). Nothing here logs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addrlist.h"
#include "buf.h"
#include "fuzz.h"
#include "maildrop.h"
#include "sendmail_message.h"

static void check_envelope(const uint8_t *data, size_t size, const struct maildrop_envelope *env,
                           size_t off, size_t len)
{
        struct buf again;

        if (env->n_recipients == 0 || env->n_recipients > MAILDROP_RECIPIENTS_MAX)
                abort();
        for (size_t i = 0; i < env->n_recipients; i++)
                if (!maildrop_address_ok(env->recipients[i], strlen(env->recipients[i])))
                        abort();
        if (env->fullname && !maildrop_fullname_ok(env->fullname, strlen(env->fullname)))
                abort();
        if (env->sender && *env->sender && !maildrop_address_ok(env->sender, strlen(env->sender)))
                abort();
        if (off > size || len > size - off || size - off - len != strlen(MAILDROP_TRAILER) ||
            memcmp(data + off + len, MAILDROP_TRAILER, strlen(MAILDROP_TRAILER)) != 0)
                abort();
        /* the format has one spelling for each envelope: writing it back gives the input */
        buf_init(&again, size + 1);
        if (maildrop_format(env, (const char *)data + off, len, &again) == 0 &&
            (again.len != size || memcmp(again.data, data, size) != 0))
                abort();
        buf_done(&again);
}

/* check_header_scan - the same bytes as sendmail -t reads them */
static void check_header_scan(const uint8_t *data, size_t size)
{
        struct addrlist rcpts = {.max = MAILDROP_RECIPIENTS_MAX};
        struct sendmail_reader rd;
        const char *bad;
        struct buf out;
        int r;

        sendmail_reader_init(&rd, true, 4 * FUZZ_INPUT_MAX);
        r = sendmail_reader_feed(&rd, (const char *)data, size);
        if (r < 0 || sendmail_reader_finish(&rd) < 0)
                abort(); /* the bound is twice what CRLF can make of the input */
        buf_init(&out, 4 * FUZZ_INPUT_MAX);
        r = sendmail_prepare_message(rd.out.data ? rd.out.data : "", rd.out.len, true, &rcpts, &out,
                                     &bad);
        if (r < 0 && r != -EINVAL && r != -E2BIG && r != -ENOMEM)
                abort();
        if (r == 0 && out.len > rd.out.len) /* Bcc: removal only ever shortens */
                abort();
        for (size_t i = 0; i < rcpts.n; i++)
                if (!rcpts.items[i][0])
                        abort();
        addrlist_done(&rcpts);
        buf_done(&out);
        sendmail_reader_done(&rd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct maildrop_envelope env = {0};
        size_t off = 0, len = 0;
        int r;

        if (size > (size_t)FUZZ_INPUT_MAX)
                return 0;
        r = maildrop_parse((const char *)data, size, &env, &off, &len);
        if (r == 0)
                check_envelope(data, size, &env, off, len);
        else if (r != -EBADMSG && r != -ENOMEM)
                abort();
        maildrop_envelope_done(&env);
        check_header_scan(data, size);
        return 0;
}
