/* SPDX-License-Identifier: MIT */
/*
 * test_settings - the configuration table and merge (common/settings.c): the defaults of
 * the SPEC "Configuration" table (copied here by hand from the SPEC, not from settings.c),
 * the precedence of sources in every order they can be applied, origins, Postfix-style
 * $name expansion, user-data JSON, and each type's validation message word for word.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "config.h"
#include "secret_mask.h"
#include "settings.h"

#define FILE_LABEL "test.conf"
#define REGION     "eu-west-1"

/* apply_text - parse text as FILE_LABEL and apply it; returns settings_apply_file's result */
static int apply_text(struct settings *s, const char *text, struct config_error *err)
{
        struct config_file *f = NULL;
        int r;

        r = config_parse(FILE_LABEL, text, strlen(text), &f, err);
        if (r < 0)
                fail_msg("config_parse(\"%s\"): r=%d: %s", text, r, err->message);
        r = settings_apply_file(s, f, err);
        config_file_free(f);
        return r;
}

/* new_with_region - settings with the region as the instance metadata would give it */
static struct settings *new_with_region(void)
{
        struct config_error err = {.message = ""};
        struct settings *s = settings_new();

        assert_non_null(s);
        assert_int_equal(settings_set(s, "region", REGION, SETTING_SOURCE_METADATA,
                                      "instance metadata", &err),
                         0);
        return s;
}

/* finalized - new_with_region + text from a file, finalized; the test fails on any error */
static struct settings *finalized(const char *text)
{
        struct config_error err = {.message = ""};
        struct settings *s = new_with_region();
        int r;

        r = apply_text(s, text, &err);
        if (r < 0)
                fail_msg("settings_apply_file(\"%s\"): r=%d: %s", text, r, err.message);
        r = settings_finalize(s, &err);
        if (r < 0)
                fail_msg("settings_finalize(\"%s\"): r=%d: %s", text, r, err.message);
        return s;
}

/* finalize_fails - text from a file must be refused by settings_finalize with want */
static void finalize_fails(const char *text, const char *want)
{
        struct config_error err = {.message = "untouched"};
        struct settings *s = new_with_region();
        int r;

        r = apply_text(s, text, &err);
        if (r < 0)
                fail_msg("settings_apply_file(\"%s\"): r=%d: %s", text, r, err.message);
        r = settings_finalize(s, &err);
        if (r != -EINVAL)
                fail_msg("settings_finalize(\"%s\"): got r=%d, want -EINVAL (message \"%s\")", text,
                         r, err.message);
        if (strcmp(err.message, want) != 0)
                fail_msg("settings_finalize(\"%s\"):\n  got  \"%s\"\n  want \"%s\"", text,
                         err.message, want);
        settings_free(s);
}

static void want_value(const struct settings *s, enum setting_key key, const char *want)
{
        const char *got = settings_get(s, key);

        if (!got || strcmp(got, want) != 0)
                fail_msg("%s: got \"%s\", want \"%s\"", settings_key_name(key),
                         got ? got : "(null)", want);
}

static void test_key_names(void **state)
{
        (void)state;
        assert_int_equal(settings_key_from_name("mode"), SETTING_MODE);
        assert_int_equal(settings_key_from_name("imds_v1_fallback"), SETTING_IMDS_V1_FALLBACK);
        assert_int_equal(settings_key_from_name("Mode"), SETTING_INVALID);
        assert_int_equal(settings_key_from_name(""), SETTING_INVALID);
        assert_int_equal(settings_key_from_name("relay_host"), SETTING_INVALID);
        assert_string_equal(settings_key_name(SETTING_MAXIMAL_QUEUE_LIFETIME),
                            "maximal_queue_lifetime");
        assert_null(settings_key_name(SETTING_MAX));
        assert_null(settings_key_name(SETTING_INVALID));
        for (int i = 0; i < SETTING_MAX; i++)
                assert_int_equal(settings_key_from_name(settings_key_name(i)), i);
        assert_string_equal(setting_source_name(SETTING_SOURCE_DEFAULT), "default");
        assert_string_equal(setting_source_name(SETTING_SOURCE_METADATA), "metadata");
        assert_string_equal(setting_source_name(SETTING_SOURCE_ENVIRONMENT), "environment");
        assert_string_equal(setting_source_name(SETTING_SOURCE_FILE), "file");
        assert_string_equal(setting_source_name(SETTING_SOURCE_TAG), "tag");
        assert_string_equal(setting_source_name(SETTING_SOURCE_USERDATA), "user-data");
        assert_string_equal(setting_source_name(SETTING_SOURCE_MAX), "?");
        assert_null(settings_free(NULL));
}

/* The SPEC "Configuration" table, with the region from instance metadata and nothing else
 * set. An entry per key: a key added without a default here makes this test fail. */
static const struct {
        const char *name;
        const char *value;
} spec_defaults[] = {
        {"mode", "builtin"},
        {"secret_id", ""},
        {"region", REGION},
        {"relayhost", "[email-smtp.eu-west-1.amazonaws.com]:587"},
        {"relay_tls", "starttls"},
        {"tls_ca_file", NULL}, /* the system bundle: checked separately */
        {"mydomain", ""},
        {"myorigin", ""}, /* $mydomain */
        {"myhostname", ""},
        {"listen", "127.0.0.1:25, [::1]:25"},
        {"mynetworks", "127.0.0.0/8, [::1]/128"},
        {"notify_to", ""},
        {"notify_from", "postmaster@"}, /* postmaster@$myorigin, incomplete until mydomain */
        {"max_send_rate", "0"},
        {"message_size_limit", "10240000"},
        {"minimal_backoff_time", "300s"},
        {"maximal_backoff_time", "4000s"},
        {"maximal_queue_lifetime", "5d"},
        {"restart_units", "mailinit-relay.service"},
        {"credentials_file", "/etc/mailinit/credentials"},
        {"spool_dir", "/var/spool/mailinit"},
        {"state_dir", "/var/lib/mailinit"},
        {"postfix_dir", "/etc/postfix"},
        {"imds_v1_fallback", "no"}, /* not in the SPEC table: IMDSv2 only by default */
        /* the built-in relay's STARTTLS and AUTH for its clients: off by default */
        {"smtpd_tls_cert_file", ""},
        {"smtpd_tls_key_file", ""},
        {"smtpd_sasl_auth_enable", "no"},
        {"smtpd_sasl_path", "mailinit"},
        {"smtpd_sasl_config_dir", "/etc/mailinit/sasl2"},
        /* local submission (sendmail, the maildrop) */
        {"mail_owner", "mailinit"},
        {"setgid_group", "mailinit-drop"},
        {"trusted_users", "root, mailinit"}, /* root, $mail_owner */
        {"authorized_submit_users", ""},     /* anyone */
};

