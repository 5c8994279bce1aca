/* SPDX-License-Identifier: MIT */
/*
 * settings - the table of configuration keys (SPEC "Configuration"), and the merge.
 *
 * Each key holds one raw value and the source it came from. A source may only replace a
 * value from an equal or lower source, so the order in which callers apply sources does
 * not matter. settings_finalize() expands "$name" references the way Postfix does (late,
 * over the merged values) and checks every expanded value against the key's type; errors
 * name where the offending value was written.
 */
#include "settings.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "address.h"
#include "buf.h"
#include "parse.h"
#include "secret_mask.h"

#define SETTING_VALUE_MAX  4096
#define SETTING_ORIGIN_MAX 512
#define SECRET_ID_MAX      2048

enum setting_type {
        TYPE_STRING,
        TYPE_ENUM,
        TYPE_DURATION,
        TYPE_SIZE,
        TYPE_RATE,
        TYPE_BOOL,
        TYPE_DOMAIN,
        TYPE_REGION,
        TYPE_RELAYHOST,
        TYPE_ADDRESS,
        TYPE_LISTEN_LIST,
        TYPE_NETWORK_LIST,
        TYPE_UNIT_LIST,
        TYPE_PATH,
        TYPE_OPTIONAL_PATH, /* empty, or an absolute path */
        TYPE_NAME,          /* a file name without directory: letters, digits, '.', '_', '-' */
        TYPE_SECRET_ID,
        TYPE_NAME_LIST, /* login names, separated by commas or spaces (Postfix list syntax) */
};

struct setting_def {
        const char *name;
        enum setting_type type;
        const char *default_value;
        const char *choices; /* TYPE_ENUM: "a|b|c"; TYPE_DURATION: default unit */
};

static const struct setting_def defs[SETTING_MAX] = {
        [SETTING_MODE] = {"mode", TYPE_ENUM, "builtin", "builtin|postfix"},
        [SETTING_SECRET_ID] = {"secret_id", TYPE_SECRET_ID, "", NULL},
        [SETTING_REGION] = {"region", TYPE_REGION, "", NULL},
        [SETTING_RELAYHOST] = {"relayhost", TYPE_RELAYHOST,
                               "[email-smtp.$region.amazonaws.com]:587", NULL},
        [SETTING_RELAY_TLS] = {"relay_tls", TYPE_ENUM, "starttls", "starttls|smtps|none"},
        [SETTING_TLS_CA_FILE] = {"tls_ca_file", TYPE_PATH, "", NULL},
        [SETTING_MYDOMAIN] = {"mydomain", TYPE_DOMAIN, "", NULL},
        [SETTING_MYORIGIN] = {"myorigin", TYPE_DOMAIN, "$mydomain", NULL},
        [SETTING_MYHOSTNAME] = {"myhostname", TYPE_DOMAIN, "", NULL},
        [SETTING_LISTEN] = {"listen", TYPE_LISTEN_LIST, "127.0.0.1:25, [::1]:25", NULL},
        [SETTING_MYNETWORKS] = {"mynetworks", TYPE_NETWORK_LIST, "127.0.0.0/8, [::1]/128", NULL},
        [SETTING_NOTIFY_TO] = {"notify_to", TYPE_ADDRESS, "", NULL},
        [SETTING_NOTIFY_FROM] = {"notify_from", TYPE_ADDRESS, "postmaster@$myorigin", NULL},
        [SETTING_MAX_SEND_RATE] = {"max_send_rate", TYPE_RATE, "0", NULL},
        [SETTING_MESSAGE_SIZE_LIMIT] = {"message_size_limit", TYPE_SIZE, "10240000", NULL},
        [SETTING_MINIMAL_BACKOFF_TIME] = {"minimal_backoff_time", TYPE_DURATION, "300s", "s"},
        [SETTING_MAXIMAL_BACKOFF_TIME] = {"maximal_backoff_time", TYPE_DURATION, "4000s", "s"},
        [SETTING_MAXIMAL_QUEUE_LIFETIME] = {"maximal_queue_lifetime", TYPE_DURATION, "5d", "d"},
        [SETTING_RESTART_UNITS] = {"restart_units", TYPE_UNIT_LIST, "", NULL},
        [SETTING_CREDENTIALS_FILE] = {"credentials_file", TYPE_PATH, "/etc/mailinit/credentials",
                                      NULL},
        [SETTING_SPOOL_DIR] = {"spool_dir", TYPE_PATH, "/var/spool/mailinit", NULL},
        [SETTING_STATE_DIR] = {"state_dir", TYPE_PATH, "/var/lib/mailinit", NULL},
        [SETTING_POSTFIX_DIR] = {"postfix_dir", TYPE_PATH, "/etc/postfix", NULL},
        [SETTING_IMDS_V1_FALLBACK] = {"imds_v1_fallback", TYPE_BOOL, "no", NULL},
        [SETTING_SMTPD_TLS_CERT_FILE] = {"smtpd_tls_cert_file", TYPE_OPTIONAL_PATH, "", NULL},
        [SETTING_SMTPD_TLS_KEY_FILE] = {"smtpd_tls_key_file", TYPE_OPTIONAL_PATH, "", NULL},
        [SETTING_SMTPD_SASL_AUTH_ENABLE] = {"smtpd_sasl_auth_enable", TYPE_BOOL, "no", NULL},
        [SETTING_SMTPD_SASL_PATH] = {"smtpd_sasl_path", TYPE_NAME, "mailinit", NULL},
        [SETTING_SMTPD_SASL_CONFIG_DIR] = {"smtpd_sasl_config_dir", TYPE_PATH,
                                           "/etc/mailinit/sasl2", NULL},
        [SETTING_MAIL_OWNER] = {"mail_owner", TYPE_NAME, "mailinit", NULL},
        [SETTING_SETGID_GROUP] = {"setgid_group", TYPE_NAME, "mailinit-drop", NULL},
        [SETTING_TRUSTED_USERS] = {"trusted_users", TYPE_NAME_LIST, "root, $mail_owner", NULL},
        [SETTING_AUTHORIZED_SUBMIT_USERS] = {"authorized_submit_users", TYPE_NAME_LIST, "", NULL},
};

