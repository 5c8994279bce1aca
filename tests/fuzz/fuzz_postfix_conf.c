/* SPDX-License-Identifier: MIT */
/*
 * fuzz_postfix_conf - postfix_conf_edit() on arbitrary bytes as main.cf, with a fixed list of
 * edits (the settings firstboot owns, one name given twice, values to trim, an empty value).
 * Checks, with abort() (release builds define NDEBUG): text with a NUL byte is refused and
 * anything else is accepted; the result is NUL-terminated, has no NUL inside and ends in a
 * newline; editing the result again gives the same bytes (a second firstboot run leaves
 * main.cf byte-identical); postfix_conf_lookup() - Postfix's parser - reads every edited name
 * as its last, trimmed value, except where postconf -e and the parser disagree on a name
 * followed by '\v' or '\f' (see postfix_conf.c); and with no edits the text comes back as it
 * was, plus a newline when its last line had none. Everything is freed, for LeakSanitizer.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "postfix_conf.h"

static const struct postfix_conf_edit edits[] = {
        {"relayhost", "[email-smtp.eu-west-1.amazonaws.com]:587"},
        {"smtp_sasl_auth_enable", "yes"},
        {"smtp_sasl_password_maps", "hash:/etc/postfix/sasl_passwd"},
        {"smtp_sasl_security_options", "noanonymous"},
        {"smtp_tls_security_level", "encrypt"},
        {"smtp_tls_CAfile", "/etc/ssl/certs/ca-certificates.crt"},
        {"mydomain", ""},
        {"myorigin", "$mydomain"},
        {"myhostname", " \tip-10-0-1-23.eu-west-1.compute.internal \r"},
        {"inet_interfaces", "all"},
        {"mynetworks", "127.0.0.0/8 [::1]/128"},
        {"inet_interfaces", "loopback-only"},
};

/* What Postfix must read for each name after the edit: the later edit, trimmed. */
static const struct postfix_conf_edit want[] = {
        {"relayhost", "[email-smtp.eu-west-1.amazonaws.com]:587"},
        {"smtp_sasl_auth_enable", "yes"},
        {"smtp_sasl_password_maps", "hash:/etc/postfix/sasl_passwd"},
        {"smtp_sasl_security_options", "noanonymous"},
        {"smtp_tls_security_level", "encrypt"},
        {"smtp_tls_CAfile", "/etc/ssl/certs/ca-certificates.crt"},
        {"mydomain", ""},
        {"myorigin", "$mydomain"},
        {"myhostname", "ip-10-0-1-23.eu-west-1.compute.internal"},
        {"inet_interfaces", "loopback-only"},
        {"mynetworks", "127.0.0.0/8 [::1]/128"},
};

#define N_EDITS (sizeof edits / sizeof edits[0])
#define N_WANT  (sizeof want / sizeof want[0])

/* vf_alias - a line "name\v..." or "name\f...": not that name for postconf -e, yet that name
 * for Postfix's parser */
static bool vf_alias(const char *text, size_t len, const char *name)
{
        size_t n = strlen(name);

        for (size_t pos = 0; pos < len;) {
                const char *nl = memchr(text + pos, '\n', len - pos);

                if (len - pos > n && memcmp(text + pos, name, n) == 0 &&
                    (text[pos + n] == '\v' || text[pos + n] == '\f'))
                        return true;
                if (!nl)
                        break;
                pos = (size_t)(nl - text) + 1;
        }
        return false;
}

static void check_unedited(const char *text, size_t size)
{
        char *out = NULL;
        size_t out_len = 0;
        bool add_nl = size > 0 && text[size - 1] != '\n';
        int r;

        r = postfix_conf_edit(text, size, NULL, 0, &out, &out_len);
        if (r == -ENOMEM)
                return;
        if (r != 0 || out_len != size + add_nl || memcmp(out, text, size) != 0 ||
            (add_nl && out[size] != '\n'))
                abort();
        free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *text = (const char *)data;
        char *out = NULL, *again = NULL;
        size_t out_len = 0, again_len = 0;
        int r;

        if (size > (size_t)FUZZ_INPUT_MAX)
                return 0;
        r = postfix_conf_edit(text, size, edits, N_EDITS, &out, &out_len);
        if (size > 0 && memchr(text, '\0', size)) {
                if (r != -EINVAL)
                        abort();
                return 0;
        }
        if (r == -ENOMEM)
                return 0;
        if (r != 0 || !out || out[out_len] != '\0' || strlen(out) != out_len || out_len == 0 ||
            out[out_len - 1] != '\n')
                abort();

        r = postfix_conf_edit(out, out_len, edits, N_EDITS, &again, &again_len);
        if (r == 0 && (again_len != out_len || memcmp(again, out, out_len) != 0))
                abort();
        if (r != 0 && r != -ENOMEM)
                abort();
        free(again);

        for (size_t i = 0; i < N_WANT; i++) {
                char *got;

                if (vf_alias(out, out_len, want[i].name))
                        continue;
                errno = 0;
                got = postfix_conf_lookup(out, out_len, want[i].name);
                if (!got && errno == ENOMEM)
                        continue;
                if (!got || strcmp(got, want[i].value) != 0)
                        abort();
                free(got);
        }
        free(out);
        check_unedited(text, size);
        return 0;
}