static void test_defaults(void **state)
{
        struct settings *s = finalized("");
        const char *ca;

        (void)state;
        assert_int_equal(sizeof spec_defaults / sizeof spec_defaults[0], SETTING_MAX);
        for (size_t i = 0; i < sizeof spec_defaults / sizeof spec_defaults[0]; i++) {
                enum setting_key key = settings_key_from_name(spec_defaults[i].name);

                if (key == SETTING_INVALID)
                        fail_msg("SPEC key '%s' is unknown", spec_defaults[i].name);
                if (spec_defaults[i].value)
                        want_value(s, key, spec_defaults[i].value);
                if (key == SETTING_REGION) {
                        assert_int_equal(settings_source(s, key), SETTING_SOURCE_METADATA);
                        assert_string_equal(settings_origin(s, key), "instance metadata");
                        continue;
                }
                if (settings_source(s, key) != SETTING_SOURCE_DEFAULT)
                        fail_msg("%s: got source %s, want default", spec_defaults[i].name,
                                 setting_source_name(settings_source(s, key)));
                assert_string_equal(settings_origin(s, key), "built-in");
        }
        ca = settings_get(s, SETTING_TLS_CA_FILE);
        if (strcmp(ca, "/etc/ssl/certs/ca-certificates.crt") != 0 &&
            strcmp(ca, "/etc/pki/tls/certs/ca-bundle.crt") != 0)
                fail_msg("tls_ca_file: got \"%s\", want a system CA bundle", ca);

        /* the typed values */
        assert_true(settings_get_u64(s, SETTING_MESSAGE_SIZE_LIMIT) == 10240000);
        assert_true(settings_get_u64(s, SETTING_MINIMAL_BACKOFF_TIME) == 300);
        assert_true(settings_get_u64(s, SETTING_MAXIMAL_BACKOFF_TIME) == 4000);
        assert_true(settings_get_u64(s, SETTING_MAXIMAL_QUEUE_LIFETIME) == 432000);
        assert_true(settings_get_rate(s, SETTING_MAX_SEND_RATE) == 0.0);
        assert_int_equal(settings_get_bool(s, SETTING_IMDS_V1_FALLBACK), 0);
        settings_free(s);
}

static void test_defaults_follow_mydomain(void **state)
{
        struct settings *s = finalized("mydomain = example.com\n");

        (void)state;
        want_value(s, SETTING_MYORIGIN, "example.com");
        want_value(s, SETTING_NOTIFY_FROM, "postmaster@example.com");
        assert_int_equal(settings_source(s, SETTING_MYORIGIN), SETTING_SOURCE_DEFAULT);
        settings_free(s);

        s = finalized("mydomain = example.com\nmyorigin = mail.example.org\n");
        want_value(s, SETTING_NOTIFY_FROM, "postmaster@mail.example.org");
        settings_free(s);
}

static void test_relayhost_follows_region(void **state)
{
        struct config_error err = {.message = ""};
        struct settings *s = settings_new();

        (void)state;
        assert_non_null(s);
        assert_int_equal(settings_set(s, "region", "ap-southeast-2", SETTING_SOURCE_ENVIRONMENT,
                                      "AWS_REGION", &err),
                         0);
        assert_int_equal(settings_finalize(s, &err), 0);
        want_value(s, SETTING_RELAYHOST, "[email-smtp.ap-southeast-2.amazonaws.com]:587");
        settings_free(s);
}

static void test_region_missing(void **state)
{
        struct config_error err = {.message = ""};
        struct settings *s = settings_new();

        (void)state;
        assert_non_null(s);
        assert_int_equal(settings_finalize(s, &err), -EINVAL);
        assert_string_equal(err.message,
                            "built-in: parameter 'relayhost': needs the region, which is not set "
                            "(no instance metadata, no AWS_REGION, no 'region' parameter)");
        settings_free(s);

        /* an explicit relayhost needs no region, even one whose name has "region" in it */
        s = settings_new();
        assert_non_null(s);
        assert_int_equal(apply_text(s, "relayhost = [smtp.region1.example.com]:587\n", &err), 0);
        if (settings_finalize(s, &err) != 0)
                fail_msg("settings_finalize: %s", err.message);
        want_value(s, SETTING_RELAYHOST, "[smtp.region1.example.com]:587");
        want_value(s, SETTING_REGION, "");
        settings_free(s);
}

/* relay_tls = none would send the SMTP password in clear: refused unless the relayhost is
 * on loopback; and a relayhost left unresolved is not checked while region is optional. */
static void test_relay_tls_none(void **state)
{
        static const struct {
                const char *text;
                int want_r;
        } cases[] = {
                {"relay_tls = none\n", -EINVAL},
                {"relay_tls = none\nrelayhost = [10.0.0.5]:25\n", -EINVAL},
                {"relay_tls = none\nrelayhost = [127.0.0.1]:2525\n", 0},
                {"relay_tls = none\nrelayhost = [ipv6:::1]:25\n", 0},
                {"relay_tls = none\nrelayhost = localhost:25\n", 0},
                {"relay_tls = starttls\nrelayhost = [10.0.0.5]:25\n", 0},
        };

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct config_error err = {.message = ""};
                struct settings *s = new_with_region();

                assert_int_equal(apply_text(s, cases[i].text, &err), 0);
                print_message("%s-> %s\n", cases[i].text, err.message);
                assert_int_equal(settings_finalize(s, &err), cases[i].want_r);
                if (cases[i].want_r < 0)
                        assert_non_null(strstr(
                                err.message,
                                "test.conf:1: parameter 'relay_tls': 'none' is refused towards"));
                settings_free(s);
        }
        {
                struct config_error err = {.message = ""};
                struct settings *s = settings_new();

                settings_allow_missing_region(s);
                assert_int_equal(settings_finalize(s, &err), 0);
                settings_free(s);
        }
}