/* CA bundles of the distributions we package for, first existing one wins. */
static const char *const system_ca_bundles[] = {
        "/etc/ssl/certs/ca-certificates.crt", /* Debian, Ubuntu */
        "/etc/pki/tls/certs/ca-bundle.crt",   /* Amazon Linux, Fedora, RHEL */
};

static const char *const source_names[SETTING_SOURCE_MAX] = {
        [SETTING_SOURCE_DEFAULT] = "default",
        [SETTING_SOURCE_METADATA] = "metadata",
        [SETTING_SOURCE_ENVIRONMENT] = "environment",
        [SETTING_SOURCE_FILE] = "file",
        [SETTING_SOURCE_TAG] = "tag",
        [SETTING_SOURCE_USERDATA] = "user-data",
};

struct setting_value {
        char *raw;
        char *value; /* expanded, after settings_finalize() */
        enum setting_source source;
        char origin[SETTING_ORIGIN_MAX];
};

struct settings {
        struct setting_value v[SETTING_MAX];
        uint64_t u64[SETTING_MAX];
        double rate[SETTING_MAX];
        bool finalized;
        bool region_optional;
};

enum setting_key settings_key_from_name(const char *name)
{
        for (int i = 0; i < SETTING_MAX; i++)
                if (strcmp(defs[i].name, name) == 0)
                        return (enum setting_key)i;
        return SETTING_INVALID;
}

const char *settings_key_name(enum setting_key key)
{
        return key >= 0 && key < SETTING_MAX ? defs[key].name : NULL;
}

const char *setting_source_name(enum setting_source source)
{
        return source < SETTING_SOURCE_MAX ? source_names[source] : "?";
}

static const char *default_ca_bundle(void)
{
        for (size_t i = 0; i < sizeof system_ca_bundles / sizeof system_ca_bundles[0]; i++)
                if (access(system_ca_bundles[i], R_OK) == 0)
                        return system_ca_bundles[i];
        return system_ca_bundles[0];
}

struct settings *settings_new(void)
{
        struct settings *s = calloc(1, sizeof *s);

