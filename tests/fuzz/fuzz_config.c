/* SPDX-License-Identifier: MIT */
/*
 * fuzz_config - config_parse() on arbitrary bytes (main.cf syntax: comments, continuation
 * lines, CRLF, NUL bytes, long lines); when the text parses, its entries are applied to
 * fresh settings and finalized, which runs key lookup, $name expansion and every value
 * check. Everything is released, so LeakSanitizer sees leaks. The contract is checked with
 * abort(), not assert(): release builds define NDEBUG. Nothing here logs but debug lines,
 * which are silenced.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <jansson.h>

#include "config.h"
#include "fuzz.h"
#include "log.h"
#include "settings.h"

/* check_entry - what config_parse promises about an entry */
static void check_entry(const struct config_entry *e, unsigned prev_line)
{
        size_t key_len = strlen(e->key), value_len = strlen(e->value);

        if (key_len == 0 || key_len > 64 ||
            strspn(e->key, "abcdefghijklmnopqrstuvwxyz"
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                           "0123456789_") != key_len)
                abort();
        if (strchr(e->value, '\n'))
                abort();
        if (value_len > 0 &&
            (strchr(" \t\r", e->value[0]) || strchr(" \t\r", e->value[value_len - 1])))
                abort();
        if (e->line <= prev_line)
                abort();
}

static void apply_settings(const struct config_file *f)
{
        struct config_error err;
        struct settings *s;
        json_t *j;
        int r;

        s = settings_new();
        if (!s)
                return;
        memset(&err, 0, sizeof err);
        /* with a region the default relayhost is valid, so the checks after it run too */
        if (settings_set(s, "region", "eu-west-1", SETTING_SOURCE_METADATA, "instance metadata",
                         &err) < 0)
                abort();
        r = settings_apply_file(s, f, &err);
        if (r == -ENOENT || r == -EINVAL) {
                if (err.message[0] == '\0')
                        abort();
        } else if (r != 0 && r != -ENOMEM) {
                abort();
        }
        if (r == 0) {
                r = settings_finalize(s, &err);
                if (r == -EINVAL && err.message[0] == '\0')
                        abort();
                if (r != 0 && r != -EINVAL && r != -ENOMEM)
                        abort();
                if (r == 0) {
                        for (int i = 0; i < SETTING_MAX; i++)
                                if (strlen(settings_get(s, (enum setting_key)i)) > 4096)
                                        abort();
                        j = settings_to_json(s);
                        if (j && json_object_size(j) != SETTING_MAX)
                                abort();
                        json_decref(j);
                }
        }
        settings_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct config_file untouched;
        struct config_file *f = &untouched; /* must stay as it is on errors */
        struct config_error err;
        int r;

        if (size > (size_t)FUZZ_INPUT_MAX)
                return 0;
        log_set_max_level(LOG_ERR);
        memset(&err, 0, sizeof err);
        r = config_parse("fuzz.conf", (const char *)data, size, &f, &err);
        if (r < 0) {
                if (f != &untouched)
                        abort();
                if ((r == -EINVAL || r == -EFBIG) && err.message[0] == '\0')
                        abort();
                if (r != -EINVAL && r != -EFBIG && r != -ENOMEM)
                        abort();
                return 0;
        }
        if (!f || strcmp(f->label, "fuzz.conf") != 0)
                abort();
        for (size_t i = 0; i < f->n_entries; i++)
                check_entry(&f->entries[i], i > 0 ? f->entries[i - 1].line : 0);
        if (f->n_entries > 0) {
                const struct config_entry *last = &f->entries[f->n_entries - 1];

                if (config_file_get(f, last->key) != last->value)
                        abort();
        }
        apply_settings(f);
        config_file_free(f);
        return 0;
}
