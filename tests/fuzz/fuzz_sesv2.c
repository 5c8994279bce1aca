/* SPDX-License-Identifier: MIT */
/*
 * fuzz_sesv2 - sesv2_parse_response() on arbitrary answers. Input: two bytes of HTTP status
 * (big-endian, taken modulo 600), then the x-amzn-ErrorType header up to the first '\n', then
 * the body. Checked with abort() (release builds define NDEBUG): a verdict in range, the
 * status kept, strings terminated and free of control characters (they go into log lines and
 * DSNs), a MessageId only with SENT. sesv2 logs nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sesv2.h"

static void check_clean(const char *s, size_t size)
{
        size_t n = strnlen(s, size);

        if (n == size)
                abort(); /* not terminated */
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] < 32 || s[i] == 127)
                        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct sesv2_result r;
        const uint8_t *nl;
        char *header;
        long status;
        size_t header_len;

        if (size < 2 || size > (size_t)FUZZ_INPUT_MAX)
                return 0;
        status = ((long)data[0] << 8 | data[1]) % 600;
        data += 2;
        size -= 2;
        nl = memchr(data, '\n', size);
        header_len = nl ? (size_t)(nl - data) : 0;
        header = malloc(header_len + 1);
        if (!header)
                return 0;
        memcpy(header, data, header_len);
        header[header_len] = '\0';
        if (nl) {
                data += header_len + 1;
                size -= header_len + 1;
        }
        sesv2_parse_response(status, (const char *)data, size, header, &r);
        free(header);
        if (r.verdict != SESV2_SENT && r.verdict != SESV2_DEFER && r.verdict != SESV2_BOUNCE &&
            r.verdict != SESV2_REFRESH && r.verdict != SESV2_SKEW)
                abort();
        if (r.status != status)
                abort();
        check_clean(r.error_code, sizeof r.error_code);
        check_clean(r.message, sizeof r.message);
        check_clean(r.message_id, sizeof r.message_id);
        if (r.message_id[0] && r.verdict != SESV2_SENT)
                abort();
        if (status >= 200 && status < 300 && r.verdict != SESV2_SENT)
                abort();
        return 0;
}