        if (!s)
                return NULL;
        for (int i = 0; i < SETTING_MAX; i++) {
                const char *d = defs[i].default_value;

                if (i == SETTING_TLS_CA_FILE)
                        d = default_ca_bundle();
                s->v[i].raw = strdup(d);
                if (!s->v[i].raw)
                        return settings_free(s);
                s->v[i].source = SETTING_SOURCE_DEFAULT;
                (void)snprintf(s->v[i].origin, sizeof s->v[i].origin, "built-in");
        }
        return s;
}

struct settings *settings_free(struct settings *s)
{
        if (!s)
                return NULL;
        for (int i = 0; i < SETTING_MAX; i++) {
                free(s->v[i].raw);
                free(s->v[i].value);
        }
        free(s);
        return NULL;
}

static bool has_control_chars(const char *v)
{
        for (const unsigned char *p = (const unsigned char *)v; *p; p++)
                if (*p < 32 || *p == 127)
                        return true;
        return false;
}

int settings_set(struct settings *s, const char *name, const char *value,
                 enum setting_source source, const char *origin, struct config_error *err)
{
        enum setting_key key = settings_key_from_name(name);
        struct setting_value *sv;
        char *copy;

        if (key == SETTING_INVALID) {
                config_error_set(err, "%s: unknown parameter '%s'", origin, name);
                return -ENOENT;
        }
        if (strlen(value) > SETTING_VALUE_MAX)
                return config_error_set(err, "%s: parameter '%s': value longer than %d bytes",
                                        origin, name, SETTING_VALUE_MAX);
        if (has_control_chars(value))
                return config_error_set(
                        err, "%s: parameter '%s': value contains control characters", origin, name);
        sv = &s->v[key];
        if (source < sv->source)
                return 0;
        copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        free(sv->raw);
        sv->raw = copy;
        sv->source = source;
        (void)snprintf(sv->origin, sizeof sv->origin, "%s", origin);
        s->finalized = false;
        return 0;
}