static void test_restart_units_by_mode(void **state)
{
        struct config_error err = {.message = ""};
        struct settings *s;

        (void)state;
        s = finalized("mode = postfix\n");
        want_value(s, SETTING_RESTART_UNITS, "postfix.service");
        assert_int_equal(settings_source(s, SETTING_RESTART_UNITS), SETTING_SOURCE_DEFAULT);
        /* a later source changes the mode: the default follows on the next finalize */
        assert_int_equal(
                settings_set(s, "mode", "builtin", SETTING_SOURCE_USERDATA, "user-data", &err), 0);
        assert_int_equal(settings_finalize(s, &err), 0);
        want_value(s, SETTING_RESTART_UNITS, "mailinit-relay.service");
        settings_free(s);

        s = finalized("mode = builtin\n");
        want_value(s, SETTING_RESTART_UNITS, "mailinit-relay.service");
        settings_free(s);

        /* set explicitly, it does not depend on the mode */
        s = finalized("mode = postfix\nrestart_units = postfix.service, opendkim.service\n");
        want_value(s, SETTING_RESTART_UNITS, "postfix.service, opendkim.service");
        settings_free(s);
        s = finalized("restart_units =\n");
        want_value(s, SETTING_RESTART_UNITS, "");
        settings_free(s);
}

static void test_typed_values(void **state)
{
        static const struct {
                const char *text;
                enum setting_key key;
                uint64_t want;
        } cases[] = {
                {"maximal_queue_lifetime = 3", SETTING_MAXIMAL_QUEUE_LIFETIME, 259200},
                {"maximal_queue_lifetime = 12h", SETTING_MAXIMAL_QUEUE_LIFETIME, 43200},
                {"maximal_queue_lifetime = 1w", SETTING_MAXIMAL_QUEUE_LIFETIME, 604800},
                {"minimal_backoff_time = 5", SETTING_MINIMAL_BACKOFF_TIME, 5},
                {"minimal_backoff_time = 5m", SETTING_MINIMAL_BACKOFF_TIME, 300},
                {"maximal_backoff_time = 2h", SETTING_MAXIMAL_BACKOFF_TIME, 7200},
                {"message_size_limit = 0", SETTING_MESSAGE_SIZE_LIMIT, 0},
                {"message_size_limit = 52428800", SETTING_MESSAGE_SIZE_LIMIT, 52428800},
                {"message_size_limit = 10m", SETTING_MESSAGE_SIZE_LIMIT, 10485760},
                {"imds_v1_fallback = yes", SETTING_IMDS_V1_FALLBACK, 1},
                {"imds_v1_fallback = off", SETTING_IMDS_V1_FALLBACK, 0},
                {"smtpd_tls_cert_file = /c.pem\nsmtpd_tls_key_file = /k.pem\n"
                 "smtpd_sasl_auth_enable = yes\n",
                 SETTING_SMTPD_SASL_AUTH_ENABLE, 1},
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct settings *s = finalized(cases[i].text);
                uint64_t got = settings_get_u64(s, cases[i].key);

                if (got != cases[i].want)
                        fail_msg("\"%s\": got %llu, want %llu", cases[i].text,
                                 (unsigned long long)got, (unsigned long long)cases[i].want);
                settings_free(s);
        }
        {
                struct settings *s = finalized("max_send_rate = 14\n");

                assert_true(settings_get_rate(s, SETTING_MAX_SEND_RATE) == 14.0);
                settings_free(s);
                s = finalized("max_send_rate = 0.5\n");
                assert_true(settings_get_rate(s, SETTING_MAX_SEND_RATE) == 0.5);
                settings_free(s);
        }
}

/* Precedence: every non-empty subset of the non-default sources, applied in every order,
 * must end with the value of the highest source of the subset. */
static const enum setting_source sources[] = {
        SETTING_SOURCE_METADATA, SETTING_SOURCE_ENVIRONMENT, SETTING_SOURCE_FILE,
        SETTING_SOURCE_TAG,      SETTING_SOURCE_USERDATA,
};
#define N_SOURCES (sizeof sources / sizeof sources[0])

static void source_value(enum setting_source src, char *value, size_t vsize, char *origin,
                         size_t osize)
{
        (void)snprintf(value, vsize, "host-%d.example.com", (int)src);
        (void)snprintf(origin, osize, "origin of %s", setting_source_name(src));
}

static unsigned orders_checked;

static void check_order(const enum setting_source *order, size_t n)
{
        struct config_error err = {.message = ""};
        struct settings *s = new_with_region();
        enum setting_source want = SETTING_SOURCE_DEFAULT;
        char value[64], origin[64];

        for (size_t i = 0; i < n; i++) {
                source_value(order[i], value, sizeof value, origin, sizeof origin);
                assert_int_equal(settings_set(s, "myhostname", value, order[i], origin, &err), 0);
                if (order[i] > want)
                        want = order[i];
        }
        assert_int_equal(settings_finalize(s, &err), 0);
        source_value(want, value, sizeof value, origin, sizeof origin);
        if (strcmp(settings_get(s, SETTING_MYHOSTNAME), value) != 0 ||
            settings_source(s, SETTING_MYHOSTNAME) != want ||
            strcmp(settings_origin(s, SETTING_MYHOSTNAME), origin) != 0) {
                char got_order[128] = "";
                size_t used = 0;

                for (size_t i = 0; i < n && used < sizeof got_order; i++)
                        used += (size_t)snprintf(got_order + used, sizeof got_order - used, "%s ",
                                                 setting_source_name(order[i]));
                fail_msg("order [%s]: got \"%s\" from %s (%s), want \"%s\" from %s (%s)", got_order,
                         settings_get(s, SETTING_MYHOSTNAME),
                         setting_source_name(settings_source(s, SETTING_MYHOSTNAME)),
                         settings_origin(s, SETTING_MYHOSTNAME), value, setting_source_name(want),
                         origin);
        }
        settings_free(s);
        orders_checked++;
}

