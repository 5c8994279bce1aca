/* SPDX-License-Identifier: MIT */
/*
 * maildrop - the maildrop file format (see maildrop.h): written by sendmail, checked again by
 * the postdrop helper before it stores anything, and parsed by the relay's pickup.
 * SECURITY: every dropped file is hostile input (any local user can make one through
 * postdrop): the parser bounds every record, requires the exact order and the exact length,
 * and never trusts a count it has not checked against the bytes present.
 */
#include "maildrop.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

bool maildrop_address_ok(const char *a, size_t len)
{
        if (len == 0 || len > MAILDROP_ADDRESS_MAX)
                return false;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)a[i];

                if (c <= ' ' || c == 0x7f || c == '<' || c == '>')
                        return false;
        }
        return true;
}

bool maildrop_fullname_ok(const char *t, size_t len)
{
        if (len == 0 || len > MAILDROP_FULLNAME_MAX)
                return false;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)t[i];

                if (c < ' ' || c == 0x7f)
                        return false;
        }
        return true;
}

int maildrop_format(const struct maildrop_envelope *env, const char *msg, size_t len,
                    struct buf *out)
{
        size_t start = out->len;
        int r;

        if (env->n_recipients == 0 || env->n_recipients > MAILDROP_RECIPIENTS_MAX)
                return -EINVAL;
        if (env->fullname && !maildrop_fullname_ok(env->fullname, strlen(env->fullname)))
                return -EINVAL;
        if (env->sender && *env->sender && !maildrop_address_ok(env->sender, strlen(env->sender)))
                return -EINVAL;
        for (size_t i = 0; i < env->n_recipients; i++)
                if (!maildrop_address_ok(env->recipients[i], strlen(env->recipients[i])))
                        return -EINVAL;
        if (len > MAILDROP_MESSAGE_MAX)
                return -EFBIG;

        r = buf_append_str(out, MAILDROP_MAGIC "\n");
        if (r >= 0 && env->fullname)
                r = buf_printf(out, "fullname %s\n", env->fullname);
        if (r >= 0 && env->sender)
                r = buf_printf(out, "sender %s\n", *env->sender ? env->sender : "<>");
        for (size_t i = 0; r >= 0 && i < env->n_recipients; i++)
                r = buf_printf(out, "rcpt %s\n", env->recipients[i]);
        if (r >= 0)
                r = buf_printf(out, "size %zu\n", len);
        if (r >= 0 && len > 0)
                r = buf_append(out, msg, len);
        if (r >= 0)
                r = buf_append_str(out, MAILDROP_TRAILER);
        if (r < 0 && out->data) {
                out->len = start;
                out->data[start] = '\0';
        }
        return r < 0 ? r : 0;
}

void maildrop_envelope_done(struct maildrop_envelope *env)
{
        if (!env)
                return;
        free(env->fullname);
        free(env->sender);
        for (size_t i = 0; i < env->n_recipients; i++)
                free(env->recipients[i]);
        free(env->recipients);
        *env = (struct maildrop_envelope){0};
}

/* next_record - the line at *off that starts with "key ": its value and length; advances *off
 * past the LF. 0 when the line is not that record (nothing consumed), -EBADMSG when there is
 * no complete line within the envelope's bound. */
static int next_record(const char *data, size_t len, size_t *off, const char *key,
                       const char **ret_value, size_t *ret_len)
{
        size_t klen = strlen(key),
               limit = len < MAILDROP_ENVELOPE_MAX ? len : MAILDROP_ENVELOPE_MAX;
        const char *nl;

        if (*off >= limit)
                return -EBADMSG;
        nl = memchr(data + *off, '\n', limit - *off);
        if (!nl)
                return -EBADMSG;
        if ((size_t)(nl - (data + *off)) < klen + 1 || memcmp(data + *off, key, klen) != 0 ||
            data[*off + klen] != ' ')
                return 0;
        *ret_value = data + *off + klen + 1;
        *ret_len = (size_t)(nl - *ret_value);
        *off = (size_t)(nl - data) + 1;
        return 1;
}

/* parse_size - canonical decimal (no sign, no leading zero but "0") up to MAILDROP_MESSAGE_MAX */
static int parse_size(const char *s, size_t len, size_t *ret)
{
        uint64_t v = 0;

        if (len == 0 || len > 10 || (len > 1 && s[0] == '0'))
                return -EBADMSG;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EBADMSG;
                v = v * 10 + (uint64_t)(s[i] - '0');
        }
        if (v > MAILDROP_MESSAGE_MAX)
                return -EBADMSG;
        *ret = (size_t)v;
        return 0;
}

int maildrop_parse(const char *data, size_t len, struct maildrop_envelope *ret, size_t *ret_offset,
                   size_t *ret_len)
{
        static const char magic[] = MAILDROP_MAGIC "\n";
        struct maildrop_envelope env = {0};
        const char *v;
        size_t off = sizeof magic - 1, vlen, size, trailer = strlen(MAILDROP_TRAILER);
        int r;

        if (len < off || memcmp(data, magic, off) != 0)
                return -EBADMSG;
        r = next_record(data, len, &off, "fullname", &v, &vlen);
        if (r < 0)
                goto bad;
        if (r > 0) {
                if (!maildrop_fullname_ok(v, vlen))
                        goto bad;
                env.fullname = strndup(v, vlen);
                if (!env.fullname)
                        goto nomem;
        }
        r = next_record(data, len, &off, "sender", &v, &vlen);
        if (r < 0)
                goto bad;
        if (r > 0) {
                if (vlen == 2 && memcmp(v, "<>", 2) == 0)
                        vlen = 0;
                else if (!maildrop_address_ok(v, vlen))
                        goto bad;
                env.sender = strndup(v, vlen);
                if (!env.sender)
                        goto nomem;
        }
        for (;;) {
                char **grown;

                r = next_record(data, len, &off, "rcpt", &v, &vlen);
                if (r < 0)
                        goto bad;
                if (r == 0)
                        break;
                if (env.n_recipients >= MAILDROP_RECIPIENTS_MAX || !maildrop_address_ok(v, vlen))
                        goto bad;
                grown = realloc(env.recipients, (env.n_recipients + 1) * sizeof *grown);
                if (!grown)
                        goto nomem;
                env.recipients = grown;
                env.recipients[env.n_recipients] = strndup(v, vlen);
                if (!env.recipients[env.n_recipients])
                        goto nomem;
                env.n_recipients++;
        }
        if (env.n_recipients == 0)
                goto bad;
        r = next_record(data, len, &off, "size", &v, &vlen);
        if (r <= 0 || parse_size(v, vlen, &size) < 0)
                goto bad;
        /* exactly the message and the trailer follow */
        if (len - off < trailer || len - off - trailer != size ||
            memcmp(data + off + size, MAILDROP_TRAILER, trailer) != 0)
                goto bad;
        *ret = env;
        *ret_offset = off;
        *ret_len = size;
        return 0;
bad:
        maildrop_envelope_done(&env);
        return -EBADMSG;
nomem:
        maildrop_envelope_done(&env);
        return -ENOMEM;
}