int settings_apply_file(struct settings *s, const struct config_file *f, struct config_error *err)
{
        for (size_t i = 0; i < f->n_entries; i++) {
                char origin[SETTING_ORIGIN_MAX];
                int r;

                (void)snprintf(origin, sizeof origin, "%s:%u", f->label, f->entries[i].line);
                r = settings_set(s, f->entries[i].key, f->entries[i].value, SETTING_SOURCE_FILE,
                                 origin, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* json_member_text - the text form of a user-data value into b */
static int json_member_text(json_t *v, struct buf *b)
{
        size_t i;
        json_t *item;

        switch (json_typeof(v)) {
        case JSON_STRING:
                return buf_append(b, json_string_value(v), json_string_length(v));
        case JSON_INTEGER:
                return buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        case JSON_REAL: {
                /* the shortest text that reads back the same: 0.1, not 0.10000000000000001 */
                char text[32];

                for (int precision = 15; precision <= 17; precision++) {
                        (void)snprintf(text, sizeof text, "%.*g", precision, json_real_value(v));
                        if (strtod(text, NULL) == json_real_value(v))
                                break;
                }
                return buf_append_str(b, text);
        }
        case JSON_TRUE:
                return buf_append_str(b, "yes");
        case JSON_FALSE:
                return buf_append_str(b, "no");
        case JSON_ARRAY:
                json_array_foreach(v, i, item)
                {
                        int r;

                        if (!json_is_string(item))
                                return -EINVAL;
                        if (i > 0 && (r = buf_append_str(b, ", ")) < 0)
                                return r;
                        r = buf_append(b, json_string_value(item), json_string_length(item));
                        if (r < 0)
                                return r;
                }
                return 0;
        case JSON_OBJECT:
        case JSON_NULL:
                return -EINVAL;
        }
        return -EINVAL;
}

int settings_apply_json(struct settings *s, json_t *object, enum setting_source source,
                        const char *origin, struct config_error *err)
{
        const char *name;
        json_t *v;

        if (!json_is_object(object))
                return config_error_set(err, "%s: \"mailinit\" must be a JSON object", origin);
        json_object_foreach(object, name, v)
        {
                char where[SETTING_ORIGIN_MAX];
                struct buf text;
                int r;

                (void)snprintf(where, sizeof where, "%s: mailinit.%s", origin, name);
                buf_init(&text, SETTING_VALUE_MAX);
                r = json_member_text(v, &text);
                if (r == -EINVAL) {
                        buf_done(&text);
                        return config_error_set(
                                err, "%s: expected a string, number, boolean or array of strings",
                                where);
                }
                if (r == -EFBIG) {
                        buf_done(&text);
                        return config_error_set(err, "%s: value longer than %d bytes", where,
                                                SETTING_VALUE_MAX);
                }
                if (r < 0) {
                        buf_done(&text);
                        return r;
                }
                if (memchr(text.data ? text.data : "", '\0', text.len)) {
                        buf_done(&text);
                        return config_error_set(err, "%s: value contains a NUL byte", where);
                }
                r = settings_set(s, name, text.data ? text.data : "", source, origin, err);
                buf_done(&text);
                if (r == -ENOENT)
                        return config_error_set(err, "%s: unknown parameter '%s'", where, name);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool is_name_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_';
}

/* expand - set key's value from its raw value. Each referenced key is expanded once and
 * its value reused, so many references cannot multiply the work; busy marks the keys being
 * expanded, so a reference back to one of them is a loop. */
static int expand(struct settings *s, enum setting_key key, bool *busy, struct config_error *err)
{
        struct setting_value *sv = &s->v[key];
        const char *p = sv->raw;
        struct buf out;
        int r = 0;

        if (sv->value)
                return 0;
        busy[key] = true;
        buf_init(&out, SETTING_VALUE_MAX);
        while (*p) {
                const char *dollar = strchr(p, '$');
                char name[64];
                size_t n = 0;
                enum setting_key ref;

                if (!dollar)
                        dollar = p + strlen(p);
                r = buf_append(&out, p, (size_t)(dollar - p));
                if (r < 0 || !*dollar)
                        break;
                p = dollar + 1;
                if (*p == '$') {
                        r = buf_append_str(&out, "$");
                        if (r < 0)
                                break;
                        p++;
                        continue;
                }
                if (*p == '{' || *p == '(') {
                        char close = *p == '{' ? '}' : ')';

                        p++;
                        while (is_name_char(p[n]) && n < sizeof name - 1)
                                n++;
                        if (p[n] != close || n == 0) {
                                r = config_error_set(err,
                                                     "%s: parameter '%s': bad $%c...%c reference",
                                                     sv->origin, defs[key].name,
                                                     close == '}' ? '{' : '(', close);
                                goto out;
                        }
                        memcpy(name, p, n);
                        name[n] = '\0';
                        p += n + 1;
                } else {
                        while (is_name_char(p[n]) && n < sizeof name - 1)
                                n++;
                        if (n == 0) {
                                r = config_error_set(
                                        err,
                                        "%s: parameter '%s': '$' must be followed by a parameter name (write $$ for a dollar sign)",
                                        sv->origin, defs[key].name);
                                goto out;
                        }
                        memcpy(name, p, n);
                        name[n] = '\0';
                        p += n;
                }
                ref = settings_key_from_name(name);
                if (ref == SETTING_INVALID) {
                        r = config_error_set(err,
                                             "%s: parameter '%s': unknown parameter '$%s' in value",
                                             sv->origin, defs[key].name, name);
                        goto out;
                }
                if (ref == key) {
                        r = config_error_set(err, "%s: parameter '%s': refers to itself",
                                             sv->origin, defs[key].name);
                        goto out;
                }
                if (busy[ref]) {
                        r = config_error_set(err,
                                             "%s: parameter '%s': $%s refers back to it (a loop)",
                                             sv->origin, defs[key].name, name);
                        goto out;
                }
                r = expand(s, ref, busy, err);
                if (r < 0)
                        goto out;
                r = buf_append_str(&out, s->v[ref].value);
                if (r < 0)
                        break;
        }
        if (r == -EFBIG)
                r = config_error_set(err, "%s: parameter '%s': value too long after expansion",
                                     sv->origin, defs[key].name);
        if (r < 0)
                goto out;
        sv->value = out.data ? buf_take(&out, NULL) : strdup("");
        if (!sv->value)
                r = -ENOMEM;
out:
        buf_done(&out);
        busy[key] = false;
        return r;
}

static bool region_is_valid(const char *v)
{
        size_t n = strlen(v);

        if (n < 3 || n > 32)
                return false;
        for (const char *p = v; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
                        return false;
        return v[0] != '-' && v[n - 1] != '-';
}

static bool enum_is_valid(const char *choices, const char *v)
{
        size_t n = strlen(v);
        const char *p = choices;

        while (p && *p) {
                const char *bar = strchr(p, '|');
                size_t len = bar ? (size_t)(bar - p) : strlen(p);

                if (len == n && memcmp(p, v, n) == 0)
                        return true;
                p = bar ? bar + 1 : NULL;
        }
        return false;
}

/* check_list - every item of a list value passes item_ok; ret_bad names the first bad one */
static bool check_list(const char *v, int (*item_ok)(const char *, size_t), char *bad,
                       size_t bad_size)
{
        const char *state = v, *item;
        size_t len;

        while ((item = list_next(&state, &len))) {
                if (!item_ok(item, len)) {
                        (void)snprintf(bad, bad_size, "%.*s", (int)(len > 200 ? 200 : len), item);
                        return false;
                }
        }
        return true;
}

static int listen_item_ok(const char *item, size_t len)
{
        struct listen_address la;

        return listen_address_parse(item, len, &la) == 0;
}

static int network_item_ok(const char *item, size_t len)
{
        struct network n;

        return network_parse(item, len, &n) == 0;
}

/* name_item_ok - a login name: letters, digits, '.', '_', '-', not starting with '-' or '.' */
static int name_item_ok(const char *item, size_t len)
{
        static const char allowed[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";

        if (len == 0 || len > 64 || item[0] == '-' || item[0] == '.')
                return 0;
        for (size_t i = 0; i < len; i++)
                if (!memchr(allowed, item[i], sizeof allowed - 1))
                        return 0;
        return 1;
}

static int unit_item_ok(const char *item, size_t len)
{
        return systemd_unit_name_is_valid(item, len);
}

/* check_value - validate the expanded value of key; fills err on failure */
static int check_value(struct settings *s, enum setting_key key, struct config_error *err)
{
        const struct setting_def *d = &defs[key];
        struct setting_value *sv = &s->v[key];
        const char *v = sv->value;
        struct relayhost rh;
        char bad[256];
        bool b;

#define FAIL(...) config_error_set(err, "%s: parameter '%s': " __VA_ARGS__)
        switch (d->type) {
        case TYPE_STRING:
                return 0;
        case TYPE_ENUM:
                if (!enum_is_valid(d->choices, v))
                        return FAIL("'%s' is not one of %s", sv->origin, d->name, v, d->choices);
                return 0;
        case TYPE_DURATION:
                if (parse_duration(v, d->choices[0], &s->u64[key]) < 0)
                        return FAIL("'%s' is not a time value (a number with unit s, m, h, d or w)",
                                    sv->origin, d->name, v);
                return 0;
        case TYPE_SIZE:
                if (parse_size(v, &s->u64[key]) < 0)
                        return FAIL("'%s' is not a size in bytes", sv->origin, d->name, v);
                return 0;
        case TYPE_RATE:
                if (parse_rate(v, &s->rate[key]) < 0)
                        return FAIL("'%s' is not a non-negative number", sv->origin, d->name, v);
                return 0;
        case TYPE_BOOL:
                if (parse_bool(v, &b) < 0)
                        return FAIL("'%s' is not yes or no", sv->origin, d->name, v);
                s->u64[key] = b;
                return 0;
        case TYPE_DOMAIN:
                if (*v && !domain_is_valid(v))
                        return FAIL(
                                "'%s' is not a valid domain name%s", sv->origin, d->name, v,
                                strchr(v, '#')
                                        ? " ('#' starts a comment only at the beginning of a line)"
                                        : "");
                return 0;
        case TYPE_REGION:
                if (*v && !region_is_valid(v))
                        return FAIL("'%s' is not an AWS region name", sv->origin, d->name, v);
                return 0;
        case TYPE_RELAYHOST:
                if (s->region_optional && !*settings_get(s, SETTING_REGION))
                        return 0;
                if (!*settings_get(s, SETTING_REGION) &&
                    (strstr(sv->raw, "$region") || strstr(sv->raw, "${region}") ||
                     strstr(sv->raw, "$(region)")))
                        return FAIL(
                                "needs the region, which is not set (no instance metadata, no AWS_REGION, no 'region' parameter)",
                                sv->origin, d->name);
                if (relayhost_parse(v, &rh) < 0) {
                        if (strstr(v, "..") || strstr(v, "[."))
                                return FAIL("'%s' is not a valid relayhost (is region set?)",
                                            sv->origin, d->name, v);
                        return FAIL("'%s' is not a valid relayhost ([host]:port)", sv->origin,
                                    d->name, v);
                }
                return 0;
        case TYPE_ADDRESS:
                /* A default like postmaster@$myorigin stays incomplete until mydomain is
                 * set; whoever sends mail checks that it is complete. */
                if (*v && !mail_address_is_valid(v, false) &&
                    !(sv->source == SETTING_SOURCE_DEFAULT && v[strlen(v) - 1] == '@'))
                        return FAIL("'%s' is not a mail address (local@domain)", sv->origin,
                                    d->name, v);
                return 0;
        case TYPE_LISTEN_LIST:
                if (!check_list(v, listen_item_ok, bad, sizeof bad))
                        return FAIL("'%s' is not an address:port (127.0.0.1:25, [::1]:25)",
                                    sv->origin, d->name, bad);
                return 0;
        case TYPE_NETWORK_LIST:
                if (!check_list(v, network_item_ok, bad, sizeof bad))
                        return FAIL("'%s' is not a network (127.0.0.0/8, [::1]/128)", sv->origin,
                                    d->name, bad);
                return 0;
        case TYPE_NAME_LIST:
                if (!check_list(v, name_item_ok, bad, sizeof bad))
                        return FAIL("'%s' is not a login name", sv->origin, d->name, bad);
                return 0;
        case TYPE_UNIT_LIST:
                if (!check_list(v, unit_item_ok, bad, sizeof bad))
                        return FAIL("'%s' is not a systemd unit name", sv->origin, d->name, bad);
                return 0;
        case TYPE_PATH:
                if (v[0] != '/')
                        return FAIL("'%s' is not an absolute path", sv->origin, d->name, v);
                return 0;
        case TYPE_OPTIONAL_PATH:
                if (*v && v[0] != '/')
                        return FAIL("'%s' is not an absolute path", sv->origin, d->name, v);
                return 0;
        case TYPE_NAME:
                if (!*v || strlen(v) > 64 || v[0] == '.' ||
                    strspn(v,
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
                            strlen(v))
                        return FAIL("'%s' is not a name (letters, digits, '.', '_', '-')",
                                    sv->origin, d->name, v);
                return 0;
        case TYPE_SECRET_ID:
                if (strlen(v) > SECRET_ID_MAX)
                        return FAIL("longer than %d characters", sv->origin, d->name,
                                    SECRET_ID_MAX);
                return 0;
        }
#undef FAIL
        return 0;
}

void settings_allow_missing_region(struct settings *s)
{
        s->region_optional = true;
}

/* check_relay_tls - relay_tls = none sends the password in clear: only to loopback */
static int check_relay_tls(const struct settings *s, struct config_error *err)
{
        const struct setting_value *tls = &s->v[SETTING_RELAY_TLS];
        struct relayhost rh;

        if (strcmp(tls->value, "none") != 0)
                return 0;
        if (relayhost_parse(s->v[SETTING_RELAYHOST].value, &rh) < 0)
                return 0; /* unresolved (no region yet): checked when it is resolved */
        if (relayhost_is_loopback(&rh))
                return 0;
        return config_error_set(
                err,
                "%s: parameter 'relay_tls': 'none' is refused towards %s: without TLS the SMTP password would cross the network in clear (only a loopback relayhost may use it)",
                tls->origin, rh.host);
}

/* check_smtpd - the relay's STARTTLS needs both files; its AUTH needs STARTTLS, so that no
 * client password crosses the network in clear */
static int check_smtpd(const struct settings *s, struct config_error *err)
{
        const struct setting_value *cert = &s->v[SETTING_SMTPD_TLS_CERT_FILE],
                                   *key = &s->v[SETTING_SMTPD_TLS_KEY_FILE],
                                   *sasl = &s->v[SETTING_SMTPD_SASL_AUTH_ENABLE];

        if (!*cert->value != !*key->value) {
                const struct setting_value *set = *cert->value ? cert : key;

                return config_error_set(
                        err,
                        "%s: parameter '%s': smtpd_tls_cert_file and smtpd_tls_key_file go together (set both for STARTTLS, or neither)",
                        set->origin, set == cert ? "smtpd_tls_cert_file" : "smtpd_tls_key_file");
        }
        if (s->u64[SETTING_SMTPD_SASL_AUTH_ENABLE] && !*cert->value)
                return config_error_set(
                        err,
                        "%s: parameter 'smtpd_sasl_auth_enable': 'yes' needs smtpd_tls_cert_file and smtpd_tls_key_file: AUTH is offered only after STARTTLS",
                        sasl->origin);
        return 0;
}

int settings_finalize(struct settings *s, struct config_error *err)
{
        struct setting_value *units = &s->v[SETTING_RESTART_UNITS];
        bool busy[SETTING_MAX] = {false};
        int r;

        if (units->source == SETTING_SOURCE_DEFAULT) {
                const char *mode = s->v[SETTING_MODE].raw;
                char *d = strdup(strcmp(mode, "postfix") == 0 ? "postfix.service"
                                                              : "mailinit-relay.service");

                if (!d)
                        return -ENOMEM;
                free(units->raw);
                units->raw = d;
        }
        for (int i = 0; i < SETTING_MAX; i++) {
                free(s->v[i].value);
                s->v[i].value = NULL;
        }
        for (int i = 0; i < SETTING_MAX; i++) {
                r = expand(s, (enum setting_key)i, busy, err);
                if (r < 0)
                        return r == -ENOMEM ? r : -EINVAL;
        }
        for (int i = 0; i < SETTING_MAX; i++) {
                r = check_value(s, (enum setting_key)i, err);
                if (r < 0)
                        return r;
        }
        r = check_relay_tls(s, err);
        if (r < 0)
                return r;
        r = check_smtpd(s, err);
        if (r < 0)
                return r;
        s->finalized = true;
        return 0;
}

const char *settings_get(const struct settings *s, enum setting_key key)
{
        return s->v[key].value ? s->v[key].value : s->v[key].raw;
}

enum setting_source settings_source(const struct settings *s, enum setting_key key)
{
        return s->v[key].source;
}

const char *settings_origin(const struct settings *s, enum setting_key key)
{
        return s->v[key].origin;
}

uint64_t settings_get_u64(const struct settings *s, enum setting_key key)
{
        return s->u64[key];
}

double settings_get_rate(const struct settings *s, enum setting_key key)
{
        return s->rate[key];
}

int settings_get_bool(const struct settings *s, enum setting_key key)
{
        return s->u64[key] != 0;
}

void settings_print(const struct settings *s, FILE *out)
{
        for (int i = 0; i < SETTING_MAX; i++) {
                const struct setting_value *sv = &s->v[i];
                char *line = NULL, *masked;
                /* masked before padding: the columns must not tell a secret's length */
                char *value = secret_mask_apply(settings_get(s, i));

                if (!value || asprintf(&line, "%-23s = %-40s # %s (%s)", defs[i].name, value,
                                       setting_source_name(sv->source), sv->origin) < 0) {
                        free(value);
                        continue;
                }
                masked = secret_mask_apply(line);
                if (masked)
                        fprintf(out, "%s\n", masked);
                free(masked);
                free(line);
                free(value);
        }
}

json_t *settings_to_json(const struct settings *s)
{
        json_t *root = json_object();

        if (!root)
                return NULL;
        for (int i = 0; i < SETTING_MAX; i++) {
                const struct setting_value *sv = &s->v[i];
                char *masked = secret_mask_apply(settings_get(s, i));
                json_t *item = json_pack("{s:s, s:s, s:s}", "value", masked ? masked : "", "source",
                                         setting_source_name(sv->source), "origin", sv->origin);

                free(masked);
                if (!item || json_object_set_new(root, defs[i].name, item) < 0) {
                        json_decref(root);
                        return NULL;
                }
        }
        return root;
}