/* permute - check every order of order[k..n) */
static void permute(enum setting_source *order, size_t k, size_t n)
{
        if (k == n) {
                check_order(order, n);
                return;
        }
        for (size_t i = k; i < n; i++) {
                enum setting_source t = order[k];

                order[k] = order[i];
                order[i] = t;
                permute(order, k + 1, n);
                order[i] = order[k];
                order[k] = t;
        }
}

static void test_precedence_any_order(void **state)
{
        (void)state;
        orders_checked = 0;
        for (unsigned mask = 1; mask < (1u << N_SOURCES); mask++) {
                enum setting_source order[N_SOURCES];
                size_t n = 0;

                for (size_t i = 0; i < N_SOURCES; i++)
                        if (mask & (1u << i))
                                order[n++] = sources[i];
                permute(order, 0, n);
        }
        /* sum over subset sizes k of C(5,k) * k! */
        assert_int_equal(orders_checked, 5 * 1 + 10 * 2 + 10 * 6 + 5 * 24 + 1 * 120);
}

static void test_same_source_later_wins(void **state)
{
        struct settings *s = finalized("mode = postfix\nregion = us-east-1\nmode = builtin\n");

        (void)state;
        want_value(s, SETTING_MODE, "builtin");
        assert_int_equal(settings_source(s, SETTING_MODE), SETTING_SOURCE_FILE);
        assert_string_equal(settings_origin(s, SETTING_MODE), FILE_LABEL ":3");
        /* the file (above metadata) wins for the region */
        want_value(s, SETTING_REGION, "us-east-1");
        assert_string_equal(settings_origin(s, SETTING_REGION), FILE_LABEL ":2");
        want_value(s, SETTING_RELAYHOST, "[email-smtp.us-east-1.amazonaws.com]:587");
        settings_free(s);
}

static void test_origin_of_continued_line(void **state)
{
        struct settings *s = finalized("# comment\n\nmynetworks = 127.0.0.0/8,\n"
                                       "    10.0.0.0/8\nmode = postfix\n");

        (void)state;
        want_value(s, SETTING_MYNETWORKS, "127.0.0.0/8, 10.0.0.0/8");
        assert_string_equal(settings_origin(s, SETTING_MYNETWORKS), FILE_LABEL ":3");
        assert_string_equal(settings_origin(s, SETTING_MODE), FILE_LABEL ":5");
        settings_free(s);
}

static void test_expansion(void **state)
{
        static const struct {
                const char *text;
                enum setting_key key;
                const char *want;
        } cases[] = {
                {"mydomain = example.com\nmyorigin = mail.$mydomain\n", SETTING_MYORIGIN,
                 "mail.example.com"},
                {"mydomain = example.com\nmyhostname = mx.${mydomain}\n", SETTING_MYHOSTNAME,
                 "mx.example.com"},
                {"mydomain = example.com\nnotify_to = ops@$(mydomain)\n", SETTING_NOTIFY_TO,
                 "ops@example.com"},
                {"secret_id = cost$$center\n", SETTING_SECRET_ID, "cost$center"},
                {"secret_id = $$\n", SETTING_SECRET_ID, "$"},
                {"mydomain = example.com\nsecret_id = $$mydomain\n", SETTING_SECRET_ID,
                 "$mydomain"},
                {"mydomain = x.org\nsecret_id = a$$$mydomain\n", SETTING_SECRET_ID, "a$x.org"},
                {"secret_id = ses/$region/smtp\n", SETTING_SECRET_ID, "ses/eu-west-1/smtp"},
                {"secret_id = ${region}${region}\n", SETTING_SECRET_ID, "eu-west-1eu-west-1"},
                /* chains, written in any order */
                {"notify_from = alerts@$myorigin\nmyorigin = $mydomain\nmydomain = ex.com\n",
                 SETTING_NOTIFY_FROM, "alerts@ex.com"},
                {"mydomain = example.com\nrelayhost = [smtp.$mydomain]:2587\n", SETTING_RELAYHOST,
                 "[smtp.example.com]:2587"},
                /* the name ends at the first character that cannot be in a name */
                {"secret_id = $region.x-$region/y\n", SETTING_SECRET_ID, "eu-west-1.x-eu-west-1/y"},
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct settings *s = finalized(cases[i].text);
                const char *got = settings_get(s, cases[i].key);

                if (strcmp(got, cases[i].want) != 0)
                        fail_msg("\"%s\": %s: got \"%s\", want \"%s\"", cases[i].text,
                                 settings_key_name(cases[i].key), got, cases[i].want);
                settings_free(s);
        }
}

static void test_expansion_across_sources(void **state)
{
        struct config_error err = {.message = ""};
        struct settings *s = new_with_region();

        (void)state;
        assert_int_equal(apply_text(s, "myorigin = $mydomain\nmydomain = file.example\n", &err), 0);
        assert_int_equal(settings_set(s, "mydomain", "userdata.example", SETTING_SOURCE_USERDATA,
                                      "user-data", &err),
                         0);
        assert_int_equal(settings_finalize(s, &err), 0);
        /* late expansion over the merged values, as Postfix does */
        want_value(s, SETTING_MYORIGIN, "userdata.example");
        settings_free(s);
}

