/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "config.h"

/* The configuration keys of the SPEC, their defaults and types, and the merge of the
 * sources: built-in defaults < metadata/environment-derived defaults < mailinit.conf <
 * instance tags < user-data. Each value remembers where it came from. */

enum setting_key {
        SETTING_MODE,
        SETTING_SECRET_ID,
        SETTING_REGION,
        SETTING_RELAYHOST,
        SETTING_RELAY_TLS,
        SETTING_TLS_CA_FILE,
        SETTING_MYDOMAIN,
        SETTING_MYORIGIN,
        SETTING_MYHOSTNAME,
        SETTING_LISTEN,
        SETTING_MYNETWORKS,
        SETTING_NOTIFY_TO,
        SETTING_NOTIFY_FROM,
        SETTING_MAX_SEND_RATE,
        SETTING_MESSAGE_SIZE_LIMIT,
        SETTING_MINIMAL_BACKOFF_TIME,
        SETTING_MAXIMAL_BACKOFF_TIME,
        SETTING_MAXIMAL_QUEUE_LIFETIME,
        SETTING_RESTART_UNITS,
        SETTING_CREDENTIALS_FILE,
        SETTING_SPOOL_DIR,
        SETTING_STATE_DIR,
        SETTING_POSTFIX_DIR,
        SETTING_IMDS_V1_FALLBACK,
        SETTING_SMTPD_TLS_CERT_FILE, /* the built-in relay's STARTTLS for its clients */
        SETTING_SMTPD_TLS_KEY_FILE,
        SETTING_SMTPD_SASL_AUTH_ENABLE, /* its AUTH (Cyrus SASL server), only after STARTTLS */
        SETTING_SMTPD_SASL_PATH,        /* Cyrus application name: <config_dir>/<name>.conf */
        SETTING_SMTPD_SASL_CONFIG_DIR,
        SETTING_MAIL_OWNER,              /* the system user the relay runs as */
        SETTING_SETGID_GROUP,            /* group of the maildrop and of the postdrop helper */
        SETTING_TRUSTED_USERS,           /* users whose sendmail -f may name any sender */
        SETTING_AUTHORIZED_SUBMIT_USERS, /* users who may submit with sendmail; empty: anyone */
        SETTING_MAX,
        SETTING_INVALID = -1,
};

enum setting_source {
        SETTING_SOURCE_DEFAULT,
        SETTING_SOURCE_METADATA,    /* a default taken from IMDS (region, local-hostname) */
        SETTING_SOURCE_ENVIRONMENT, /* AWS_REGION / AWS_DEFAULT_REGION */
        SETTING_SOURCE_FILE,
        SETTING_SOURCE_TAG,
        SETTING_SOURCE_USERDATA,
        SETTING_SOURCE_MAX,
};

struct settings;

/* settings_new - every key at its built-in default. NULL on ENOMEM. */
struct settings *settings_new(void);
struct settings *settings_free(struct settings *s);

/* settings_key_from_name - the key for a name, or SETTING_INVALID. */
enum setting_key settings_key_from_name(const char *name);
const char *settings_key_name(enum setting_key key);
const char *setting_source_name(enum setting_source source);

/* settings_set - record a raw (unexpanded) value from source; origin names where it was
 * found ("/etc/mailinit/mailinit.conf:12", "tag mailinit:mode", "user-data"). A source
 * lower than the key's current one is ignored (returns 0). Unknown name: -ENOENT with err
 * "ORIGIN: unknown parameter 'NAME'". Values with control characters: -EINVAL. */
int settings_set(struct settings *s, const char *name, const char *value,
                 enum setting_source source, const char *origin, struct config_error *err);

/* settings_apply_file - settings_set for every entry of a parsed mailinit.conf. */
int settings_apply_file(struct settings *s, const struct config_file *f, struct config_error *err);

/* settings_apply_json - settings_set for every member of a JSON object (user-data's
 * "mailinit" object). Strings, numbers and booleans are taken as text; arrays of strings are
 * joined with ", "; anything else is -EINVAL naming "ORIGIN: mailinit.KEY". */
int settings_apply_json(struct settings *s, json_t *object, enum setting_source source,
                        const char *origin, struct config_error *err);

/* settings_finalize - expand $name references (Postfix: $name, ${name}, $(name), $$ for a
 * dollar), fill the mode-dependent defaults, and check every value's type. Errors name the
 * origin and the key. Returns 0 or -EINVAL. */
int settings_finalize(struct settings *s, struct config_error *err);

/* settings_allow_missing_region - for commands that never contact AWS (status, clean, the
 * relay's queue): a relayhost that needs $region is not checked while region is unset. */
void settings_allow_missing_region(struct settings *s);

/* Accessors; valid after settings_finalize(). Strings are borrowed. */
const char *settings_get(const struct settings *s, enum setting_key key);
enum setting_source settings_source(const struct settings *s, enum setting_key key);
const char *settings_origin(const struct settings *s, enum setting_key key);
uint64_t settings_get_u64(const struct settings *s,
                          enum setting_key key); /* sizes, durations (s) */
double settings_get_rate(const struct settings *s, enum setting_key key);
int settings_get_bool(const struct settings *s, enum setting_key key);

/* settings_print - "key = value  # source (origin)" for every key, masked for secrets. */
void settings_print(const struct settings *s, FILE *out);

/* settings_to_json - {"key": {"value": ..., "source": ..., "origin": ...}} (new reference). */
json_t *settings_to_json(const struct settings *s);
