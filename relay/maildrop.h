/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* The maildrop file: what `sendmail` (directly, or through the setgid postdrop helper) leaves
 * in $spool_dir/maildrop for the relay to pick up. Text envelope, the message, an END line:
 *   "MAILINIT-MAILDROP 1\n"
 *   "fullname TEXT\n"     optional: -F (or the gecos name) for a From: the relay adds
 *   "sender ADDRESS\n"    optional: -f; "sender <>" is the null sender; absent: the submitter
 *   "rcpt ADDRESS\n"      1 to MAILDROP_RECIPIENTS_MAX times
 *   "size N\n"            canonical decimal, at most MAILDROP_MESSAGE_MAX
 *   N bytes of message, then "END\n", then nothing.
 * Records come in this order, LF-terminated, without CR or other control characters;
 * addresses have no spaces; anything else is -EBADMSG. The submitter is never in the file:
 * the relay takes it from the file's owner. There are no flags: sendmail has applied -t and
 * -i already, and the relay derives 8BITMIME/SMTPUTF8 from the bytes themselves rather than
 * trust a claim. A new record or meaning gets a new version number. Pure: no I/O, no
 * logging. */

#define MAILDROP_MAGIC          "MAILINIT-MAILDROP 1"
#define MAILDROP_ADDRESS_MAX    254 /* RFC 5321 4.5.3.1.3 */
#define MAILDROP_FULLNAME_MAX   256
#define MAILDROP_RECIPIENTS_MAX 1000
#define MAILDROP_ENVELOPE_MAX   ((size_t)512 * 1024)
#define MAILDROP_MESSAGE_MAX    ((size_t)1024 * 1024 * 1024)
#define MAILDROP_TRAILER        "END\n"

struct maildrop_envelope {
        char *fullname; /* NULL: none */
        char *sender;   /* NULL: the submitter (default); "": the null sender <> */
        char **recipients;
        size_t n_recipients;
};

/* maildrop_format - append the whole file for env and msg[0..len) to out. -EINVAL when env
 * breaks the format's rules (no recipient, a control character, an address with a space,
 * too long), -EFBIG past MAILDROP_MESSAGE_MAX or out's maximum, -ENOMEM. */
int maildrop_format(const struct maildrop_envelope *env, const char *msg, size_t len,
                    struct buf *out);

/* maildrop_parse - check a whole file strictly; on success *ret holds copies (release with
 * maildrop_envelope_done) and the message is data[*ret_offset, *ret_offset + *ret_len).
 * -EBADMSG for anything malformed, truncated or with trailing bytes; -ENOMEM. */
int maildrop_parse(const char *data, size_t len, struct maildrop_envelope *ret, size_t *ret_offset,
                   size_t *ret_len);

void maildrop_envelope_done(struct maildrop_envelope *env);

/* maildrop_address_ok / maildrop_fullname_ok - what the format accepts (UTF-8 passes). */
bool maildrop_address_ok(const char *a, size_t len);
bool maildrop_fullname_ok(const char *t, size_t len);