static void test_expansion_errors(void **state)
{
        static const struct {
                const char *text;
                const char *want;
        } cases[] = {
                {"secret_id = $nope\n",
                 FILE_LABEL ":1: parameter 'secret_id': unknown parameter '$nope' in value"},
                {"mode = builtin\nsecret_id = x${Region}\n",
                 FILE_LABEL ":2: parameter 'secret_id': unknown parameter '$Region' in value"},
                {"secret_id = ${mydomain\n",
                 FILE_LABEL ":1: parameter 'secret_id': bad ${...} reference"},
                {"secret_id = $(mydomain}\n",
                 FILE_LABEL ":1: parameter 'secret_id': bad $(...) reference"},
                {"secret_id = ${}\n", FILE_LABEL ":1: parameter 'secret_id': bad ${...} reference"},
                {"secret_id = ${my domain}\n",
                 FILE_LABEL ":1: parameter 'secret_id': bad ${...} reference"},
                {"secret_id = cost$\n",
                 FILE_LABEL ":1: parameter 'secret_id': '$' must be followed by a parameter name "
                            "(write $$ for a dollar sign)"},
                {"secret_id = a $ b\n",
                 FILE_LABEL ":1: parameter 'secret_id': '$' must be followed by a parameter name "
                            "(write $$ for a dollar sign)"},
                {"myorigin = $myorigin\n", FILE_LABEL ":1: parameter 'myorigin': refers to itself"},
                {"mode = builtin\nmyorigin = x.${myorigin}\n",
                 FILE_LABEL ":2: parameter 'myorigin': refers to itself"},
                /* a loop names a key in it and the reference that closes it */
                {"mydomain = $myorigin\nmyorigin = $mydomain\n",
                 FILE_LABEL ":2: parameter 'myorigin': $mydomain refers back to it (a loop)"},
                {"mydomain = a.$myhostname\nmyhostname = b.$(myorigin)\nmyorigin = c.${mydomain}\n",
                 FILE_LABEL ":3: parameter 'myorigin': $mydomain refers back to it (a loop)"},
                /* the error from a referenced key names that key, wherever it is used */
                {"myorigin = $mydomain\nmydomain = $bogus\n",
                 FILE_LABEL ":2: parameter 'mydomain': unknown parameter '$bogus' in value"},
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
                finalize_fails(cases[i].text, cases[i].want);
}

static void test_expansion_too_long(void **state)
{
        char *text = malloc(8192);
        size_t used;

        (void)state;
        assert_non_null(text);
        /* 400 references of 10 bytes each to a 101-byte value: 4000 bytes become 40400 */
        used = (size_t)snprintf(text, 8192, "state_dir = /%0100d\nsecret_id = ", 0);
        for (int i = 0; i < 400; i++) {
                memcpy(text + used, "$state_dir", 10);
                used += 10;
        }
        memcpy(text + used, "\n", 2);
        finalize_fails(text, FILE_LABEL ":2: parameter 'secret_id': value too long after "
                                        "expansion");
        free(text);
}

/* append_refs - "key = $ref$ref...\n" with count references, at text + used (size bytes) */
static size_t append_refs(char *text, size_t size, size_t used, const char *key, const char *ref,
                          unsigned count)
{
        int n = snprintf(text + used, size - used, "%s = ", key);

        assert_true(n > 0 && (size_t)n < size - used);
        used += (size_t)n;
        for (unsigned i = 0; i < count; i++) {
                n = snprintf(text + used, size - used, "$%s", ref);
                assert_true(n > 0 && (size_t)n < size - used);
                used += (size_t)n;
        }
        assert_true(used + 2 <= size);
        text[used++] = '\n';
        text[used] = '\0';
        return used;
}

static void test_expansion_is_not_exponential(void **state)
{
        /* secret_id -> myorigin -> mydomain -> myhostname -> notify_to (empty), each with
         * hundreds of references: expanding each reference anew would take 300^4 steps. */
        size_t size = 32768, used = 0;
        char *text = malloc(size);
        struct settings *s;

        (void)state;
        assert_non_null(text);
        used = append_refs(text, size, used, "secret_id", "myorigin", 300);
        used = append_refs(text, size, used, "myorigin", "mydomain", 300);
        used = append_refs(text, size, used, "mydomain", "myhostname", 300);
        (void)append_refs(text, size, used, "myhostname", "notify_to", 300);
        s = finalized(text);
        want_value(s, SETTING_SECRET_ID, "");
        want_value(s, SETTING_MYORIGIN, "");
        settings_free(s);
        free(text);
}

static void test_unknown_key_in_file(void **state)
{
        struct config_error err = {.message = ""};
        struct settings *s = settings_new();

        (void)state;
        assert_non_null(s);
        assert_int_equal(apply_text(s, "mode = builtin\n\nrelay_host = [x]:25\n", &err), -ENOENT);
        assert_string_equal(err.message, FILE_LABEL ":3: unknown parameter 'relay_host'");
        /* entries before the bad one were applied, the key after it was not */
        want_value(s, SETTING_MODE, "builtin");
        assert_int_equal(settings_source(s, SETTING_MODE), SETTING_SOURCE_FILE);
        settings_free(s);

        s = settings_new();
        assert_non_null(s);
        assert_int_equal(
                settings_set(s, "bogus", "1", SETTING_SOURCE_TAG, "tag mailinit:bogus", &err),
                -ENOENT);
        assert_string_equal(err.message, "tag mailinit:bogus: unknown parameter 'bogus'");
        settings_free(s);
}

static void test_set_refuses_bad_text(void **state)
{
        struct config_error err = {.message = ""};
        struct settings *s = settings_new();
        char *big = malloc(100 * 1024 + 32);

        (void)state;
        assert_non_null(s);
        assert_non_null(big);
        assert_int_equal(
                settings_set(s, "mode", "post\tfix", SETTING_SOURCE_TAG, "tag mailinit:mode", &err),
                -EINVAL);
        assert_string_equal(
                err.message,
                "tag mailinit:mode: parameter 'mode': value contains control characters");
        assert_int_equal(
                settings_set(s, "mode", "x\x7f", SETTING_SOURCE_TAG, "tag mailinit:mode", &err),
                -EINVAL);
        /* the 100 KB line the reader accepts is refused here, naming file, line and key */
        memcpy(big, "mode = builtin\nmydomain = ", 26);
        memset(big + 26, 'a', 100 * 1024);
        memcpy(big + 26 + 100 * 1024, "\n", 2);
        assert_int_equal(apply_text(s, big, &err), -EINVAL);
        assert_string_equal(err.message,
                            FILE_LABEL ":2: parameter 'mydomain': value longer than 4096 bytes");
        want_value(s, SETTING_MYDOMAIN, "");
        free(big);
        settings_free(s);
}

static void test_apply_json(void **state)
{
        struct config_error err = {.message = ""};
        struct settings *s = new_with_region();
        json_error_t jerr;
        json_t *j;

        (void)state;
        j = json_loads("{\"mode\": \"postfix\", \"max_send_rate\": 14,"
                       " \"message_size_limit\": 20480000, \"imds_v1_fallback\": true,"
                       " \"restart_units\": [\"postfix.service\", \"opendkim.service\"],"
                       " \"minimal_backoff_time\": \"10m\", \"mydomain\": \"example.com\"}",
                       0, &jerr);
        assert_non_null(j);
        assert_int_equal(settings_apply_json(s, j, SETTING_SOURCE_USERDATA, "user-data", &err), 0);
        json_decref(j);
        assert_int_equal(settings_finalize(s, &err), 0);
        want_value(s, SETTING_MODE, "postfix");
        want_value(s, SETTING_MAX_SEND_RATE, "14");
        want_value(s, SETTING_MESSAGE_SIZE_LIMIT, "20480000");
        want_value(s, SETTING_IMDS_V1_FALLBACK, "yes");
        want_value(s, SETTING_RESTART_UNITS, "postfix.service, opendkim.service");
        want_value(s, SETTING_MINIMAL_BACKOFF_TIME, "10m");
        assert_true(settings_get_rate(s, SETTING_MAX_SEND_RATE) == 14.0);
        assert_true(settings_get_u64(s, SETTING_MINIMAL_BACKOFF_TIME) == 600);
        assert_int_equal(settings_get_bool(s, SETTING_IMDS_V1_FALLBACK), 1);
        assert_int_equal(settings_source(s, SETTING_MODE), SETTING_SOURCE_USERDATA);
        assert_string_equal(settings_origin(s, SETTING_MODE), "user-data");
        want_value(s, SETTING_NOTIFY_FROM, "postmaster@example.com");
        settings_free(s);

        s = new_with_region();
        j = json_loads("{\"imds_v1_fallback\": false, \"max_send_rate\": 0.1,"
                       " \"restart_units\": [], \"listen\": [\"127.0.0.1:2525\"]}",
                       0, &jerr);
        assert_non_null(j);
        assert_int_equal(settings_apply_json(s, j, SETTING_SOURCE_TAG, "tags", &err), 0);
        json_decref(j);
        assert_int_equal(settings_finalize(s, &err), 0);
        want_value(s, SETTING_IMDS_V1_FALLBACK, "no");
        want_value(s, SETTING_MAX_SEND_RATE, "0.1"); /* as written, not 0.10000000000000001 */
        want_value(s, SETTING_RESTART_UNITS, "");
        want_value(s, SETTING_LISTEN, "127.0.0.1:2525");
        assert_int_equal(settings_source(s, SETTING_LISTEN), SETTING_SOURCE_TAG);
        settings_free(s);
}

static void test_apply_json_errors(void **state)
{
        static const struct {
                const char *json;
                const char *want;
        } cases[] = {
                {"{\"relayhost\": {\"host\": \"x\"}}",
                 "user-data: mailinit.relayhost: expected a string, number, boolean or array of "
                 "strings"},
                {"{\"mode\": \"builtin\", \"notify_to\": null}",
                 "user-data: mailinit.notify_to: expected a string, number, boolean or array of "
                 "strings"},
                {"{\"restart_units\": [\"a.service\", 1]}",
                 "user-data: mailinit.restart_units: expected a string, number, boolean or array "
                 "of strings"},
                {"{\"mynetworks\": [[\"10.0.0.0/8\"]]}",
                 "user-data: mailinit.mynetworks: expected a string, number, boolean or array of "
                 "strings"},
                {"{\"relay_host\": \"[x]:25\"}",
                 "user-data: mailinit.relay_host: unknown parameter 'relay_host'"},
                {"[\"mode\"]", "user-data: \"mailinit\" must be a JSON object"},
                {"\"postfix\"", "user-data: \"mailinit\" must be a JSON object"},
                {"{\"mode\": \"post\\nfix\"}",
                 "user-data: parameter 'mode': value contains control characters"},
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct config_error err = {.message = "untouched"};
                struct settings *s = settings_new();
                json_error_t jerr;
                json_t *j = json_loads(cases[i].json, JSON_DECODE_ANY, &jerr);
                int r;

                assert_non_null(s);
                if (!j)
                        fail_msg("bad test JSON %s: %s", cases[i].json, jerr.text);
                r = settings_apply_json(s, j, SETTING_SOURCE_USERDATA, "user-data", &err);
                if (r != -EINVAL || strcmp(err.message, cases[i].want) != 0)
                        fail_msg("%s:\n  got  r=%d \"%s\"\n  want r=%d \"%s\"", cases[i].json, r,
                                 err.message, -EINVAL, cases[i].want);
                json_decref(j);
                settings_free(s);
        }
}

static void test_apply_json_nul_and_size(void **state)
{
        struct config_error err = {.message = ""};
        struct settings *s = settings_new();
        json_t *j = json_object();
        char *big = malloc(5000);

        (void)state;
        assert_non_null(s);
        assert_non_null(j);
        assert_non_null(big);
        assert_int_equal(json_object_set_new(j, "secret_id", json_stringn("a\0b", 3)), 0);
        assert_int_equal(settings_apply_json(s, j, SETTING_SOURCE_USERDATA, "user-data", &err),
                         -EINVAL);
        assert_string_equal(err.message,
                            "user-data: mailinit.secret_id: value contains a NUL byte");

        memset(big, 'x', 4999);
        big[4999] = '\0';
        assert_int_equal(json_object_set_new(j, "secret_id", json_string(big)), 0);
        assert_int_equal(settings_apply_json(s, j, SETTING_SOURCE_USERDATA, "user-data", &err),
                         -EINVAL);
        assert_string_equal(err.message,
                            "user-data: mailinit.secret_id: value longer than 4096 bytes");
        want_value(s, SETTING_SECRET_ID, "");
        free(big);
        json_decref(j);
        settings_free(s);
}

static void test_validation_errors(void **state)
{
        static const struct {
                const char *text;
                const char *want;
        } cases[] = {
                {"mode = sendmail\n",
                 FILE_LABEL ":1: parameter 'mode': 'sendmail' is not one of builtin|postfix"},
                {"mode = Postfix\n",
                 FILE_LABEL ":1: parameter 'mode': 'Postfix' is not one of builtin|postfix"},
                {"# tls\nrelay_tls = tls\n",
                 FILE_LABEL ":2: parameter 'relay_tls': 'tls' is not one of starttls|smtps|none"},
                {"relayhost = [bad host]:99999\n",
                 FILE_LABEL ":1: parameter 'relayhost': '[bad host]:99999' is not a valid "
                            "relayhost ([host]:port)"},
                {"relayhost = [smtp.example.com]:0\n",
                 FILE_LABEL ":1: parameter 'relayhost': '[smtp.example.com]:0' is not a valid "
                            "relayhost ([host]:port)"},
                {"mynetworks = 127.0.0.0/8, 10.0.0.0/33\n",
                 FILE_LABEL ":1: parameter 'mynetworks': '10.0.0.0/33' is not a network "
                            "(127.0.0.0/8, [::1]/128)"},
                {"listen = 127.0.0.1\n",
                 FILE_LABEL ":1: parameter 'listen': '127.0.0.1' is not an address:port "
                            "(127.0.0.1:25, [::1]:25)"},
                {"restart_units = postfix\n",
                 FILE_LABEL ":1: parameter 'restart_units': 'postfix' is not a systemd unit name"},
                {"spool_dir = var/spool/mailinit\n",
                 FILE_LABEL ":1: parameter 'spool_dir': 'var/spool/mailinit' is not an absolute "
                            "path"},
                {"tls_ca_file =\n",
                 FILE_LABEL ":1: parameter 'tls_ca_file': '' is not an absolute path"},
                {"message_size_limit = 10MB\n",
                 FILE_LABEL ":1: parameter 'message_size_limit': '10MB' is not a size in bytes"},
                {"max_send_rate = -1\n",
                 FILE_LABEL ":1: parameter 'max_send_rate': '-1' is not a non-negative number"},
                {"maximal_queue_lifetime = 5x\n",
                 FILE_LABEL ":1: parameter 'maximal_queue_lifetime': '5x' is not a time value (a "
                            "number with unit s, m, h, d or w)"},
                {"imds_v1_fallback = maybe\n",
                 FILE_LABEL ":1: parameter 'imds_v1_fallback': 'maybe' is not yes or no"},
                {"region = EU-WEST-1\n",
                 FILE_LABEL ":1: parameter 'region': 'EU-WEST-1' is not an AWS region name"},
                {"notify_to = ops at example.com\n",
                 FILE_LABEL ":1: parameter 'notify_to': 'ops at example.com' is not a mail "
                            "address (local@domain)"},
                {"mydomain = example.com\nnotify_from = postmaster@\n",
                 FILE_LABEL ":2: parameter 'notify_from': 'postmaster@' is not a mail address "
                            "(local@domain)"},
                {"mydomain = aws-master.net  # comment\n",
                 FILE_LABEL ":1: parameter 'mydomain': 'aws-master.net  # comment' is not a "
                            "valid domain name ('#' starts a comment only at the beginning of a "
                            "line)"},
                {"myhostname = host_1..example\n",
                 FILE_LABEL ":1: parameter 'myhostname': 'host_1..example' is not a valid "
                            "domain name"},
                {"smtpd_tls_cert_file = relay.pem\n",
                 FILE_LABEL ":1: parameter 'smtpd_tls_cert_file': 'relay.pem' is not an absolute "
                            "path"},
                {"smtpd_tls_cert_file = /etc/relay.pem\n",
                 FILE_LABEL ":1: parameter 'smtpd_tls_cert_file': smtpd_tls_cert_file and "
                            "smtpd_tls_key_file go together (set both for STARTTLS, or neither)"},
                {"smtpd_tls_key_file = /etc/relay.key\n",
                 FILE_LABEL ":1: parameter 'smtpd_tls_key_file': smtpd_tls_cert_file and "
                            "smtpd_tls_key_file go together (set both for STARTTLS, or neither)"},
                {"smtpd_sasl_auth_enable = yes\n",
                 FILE_LABEL ":1: parameter 'smtpd_sasl_auth_enable': 'yes' needs "
                            "smtpd_tls_cert_file and smtpd_tls_key_file: AUTH is offered only "
                            "after STARTTLS"},
                {"smtpd_sasl_path = ../smtpd\n",
                 FILE_LABEL ":1: parameter 'smtpd_sasl_path': '../smtpd' is not a name "
                            "(letters, digits, '.', '_', '-')"},
                {"trusted_users = root, bad/user\n",
                 FILE_LABEL ":1: parameter 'trusted_users': 'bad/user' is not a login name"},
                {"authorized_submit_users = -rf\n",
                 FILE_LABEL ":1: parameter 'authorized_submit_users': '-rf' is not a login name"},
                {"mail_owner = $$x\n",
                 FILE_LABEL ":1: parameter 'mail_owner': '$x' is not a name (letters, digits, "
                            "'.', '_', '-')"},
                /* an expanded value is checked, and the error names the key where the bad
                 * value was written */
                {"mode = builtin\nmydomain = bad domain\n",
                 FILE_LABEL ":2: parameter 'mydomain': 'bad domain' is not a valid domain name"},
                {"mydomain = example.com\nmyorigin = $mydomain.\n",
                 FILE_LABEL ":2: parameter 'myorigin': 'example.com.' is not a valid domain name"},
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
                finalize_fails(cases[i].text, cases[i].want);
}

static void test_secret_id_length(void **state)
{
        char *text = malloc(2200);

        (void)state;
        assert_non_null(text);
        memcpy(text, "secret_id = ", 12);
        memset(text + 12, 's', 2048);
        memcpy(text + 12 + 2048, "\n", 2);
        settings_free(finalized(text)); /* 2048 characters: accepted */
        memcpy(text + 12 + 2048, "s\n", 3);
        finalize_fails(text, FILE_LABEL ":1: parameter 'secret_id': longer than 2048 characters");
        free(text);
}

static int teardown_secrets(void **state)
{
        (void)state;
        secret_mask_clear();
        return 0;
}

#define SECRET "S3cr3tPassw0rd"

/* print_to_string - settings_print into a string (caller frees) */
static char *print_to_string(const struct settings *s)
{
        char *text = NULL;
        size_t len = 0;
        FILE *fp = open_memstream(&text, &len);

        assert_non_null(fp);
        settings_print(s, fp);
        assert_int_equal(fclose(fp), 0);
        return text;
}

static void test_print_masks_secrets(void **state)
{
        struct settings *s = finalized("secret_id = prefix-" SECRET "\n");
        char *text, *line;
        unsigned lines = 0;

        (void)state;
        assert_int_equal(secret_mask_add(SECRET), 0);
        text = print_to_string(s);
        assert_null(strstr(text, SECRET));
        for (char *p = text; *p; p++)
                lines += *p == '\n';
        assert_int_equal(lines, SETTING_MAX);
        /* the lines come in key order; columns do not depend on the secret's length */
        assert_true(strncmp(text, "mode                    = builtin        ", 41) == 0);
        line = strstr(text, "\nsecret_id ");
        assert_non_null(line);
        *strchr(line + 1, '\n') = '\0';
        assert_string_equal(line + 1, "secret_id               = prefix-********"
                                      "                          # file (" FILE_LABEL ":1)");
        free(text);
        settings_free(s);
}

static void test_print_line_format(void **state)
{
        struct settings *s = finalized("");
        char *text;

        (void)state;
        text = print_to_string(s);
        assert_true(strstr(text, "mode                    = builtin                            "
                                 "      # default (built-in)\n") == text);
        assert_non_null(strstr(text, "\nregion                  = eu-west-1                      "
                                     "          # metadata (instance metadata)\n"));
        free(text);
        settings_free(s);
}

static void test_to_json(void **state)
{
        struct settings *s = finalized("secret_id = prefix-" SECRET "\nmode = postfix\n");
        json_t *j, *want;
        const char *key;
        json_t *item;

        (void)state;
        assert_int_equal(secret_mask_add(SECRET), 0);
        j = settings_to_json(s);
        assert_non_null(j);
        assert_true(json_is_object(j));
        assert_int_equal(json_object_size(j), SETTING_MAX);
        json_object_foreach(j, key, item)
        {
                if (settings_key_from_name(key) == SETTING_INVALID)
                        fail_msg("unexpected member \"%s\"", key);
                if (!json_is_object(item) || json_object_size(item) != 3 ||
                    !json_is_string(json_object_get(item, "value")) ||
                    !json_is_string(json_object_get(item, "source")) ||
                    !json_is_string(json_object_get(item, "origin")))
                        fail_msg("member \"%s\" is not {value, source, origin}", key);
        }
        want = json_pack("{s:s, s:s, s:s}", "value", "postfix", "source", "file", "origin",
                         FILE_LABEL ":2");
        assert_true(json_equal(json_object_get(j, "mode"), want));
        json_decref(want);
        want = json_pack("{s:s, s:s, s:s}", "value", "prefix-********", "source", "file", "origin",
                         FILE_LABEL ":1");
        assert_true(json_equal(json_object_get(j, "secret_id"), want));
        json_decref(want);
        want = json_pack("{s:s, s:s, s:s}", "value", "postfix.service", "source", "default",
                         "origin", "built-in");
        assert_true(json_equal(json_object_get(j, "restart_units"), want));
        json_decref(want);
        {
                char *dump = json_dumps(j, 0);

                assert_non_null(dump);
                assert_null(strstr(dump, SECRET));
                free(dump);
        }
        json_decref(j);
        settings_free(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_key_names),
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_defaults_follow_mydomain),
                cmocka_unit_test(test_relayhost_follows_region),
                cmocka_unit_test(test_region_missing),
                cmocka_unit_test(test_relay_tls_none),
                cmocka_unit_test(test_restart_units_by_mode),
                cmocka_unit_test(test_typed_values),
                cmocka_unit_test(test_precedence_any_order),
                cmocka_unit_test(test_same_source_later_wins),
                cmocka_unit_test(test_origin_of_continued_line),
                cmocka_unit_test(test_expansion),
                cmocka_unit_test(test_expansion_across_sources),
                cmocka_unit_test(test_expansion_errors),
                cmocka_unit_test(test_expansion_too_long),
                cmocka_unit_test(test_expansion_is_not_exponential),
                cmocka_unit_test(test_unknown_key_in_file),
                cmocka_unit_test(test_set_refuses_bad_text),
                cmocka_unit_test(test_apply_json),
                cmocka_unit_test(test_apply_json_errors),
                cmocka_unit_test(test_apply_json_nul_and_size),
                cmocka_unit_test(test_validation_errors),
                cmocka_unit_test(test_secret_id_length),
                cmocka_unit_test_teardown(test_print_masks_secrets, teardown_secrets),
                cmocka_unit_test(test_print_line_format),
                cmocka_unit_test_teardown(test_to_json, teardown_secrets),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
