/* SPDX-License-Identifier: MIT */
/*
 * fuzz_userdata - userdata_extract() on arbitrary bytes: JSON, MIME multipart (headers,
 * boundaries, base64, quoted-printable, nesting), gzip. Whatever it returns is released, so
 * LeakSanitizer sees leaks. The contract is checked with abort(), not assert(): release
 * builds define NDEBUG. userdata logs nothing, so there is nothing to silence.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "userdata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct config_error err;
        char reason[USERDATA_REASON_MAX];
        json_t *config = NULL;
        int r;

        if (size > (size_t)FUZZ_INPUT_MAX)
                return 0;
        memset(&err, 0, sizeof err);
        memset(reason, 0, sizeof reason);
        r = userdata_extract(data, size, &config, reason, sizeof reason, &err);
        switch (r) {
        case 1:
                if (!json_is_object(config))
                        abort();
                json_decref(config);
                break;
        case 0:
                /* Not for mailinit: a reason, and no config. */
                if (config || reason[0] == '\0')
                        abort();
                break;
        case -EBADMSG:
        case -EFBIG:
        case -ENOMEM:
                if (config || err.message[0] == '\0')
                        abort();
                break;
        default:
                abort();
        }
        return 0;
}
